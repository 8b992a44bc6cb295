//! Target platforms: `os/architecture[/variant]`, as in the OCI image-spec's image index (`platform`
//! object, image-index.md) and the `--platform` flag of `docker build`.
//!
//! Parsing normalises the aliases Docker accepts (`x86_64` → `amd64`, `aarch64` → `arm64`,
//! `arm64/v8` → `arm64`) so that comparisons are exact.

use std::fmt;
use std::str::FromStr;

#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
pub struct Platform {
    pub os: String,
    pub architecture: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error(
    "`{0}` is not a platform\nhint: write `os/arch[/variant]`, for example `linux/amd64` or `linux/arm64`"
)]
pub struct PlatformError(pub String);

impl Platform {
    pub fn linux_amd64() -> Platform {
        Platform {
            os: "linux".into(),
            architecture: "amd64".into(),
            variant: None,
        }
    }

    /// The platform of this machine, as BuildKit's `BUILDPLATFORM` names it.
    pub fn host() -> Platform {
        Platform::normalized("linux", std::env::consts::ARCH, None)
    }

    /// Normalises a platform as read from a manifest or config.
    pub fn normalized(os: &str, architecture: &str, variant: Option<&str>) -> Platform {
        let os = os.to_ascii_lowercase();
        let (architecture, variant) = match (architecture.to_ascii_lowercase().as_str(), variant) {
            ("x86_64" | "x86-64", _) => ("amd64".to_string(), None),
            ("aarch64", v) | ("arm64", v) => (
                "arm64".to_string(),
                v.filter(|v| *v != "v8").map(str::to_string),
            ),
            ("armhf", _) => ("arm".to_string(), Some("v7".to_string())),
            ("armel", _) => ("arm".to_string(), Some("v6".to_string())),
            ("i386" | "i686", _) => ("386".to_string(), None),
            (a, v) => (
                a.to_string(),
                v.filter(|v| !v.is_empty()).map(str::to_string),
            ),
        };
        Platform {
            os,
            architecture,
            variant,
        }
    }

    /// True when an image for `self` can be used for `wanted` (variants must match when `wanted` names one).
    pub fn satisfies(&self, wanted: &Platform) -> bool {
        self.os == wanted.os
            && self.architecture == wanted.architecture
            && (wanted.variant.is_none()
                || self.variant == wanted.variant
                || (self.variant.is_none()
                    && wanted.architecture == "arm"
                    && wanted.variant.as_deref() == Some("v7")))
    }
}

impl FromStr for Platform {
    type Err = PlatformError;

    fn from_str(s: &str) -> Result<Platform, PlatformError> {
        let parts: Vec<&str> = s.split('/').collect();
        let ok = |p: &str| {
            !p.is_empty()
                && p.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        };
        match parts.as_slice() {
            [os, arch] if ok(os) && ok(arch) => Ok(Platform::normalized(os, arch, None)),
            [os, arch, variant] if ok(os) && ok(arch) && ok(variant) => {
                Ok(Platform::normalized(os, arch, Some(variant)))
            }
            _ => Err(PlatformError(s.to_string())),
        }
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.os, self.architecture)?;
        if let Some(v) = &self.variant {
            write!(f, "/{v}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_normalises() {
        assert_eq!(
            "linux/amd64".parse::<Platform>().unwrap(),
            Platform::linux_amd64()
        );
        assert_eq!(
            "linux/x86_64".parse::<Platform>().unwrap(),
            Platform::linux_amd64()
        );
        assert_eq!(
            "linux/arm64/v8".parse::<Platform>().unwrap().to_string(),
            "linux/arm64"
        );
        assert_eq!(
            "linux/arm/v7".parse::<Platform>().unwrap().to_string(),
            "linux/arm/v7"
        );
        assert!("linux".parse::<Platform>().is_err());
        assert!("linux/amd64/v2/x".parse::<Platform>().is_err());
    }
}
