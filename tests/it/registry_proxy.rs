//! Proxy variables for registry traffic: with `HTTPS_PROXY`/`HTTP_PROXY` set, hoist reaches a registry
//! through a forward proxy of the test support (which alone resolves `*.hoist.test`, so a request that
//! arrives went through it), loopback registries directly, and hosts `NO_PROXY` names directly. The
//! proxy's password never shows.

use std::process::Command;

use crate::support::proxy::{PROXIED_DOMAIN, Proxy};
use crate::support::{HoistRun, Registry, Sandbox, hoist_run, run_ok, seed_busybox, skopeo};

const PROXY_PASSWORD: &str = "proxy-pw-4e1d";

#[test]
fn registry_traffic_follows_the_proxy_variables() {
    let registry = Registry::start();
    seed_busybox(&registry);
    let proxy = Proxy::start();
    let sandbox = Sandbox::new();
    let port = registry.port();
    let name = format!("registry.{PROXIED_DOMAIN}:{port}");
    let proxy_url = proxy
        .url()
        .replace("http://", &format!("http://hoist:{PROXY_PASSWORD}@"));
    let hoist = |args: &[&str], no_proxy: Option<&str>| -> HoistRun {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_hoist"));
        for var in [
            "http_proxy",
            "https_proxy",
            "all_proxy",
            "ALL_PROXY",
            "no_proxy",
            "NO_PROXY",
            "HOIST_TOKEN",
        ] {
            cmd.env_remove(var);
        }
        if let Some(no) = no_proxy {
            cmd.env("NO_PROXY", no);
        }
        cmd.env("HTTPS_PROXY", &proxy_url)
            .env("HTTP_PROXY", &proxy_url)
            .env("HOIST_CACHE_DIR", sandbox.cache())
            .env("DOCKER_CONFIG", sandbox.path("docker"))
            .args(args)
            .current_dir(sandbox.dir.path());
        let run = hoist_run(&mut cmd);
        assert!(
            !run.stdout.contains(PROXY_PASSWORD) && !run.stderr.contains(PROXY_PASSWORD),
            "hoist printed the proxy's password:\n{}\n{}",
            run.stdout,
            run.stderr
        );
        run
    };

    // A registry only the proxy can resolve: pulled from and pushed to through it (the insecure
    // host's HTTPS probe as a CONNECT tunnel, then plain HTTP requests in absolute form).
    let source = format!("{name}/library/busybox:latest");
    let target = format!("{name}/proxied/app:v1");
    let copied = hoist(
        &["copy", "--insecure-registry", &name, &source, &target],
        None,
    )
    .ok();
    let requests = proxy.requests();
    assert!(
        requests
            .iter()
            .any(|r| r.starts_with(&format!("CONNECT {name} "))),
        "{requests:#?}"
    );
    assert!(
        requests
            .iter()
            .any(|r| r.contains(&format!("http://{name}/v2/proxied/app/"))),
        "{requests:#?}"
    );
    let out = run_ok(skopeo().args([
        "inspect",
        "--tls-verify=false",
        &format!("docker://127.0.0.1:{port}/proxied/app:v1"),
    ]));
    let info: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        copied.line(),
        format!("{target}@{}", info["Digest"].as_str().unwrap())
    );

    // Loopback is reached directly, proxy variables or not.
    let seen = proxy.requests().len();
    hoist(
        &["inspect", &format!("127.0.0.1:{port}/proxied/app:v1")],
        None,
    )
    .ok();
    assert_eq!(proxy.requests().len(), seen, "{:#?}", proxy.requests());

    // NO_PROXY names the domain: hoist goes directly, where the name resolves to nothing.
    let direct = hoist(
        &["inspect", "--insecure-registry", &name, &target],
        Some(PROXIED_DOMAIN),
    )
    .failed();
    assert!(direct.stderr.contains(&name), "{}", direct.stderr);
    assert_eq!(proxy.requests().len(), seen, "{:#?}", proxy.requests());
}
