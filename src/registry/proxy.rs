//! Proxies for registry traffic, from the environment as curl reads it: `HTTPS_PROXY` for `https://`
//! registries, `HTTP_PROXY` for `http://` ones, `ALL_PROXY` for both, and `NO_PROXY` (comma-separated
//! host names, matching their subdomains too, IP addresses and CIDR ranges, or `*`), each in upper or
//! lower case. Loopback hosts (`localhost`, 127.0.0.0/8, `::1`) are always reached directly, as Go's
//! `net/http` (docker, skopeo, buildah) reaches them. The same rules go to hoist's own client and to
//! oci-client's.

use std::fmt;

use super::RegistryError;

/// The proxy variables, read once (passed in, so that tests never depend on the process's own).
/// `Debug` says which are set, never their values: a proxy URL may carry a password.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct ProxyEnv {
    pub https: Option<String>,
    pub http: Option<String>,
    pub all: Option<String>,
    pub no: Option<String>,
}

impl fmt::Debug for ProxyEnv {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let set = |v: &Option<String>| if v.is_some() { "set" } else { "unset" };
        f.debug_struct("ProxyEnv")
            .field("https", &set(&self.https))
            .field("http", &set(&self.http))
            .field("all", &set(&self.all))
            .field("no", &self.no)
            .finish()
    }
}

/// Always reached directly.
const LOOPBACK: &str = "localhost,127.0.0.0/8,::1";

impl ProxyEnv {
    /// The variables of this process (`HTTPS_PROXY` before `https_proxy`, as curl; empty is unset).
    pub fn from_process() -> ProxyEnv {
        let var = |names: [&str; 2]| {
            names
                .iter()
                .find_map(|n| std::env::var(n).ok().filter(|v| !v.trim().is_empty()))
        };
        ProxyEnv {
            https: var(["HTTPS_PROXY", "https_proxy"]),
            http: var(["HTTP_PROXY", "http_proxy"]),
            all: var(["ALL_PROXY", "all_proxy"]),
            no: var(["NO_PROXY", "no_proxy"]),
        }
    }

    /// `NO_PROXY` with the loopback hosts added.
    pub fn no_proxy(&self) -> String {
        match self.no.as_deref() {
            Some(no) => format!("{no},{LOOPBACK}"),
            None => LOOPBACK.to_string(),
        }
    }

    /// The proxy for `https://` registries, then the one for `http://` ones.
    pub fn per_scheme(&self) -> (Option<&str>, Option<&str>) {
        let all = self.all.as_deref();
        (self.https.as_deref().or(all), self.http.as_deref().or(all))
    }

    /// `builder` with these proxies (and reqwest's own reading of the environment turned off).
    pub fn apply(
        &self,
        builder: reqwest::ClientBuilder,
    ) -> Result<reqwest::ClientBuilder, RegistryError> {
        let mut builder = builder.no_proxy();
        let (https, http) = self.per_scheme();
        let no = || reqwest::NoProxy::from_string(&self.no_proxy());
        // The value is left out of the error: it may carry a password.
        let invalid = |variable: &str, e: reqwest::Error| {
            RegistryError::Setup(format!(
                "the proxy in `{variable}` is not a usable URL: {}\nhint: write it as `http://HOST:PORT` (or `http://USER:PASSWORD@HOST:PORT`)",
                super::auth::without_url(&e)
            ))
        };
        if let Some(url) = https {
            let proxy = reqwest::Proxy::https(url).map_err(|e| invalid("HTTPS_PROXY", e))?;
            builder = builder.proxy(proxy.no_proxy(no()));
        }
        if let Some(url) = http {
            let proxy = reqwest::Proxy::http(url).map_err(|e| invalid("HTTP_PROXY", e))?;
            builder = builder.proxy(proxy.no_proxy(no()));
        }
        Ok(builder)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_is_always_direct_and_all_proxy_fills_in() {
        let env = ProxyEnv {
            all: Some("http://proxy:3128".into()),
            https: Some("http://secure:3128".into()),
            no: Some(".corp".into()),
            ..ProxyEnv::default()
        };
        assert_eq!(env.no_proxy(), ".corp,localhost,127.0.0.0/8,::1");
        assert_eq!(
            env.per_scheme(),
            (Some("http://secure:3128"), Some("http://proxy:3128"))
        );
        assert_eq!(ProxyEnv::default().no_proxy(), LOOPBACK);
        let secret = ProxyEnv {
            https: Some("http://u:pw-secret@proxy:3128".into()),
            ..ProxyEnv::default()
        };
        assert!(!format!("{secret:?}").contains("pw-secret"));
    }
}
