//! A real registry on loopback: Debian's `docker-registry` (CNCF distribution 2.8) with its own config,
//! storage dir and free port, optionally behind htpasswd auth with the `<token>` user (the seed's login
//! shape) or another user, behind token auth (a [`TokenIssuer`] of the test support issues the JWTs),
//! or on another address of this machine behind TLS (to test `--insecure-registry`,
//! `--registry-certificate`), optionally asking for client certificates (mTLS). Stopped and reaped
//! on drop.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::token_issuer::{ISSUER, SERVICE, TokenIssuer};
use super::{require_tool, run_ok};

/// A running `docker-registry` (on 127.0.0.1 unless started with [`Registry::start_on`]).
pub struct Registry {
    child: Child,
    ip: String,
    port: u16,
    dir: tempfile::TempDir,
    /// `(user, password)` when started with htpasswd auth.
    pub credentials: Option<(String, String)>,
    /// `GET /v2/` answers 401 (htpasswd or token auth).
    auth: bool,
}

/// How a registry is started: its address, auth and TLS.
#[derive(Default)]
pub struct Setup<'a> {
    /// Listen address; 127.0.0.1 when `None`.
    pub ip: Option<&'a str>,
    /// htpasswd auth for one `(user, password)`; with `issuer`, the issuer's user that seeds images.
    pub login: Option<(&'a str, &'a str)>,
    /// Token auth: tokens from this issuer.
    pub issuer: Option<&'a TokenIssuer>,
    /// HTTPS with `(certificate, key)` PEM files.
    pub tls: Option<(&'a Path, &'a Path)>,
    /// With `tls`: client certificates signed by this CA are required (`http.tls.clientcas`).
    pub client_ca: Option<&'a Path>,
}

impl Registry {
    /// Starts an open registry (no auth).
    pub fn start() -> Registry {
        Registry::start_with(Setup::default())
    }

    /// Starts a registry with htpasswd auth; the user is literally `<token>` and the password is `key`.
    pub fn start_with_token(key: &str) -> Registry {
        Registry::start_with(Setup {
            login: Some(("<token>", key)),
            ..Setup::default()
        })
    }

    /// Starts a registry with htpasswd auth for one `user` with `password`.
    pub fn start_with_user(user: &str, password: &str) -> Registry {
        Registry::start_with(Setup {
            login: Some((user, password)),
            ..Setup::default()
        })
    }

    /// Starts an open registry listening on `ip` (an address of this machine), serving HTTPS with
    /// `tls = (certificate, key)` PEM files when given, plain HTTP otherwise.
    pub fn start_on(ip: &str, tls: Option<(&Path, &Path)>) -> Registry {
        Registry::start_with(Setup {
            ip: Some(ip),
            tls,
            ..Setup::default()
        })
    }

    /// Starts a registry in token mode: `issuer` signs the tokens it accepts, for [`SERVICE`];
    /// `login` is a user the issuer knows (test seeding uses it).
    pub fn start_with_issuer(issuer: &TokenIssuer, login: (&str, &str)) -> Registry {
        Registry::start_with(Setup {
            issuer: Some(issuer),
            login: Some(login),
            ..Setup::default()
        })
    }

