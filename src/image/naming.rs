//! How an image name written on the command line becomes a [`Reference`]: the distribution reference
//! grammar (`reference`), plus Control Plane's image links — `//image/NAME[:TAG|@DIGEST]` (the current
//! org's registry) and `/org/ORG/image/NAME[:TAG|@DIGEST]` (ORG's registry) — and, with `--org`, a name
//! without a registry (`app:v1`) in the org's registry too.
//!
//! The org's registry is `HOIST_ORG_REGISTRY` with `{org}` replaced (default `{org}.registry.cpln.io`,
//! as Control Plane's `ORG.registry.cpln.io/NAME:TAG`, with no org in the repository path); a template
//! without `{org}` is the registry as it is. `//image/` links take their org from `--org`, else from
//! `CPLN_ORG` (what the Control Plane CLI reads); bare names follow `--org` only, so an exported
//! `CPLN_ORG` never moves `busybox` away from Docker Hub.

use super::Reference;
use super::reference::{ReferenceError, has_registry, valid_registry};

/// The registry template when `HOIST_ORG_REGISTRY` is not set.
pub const DEFAULT_ORG_REGISTRY: &str = "{org}.registry.cpln.io";

/// What decides where a name goes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Naming {
    /// `--org`: bare names and `//image/` links go to this org's registry.
    pub org: Option<String>,
    /// `CPLN_ORG`: the org of `//image/` links when `--org` is not given.
    pub default_org: Option<String>,
    /// `HOIST_ORG_REGISTRY`, `None` for [`DEFAULT_ORG_REGISTRY`].
    pub org_registry: Option<String>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum NamingError {
    #[error(transparent)]
    Reference(#[from] ReferenceError),
    #[error(
        "`{input}` is a Control Plane image link, and no org was given for it\nhint: pass `--org ORG` (or set `CPLN_ORG`), or name the org in the link: `/org/ORG/image/{rest}`"
    )]
    NoOrg { input: String, rest: String },
    #[error(
        "`{input}` starts with `/` but is not a Control Plane image link\nhint: write `//image/NAME:TAG` (the org of `--org`) or `/org/ORG/image/NAME:TAG`; for an OCI layout directory write `oci:DIR`"
    )]
    BadLink { input: String },
    #[error(
        "`{input}`: the image name after `image/` must not name a registry (`{rest}`)\nhint: a Control Plane link is `//image/NAME:TAG`; the registry comes from the org"
    )]
    RegistryInLink { input: String, rest: String },
    #[error(
        "`{input}`: org `{org}` is not a valid org name\nhint: an org name is lowercase letters, digits and `-`, as in Control Plane"
    )]
    BadOrg { input: String, org: String },
    #[error(
        "the org registry `{registry}` (from HOIST_ORG_REGISTRY `{template}` for org `{org}`) is not a valid host[:port]\nhint: set HOIST_ORG_REGISTRY to a host like `{{org}}.registry.cpln.io` or `registry.example.com:5000`, or unset it"
    )]
    BadOrgRegistry {
        template: String,
        org: String,
        registry: String,
    },
}

impl Naming {
    /// A naming with `--org` checked now (its name and its registry), not at its first use.
    pub fn new(
        org: Option<String>,
        default_org: Option<String>,
        org_registry: Option<String>,
    ) -> Result<Naming, NamingError> {
        let naming = Naming {
            org,
            default_org: default_org.filter(|o| !o.is_empty()),
            org_registry,
        };
        if let Some(org) = &naming.org {
            if !valid_org(org) {
                return Err(NamingError::BadOrg {
                    input: format!("--org {org}"),
                    org: org.clone(),
                });
            }
            naming.org_registry(org)?;
        }
        Ok(naming)
    }

    /// The registry of `org`.
    pub fn org_registry(&self, org: &str) -> Result<String, NamingError> {
        let template = self
            .org_registry
            .as_deref()
            .filter(|t| !t.is_empty())
            .unwrap_or(DEFAULT_ORG_REGISTRY);
        let registry = template.replace("{org}", org);
        if !valid_registry(&registry) {
            return Err(NamingError::BadOrgRegistry {
                template: template.to_string(),
                org: org.to_string(),
                registry,
            });
        }
        Ok(registry)
    }

    /// Parses what the user wrote: a Control Plane link, a bare name (in the org's registry with
    /// `--org`), or any other reference.
    pub fn parse(&self, input: &str) -> Result<Reference, NamingError> {
        if let Some(rest) = input.strip_prefix("//image/") {
            let org = self
                .org
                .as_deref()
                .or(self.default_org.as_deref())
                .ok_or_else(|| NamingError::NoOrg {
                    input: input.to_string(),
                    rest: rest.to_string(),
                })?;
            return self.in_org(input, org, rest);
        }
        if let Some(path) = input.strip_prefix("/org/") {
            let Some((org, rest)) = path.split_once("/image/") else {
                return Err(NamingError::BadLink {
                    input: input.to_string(),
                });
            };
            return self.in_org(input, org, rest);
        }
        if input.starts_with('/') {
            return Err(NamingError::BadLink {
                input: input.to_string(),
            });
        }
        match &self.org {
            Some(org) if !has_registry(input) => self.in_org(input, org, input),
            Some(_) | None => Ok(input.parse()?),
        }
    }

