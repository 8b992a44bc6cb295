//! Image references: `[registry/]repository[:tag][@digest]`, following the distribution project's
//! reference grammar (distribution/reference `regexp.go`, `normalize.go`).
//!
//! Parsing normalises Docker Hub names the way `docker pull` does: `busybox` is
//! `docker.io/library/busybox:latest`, `index.docker.io` is `docker.io`. A [`Reference`] always names a
//! registry and a repository, and at least one of tag and digest (a missing tag means `latest`).

use std::fmt;
use std::str::FromStr;

use super::digest::Digest;

pub const DOCKER_HUB: &str = "docker.io";

/// True for the host names Docker Hub goes by in references and credential stores: `docker.io`,
/// `index.docker.io` (what `docker login` records, as `https://index.docker.io/v1/`) and
/// `registry-1.docker.io` (its API host).
pub fn is_docker_hub(host: &str) -> bool {
    matches!(
        host,
        DOCKER_HUB | "index.docker.io" | "registry-1.docker.io"
    )
}
const MAX_NAME: usize = 255;
const MAX_TAG: usize = 128;

/// A parsed, normalised image reference.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Reference {
    registry: String,
    repository: String,
    tag: Option<String>,
    digest: Option<Digest>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ReferenceError {
    #[error(
        "`{0}` is not an image reference: it is empty\nhint: write a reference like `registry.example.com/team/app:v1`"
    )]
    Empty(String),
    #[error(
        "`{input}` is not a valid image reference: repository names must be lowercase (`{part}`)\nhint: use `{suggestion}`"
    )]
    Uppercase {
        input: String,
        part: String,
        suggestion: String,
    },
    #[error(
        "`{input}` is not a valid image reference: `{part}` is not a valid repository path component\nhint: components are lowercase letters and digits, separated by `.`, `_`, `__` or `-`"
    )]
    BadComponent { input: String, part: String },
    #[error(
        "`{input}` is not a valid image reference: tag `{tag}` is invalid\nhint: a tag is up to 128 letters, digits, `_`, `.` and `-`, not starting with `.` or `-`"
    )]
    BadTag { input: String, tag: String },
    #[error("`{input}` is not a valid image reference: {source}")]
    BadDigest {
        input: String,
        source: super::digest::DigestError,
    },
    #[error(
        "`{input}` is not a valid image reference: registry `{registry}` is not a valid host[:port]\nhint: a registry is a host name, an IPv4 address or a bracketed IPv6 address (`[::1]`), with an optional `:PORT`"
    )]
    BadRegistry { input: String, registry: String },
    #[error(
        "`{input}` is not a valid image reference: the repository name is longer than 255 characters\nhint: shorten the repository path (the part between the registry and the tag)"
    )]
    TooLong { input: String },
}

impl Reference {
    pub fn registry(&self) -> &str {
        &self.registry
    }

    pub fn repository(&self) -> &str {
        &self.repository
    }

    pub fn tag(&self) -> Option<&str> {
        self.tag.as_deref()
    }

    pub fn digest(&self) -> Option<&Digest> {
        self.digest.as_ref()
    }

    /// What to ask the registry for: the digest when there is one, else the tag (or `latest`).
    pub fn tag_or_digest(&self) -> String {
        match (&self.digest, &self.tag) {
            (Some(d), _) => d.to_string(),
            (None, Some(t)) => t.clone(),
            (None, None) => "latest".to_string(),
        }
    }

    /// `registry/repository`, without tag or digest.
    pub fn name(&self) -> String {
        format!("{}/{}", self.registry, self.repository)
    }

    /// The same repository, pinned to `digest` (the tag is dropped).
    pub fn with_digest(&self, digest: Digest) -> Reference {
        Reference {
            digest: Some(digest),
            tag: None,
            ..self.clone()
        }
    }

    /// The same repository and tag/digest on another registry (used for `--registry-mirror`).
    pub fn with_registry(&self, registry: &str) -> Reference {
        Reference {
            registry: registry.to_string(),
            ..self.clone()
        }
    }

    /// The same reference in another repository of another registry (a mirror with a path prefix).
    pub fn relocated(&self, registry: &str, repository: String) -> Reference {
        Reference {
            registry: registry.to_string(),
            repository,
            ..self.clone()
        }
    }
}

impl FromStr for Reference {
    type Err = ReferenceError;

