//! Descriptors, manifests and indexes: the OCI image-spec's `descriptor.md`, `manifest.md` and
//! `image-index.md`, plus reading Docker's schema 2 manifest and manifest list (same shapes, other
//! media types). hoist writes OCI media types; it reads both.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::digest::Digest;
use super::platform::Platform;

pub mod media_type {
    pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
    pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
    pub const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
    pub const OCI_LAYER_TAR: &str = "application/vnd.oci.image.layer.v1.tar";
    pub const OCI_LAYER_GZIP: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
    pub const OCI_LAYER_ZSTD: &str = "application/vnd.oci.image.layer.v1.tar+zstd";
    pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
    pub const DOCKER_MANIFEST_LIST: &str =
        "application/vnd.docker.distribution.manifest.list.v2+json";
    pub const DOCKER_CONFIG: &str = "application/vnd.docker.container.image.v1+json";
    pub const DOCKER_LAYER_GZIP: &str = "application/vnd.docker.image.rootfs.diff.tar.gzip";
    pub const DOCKER_LAYER_FOREIGN: &str =
        "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip";

    /// The `Accept` list for manifest requests: everything hoist can read.
    pub const ACCEPT_MANIFESTS: &[&str] = &[
        OCI_MANIFEST,
        OCI_INDEX,
        DOCKER_MANIFEST,
        DOCKER_MANIFEST_LIST,
    ];

    pub fn is_index(mt: &str) -> bool {
        mt == OCI_INDEX || mt == DOCKER_MANIFEST_LIST
    }

    pub fn is_manifest(mt: &str) -> bool {
        mt == OCI_MANIFEST || mt == DOCKER_MANIFEST
    }
}

/// A content descriptor: what, how big, and its digest.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Descriptor {
    pub media_type: String,
    pub digest: Digest,
    pub size: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<Platform>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub urls: Vec<String>,
}

impl Descriptor {
    pub fn new(media_type: &str, digest: Digest, size: u64) -> Descriptor {
        Descriptor {
            media_type: media_type.to_string(),
            digest,
            size,
            platform: None,
            annotations: BTreeMap::new(),
            urls: Vec::new(),
        }
    }

    /// The descriptor of `bytes` as a blob of `media_type`.
    pub fn of_bytes(media_type: &str, bytes: &[u8]) -> Descriptor {
        Descriptor::new(media_type, Digest::of(bytes), bytes.len() as u64)
    }
}

/// An image manifest (OCI or Docker schema 2).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Manifest {
    pub schema_version: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    pub config: Descriptor,
    pub layers: Vec<Descriptor>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

/// An image index (OCI) or manifest list (Docker).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Index {
    pub schema_version: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    pub manifests: Vec<Descriptor>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

impl Index {
    pub fn new(manifests: Vec<Descriptor>) -> Index {
        Index {
            schema_version: 2,
            media_type: Some(media_type::OCI_INDEX.to_string()),
            manifests,
            annotations: BTreeMap::new(),
        }
    }

    /// The manifest for `platform`, or the platforms offered when there is none.
    pub fn select(&self, platform: &Platform) -> Result<&Descriptor, Vec<Platform>> {
        let offered = || {
            self.manifests
                .iter()
                .filter_map(|d| d.platform.clone())
                .filter(|p| p.os != "unknown")
                .collect::<Vec<_>>()
        };
        let normalized = |d: &Descriptor| {
            d.platform
                .as_ref()
                .map(|p| Platform::normalized(&p.os, &p.architecture, p.variant.as_deref()))
        };
        self.manifests
            .iter()
            .filter(|d| media_type::is_manifest(&d.media_type))
            .find(|d| normalized(d).is_some_and(|p| p.satisfies(platform)))
            .ok_or_else(offered)
    }
}

/// Either shape a registry may answer a manifest request with.
#[derive(Clone, Debug)]
pub enum AnyManifest {
    Image(Manifest),
    Index(Index),
}

#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    #[error("the manifest is not valid JSON of a known kind: {0}")]
    Json(#[from] serde_json::Error),
    #[error(
        "unsupported manifest media type `{0}`\nhint: hoist reads OCI and Docker schema 2 manifests and indexes"
    )]
    UnsupportedMediaType(String),
}

impl AnyManifest {
    /// Parses manifest bytes; `content_type` is the registry's Content-Type header when known.
    pub fn parse(bytes: &[u8], content_type: Option<&str>) -> Result<AnyManifest, ManifestError> {
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Probe {
            media_type: Option<String>,
            manifests: Option<serde_json::Value>,
            schema_version: Option<u32>,
        }
        let probe: Probe = serde_json::from_slice(bytes)?;
        let mt = probe
            .media_type
            .or_else(|| content_type.map(|c| c.split(';').next().unwrap_or(c).trim().to_string()))
            .unwrap_or_default();
        if media_type::is_index(&mt)
            || (mt.is_empty() || mt == "application/json") && probe.manifests.is_some()
        {
            return Ok(AnyManifest::Index(serde_json::from_slice(bytes)?));
        }
        if media_type::is_manifest(&mt) || mt.is_empty() || mt == "application/json" {
            return Ok(AnyManifest::Image(serde_json::from_slice(bytes)?));
        }
        if probe.schema_version == Some(1)
            || mt.contains("v1+prettyjws")
            || mt.contains("manifest.v1+json")
        {
            return Err(ManifestError::UnsupportedMediaType(format!(
                "{mt} (Docker schema 1)"
            )));
        }
        Err(ManifestError::UnsupportedMediaType(mt))
    }
}
