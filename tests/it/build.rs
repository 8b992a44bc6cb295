//! End to end through the CLI: push to a loopback registry and read the image back with skopeo; the
//! config fields a Dockerfile sets; docker-archive output; the offline sample.

use serde_json::json;

use crate::support::{
    Inspect, Sandbox, busybox_world, fixtures, hoist_run, layout_digest, mirror, skopeo_inspect,
};

const BUSYBOX_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

#[test]
fn push_writes_config_read_back_by_skopeo() {
    let (registry, sandbox) = busybox_world();
    let context = sandbox.context("config_push");
    let name = format!("{}/app:v1", registry.host());
    let run = hoist_run(
        sandbox
            .hoist()
            .args(["--name", &name, "--push", "--label", "build.by=it"])
            .args(mirror(&registry))
            .arg("--dir")
            .arg(&context),
    )
    .ok();
    let line = run.line();
    let (pushed, digest) = line.split_once('@').expect("stdout is REF@DIGEST");
    assert_eq!(pushed, name);
    assert!(
        digest.starts_with("sha256:") && digest.len() == 71,
        "{digest}"
    );

    let reference = format!("docker://{name}");
    let info = skopeo_inspect(&reference, Inspect::Info);
    assert_eq!(
        info["Digest"], digest,
        "stdout digest is the registry's digest"
    );

    let raw = skopeo_inspect(&reference, Inspect::Raw);
    assert_eq!(
        raw["mediaType"],
        "application/vnd.oci.image.manifest.v1+json"
    );
    assert_eq!(
        raw["config"]["mediaType"],
        "application/vnd.oci.image.config.v1+json"
    );
    // busybox's layer + one for COPY (WORKDIR's /app may share it or add one: at least 2).
    let layers = raw["layers"].as_array().unwrap();
    assert!(layers.len() >= 2, "layers: {layers:?}");

    let config = skopeo_inspect(&reference, Inspect::Config);
    check_config_push(&config, layers.len());
    assert_eq!(
        config["config"]["Labels"]["build.by"], "it",
        "--label lands in Labels"
    );
    let c = &config["config"];
    assert_eq!(
        c["Healthcheck"]["Test"],
        json!(["CMD", "wget", "-q", "-O-", "http://127.0.0.1:8080/"])
    );
    assert_eq!(c["Healthcheck"]["Interval"], 30_000_000_000u64);
    assert_eq!(c["Healthcheck"]["Timeout"], 5_000_000_000u64);
    assert_eq!(c["Healthcheck"]["Retries"], 3);
}

#[test]
fn push_to_several_names_prints_one_line_each() {
    let (registry, sandbox) = busybox_world();
    let context = sandbox.context("config_push");
    let names = [
        format!("{}/app:v1", registry.host()),
        format!("{}/other/app:v2", registry.host()),
    ];
    let run = hoist_run(
        sandbox
            .hoist()
            .args(["--name", &names[0], "--name", &names[1], "--push"])
            .args(mirror(&registry))
            .arg("--dir")
            .arg(&context),
    )
    .ok();
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{}", run.stdout);
    for (line, name) in lines.iter().zip(&names) {
        let (pushed, digest) = line.split_once('@').unwrap();
        assert_eq!(pushed, name);
        let info = skopeo_inspect(&format!("docker://{name}"), Inspect::Info);
        assert_eq!(info["Digest"], digest);
    }
}

#[test]
fn entrypoint_clears_inherited_cmd() {
    let (registry, sandbox) = busybox_world();
    let context = sandbox.context("entrypoint");
    let out = sandbox.path("oci");
    hoist_run(&mut sandbox.build_layout(&registry, &context, &out)).ok();
    let config = skopeo_inspect(&format!("oci:{}:latest", out.display()), Inspect::Config);
    assert_eq!(config["config"]["Entrypoint"], json!(["/bin/echo", "hi"]));
    assert!(
        config["config"]["Cmd"].is_null(),
        "busybox's Cmd [\"sh\"] must not survive ENTRYPOINT: {}",
        config["config"]
    );
}