    fn from_str(input: &str) -> Result<Reference, ReferenceError> {
        if input.is_empty() {
            return Err(ReferenceError::Empty(input.to_string()));
        }
        let (rest, digest) = match input.split_once('@') {
            Some((rest, d)) => {
                let digest = d
                    .parse::<Digest>()
                    .map_err(|source| ReferenceError::BadDigest {
                        input: input.to_string(),
                        source,
                    })?;
                (rest, Some(digest))
            }
            None => (input, None),
        };
        // A tag is after the last ':' that follows the last '/'.
        let last_slash = rest.rfind('/').map(|i| i + 1).unwrap_or(0);
        let (name, tag) = match rest[last_slash..].rfind(':') {
            Some(i) => (&rest[..last_slash + i], Some(&rest[last_slash + i + 1..])),
            None => (rest, None),
        };
        if let Some(tag) = tag
            && !valid_tag(tag)
        {
            return Err(ReferenceError::BadTag {
                input: input.to_string(),
                tag: tag.to_string(),
            });
        }
        let (registry, path) = split_registry(name);
        let registry = match registry {
            Some(r) => {
                if !valid_registry(r) {
                    return Err(ReferenceError::BadRegistry {
                        input: input.to_string(),
                        registry: r.to_string(),
                    });
                }
                if r == "index.docker.io" || r == "registry-1.docker.io" {
                    DOCKER_HUB.to_string()
                } else {
                    r.to_string()
                }
            }
            None => DOCKER_HUB.to_string(),
        };
        if path.is_empty() {
            return Err(ReferenceError::Empty(input.to_string()));
        }
        if path.len() > MAX_NAME {
            return Err(ReferenceError::TooLong {
                input: input.to_string(),
            });
        }
        for part in path.split('/') {
            if part.bytes().any(|b| b.is_ascii_uppercase()) {
                let suggestion = input.replacen(path, &path.to_ascii_lowercase(), 1);
                return Err(ReferenceError::Uppercase {
                    input: input.to_string(),
                    part: part.to_string(),
                    suggestion,
                });
            }
            if !valid_component(part) {
                return Err(ReferenceError::BadComponent {
                    input: input.to_string(),
                    part: part.to_string(),
                });
            }
        }
        let repository = if registry == DOCKER_HUB && !path.contains('/') {
            format!("library/{path}")
        } else {
            path.to_string()
        };
        let tag = match (tag, &digest) {
            (Some(t), _) => Some(t.to_string()),
            (None, Some(_)) => None,
            (None, None) => Some("latest".to_string()),
        };
        Ok(Reference {
            registry,
            repository,
            tag,
            digest,
        })
    }
}

/// Splits off the registry the way docker does: the first component is a host if it contains `.` or `:`,
/// is `localhost`, or has an uppercase letter.
fn split_registry(name: &str) -> (Option<&str>, &str) {
    match name.split_once('/') {
        Some((first, rest))
            if first.contains(['.', ':'])
                || first == "localhost"
                || first.bytes().any(|b| b.is_ascii_uppercase()) =>
        {
            (Some(first), rest)
        }
        _ => (None, name),
    }
}

/// Whether a name (`[registry/]path[:tag][@digest]`) starts with a registry, by docker's rule.
pub(crate) fn has_registry(input: &str) -> bool {
    let name = input.split_once('@').map_or(input, |(name, _)| name);
    split_registry(name).0.is_some()
}

/// `host[:port]`: DNS labels or an IPv4 address, or a bracketed IPv6 literal, and a port of 1–5 digits.
pub(crate) fn valid_registry(host: &str) -> bool {
    // IPv6 literal: [::1]:5000
    if let Some(rest) = host.strip_prefix('[') {
        let Some((addr, port)) = rest.split_once(']') else {
            return false;
        };
        return addr.parse::<std::net::Ipv6Addr>().is_ok()
            && (port.is_empty() || port.strip_prefix(':').is_some_and(valid_port));
    }
    let (h, port) = match host.rsplit_once(':') {
        Some((h, p)) => (h, Some(p)),
        None => (host, None),
    };
    if port.is_some_and(|p| !valid_port(p)) {
        return false;
    }
    !h.is_empty()
        && h.split('.').all(|label| {
            !label.is_empty()
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        })
}

fn valid_port(p: &str) -> bool {
    !p.is_empty() && p.len() <= 5 && p.bytes().all(|b| b.is_ascii_digit())
}

fn valid_tag(tag: &str) -> bool {
    let b = tag.as_bytes();
    !b.is_empty()
        && b.len() <= MAX_TAG
        && (b[0].is_ascii_alphanumeric() || b[0] == b'_')
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || b"_.-".contains(c))
}

