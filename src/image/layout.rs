//! Reading an OCI image layout (image-spec `image-layout.md`): the `oci-layout` marker, `index.json`
//! whose entries are tagged by the `org.opencontainers.image.ref.name` annotation, and content-addressed
//! blobs under `blobs/sha256/`. An entry may be a manifest or an index (a multi-platform image); an
//! index is resolved to one platform. Blobs are copied into a [`BlobStore`], their digests checked on the
//! way, so that what is read afterwards is what the digests name.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use super::blobs::BlobError;
use super::manifest::{AnyManifest, Index};
use super::{
    BlobStore, Descriptor, Digest, Platform, Serialized, SerializedImage, SerializedIndex,
};

/// The file that marks a directory as a layout.
pub const LAYOUT_FILE: &str = "oci-layout";
/// The annotation that tags an `index.json` entry.
pub const REF_NAME: &str = "org.opencontainers.image.ref.name";

/// An OCI image layout on disk, its `index.json` read.
#[derive(Clone, Debug)]
pub struct Layout {
    dir: PathBuf,
    index: Index,
}

#[derive(Debug, thiserror::Error)]
pub enum LayoutError {
    #[error(
        "`{0}` is not an OCI image layout: it has no `oci-layout` file\nhint: give a directory that `hoist build --output oci:DIR`, `skopeo copy ... oci:DIR` or `umoci` wrote"
    )]
    NotALayout(PathBuf),
    #[error("cannot read `{path}`: {source}")]
    Io { path: PathBuf, source: io::Error },
    #[error(
        "`{path}` is not a valid {what}: {reason}\nhint: the layout is damaged; write or copy it again"
    )]
    Invalid {
        path: PathBuf,
        what: &'static str,
        reason: String,
    },
    #[error("the layout `{dir}` lists no image in its `index.json`")]
    Empty { dir: PathBuf },
    #[error(
        "the layout `{dir}` has no image tagged `{tag}`; its tags: {}\nhint: write `oci:{dir}:TAG` with one of them",
        list(.tags)
    )]
    NoTag {
        dir: PathBuf,
        tag: String,
        tags: Vec<String>,
    },
    #[error(
        "the layout `{dir}` holds several images: {}\nhint: name one: `oci:{dir}:TAG`",
        list(.tags)
    )]
    Ambiguous { dir: PathBuf, tags: Vec<String> },
    #[error(
        "`{image}` has no image for platform `{wanted}`; it offers: {}\nhint: pass `--platform` with one of the offered platforms",
        list(.offered)
    )]
    PlatformMissing {
        image: String,
        wanted: String,
        offered: Vec<String>,
    },
    #[error(
        "blob {digest} is missing from the layout `{dir}`\nhint: the layout is incomplete; write or copy it again"
    )]
    MissingBlob { dir: PathBuf, digest: Digest },
    #[error(
        "blob {digest} of the layout `{dir}` does not match its digest (its bytes hash to {actual})\nhint: the layout is corrupt; write or copy it again"
    )]
    Corrupt {
        dir: PathBuf,
        digest: Digest,
        actual: Digest,
    },
    #[error("cannot copy blob {digest} of the layout `{dir}` into the cache: {source}")]
    Store {
        dir: PathBuf,
        digest: Digest,
        source: BlobError,
    },
}

