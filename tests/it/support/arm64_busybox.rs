//! A real foreign-architecture binary: Debian's `busybox-static:arm64` (an aarch64 ELF executable),
//! downloaded with `apt-get download`, unpacked with `dpkg-deb -x` and cached under
//! `~/.cache/hoist-fixtures/arm64-busybox-<package version>/busybox`. Needs the arm64 architecture in
//! dpkg (`dpkg --add-architecture arm64 && apt-get update`, which `.ci/run` does when root).

use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

use super::base_image::cache_root;
use super::{require_tool, run_ok};

const PACKAGE: &str = "busybox-static:arm64";

/// The path of the cached arm64 busybox binary; fetched once per machine (per package version).
pub fn arm64_busybox() -> PathBuf {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY.get_or_init(fetch_or_reuse).clone()
}

fn version() -> String {
    let out = Command::new(require_tool("apt-cache", "apt"))
        .args(["show", "--no-all-versions", PACKAGE])
        .output()
        .expect("cannot run apt-cache");
    let text = String::from_utf8_lossy(&out.stdout);
    let version = text
        .lines()
        .find_map(|l| l.strip_prefix("Version: "))
        .map(str::trim)
        .filter(|_| out.status.success());
    match version {
        Some(v) => v.to_string(),
        None => panic!(
            "apt knows no `{PACKAGE}`; the architecture tests need a real arm64 binary.\n\
             hint: `dpkg --add-architecture arm64 && apt-get update` (or run `.ci/run` as root)"
        ),
    }
}

fn fetch_or_reuse() -> PathBuf {
    let version = version();
    let key: String = version
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let dir = cache_root().join(format!("arm64-busybox-{key}"));
    let binary = dir.join("busybox");
    if binary.is_file() {
        return binary;
    }
    let work = tempfile::tempdir().expect("tempdir");
    run_ok(
        Command::new(require_tool("apt-get", "apt"))
            .args(["download", &format!("busybox-static:arm64={version}")])
            .current_dir(work.path()),
    );
    let deb = std::fs::read_dir(work.path())
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|e| e == "deb"))
        .expect("apt-get download wrote no .deb");
    let root = work.path().join("root");
    run_ok(
        Command::new(require_tool("dpkg-deb", "dpkg"))
            .arg("-x")
            .arg(&deb)
            .arg(&root),
    );
    std::fs::create_dir_all(&dir).unwrap();
    // Copy then rename: a concurrent test never sees a half-written binary.
    let partial = dir.join(format!("busybox.partial-{}", std::process::id()));
    std::fs::copy(root.join("bin/busybox"), &partial).expect("the package holds no `bin/busybox`");
    std::fs::rename(&partial, &binary).unwrap();
    binary
}
