//! `hoist push oci:DIR REF`, `hoist copy SRC DST` and `hoist inspect`: an image moves between an OCI
//! layout and a registry without a byte changing (same digest, read back by skopeo), and inspect
//! describes it as skopeo sees it.

use std::process::Command;

use serde_json::Value;

use crate::support::{
    Inspect, Registry, Sandbox, busybox_layout, hoist_run, layout_digest, run_ok, skopeo,
    skopeo_inspect,
};

fn hoist(sandbox: &Sandbox, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_hoist"));
    cmd.args(args)
        .env("HOIST_CACHE_DIR", sandbox.cache())
        .current_dir(sandbox.dir.path());
    cmd
}

#[test]
fn push_copy_and_inspect_keep_the_digest() {
    let registry = Registry::start();
    let sandbox = Sandbox::new();
    let layout = busybox_layout();
    let digest = layout_digest(&layout, "latest");
    let target = format!("{}/copied/busybox:v1", registry.host());

    let pushed = hoist_run(&mut hoist(
        &sandbox,
        &["push", &format!("oci:{}:latest", layout.display()), &target],
    ))
    .ok();
    assert_eq!(pushed.line(), format!("{target}@{digest}"));
    let info = skopeo_inspect(&format!("docker://{target}"), Inspect::Info);
    assert_eq!(info["Digest"], digest.as_str());

    let out = sandbox.path("copy-oci");
    let copied = hoist_run(&mut hoist(
        &sandbox,
        &["copy", &target, &format!("oci:{}:v2", out.display())],
    ))
    .ok();
    assert!(copied.line().ends_with(&digest), "{}", copied.line());
    assert_eq!(layout_digest(&out, "v2"), digest);

    let described: Value = serde_json::from_str(
        &hoist_run(&mut hoist(
            &sandbox,
            &["inspect", &format!("oci:{}:v2", out.display())],
        ))
        .ok()
        .stdout,
    )
    .unwrap();
    assert_eq!(described["digest"], digest.as_str());
    assert_eq!(described["platform"], "linux/amd64");
    assert_eq!(
        described["layers"].as_array().unwrap().len(),
        info["Layers"].as_array().unwrap().len()
    );
    let raw = hoist_run(&mut hoist(&sandbox, &["inspect", "--raw", &target])).ok();
    let theirs = run_ok(
        skopeo()
            .args(["inspect", "--raw", "--tls-verify=false"])
            .arg(format!("docker://{target}")),
    );
    assert_eq!(
        raw.stdout.trim_end(),
        theirs.trim_end(),
        "the manifest as stored"
    );
}

#[test]
fn copy_from_a_missing_layout_names_it() {
    let sandbox = Sandbox::new();
    let missing = sandbox.path("nowhere");
    let run = hoist_run(&mut hoist(
        &sandbox,
        &["copy", &format!("oci:{}", missing.display()), "oci:out"],
    ))
    .failed();
    assert!(
        run.stderr.contains(&missing.display().to_string()),
        "{}",
        run.stderr
    );
    assert!(!sandbox.path("out").exists());
}

/// Builds a two-platform FROM-scratch image and pushes it to `registry` as `multi:v1`; returns the
/// index digest.
fn push_two_platforms(sandbox: &Sandbox, registry: &Registry) -> String {
    let context = sandbox.path("ctx");
    std::fs::create_dir_all(&context).unwrap();
    std::fs::write(context.join("app.txt"), "on every platform\n").unwrap();
    std::fs::write(
        context.join("Dockerfile"),
        "FROM scratch\nARG TARGETARCH\nCOPY app.txt /\nLABEL arch=$TARGETARCH\n",
    )
    .unwrap();
    let name = format!("{}/multi:v1", registry.host());
    let built = hoist_run(
        sandbox
            .hoist()
            .args([
                "--platform",
                "linux/amd64,linux/arm64",
                "--push",
                "--name",
                &name,
            ])
            .arg("--dir")
            .arg(&context),
    )
    .ok();
    built.line().rsplit('@').next().unwrap().to_string()
}

fn raw(reference: &str) -> String {
    let mut cmd = skopeo();
    cmd.args(["inspect", "--raw"]);
    if reference.starts_with("docker://") {
        cmd.arg("--tls-verify=false");
    }
    run_ok(cmd.arg(reference))
}

/// Every manifest and blob of a multi-platform image is there: skopeo copies it all out, checking
/// each digest.
fn assert_complete(sandbox: &Sandbox, reference: &str, scratch: &str) {
    let out = sandbox.path(scratch);
    let mut cmd = skopeo();
    cmd.args(["copy", "--all", "--quiet"]);
    if reference.starts_with("docker://") {
        cmd.arg("--src-tls-verify=false");
    }
    run_ok(
        cmd.arg(reference)
            .arg(format!("oci:{}:check", out.display())),
    );
}

