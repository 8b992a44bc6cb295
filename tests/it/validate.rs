//! `hoist validate` on images hoist did not make: OCI layouts written by the test support's own
//! [`LayoutWriter`] (a mislabelled image — amd64 config, Debian's arm64 busybox inside —, broken
//! entrypoints, a multi-arch index) and the same images pushed into a loopback registry with skopeo.
//! And the verdict cache: layers the build writes are read while written, a base once per machine.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Value, json};

use crate::support::arm64_busybox::arm64_busybox;
use crate::support::base_image::busybox_tar;
use crate::support::oci::{LayoutWriter, PATH_ENV, copy_layers, push_layout, tar_header};
use crate::support::{
    HoistRun, Registry, Sandbox, busybox_layout, busybox_world, hoist_run, mirror, seed_busybox,
};

/// `hoist validate --progress plain ARGS` with this sandbox's cache.
fn validate(sandbox: &Sandbox, args: &[&str]) -> HoistRun {
    hoist_run(
        Command::new(env!("CARGO_BIN_EXE_hoist"))
            .args(["validate", "--progress", "plain"])
            .args(args)
            .env("HOIST_CACHE_DIR", sandbox.cache())
            .current_dir(sandbox.dir.path()),
    )
}

/// Exit code 1 with a report on stdout and no error on stderr: the image was read and has findings.
fn findings(run: HoistRun) -> HoistRun {
    assert_eq!(
        run.code,
        Some(1),
        "expected findings:\nstdout:\n{}\nstderr:\n{}",
        run.stdout,
        run.stderr
    );
    assert!(!run.stderr.contains("error:"), "{}", run.stderr);
    run
}

fn clean(run: HoistRun) -> HoistRun {
    let run = run.ok();
    assert!(
        run.stdout.starts_with("ok: "),
        "expected a clean report:\n{}",
        run.stdout
    );
    run
}

fn json_report(run: &HoistRun) -> Value {
    serde_json::from_str(&run.stdout)
        .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}", run.stdout))
}

fn assert_mentions(text: &str, needles: &[&str]) {
    for needle in needles {
        assert!(text.contains(needle), "{needle:?} missing from:\n{text}");
    }
}

/// An amd64-labelled image whose only layer is busybox built for arm64, tagged `v1` — what a
/// cross-build that forgot `--platform` pushes.
fn mislabelled_layout(dir: &Path) -> PathBuf {
    let mut w = LayoutWriter::new(dir);
    let layer = w.gzip_layer(
        &busybox_tar(&arm64_busybox()),
        "COPY busybox-arm64 /bin/busybox",
    );
    w.image("v1", &[layer], json!({ "Env": [PATH_ENV], "Cmd": ["sh"] }));
    w.finish();
    dir.to_path_buf()
}

#[test]
fn mislabelled_layout_fails_naming_the_binary_and_both_architectures() {
    let sandbox = Sandbox::new();
    let layout = mislabelled_layout(&sandbox.path("mislabelled"));
    let image = format!("oci:{}:v1", layout.display());
    let run = findings(validate(&sandbox, &[&image]));
    assert_mentions(
        &run.stdout,
        &[
            "/bin/busybox",
            "aarch64",
            "linux/amd64",
            "exec format error",
            "COPY busybox-arm64 /bin/busybox",
            "fix: ",
            "1 finding;",
        ],
    );
    let run = findings(validate(&sandbox, &["--json", &image]));
    let report = json_report(&run);
    assert_eq!(report["ok"], false);
    assert_eq!(report["platform"], "linux/amd64");
    assert_eq!(report["image"], image);
    let found = report["findings"].as_array().unwrap();
    assert_eq!(found.len(), 1, "{report:#}");
    assert_eq!(found[0]["kind"], "foreign_binary");
    assert_eq!(found[0]["path"], "/bin/busybox");
    assert_eq!(found[0]["layer"]["index"], 1);
    assert!(
        found[0]["message"].as_str().unwrap().contains("aarch64"),
        "{report:#}"
    );
    // The same binary in the same layer is at home on arm64; only the label is wrong.
    let run = findings(validate(&sandbox, &["--platform", "linux/arm64", &image]));
    assert_mentions(&run.stdout, &["config says platform `linux/amd64`"]);
    assert!(!run.stdout.contains("aarch64"), "{}", run.stdout);
}

