//! The image model: immutable [`Image`] values and the content-addressed blobs they point at.
//!
//! Follows the OCI image-spec (manifest, config, layers, descriptors, index). An [`Image`] is a config plus
//! an ordered list of [`Layer`]s whose bytes live in a [`BlobStore`]; changes return a new value
//! (`with_layer`, `with_config`), and `FROM scratch` is simply [`Image::empty`]. Digests are computed once,
//! when a layer is written or a manifest is serialised. This module depends on nothing else in the crate.

pub mod blobs;
pub mod config;
pub mod digest;
pub mod layout;
pub mod manifest;
pub mod naming;
pub mod platform;
pub mod reference;
pub mod tap;

pub use blobs::BlobStore;
pub use config::{ContainerConfig, History, ImageConfig};
pub use digest::Digest;
pub use manifest::{Descriptor, Index, Manifest, media_type};
pub use naming::Naming;
pub use platform::Platform;
pub use reference::Reference;

/// A registry image as a build needs it: a reference pulled for one platform. The same reference
/// can be needed for two platforms (a stage `FROM --platform=$BUILDPLATFORM alpine` and a plain
/// `FROM alpine` in a build for another architecture): those are two images.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ImageKey {
    pub reference: Reference,
    pub platform: Platform,
}

impl ImageKey {
    pub fn new(reference: &Reference, platform: &Platform) -> ImageKey {
        ImageKey {
            reference: reference.clone(),
            platform: platform.clone(),
        }
    }
}

impl std::fmt::Display for ImageKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.reference, self.platform)
    }
}

/// Registry images resolved for a build, by the reference the build definition named and the
/// platform it was pulled for.
#[derive(Clone, Debug, Default)]
pub struct ImageSet(std::collections::BTreeMap<ImageKey, Image>);

impl ImageSet {
    pub fn new() -> ImageSet {
        ImageSet::default()
    }

    pub fn insert(&mut self, key: ImageKey, image: Image) {
        self.0.insert(key, image);
    }

    /// `reference` as pulled for `platform`.
    pub fn get(&self, reference: &Reference, platform: &Platform) -> Option<&Image> {
        self.0.get(&ImageKey::new(reference, platform))
    }

    pub fn contains(&self, key: &ImageKey) -> bool {
        self.0.contains_key(key)
    }
}

/// One filesystem layer: the compressed blob's descriptor and the digest of the uncompressed tar.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Layer {
    pub descriptor: Descriptor,
    pub diff_id: Digest,
}

/// An image: config and layers. Immutable; every change returns a new `Image`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Image {
    config: ImageConfig,
    layers: Vec<Layer>,
}

/// An image serialised for export: the exact bytes whose digests name it.
#[derive(Clone, Debug)]
pub struct SerializedImage {
    pub config_bytes: Vec<u8>,
    pub config: Descriptor,
    pub manifest_bytes: Vec<u8>,
    /// The manifest's descriptor (its digest is the image digest), with the platform filled in.
    pub manifest: Descriptor,
    pub layers: Vec<Layer>,
}

/// Images of one build for several platforms under an OCI image index (image-spec `image-index.md`):
/// the index's exact bytes, its descriptor, and the images it lists, in platform order.
#[derive(Clone, Debug)]
pub struct SerializedIndex {
    pub bytes: Vec<u8>,
    pub descriptor: Descriptor,
    pub images: Vec<SerializedImage>,
}

/// What a reference or layout tag names, as published: one image, or an index of images.
#[derive(Clone, Debug)]
pub enum Serialized {
    Image(SerializedImage),
    Index(SerializedIndex),
}

impl Serialized {
    /// The descriptor of the top manifest (the image's, or the index's).
    pub fn descriptor(&self) -> &Descriptor {
        match self {
            Serialized::Image(image) => &image.manifest,
            Serialized::Index(index) => &index.descriptor,
        }
    }

    /// The top manifest's bytes as stored.
    pub fn bytes(&self) -> &[u8] {
        match self {
            Serialized::Image(image) => &image.manifest_bytes,
            Serialized::Index(index) => &index.bytes,
        }
    }
}

