//! Base images without Docker Hub: a one-layer busybox image (OCI image layout, written by hand with
//! [`LayoutWriter`], independently of hoist's own image code) from Debian's `busybox-static`, cached
//! under `~/.cache/hoist-fixtures/busybox-<hash of recipe>/` and pushed into a loopback registry with
//! skopeo.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use serde_json::json;

pub use super::oci::cache_root;
use super::oci::{LayoutWriter, PATH_ENV, cached_dir, push_layout, tar_header as header};
use super::{Registry, run_ok};

/// Bump when the image recipe below changes: it is part of the cache key.
const RECIPE_VERSION: &str = "busybox-layout v1";

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
    push_layout(
        registry,
        &busybox_layout(),
        "latest",
        "library/busybox",
        "latest",
    )
}

fn busybox_binary() -> PathBuf {
    let path = PathBuf::from("/bin/busybox");
    if !path.is_file() {
        panic!("`/bin/busybox` is missing.\nhint: `apt-get install -y busybox-static`");
    }
    path
}

fn build_or_reuse() -> PathBuf {
    let busybox = busybox_binary();
    let help = run_ok(Command::new(&busybox).arg("--help"));
    let first_line = help.lines().next().unwrap_or_default().to_string();
    cached_dir(
        "busybox",
        &format!("{first_line}\n{RECIPE_VERSION}"),
        |dir| write_layout(dir, &busybox),
    )
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

/// The busybox layer with `binary` as `/bin/busybox` (the applet list comes from this machine's
/// busybox, which can run): how the arm64 fixtures are made.
pub fn busybox_tar(binary: &Path) -> Vec<u8> {
    layer_tar_with(&busybox_binary(), binary)
}

/// The uncompressed layer: deterministic (sorted, mtime 0, root-owned except `/home/app`).
fn layer_tar(busybox: &Path) -> Vec<u8> {
    layer_tar_with(busybox, busybox)
}

fn layer_tar_with(busybox: &Path, binary: &Path) -> Vec<u8> {
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
    let binary = std::fs::read(binary).unwrap();
    file(&mut b, "bin/busybox", 0o755, &binary);
    file(&mut b, "etc/group", 0o644, GROUP.as_bytes());
    file(&mut b, "etc/passwd", 0o644, PASSWD.as_bytes());
    for a in &applets {
        let mut h = header(tar::EntryType::Symlink, 0o777, 0);
        b.append_link(&mut h, a, "/bin/busybox").unwrap();
    }
    b.into_inner().unwrap()
}

fn write_layout(layout: &Path, busybox: &Path) {
    let mut writer = LayoutWriter::new(layout);
    let layer = writer.gzip_layer(
        &layer_tar(busybox),
        "hoist test fixture: busybox-static layer",
    );
    writer.image(
        "latest",
        &[layer],
        json!({ "Env": [PATH_ENV], "Cmd": ["sh"] }),
    );
    writer.finish();
}
