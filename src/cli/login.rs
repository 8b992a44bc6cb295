//! Logins on the command line: `hoist login HOST [-u USER] --password-stdin`, `hoist logout HOST`, and a
//! build's `--username USER --password-stdin` (docker-cli `login.go`: the password is all of stdin, one
//! trailing newline dropped). The user defaults to `<token>`, the user a service-account key goes with.
//! A password never leaves this module except through [`Password::expose`]; `Debug` hides it.

use std::fmt;
use std::io::Read;

use super::args::{LoginArgs, LogoutArgs};
use crate::image::reference::{DOCKER_HUB, is_docker_hub};

/// The user a service-account key is sent with (Control Plane's registry, `HOIST_TOKEN`).
pub const TOKEN_USER: &str = "<token>";

/// A password read from stdin. `Debug` shows `<redacted>`.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(String);

impl Password {
    /// The password itself, to hand to the registry client only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

/// A user and password for one registry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Login {
    /// The registry name, as in references (`docker.io` for Docker Hub).
    pub registry: String,
    pub username: String,
    pub password: Password,
}

/// `hoist logout HOST`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Logout {
    pub registry: String,
}

#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    #[error(
        "`{0}` is not a registry host\nhint: give the host and port only, like `registry.example.com` or `127.0.0.1:5000` (`docker.io` for Docker Hub)"
    )]
    Host(String),
    #[error("cannot read the password from stdin: {0}")]
    Stdin(std::io::Error),
    #[error(
        "the password on stdin is empty\nhint: pipe it in: `printf %s \"$KEY\" | hoist {command} --password-stdin`"
    )]
    Empty { command: &'static str },
    #[error(
        "`hoist login` reads the password from stdin only\nhint: add `--password-stdin` and pipe the password in: `printf %s \"$KEY\" | hoist login {0} --password-stdin`"
    )]
    NoPasswordStdin(String),
    #[error(
        "the user name is empty\nhint: leave out `-u` for a service-account key (user `<token>`)"
    )]
    EmptyUser,
}

impl Login {
    /// `hoist login`: validates the host and reads the password from `stdin`.
    pub fn from_args(args: &LoginArgs, stdin: &mut dyn Read) -> Result<Login, LoginError> {
        let registry = registry_host(&args.server)?;
        if !args.password_stdin {
            return Err(LoginError::NoPasswordStdin(args.server.clone()));
        }
        let username = username(args.username.as_deref())?;
        Ok(Login {
            registry,
            username,
            password: read_password(stdin, "login HOST")?,
        })
    }
}

impl Logout {
    pub fn from_args(args: &LogoutArgs) -> Result<Logout, LoginError> {
        Ok(Logout {
            registry: registry_host(&args.server)?,
        })
    }
}

/// The user of `-u`/`--username`, `<token>` when absent.
pub fn username(given: Option<&str>) -> Result<String, LoginError> {
    match given {
        None => Ok(TOKEN_USER.to_string()),
        Some("") => Err(LoginError::EmptyUser),
        Some(u) => Ok(u.to_string()),
    }
}

/// All of `stdin`, without one trailing `\n` (or `\r\n`), as `docker login --password-stdin` reads it.
pub fn read_password(stdin: &mut dyn Read, command: &'static str) -> Result<Password, LoginError> {
    let mut text = String::new();
    stdin.read_to_string(&mut text).map_err(LoginError::Stdin)?;
    let text = text.strip_suffix('\n').unwrap_or(&text);
    let text = text.strip_suffix('\r').unwrap_or(text);
    if text.is_empty() {
        return Err(LoginError::Empty { command });
    }
    Ok(Password(text.to_string()))
}

/// A registry name from what a user types after `login`: a scheme and path are dropped (docker-cli's
/// `ConvertToHostname`), case folded, and Docker Hub's aliases (including
/// `https://index.docker.io/v1/`) become `docker.io`.
pub fn registry_host(value: &str) -> Result<String, LoginError> {
    let lower = value.to_ascii_lowercase();
    let rest = lower
        .strip_prefix("https://")
        .or_else(|| lower.strip_prefix("http://"))
        .unwrap_or(&lower);
    let host = rest.split('/').next().unwrap_or(rest).to_ascii_lowercase();
    let valid = !host.is_empty()
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-.:[]".contains(&b))
        && !host.starts_with([':', '.', '-']);
    if !valid {
        return Err(LoginError::Host(value.to_string()));
    }
    Ok(if is_docker_hub(&host) {
        DOCKER_HUB.to_string()
    } else {
        host
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_are_normalized() {
        for (given, want) in [
            ("127.0.0.1:5000", "127.0.0.1:5000"),
            ("https://Reg.Example/v2/", "reg.example"),
            ("http://reg.example:8080", "reg.example:8080"),
            ("https://index.docker.io/v1/", "docker.io"),
            ("registry-1.docker.io", "docker.io"),
            ("index.docker.io", "docker.io"),
            ("localhost", "localhost"),
            ("[::1]:5000", "[::1]:5000"),
        ] {
            assert_eq!(registry_host(given).unwrap(), want, "{given}");
        }
        for bad in ["", "https://", "reg example", "user@reg.example", ":5000"] {
            assert!(registry_host(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_password_is_stdin_without_its_newline() {
        let read =
            |s: &str| read_password(&mut s.as_bytes(), "login").map(|p| p.expose().to_string());
        assert_eq!(read("k3y\n").unwrap(), "k3y");
        assert_eq!(read("k3y\r\n").unwrap(), "k3y");
        assert_eq!(read("k3y").unwrap(), "k3y");
        assert_eq!(read(" two words \n\n").unwrap(), " two words \n");
        assert!(matches!(read("\n"), Err(LoginError::Empty { .. })));
        let p = read_password(&mut "hunter2".as_bytes(), "login").unwrap();
        assert_eq!(format!("{p:?}"), "Password(<redacted>)");
        let login = Login {
            registry: "r".into(),
            username: "u".into(),
            password: p,
        };
        assert!(!format!("{login:?}").contains("hunter2"));
    }

    #[test]
    fn the_user_defaults_to_token() {
        assert_eq!(username(None).unwrap(), "<token>");
        assert_eq!(username(Some("bob")).unwrap(), "bob");
        assert!(username(Some("")).is_err());
    }
}