impl SerializedIndex {
    pub fn new(images: Vec<SerializedImage>) -> SerializedIndex {
        let index = manifest::Index::new(images.iter().map(|i| i.manifest.clone()).collect());
        let bytes = serde_json::to_vec(&index).expect("index serialises");
        let descriptor = Descriptor::of_bytes(media_type::OCI_INDEX, &bytes);
        SerializedIndex {
            bytes,
            descriptor,
            images,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    #[error("the image config lists {diff_ids} diff_ids but the manifest has {layers} layers")]
    LayerCountMismatch { diff_ids: usize, layers: usize },
    #[error("the {what} is not valid JSON of an OCI or Docker {what}: {source}")]
    Json {
        what: &'static str,
        source: serde_json::Error,
    },
}

impl Image {
    /// The empty image for `platform`: no layers, an empty config. `FROM scratch`.
    pub fn empty(platform: &Platform) -> Image {
        Image {
            config: ImageConfig::empty(platform),
            layers: Vec::new(),
        }
    }

    /// An image read from elsewhere (a registry, a layout). `config.rootfs.diff_ids` must match `layers`.
    pub fn from_parts(config: ImageConfig, layers: Vec<Layer>) -> Result<Image, ImageError> {
        if config.rootfs.diff_ids.len() != layers.len() {
            return Err(ImageError::LayerCountMismatch {
                diff_ids: config.rootfs.diff_ids.len(),
                layers: layers.len(),
            });
        }
        Ok(Image { config, layers })
    }

    pub fn config(&self) -> &ImageConfig {
        &self.config
    }

    pub fn layers(&self) -> &[Layer] {
        &self.layers
    }

    pub fn platform(&self) -> Platform {
        self.config.platform()
    }

    /// A new image with `layer` on top and its history entry.
    pub fn with_layer(&self, layer: Layer, mut history: History) -> Image {
        let mut next = self.clone();
        history.empty_layer = false;
        next.config.rootfs.diff_ids.push(layer.diff_id.clone());
        next.config.history.push(history);
        next.layers.push(layer);
        next
    }

    /// A new image with a history entry that adds no layer.
    pub fn with_history(&self, mut history: History) -> Image {
        let mut next = self.clone();
        history.empty_layer = true;
        next.config.history.push(history);
        next
    }

    /// A new image whose runtime config is changed by `change`.
    pub fn with_config(&self, change: impl FnOnce(&mut ContainerConfig)) -> Image {
        let mut next = self.clone();
        change(&mut next.config.config);
        next
    }

    /// A new image with its whole config (author, runtime config) changed by `change`.
    pub fn with_image_config(&self, change: impl FnOnce(&mut ImageConfig)) -> Image {
        let mut next = self.clone();
        change(&mut next.config);
        next
    }

    /// A new image with `created` set (RFC 3339).
    pub fn with_created(&self, created: Option<String>) -> Image {
        let mut next = self.clone();
        next.config.created = created;
        next
    }

    /// A new image with the platform fields of the config set to `platform`.
    pub fn with_platform(&self, platform: &Platform) -> Image {
        let mut next = self.clone();
        next.config.os = platform.os.clone();
        next.config.architecture = platform.architecture.clone();
        next.config.variant = platform.variant.clone();
        next
    }

    /// Serialises config and OCI manifest. Docker layer media types become their OCI equivalents
    /// (same bytes); deterministic for equal images.
    pub fn serialize(&self) -> SerializedImage {
        let config_bytes = serde_json::to_vec(&self.config).expect("image config serialises");
        let config = Descriptor::of_bytes(media_type::OCI_CONFIG, &config_bytes);
        let layers: Vec<Layer> = self
            .layers
            .iter()
            .map(|l| {
                let mut descriptor = l.descriptor.clone();
                descriptor.media_type = oci_layer_media_type(&descriptor.media_type).to_string();
                Layer {
                    descriptor,
                    diff_id: l.diff_id.clone(),
                }
            })
            .collect();
        let manifest = Manifest {
            schema_version: 2,
            media_type: Some(media_type::OCI_MANIFEST.to_string()),
            config: config.clone(),
            layers: layers.iter().map(|l| l.descriptor.clone()).collect(),
            annotations: Default::default(),
        };
        let manifest_bytes = serde_json::to_vec(&manifest).expect("manifest serialises");
        let mut manifest = Descriptor::of_bytes(media_type::OCI_MANIFEST, &manifest_bytes);
        manifest.platform = Some(self.platform());
        SerializedImage {
            config_bytes,
            config,
            manifest_bytes,
            manifest,
            layers,
        }
    }
}

impl SerializedImage {
    /// An image as another tool wrote it: its manifest and config bytes, unchanged (so that their
    /// digests are the ones it was published under). The config's diff_ids must match the layers.
    pub fn from_raw(
        manifest_bytes: Vec<u8>,
        config_bytes: Vec<u8>,
    ) -> Result<SerializedImage, ImageError> {
        let json = |what| move |source| ImageError::Json { what, source };
        let manifest: Manifest =
            serde_json::from_slice(&manifest_bytes).map_err(json("manifest"))?;
        let config: ImageConfig = serde_json::from_slice(&config_bytes).map_err(json("config"))?;
        if config.rootfs.diff_ids.len() != manifest.layers.len() {
            return Err(ImageError::LayerCountMismatch {
                diff_ids: config.rootfs.diff_ids.len(),
                layers: manifest.layers.len(),
            });
        }
        let layers = manifest
            .layers
            .iter()
            .zip(&config.rootfs.diff_ids)
            .map(|(descriptor, diff_id)| Layer {
                descriptor: descriptor.clone(),
                diff_id: diff_id.clone(),
            })
            .collect();
        let media_type = manifest
            .media_type
            .as_deref()
            .unwrap_or(media_type::OCI_MANIFEST);
        let mut descriptor = Descriptor::of_bytes(media_type, &manifest_bytes);
        descriptor.platform = Some(config.platform());
        Ok(SerializedImage {
            config_bytes,
            config: manifest.config,
            manifest_bytes,
            manifest: descriptor,
            layers,
        })
    }
}

fn oci_layer_media_type(mt: &str) -> &str {
    match mt {
        media_type::DOCKER_LAYER_GZIP => media_type::OCI_LAYER_GZIP,
        media_type::DOCKER_LAYER_FOREIGN => {
            "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip"
        }
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scratch_is_empty_and_changes_return_new_values() {
        let empty = Image::empty(&Platform::linux_amd64());
        assert!(empty.layers().is_empty());
        let layer = Layer {
            descriptor: Descriptor::new(media_type::OCI_LAYER_GZIP, Digest::of(b"gz"), 2),
            diff_id: Digest::of(b"tar"),
        };
        let one = empty.with_layer(
            layer,
            History {
                created_by: Some("COPY a b".into()),
                ..Default::default()
            },
        );
        assert!(empty.layers().is_empty());
        assert_eq!(one.config().rootfs.diff_ids, vec![Digest::of(b"tar")]);
        let a = one.serialize();
        let b = one.clone().serialize();
        assert_eq!(a.manifest.digest, b.manifest.digest);
        assert_eq!(a.manifest.platform, Some(Platform::linux_amd64()));
    }
}
