//! The architecture check: no image leaves hoist that would die with `exec format error`. A real arm64
//! binary (Debian's `busybox-static:arm64`) copied into the amd64 busybox image fails the build with exit
//! code 3 before anything is pushed or written; `--allow-arch-mismatch` turns that into a warning.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use crate::support::arm64_busybox::arm64_busybox;
use crate::support::{HoistRun, Registry, Sandbox, busybox_world, hoist_run, mirror, run, skopeo};

/// Writes a context directory `name` holding `Dockerfile` and `files` (path, bytes, mode).
fn context(
    sandbox: &Sandbox,
    name: &str,
    dockerfile: &str,
    files: &[(&str, &[u8], u32)],
) -> PathBuf {
    let dir = sandbox.path(name);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("Dockerfile"), dockerfile).unwrap();
    for (path, data, mode) in files {
        let file = dir.join(path);
        std::fs::write(&file, data).unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(*mode)).unwrap();
    }
    dir
}

/// `hoist build` of `context` to `--output oci:OUT` and `--push` to `registry` as `app:TAG`.
fn build(
    sandbox: &Sandbox,
    registry: &Registry,
    context: &Path,
    out: &Path,
    tag: &str,
    extra: &[&str],
) -> HoistRun {
    hoist_run(
        sandbox
            .hoist()
            .args(mirror(registry))
            .args(extra)
            .arg("--dir")
            .arg(context)
            .arg("--output")
            .arg(format!("oci:{}", out.display()))
            .arg("--name")
            .arg(format!("{}/app:{tag}", registry.host()))
            .arg("--push"),
    )
}

fn pushed(registry: &Registry, tag: &str) -> bool {
    run(skopeo()
        .arg("inspect")
        .arg("--tls-verify=false")
        .arg(format!("docker://{}/app:{tag}", registry.host())))
    .status
    .success()
}

fn assert_mentions(run: &HoistRun, needles: &[&str]) {
    for needle in needles {
        assert!(
            run.stderr.contains(needle),
            "stderr should mention {needle:?}:\n{}",
            run.stderr
        );
    }
}

const ARM_DOCKERFILE: &str = "FROM busybox\nCOPY arm64-busybox /bin/tool\n";

#[test]
fn arm64_binary_fails_the_build_before_anything_leaves() {
    let binary = std::fs::read(arm64_busybox()).unwrap();
    let (registry, sandbox) = busybox_world();
    let dir = context(
        &sandbox,
        "arm",
        ARM_DOCKERFILE,
        &[("arm64-busybox", &binary, 0o755)],
    );
    let out = sandbox.path("oci");
    let run = build(&sandbox, &registry, &dir, &out, "arm", &[]).failed();
    assert_eq!(run.code, Some(3), "a mismatch exits 3:\n{}", run.stderr);
    assert_mentions(
        &run,
        &[
            "/bin/tool",
            "arm64",
            "linux/amd64",
            "COPY arm64-busybox /bin/tool",
            "--allow-arch-mismatch",
        ],
    );
    assert!(
        !out.exists(),
        "a failed build left {} behind",
        out.display()
    );
    assert!(
        run.stdout.is_empty(),
        "stdout must stay empty: {}",
        run.stdout
    );
    assert!(!pushed(&registry, "arm"), "a failed build pushed `app:arm`");
}

#[test]
fn allow_arch_mismatch_exports_with_a_warning() {
    let binary = std::fs::read(arm64_busybox()).unwrap();
    let (registry, sandbox) = busybox_world();
    let dir = context(
        &sandbox,
        "arm",
        ARM_DOCKERFILE,
        &[("arm64-busybox", &binary, 0o755)],
    );
    let out = sandbox.path("oci");
    let run = build(
        &sandbox,
        &registry,
        &dir,
        &out,
        "arm",
        &["--allow-arch-mismatch"],
    )
    .ok();
    assert_mentions(&run, &["/bin/tool", "arm64", "--allow-arch-mismatch"]);
    assert!(
        run.stderr.to_lowercase().contains("warn"),
        "no warning:\n{}",
        run.stderr
    );
    assert!(out.join("index.json").is_file());
    assert!(pushed(&registry, "arm"));
}

#[test]
fn script_entrypoint_without_its_interpreter_fails() {
    let (registry, sandbox) = busybox_world();
    let dir = context(
        &sandbox,
        "script",
        "FROM busybox\nCOPY run.py /app/run.py\nENTRYPOINT [\"/app/run.py\"]\n",
        &[("run.py", b"#!/usr/bin/python3\nprint('hello')\n", 0o755)],
    );
    let out = sandbox.path("oci");
    let run = build(&sandbox, &registry, &dir, &out, "script", &[]).failed();
    assert_eq!(run.code, Some(3), "{}", run.stderr);
    assert_mentions(&run, &["/app/run.py", "/usr/bin/python3"]);
    assert!(!out.exists());
    assert!(!pushed(&registry, "script"));
}

#[test]
fn plain_busybox_image_passes() {
    let (registry, sandbox) = busybox_world();
    let dir = context(
        &sandbox,
        "plain",
        "FROM busybox\nCOPY run.sh /app/run.sh\nENTRYPOINT [\"/app/run.sh\"]\n",
        &[("run.sh", b"#!/bin/sh\necho hello\n", 0o755)],
    );
    let out = sandbox.path("oci");
    let run = build(&sandbox, &registry, &dir, &out, "plain", &[]).ok();
    assert!(!run.stderr.contains("exec format error"), "{}", run.stderr);
    assert!(pushed(&registry, "plain"));
}
