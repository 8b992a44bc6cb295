//! Which host and scheme a registry name is reached at: Docker Hub's API host, loopback and
//! `--insecure-registry` hosts over plain HTTP (or unverified TLS) unless a CA or a client certificate
//! is given for them, mirrors for pulls
//! (Docker's `registry-mirrors` and `insecure-registries` daemon options, same meaning).

use super::RegistryOptions;

/// The API host behind Docker Hub's `docker.io` name.
pub const DOCKER_HUB_API: &str = "registry-1.docker.io";

/// How a host is spoken to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Security {
    /// HTTPS with certificate verification.
    Verified,
    /// An insecure non-loopback host: HTTPS without verification first, plain HTTP if that fails.
    Insecure,
    /// Loopback: plain HTTP only.
    Plain,
}

/// The host that serves the API for a registry name (`docker.io` → `registry-1.docker.io`).
pub fn api_host(registry: &str) -> &str {
    if registry == crate::image::reference::DOCKER_HUB {
        DOCKER_HUB_API
    } else {
        registry
    }
}

/// The host part of `host[:port]` (IPv6 literals keep their brackets stripped).
fn host_only(host: &str) -> &str {
    if let Some(rest) = host.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest);
    }
    host.rsplit_once(':').map_or(host, |(h, _)| h)
}

pub fn is_loopback(host: &str) -> bool {
    let h = host_only(host);
    h == "localhost"
        || h.parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

pub fn security(options: &RegistryOptions, host: &str) -> Security {
    let named = |h: &String| h == host || api_host(h) == host;
    if options.certificates.iter().any(|(h, _)| named(h))
        || options.client_certificates.iter().any(|(h, _, _)| named(h))
    {
        Security::Verified
    } else if is_loopback(host) {
        Security::Plain
    } else if options
        .insecure
        .iter()
        .any(|i| i == host || api_host(i) == host || (host_only(i) == i && host_only(host) == i))
    {
        Security::Insecure
    } else {
        Security::Verified
    }
}

/// Where pulls of `registry` go: its mirror when one is configured, else itself.
pub fn pull_registry<'a>(options: &'a RegistryOptions, registry: &'a str) -> &'a str {
    options
        .mirrors
        .iter()
        .find(|(source, _)| source == registry || api_host(source) == api_host(registry))
        .map_or(registry, |(_, mirror)| mirror.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts() -> RegistryOptions {
        RegistryOptions {
            insecure: vec!["reg.lan:5000".into(), "plainhost".into()],
            mirrors: vec![("docker.io".into(), "127.0.0.1:5000".into())],
            ..RegistryOptions::default()
        }
    }

    #[test]
    fn scheme_choice() {
        let o = opts();
        assert_eq!(security(&o, "127.0.0.1:5000"), Security::Plain);
        assert_eq!(security(&o, "127.1.2.3"), Security::Plain);
        assert_eq!(security(&o, "localhost:80"), Security::Plain);
        assert_eq!(security(&o, "[::1]:5000"), Security::Plain);
        assert_eq!(security(&o, "reg.lan:5000"), Security::Insecure);
        assert_eq!(security(&o, "plainhost:8080"), Security::Insecure);
        assert_eq!(security(&o, "reg.lan:6000"), Security::Verified);
        assert_eq!(security(&o, "ghcr.io"), Security::Verified);
    }

    #[test]
    fn mirror_mapping() {
        let o = opts();
        assert_eq!(pull_registry(&o, "docker.io"), "127.0.0.1:5000");
        assert_eq!(pull_registry(&o, "ghcr.io"), "ghcr.io");
        assert_eq!(api_host("docker.io"), "registry-1.docker.io");
        assert_eq!(api_host("quay.io"), "quay.io");
    }
}
