//! Base images without Docker Hub: a one-layer busybox image (OCI image layout, written by hand here,
//! independently of hoist's own image code) from Debian's `busybox-static`, cached under
//! `~/.cache/hoist-fixtures/<hash of recipe>/` and pushed into a loopback registry with skopeo.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use serde_json::json;

use super::{Registry, require_tool, run_ok, sha256_hex};

/// Bump when the image recipe below changes: it is part of the cache key.
const RECIPE_VERSION: &str = "busybox-layout v1";

const PATH_ENV: &str = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

const PASSWD: &str = "root:x:0:0:root:/root:/bin/sh\n\
app:x:1000:1000:app:/home/app:/bin/sh\n\
nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n";

const GROUP: &str = "root:x:0:\napp:x:1000:\nnogroup:x:65534:\n";

/// The cached OCI layout of the busybox image, tag `latest`; built once per machine (per recipe).
pub fn busybox_layout() -> PathBuf {
    static LAYOUT: OnceLock<PathBuf> = OnceLock::new();
    LAYOUT.get_or_init(build_or_reuse).clone()
}

/// Pushes the busybox image into `registry` as `library/busybox:latest` (what `FROM busybox` resolves to
/// through `--registry-mirror docker.io=HOST`). Returns `HOST/library/busybox:latest`.
pub fn seed_busybox(registry: &Registry) -> String {
    let layout = busybox_layout();
    let skopeo = require_tool("skopeo", "skopeo");
    let dest = format!("{}/library/busybox:latest", registry.host());
    let mut cmd = Command::new(skopeo);
    cmd.arg("copy")
        .arg("--quiet")
        .arg("--dest-tls-verify=false");
    if let Some((user, pass)) = &registry.credentials {
        cmd.arg(format!("--dest-creds={user}:{pass}"));
    }
    cmd.arg(format!("oci:{}:latest", layout.display()))
        .arg(format!("docker://{dest}"));
    run_ok(&mut cmd);
    dest
}

fn busybox_binary() -> PathBuf {
    let path = PathBuf::from("/bin/busybox");
    if !path.is_file() {
        panic!("`/bin/busybox` is missing.\nhint: `apt-get install -y busybox-static`");
    }
    path
}

pub(super) fn cache_root() -> PathBuf {
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_else(std::env::temp_dir);
    home.join(".cache").join("hoist-fixtures")
}

fn build_or_reuse() -> PathBuf {
    let busybox = busybox_binary();
    let help = run_ok(Command::new(&busybox).arg("--help"));
    let first_line = help.lines().next().unwrap_or_default().to_string();
    let key = sha256_hex(format!("{first_line}\n{RECIPE_VERSION}").as_bytes());
    let root = cache_root();
    let dest = root.join(&key[..16]);
    if dest.join("index.json").is_file() {
        return dest;
    }
    std::fs::create_dir_all(&root).unwrap();
    // Build beside the destination and rename into place, so parallel test processes never see a
    // half-written layout.
    let staging = tempfile::Builder::new()
        .prefix(".building-")
        .tempdir_in(&root)
        .unwrap();
    write_layout(staging.path(), &busybox);
    let staged = staging.keep();
    if std::fs::rename(&staged, &dest).is_err() {
        // Someone else finished first; theirs is identical.
        let _ = std::fs::remove_dir_all(&staged);
    }
    assert!(
        dest.join("index.json").is_file(),
        "busybox layout missing at {}",
        dest.display()
    );
    dest
}

/// The applet paths busybox installs (`bin/sh`, `usr/bin/env`, ...), relative, sorted.
fn applets(busybox: &Path) -> Vec<String> {
    let list = run_ok(Command::new(busybox).arg("--list-full"));
    let mut applets: Vec<String> = list
        .lines()
        .map(|l| l.trim().trim_start_matches('/').to_string())
        .filter(|l| !l.is_empty() && l != "bin/busybox")
        .collect();
    for required in [
        "bin/sh",
        "bin/ls",
        "bin/cat",
        "bin/echo",
        "usr/bin/id",
        "usr/bin/env",
        "bin/true",
    ] {
        let name = required.rsplit('/').next().unwrap();
        if !applets.iter().any(|a| a.rsplit('/').next() == Some(name)) {
            applets.push(required.to_string());
        }
    }
    applets.sort();
    applets.dedup();
    applets
}

