//! Multi-stage builds: `COPY --from`, `--target`, only the stages the target needs are built (an
//! unreachable base or a RUN in an unneeded stage does not matter), `FROM scratch`; a pushed base's
//! ONBUILD triggers fire in the build FROM it.

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

#[test]
fn onbuild_triggers_of_a_pushed_base_fire_in_the_next_build() {
    // A base image pushed with ONBUILD triggers: the build FROM it runs them first (COPY from the
    // new context, RUN, COPY --from a stage nothing else needs, which joins the build), and its own
    // config does not pass them on — as `docker build` does.
    let (registry, sandbox) = busybox_world();
    let base_ctx = sandbox.path("base-ctx");
    std::fs::create_dir_all(&base_ctx).unwrap();
    std::fs::write(
        base_ctx.join("Dockerfile"),
        "FROM busybox\nONBUILD COPY app.txt /app/\nONBUILD RUN echo fired > /fired\nONBUILD COPY --from=extra /made /made\n",
    )
    .unwrap();
    let name = format!("{}/onbuild-base:1", registry.host());
    hoist_run(
        sandbox
            .hoist()
            .args(["--name", &name, "--push"])
            .args(mirror(&registry))
            .arg("--dir")
            .arg(&base_ctx),
    )
    .ok();
    let base = skopeo_inspect(&format!("docker://{name}"), Inspect::Config);
    assert_eq!(
        base["config"]["OnBuild"],
        json!([
            "COPY app.txt /app/",
            "RUN echo fired > /fired",
            "COPY --from=extra /made /made"
        ])
    );

    let app_ctx = sandbox.path("app-ctx");
    std::fs::create_dir_all(&app_ctx).unwrap();
    std::fs::write(app_ctx.join("app.txt"), "app\n").unwrap();
    std::fs::write(
        app_ctx.join("Dockerfile"),
        // `extra` is built only because a trigger of the base reads it.
        format!(
            "FROM busybox AS extra\nRUN echo made > /made\nFROM {name}\nRUN cat /app/app.txt /fired /made > /seen\n"
        ),
    )
    .unwrap();
    let out = sandbox.path("out");
    hoist_run(
        sandbox
            .hoist()
            .args(mirror(&registry))
            .arg("--dir")
            .arg(&app_ctx)
            .arg("--output")
            .arg(format!("oci:{}", out.display())),
    )
    .ok();
    let work = sandbox.path("work");
    std::fs::create_dir_all(&work).unwrap();
    let rootfs = umoci_unpack(&out, "latest", &work);
    assert_eq!(
        std::fs::read_to_string(rootfs.join("seen")).unwrap(),
        "app\nfired\nmade\n"
    );
    let config = skopeo_inspect(&format!("oci:{}:latest", out.display()), Inspect::Config);
    assert!(config["config"]["OnBuild"].is_null(), "{config}");
    let history: Vec<&str> = config["history"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|h| h["created_by"].as_str())
        .collect();
    assert!(
        history.ends_with(&[
            "COPY app.txt /app/ # buildkit",
            "RUN /bin/sh -c echo fired > /fired # buildkit",
            "COPY /made /made # buildkit",
            "RUN /bin/sh -c cat /app/app.txt /fired /made > /seen # buildkit",
        ]),
        "{history:?}"
    );
}

#[test]
fn target_stage_arg_names_the_stage_being_built() {
    // BuildKit's automatic `TARGETSTAGE`: the `--target` stage, seen where the stage declares it.
    let (registry, sandbox) = busybox_world();
    let context = sandbox.path("ctx");
    std::fs::create_dir_all(&context).unwrap();
    std::fs::write(
        context.join("Dockerfile"),
        "FROM busybox AS base\nRUN echo \"[$TARGETSTAGE]\" > /before\nARG TARGETSTAGE\nRUN echo \"$TARGETSTAGE\" > /stage\n\
         FROM base AS app\nFROM base AS other\n",
    )
    .unwrap();
    let out = sandbox.path("out");
    hoist_run(
        sandbox
            .hoist()
            .args(mirror(&registry))
            .args(["--target", "app", "--dir"])
            .arg(&context)
            .arg("--output")
            .arg(format!("oci:{}", out.display())),
    )
    .ok();
    let work = sandbox.path("work");
    std::fs::create_dir_all(&work).unwrap();
    let rootfs = umoci_unpack(&out, "latest", &work);
    assert_eq!(
        std::fs::read_to_string(rootfs.join("before")).unwrap(),
        "[]\n"
    );
    assert_eq!(
        std::fs::read_to_string(rootfs.join("stage")).unwrap(),
        "app\n"
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