    /// `rest` (`NAME[:TAG][@DIGEST]`) in the registry of `org`.
    fn in_org(&self, input: &str, org: &str, rest: &str) -> Result<Reference, NamingError> {
        if !valid_org(org) {
            return Err(NamingError::BadOrg {
                input: input.to_string(),
                org: org.to_string(),
            });
        }
        if rest.is_empty() {
            return Err(NamingError::BadLink {
                input: input.to_string(),
            });
        }
        if has_registry(rest) {
            return Err(NamingError::RegistryInLink {
                input: input.to_string(),
                rest: rest.to_string(),
            });
        }
        let registry = self.org_registry(org)?;
        Ok(format!("{registry}/{rest}").parse()?)
    }
}

/// A Control Plane org name: a DNS label (it becomes part of the registry's host name).
fn valid_org(org: &str) -> bool {
    !org.is_empty()
        && org.len() <= 63
        && org
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !org.starts_with('-')
        && !org.ends_with('-')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naming(org: Option<&str>, default_org: Option<&str>, template: Option<&str>) -> Naming {
        Naming {
            org: org.map(str::to_string),
            default_org: default_org.map(str::to_string),
            org_registry: template.map(str::to_string),
        }
    }

    fn p(n: &Naming, s: &str) -> String {
        n.parse(s)
            .map(|r| r.to_string())
            .unwrap_or_else(|e| format!("error: {e}"))
    }

    #[test]
    fn links_expand_to_the_org_registry() {
        let n = naming(Some("acme"), None, None);
        assert_eq!(p(&n, "//image/app:v1"), "acme.registry.cpln.io/app:v1");
        assert_eq!(p(&n, "//image/app"), "acme.registry.cpln.io/app:latest");
        assert_eq!(
            p(&n, "//image/team/app:v2"),
            "acme.registry.cpln.io/team/app:v2"
        );
        let d = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
        assert_eq!(
            p(&n, &format!("//image/app@{d}")),
            format!("acme.registry.cpln.io/app@{d}")
        );
        // The link's own org wins over --org.
        assert_eq!(
            p(&n, "/org/other/image/app:v1"),
            "other.registry.cpln.io/app:v1"
        );
        let none = Naming::default();
        assert_eq!(
            p(&none, "/org/acme/image/app:v1"),
            "acme.registry.cpln.io/app:v1"
        );
    }

    #[test]
    fn bare_names_follow_org_only() {
        let n = naming(Some("acme"), None, None);
        assert_eq!(p(&n, "app:v1"), "acme.registry.cpln.io/app:v1");
        assert_eq!(p(&n, "busybox"), "acme.registry.cpln.io/busybox:latest");
        // A name with a registry stays where it is.
        assert_eq!(p(&n, "ghcr.io/o/app:v1"), "ghcr.io/o/app:v1");
        assert_eq!(
            p(&n, "docker.io/library/busybox"),
            "docker.io/library/busybox:latest"
        );
        // CPLN_ORG alone: links only; bare names stay Docker Hub's.
        let env = naming(None, Some("envorg"), None);
        assert_eq!(p(&env, "//image/app:v1"), "envorg.registry.cpln.io/app:v1");
        assert_eq!(p(&env, "app:v1"), "docker.io/library/app:v1");
        // --org wins over CPLN_ORG.
        let both = naming(Some("acme"), Some("envorg"), None);
        assert_eq!(p(&both, "//image/app:v1"), "acme.registry.cpln.io/app:v1");
    }

    #[test]
    fn the_template_names_the_registry() {
        let n = naming(Some("acme"), None, Some("127.0.0.1:5000"));
        assert_eq!(p(&n, "//image/app:v1"), "127.0.0.1:5000/app:v1");
        let n = naming(Some("acme"), None, Some("registry.example.com/{org}"));
        assert!(
            p(&n, "//image/app:v1").contains("HOIST_ORG_REGISTRY"),
            "{}",
            p(&n, "//image/app:v1")
        );
        let n = naming(Some("acme"), None, Some("{org}.reg.example.com:8443"));
        assert_eq!(p(&n, "app:v1"), "acme.reg.example.com:8443/app:v1");
        let n = naming(Some("acme"), None, Some(""));
        assert_eq!(p(&n, "app:v1"), "acme.registry.cpln.io/app:v1");
    }

    #[test]
    fn wrong_forms_say_what_why_and_how() {
        let none = Naming::default();
        let e = p(&none, "//image/app:v1");
        assert!(
            e.contains("no org was given") && e.contains("--org ORG"),
            "{e}"
        );
        assert!(e.contains("/org/ORG/image/app:v1"), "{e}");
        let n = naming(Some("acme"), None, None);
        for bad in ["/image/app", "/org/acme/app:v1", "/tmp/layout"] {
            let e = p(&n, bad);
            assert!(e.contains("not a Control Plane image link"), "{bad}: {e}");
            assert!(e.contains("hint:"), "{e}");
        }
        let e = p(&n, "/org/Acme/image/app");
        assert!(e.contains("org `Acme` is not a valid org name"), "{e}");
        let e = p(&n, "//image/ghcr.io/app");
        assert!(e.contains("must not name a registry"), "{e}");
        let e = p(&n, "//image/");
        assert!(e.contains("not a Control Plane image link"), "{e}");
        let e = p(&n, "//image/App:v1");
        assert!(e.contains("must be lowercase"), "{e}");
    }
}