#[test]
fn copy_all_platforms_keeps_the_index_across_registries_and_into_a_layout() {
    let source = Registry::start();
    let destination = Registry::start();
    let sandbox = Sandbox::new();
    let digest = push_two_platforms(&sandbox, &source);
    let from = format!("{}/multi:v1", source.host());
    let index = raw(&format!("docker://{from}"));

    // Registry to registry: the index bytes unchanged, so the digest stays.
    let to = format!("{}/copied/multi:v1", destination.host());
    let copied = hoist_run(&mut hoist(
        &sandbox,
        &["copy", "--all-platforms", "--progress", "plain", &from, &to],
    ))
    .ok();
    assert_eq!(copied.line(), format!("{to}@{digest}"));
    assert_eq!(raw(&format!("docker://{to}")), index);
    assert_complete(&sandbox, &format!("docker://{to}"), "check-registry");

    // Registry to layout.
    let out = sandbox.path("all-oci");
    let into_layout = hoist_run(&mut hoist(
        &sandbox,
        &[
            "copy",
            "--all-platforms",
            &from,
            &format!("oci:{}:v1", out.display()),
        ],
    ))
    .ok();
    assert!(
        into_layout.line().ends_with(&digest),
        "{}",
        into_layout.line()
    );
    assert_eq!(layout_digest(&out, "v1"), digest);
    assert_eq!(raw(&format!("oci:{}:v1", out.display())), index);
    assert_complete(
        &sandbox,
        &format!("oci:{}:v1", out.display()),
        "check-layout",
    );

    // Layout back to a registry, whole; then within one registry, where the blobs are mounted.
    let back = format!("{}/back/multi:v1", destination.host());
    hoist_run(&mut hoist(
        &sandbox,
        &[
            "copy",
            "--all-platforms",
            &format!("oci:{}:v1", out.display()),
            &back,
        ],
    ))
    .ok();
    assert_eq!(raw(&format!("docker://{back}")), index);
    let sibling = format!("{}/sibling/multi:v1", destination.host());
    let mounted = hoist_run(&mut hoist(
        &sandbox,
        &[
            "copy",
            "--all-platforms",
            "--progress",
            "plain",
            &to,
            &sibling,
        ],
    ))
    .ok();
    assert!(
        mounted.stderr.contains("skipped: mounted"),
        "{}",
        mounted.stderr
    );
    assert_eq!(raw(&format!("docker://{sibling}")), index);

    // Without --all-platforms: the one image for --platform.
    let one = format!("{}/one/multi:v1", destination.host());
    let single = hoist_run(&mut hoist(
        &sandbox,
        &["copy", "--platform", "linux/arm64", &from, &one],
    ))
    .ok();
    let manifest: Value = serde_json::from_str(&raw(&format!("docker://{one}"))).unwrap();
    assert_eq!(
        manifest["mediaType"],
        "application/vnd.oci.image.manifest.v1+json"
    );
    let listed: Value = serde_json::from_str(&index).unwrap();
    let arm64 = listed["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["platform"]["architecture"] == "arm64")
        .unwrap();
    assert!(single.line().ends_with(arm64["digest"].as_str().unwrap()));

    // inspect --raw shows the index as stored; --config the config of the platform's image.
    let shown = hoist_run(&mut hoist(&sandbox, &["inspect", "--raw", &to])).ok();
    assert_eq!(shown.stdout.trim_end(), index.trim_end());
    let config = hoist_run(&mut hoist(
        &sandbox,
        &["inspect", "--config", "--platform", "linux/arm64", &to],
    ))
    .ok();
    let config: Value = serde_json::from_str(&config.stdout).unwrap();
    assert_eq!(config["architecture"], "arm64");
    assert_eq!(config["config"]["Labels"]["arch"], "arm64");
}

#[test]
fn copy_between_two_private_registries_uses_each_ones_login() {
    let source = Registry::start_with_user("alice", "source-password");
    let destination = Registry::start_with_token("destination-key");
    let sandbox = Sandbox::new();
    let from =
        crate::support::oci::push_layout(&source, &busybox_layout(), "latest", "team/app", "v1");
    let digest = layout_digest(&busybox_layout(), "latest");
    // The source's login in Docker's config; the destination's key in HOIST_TOKEN, which goes to the
    // destination only.
    let docker = sandbox.path("docker");
    std::fs::create_dir_all(&docker).unwrap();
    let auth = base64::Engine::encode(
        &base64::engine::general_purpose::STANDARD,
        "alice:source-password",
    );
    std::fs::write(
        docker.join("config.json"),
        serde_json::json!({ "auths": { source.host(): { "auth": auth } } }).to_string(),
    )
    .unwrap();
    let to = format!("{}/copied/app:v1", destination.host());
    let copied = hoist_run(
        hoist(&sandbox, &["copy", "--progress", "json", &from, &to])
            .env("DOCKER_CONFIG", &docker)
            .env("HOIST_TOKEN", "destination-key"),
    )
    .ok();
    assert_eq!(copied.line(), format!("{to}@{digest}"));
    for secret in ["source-password", "destination-key", auth.as_str()] {
        assert!(!copied.stderr.contains(secret), "{}", copied.stderr);
    }
    let mut inspect = skopeo();
    inspect
        .args([
            "inspect",
            "--tls-verify=false",
            "--creds",
            "<token>:destination-key",
        ])
        .arg(format!("docker://{to}"));
    let info: Value = serde_json::from_str(&run_ok(&mut inspect)).unwrap();
    assert_eq!(info["Digest"], digest.as_str());
}
