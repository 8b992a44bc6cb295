//! A registry behind faults: Debian's `mitmproxy` (`mitmdump --mode reverse:…`) in front of a real
//! [`Registry`], with a small addon written here that answers a share of requests with 500, 503 or 429
//! (some with `Retry-After: 1`) and kills some connections (before the registry sees the request, or
//! after it answered), decided by a hash of a seed, the request and how often it was seen — so a run
//! is reproducible whatever order concurrent requests come in — and never failing the same request
//! more than `max_failures` times. Rules can fail chosen requests always, refuse blob `PUT`s that carry
//! a body (a registry that wants chunks), announce an `OCI-Chunk-Min-Length`, turn mounts into
//! plain upload sessions (a registry answering a mount with 202), lose each blob's first session, drop
//! manifest `Location`s, lie about a stored blob's digest, or answer hoist's first `GET /v2/` probes
//! with 503. Every fault and every `PATCH` is written to a JSON-lines log the test reads.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::registry::{Registry, http_get_status};
use super::require_tool;

const ADDON: &str = r#"
import hashlib, json, os, re
from mitmproxy import http

CONFIG = json.load(open(os.environ["HOIST_FAULTS_CONFIG"]))
LOG = open(CONFIG["log"], "a", buffering=1)


def log(kind, flow, **extra):
    entry = {"kind": kind, "method": flow.request.method, "path": flow.request.path.split("?")[0]}
    entry.update(extra)
    LOG.write(json.dumps(entry) + "\n")


def key_of(flow):
    """The same request across attempts and upload sessions: method, path with the session id
    replaced, and the digest or mount asked for."""
    path = re.sub(r"/blobs/uploads/[^/?]+", "/blobs/uploads/SESSION", flow.request.path.split("?")[0])
    q = flow.request.query
    return "%s %s %s%s" % (flow.request.method, path, q.get("digest", ""), q.get("mount", ""))


def error_body(status):
    code = {429: "TOOMANYREQUESTS", 500: "UNKNOWN", 503: "UNAVAILABLE"}.get(status, "UNKNOWN")
    return json.dumps({"errors": [{"code": code, "message": "injected by the fault proxy"}]}).encode()


class Faults:
    def __init__(self):
        self.seen = {}
        self.failed = {}

    def request(self, flow):
        req = flow.request
        body = req.raw_content or b""
        is_upload = "/blobs/uploads/" in req.path
        if CONFIG.get("refuse_mounts") and req.method == "POST" and "mount" in req.query:
            # As a registry that cannot mount: a plain upload session, answered 202.
            log("mount_refused", flow)
            del req.query["mount"]
            if "from" in req.query:
                del req.query["from"]
            return
        if req.method == "PATCH":
            log("patch", flow, size=len(body), range=req.headers.get("Content-Range", ""))
        if CONFIG.get("refuse_put_with_body") and req.method == "PUT" and is_upload and len(body) > 0:
            log("refused_put", flow, size=len(body))
            flow.response = http.Response.make(
                413, b'{"errors":[{"code":"SIZE_LIMIT","message":"send chunks"}]}',
                {"Content-Type": "application/json"})
            return
        if CONFIG.get("lose_sessions") and req.method == "PUT" and is_upload:
            key = "lost " + req.query.get("digest", "")
            if key not in self.seen:
                self.seen[key] = 1
                log("session_lost", flow)
                flow.response = http.Response.make(
                    404, b'{"errors":[{"code":"BLOB_UPLOAD_UNKNOWN","message":"blob upload unknown"}]}',
                    {"Content-Type": "application/json"})
                return
        for rule in CONFIG.get("always", []):
            if req.method == rule["method"] and rule["path_contains"] in req.path:
                status = rule["status"]
                log("status", flow, status=status, rule=True)
                headers = {"Content-Type": "application/json"}
                if rule.get("retry_after"):
                    headers["Retry-After"] = rule["retry_after"]
                flow.response = http.Response.make(status, error_body(status), headers)
                return
        if req.path == "/v2/":
            # hoist's probe (a login's check, a pull's challenge), not the test's readiness probe.
            if req.headers.get("User-Agent", "").startswith("hoist/") \
                    and self.failed.get("probe", 0) < CONFIG.get("fail_probes", 0):
                self.failed["probe"] = self.failed.get("probe", 0) + 1
                log("status", flow, status=503, probe=True)
                flow.response = http.Response.make(503, error_body(503), {"Content-Type": "application/json"})
            return  # the readiness probe is never failed
        key = key_of(flow)
        n = self.seen.get(key, 0)
        self.seen[key] = n + 1
        if self.failed.get(key, 0) >= CONFIG["max_failures"]:
            return
        h = hashlib.sha256(("%s|%s|%d" % (CONFIG["seed"], key, n)).encode()).digest()
        if int.from_bytes(h[:4], "big") / 2**32 >= CONFIG["rate"]:
            return
        self.failed[key] = self.failed.get(key, 0) + 1
        kinds = CONFIG["kinds"]
        kind = kinds[h[4] % len(kinds)]
        if kind == "kill":
            log("kill", flow)
            flow.kill()
        elif kind == "kill_after":
            flow.metadata["hoist_kill_after"] = True
        else:
            status, _, retry_after = kind.partition("+")
            status = int(status)
            headers = {"Content-Type": "application/json"}
            if retry_after:
                headers["Retry-After"] = retry_after
            log("status", flow, status=status, retry_after=retry_after)
            flow.response = http.Response.make(status, error_body(status), headers)

    def response(self, flow):
        if flow.metadata.get("hoist_kill_after"):
            log("kill_after", flow, status=flow.response.status_code)
            flow.kill()
            return
        if CONFIG.get("strip_manifest_location") and flow.request.method == "PUT" \
                and "/manifests/" in flow.request.path and "Location" in flow.response.headers:
            del flow.response.headers["Location"]
            log("location_stripped", flow)
        if CONFIG.get("wrong_blob_digest") and flow.request.method == "PUT" \
                and "/blobs/uploads/" in flow.request.path and flow.response.status_code == 201:
            flow.response.headers["Docker-Content-Digest"] = "sha256:" + "0" * 64
            log("digest_rewritten", flow)
        min_chunk = CONFIG.get("chunk_min_length")
        if min_chunk and flow.request.method == "POST" and flow.response.status_code == 202:
            flow.response.headers["OCI-Chunk-Min-Length"] = str(min_chunk)


