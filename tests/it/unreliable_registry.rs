//! Pushing to a registry that fails: a real `docker-registry` behind mitmproxy injecting 5xx, 429 (with
//! and without `Retry-After`) and connection resets. The push completes with the right digest (read
//! back by skopeo straight from the registry), a manifest that cannot be stored tags nothing, a
//! registry that refuses whole-blob `PUT`s gets `PATCH` chunks no larger than 4 MiB (or its minimum),
//! a cross-repository mount that keeps failing gives way to a plain upload, and a login's `GET /v2/`
//! check is retried like the rest.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Value, json};

use crate::support::fault_proxy::{FaultProxy, Faults};
use crate::support::oci::{LayoutWriter, copy_layers, tar_header};
use crate::support::{
    Inspect, Registry, Sandbox, busybox_layout, hoist_run, run, skopeo, skopeo_inspect,
};

/// The large layer's file: incompressible, so the layer blob is about this size.
const BIG: usize = 6 << 20;

/// A four-layer image (busybox, two small layers, one of ~6 MiB) in an OCI layout, tag `v1`; returns
/// the layout and the manifest digest.
fn multi_layer_layout(sandbox: &Sandbox) -> (PathBuf, String) {
    let dir = sandbox.path("layout");
    let mut writer = LayoutWriter::new(&dir);
    let mut layers = copy_layers(&writer, &busybox_layout(), "latest");
    for (name, data) in [
        ("etc/motd", b"through the faults\n".to_vec()),
        ("srv/notes.txt", b"a second small layer\n".repeat(100)),
        ("srv/blob.bin", pseudo_random(BIG)),
    ] {
        let layer = writer.stream_layer(&format!("COPY {name}"), |out| {
            let mut tar = tar::Builder::new(out);
            let mut h = tar_header(tar::EntryType::Regular, 0o644, data.len() as u64);
            tar.append_data(&mut h, name, data.as_slice())?;
            tar.into_inner()?.flush()
        });
        layers.push(layer);
    }
    let digest = writer.image("v1", &layers, json!({ "Cmd": ["/bin/sh"] }));
    writer.finish();
    (dir, digest)
}

/// Deterministic incompressible bytes (xorshift64).
fn pseudo_random(len: usize) -> Vec<u8> {
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut out = Vec::with_capacity(len);
    while out.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.extend_from_slice(&x.to_le_bytes());
    }
    out.truncate(len);
    out
}

fn hoist(sandbox: &Sandbox, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_hoist"));
    cmd.args(args)
        .env("HOIST_CACHE_DIR", sandbox.cache())
        .current_dir(sandbox.dir.path());
    cmd
}

fn push(sandbox: &Sandbox, layout: &Path, target: &str) -> crate::support::HoistRun {
    hoist_run(&mut hoist(
        sandbox,
        &[
            "push",
            "--progress",
            "plain",
            &format!("oci:{}:v1", layout.display()),
            target,
        ],
    ))
}

