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
