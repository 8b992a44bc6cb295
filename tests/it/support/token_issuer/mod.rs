//! A small token server standing in for Docker Hub's `auth.docker.io`, in front of a real
//! `docker-registry` in token mode (distribution's token auth spec,
//! https://distribution.github.io/distribution/spec/auth/token/, and its OAuth2 variant,
//! `spec/auth/oauth`). It serves the GET flow (`?service=…&scope=…&scope=…`, Basic credentials or
//! anonymous, `offline_token=true` for a refresh token) and the OAuth2 POST (`grant_type=password` or
//! `refresh_token`, `access_type=offline`), and answers
//! `{"token","access_token","expires_in","issued_at"}` (+ `refresh_token`).
//!
//! Tokens are RS256 JWTs signed (by `openssl dgst`) with a key made per issuer; the registry trusts
//! its self-signed certificate (`rootcertbundle`), and each token carries that certificate in its
//! `x5c` header. The `access` claim grants exactly the requested actions — all of them to a known
//! user, none to anonymous — unless the issuer is told to hand out narrower (pull only) or already
//! expired tokens next, or to fail the next requests transiently (503, 429 with `Retry-After`, a
//! connection closed without an answer) or for good. Every request is logged, so tests can count
//! token fetches, their retries and their scopes.

mod jwt;
mod request;

use std::collections::{HashMap, VecDeque};
use std::io::Write as _;
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;

use super::{require_tool, run_ok};
use jwt::{Signer, rfc3339, sign};
use request::{Request, read_request};

/// The `service` the registry and the issuer agree on (the token's audience).
pub const SERVICE: &str = "hoist-test-registry";
/// The `iss` claim the registry requires.
pub const ISSUER: &str = "hoist-test-issuer";

/// One request the issuer answered.
#[derive(Clone, Debug)]
pub struct TokenRequest {
    /// `GET` or `POST`.
    pub method: String,
    /// `basic`, `anonymous` (GET), `password` or `refresh_token` (POST).
    pub grant: String,
    /// The user the credentials belong to, when they were right.
    pub user: Option<String>,
    /// The `scope` values asked for, one per scope (a POST's space-separated list split).
    pub scopes: Vec<String>,
    /// `type:name:actions` per granted access entry.
    pub granted: Vec<String>,
    /// The HTTP status answered; 0 when the connection was closed without an answer.
    pub status: u16,
}

/// How the issuer fails a request, as an overloaded or restarting token server does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Failure {
    /// `503 Service Unavailable` with a distribution-style error body.
    Unavailable,
    /// `429 Too Many Requests` with `Retry-After: 1`.
    TooManyRequests,
    /// The connection closed once the request was read, without an answer.
    Closed,
}

#[derive(Default)]
struct State {
    users: HashMap<String, String>,
    /// refresh token → user
    refresh_tokens: Mutex<HashMap<String, String>>,
    expires_in: AtomicU64,
    /// How many of the next tokens grant pull only.
    narrow_next: AtomicUsize,
    /// How many of the next tokens are issued already expired.
    expired_next: AtomicUsize,
    /// How many of the next requests are answered 503.
    fail_next: AtomicUsize,
    /// How the next requests fail, one each, before `fail_next` counts.
    failures: Mutex<VecDeque<Failure>>,
    issued: AtomicUsize,
    /// Every token and refresh token handed out, to check that none is ever printed.
    secrets: Mutex<Vec<String>>,
    log: Mutex<Vec<TokenRequest>>,
    signer: Signer,
}