#[test]
fn amd64_busybox_layout_validates_clean() {
    let sandbox = Sandbox::new();
    let image = format!("oci:{}:latest", busybox_layout().display());
    let run = clean(validate(&sandbox, &[&image]));
    assert_mentions(&run.stdout, &["files checked", "linux/amd64"]);
    let report = json_report(&validate(&sandbox, &["--json", &image]).ok());
    assert_eq!(report["ok"], true);
    assert_eq!(report["findings"], json!([]));
    assert!(report["files"].as_u64().unwrap() >= 1, "{report:#}");
    // The layout holds one image: its tag may be left out.
    clean(validate(
        &sandbox,
        &[&format!("oci:{}", busybox_layout().display())],
    ));
}

#[test]
fn registry_images_are_read_as_published() {
    let registry = Registry::start();
    let sandbox = Sandbox::new();
    let layout = mislabelled_layout(&sandbox.path("mislabelled"));
    let pushed = push_layout(&registry, &layout, "v1", "team/mislabelled", "v1");
    let run = findings(validate(&sandbox, &[&pushed]));
    assert_mentions(&run.stdout, &["/bin/busybox", "aarch64", "linux/amd64"]);
    // `docker://` as skopeo writes it; and a Docker Hub name through `--registry-mirror`.
    findings(validate(&sandbox, &[&format!("docker://{pushed}")]));
    seed_busybox(&registry);
    let mirror = mirror(&registry);
    let run = clean(validate(&sandbox, &[&mirror[0], &mirror[1], "busybox"]));
    assert_mentions(&run.stdout, &["docker.io/library/busybox:latest"]);
    // An image that is not there is an error, not a finding.
    let missing = format!("{}/team/absent:v1", registry.host());
    let run = validate(&sandbox, &[&missing]).failed();
    assert_eq!(run.code, Some(1));
    assert_mentions(&run.stderr, &[&missing, "does not exist"]);
    assert!(run.stdout.is_empty(), "{}", run.stdout);
}

/// The busybox image plus one layer of `files` (path, bytes, mode) and `Entrypoint`, tagged `tag`.
fn on_busybox(w: &mut LayoutWriter, tag: &str, files: &[(&str, &[u8], u32)], entrypoint: &str) {
    let mut layers = copy_layers(w, &busybox_layout(), "latest");
    let mut b = tar::Builder::new(Vec::new());
    for (path, data, mode) in files {
        let mut h = tar_header(tar::EntryType::Regular, *mode, data.len() as u64);
        b.append_data(&mut h, path, *data).unwrap();
    }
    layers.push(w.gzip_layer(&b.into_inner().unwrap(), &format!("COPY {tag}")));
    w.image(
        tag,
        &layers,
        json!({ "Env": [PATH_ENV], "Entrypoint": [entrypoint] }),
    );
}

#[test]
fn each_broken_entrypoint_gets_its_own_finding() {
    let sandbox = Sandbox::new();
    let dir = sandbox.path("entrypoints");
    // A real dynamically linked amd64 program, without the C library and loader it needs.
    let dynamic = std::fs::read("/usr/bin/true").unwrap();
    assert!(
        dynamic.windows(8).any(|w| w == b"ld-linux"),
        "/usr/bin/true is not dynamically linked here; the test needs a dynamic amd64 program"
    );
    let mut w = LayoutWriter::new(&dir);
    on_busybox(
        &mut w,
        "script",
        &[("app/run.py", b"#!/usr/bin/python3\nprint('hi')\n", 0o755)],
        "/app/run.py",
    );
    on_busybox(
        &mut w,
        "dynamic",
        &[("usr/local/bin/app", &dynamic, 0o755)],
        "app",
    );
    on_busybox(
        &mut w,
        "mode",
        &[("app/run.sh", b"#!/bin/sh\necho hi\n", 0o644)],
        "/app/run.sh",
    );
    on_busybox(&mut w, "missing", &[], "/app/server");
    on_busybox(
        &mut w,
        "good",
        &[("app/run.sh", b"#!/bin/sh\necho hi\n", 0o755)],
        "/app/run.sh",
    );
    w.finish();
    let cases: &[(&str, &str, &[&str])] = &[
        (
            "script",
            "missing_interpreter",
            &["/app/run.py", "script interpreter", "/usr/bin/python3"],
        ),
        (
            "dynamic",
            "missing_loader",
            &[
                "/usr/local/bin/app",
                "dynamic loader",
                "/lib64/ld-linux-x86-64.so.2",
            ],
        ),
        (
            "mode",
            "entrypoint_not_executable",
            &["/app/run.sh", "not executable", "0644", "permission denied"],
        ),
        (
            "missing",
            "entrypoint_not_found",
            &[
                "/app/server",
                "not in the image",
                "no such file or directory",
            ],
        ),
    ];
    for (tag, kind, needles) in cases {
        let image = format!("oci:{}:{tag}", dir.display());
        let run = findings(validate(&sandbox, &[&image]));
        assert_mentions(&run.stdout, needles);
        assert_mentions(&run.stdout, &["1 finding;"]);
        let report = json_report(&findings(validate(&sandbox, &["--json", &image])));
        assert_eq!(report["findings"][0]["kind"], *kind, "{tag}: {report:#}");
    }
    clean(validate(
        &sandbox,
        &[&format!("oci:{}:good", dir.display())],
    ));
}

