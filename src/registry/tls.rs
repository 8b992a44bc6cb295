//! TLS for registries: verified with the system roots (rustls and the platform's verifier), plus, per
//! host, the CAs of `--registry-certificate` and the client certificate of `--registry-client-cert`
//! (mutual TLS), read once; unverified for `--insecure-registry` hosts. Each host with a CA or a
//! client certificate gets a client of its own, so that neither is offered to another host.

use std::collections::HashMap;
use std::time::Duration;

use super::auth::without_url;
use super::host::api_host;
use super::proxy::ProxyEnv;
use super::{RegistryError, RegistryOptions};

/// What one host's TLS needs beyond the system roots, read and parsed once: its CAs
/// (`--registry-certificate`) and its client certificate (`--registry-client-cert`).
#[derive(Default)]
pub struct HostTls {
    roots: Vec<reqwest::Certificate>,
    identity: Option<reqwest::Identity>,
}

/// [`HostTls`] per API host (`docker.io`'s given as `registry-1.docker.io`).
pub fn host_tls(options: &RegistryOptions) -> Result<HashMap<String, HostTls>, RegistryError> {
    let mut hosts: HashMap<String, HostTls> = HashMap::new();
    for (host, file) in &options.certificates {
        let why = |e: String| {
            RegistryError::Setup(format!(
                "cannot use the CA certificate `{}` given for `{host}`: {e}\nhint: --registry-certificate HOST=FILE takes a PEM file",
                file.display()
            ))
        };
        let pem = std::fs::read(file).map_err(|e| why(e.to_string()))?;
        let certs =
            reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| why(without_url(&e)))?;
        if certs.is_empty() {
            return Err(why("no PEM certificate in it".into()));
        }
        let entry = hosts.entry(api_host(host).to_string()).or_default();
        entry.roots.extend(certs);
    }
    for (host, cert, key) in &options.client_certificates {
        let why = |e: String| {
            RegistryError::Setup(format!(
                "cannot use the client certificate `{}` (key `{}`) given for `{host}`: {e}\nhint: --registry-client-cert HOST=CERT.pem,KEY.pem takes the certificate and its private key as PEM files",
                cert.display(),
                key.display()
            ))
        };
        let mut pem = std::fs::read(cert).map_err(|e| why(format!("`{}`: {e}", cert.display())))?;
        pem.push(b'\n');
        pem.extend(std::fs::read(key).map_err(|e| why(format!("`{}`: {e}", key.display())))?);
        // reqwest's error names no key material.
        let identity = reqwest::Identity::from_pem(&pem).map_err(|e| why(without_url(&e)))?;
        hosts
            .entry(api_host(host).to_string())
            .or_default()
            .identity = Some(identity);
    }
    Ok(hosts)
}

/// A client for registry requests: verified or not, with a host's own TLS, through `proxy`.
pub fn client(
    verify: bool,
    tls: Option<&HostTls>,
    proxy: &ProxyEnv,
) -> Result<reqwest::Client, RegistryError> {
    let builder = reqwest::Client::builder()
        .user_agent(concat!("hoist/", env!("CARGO_PKG_VERSION")))
        .connect_timeout(Duration::from_secs(15))
        .tls_danger_accept_invalid_certs(!verify);
    let mut builder = proxy.apply(builder)?;
    if let Some(tls) = tls {
        if !tls.roots.is_empty() {
            builder = builder.tls_certs_merge(tls.roots.clone());
        }
        if let Some(identity) = &tls.identity {
            builder = builder.identity(identity.clone());
        }
    }
    builder
        .build()
        .map_err(|e| RegistryError::Setup(without_url(&e)))
}