/// A running token server on 127.0.0.1; stopped on drop.
pub struct TokenIssuer {
    port: u16,
    state: Arc<State>,
    stop: Arc<AtomicBool>,
    dir: tempfile::TempDir,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl TokenIssuer {
    /// Starts an issuer that knows `users` (`(name, password)`), with tokens valid for 300 s.
    pub fn start(users: &[(&str, &str)]) -> TokenIssuer {
        let openssl = require_tool("openssl", "openssl");
        let dir = tempfile::Builder::new()
            .prefix("hoist-issuer-")
            .tempdir()
            .unwrap();
        let key = dir.path().join("issuer.key");
        let cert = dir.path().join("issuer.pem");
        run_ok(
            Command::new(&openssl)
                .args([
                    "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                ])
                .arg("-keyout")
                .arg(&key)
                .arg("-out")
                .arg(&cert)
                .args(["-subj", "/CN=hoist test token issuer"]),
        );
        let der = Command::new(&openssl)
            .args(["x509", "-outform", "DER", "-in"])
            .arg(&cert)
            .output()
            .unwrap();
        assert!(der.status.success(), "openssl x509 -outform DER failed");
        let state = Arc::new(State {
            users: users
                .iter()
                .map(|(u, p)| (u.to_string(), p.to_string()))
                .collect(),
            expires_in: AtomicU64::new(300),
            signer: Signer {
                openssl,
                key,
                certificate_der: base64::engine::general_purpose::STANDARD.encode(der.stdout),
            },
            ..State::default()
        });
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (state, stop) = (state.clone(), stop.clone());
            std::thread::spawn(move || {
                for stream in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(stream) = stream else { continue };
                    let state = state.clone();
                    std::thread::spawn(move || serve(&state, stream));
                }
            })
        };
        TokenIssuer {
            port,
            state,
            stop,
            dir,
            thread: Some(thread),
        }
    }

    /// The realm the registry's challenges name.
    pub fn realm(&self) -> String {
        format!("http://127.0.0.1:{}/token", self.port)
    }

    /// The certificate the registry trusts (`rootcertbundle`).
    pub fn certificate(&self) -> PathBuf {
        self.dir.path().join("issuer.pem")
    }

    /// The `expires_in` of the tokens issued from now on.
    pub fn set_expires_in(&self, seconds: u64) {
        self.state.expires_in.store(seconds, Ordering::SeqCst);
    }

    /// The next `n` tokens grant pull only, whatever is asked (→ `insufficient_scope` on a push).
    pub fn narrow_next(&self, n: usize) {
        self.state.narrow_next.store(n, Ordering::SeqCst);
    }

    /// The next `n` tokens expired two minutes ago (beyond the registry's leeway for clock skew).
    pub fn expired_next(&self, n: usize) {
        self.state.expired_next.store(n, Ordering::SeqCst);
    }

    /// The next `n` requests are answered `503` with a distribution-style error body.
    pub fn fail_next(&self, n: usize) {
        self.state.fail_next.store(n, Ordering::SeqCst);
    }

    /// The next requests fail as `failures` say, one each, in order (then `fail_next` applies).
    pub fn fail_with(&self, failures: &[Failure]) {
        self.state
            .failures
            .lock()
            .unwrap()
            .extend(failures.iter().copied());
    }

    /// A refresh token (an `identitytoken` in Docker's config) for `user`, as an OAuth2 POST with
    /// `access_type=offline` would give.
    pub fn refresh_token_for(&self, user: &str) -> String {
        let token = format!("hoist-refresh-{user}-{}", self.port);
        self.state
            .refresh_tokens
            .lock()
            .unwrap()
            .insert(token.clone(), user.to_string());
        token
    }

    /// Every request answered so far.
    pub fn requests(&self) -> Vec<TokenRequest> {
        self.state.log.lock().unwrap().clone()
    }

    /// Every token (and refresh token) issued so far.
    pub fn issued_tokens(&self) -> Vec<String> {
        self.state.secrets.lock().unwrap().clone()
    }

    /// Forgets the requests answered so far (those of seeding, say).
    pub fn forget(&self) {
        self.state.log.lock().unwrap().clear();
    }

    /// How many tokens were issued so far.
    pub fn issued(&self) -> usize {
        self.state.issued.load(Ordering::SeqCst)
    }
}

impl Drop for TokenIssuer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn serve(state: &State, mut stream: TcpStream) {
    let Some(req) = read_request(&stream) else {
        return;
    };
    let failure = state.failures.lock().unwrap().pop_front();
    let (status, body, entry) = match failure {
        Some(failure) => failed(failure, &req),
        None => answer(state, &req),
    };
    state.log.lock().unwrap().push(entry);
    if status == 0 {
        return; // closed without an answer
    }
    let reason = match status {
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        429 => "Too Many Requests",
        503 => "Service Unavailable",
        _ => "Error",
    };
    let retry_after = if status == 429 {
        "Retry-After: 1\r\n"
    } else {
        ""
    };
    let _ = write!(
        stream,
        "HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\n{retry_after}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
}

/// A request failed as `failure` says: the status (0: no answer), the body, the log entry.
fn failed(failure: Failure, req: &Request) -> (u16, String, TokenRequest) {
    let (status, code, message) = match failure {
        Failure::Unavailable => (503, "UNAVAILABLE", "token service restarting"),
        Failure::TooManyRequests => (429, "TOOMANYREQUESTS", "slow down"),
        Failure::Closed => (0, "", ""),
    };
    let entry = TokenRequest {
        method: req.method.clone(),
        grant: String::new(),
        user: None,
        scopes: Vec::new(),
        granted: Vec::new(),
        status,
    };
    let body = serde_json::json!({ "errors": [{ "code": code, "message": message }] });
    (status, body.to_string(), entry)
}

fn answer(state: &State, req: &Request) -> (u16, String, TokenRequest) {
    let get = |pairs: &[(String, String)], k: &str| {
        pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone())
    };
    let mut entry = TokenRequest {
        method: req.method.clone(),
        grant: String::new(),
        user: None,
        scopes: Vec::new(),
        granted: Vec::new(),
        status: 0,
    };
    let refused = |entry: &mut TokenRequest, status: u16, details: &str| {
        entry.status = status;
        (
            status,
            serde_json::json!({ "details": details }).to_string(),
            entry.clone(),
        )
    };
    if take_one(&state.fail_next) {
        entry.status = 503;
        let body = serde_json::json!({
            "errors": [{ "code": "UNAVAILABLE", "message": "token service down for maintenance" }]
        });
        return (503, body.to_string(), entry);
    }
    let (user, offline, service) = match req.method.as_str() {
        "GET" => {
            entry.scopes = req
                .query
                .iter()
                .filter(|(k, _)| k == "scope")
                .flat_map(|(_, v)| v.split(' ').map(str::to_string).collect::<Vec<_>>())
                .filter(|s| !s.is_empty())
                .collect();
            let offline = get(&req.query, "offline_token").as_deref() == Some("true");
            let service = get(&req.query, "service");
            match req
                .authorization
                .as_deref()
                .and_then(|a| a.strip_prefix("Basic "))
            {
                None => {
                    entry.grant = "anonymous".into();
                    (None, false, service)
                }
                Some(encoded) => {
                    entry.grant = "basic".into();
                    let raw = base64::engine::general_purpose::STANDARD
                        .decode(encoded.trim())
                        .unwrap_or_default();
                    let raw = String::from_utf8_lossy(&raw).into_owned();
                    let (u, p) = raw.split_once(':').unwrap_or((&raw, ""));
                    if state.users.get(u).map(String::as_str) != Some(p) {
                        return refused(&mut entry, 401, "incorrect username or password");
                    }
                    (Some(u.to_string()), offline, service)
                }
            }
        }
        "POST" => {
            let form = &req.form;
            entry.scopes = get(form, "scope")
                .unwrap_or_default()
                .split(' ')
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect();
            let offline = get(form, "access_type").as_deref() == Some("offline");
            let service = get(form, "service");
            if get(form, "client_id").is_none_or(|c| c.is_empty()) {
                return refused(&mut entry, 400, "client_id is required");
            }
            let grant = get(form, "grant_type").unwrap_or_default();
            entry.grant = grant.clone();
            let user = match grant.as_str() {
                "password" => {
                    let u = get(form, "username").unwrap_or_default();
                    let p = get(form, "password").unwrap_or_default();
                    if state.users.get(&u) != Some(&p) {
                        return refused(&mut entry, 401, "incorrect username or password");
                    }
                    u
                }
                "refresh_token" => {
                    let t = get(form, "refresh_token").unwrap_or_default();
                    match state.refresh_tokens.lock().unwrap().get(&t) {
                        Some(u) => u.clone(),
                        None => return refused(&mut entry, 401, "invalid refresh token"),
                    }
                }
                _ => return refused(&mut entry, 400, "unsupported grant_type"),
            };
            (Some(user), offline, service)
        }
        _ => return refused(&mut entry, 400, "GET or POST"),
    };
    if service.as_deref() != Some(SERVICE) {
        return refused(&mut entry, 400, "unknown service");
    }
    entry.user = user.clone();
    let narrow = take_one(&state.narrow_next);
    let expired = take_one(&state.expired_next);
    let mut access = Vec::new();
    for scope in &entry.scopes {
        let Some((kind_name, actions)) = scope.rsplit_once(':') else {
            continue;
        };
        let Some((kind, name)) = kind_name.split_once(':') else {
            continue;
        };
        let actions: Vec<&str> = actions
            .split(',')
            .filter(|a| user.is_some() && (!narrow || *a == "pull"))
            .collect();
        entry
            .granted
            .push(format!("{kind}:{name}:{}", actions.join(",")));
        access.push(serde_json::json!({ "type": kind, "name": name, "actions": actions }));
    }
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let expires_in = state.expires_in.load(Ordering::SeqCst);
    let (iat, exp) = if expired {
        (now - 600, now - 120)
    } else {
        (now, now + expires_in)
    };
    let n = state.issued.fetch_add(1, Ordering::SeqCst);
    let claims = serde_json::json!({
        "iss": ISSUER,
        "sub": user.clone().unwrap_or_default(),
        "aud": SERVICE,
        "exp": exp,
        "nbf": iat - 1,
        "iat": iat,
        "jti": format!("hoist-test-{n}"),
        "access": access,
    });
    let token = sign(&state.signer, &claims);
    state.secrets.lock().unwrap().push(token.clone());
    let mut body = serde_json::json!({
        "token": token,
        "access_token": token,
        "expires_in": expires_in,
        "issued_at": rfc3339(iat),
    });
    if offline && let Some(u) = &user {
        let refresh = format!("hoist-refresh-{u}-{n}");
        state
            .refresh_tokens
            .lock()
            .unwrap()
            .insert(refresh.clone(), u.clone());
        state.secrets.lock().unwrap().push(refresh.clone());
        body["refresh_token"] = refresh.into();
    }
    entry.status = 200;
    (200, body.to_string(), entry)
}

/// Takes one from a countdown; true when it was positive.
fn take_one(counter: &AtomicUsize) -> bool {
    counter
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok()
}