#[test]
fn multi_arch_index_is_checked_for_the_chosen_platform() {
    let sandbox = Sandbox::new();
    let dir = sandbox.path("multi");
    let mut w = LayoutWriter::new(&dir);
    let amd64 = copy_layers(&w, &busybox_layout(), "latest");
    let arm64 = w.gzip_layer(&busybox_tar(&arm64_busybox()), "busybox-static:arm64");
    let config = json!({ "Env": [PATH_ENV], "Cmd": ["sh"] });
    let manifests = vec![
        w.manifest("amd64", &amd64, config.clone()),
        w.manifest("arm64", &[arm64], config),
    ];
    w.index("latest", manifests);
    w.finish();
    let image = format!("oci:{}:latest", dir.display());
    let run = clean(validate(&sandbox, &["--platform", "linux/arm64", &image]));
    assert_mentions(&run.stdout, &["linux/arm64"]);
    clean(validate(&sandbox, &[&image]));
    let run = validate(&sandbox, &["--platform", "linux/s390x", &image]).failed();
    assert_eq!(run.code, Some(1));
    assert_mentions(
        &run.stderr,
        &["linux/s390x", "`linux/amd64`, `linux/arm64`", "--platform"],
    );
    assert!(run.stdout.is_empty(), "{}", run.stdout);
}

/// The `checked` progress events of a `--progress json` run: (layers, scanned, cached).
fn checked(stderr: &str) -> Vec<(u64, u64, u64)> {
    stderr
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|e| e["event"] == "checked")
        .map(|e| {
            let n = |k: &str| e[k].as_u64().unwrap();
            (n("layers"), n("scanned"), n("cached"))
        })
        .collect()
}

#[test]
fn layers_are_checked_while_written_and_bases_once() {
    let (registry, sandbox) = busybox_world();
    let context = sandbox.path("app");
    std::fs::create_dir_all(&context).unwrap();
    std::fs::write(
        context.join("Dockerfile"),
        "FROM busybox\nCOPY a.txt /a.txt\nRUN echo ran > /ran\n",
    )
    .unwrap();
    let build = |content: &str, out: &Path| {
        std::fs::write(context.join("a.txt"), content).unwrap();
        hoist_run(
            Command::new(env!("CARGO_BIN_EXE_hoist"))
                .args(["build", "--progress", "json"])
                .args(mirror(&registry))
                .arg("--dir")
                .arg(&context)
                .arg("--output")
                .arg(format!("oci:{}", out.display()))
                .env("HOIST_CACHE_DIR", sandbox.cache())
                .env_remove("SOURCE_DATE_EPOCH"),
        )
        .ok()
    };
    // The base layer is read once; the COPY and RUN layers were read while they were written (the
    // RUN layer by the sandbox child), so the check after the build reads neither again.
    let first = build("one\n", &sandbox.path("one"));
    assert_eq!(checked(&first.stderr), [(3, 1, 2)], "{}", first.stderr);
    // A new COPY layer on the same base: nothing at all is read after the build.
    let second = build("two\n", &sandbox.path("two"));
    assert_eq!(checked(&second.stderr), [(3, 0, 3)], "{}", second.stderr);
    // `hoist validate` shares the verdicts: nothing of the built image is read again.
    let image = format!("oci:{}", sandbox.path("two").display());
    let report = json_report(&validate(&sandbox, &["--json", &image]).ok());
    assert_eq!(
        report["layers"],
        json!({"total": 3, "read": 0, "cached": 3, "skipped": 0})
    );
}