fn list(items: &[String]) -> String {
    if items.is_empty() {
        return "none".into();
    }
    items
        .iter()
        .map(|i| format!("`{i}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

impl Layout {
    /// Opens the layout at `dir`: its marker and `index.json`.
    pub fn open(dir: &Path) -> Result<Layout, LayoutError> {
        if !dir.join(LAYOUT_FILE).is_file() {
            return Err(LayoutError::NotALayout(dir.to_path_buf()));
        }
        let path = dir.join("index.json");
        let bytes = fs::read(&path).map_err(|source| LayoutError::Io {
            path: path.clone(),
            source,
        })?;
        let index = serde_json::from_slice(&bytes).map_err(|e| LayoutError::Invalid {
            path,
            what: "image index",
            reason: e.to_string(),
        })?;
        Ok(Layout {
            dir: dir.to_path_buf(),
            index,
        })
    }

    /// The tags of `index.json`, in order, each once.
    pub fn tags(&self) -> Vec<String> {
        let mut tags: Vec<String> = Vec::new();
        for tag in self
            .index
            .manifests
            .iter()
            .filter_map(|d| d.annotations.get(REF_NAME))
        {
            if !tags.contains(tag) {
                tags.push(tag.clone());
            }
        }
        tags
    }

    /// The image tagged `tag` (the only image when `tag` is `None`) for `platform`: its blobs copied
    /// into `store` (digests checked), its manifest and config bytes as the layout holds them. An image
    /// whose config names another platform is returned as it is: judging it is the caller's business.
    pub fn image(
        &self,
        tag: Option<&str>,
        platform: &Platform,
        store: &BlobStore,
    ) -> Result<SerializedImage, LayoutError> {
        let (descriptor, manifest_bytes) = self.manifest(tag, platform)?;
        self.image_of(&descriptor, manifest_bytes, store)
    }

    /// What `tag` names as published: with `all`, a whole index (its bytes unchanged, every image it
    /// lists, their blobs copied into `store`); else, or when `tag` names one image, the image for
    /// `platform` as [`Layout::image`] returns it.
    pub fn published(
        &self,
        tag: Option<&str>,
        platform: &Platform,
        all: bool,
        store: &BlobStore,
    ) -> Result<Serialized, LayoutError> {
        let tagged: Vec<&Descriptor> = self
            .index
            .manifests
            .iter()
            .filter(|d| tag.is_none_or(|t| d.annotations.get(REF_NAME).is_some_and(|r| r == t)))
            .collect();
        let top = match tagged.as_slice() {
            [one] if all && (tag.is_some() || self.tags().len() <= 1) => (*one).clone(),
            _ => return self.image(tag, platform, store).map(Serialized::Image),
        };
        let bytes = self.read(&top.digest)?;
        let index = match AnyManifest::parse(&bytes, Some(&top.media_type)) {
            Ok(AnyManifest::Index(index)) => index,
            Ok(AnyManifest::Image(_)) | Err(_) => {
                return self.image_of(&top, bytes, store).map(Serialized::Image);
            }
        };
        let images = index
            .manifests
            .iter()
            .map(|entry| {
                let bytes = self.read(&entry.digest)?;
                self.image_of(entry, bytes, store)
            })
            .collect::<Result<Vec<_>, _>>()?;
        let mut descriptor = top;
        descriptor.annotations.clear();
        Ok(Serialized::Index(SerializedIndex {
            descriptor,
            bytes,
            images,
        }))
    }

    /// The image whose manifest is `manifest_bytes` (described by `descriptor`), its blobs copied
    /// into `store`.
    fn image_of(
        &self,
        descriptor: &Descriptor,
        manifest_bytes: Vec<u8>,
        store: &BlobStore,
    ) -> Result<SerializedImage, LayoutError> {
        let manifest = match AnyManifest::parse(&manifest_bytes, Some(&descriptor.media_type)) {
            Ok(AnyManifest::Image(m)) => m,
            Ok(AnyManifest::Index(_)) => {
                return Err(self.invalid(
                    &descriptor.digest,
                    "image manifest",
                    "an index entry points at another index".into(),
                ));
            }
            Err(e) => {
                return Err(self.invalid(&descriptor.digest, "image manifest", e.to_string()));
            }
        };
        self.import(&manifest.config.digest, store)?;
        for layer in &manifest.layers {
            self.import(&layer.digest, store)?;
        }
        let config_bytes =
            store
                .read(&manifest.config.digest)
                .map_err(|source| LayoutError::Store {
                    dir: self.dir.clone(),
                    digest: manifest.config.digest.clone(),
                    source,
                })?;
        SerializedImage::from_raw(manifest_bytes, config_bytes)
            .map_err(|e| self.invalid(&descriptor.digest, "image", e.to_string()))
    }

    /// The manifest of `tag` for `platform`: its descriptor and bytes (digest checked).
    fn manifest(
        &self,
        tag: Option<&str>,
        platform: &Platform,
    ) -> Result<(Descriptor, Vec<u8>), LayoutError> {
        let tagged = |d: &&Descriptor| {
            tag.is_none_or(|t| d.annotations.get(REF_NAME).is_some_and(|r| r == t))
        };
        let candidates: Vec<Descriptor> = self
            .index
            .manifests
            .iter()
            .filter(tagged)
            .cloned()
            .collect();
        let name = match tag {
            Some(t) => format!("oci:{}:{t}", self.dir.display()),
            None => format!("oci:{}", self.dir.display()),
        };
        match (candidates.len(), tag) {
            (0, Some(t)) => {
                return Err(LayoutError::NoTag {
                    dir: self.dir.clone(),
                    tag: t.to_string(),
                    tags: self.tags(),
                });
            }
            (0, None) => {
                return Err(LayoutError::Empty {
                    dir: self.dir.clone(),
                });
            }
            (_, None) if self.tags().len() > 1 => {
                return Err(LayoutError::Ambiguous {
                    dir: self.dir.clone(),
                    tags: self.tags(),
                });
            }
            _ => {}
        }
        // One entry, or several under one tag (one per platform, as some tools write them).
        let mut chosen = if candidates.len() == 1 {
            candidates[0].clone()
        } else {
            self.select(&Index::new(candidates), platform, &name)?
        };
        let mut bytes = self.read(&chosen.digest)?;
        // An index (a multi-platform image): one level down, for `platform`.
        if let Ok(AnyManifest::Index(index)) = AnyManifest::parse(&bytes, Some(&chosen.media_type))
        {
            chosen = self.select(&index, platform, &name)?;
            bytes = self.read(&chosen.digest)?;
        }
        Ok((chosen, bytes))
    }

    fn select(
        &self,
        index: &Index,
        platform: &Platform,
        name: &str,
    ) -> Result<Descriptor, LayoutError> {
        index
            .select(platform)
            .cloned()
            .map_err(|offered| LayoutError::PlatformMissing {
                image: name.to_string(),
                wanted: platform.to_string(),
                offered: offered.iter().map(ToString::to_string).collect(),
            })
    }

    fn blob_path(&self, digest: &Digest) -> PathBuf {
        self.dir.join("blobs").join("sha256").join(digest.hex())
    }

    /// A small blob (a manifest, an index), its digest checked.
    fn read(&self, digest: &Digest) -> Result<Vec<u8>, LayoutError> {
        let path = self.blob_path(digest);
        let bytes = fs::read(&path).map_err(|source| match source.kind() {
            io::ErrorKind::NotFound => LayoutError::MissingBlob {
                dir: self.dir.clone(),
                digest: digest.clone(),
            },
            _ => LayoutError::Io { path, source },
        })?;
        let actual = Digest::of(&bytes);
        if actual != *digest {
            return Err(LayoutError::Corrupt {
                dir: self.dir.clone(),
                digest: digest.clone(),
                actual,
            });
        }
        Ok(bytes)
    }

    /// Copies a blob into `store` unless it is there, checking its digest on the way.
    fn import(&self, digest: &Digest, store: &BlobStore) -> Result<(), LayoutError> {
        if store.reuse(digest) {
            return Ok(());
        }
        let path = self.blob_path(digest);
        let mut file = fs::File::open(&path).map_err(|source| match source.kind() {
            io::ErrorKind::NotFound => LayoutError::MissingBlob {
                dir: self.dir.clone(),
                digest: digest.clone(),
            },
            _ => LayoutError::Io {
                path: path.clone(),
                source,
            },
        })?;
        let store_error = |source| LayoutError::Store {
            dir: self.dir.clone(),
            digest: digest.clone(),
            source,
        };
        let mut writer = store.writer().map_err(store_error)?;
        io::copy(&mut file, &mut writer).map_err(|source| LayoutError::Io { path, source })?;
        match writer.commit(Some(digest)) {
            Ok(_) => Ok(()),
            Err(BlobError::DigestMismatch { actual, .. }) => Err(LayoutError::Corrupt {
                dir: self.dir.clone(),
                digest: digest.clone(),
                actual,
            }),
            Err(e) => Err(store_error(e)),
        }
    }

    fn invalid(&self, digest: &Digest, what: &'static str, reason: String) -> LayoutError {
        LayoutError::Invalid {
            path: self.blob_path(digest),
            what,
            reason,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image::{History, Image, Layer, media_type};

    /// A layout at `dir` with one image per `(tag, platform)`, written by hand; returns its blob store.
    fn layout(dir: &Path, images: &[(&str, &str)], nested: Option<&str>) -> BlobStore {
        let store = BlobStore::open(dir.join("blobs")).unwrap();
        let mut entries = Vec::new();
        for (tag, platform) in images {
            let platform: Platform = platform.parse().unwrap();
            let tar = format!("layer of {platform}");
            let digest = store.put(tar.as_bytes()).unwrap();
            let layer = Layer {
                descriptor: Descriptor::new(media_type::OCI_LAYER_TAR, digest, tar.len() as u64),
                diff_id: Digest::of(tar.as_bytes()),
            };
            let image = Image::empty(&platform)
                .with_layer(layer, History::default())
                .serialize();
            store.put(&image.config_bytes).unwrap();
            store.put(&image.manifest_bytes).unwrap();
            let mut d = image.manifest.clone();
            if nested.is_none() {
                d.annotations.insert(REF_NAME.into(), tag.to_string());
            }
            entries.push(d);
        }
        if let Some(tag) = nested {
            let index = serde_json::to_vec(&Index::new(entries)).unwrap();
            let mut d = Descriptor::of_bytes(media_type::OCI_INDEX, &index);
            store.put(&index).unwrap();
            d.annotations.insert(REF_NAME.into(), tag.to_string());
            entries = vec![d];
        }
        fs::write(
            dir.join("index.json"),
            serde_json::to_vec(&Index::new(entries)).unwrap(),
        )
        .unwrap();
        fs::write(dir.join(LAYOUT_FILE), br#"{"imageLayoutVersion":"1.0.0"}"#).unwrap();
        fs::remove_dir_all(dir.join("blobs/tmp")).unwrap();
        store
    }

    fn store() -> (tempfile::TempDir, BlobStore) {
        let dir = tempfile::tempdir().unwrap();
        let store = BlobStore::open(dir.path()).unwrap();
        (dir, store)
    }

    #[test]
    fn reads_a_tagged_image_and_copies_its_blobs() {
        let dir = tempfile::tempdir().unwrap();
        layout(
            dir.path(),
            &[("v1", "linux/amd64"), ("v2", "linux/arm64")],
            None,
        );
        let l = Layout::open(dir.path()).unwrap();
        assert_eq!(l.tags(), ["v1", "v2"]);
        let (_keep, cache) = store();
        let arm64: Platform = "linux/arm64".parse().unwrap();
        // A single-platform entry is returned whatever its platform: the caller judges it.
        let image = l
            .image(Some("v2"), &Platform::linux_amd64(), &cache)
            .unwrap();
        assert_eq!(image.manifest.platform, Some(arm64));
        for layer in &image.layers {
            assert!(cache.contains(&layer.descriptor.digest));
        }
        let err = l
            .image(Some("v3"), &Platform::linux_amd64(), &cache)
            .unwrap_err();
        assert!(
            err.to_string()
                .contains("no image tagged `v3`; its tags: `v1`, `v2`"),
            "{err}"
        );
        let err = l.image(None, &Platform::linux_amd64(), &cache).unwrap_err();
        assert!(matches!(err, LayoutError::Ambiguous { .. }), "{err}");
    }

    #[test]
    fn resolves_an_index_to_the_platform_or_lists_the_offered_ones() {
        let dir = tempfile::tempdir().unwrap();
        layout(
            dir.path(),
            &[("", "linux/amd64"), ("", "linux/arm64")],
            Some("multi"),
        );
        let l = Layout::open(dir.path()).unwrap();
        let (_keep, cache) = store();
        let arm64: Platform = "linux/arm64/v8".parse().unwrap();
        let image = l.image(None, &arm64, &cache).unwrap();
        assert_eq!(image.manifest.platform, Some(arm64));
        let image = l
            .image(Some("multi"), &Platform::linux_amd64(), &cache)
            .unwrap();
        assert_eq!(image.manifest.platform, Some(Platform::linux_amd64()));
        let s390x: Platform = "linux/s390x".parse().unwrap();
        let err = l.image(None, &s390x, &cache).unwrap_err().to_string();
        assert!(err.contains("no image for platform `linux/s390x`"), "{err}");
        assert!(err.contains("`linux/amd64`, `linux/arm64`"), "{err}");
    }

    #[test]
    fn refuses_what_is_not_a_layout_and_corrupt_blobs() {
        let dir = tempfile::tempdir().unwrap();
        let err = Layout::open(dir.path()).unwrap_err();
        assert!(err.to_string().contains("no `oci-layout` file"), "{err}");
        let store = layout(dir.path(), &[("v1", "linux/amd64")], None);
        let l = Layout::open(dir.path()).unwrap();
        let layer = Digest::of(b"layer of linux/amd64");
        fs::write(store.path(&layer), b"tampered").unwrap();
        let (_keep, cache) = self::store();
        let err = l
            .image(Some("v1"), &Platform::linux_amd64(), &cache)
            .unwrap_err();
        assert!(matches!(err, LayoutError::Corrupt { .. }), "{err}");
        assert!(!cache.contains(&layer));
    }
}