fn header(kind: tar::EntryType, mode: u32, size: u64) -> tar::Header {
    let mut h = tar::Header::new_ustar();
    h.set_entry_type(kind);
    h.set_mode(mode);
    h.set_size(size);
    h.set_uid(0);
    h.set_gid(0);
    h.set_mtime(0);
    h
}

/// The uncompressed layer: deterministic (sorted, mtime 0, root-owned except `/home/app`).
fn layer_tar(busybox: &Path) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    let dir = |b: &mut tar::Builder<Vec<u8>>, path: &str, mode: u32, owner: u64| {
        let mut h = header(tar::EntryType::Directory, mode, 0);
        h.set_uid(owner);
        h.set_gid(owner);
        b.append_data(&mut h, format!("{path}/"), std::io::empty())
            .unwrap();
    };
    let file = |b: &mut tar::Builder<Vec<u8>>, path: &str, mode: u32, data: &[u8]| {
        let mut h = header(tar::EntryType::Regular, mode, data.len() as u64);
        b.append_data(&mut h, path, data).unwrap();
    };
    let applets = applets(busybox);
    let mut dirs: Vec<String> = vec![
        "bin".into(),
        "etc".into(),
        "home".into(),
        "root".into(),
        "tmp".into(),
    ];
    for a in &applets {
        let mut p = Path::new(a).parent();
        while let Some(parent) = p.filter(|p| !p.as_os_str().is_empty()) {
            dirs.push(parent.to_string_lossy().into_owned());
            p = parent.parent();
        }
    }
    dirs.sort();
    dirs.dedup();
    for d in &dirs {
        let mode = match d.as_str() {
            "tmp" => 0o1777,
            "root" => 0o700,
            _ => 0o755,
        };
        dir(&mut b, d, mode, 0);
        if d == "home" {
            dir(&mut b, "home/app", 0o755, 1000);
        }
    }
    let binary = std::fs::read(busybox).unwrap();
    file(&mut b, "bin/busybox", 0o755, &binary);
    file(&mut b, "etc/group", 0o644, GROUP.as_bytes());
    file(&mut b, "etc/passwd", 0o644, PASSWD.as_bytes());
    for a in &applets {
        let mut h = header(tar::EntryType::Symlink, 0o777, 0);
        b.append_link(&mut h, a, "/bin/busybox").unwrap();
    }
    b.into_inner().unwrap()
}

fn write_blob(layout: &Path, data: &[u8]) -> String {
    let hex = sha256_hex(data);
    std::fs::write(layout.join("blobs/sha256").join(&hex), data).unwrap();
    format!("sha256:{hex}")
}

fn write_layout(layout: &Path, busybox: &Path) {
    std::fs::create_dir_all(layout.join("blobs/sha256")).unwrap();
    let tar = layer_tar(busybox);
    let diff_id = format!("sha256:{}", sha256_hex(&tar));
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&tar).unwrap();
    let gz = gz.finish().unwrap();
    let layer_digest = write_blob(layout, &gz);
    let config = json!({
        "created": "1970-01-01T00:00:00Z",
        "architecture": "amd64",
        "os": "linux",
        "config": { "Env": [PATH_ENV], "Cmd": ["sh"] },
        "rootfs": { "type": "layers", "diff_ids": [diff_id] },
        "history": [{
            "created": "1970-01-01T00:00:00Z",
            "created_by": "hoist test fixture: busybox-static layer"
        }]
    });
    let config = serde_json::to_vec(&config).unwrap();
    let config_digest = write_blob(layout, &config);
    let manifest = json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {
            "mediaType": "application/vnd.oci.image.config.v1+json",
            "digest": config_digest,
            "size": config.len()
        },
        "layers": [{
            "mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
            "digest": layer_digest,
            "size": gz.len()
        }]
    });
    let manifest = serde_json::to_vec(&manifest).unwrap();
    let manifest_digest = write_blob(layout, &manifest);
    let index = json!({
        "schemaVersion": 2,
        "manifests": [{
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": manifest_digest,
            "size": manifest.len(),
            "annotations": { "org.opencontainers.image.ref.name": "latest" },
            "platform": { "architecture": "amd64", "os": "linux" }
        }]
    });
    std::fs::write(
        layout.join("index.json"),
        serde_json::to_vec(&index).unwrap(),
    )
    .unwrap();
    std::fs::write(
        layout.join("oci-layout"),
        br#"{"imageLayoutVersion":"1.0.0"}"#,
    )
    .unwrap();
}