/// `[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*`
fn valid_component(part: &str) -> bool {
    let b = part.as_bytes();
    if b.is_empty() || !alnum(b[0]) || !alnum(b[b.len() - 1]) {
        return false;
    }
    let mut i = 0;
    while i < b.len() {
        if alnum(b[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < b.len() && !alnum(b[i]) {
            i += 1;
        }
        let sep = &part[start..i];
        let ok = sep == "." || sep == "_" || sep == "__" || sep.bytes().all(|c| c == b'-');
        if !ok {
            return false;
        }
    }
    true
}

fn alnum(b: u8) -> bool {
    b.is_ascii_lowercase() || b.is_ascii_digit()
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.registry, self.repository)?;
        if let Some(t) = &self.tag {
            write!(f, ":{t}")?;
        }
        if let Some(d) = &self.digest {
            write!(f, "@{d}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> String {
        s.parse::<Reference>()
            .map(|r| r.to_string())
            .unwrap_or_else(|e| format!("error: {e}"))
    }

    #[test]
    fn normalises_docker_hub() {
        assert_eq!(p("busybox"), "docker.io/library/busybox:latest");
        assert_eq!(p("library/busybox:1.36"), "docker.io/library/busybox:1.36");
        assert_eq!(p("index.docker.io/user/app"), "docker.io/user/app:latest");
        assert_eq!(p("user/app:v1"), "docker.io/user/app:v1");
    }

    #[test]
    fn registries_ports_and_digests() {
        assert_eq!(p("127.0.0.1:5000/app:v1"), "127.0.0.1:5000/app:v1");
        assert_eq!(p("localhost/a/b"), "localhost/a/b:latest");
        assert_eq!(p("[::1]:5000/app"), "[::1]:5000/app:latest");
        let d = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
        assert_eq!(p(&format!("ghcr.io/o/r@{d}")), format!("ghcr.io/o/r@{d}"));
        assert_eq!(
            p(&format!("ghcr.io/o/r:t@{d}")),
            format!("ghcr.io/o/r:t@{d}")
        );
    }

    #[test]
    fn rejects_bad_forms() {
        assert!(p("Busybox").starts_with("error:"));
        assert!(p("ghcr.io/Org/App").contains("must be lowercase"));
        assert!(p("app:").contains("tag"));
        assert!(p("app:-x").contains("tag"));
        assert!(p("a//b").contains("component"));
        assert!(p("app@sha256:zz").contains("digest"));
        assert!(p("").contains("empty"));
        assert!(p(&"a".repeat(256)).contains("255"));
    }

    #[test]
    fn ipv6_hosts() {
        assert_eq!(
            p("[2001:db8::1]:5000/team/app:v1"),
            "[2001:db8::1]:5000/team/app:v1"
        );
        assert_eq!(p("[::1]/app"), "[::1]/app:latest");
        assert!(p("[::zz]:5000/app").contains("registry `[::zz]:5000`"));
        assert!(p("[::1]:port/app").contains("not a valid host[:port]"));
        assert!(p("[::1/app").contains("registry"));
    }

    #[test]
    fn length_limits() {
        // 255 characters of repository path are allowed, counted without the registry.
        let path = format!("{}/{}", "a".repeat(127), "b".repeat(127));
        assert_eq!(path.len(), 255);
        assert_eq!(
            p(&format!("ghcr.io/{path}")),
            format!("ghcr.io/{path}:latest")
        );
        let e = p(&format!("ghcr.io/{path}c"));
        assert!(
            e.contains("longer than 255 characters") && e.contains("hint:"),
            "{e}"
        );
        // Tags: up to 128 characters.
        let tag = "t".repeat(128);
        assert_eq!(
            p(&format!("app:{tag}")),
            format!("docker.io/library/app:{tag}")
        );
        let e = p(&format!("app:{tag}t"));
        assert!(e.contains("up to 128"), "{e}");
    }

    #[test]
    fn uppercase_is_refused_with_the_lowercase_name() {
        let e = p("ghcr.io/Org/App:V1");
        assert!(
            e.starts_with("error: `ghcr.io/Org/App:V1` is not a valid image reference: repository names must be lowercase (`Org`)"),
            "{e}"
        );
        // The tag may have capitals; only the repository is lowered in the suggestion.
        assert!(e.contains("hint: use `ghcr.io/org/app:V1`"), "{e}");
        assert!(p("Busybox").contains("use `busybox`"));
        // A capital in the first component makes it a registry, as in docker.
        assert_eq!(p("Reg/app"), "Reg/app:latest");
    }

    #[test]
    fn missing_tag_means_latest_but_a_digest_alone_has_none() {
        assert_eq!(p("ghcr.io/o/app"), "ghcr.io/o/app:latest");
        let d = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
        let r: Reference = format!("ghcr.io/o/app@{d}").parse().unwrap();
        assert_eq!(r.tag(), None);
        assert_eq!(r.tag_or_digest(), d);
    }
}