fn kinds(log: &[Value]) -> Vec<String> {
    log.iter()
        .map(|e| e["kind"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn a_push_through_injected_faults_completes_with_the_right_digest() {
    let registry = Registry::start();
    let proxy = FaultProxy::start(
        &registry,
        &Faults {
            seed: 3,
            rate: 0.4,
            max_failures: 2,
            strip_manifest_location: true,
            ..Faults::default()
        },
    );
    let sandbox = Sandbox::new();
    let (layout, digest) = multi_layer_layout(&sandbox);
    let target = format!("{}/faulty/app:v1", proxy.host());
    let pushed = push(&sandbox, &layout, &target).ok();
    assert_eq!(pushed.line(), format!("{target}@{digest}"));
    // Each retry is told on stderr: what, where, why and when.
    assert!(
        pushed.stderr.lines().any(|l| l.starts_with("retrying `")
            && l.contains(&format!("on `{}`", proxy.host()))
            && l.contains("(attempt 1 of 5)")),
        "{}",
        pushed.stderr
    );

    // Read back past the proxy, from the registry itself.
    let direct = format!("docker://{}/faulty/app:v1", registry.host());
    let info = skopeo_inspect(&direct, Inspect::Info);
    assert_eq!(info["Digest"], digest.as_str());
    assert_eq!(info["Layers"].as_array().unwrap().len(), 4);
    // Every blob arrived whole: skopeo copies the image out, verifying each digest.
    let out = sandbox.path("pulled");
    let copied = run(skopeo()
        .args(["copy", "--quiet", "--src-tls-verify=false"])
        .arg(&direct)
        .arg(format!("oci:{}:v1", out.display())));
    assert!(
        copied.status.success(),
        "{}",
        String::from_utf8_lossy(&copied.stderr)
    );

    let log = proxy.log();
    let kinds = kinds(&log);
    // The faults happened: answers, resets before and after the registry saw the request, and a blob
    // body lost on the way (its upload restarted from the blob store).
    for kind in ["status", "kill", "kill_after", "location_stripped"] {
        assert!(
            kinds.contains(&kind.to_string()),
            "no `{kind}` fault: {log:#?}"
        );
    }
    assert!(
        log.iter().any(
            |e| e["method"] == "PUT" && e["path"].as_str().unwrap().contains("/blobs/uploads/")
        ),
        "no blob upload failed: {log:#?}"
    );
}

#[test]
fn a_manifest_that_cannot_be_stored_tags_nothing() {
    let registry = Registry::start();
    let proxy = FaultProxy::start(
        &registry,
        &Faults {
            always: vec![("PUT", "/manifests/", 503, Some("1"))],
            ..Faults::default()
        },
    );
    let sandbox = Sandbox::new();
    let (layout, _) = multi_layer_layout(&sandbox);
    let target = format!("{}/faulty/app:v1", proxy.host());
    let pushed = push(&sandbox, &layout, &target).failed();
    assert!(pushed.stdout.is_empty(), "{}", pushed.stdout);
    let host = proxy.host();
    assert!(
        pushed.stderr.contains(&format!(
            "registry `{host}` kept failing `PUT /v2/faulty/app/manifests/v1`"
        )),
        "{}",
        pushed.stderr
    );
    assert!(pushed.stderr.contains("503"), "{}", pushed.stderr);
    let attempts = proxy
        .log()
        .iter()
        .filter(|e| e["path"] == "/v2/faulty/app/manifests/v1")
        .count();
    assert_eq!(attempts, 5, "every attempt of the retry budget");

    let inspect = run(skopeo()
        .args(["inspect", "--raw", "--tls-verify=false"])
        .arg(format!("docker://{}/faulty/app:v1", registry.host())));
    assert!(
        !inspect.status.success(),
        "the tag must not exist: {}",
        String::from_utf8_lossy(&inspect.stdout)
    );
}

/// The `PATCH`es of one upload, as `(start, end, size)`, in order.
fn patches(log: &[Value]) -> Vec<(u64, u64, u64)> {
    log.iter()
        .filter(|e| e["kind"] == "patch")
        .map(|e| {
            let (start, end) = e["range"].as_str().unwrap().split_once('-').unwrap();
            (
                start.parse().unwrap(),
                end.parse().unwrap(),
                e["size"].as_u64().unwrap(),
            )
        })
        .collect()
}

#[test]
fn a_registry_refusing_whole_blob_puts_gets_chunks() {
    let sandbox = Sandbox::new();
    let (layout, digest) = multi_layer_layout(&sandbox);
    for (min, chunk) in [(None, 4u64 << 20), (Some(5u64 << 20), 5 << 20)] {
        let registry = Registry::start();
        let proxy = FaultProxy::start(
            &registry,
            &Faults {
                refuse_put_with_body: true,
                chunk_min_length: min,
                ..Faults::default()
            },
        );
        let target = format!("{}/chunked/app:v1", proxy.host());
        let pushed = push(&sandbox, &layout, &target).ok();
        assert_eq!(pushed.line(), format!("{target}@{digest}"));
        let info = skopeo_inspect(
            &format!("docker://{}/chunked/app:v1", registry.host()),
            Inspect::Info,
        );
        assert_eq!(info["Digest"], digest.as_str());

        let log = proxy.log();
        let refused = log.iter().filter(|e| e["kind"] == "refused_put").count();
        assert_eq!(
            refused, 1,
            "one refusal, then chunks for every blob: {log:#?}"
        );
        let patches = patches(&log);
        assert!(
            patches
                .iter()
                .all(|(s, e, size)| e - s + 1 == *size && *size <= chunk),
            "{patches:?}"
        );
        // The big layer went up in full chunks and a rest, each starting where the last ended.
        let big: Vec<_> = patches
            .windows(2)
            .filter(|w| w[1].0 == w[0].1 + 1)
            .collect();
        assert!(!big.is_empty(), "{patches:?}");
        assert_eq!(big[0][0], (0, chunk - 1, chunk), "{patches:?}");
    }
}

#[test]
fn copies_through_faults_within_a_registry_and_across_two() {
    let registry = Registry::start();
    let proxy = FaultProxy::start(
        &registry,
        &Faults {
            seed: 5,
            rate: 0.3,
            max_failures: 2,
            refuse_mounts: true,
            ..Faults::default()
        },
    );
    let sandbox = Sandbox::new();
    let (layout, digest) = multi_layer_layout(&sandbox);
    crate::support::oci::push_layout(&registry, &layout, "v1", "src/app", "v1");

    // Same registry: hoist asks to mount, the registry opens an upload instead (202), and the blob goes
    // up in that session.
    let from = format!("{}/src/app:v1", proxy.host());
    let to = format!("{}/dst/app:v1", proxy.host());
    let copied = hoist_run(&mut hoist(
        &sandbox,
        &["copy", "--progress", "plain", &from, &to],
    ))
    .ok();
    assert_eq!(copied.line(), format!("{to}@{digest}"));
    let log = proxy.log();
    assert!(
        log.iter().any(|e| e["kind"] == "mount_refused"),
        "no mount was asked for: {log:#?}"
    );
    let direct = format!("docker://{}/dst/app:v1", registry.host());
    assert_eq!(
        skopeo_inspect(&direct, Inspect::Info)["Digest"],
        digest.as_str()
    );

    // Across two registries, from a fresh cache: every blob pulled through the faults.
    let other = Registry::start();
    let fresh = Sandbox::new();
    let across = format!("{}/app:v1", other.host());
    let copied = hoist_run(&mut hoist(&fresh, &["copy", &from, &across])).ok();
    assert_eq!(copied.line(), format!("{across}@{digest}"));
    let out = fresh.path("pulled");
    let check = run(skopeo()
        .args(["copy", "--quiet", "--src-tls-verify=false"])
        .arg(format!("docker://{across}"))
        .arg(format!("oci:{}:v1", out.display())));
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );
}

#[test]
fn no_credential_shows_through_faults_and_failures() {
    let key = "s3cret-service-account-key";
    let registry = Registry::start_with_token(key);
    let sandbox = Sandbox::new();
    let (layout, digest) = multi_layer_layout(&sandbox);
    // What the key looks like on the wire, as Basic auth sends it.
    let basic = base64::Engine::encode(
        &base64::engine::general_purpose::STANDARD,
        format!("<token>:{key}"),
    );
    let push_json = |proxy: &FaultProxy| {
        let target = format!("{}/private/app:v1", proxy.host());
        let mut cmd = hoist(
            &sandbox,
            &[
                "push",
                "--progress",
                "json",
                &format!("oci:{}:v1", layout.display()),
                &target,
            ],
        );
        cmd.env("HOIST_TOKEN", key);
        (target, hoist_run(&mut cmd))
    };
    let faulty = FaultProxy::start(
        &registry,
        &Faults {
            seed: 3,
            rate: 0.4,
            ..Faults::default()
        },
    );
    let (target, pushed) = push_json(&faulty);
    let pushed = pushed.ok();
    assert_eq!(pushed.line(), format!("{target}@{digest}"));
    let failing = FaultProxy::start(
        &registry,
        &Faults {
            always: vec![("PUT", "/manifests/", 500, None)],
            ..Faults::default()
        },
    );
    let (_, failed) = push_json(&failing);
    let failed = failed.failed();
    for run in [&pushed, &failed] {
        for shown in [&run.stdout, &run.stderr] {
            assert!(!shown.contains(key), "the key leaked:\n{shown}");
            assert!(
                !shown.contains(&basic),
                "the Basic credentials leaked:\n{shown}"
            );
        }
    }
    assert!(failed.stderr.contains("kept failing"), "{}", failed.stderr);
    // --progress json: every stderr line is a JSON event, retries among them.
    let events: Vec<Value> = failed
        .stderr
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    let retries = events.iter().filter(|e| e["event"] == "retry").count();
    assert_eq!(retries, 4, "{events:#?}");
}

#[test]
fn a_lost_upload_session_starts_the_upload_again() {
    let registry = Registry::start();
    let proxy = FaultProxy::start(
        &registry,
        &Faults {
            lose_sessions: true,
            ..Faults::default()
        },
    );
    let sandbox = Sandbox::new();
    let (layout, digest) = multi_layer_layout(&sandbox);
    let target = format!("{}/lost/app:v1", proxy.host());
    let pushed = push(&sandbox, &layout, &target).ok();
    assert_eq!(pushed.line(), format!("{target}@{digest}"));
    let lost = proxy
        .log()
        .iter()
        .filter(|e| e["kind"] == "session_lost")
        .count();
    assert_eq!(lost, 5, "one per blob: four layers and the config");
    let direct = format!("docker://{}/lost/app:v1", registry.host());
    assert_eq!(
        skopeo_inspect(&direct, Inspect::Info)["Digest"],
        digest.as_str()
    );
}

#[test]
fn a_registry_naming_another_digest_for_a_blob_stops_the_push() {
    let registry = Registry::start();
    let proxy = FaultProxy::start(
        &registry,
        &Faults {
            wrong_blob_digest: true,
            ..Faults::default()
        },
    );
    let sandbox = Sandbox::new();
    let (layout, _) = multi_layer_layout(&sandbox);
    let target = format!("{}/lying/app:v1", proxy.host());
    let failed = push(&sandbox, &layout, &target).failed();
    assert!(
        failed.stderr.contains("does not match its digest")
            && failed
                .stderr
                .contains(&format!("sha256:{}", "0".repeat(64))),
        "{}",
        failed.stderr
    );
    let inspect = run(skopeo()
        .args(["inspect", "--raw", "--tls-verify=false"])
        .arg(format!("docker://{}/lying/app:v1", registry.host())));
    assert!(!inspect.status.success(), "nothing may be tagged");
}

#[test]
fn a_mount_that_keeps_failing_falls_back_to_an_upload() {
    let registry = Registry::start();
    // Every cross-repository mount answered 503; plain upload sessions go through.
    let proxy = FaultProxy::start(
        &registry,
        &Faults {
            always: vec![("POST", "?mount=", 503, None)],
            ..Faults::default()
        },
    );
    let sandbox = Sandbox::new();
    let (layout, digest) = multi_layer_layout(&sandbox);
    crate::support::oci::push_layout(&registry, &layout, "v1", "src/app", "v1");
    let from = format!("{}/src/app:v1", proxy.host());
    let to = format!("{}/dst/app:v1", proxy.host());
    let copied = hoist_run(&mut hoist(
        &sandbox,
        &["copy", "--progress", "json", &from, &to],
    ))
    .ok();
    assert_eq!(copied.line(), format!("{to}@{digest}"));

    // Each layer's mount was tried five times, with backoff, then given up for an upload.
    let mounts = proxy
        .log()
        .iter()
        .filter(|e| e["kind"] == "status" && e["method"] == "POST")
        .count();
    assert_eq!(mounts, 4 * 5, "{:#?}", proxy.log());
    let events: Vec<Value> = copied
        .stderr
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    let fallbacks = events
        .iter()
        .filter(|e| {
            e["event"] == "info"
                && e["message"]
                    .as_str()
                    .is_some_and(|m| m.contains("uploading the blob instead"))
        })
        .count();
    assert_eq!(fallbacks, 4, "{events:#?}");
    assert!(
        !events.iter().any(|e| e["reason"] == "mounted"),
        "{events:#?}"
    );
    // Every layer went up whole: pushed, and read back from the registry itself, digests verified.
    let direct = format!("docker://{}/dst/app:v1", registry.host());
    let info = skopeo_inspect(&direct, Inspect::Info);
    assert_eq!(info["Digest"], digest.as_str());
    for layer in info["Layers"].as_array().unwrap() {
        assert!(
            events
                .iter()
                .any(|e| e["event"] == "blob" && e["verb"] == "push" && e["digest"] == *layer),
            "{layer} was not uploaded: {events:#?}"
        );
    }
    let out = sandbox.path("pulled");
    let check = run(skopeo()
        .args(["copy", "--quiet", "--src-tls-verify=false"])
        .arg(&direct)
        .arg(format!("oci:{}:v1", out.display())));
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );
}

#[test]
fn a_login_check_is_retried_and_a_registry_that_keeps_failing_it_is_named() {
    let key = "s3cret-login-key-5150";
    let registry = Registry::start_with_token(key);
    let sandbox = Sandbox::new();
    std::fs::create_dir(sandbox.path("docker")).unwrap();
    let key_file = sandbox.path("key");
    std::fs::write(&key_file, key).unwrap();
    let login = |proxy: &FaultProxy| {
        let mut cmd = hoist(&sandbox, &["login", &proxy.host(), "--password-stdin"]);
        cmd.env("DOCKER_CONFIG", sandbox.path("docker"))
            .stdin(std::fs::File::open(&key_file).unwrap());
        let run = hoist_run(&mut cmd);
        assert!(
            !run.stdout.contains(key) && !run.stderr.contains(key),
            "the key leaked:\n{}",
            run.stderr
        );
        run
    };
    let probes = |proxy: &FaultProxy| {
        proxy
            .log()
            .iter()
            .filter(|e| e["probe"] == true && e["path"] == "/v2/")
            .count()
    };
    let config = || std::fs::read_to_string(sandbox.path("docker/config.json")).unwrap_or_default();

    // `GET /v2/` answered 503 twice: the check goes on, the login is stored.
    let flaky = FaultProxy::start(
        &registry,
        &Faults {
            fail_probes: 2,
            ..Faults::default()
        },
    );
    login(&flaky).ok();
    assert_eq!(probes(&flaky), 2, "{:#?}", flaky.log());
    assert!(config().contains(&flaky.host()), "{}", config());

    // Always 503: five attempts, then an error naming the registry and the request; nothing stored.
    let down = FaultProxy::start(
        &registry,
        &Faults {
            fail_probes: 100,
            ..Faults::default()
        },
    );
    let failed = login(&down).failed();
    for needle in [
        format!("registry `{}` kept failing `GET /v2/`", down.host()),
        "503 Service Unavailable (attempt 5 of 5, with backoff)".to_string(),
    ] {
        assert!(
            failed.stderr.contains(&needle),
            "no {needle:?} in:\n{}",
            failed.stderr
        );
    }
    assert_eq!(probes(&down), 5, "{:#?}", down.log());
    assert!(!config().contains(&down.host()), "{}", config());
}