addons = [Faults()]
"#;

/// What the proxy does to requests.
#[derive(Clone, Debug)]
pub struct Faults {
    pub seed: u64,
    /// Share of requests failed (0.0–1.0), until a request has failed `max_failures` times.
    pub rate: f64,
    pub max_failures: u32,
    /// Among: `"500"`, `"503"`, `"429"`, `"429+1"` (with `Retry-After: 1`), `"kill"` (before the
    /// registry sees the request), `"kill_after"` (after the registry answered).
    pub kinds: Vec<&'static str>,
    /// `(method, path fragment, status, Retry-After)`: requests answered so every time. The path
    /// includes the query: `("POST", "?mount=", 503, None)` fails every cross-repository mount.
    pub always: Vec<(&'static str, &'static str, u16, Option<&'static str>)>,
    /// Answer 413 to every blob `PUT` that carries a body: only chunked uploads get through.
    pub refuse_put_with_body: bool,
    /// Announce this `OCI-Chunk-Min-Length` on every upload session opened.
    pub chunk_min_length: Option<u64>,
    /// Turn every cross-repository mount into a plain upload `POST`: the registry answers 202 with a
    /// session, as one that cannot mount does.
    pub refuse_mounts: bool,
    /// Answer the first closing `PUT` of each blob's upload with 404 `BLOB_UPLOAD_UNKNOWN`, as a
    /// registry that lost the session does.
    pub lose_sessions: bool,
    /// Drop the `Location` of every manifest `PUT` answer (the spec's registries send one; hoist must
    /// not need it).
    pub strip_manifest_location: bool,
    /// Answer every stored blob with a wrong `Docker-Content-Digest`.
    pub wrong_blob_digest: bool,
    /// Answer the first this many `GET /v2/` from hoist (not the readiness probe) with 503.
    pub fail_probes: u32,
}

impl Default for Faults {
    fn default() -> Faults {
        Faults {
            seed: 1,
            rate: 0.0,
            max_failures: 2,
            kinds: vec!["500", "503", "429", "429+1", "kill", "kill_after"],
            always: Vec::new(),
            refuse_put_with_body: false,
            chunk_min_length: None,
            refuse_mounts: false,
            lose_sessions: false,
            strip_manifest_location: false,
            wrong_blob_digest: false,
            fail_probes: 0,
        }
    }
}

/// A running `mitmdump` reverse proxy in front of a registry; stopped and reaped on drop.
pub struct FaultProxy {
    child: Child,
    port: u16,
    dir: tempfile::TempDir,
}

impl FaultProxy {
    /// Starts `mitmdump` in front of `registry` with `faults`; returns once it forwards `GET /v2/`.
    pub fn start(registry: &Registry, faults: &Faults) -> FaultProxy {
        let mut dir;
        let mitmdump = require_tool("mitmdump", "mitmproxy");
        dir = tempfile::Builder::new()
            .prefix("hoist-faults-")
            .tempdir()
            .unwrap();
        let addon = dir.path().join("faults.py");
        std::fs::write(&addon, ADDON).unwrap();
        let log = dir.path().join("faults.jsonl");
        let config = json!({
            "log": log,
            "seed": faults.seed,
            "rate": faults.rate,
            "max_failures": faults.max_failures,
            "kinds": faults.kinds,
            "always": faults.always.iter().map(|(method, path, status, retry_after)| json!({
                "method": method, "path_contains": path, "status": status, "retry_after": retry_after,
            })).collect::<Vec<_>>(),
            "refuse_put_with_body": faults.refuse_put_with_body,
            "chunk_min_length": faults.chunk_min_length,
            "refuse_mounts": faults.refuse_mounts,
            "lose_sessions": faults.lose_sessions,
            "strip_manifest_location": faults.strip_manifest_location,
            "wrong_blob_digest": faults.wrong_blob_digest,
            "fail_probes": faults.fail_probes,
        });
        let config_path = dir.path().join("faults.json");
        std::fs::write(&config_path, config.to_string()).unwrap();
        let mut last = String::new();
        for _ in 0..5 {
            let port = std::net::TcpListener::bind(("127.0.0.1", 0))
                .unwrap()
                .local_addr()
                .unwrap()
                .port();
            let out = std::fs::File::create(dir.path().join("mitmdump.log")).unwrap();
            let child = Command::new(&mitmdump)
                .arg("--mode")
                .arg(format!("reverse:http://{}", registry.host()))
                .args(["--listen-host", "127.0.0.1", "--listen-port"])
                .arg(port.to_string())
                // The registry builds upload `Location`s from the Host it sees: keep the proxy's, so
                // every request comes back through the proxy.
                .args(["--set", "keep_host_header=true", "--set"])
                .arg(format!("confdir={}", dir.path().join("conf").display()))
                .arg("-q")
                .arg("-s")
                .arg(&addon)
                .env("HOIST_FAULTS_CONFIG", &config_path)
                .stdin(Stdio::null())
                .stdout(out.try_clone().unwrap())
                .stderr(out)
                .spawn()
                .unwrap_or_else(|e| panic!("cannot start mitmdump: {e}"));
            let mut proxy = FaultProxy { child, port, dir };
            match proxy.wait_ready(Duration::from_secs(30)) {
                Ok(()) => return proxy,
                Err(e) => {
                    // Maybe the port was taken in between: stop it and try another.
                    last = format!("{e}; mitmdump said:\n{}", proxy.output());
                    let _ = proxy.child.kill();
                    let _ = proxy.child.wait();
                    dir = std::mem::replace(&mut proxy.dir, tempfile::tempdir().unwrap());
                }
            }
        }
        panic!("mitmdump did not come up: {last}");
    }

    /// `127.0.0.1:PORT`: the registry as hoist should reach it, through the faults.
    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Every fault injected (and every `PATCH` seen), in order.
    pub fn log(&self) -> Vec<Value> {
        std::fs::read_to_string(self.dir.path().join("faults.jsonl"))
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).expect("a JSON log line"))
            .collect()
    }

    fn output(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("mitmdump.log")).unwrap_or_default()
    }

    fn wait_ready(&mut self, timeout: Duration) -> Result<(), String> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(format!("mitmdump exited early ({status})"));
            }
            match http_get_status(self.port, "/v2/") {
                // 401: a registry behind auth, reached.
                Ok(200 | 401) => return Ok(()),
                Ok(_) | Err(_) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(100))
                }
                Ok(code) => return Err(format!("GET /v2/ through the proxy answered {code}")),
                Err(e) => return Err(format!("GET /v2/ through the proxy never answered: {e}")),
            }
        }
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
