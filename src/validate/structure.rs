//! Structural validation (OCI image-spec `manifest.md`, `config.md`, `descriptor.md`): the manifest's
//! config descriptor names the config bytes, every layer blob is present with its declared size, the
//! config lists one diff_id per layer, and the config's platform is the target platform. Layers are not
//! re-hashed: their digests were computed while they were written, or checked when they were pulled.

use super::Origin;
use super::finding::{Finding, Kind, LayerRef};
use crate::image::{BlobStore, Digest, ImageConfig, Manifest, Platform, SerializedImage};

/// Every violation found.
pub fn check(
    image: &SerializedImage,
    blobs: &BlobStore,
    platform: &Platform,
    origin: Origin,
) -> Vec<Finding> {
    let mut out = Vec::new();
    // An inconsistency between the image's own parts: hoist's fault when hoist built it.
    let broken = |what: String, layer: Option<LayerRef>| {
        let (why, hint) = match origin {
            Origin::Build => ("this is a bug in hoist", "please report it"),
            Origin::Existing => (
                "registries and runtimes may refuse the image",
                "rebuild or re-push the image with the tool that made it, and report the inconsistency to that tool",
            ),
        };
        Finding {
            kind: Kind::Structure,
            path: None,
            message: format!("{what}; {why}"),
            layer,
            hint: hint.to_string(),
        }
    };
    let layer_ref = |i: usize| {
        image.layers.get(i).map(|l| LayerRef {
            index: i + 1,
            digest: l.descriptor.digest.to_string(),
            created_by: None,
        })
    };
    let config_digest = Digest::of(&image.config_bytes);
    if image.config.digest != config_digest {
        out.push(broken(
            format!(
                "the config descriptor names {} but the config bytes hash to {config_digest}",
                image.config.digest
            ),
            None,
        ));
    }
    if image.config.size != image.config_bytes.len() as u64 {
        out.push(broken(
            format!(
                "the config descriptor says {} bytes but the config is {} bytes",
                image.config.size,
                image.config_bytes.len()
            ),
            None,
        ));
    }
    if Digest::of(&image.manifest_bytes) != image.manifest.digest {
        out.push(broken(
            "the manifest descriptor does not match the manifest bytes".into(),
            None,
        ));
    }
    match serde_json::from_slice::<Manifest>(&image.manifest_bytes) {
        Ok(m) => {
            if m.config.digest != image.config.digest {
                out.push(broken(
                    format!(
                        "the manifest names config {} but the image's config is {}",
                        m.config.digest, image.config.digest
                    ),
                    None,
                ));
            }
            let listed: Vec<_> = m.layers.iter().map(|d| &d.digest).collect();
            let held: Vec<_> = image.layers.iter().map(|l| &l.descriptor.digest).collect();
            if listed != held {
                out.push(broken(
                    "the manifest's layers differ from the image's layers".into(),
                    None,
                ));
            }
        }
        Err(e) => out.push(broken(
            format!("the manifest is not valid JSON ({e})"),
            None,
        )),
    }
    for (i, layer) in image.layers.iter().enumerate() {
        let d = &layer.descriptor;
        let (message, hint) = match std::fs::metadata(blobs.path(&d.digest)) {
            Ok(m) if m.len() == d.size => continue,
            Ok(m) => (
                format!(
                    "layer {} ({}) is {} bytes in the blob store but its descriptor says {}; the cache may be corrupt",
                    i + 1,
                    d.digest,
                    m.len(),
                    d.size
                ),
                "remove the cache directory and try again",
            ),
            Err(_) => (
                format!(
                    "layer {} ({}) is missing from the blob store `{}`; the cache may have been cleaned meanwhile",
                    i + 1,
                    d.digest,
                    blobs.root().display()
                ),
                "try again",
            ),
        };
        out.push(Finding {
            kind: Kind::Structure,
            path: None,
            message,
            layer: layer_ref(i),
            hint: hint.into(),
        });
    }
    match serde_json::from_slice::<ImageConfig>(&image.config_bytes) {
        Ok(config) => {
            let diff_ids = config.rootfs.diff_ids.len();
            if diff_ids != image.layers.len() {
                out.push(broken(
                    format!(
                        "the config lists {diff_ids} diff_ids but the image has {} layers",
                        image.layers.len()
                    ),
                    None,
                ));
            }
            for (i, (layer, diff_id)) in
                image.layers.iter().zip(&config.rootfs.diff_ids).enumerate()
            {
                if layer.diff_id != *diff_id {
                    out.push(broken(
                        format!(
                            "layer {} has diff_id {} but the config lists {diff_id}",
                            i + 1,
                            layer.diff_id
                        ),
                        layer_ref(i),
                    ));
                }
            }
            let actual = config.platform();
            let wanted = Platform::normalized(
                &platform.os,
                &platform.architecture,
                platform.variant.as_deref(),
            );
            if actual != wanted {
                let (target, hint) = match origin {
                    Origin::Build => (
                        "the build targets",
                        format!("use a base image for `{wanted}`, or pass `--platform {actual}`"),
                    ),
                    Origin::Existing => (
                        "it is checked for",
                        format!(
                            "rebuild the image for `{wanted}`, or validate it with `--platform {actual}` if that is the platform it is meant for"
                        ),
                    ),
                };
                out.push(Finding {
                    kind: Kind::Structure,
                    path: None,
                    message: format!(
                        "the image config says platform `{actual}` but {target} `{wanted}`; a runtime on `{wanted}` would pull an image for the wrong machine"
                    ),
                    layer: None,
                    hint,
                });
            }
        }
        Err(e) => out.push(broken(format!("the config is not valid JSON ({e})"), None)),
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image::{Descriptor, History, Image, Layer, media_type};

    fn image_with_layer(store: &BlobStore, platform: &Platform) -> SerializedImage {
        let digest = store.put(b"layer bytes").unwrap();
        let layer = Layer {
            descriptor: Descriptor::new(media_type::OCI_LAYER_GZIP, digest, 11),
            diff_id: Digest::of(b"tar"),
        };
        Image::empty(platform)
            .with_layer(layer, History::default())
            .serialize()
    }

    #[test]
    fn a_good_image_passes() {
        let dir = tempfile::tempdir().unwrap();
        let store = BlobStore::open(dir.path()).unwrap();
        let img = image_with_layer(&store, &Platform::linux_amd64());
        assert!(check(&img, &store, &Platform::linux_amd64(), Origin::Build).is_empty());
    }

    #[test]
    fn collects_every_violation() {
        let dir = tempfile::tempdir().unwrap();
        let store = BlobStore::open(dir.path()).unwrap();
        let mut img = image_with_layer(&store, &Platform::linux_amd64());
        img.config.size += 1;
        img.layers[0].descriptor.size = 99;
        img.layers.push(Layer {
            descriptor: Descriptor::new(media_type::OCI_LAYER_GZIP, Digest::of(b"absent"), 6),
            diff_id: Digest::of(b"x"),
        });
        let arm64: Platform = "linux/arm64".parse().unwrap();
        let v = check(&img, &store, &arm64, Origin::Build);
        let all = v
            .iter()
            .map(|f| f.to_string())
            .collect::<Vec<_>>()
            .join("\n");
        assert!(all.contains("config descriptor says"), "{all}");
        assert!(all.contains("descriptor says 99"), "{all}");
        assert!(all.contains("missing from the blob store"), "{all}");
        assert!(
            all.contains("1 diff_ids but the image has 2 layers"),
            "{all}"
        );
        assert!(
            all.contains("`linux/amd64` but the build targets `linux/arm64`"),
            "{all}"
        );
        assert!(crate::validate::image(&img, &store, &arm64).is_err());
    }
}
