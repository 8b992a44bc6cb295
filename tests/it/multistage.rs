//! Multi-stage builds: `COPY --from`, `--target`, only the stages the target needs are built (an
//! unreachable base or a RUN in an unneeded stage does not matter), `FROM scratch`.

use serde_json::json;

use crate::support::{
    Inspect, Sandbox, busybox_world, hoist_run, mirror, skopeo_inspect, tree_snapshot, umoci_unpack,
};

#[test]
fn final_stage_copies_from_builder_and_skips_unneeded_stages() {
    let (registry, sandbox) = busybox_world();
    let context = sandbox.context("multistage");
    let out = sandbox.path("oci");
    hoist_run(&mut sandbox.build_layout(&registry, &context, &out)).ok();
    let rootfs = umoci_unpack(&out, "latest", sandbox.dir.path());
    let tree = tree_snapshot(&out, Some("latest"), &rootfs);
    check_final_stage(&tree);
    let config = skopeo_inspect(&format!("oci:{}:latest", out.display()), Inspect::Config);
    assert_eq!(config["config"]["Cmd"], json!(["/app/bin/tool.sh"]));
}

#[test]
fn target_builds_the_named_stage() {
    let (registry, sandbox) = busybox_world();
    let context = sandbox.context("multistage");
    let out = sandbox.path("oci");
    hoist_run(
        sandbox
            .hoist()
            .args(["--target", "builder"])
            .args(mirror(&registry))
            .arg("--dir")
            .arg(&context)
            .arg("--output")
            .arg(format!("oci:{}", out.display())),
    )
    .ok();
    let rootfs = umoci_unpack(&out, "latest", sandbox.dir.path());
    let tree = tree_snapshot(&out, Some("latest"), &rootfs);
    assert_eq!(tree["src/data.txt"].kind, "file");
    assert_eq!(
        tree["bin/busybox"].kind, "file",
        "the builder stage is busybox-based"
    );
    assert!(!tree.contains_key("app"), "the final stage was not built");
    let config = skopeo_inspect(&format!("oci:{}:latest", out.display()), Inspect::Config);
    assert_eq!(
        config["config"]["Cmd"],
        json!(["sh"]),
        "the builder inherits busybox's Cmd"
    );
}

#[test]
fn target_with_unreachable_base_fails_naming_it() {
    let (registry, sandbox) = busybox_world();
    let context = sandbox.context("multistage");
    let out = sandbox.path("oci");
    let run = hoist_run(
        sandbox
            .hoist()
            .args(["--target", "broken"])
            .args(mirror(&registry))
            .arg("--dir")
            .arg(&context)
            .arg("--output")
            .arg(format!("oci:{}", out.display())),
    )
    .failed();
    assert!(
        run.stderr.contains("127.0.0.1:1"),
        "names the registry: {}",
        run.stderr
    );
    assert!(!out.exists());
}

#[test]
fn from_scratch_needs_no_registry() {
    let sandbox = Sandbox::new();
    let context = sandbox.context("scratch");
    let out = sandbox.path("oci");
    hoist_run(
        sandbox
            .hoist()
            .arg("--dir")
            .arg(&context)
            .arg("--output")
            .arg(format!("oci:{}", out.display())),
    )
    .ok();
    let rootfs = umoci_unpack(&out, "latest", sandbox.dir.path());
    let tree = tree_snapshot(&out, Some("latest"), &rootfs);
    let paths: Vec<&String> = tree.keys().collect();
    assert_eq!(paths, ["only.txt"]);
    let raw = skopeo_inspect(&format!("oci:{}:latest", out.display()), Inspect::Raw);
    assert_eq!(raw["layers"].as_array().unwrap().len(), 1);
}

/// What the final stage of `fixtures/dockerfile/multistage` holds (also checked against buildah).
pub fn check_final_stage(tree: &std::collections::BTreeMap<String, crate::support::TreeEntry>) {
    assert_eq!(tree["app/data.txt"].kind, "file");
    assert_eq!(tree["app/bin/tool.sh"].mode, 0o755);
    assert_eq!(tree["etc/passwd"].kind, "file");
    assert!(
        !tree.contains_key("bin/busybox"),
        "FROM scratch: nothing of busybox but what was copied"
    );
}

/// `COPY --from` of a directory takes all of it even when a sibling's name sorts between the
/// directory and its children (`lib.txt` and `lib-old` come before `lib/…`: `.` and `-` sort before
/// `/`). The stage index once stopped at the sibling and copied an empty directory.
#[test]
fn copy_from_a_directory_with_a_sibling_that_sorts_inside_it() {
    let sandbox = Sandbox::new();
    let context = sandbox.path("ctx");
    std::fs::create_dir_all(context.join("lib/deep")).unwrap();
    std::fs::write(context.join("lib/deep/a.txt"), "a").unwrap();
    std::fs::write(context.join("lib/z.txt"), "z").unwrap();
    std::fs::write(context.join("lib.txt"), "sibling").unwrap();
    std::fs::write(context.join("lib-old"), "sibling").unwrap();
    std::fs::write(
        context.join("Dockerfile"),
        "FROM scratch AS build\nCOPY . /src/\nFROM scratch\nCOPY --from=build /src/lib /lib\n",
    )
    .unwrap();
    let out = sandbox.path("oci");
    hoist_run(
        sandbox
            .hoist()
            .arg("--dir")
            .arg(&context)
            .arg("--output")
            .arg(format!("oci:{}", out.display())),
    )
    .ok();
    let rootfs = umoci_unpack(&out, "latest", sandbox.dir.path());
    assert_eq!(
        std::fs::read_to_string(rootfs.join("lib/deep/a.txt")).unwrap(),
        "a"
    );
    assert_eq!(
        std::fs::read_to_string(rootfs.join("lib/z.txt")).unwrap(),
        "z"
    );
    assert!(!rootfs.join("lib.txt").exists());
}
