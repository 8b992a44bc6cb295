//! Differential tests against buildah: the same Dockerfile and context built by both, base pulled from
//! the loopback registry; the unpacked file trees (paths, kinds, modes, owners, symlink targets,
//! contents — not mtimes) and the config fields must agree.

use std::path::Path;

use serde_json::Value;

use crate::support::tools::Buildah;
use crate::support::{
    Inspect, Registry, Sandbox, hoist_run, seed_busybox, skopeo_inspect, tree_differences,
    tree_snapshot, umoci_unpack, write_bundle,
};

/// Rewrites `FROM busybox` to the loopback registry's copy, for both builders.
fn pin_base(context: &Path, registry: &Registry) -> std::path::PathBuf {
    let text = std::fs::read_to_string(context.join("Dockerfile")).unwrap();
    let pinned = text.replace(
        "FROM busybox",
        &format!("FROM {}/library/busybox:latest", registry.host()),
    );
    let path = context.join("Dockerfile");
    std::fs::write(&path, pinned).unwrap();
    path
}

/// The config fields both builders set from a Dockerfile (buildah's own label dropped).
fn comparable_config(config: &Value) -> Value {
    let c = &config["config"];
    let mut labels = c["Labels"].clone();
    if let Some(map) = labels.as_object_mut() {
        map.remove("io.buildah.version");
    }
    let empty_is_null = |v: &Value| match v {
        Value::Array(a) if a.is_empty() => Value::Null,
        Value::Object(o) if o.is_empty() => Value::Null,
        Value::String(s) if s.is_empty() => Value::Null,
        other => other.clone(),
    };
    serde_json::json!({
        "Env": c["Env"],
        "Cmd": empty_is_null(&c["Cmd"]),
        "Entrypoint": empty_is_null(&c["Entrypoint"]),
        "WorkingDir": empty_is_null(&c["WorkingDir"]),
        "User": empty_is_null(&c["User"]),
        "ExposedPorts": empty_is_null(&c["ExposedPorts"]),
        "Volumes": empty_is_null(&c["Volumes"]),
        "StopSignal": empty_is_null(&c["StopSignal"]),
        "Labels": empty_is_null(&labels),
        "architecture": config["architecture"],
        "os": config["os"],
    })
}

fn differential(case: &str, prepare: impl Fn(&Path)) {
    let registry = Registry::start();
    seed_busybox(&registry);
    let sandbox = Sandbox::new();
    let buildah = match Buildah::new(sandbox.dir.path()) {
        Ok(b) => b,
        Err(why) => {
            println!("differential test {case} not run: buildah cannot run here: {why}");
            return;
        }
    };
    let context = sandbox.context(case);
    prepare(&context);
    let dockerfile = pin_base(&context, &registry);

    let by_buildah = sandbox.path("buildah-oci");
    buildah.build_to_layout(&dockerfile, &context, &by_buildah);
    let by_hoist = sandbox.path("hoist-oci");
    hoist_run(
        sandbox
            .hoist()
            .arg("--dir")
            .arg(&context)
            .arg("--output")
            .arg(format!("oci:{}", by_hoist.display())),
    )
    .ok();

    let unpack = |layout: &Path, name: &str| {
        let work = sandbox.path(name);
        std::fs::create_dir_all(&work).unwrap();
        let rootfs = umoci_unpack(layout, "latest", &work);
        tree_snapshot(layout, Some("latest"), &rootfs)
    };
    let tree_buildah = unpack(&by_buildah, "unpack-buildah");
    let tree_hoist = unpack(&by_hoist, "unpack-hoist");
    let diffs = tree_differences("hoist", &tree_hoist, "buildah", &tree_buildah);
    assert!(
        diffs.is_empty(),
        "{case}: file trees differ from buildah's:\n{}",
        diffs.join("\n")
    );

    let config = |layout: &Path| {
        comparable_config(&skopeo_inspect(
            &format!("oci:{}:latest", layout.display()),
            Inspect::Config,
        ))
    };
    assert_eq!(
        config(&by_hoist),
        config(&by_buildah),
        "{case}: config differs from buildah's"
    );
}

#[test]
fn copy_and_add_match_buildah() {
    differential("copy_layout", write_bundle);
}

#[test]
fn config_instructions_match_buildah() {
    differential("config_push", |_| {});
}
