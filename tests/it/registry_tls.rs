//! `--registry-certificate HOST=CA.pem`: a registry serving TLS with a certificate from a private CA
//! (made here with openssl) is reached over verified HTTPS — pulls and pushes — and refused with
//! another CA. `--registry-client-cert HOST=CERT.pem,KEY.pem`: a registry that requires client
//! certificates (`http.tls.clientcas`) refuses hoist without one and serves every command with one.

use std::path::Path;
use std::process::Command;

use crate::support::registry::Setup;
use crate::support::{HoistRun, Registry, Sandbox, hoist_run, require_tool, run_ok};

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

/// A client certificate (`clientAuth`) and its key signed by the CA `name` of [`make_ca`].
fn make_client_cert(dir: &Path, name: &str) -> (std::path::PathBuf, std::path::PathBuf) {
    let openssl = require_tool("openssl", "openssl");
    let p = |f: &str| dir.join(format!("{name}-{f}"));
    run_ok(
        Command::new(&openssl)
            .args(["req", "-newkey", "rsa:2048", "-nodes"])
            .arg("-keyout")
            .arg(p("client.key"))
            .arg("-out")
            .arg(p("client.csr"))
            .args(["-subj", "/CN=hoist test client"]),
    );
    std::fs::write(p("client-ext"), "extendedKeyUsage=clientAuth\n").unwrap();
    run_ok(
        Command::new(&openssl)
            .args(["x509", "-req", "-days", "2"])
            .arg("-in")
            .arg(p("client.csr"))
            .arg("-CA")
            .arg(p("ca.pem"))
            .arg("-CAkey")
            .arg(p("ca.key"))
            .arg("-CAcreateserial")
            .arg("-out")
            .arg(p("client.pem"))
            .arg("-extfile")
            .arg(p("client-ext")),
    );
    (p("client.pem"), p("client.key"))
}

#[test]
fn a_registry_that_wants_a_client_certificate_gets_it_from_every_command() {
    let sandbox = Sandbox::new();
    let (ca, cert, key) = make_ca(sandbox.dir.path(), "server");
    make_ca(sandbox.dir.path(), "clients");
    let (client_cert, client_key) = make_client_cert(sandbox.dir.path(), "clients");
    let clients_ca = sandbox.path("clients-ca.pem");
    let registry = Registry::start_with(Setup {
        tls: Some((&cert, &key)),
        client_ca: Some(&clients_ca),
        ..Setup::default()
    });
    let host = registry.host();
    let context = sandbox.path("ctx");
    std::fs::create_dir(&context).unwrap();
    std::fs::write(context.join("a.txt"), "mutual\n").unwrap();
    std::fs::write(
        context.join("Dockerfile"),
        "FROM scratch\nCOPY a.txt /a.txt\n",
    )
    .unwrap();
    let trust = format!("{host}={}", ca.display());
    let identity = format!("{host}={},{}", client_cert.display(), client_key.display());
    // `hoist SUBCOMMAND ARGS` (the Sandbox's builder says `build`: replace it).
    let hoist = |args: &[&str]| -> HoistRun {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_hoist"));
        cmd.args(args)
            .env("HOIST_CACHE_DIR", sandbox.cache())
            .env("DOCKER_CONFIG", sandbox.path("docker"))
            .env_remove("HOIST_TOKEN")
            .current_dir(sandbox.dir.path());
        hoist_run(&mut cmd)
    };
    let image = format!("{host}/mtls/app:v1");
    let build = |extra: &[&str]| {
        let mut args = vec!["build", "--push", "--name", &image, "--dir"];
        args.push(context.to_str().unwrap());
        args.extend_from_slice(extra);
        hoist(&args)
    };

    // The CA alone: the registry ends the handshake.
    let refused = build(&["--registry-certificate", &trust]).failed();
    assert!(refused.stderr.contains(&host), "{}", refused.stderr);
    assert!(
        refused.stderr.contains("--registry-client-cert"),
        "{}",
        refused.stderr
    );

    // With the client certificate: build and push, then every other command.
    let pushed = build(&[
        "--registry-certificate",
        &trust,
        "--registry-client-cert",
        &identity,
    ])
    .ok();
    let digest = pushed.line().rsplit_once('@').unwrap().1.to_string();
    let tls = [
        "--registry-certificate",
        &trust,
        "--registry-client-cert",
        &identity,
    ];
    let inspected = hoist(&[&["inspect", &image][..], &tls].concat()).ok();
    let inspected: serde_json::Value = serde_json::from_str(&inspected.stdout).unwrap();
    assert_eq!(inspected["digest"], digest.as_str());
    hoist(&[&["validate", &image][..], &tls].concat()).ok();
    let copy = format!("{host}/mtls/copy:v1");
    let copied = hoist(&[&["copy", &image, &copy][..], &tls].concat()).ok();
    assert_eq!(copied.line(), format!("{copy}@{digest}"));
    std::fs::write(sandbox.path("password"), "any, the registry is open").unwrap();
    let mut login = Command::new(env!("CARGO_BIN_EXE_hoist"));
    login
        .args([&["login", &host, "--password-stdin"][..], &tls].concat())
        .env("DOCKER_CONFIG", sandbox.path("docker"))
        .stdin(std::fs::File::open(sandbox.path("password")).unwrap());
    hoist_run(&mut login).ok();

    // Without the CA, the client certificate does not make the registry trusted.
    let untrusted = hoist(&["inspect", &image, "--registry-client-cert", &identity]).failed();
    assert!(untrusted.stderr.contains(&host), "{}", untrusted.stderr);
    assert!(
        untrusted
            .stderr
            .contains(&format!("--registry-certificate {host}=CA.pem")),
        "{}",
        untrusted.stderr
    );
    // A missing key file is named.
    let missing = hoist(&[
        "inspect",
        &image,
        "--registry-client-cert",
        &format!("{host}={},/nonexistent.key", client_cert.display()),
    ])
    .failed();
    assert!(
        missing.stderr.contains("/nonexistent.key"),
        "{}",
        missing.stderr
    );
    let bad = hoist(&[
        "inspect",
        &image,
        "--registry-client-cert",
        "host=onlyone.pem",
    ])
    .failed();
    assert!(
        bad.stderr.contains("HOST=CERT.pem,KEY.pem"),
        "{}",
        bad.stderr
    );
}
