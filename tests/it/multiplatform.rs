//! `--platform a,b`: one image per platform under an OCI image index, in a layout and in a registry;
//! outputs that hold one image refuse; RUN for a platform this machine cannot execute needs a
//! binfmt_misc emulator and says so; a stage `FROM --platform=$BUILDPLATFORM` runs on this machine
//! for a foreign target (one or several), and a target stage for another platform is refused.

use std::path::Path;

use serde_json::{Value, json};

use crate::support::arm64_busybox::arm64_busybox;
use crate::support::base_image::{busybox_layout, busybox_tar};
use crate::support::oci::{LayoutWriter, PATH_ENV, copy_layers};
use crate::support::tools::read_blob;
use crate::support::{
    Inspect, Registry, Sandbox, hoist_run, mirror, run_ok, skopeo, skopeo_inspect,
};

fn scratch_context(sandbox: &Sandbox, dockerfile: &str) -> std::path::PathBuf {
    let context = sandbox.path("ctx");
    std::fs::create_dir_all(&context).unwrap();
    std::fs::write(context.join("app.txt"), "same file on every platform\n").unwrap();
    std::fs::write(context.join("Dockerfile"), dockerfile).unwrap();
    context
}

#[test]
fn two_platforms_make_an_index_in_a_layout_and_a_registry() {
    let registry = Registry::start();
    let sandbox = Sandbox::new();
    let context = scratch_context(
        &sandbox,
        "FROM scratch\nARG TARGETARCH\nCOPY app.txt /app.txt\nLABEL arch=$TARGETARCH\n",
    );
    let out = sandbox.path("oci");
    let name = format!("{}/multi:v1", registry.host());
    let run = hoist_run(
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
            .arg(&context)
            .arg("--output")
            .arg(format!("oci:{}", out.display())),
    )
    .ok();
    let digest = run.line().rsplit('@').next().unwrap().to_string();

    for reference in [
        format!("oci:{}:v1", out.display()),
        format!("docker://{name}"),
    ] {
        let index = skopeo_inspect(&reference, Inspect::Raw);
        assert_eq!(
            index["mediaType"], "application/vnd.oci.image.index.v1+json",
            "{reference}: {index}"
        );
        let platforms: Vec<String> = index["manifests"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| {
                format!(
                    "{}/{}",
                    m["platform"]["os"].as_str().unwrap(),
                    m["platform"]["architecture"].as_str().unwrap()
                )
            })
            .collect();
        assert_eq!(platforms, ["linux/amd64", "linux/arm64"], "{reference}");
        for arch in ["amd64", "arm64"] {
            let mut cmd = skopeo();
            cmd.args(["inspect", "--config", "--raw", "--override-arch", arch]);
            if reference.starts_with("docker://") {
                cmd.arg("--tls-verify=false");
            }
            let config: serde_json::Value =
                serde_json::from_str(&run_ok(cmd.arg(&reference))).unwrap();
            assert_eq!(config["architecture"], arch, "{reference}");
            assert_eq!(
                config["config"]["Labels"]["arch"], arch,
                "TARGETARCH per platform"
            );
        }
    }
    let pushed = run_ok(
        skopeo()
            .args(["inspect", "--raw", "--tls-verify=false"])
            .arg(format!("docker://{name}")),
    );
    assert_eq!(
        format!(
            "sha256:{}",
            crate::support::sha256_hex(pushed.trim_end().as_bytes())
        ),
        digest,
        "stdout names the index digest"
    );
}

#[test]
fn docker_archive_refuses_several_platforms_and_writes_nothing() {
    let sandbox = Sandbox::new();
    let context = scratch_context(&sandbox, "FROM scratch\nCOPY app.txt /app.txt\n");
    let archive = sandbox.path("app.tar");
    let run = hoist_run(
        sandbox
            .hoist()
            .args(["--platform", "linux/amd64,linux/arm64", "--dir"])
            .arg(&context)
            .arg("--output")
            .arg(format!("docker-archive:{}", archive.display())),
    )
    .failed();
    assert!(run.stderr.contains("one image"), "{}", run.stderr);
    assert!(
        run.stderr.contains("oci:DIR"),
        "says what to do: {}",
        run.stderr
    );
    assert!(!archive.exists());
}

