//! `hoist copy` (and `hoist push oci:DIR REF`) and `hoist inspect`: an image as published — or with
//! `--all-platforms` a whole index — moved between registries and OCI layouts without changing a byte
//! (distribution-spec push and pull, image-spec layout), or described as JSON.

use std::sync::Arc;

use anyhow::Context as _;
use serde_json::json;

use super::source;
use crate::cli::{CopyRequest, ImageSource, InspectRequest};
use crate::export::{Exported, Exporter, oci_layout::OciLayout};
use crate::image::{BlobStore, ImageConfig, Manifest, Reference, Serialized};
use crate::progress::{Reporter, Silent};

fn blobs(cache_dir: &std::path::Path) -> anyhow::Result<BlobStore> {
    BlobStore::open(crate::cache_dir::CacheDir::new(cache_dir).blobs())
        .with_context(|| format!("cannot open the cache directory `{}`", cache_dir.display()))
}

/// Copies the source image (or, with `--all-platforms`, the whole index) to the destination;
/// returns where it went.
pub async fn copy(req: &CopyRequest, reporter: Arc<dyn Reporter>) -> anyhow::Result<Exported> {
    let _cache = super::use_cache(&req.cache_dir, reporter.as_ref())?;
    let blobs = blobs(&req.cache_dir)?;
    let reach = &req.registries;
    // One client reads and pushes: blobs it pulled from a repository are mounted into another
    // repository of the same registry instead of going through here. HOIST_TOKEN goes to the
    // destination registry, or to the source when the destination is a layout.
    let client = match (&req.destination, &req.source) {
        (ImageSource::Registry(r), _) | (ImageSource::Layout { .. }, ImageSource::Registry(r)) => {
            Some(source::client(reach, r.registry())?)
        }
        (ImageSource::Layout { .. }, ImageSource::Layout { .. }) => None,
    };
    let published = source::read_published(
        &req.source,
        &req.platform,
        req.all_platforms,
        reach,
        client.as_ref(),
        &blobs,
        reporter.as_ref(),
    )
    .await
    .with_context(|| format!("cannot read `{}` to copy it", req.source))?;
    let exported = match (&req.destination, client) {
        (ImageSource::Registry(target), Some(client)) => {
            let targets = std::slice::from_ref(target);
            let descriptor = match &published {
                Serialized::Image(image) => {
                    client.push(image, &blobs, targets, reporter.as_ref()).await
                }
                Serialized::Index(index) => {
                    client
                        .push_index(index, &blobs, targets, reporter.as_ref())
                        .await
                }
            }
            .with_context(|| format!("cannot push `{}` to `{target}`", req.source))?;
            Exported {
                destination: target.to_string(),
                descriptor,
                pushed: true,
            }
        }
        (ImageSource::Registry(_), None) => unreachable!("a registry destination has a client"),
        (ImageSource::Layout { dir, tag }, _) => {
            // A layout names its image by tag (and, for containerd, by a full name).
            let name: Reference = match (&req.source, tag) {
                (ImageSource::Registry(r), Some(t)) => format!("{}:{t}", r.name()).parse()?,
                (ImageSource::Registry(r), None) => r.clone(),
                (_, t) => {
                    format!("localhost/image:{}", t.as_deref().unwrap_or("latest")).parse()?
                }
            };
            let layout = OciLayout::new(dir, &[name]);
            let mut out = match &published {
                Serialized::Image(image) => layout.export(image, &blobs, reporter.as_ref()).await?,
                Serialized::Index(index) => {
                    layout
                        .export_index(index, &blobs, reporter.as_ref())
                        .await?
                }
            };
            out.remove(0)
        }
    };
    Ok(exported)
}

/// The JSON description of an image (or its manifest's bytes with `--raw`).
pub async fn inspect(req: &InspectRequest) -> anyhow::Result<String> {
    // inspect reports no progress: a wait for a running prune is silent.
    let _cache = super::use_cache(&req.cache_dir, &Silent)?;
    let blobs = blobs(&req.cache_dir)?;
    let reach = &req.registries;
    let context = || format!("cannot read `{}` to inspect it", req.image);
    if req.raw {
        // The top manifest as stored: an index stays an index, as `skopeo inspect --raw` shows it.
        let bytes = match &req.image {
            ImageSource::Registry(reference) => {
                let client = source::client(reach, reference.registry())?;
                client
                    .manifest_raw(reference)
                    .await
                    .with_context(context)?
                    .0
            }
            ImageSource::Layout { .. } => {
                let (all, silent) = (true, &Silent);
                let published = source::read_published(
                    &req.image,
                    &req.platform,
                    all,
                    reach,
                    None,
                    &blobs,
                    silent,
                )
                .await
                .with_context(context)?;
                published.bytes().to_vec()
            }
        };
        return Ok(String::from_utf8_lossy(&bytes).into_owned() + "\n");
    }
    let image = source::read(&req.image, &req.platform, reach, &blobs, &Silent)
        .await
        .with_context(context)?;
    if req.config {
        return Ok(String::from_utf8_lossy(&image.config_bytes).into_owned() + "\n");
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
