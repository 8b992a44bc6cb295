//! `--platform a,b`: one image per platform under an OCI image index, in a layout and in a registry;
//! outputs that hold one image refuse; RUN for a platform this machine cannot execute needs a
//! binfmt_misc emulator and says so.

use crate::support::{Inspect, Registry, Sandbox, hoist_run, run_ok, skopeo, skopeo_inspect};

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
}
