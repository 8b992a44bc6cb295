//! `--registry-certificate HOST=CA.pem`: a registry serving TLS with a certificate from a private CA
//! (made here with openssl) is reached over verified HTTPS — pulls and pushes — and refused with
//! another CA.

use std::path::Path;
use std::process::Command;

use crate::support::{Registry, Sandbox, hoist_run, require_tool, run_ok};

/// A CA and a server certificate for 127.0.0.1 signed by it, as PEM files in `dir`.
fn make_ca(dir: &Path, name: &str) -> (std::path::PathBuf, std::path::PathBuf, std::path::PathBuf) {
    let openssl = require_tool("openssl", "openssl");
    let p = |f: &str| dir.join(format!("{name}-{f}"));
    run_ok(
        Command::new(&openssl)
            .args([
                "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
            ])
            .arg("-keyout")
            .arg(p("ca.key"))
            .arg("-out")
            .arg(p("ca.pem"))
            .args(["-subj", &format!("/CN=hoist test CA {name}")]),
    );
    run_ok(
        Command::new(&openssl)
            .args(["req", "-newkey", "rsa:2048", "-nodes"])
            .arg("-keyout")
            .arg(p("server.key"))
            .arg("-out")
            .arg(p("server.csr"))
            .args(["-subj", "/CN=127.0.0.1"]),
    );
    std::fs::write(p("ext"), "subjectAltName=IP:127.0.0.1\n").unwrap();
    run_ok(
        Command::new(&openssl)
            .args(["x509", "-req", "-days", "2"])
            .arg("-in")
            .arg(p("server.csr"))
            .arg("-CA")
            .arg(p("ca.pem"))
            .arg("-CAkey")
            .arg(p("ca.key"))
            .arg("-CAcreateserial")
            .arg("-out")
            .arg(p("server.pem"))
            .arg("-extfile")
            .arg(p("ext")),
    );
    (p("ca.pem"), p("server.pem"), p("server.key"))
}

#[test]
fn a_private_ca_is_trusted_for_its_host_only() {
    let sandbox = Sandbox::new();
    let (ca, cert, key) = make_ca(sandbox.dir.path(), "good");
    let (other_ca, _, _) = make_ca(sandbox.dir.path(), "other");
    let registry = Registry::start_on("127.0.0.1", Some((&cert, &key)));
    let host = registry.host();
    let context = sandbox.path("ctx");
    std::fs::create_dir(&context).unwrap();
    std::fs::write(context.join("a.txt"), "over TLS\n").unwrap();
    std::fs::write(
        context.join("Dockerfile"),
        "FROM scratch\nCOPY a.txt /a.txt\n",
    )
    .unwrap();
    let push = |trust: &Path, name: &str| {
        hoist_run(
            sandbox
                .hoist()
                .args(["--push", "--name", &format!("{host}/tls/app:{name}")])
                .arg("--registry-certificate")
                .arg(format!("{host}={}", trust.display()))
                .arg("--dir")
                .arg(&context),
        )
    };
    let ok = push(&ca, "v1").ok();
    assert!(ok.line().starts_with(&format!("{host}/tls/app:v1@sha256:")));

    // The pushed image is a base for the next build, pulled over the same verified TLS.
    std::fs::write(
        context.join("Dockerfile"),
        format!("FROM {host}/tls/app:v1\nCOPY a.txt /b.txt\n"),
    )
    .unwrap();
    push(&ca, "v2").ok();

    let refused = push(&other_ca, "v3").failed();
    assert!(refused.stderr.contains(&host), "{}", refused.stderr);
    let bad_flag = hoist_run(
        sandbox
            .hoist()
            .args(["--registry-certificate", "nohost", "--dir"])
            .arg(&context),
    )
    .failed();
    assert!(
        bad_flag.stderr.contains("HOST=CA.pem"),
        "{}",
        bad_flag.stderr
    );
}