#[test]
fn run_for_a_foreign_platform_needs_an_emulator() {
    let has_qemu = std::fs::read_dir("/proc/sys/fs/binfmt_misc")
        .map(|d| {
            d.flatten()
                .any(|e| e.file_name().to_string_lossy().ends_with("aarch64"))
        })
        .unwrap_or(false);
    if has_qemu {
        println!("this machine has a binfmt_misc handler for aarch64: nothing to refuse");
        return;
    }
    let sandbox = Sandbox::new();
    let context = scratch_context(
        &sandbox,
        "FROM scratch\nCOPY app.txt /app.txt\nRUN [\"/app.txt\"]\n",
    );
    let run = hoist_run(
        sandbox
            .hoist()
            .args(["--platform", "linux/arm64", "--dir"])
            .arg(&context),
    )
    .failed();
    assert!(run.stderr.contains("binfmt_misc"), "{}", run.stderr);
    assert!(run.stderr.contains("qemu-user"), "{}", run.stderr);
    // The first RUN of the stage that needs the emulator is named.
    assert!(
        run.stderr
            .contains("Dockerfile:3: stage `0` is built for linux/arm64"),
        "{}",
        run.stderr
    );
}

/// The fixture busybox for linux/amd64 and linux/arm64 under one index, pushed to `registry` as
/// `library/busybox:latest` (what `FROM busybox` resolves to through the mirror). Returns the arm64
/// image's one layer digest.
fn seed_two_platform_busybox(registry: &Registry, sandbox: &Sandbox) -> String {
    let dir = sandbox.path("busybox-index");
    let mut w = LayoutWriter::new(&dir);
    let amd64 = copy_layers(&w, &busybox_layout(), "latest");
    let arm64 = w.gzip_layer(&busybox_tar(&arm64_busybox()), "busybox-static:arm64");
    let arm64_digest = arm64.blob.digest.clone();
    let config = json!({ "Env": [PATH_ENV], "Cmd": ["sh"] });
    let manifests = vec![
        w.manifest("amd64", &amd64, config.clone()),
        w.manifest("arm64", &[arm64], config),
    ];
    w.index("latest", manifests);
    w.finish();
    let mut copy = skopeo();
    copy.args(["copy", "--quiet", "--all", "--dest-tls-verify=false"])
        .arg(format!("oci:{}:latest", dir.display()))
        .arg(format!(
            "docker://{}/library/busybox:latest",
            registry.host()
        ));
    run_ok(&mut copy);
    arm64_digest
}

/// Each image of tag `latest` in an OCI layout (one manifest, or an index of them): its config's
/// architecture and its manifest.
fn layout_images(layout: &Path) -> Vec<(String, Value)> {
    let top: Value =
        serde_json::from_slice(&std::fs::read(layout.join("index.json")).unwrap()).unwrap();
    let chosen = &top["manifests"][0];
    let read = |digest: &Value| -> Value {
        serde_json::from_slice(&read_blob(layout, digest.as_str().unwrap())).unwrap()
    };
    let manifests: Vec<Value> = if chosen["mediaType"] == "application/vnd.oci.image.index.v1+json"
    {
        let index = read(&chosen["digest"]);
        index["manifests"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| read(&m["digest"]))
            .collect()
    } else {
        vec![read(&chosen["digest"])]
    };
    manifests
        .into_iter()
        .map(|m| {
            let config = read(&m["config"]["digest"]);
            (config["architecture"].as_str().unwrap().to_string(), m)
        })
        .collect()
}

/// The text of `path` in a gzipped layer blob of `layout`.
fn layer_file(layout: &Path, digest: &str, path: &str) -> Option<String> {
    let data = read_blob(layout, digest);
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(&data[..]));
    for entry in archive.entries().unwrap() {
        let mut entry = entry.unwrap();
        let name = entry.path().unwrap().to_string_lossy().into_owned();
        if name.trim_start_matches("./").trim_start_matches('/') == path {
            let mut text = String::new();
            std::io::Read::read_to_string(&mut entry, &mut text).unwrap();
            return Some(text);
        }
    }
    None
}

fn has_aarch64_emulator() -> bool {
    std::fs::read_dir("/proc/sys/fs/binfmt_misc")
        .map(|d| {
            d.flatten()
                .any(|e| e.file_name().to_string_lossy().ends_with("aarch64"))
        })
        .unwrap_or(false)
}

