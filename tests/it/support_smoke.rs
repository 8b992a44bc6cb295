//! The test support itself: a real registry comes up, the busybox base image is built and seeded, and
//! skopeo reads it back. Independent of hoist's own code.

use crate::support::{
    Inspect, Registry, Sandbox, busybox_layout, seed_busybox, skopeo_inspect, tree_snapshot,
    umoci_unpack,
};

#[test]
fn registry_serves_seeded_busybox() {
    let registry = Registry::start();
    assert_eq!(registry.get_status("/v2/").unwrap(), 200);
    let reference = seed_busybox(&registry);
    let raw = skopeo_inspect(&format!("docker://{reference}"), Inspect::Raw);
    assert_eq!(
        raw["mediaType"],
        "application/vnd.oci.image.manifest.v1+json"
    );
    assert_eq!(raw["layers"].as_array().unwrap().len(), 1);
    let config = skopeo_inspect(&format!("docker://{reference}"), Inspect::Config);
    assert_eq!(config["architecture"], "amd64");
    assert_eq!(config["config"]["Cmd"], serde_json::json!(["sh"]));
    let info = skopeo_inspect(&format!("docker://{reference}"), Inspect::Info);
    let local = skopeo_inspect(
        &format!("oci:{}:latest", busybox_layout().display()),
        Inspect::Info,
    );
    assert_eq!(
        info["Digest"], local["Digest"],
        "the push kept the manifest bytes"
    );
}

#[test]
fn registry_with_token_auth_demands_credentials() {
    let registry = Registry::start_with_token("s3cret-key");
    assert_eq!(registry.get_status("/v2/").unwrap(), 401);
    let reference = seed_busybox(&registry);
    let out = crate::support::run(
        crate::support::skopeo()
            .args(["inspect", "--raw", "--tls-verify=false"])
            .arg(format!("docker://{reference}")),
    );
    assert!(!out.status.success(), "anonymous read must be refused");
}

#[test]
fn busybox_layout_unpacks_with_umoci() {
    let sandbox = Sandbox::new();
    let layout = busybox_layout();
    let rootfs = umoci_unpack(&layout, "latest", sandbox.dir.path());
    let tree = tree_snapshot(&layout, Some("latest"), &rootfs);
    assert_eq!(tree["bin/busybox"].kind, "file");
    assert_eq!(tree["bin/busybox"].mode, 0o755);
    assert_eq!(tree["bin/sh"].link.as_deref(), Some("/bin/busybox"));
    assert_eq!(tree["tmp"].mode, 0o1777);
    assert_eq!((tree["home/app"].uid, tree["home/app"].gid), (1000, 1000));
    assert!(
        std::fs::read_to_string(rootfs.join("etc/passwd"))
            .unwrap()
            .contains("app:x:1000:1000")
    );
}

/// Builds fixture `case` with buildah (base pinned to the loopback registry's busybox) into an OCI
/// layout tagged `latest`; `None` (printed) only when buildah cannot run here.
fn buildah_build(
    registry: &Registry,
    sandbox: &Sandbox,
    case: &str,
) -> Option<(std::path::PathBuf, std::path::PathBuf)> {
    let buildah = match crate::support::tools::Buildah::new(sandbox.dir.path()) {
        Ok(b) => b,
        Err(why) => {
            println!("buildah cannot run here: {why}");
            return None;
        }
    };
    let context = sandbox.context(case);
    crate::support::write_bundle(&context);
    let dockerfile = context.join("Dockerfile");
    let text = std::fs::read_to_string(&dockerfile).unwrap().replace(
        "FROM busybox",
        &format!("FROM {}/library/busybox:latest", registry.host()),
    );
    std::fs::write(&dockerfile, text).unwrap();
    let out = sandbox.path("buildah-oci");
    buildah.build_to_layout(&dockerfile, &context, &out);
    Some((out, context))
}

/// The copy_layout expectations hold for buildah's build of the same Dockerfile: the fixture tests
/// Docker semantics, not hoist's guesses.
#[test]
fn buildah_meets_the_copy_layout_expectations() {
    let registry = Registry::start();
    seed_busybox(&registry);
    let sandbox = Sandbox::new();
    let Some((out, _)) = buildah_build(&registry, &sandbox, "copy_layout") else {
        return;
    };
    let rootfs = umoci_unpack(&out, "latest", sandbox.dir.path());
    let tree = tree_snapshot(&out, Some("latest"), &rootfs);
    crate::layout::check_copy_layout(&tree, &rootfs);
}

/// Likewise for the config instructions of config_push.
#[test]
fn buildah_meets_the_config_push_expectations() {
    let registry = Registry::start();
    seed_busybox(&registry);
    let sandbox = Sandbox::new();
    let Some((out, _)) = buildah_build(&registry, &sandbox, "config_push") else {
        return;
    };
    let reference = format!("oci:{}:latest", out.display());
    let raw = skopeo_inspect(&reference, Inspect::Raw);
    let config = skopeo_inspect(&reference, Inspect::Config);
    crate::build::check_config_push(&config, raw["layers"].as_array().unwrap().len());
}

/// And for the multi-stage case: buildah too skips the stages the target does not need.
#[test]
fn buildah_meets_the_multistage_expectations() {
    let registry = Registry::start();
    seed_busybox(&registry);
    let sandbox = Sandbox::new();
    let Some((out, _)) = buildah_build(&registry, &sandbox, "multistage") else {
        return;
    };
    let rootfs = umoci_unpack(&out, "latest", sandbox.dir.path());
    let tree = tree_snapshot(&out, Some("latest"), &rootfs);
    crate::multistage::check_final_stage(&tree);
}
