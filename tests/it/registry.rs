//! hoist's registry client (distribution-spec pull and push, token and basic auth, insecure hosts)
//! against a real `docker-registry`: seeded with the busybox fixture by skopeo, pulled and pushed through
//! the library API, and read back with skopeo.

use std::path::Path;

use hoist::image::{
    BlobStore, Descriptor, Digest, History, Image, Index, Layer, Platform, Reference,
    SerializedImage, media_type,
};
use hoist::progress::{Event, Recorder, Silent};
use hoist::registry::{RegistryClient, RegistryError, RegistryOptions};

use crate::support::tools::{layout_manifest, read_blob};
use crate::support::{Inspect, Registry, busybox_layout, seed_busybox, skopeo_inspect};

fn r(s: &str) -> Reference {
    s.parse().unwrap_or_else(|e| panic!("reference {s:?}: {e}"))
}

/// The events a recorder holds, for assertions.
fn events(recorder: &Recorder) -> Vec<Event> {
    recorder.0.lock().unwrap().clone()
}

fn downloads_or_uploads(events: &[Event]) -> bool {
    events.iter().any(|e| matches!(e, Event::Blob { .. }))
}

/// A one-layer linux/amd64 image (a gzip tar holding `hello.txt`) in a blob store under `root`, built
/// with hoist's image API.
fn sample_image(root: &Path) -> (SerializedImage, BlobStore) {
    use std::io::Write as _;
    let blobs = BlobStore::open(root.join("store")).unwrap();
    let mut tar = tar::Builder::new(Vec::new());
    let mut header = tar::Header::new_gnu();
    header.set_size(6);
    header.set_mode(0o644);
    header.set_cksum();
    tar.append_data(&mut header, "hello.txt", &b"hello\n"[..])
        .unwrap();
    let tar = tar.into_inner().unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&tar).unwrap();
    let gz = gz.finish().unwrap();
    let digest = blobs.put(&gz).unwrap();
    let layer = Layer {
        descriptor: Descriptor::new(media_type::OCI_LAYER_GZIP, digest, gz.len() as u64),
        diff_id: Digest::of(&tar),
    };
    let image = Image::empty(&Platform::linux_amd64()).with_layer(layer, History::default());
    (image.serialize(), blobs)
}

/// The busybox fixture's layer digest and diff-id, read from its OCI layout (not through hoist).
fn busybox_layer() -> (String, String) {
    let layout = busybox_layout();
    let manifest = layout_manifest(&layout, Some("latest"));
    let config: serde_json::Value = serde_json::from_slice(&read_blob(
        &layout,
        manifest["config"]["digest"].as_str().unwrap(),
    ))
    .unwrap();
    (
        manifest["layers"][0]["digest"]
            .as_str()
            .unwrap()
            .to_string(),
        config["rootfs"]["diff_ids"][0]
            .as_str()
            .unwrap()
            .to_string(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pull_push_round_trip() {
    let reg = Registry::start();
    let host = reg.host();
    let seeded = r(&seed_busybox(&reg));
    let (layer_digest, diff_id) = busybox_layer();
    let tmp = tempfile::tempdir().unwrap();

    // Pull into a fresh store, then again: the second pull downloads nothing.
    let client = RegistryClient::new(RegistryOptions::default()).unwrap();
    let store = BlobStore::open(tmp.path().join("store")).unwrap();
    let amd64 = Platform::linux_amd64();
    let recorder = Recorder::default();
    let pulled = client
        .pull(&seeded, &amd64, &store, &recorder)
        .await
        .unwrap();
    assert_eq!(pulled.layers().len(), 1);
    assert_eq!(pulled.layers()[0].diff_id.to_string(), diff_id);
    assert_eq!(
        pulled.layers()[0].descriptor.digest.to_string(),
        layer_digest
    );
    assert!(store.contains(&pulled.layers()[0].descriptor.digest));
    assert!(downloads_or_uploads(&events(&recorder)));
    let recorder = Recorder::default();
    client
        .pull(&seeded, &amd64, &store, &recorder)
        .await
        .unwrap();
    let seen = events(&recorder);
    assert!(!downloads_or_uploads(&seen), "{seen:?}");

    // Through a mirror: docker.io/library/busybox → HOST/library/busybox.
    let mirrored = RegistryClient::new(RegistryOptions {
        insecure: vec![],
        mirrors: vec![("docker.io".into(), host.clone())],
        ..RegistryOptions::default()
    })
    .unwrap();
    let via_mirror = mirrored
        .pull(&r("busybox:latest"), &amd64, &store, &Silent)
        .await
        .unwrap();
    assert_eq!(via_mirror, pulled);

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
    // The layer came from `library/busybox` on the same registry: it is mounted, not uploaded.
    let seen = events(&recorder);
    assert!(
        seen.iter().any(|e| matches!(
            e,
            Event::BlobSkipped {
                reason: "mounted",
                ..
            }
        )),
        "{seen:?}"
    );
    // The config went up once, to `other/app`, and was mounted from there into `third`.
    let config = serialized.config.digest.to_string();
    let config_events: Vec<&Event> = seen
        .iter()
        .filter(|e| matches!(e, Event::Blob { digest, .. } | Event::BlobSkipped { digest, .. } if *digest == config))
        .collect();
    assert!(
        matches!(
            config_events.as_slice(),
            [
                Event::Blob { verb: "push", .. },
                Event::BlobSkipped {
                    reason: "mounted",
                    ..
                }
            ]
        ),
        "{config_events:?}"
    );
    assert_eq!(d.digest, serialized.manifest.digest);
    for t in ["other/app:v2", "third:v3"] {
        let info = skopeo_inspect(&format!("docker://{host}/{t}"), Inspect::Info);
        assert_eq!(
            info["Digest"].as_str(),
            Some(serialized.manifest.digest.to_string().as_str()),
            "{t}: {info}"
        );
        assert_eq!(info["Layers"][0].as_str(), Some(layer_digest.as_str()));
    }
    // A second push finds every blob there already.
    let recorder = Recorder::default();
    client
        .push(&serialized, &store, &targets[..1], &recorder)
        .await
        .unwrap();
    let seen = events(&recorder);
    assert!(!downloads_or_uploads(&seen), "{seen:?}");

    // An index: amd64 resolves; arm64 points at an amd64 image; s390x is not offered.
    let mut amd = serialized.manifest.clone();
    amd.platform = Some(amd64.clone());
    let mut arm: Descriptor = amd.clone();
    arm.platform = Some("linux/arm64".parse().unwrap());
    let index = serde_json::to_vec(&Index::new(vec![amd, arm])).unwrap();
    let resp = reqwest::Client::new()
        .put(format!("http://{host}/v2/other/app/manifests/multi"))
        .header("content-type", media_type::OCI_INDEX)
        .body(index)
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success(), "{}", resp.text().await.unwrap());
    let multi = r(&format!("{host}/other/app:multi"));
    let resolved = client.pull(&multi, &amd64, &store, &Silent).await.unwrap();
    assert_eq!(resolved, pulled);
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
            &r(&format!("{host}/library/busybox:nope")),
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
    let reg = Registry::start_with_token("s3cret-key");
    let host = reg.host();
    let tmp = tempfile::tempdir().unwrap();
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
