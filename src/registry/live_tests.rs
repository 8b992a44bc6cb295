//! Round trips against a real registry (Debian's `docker-registry`, distribution 2.8) started on a free
//! loopback port for the test and stopped by pid: seed with skopeo, pull, push elsewhere, read back.
//! Skipped (with a printed reason) when `docker-registry` or `skopeo` is not installed.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use super::{RegistryClient, RegistryError, RegistryOptions};
use crate::export::Exporter as _;
use crate::export::oci_layout::{OciLayout, sample_image};
use crate::image::{BlobStore, Descriptor, Index, Platform, Reference};
use crate::progress::{Event, Recorder, Silent};

struct Registry {
    child: Child,
    port: u16,
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn start(dir: &Path, extra: &str) -> Registry {
    start_on(dir, "127.0.0.1", extra).await
}

/// Starts a registry on `ip`; `extra` is appended after the `http: addr:` line (indent it by two spaces
/// for more `http:` keys, or not at all for top-level keys).
async fn start_on(dir: &Path, ip: &str, extra: &str) -> Registry {
    let port = std::net::TcpListener::bind((ip, 0))
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let config = dir.join("config.yml");
    std::fs::write(
        &config,
        format!(
            "version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: {}\nhttp:\n  addr: {ip}:{port}\n{extra}",
            dir.join("data").display()
        ),
    )
    .unwrap();
    let child = Command::new("docker-registry")
        .arg("serve")
        .arg(&config)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let registry = Registry { child, port };
    for _ in 0..100 {
        if tokio::net::TcpStream::connect((ip, port)).await.is_ok() {
            return registry;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("docker-registry did not start on {ip}:{port}");
}

fn skopeo(args: &[&str]) -> String {
    let out = Command::new("skopeo").args(args).output().unwrap();
    assert!(
        out.status.success(),
        "skopeo {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn r(s: &str) -> Reference {
    s.parse().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pull_push_round_trip() {
    if !Path::new("/usr/bin/docker-registry").exists() || !Path::new("/usr/bin/skopeo").exists() {
        eprintln!("skipped: needs /usr/bin/docker-registry and /usr/bin/skopeo");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let reg = start(tmp.path(), "").await;
    let host = format!("127.0.0.1:{}", reg.port);

    // Seed: our layout, copied in by skopeo.
    let (image, blobs) = sample_image(tmp.path());
    let layout = tmp.path().join("layout");
    OciLayout::new(&layout, &[r("seed/app:v1")])
        .export(&image, &blobs, &Silent)
        .await
        .unwrap();
    let dest = format!("docker://{host}/seed/app:v1");
    skopeo(&[
        "copy",
        "--dest-tls-verify=false",
        &format!("oci:{}:v1", layout.display()),
        &dest,
    ]);

    // Pull into a fresh store, then again: the second pull downloads nothing.
    let client = RegistryClient::new(RegistryOptions::default()).unwrap();
    let store = BlobStore::open(tmp.path().join("store2")).unwrap();
    let amd64 = Platform::linux_amd64();
    let recorder = Recorder::default();
    let pulled = client
        .pull(
            &r(&format!("{host}/seed/app:v1")),
            &amd64,
            &store,
            &recorder,
        )
        .await
        .unwrap();
    assert_eq!(pulled.layers().len(), 1);
    assert_eq!(pulled.layers()[0].diff_id, image.layers[0].diff_id);
    assert!(store.contains(&image.layers[0].descriptor.digest));
    let recorder = Recorder::default();
    client
        .pull(
            &r(&format!("{host}/seed/app:v1")),
            &amd64,
            &store,
            &recorder,
        )
        .await
        .unwrap();
    let events = recorder.0.lock().unwrap().clone();
    assert!(
        events.iter().all(|e| !matches!(e, Event::Blob { .. })),
        "{events:?}"
    );

    // Through a mirror: docker.io/seed/app → HOST/seed/app.
    let mirrored = RegistryClient::new(RegistryOptions {
        insecure: vec![],
        mirrors: vec![("docker.io".into(), host.clone())],
    })
    .unwrap();
    mirrored
        .pull(&r("seed/app:v1"), &amd64, &store, &Silent)
        .await
        .unwrap();

    // Push to two other repositories; skopeo reads the result.
    let serialized = pulled.serialize();
    let targets = [
        r(&format!("{host}/other/app:v2")),
        r(&format!("{host}/third:v3")),
    ];
    let recorder = Recorder::default();
    let d = client
        .push(&serialized, &store, &targets, &recorder)
        .await
        .unwrap();
    // The layer came from `seed/app` on the same registry: it is mounted, not uploaded.
    let events = recorder.0.lock().unwrap().clone();
    assert!(
        events.iter().any(|e| matches!(
            e,
            Event::BlobSkipped {
                reason: "mounted",
                ..
            }
        )),
        "{events:?}"
    );
    assert_eq!(d.digest, serialized.manifest.digest);
    for t in ["other/app:v2", "third:v3"] {
        let out = skopeo(&[
            "inspect",
            "--tls-verify=false",
            &format!("docker://{host}/{t}"),
        ]);
        assert!(
            out.contains(&serialized.manifest.digest.to_string()),
            "{out}"
        );
    }
    // A second push finds every blob there already.
    let recorder = Recorder::default();
    client
        .push(&serialized, &store, &targets[..1], &recorder)
        .await
        .unwrap();
    assert!(
        recorder
            .0
            .lock()
            .unwrap()
            .iter()
            .all(|e| !matches!(e, Event::Blob { .. }))
    );

    // An index: amd64 resolves; arm64 points at an amd64 image; s390x is not offered.
    let mut amd = serialized.manifest.clone();
    amd.platform = Some(amd64.clone());
    let mut arm: Descriptor = amd.clone();
    arm.platform = Some("linux/arm64".parse().unwrap());
    let index = serde_json::to_vec(&Index::new(vec![amd, arm])).unwrap();
    let resp = reqwest::Client::new()
        .put(format!("http://{host}/v2/other/app/manifests/multi"))
        .header("content-type", crate::image::media_type::OCI_INDEX)
        .body(index)
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success(), "{}", resp.text().await.unwrap());
    let multi = r(&format!("{host}/other/app:multi"));
    client.pull(&multi, &amd64, &store, &Silent).await.unwrap();
    let err = client
        .pull(&multi, &"linux/arm64".parse().unwrap(), &store, &Silent)
        .await
        .unwrap_err();
    assert!(
        matches!(err, RegistryError::PlatformMismatch { .. }),
        "{err}"
    );
    let err = client
        .pull(&multi, &"linux/s390x".parse().unwrap(), &store, &Silent)
        .await
        .unwrap_err();
    assert!(
        matches!(err, RegistryError::PlatformMissing { .. }),
        "{err}"
    );
    assert!(err.to_string().contains("`linux/arm64`"), "{err}");

    // Errors that name what to fix.
    let err = client
        .pull(
            &r(&format!("{host}/seed/app:nope")),
            &amd64,
            &store,
            &Silent,
        )
        .await
        .unwrap_err();
    assert!(
        matches!(err, RegistryError::ManifestUnknown { .. }),
        "{err}"
    );
    let err = client
        .pull(&r("127.0.0.1:1/x:y"), &amd64, &store, &Silent)
        .await
        .unwrap_err();
    assert!(matches!(err, RegistryError::Unreachable { .. }), "{err}");
    let err = client
        .push(&serialized, &store, &[r("127.0.0.1:1/x:y")], &Silent)
        .await
        .unwrap_err();
    assert!(matches!(err, RegistryError::Unreachable { .. }), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn basic_auth_with_a_service_account_key() {
    if !Path::new("/usr/bin/docker-registry").exists() || !Path::new("/usr/bin/htpasswd").exists() {
        eprintln!("skipped: needs /usr/bin/docker-registry and /usr/bin/htpasswd");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let out = Command::new("htpasswd")
        .args(["-Bbn", "<token>", "s3cret-key"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let htpasswd = tmp.path().join("htpasswd");
    std::fs::write(&htpasswd, &out.stdout).unwrap();
    let extra = format!(
        "auth:\n  htpasswd:\n    realm: hoist-test\n    path: {}\n",
        htpasswd.display()
    );
    let reg = start(tmp.path(), &extra).await;
    let host = format!("127.0.0.1:{}", reg.port);
    let (image, blobs) = sample_image(tmp.path());
    let target = r(&format!("{host}/private/app:v1"));

    let anonymous = RegistryClient::new(RegistryOptions::default()).unwrap();
    let err = anonymous
        .push(&image, &blobs, std::slice::from_ref(&target), &Silent)
        .await
        .unwrap_err();
    assert!(matches!(err, RegistryError::Denied { .. }), "{err}");
    assert!(err.to_string().contains("HOIST_TOKEN"), "{err}");

    let wrong = RegistryClient::new(RegistryOptions::default()).unwrap();
    wrong.login(&host, "<token>", "wrong-key");
    let err = wrong
        .push(&image, &blobs, std::slice::from_ref(&target), &Silent)
        .await
        .unwrap_err();
    assert!(!err.to_string().contains("wrong-key"), "{err}");

    let client = RegistryClient::new(RegistryOptions::default()).unwrap();
    client.login(&host, "<token>", "s3cret-key");
    client
        .push(&image, &blobs, std::slice::from_ref(&target), &Silent)
        .await
        .unwrap();
    let store = BlobStore::open(tmp.path().join("pulled")).unwrap();
    let pulled = client
        .pull(&target, &Platform::linux_amd64(), &store, &Silent)
        .await
        .unwrap();
    assert_eq!(pulled.serialize().manifest.digest, image.manifest.digest);
    let err = anonymous
        .pull(&target, &Platform::linux_amd64(), &store, &Silent)
        .await
        .unwrap_err();
    assert!(matches!(err, RegistryError::Denied { .. }), "{err}");
}

/// A non-loopback IPv4 address of this machine, if it has one.
fn outward_ip() -> Option<String> {
    let out = Command::new("hostname").arg("-I").output().ok()?;
    String::from_utf8(out.stdout)
        .ok()?
        .split_whitespace()
        .find(|a| {
            a.parse::<std::net::Ipv4Addr>()
                .is_ok_and(|ip| !ip.is_loopback())
        })
        .map(str::to_string)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn insecure_hosts_use_unverified_tls_or_plain_http() {
    let Some(ip) = outward_ip() else {
        eprintln!("skipped: this machine has no non-loopback IPv4 address");
        return;
    };
    if !Path::new("/usr/bin/docker-registry").exists() || !Path::new("/usr/bin/openssl").exists() {
        eprintln!("skipped: needs /usr/bin/docker-registry and /usr/bin/openssl");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let (cert, key) = (tmp.path().join("cert.pem"), tmp.path().join("key.pem"));
    let status = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=hoist-test",
        ])
        .arg("-addext")
        .arg(format!("subjectAltName=IP:{ip}"))
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
    let (image, blobs) = sample_image(tmp.path());
    let store = BlobStore::open(tmp.path().join("pulled")).unwrap();

    // A self-signed TLS registry: refused when verified, used when insecure.
    let tls_dir = tmp.path().join("tls");
    std::fs::create_dir(&tls_dir).unwrap();
    let tls = format!(
        "  tls:\n    certificate: {}\n    key: {}\n",
        cert.display(),
        key.display()
    );
    let tls_reg = start_on(&tls_dir, &ip, &tls).await;
    let target = r(&format!("{ip}:{}/secure/app:v1", tls_reg.port));
    let strict = RegistryClient::new(RegistryOptions::default()).unwrap();
    let err = strict
        .push(&image, &blobs, std::slice::from_ref(&target), &Silent)
        .await
        .unwrap_err();
    assert!(matches!(err, RegistryError::Unreachable { .. }), "{err}");
    let lax = RegistryClient::new(RegistryOptions {
        insecure: vec![format!("{ip}:{}", tls_reg.port)],
        mirrors: vec![],
    })
    .unwrap();
    lax.push(&image, &blobs, std::slice::from_ref(&target), &Silent)
        .await
        .unwrap();
    lax.pull(&target, &Platform::linux_amd64(), &store, &Silent)
        .await
        .unwrap();

    // A plain-HTTP registry on the same address: insecure falls back to HTTP.
    let plain_dir = tmp.path().join("plain");
    std::fs::create_dir(&plain_dir).unwrap();
    let plain_reg = start_on(&plain_dir, &ip, "").await;
    let target = r(&format!("{ip}:{}/plain/app:v1", plain_reg.port));
    let lax = RegistryClient::new(RegistryOptions {
        insecure: vec![ip.clone()],
        mirrors: vec![],
    })
    .unwrap();
    lax.push(&image, &blobs, std::slice::from_ref(&target), &Silent)
        .await
        .unwrap();
    let fresh = BlobStore::open(tmp.path().join("pulled-plain")).unwrap();
    lax.pull(&target, &Platform::linux_amd64(), &fresh, &Silent)
        .await
        .unwrap();
}