    pub fn start_with(setup: Setup) -> Registry {
        let Setup {
            ip,
            login,
            issuer,
            tls,
            client_ca,
        } = setup;
        let ip = ip.unwrap_or("127.0.0.1");
        let binary = require_tool("docker-registry", "docker-registry");
        let mut last_error = String::new();
        // The free port is found by binding and releasing it; another process can take it in between,
        // so try a few times.
        for _ in 0..5 {
            let dir = tempfile::Builder::new()
                .prefix("hoist-registry-")
                .tempdir()
                .expect("tempdir");
            let port = free_port(ip);
            let storage = dir.path().join("storage");
            std::fs::create_dir_all(&storage).unwrap();
            let mut config = format!(
                "version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n  \
                 filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\nhttp:\n  \
                 addr: {ip}:{port}\n  secret: hoist-test-secret\n",
                storage.display()
            );
            if let Some((certificate, key)) = tls {
                config.push_str(&format!(
                    "  tls:\n    certificate: {}\n    key: {}\n",
                    certificate.display(),
                    key.display()
                ));
                if let Some(ca) = client_ca {
                    config.push_str(&format!("    clientcas:\n      - {}\n", ca.display()));
                }
            }
            if let Some(issuer) = issuer {
                config.push_str(&format!(
                    "auth:\n  token:\n    realm: {}\n    service: {SERVICE}\n    issuer: {ISSUER}\n    \
                     rootcertbundle: {}\n",
                    issuer.realm(),
                    issuer.certificate().display()
                ));
            }
            if let (Some((user, password)), None) = (login, issuer) {
                let htpasswd = require_tool("htpasswd", "apache2-utils");
                let line = run_ok(Command::new(htpasswd).args(["-Bbn", user, password]));
                let file = dir.path().join("htpasswd");
                std::fs::write(&file, line.trim_end().to_string() + "\n").unwrap();
                config.push_str(&format!(
                    "auth:\n  htpasswd:\n    realm: hoist-test\n    path: {}\n",
                    file.display()
                ));
            }
            let config_path = dir.path().join("config.yml");
            std::fs::write(&config_path, &config).unwrap();
            let log = std::fs::File::create(dir.path().join("registry.log")).unwrap();
            let child = Command::new(&binary)
                .arg("serve")
                .arg(&config_path)
                .stdin(Stdio::null())
                .stdout(log.try_clone().unwrap())
                .stderr(log)
                .spawn()
                .unwrap_or_else(|e| panic!("cannot start {}: {e}", binary.display()));
            let mut registry = Registry {
                child,
                ip: ip.to_string(),
                port,
                dir,
                credentials: login.map(|(u, p)| (u.to_string(), p.to_string())),
                auth: login.is_some() || issuer.is_some(),
            };
            match registry.wait_ready(tls.is_some(), Duration::from_secs(15)) {
                Ok(()) => return registry,
                Err(e) => {
                    last_error = format!(
                        "{e}; registry log:\n{}",
                        std::fs::read_to_string(registry.dir.path().join("registry.log"))
                            .unwrap_or_default()
                    );
                    // Drop kills and reaps it; try another port.
                }
            }
        }
        panic!("docker-registry did not come up: {last_error}");
    }

    /// `127.0.0.1:PORT` (or `IP:PORT` for [`Registry::start_on`])
    pub fn host(&self) -> String {
        format!("{}:{}", self.ip, self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The registry's storage root (to look at what was written, or corrupt it on purpose).
    pub fn storage(&self) -> PathBuf {
        self.dir.path().join("storage")
    }

    /// The registry's own log.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("registry.log")).unwrap_or_default()
    }

    /// Status code of a plain-HTTP GET on this registry (no auth).
    pub fn get_status(&self, path: &str) -> std::io::Result<u16> {
        get_status_at(&self.ip, self.port, path)
    }

    /// Waits for `GET /v2/` to answer as this registry should: 200 when open, 401 behind auth, and 400
    /// when it serves TLS (Go's answer to plain HTTP on a TLS port).
    fn wait_ready(&mut self, tls: bool, timeout: Duration) -> Result<(), String> {
        let deadline = Instant::now() + timeout;
        let want_auth = self.auth;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(format!("docker-registry exited early ({status})"));
            }
            match get_status_at(&self.ip, self.port, "/v2/") {
                Ok(400) if tls => return Ok(()),
                Ok(200) if !want_auth && !tls => return Ok(()),
                Ok(401) if want_auth => return Ok(()),
                Ok(code) => return Err(format!("GET /v2/ answered {code}")),
                Err(_) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(50))
                }
                Err(e) => return Err(format!("GET /v2/ never answered: {e}")),
            }
        }
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port(ip: &str) -> u16 {
    let listener = TcpListener::bind((ip, 0)).expect("bind a free port");
    listener.local_addr().unwrap().port()
}

/// A minimal HTTP/1.0 GET over std, returning the status code.
pub fn http_get_status(port: u16, path: &str) -> std::io::Result<u16> {
    get_status_at("127.0.0.1", port, path)
}

fn get_status_at(ip: &str, port: u16, path: &str) -> std::io::Result<u16> {
    let mut stream = TcpStream::connect((ip, port))?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    write!(
        stream,
        "GET {path} HTTP/1.0\r\nHost: {ip}:{port}\r\nConnection: close\r\n\r\n"
    )?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw)?;
    let response = String::from_utf8_lossy(&raw);
    response
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("not an HTTP response: {response:?}"),
            )
        })
}
