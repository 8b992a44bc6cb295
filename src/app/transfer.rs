//! `hoist copy` (and `hoist push oci:DIR REF`) and `hoist inspect`: an image as published, moved between
//! registries and OCI layouts without changing a byte, or described as JSON.

use std::sync::Arc;

use anyhow::Context as _;
use serde_json::json;

use super::source::{self, Reach};
use crate::cli::{CopyRequest, ImageSource, InspectRequest};
use crate::export::{Exported, Exporter, oci_layout::OciLayout};
use crate::image::{BlobStore, ImageConfig, Manifest, Reference};
use crate::progress::{Reporter, Silent};

fn blobs(cache_dir: &std::path::Path) -> anyhow::Result<BlobStore> {
    BlobStore::open(cache_dir.join("blobs"))
        .with_context(|| format!("cannot open the cache directory `{}`", cache_dir.display()))
}

/// Copies the source image to the destination; returns where it went.
pub async fn copy(req: &CopyRequest, reporter: Arc<dyn Reporter>) -> anyhow::Result<Exported> {
    let blobs = blobs(&req.cache_dir)?;
    let reach = Reach {
        insecure: req.insecure_registries.clone(),
        mirrors: req.mirrors.clone(),
        tls: req.tls.clone(),
    };
    let shared = source::shared_client(&reach, &req.source, &req.destination)?;
    let image = source::read_through(
        &req.source,
        &req.platform,
        &reach,
        shared.as_ref(),
        &blobs,
        reporter.as_ref(),
    )
    .await
    .with_context(|| format!("cannot read `{}` to copy it", req.source))?;
    let exported = match &req.destination {
        ImageSource::Registry(target) => {
            let client = match shared {
                Some(shared) => shared,
                None => source::client(&reach, target.registry())?,
            };
            let descriptor = client
                .push(
                    &image,
                    &blobs,
                    std::slice::from_ref(target),
                    reporter.as_ref(),
                )
                .await
                .with_context(|| format!("cannot push `{}` to `{target}`", req.source))?;
            Exported {
                destination: target.to_string(),
                descriptor,
                pushed: true,
            }
        }
        ImageSource::Layout { dir, tag } => {
            // A layout names its image by tag (and, for containerd, by a full name).
            let name: Reference = match (&req.source, tag) {
                (ImageSource::Registry(r), Some(t)) => format!("{}:{t}", r.name()).parse()?,
                (ImageSource::Registry(r), None) => r.clone(),
                (_, t) => {
                    format!("localhost/image:{}", t.as_deref().unwrap_or("latest")).parse()?
                }
            };
            let mut out = OciLayout::new(dir, &[name])
                .export(&image, &blobs, reporter.as_ref())
                .await?;
            out.remove(0)
        }
    };
    Ok(exported)
}

/// The JSON description of an image (or its manifest's bytes with `--raw`).
pub async fn inspect(req: &InspectRequest) -> anyhow::Result<String> {
    let blobs = blobs(&req.cache_dir)?;
    let reach = Reach {
        insecure: req.insecure_registries.clone(),
        mirrors: req.mirrors.clone(),
        tls: req.tls.clone(),
    };
    let image = source::read(&req.image, &req.platform, &reach, &blobs, &Silent)
        .await
        .with_context(|| format!("cannot read `{}` to inspect it", req.image))?;
    if req.raw {
        return Ok(String::from_utf8_lossy(&image.manifest_bytes).into_owned() + "\n");
    }
    let manifest: Manifest = serde_json::from_slice(&image.manifest_bytes)?;
    let config: ImageConfig = serde_json::from_slice(&image.config_bytes)?;
    let mut history = config.history.iter().filter(|h| !h.empty_layer);
    let layers: Vec<serde_json::Value> = manifest
        .layers
        .iter()
        .zip(config.rootfs.diff_ids.iter())
        .map(|(l, diff_id)| {
            json!({
                "digest": l.digest.to_string(),
                "mediaType": l.media_type,
                "size": l.size,
                "diff_id": diff_id.to_string(),
                "created_by": history.next().and_then(|h| h.created_by.clone()),
            })
        })
        .collect();
    let document = json!({
        "image": req.image.to_string(),
        "digest": image.manifest.digest.to_string(),
        "mediaType": image.manifest.media_type,
        "platform": config.platform().to_string(),
        "created": config.created,
        "config": config.config,
        "layers": layers,
    });
    Ok(serde_json::to_string_pretty(&document)? + "\n")
}