#[test]
fn docker_archive_is_read_by_skopeo() {
    let (registry, sandbox) = busybox_world();
    let context = sandbox.context("config_push");
    let archive = sandbox.path("app.tar");
    let oci = sandbox.path("oci");
    let run = hoist_run(
        sandbox
            .hoist()
            .args(["--name", "example.com/app:v1"])
            .args(mirror(&registry))
            .arg("--dir")
            .arg(&context)
            .arg("--output")
            .arg(format!("docker-archive:{}", archive.display()))
            .arg("--output")
            .arg(format!("oci:{}", oci.display())),
    )
    .ok();
    assert_eq!(
        run.line(),
        layout_digest(&oci, "v1"),
        "stdout is the digest"
    );
    let info = skopeo_inspect(
        &format!("docker-archive:{}", archive.display()),
        Inspect::Info,
    );
    assert_eq!(info["Labels"]["org.example.team"], "core");
    assert_eq!(info["Architecture"], "amd64");
    let oci_info = skopeo_inspect(&format!("oci:{}:v1", oci.display()), Inspect::Info);
    assert_eq!(
        info["Layers"].as_array().unwrap().len(),
        oci_info["Layers"].as_array().unwrap().len()
    );
    let config = skopeo_inspect(
        &format!("docker-archive:{}", archive.display()),
        Inspect::Config,
    );
    assert_eq!(config["config"]["Entrypoint"], json!(["/bin/sh", "-c"]));
}

#[test]
fn offline_sample_builds_without_any_registry() {
    let sandbox = Sandbox::new();
    let out = sandbox.path("sample-oci");
    let digest_file = sandbox.path("digest.txt");
    let run = hoist_run(
        sandbox
            .hoist()
            .arg("--digest-file")
            .arg(&digest_file)
            .arg("--dir")
            .arg(fixtures().join("sample"))
            .arg("--output")
            .arg(format!("oci:{}", out.display())),
    )
    .ok();
    assert_eq!(run.line(), layout_digest(&out, "latest"));
    let written = std::fs::read_to_string(&digest_file).expect("--digest-file was written");
    assert_eq!(written.trim(), run.line(), "--digest-file holds the digest");
    let config = skopeo_inspect(&format!("oci:{}:latest", out.display()), Inspect::Config);
    assert_eq!(config["config"]["WorkingDir"], "/srv/www");
    assert_eq!(config["config"]["Cmd"], json!(["/srv/www/index.html"]));
    assert_eq!(
        config["config"]["Labels"]["org.opencontainers.image.title"],
        "hoist sample"
    );
    let rootfs = crate::support::umoci_unpack(&out, "latest", sandbox.dir.path());
    let tree = crate::support::tree_snapshot(&out, Some("latest"), &rootfs);
    for path in [
        "srv/www/index.html",
        "srv/www/style.css",
        "srv/www/robots.txt",
        "etc/site/site.conf",
    ] {
        assert_eq!(
            tree.get(path).map(|e| e.kind.as_str()),
            Some("file"),
            "{path}: {tree:?}"
        );
    }
}

/// The config `fixtures/dockerfile/config_push` must produce (HEALTHCHECK aside, also checked against
/// buildah's build of it: OCI-format buildah drops HEALTHCHECK).
pub fn check_config_push(config: &serde_json::Value, layer_count: usize) {
    assert_eq!(config["architecture"], "amd64");
    assert_eq!(config["os"], "linux");
    let c = &config["config"];
    let env: Vec<&str> = c["Env"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(
        env.contains(&format!("PATH=/app/bin:{BUSYBOX_PATH}").as_str()),
        "Env: {env:?}"
    );
    assert!(env.contains(&"GREETING=hello world"), "Env: {env:?}");
    assert_eq!(c["Entrypoint"], json!(["/bin/sh", "-c"]));
    assert_eq!(c["Cmd"], json!(["cat /app/hello.txt"]));
    assert_eq!(c["WorkingDir"], "/app");
    assert_eq!(c["User"], "app");
    assert_eq!(c["Labels"]["org.example.team"], "core");
    assert_eq!(c["Labels"]["version"], "1.0");
    assert_eq!(c["ExposedPorts"], json!({"8080/tcp": {}, "9090/udp": {}}));
    assert_eq!(c["Volumes"], json!({"/data": {}}));
    assert_eq!(c["StopSignal"], "SIGTERM");
    let history = config["history"].as_array().unwrap();
    assert!(
        history.len() > 1,
        "history keeps the base's entry and adds ours: {history:?}"
    );
    let non_empty = history.iter().filter(|h| h["empty_layer"] != true).count();
    assert_eq!(
        non_empty, layer_count,
        "one non-empty history entry per layer"
    );
    assert_eq!(
        config["rootfs"]["diff_ids"].as_array().unwrap().len(),
        layer_count
    );
}