/// The cross-compile pattern: a stage `FROM --platform=$BUILDPLATFORM` runs on this machine, the
/// target stage is the target platform's image and copies its output.
const CROSS_BUILD: &str = "FROM --platform=$BUILDPLATFORM busybox AS build\n\
ARG TARGETARCH\n\
RUN mkdir /out && echo \"built on $(uname -m) for $TARGETARCH\" > /out/note\n\
FROM busybox\n\
COPY --from=build /out/note /note\n";

#[test]
fn build_platform_stage_runs_natively_for_a_foreign_target() {
    if std::env::consts::ARCH != "x86_64" {
        println!("this test builds linux/arm64 from an x86_64 machine; skipped here");
        return;
    }
    if has_aarch64_emulator() {
        println!("note: an aarch64 binfmt_misc handler is registered; the build would not need it");
    }
    let registry = Registry::start();
    let sandbox = Sandbox::new();
    let arm64_layer = seed_two_platform_busybox(&registry, &sandbox);
    let context = scratch_context(&sandbox, CROSS_BUILD);
    let out = sandbox.path("oci");
    let run = hoist_run(
        sandbox
            .hoist()
            .args(["--platform", "linux/arm64"])
            .args(mirror(&registry))
            .arg("--dir")
            .arg(&context)
            .arg("--output")
            .arg(format!("oci:{}", out.display())),
    )
    .ok();
    assert!(!run.stderr.contains("is ignored"), "{}", run.stderr);
    let images = layout_images(&out);
    assert_eq!(images.len(), 1);
    let (arch, manifest) = &images[0];
    assert_eq!(arch, "arm64");
    let layers = manifest["layers"].as_array().unwrap();
    assert_eq!(layers.len(), 2, "{manifest}");
    // The base is the arm64 busybox; the copied file was made by the RUN on this machine.
    assert_eq!(layers[0]["digest"], arm64_layer.as_str());
    let note = layer_file(&out, layers[1]["digest"].as_str().unwrap(), "note");
    assert_eq!(note.as_deref(), Some("built on x86_64 for arm64\n"));
}

#[test]
fn build_platform_stage_serves_every_target_of_a_multi_platform_build() {
    if std::env::consts::ARCH != "x86_64" {
        println!("this test builds linux/arm64 from an x86_64 machine; skipped here");
        return;
    }
    let registry = Registry::start();
    let sandbox = Sandbox::new();
    let arm64_layer = seed_two_platform_busybox(&registry, &sandbox);
    let context = scratch_context(&sandbox, CROSS_BUILD);
    let out = sandbox.path("oci");
    hoist_run(
        sandbox
            .hoist()
            .args(["--platform", "linux/amd64,linux/arm64"])
            .args(mirror(&registry))
            .arg("--dir")
            .arg(&context)
            .arg("--output")
            .arg(format!("oci:{}", out.display())),
    )
    .ok();
    let images = layout_images(&out);
    let arches: Vec<&str> = images.iter().map(|(a, _)| a.as_str()).collect();
    assert_eq!(arches, ["amd64", "arm64"]);
    for (arch, manifest) in &images {
        let layers = manifest["layers"].as_array().unwrap();
        let last = layers.last().unwrap()["digest"].as_str().unwrap();
        let note = layer_file(&out, last, "note");
        assert_eq!(
            note.as_deref(),
            Some(format!("built on x86_64 for {arch}\n").as_str()),
            "{arch}"
        );
        assert_eq!(
            layers[0]["digest"] == arm64_layer.as_str(),
            arch == "arm64",
            "{arch}: its own busybox"
        );
    }
}

#[test]
fn target_stage_for_another_platform_is_refused_before_pulling() {
    let sandbox = Sandbox::new();
    let context = scratch_context(
        &sandbox,
        "FROM --platform=$BUILDPLATFORM busybox AS tools\nFROM tools\nRUN true\n",
    );
    let run = hoist_run(
        sandbox
            .hoist()
            .args(["--platform", "linux/arm64", "--dir"])
            .arg(&context),
    )
    .failed();
    assert!(
        run.stderr.contains("Dockerfile:2: the target stage"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("--platform linux/amd64"),
        "{}",
        run.stderr
    );
}
