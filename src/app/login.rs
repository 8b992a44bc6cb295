//! `hoist login` and `hoist logout`: the registry client checks and stores (or erases) the login; this
//! says what happened, for stderr. Neither prints anything on stdout, and no message holds the secret.

use crate::cli::{Login, Logout, RegistryTls};
use crate::registry::{CredentialEnv, Erased, Place, RegistryClient, RegistryOptions};

fn client(tls: &RegistryTls) -> anyhow::Result<RegistryClient> {
    Ok(RegistryClient::new(RegistryOptions {
        insecure: tls.insecure.clone(),
        credentials: CredentialEnv::from_process(),
        certificates: tls.certificates.clone(),
        client_certificates: tls.client_certificates.clone(),
        proxy: crate::registry::ProxyEnv::from_process(),
        ..RegistryOptions::default()
    })?)
}

/// Checks the login against its registry (`tls`: hosts reached over plain HTTP or unverified TLS,
/// CAs and client certificates per host), then stores it. Returns the message for stderr.
pub async fn login(login: &Login, tls: &RegistryTls) -> anyhow::Result<String> {
    let stored = client(tls)?
        .store_login(&login.registry, &login.username, login.password.expose())
        .await?;
    let what = if stored.identity_token {
        "an identity token from the registry's token server (not the password)"
    } else {
        "the password"
    };
    Ok(match stored.place {
        Place::File(path) => format!(
            "logged in to `{}` as `{}`\nwarning: {what} is stored unencrypted in `{}`\nhint: a credential helper keeps it out of that file: set `credsStore` there (e.g. `pass` or `secretservice`) and log in again",
            login.registry,
            login.username,
            path.display()
        ),
        Place::Helper { helper, file } => format!(
            "logged in to `{}` as `{}`: {what} is stored by `{helper}` (`{}` lists the registry)",
            login.registry,
            login.username,
            file.display()
        ),
    })
}

/// Erases the stored login of a registry. Returns the message for stderr.
pub async fn logout(logout: &Logout) -> anyhow::Result<String> {
    let Erased {
        file,
        entry,
        helper,
    } = client(&RegistryTls::default())?
        .erase_login(&logout.registry)
        .await?;
    let registry = &logout.registry;
    Ok(match (entry, helper) {
        (_, Some((helper, true))) => format!("logged out of `{registry}`: erased from `{helper}`"),
        (true, _) => format!(
            "logged out of `{registry}`: removed from `{}`",
            file.display()
        ),
        (false, _) => format!(
            "not logged in to `{registry}`: nothing stored in `{}` or its credential helper",
            file.display()
        ),
    })
}
