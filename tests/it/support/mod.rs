//! Test support: the real parts every integration test stands on (see the testing guide) — a loopback
//! `docker-registry` (open, htpasswd, token auth with its JWT issuer, TLS, mTLS), a forward proxy,
//! base images built without Docker Hub (busybox, Debian 13, a hostile layer), the third-party readers
//! and reference builder (skopeo, umoci, buildah), unprivileged test users, and a builder for `hoist`
//! command lines.

#![allow(dead_code)]

pub mod arm64_busybox;
pub mod base_image;
pub mod debian_image;
pub mod fault_proxy;
pub mod hostile;
pub mod oci;
pub mod proxy;
pub mod registry;
pub mod token_issuer;
pub mod tools;
pub mod users;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub use base_image::{busybox_layout, seed_busybox};
pub use debian_image::{
    buildpack_images, debian_layout, debian_world, java_images, lang_images, seed_debian,
};
pub use hostile::{hostile_layout, seed_hostile};
pub use registry::Registry;
pub use token_issuer::TokenIssuer;
pub use tools::{
    Inspect, TreeEntry, buildah_build, layout_tree, skopeo, skopeo_inspect, tree_differences,
    tree_snapshot, umoci_unpack,
};
pub use users::{SINGLE_ID_USER, SUBID_USER, TestUser, as_user};

/// The repository's `fixtures/` directory.
pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

/// A Dockerfile case under `fixtures/dockerfile/<case>/`.
pub fn case(name: &str) -> PathBuf {
    fixtures().join("dockerfile").join(name)
}

/// Panics, naming the Debian package to install, when `tool` is not on PATH. Tests never skip silently.
pub fn require_tool(tool: &str, apt_package: &str) -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    for dir in std::env::split_paths(&path) {
        let candidate = dir.join(tool);
        if candidate.is_file() {
            return candidate;
        }
    }
    panic!(
        "`{tool}` is not installed; these tests need it.\nhint: `apt-get install -y {apt_package}` \
         (or run `.ci/run` as root, which installs the test tools)"
    );
}

/// Runs a command, capturing its output; panics if it cannot even start.
pub fn run(cmd: &mut Command) -> Output {
    cmd.output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"))
}

/// Runs a command and panics with its stderr unless it exits 0; returns stdout as text.
pub fn run_ok(cmd: &mut Command) -> String {
    let out = run(cmd);
    assert!(
        out.status.success(),
        "{cmd:?} failed ({}):\nstdout:\n{}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("stdout is UTF-8")
}

/// Copies a directory tree (files, dirs, symlinks; modes kept) to `dest`, which must not exist.
pub fn copy_tree(src: &Path, dest: &Path) {
    use std::os::unix::fs::PermissionsExt;
    for entry in walkdir::WalkDir::new(src).sort_by_file_name() {
        let entry = entry.expect("walk fixture");
        let rel = entry.path().strip_prefix(src).unwrap();
        let to = dest.join(rel);
        let ft = entry.file_type();
        if ft.is_dir() {
            std::fs::create_dir_all(&to).unwrap();
        } else if ft.is_symlink() {
            let target = std::fs::read_link(entry.path()).unwrap();
            std::os::unix::fs::symlink(target, &to).unwrap();
        } else {
            std::fs::copy(entry.path(), &to).unwrap();
            let mode = entry.metadata().unwrap().permissions().mode();
            std::fs::set_permissions(&to, std::fs::Permissions::from_mode(mode)).unwrap();
        }
    }
}

/// One test's scratch space: a context copy, a cache dir for hoist, output paths.
pub struct Sandbox {
    pub dir: tempfile::TempDir,
}

/// What one `hoist` run did.
#[derive(Debug)]
pub struct HoistRun {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl HoistRun {
    /// Panics with hoist's stderr unless it exited 0.
    pub fn ok(self) -> HoistRun {
        assert_eq!(
            self.code,
            Some(0),
            "hoist failed:\nstdout:\n{}\nstderr:\n{}",
            self.stdout,
            self.stderr
        );
        self
    }

    /// Panics unless hoist exited non-zero with an `error:` line on stderr.
    pub fn failed(self) -> HoistRun {
        assert!(
            self.code.is_some_and(|c| c != 0),
            "hoist was expected to fail but exited {:?}:\nstdout:\n{}\nstderr:\n{}",
            self.code,
            self.stdout,
            self.stderr
        );
        assert!(
            self.stderr.contains("error:"),
            "hoist failed without an `error:` line:\n{}",
            self.stderr
        );
        self
    }

    /// The single line of stdout (a digest or `REF@DIGEST`).
    pub fn line(&self) -> &str {
        let lines: Vec<&str> = self.stdout.lines().collect();
        assert_eq!(
            lines.len(),
            1,
            "expected one stdout line, got {:?}",
            self.stdout
        );
        lines[0]
    }
}

impl Sandbox {
    pub fn new() -> Sandbox {
        Sandbox {
            dir: tempfile::Builder::new()
                .prefix("hoist-it-")
                .tempdir()
                .expect("tempdir"),
        }
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// hoist's cache dir for this test (HOIST_CACHE_DIR).
    pub fn cache(&self) -> PathBuf {
        self.path("cache")
    }

    /// Copies `fixtures/dockerfile/<name>` to `<sandbox>/<name>` and returns that context dir.
    pub fn context(&self, name: &str) -> PathBuf {
        let dest = self.path(name);
        copy_tree(&case(name), &dest);
        dest
    }

    /// `hoist build --progress plain` with HOIST_CACHE_DIR set to this sandbox's cache.
    pub fn hoist(&self) -> Command {
        self.hoist_with_cache(&self.cache())
    }

    /// `hoist build --dir CONTEXT --output oci:OUT`, pulling `FROM busybox` through `registry`.
    pub fn build_layout(&self, registry: &Registry, context: &Path, out: &Path) -> Command {
        let mut cmd = self.hoist();
        cmd.args(mirror(registry))
            .arg("--dir")
            .arg(context)
            .arg("--output")
            .arg(format!("oci:{}", out.display()));
        cmd
    }

    pub fn hoist_with_cache(&self, cache: &Path) -> Command {
        self.hoist_command(Path::new(env!("CARGO_BIN_EXE_hoist")), cache)
    }

    /// `BINARY build --progress plain` with HOIST_CACHE_DIR `cache`, run in this sandbox.
    pub fn hoist_command(&self, binary: &Path, cache: &Path) -> Command {
        let mut cmd = Command::new(binary);
        cmd.arg("build")
            .arg("--progress")
            .arg("plain")
            .env("HOIST_CACHE_DIR", cache)
            .env_remove("SOURCE_DATE_EPOCH")
            .current_dir(self.dir.path());
        cmd
    }
}

/// Runs a prepared hoist command.
pub fn hoist_run(cmd: &mut Command) -> HoistRun {
    let out = run(cmd);
    HoistRun {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Lowercase hex SHA-256 of `data`.
pub fn sha256_hex(data: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(data))
}

/// A registry seeded with `library/busybox:latest` and a sandbox, for tests whose Dockerfile says
/// `FROM busybox`; pass [`mirror`] to hoist.
pub fn busybox_world() -> (Registry, Sandbox) {
    let registry = Registry::start();
    seed_busybox(&registry);
    (registry, Sandbox::new())
}

/// `--registry-mirror docker.io=127.0.0.1:PORT` for `registry`.
pub fn mirror(registry: &Registry) -> [String; 2] {
    [
        "--registry-mirror".to_string(),
        format!("docker.io={}", registry.host()),
    ]
}

/// Writes `bundle.tar.gz` (for `ADD` auto-extraction) into `context`: `bin/tool` (0755), `share/readme.txt`
/// (0644), a `share/link` symlink and their directories, all owned by 0:0.
pub fn write_bundle(context: &Path) {
    use std::io::Write;
    let mut b = tar::Builder::new(Vec::new());
    let mut add = |path: &str, kind: tar::EntryType, mode: u32, data: &[u8], link: Option<&str>| {
        let mut h = tar::Header::new_ustar();
        h.set_entry_type(kind);
        h.set_mode(mode);
        h.set_size(data.len() as u64);
        h.set_mtime(1_600_000_000);
        h.set_uid(0);
        h.set_gid(0);
        match link {
            Some(target) => b.append_link(&mut h, path, target).unwrap(),
            None => b.append_data(&mut h, path, data).unwrap(),
        }
    };
    add("bin/", tar::EntryType::Directory, 0o755, b"", None);
    add(
        "bin/tool",
        tar::EntryType::Regular,
        0o755,
        b"#!/bin/sh\necho tool\n",
        None,
    );
    add("share/", tar::EntryType::Directory, 0o755, b"", None);
    add(
        "share/readme.txt",
        tar::EntryType::Regular,
        0o644,
        b"from the archive\n",
        None,
    );
    add(
        "share/link",
        tar::EntryType::Symlink,
        0o777,
        b"",
        Some("readme.txt"),
    );
    let tar = b.into_inner().unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&tar).unwrap();
    std::fs::write(context.join("bundle.tar.gz"), gz.finish().unwrap()).unwrap();
}

/// The CA bundle this machine trusts: `$SSL_CERT_FILE`, else Debian's `/etc/ssl/certs/ca-certificates.crt`.
/// Where HTTPS to the package registries goes through an intercepting proxy (as on these machines),
/// this bundle holds the proxy's CA and an image's own bundle does not.
pub fn host_ca_bundle() -> PathBuf {
    let path = std::env::var_os("SSL_CERT_FILE")
        .map(PathBuf::from)
        .filter(|p| p.is_file())
        .unwrap_or_else(|| PathBuf::from("/etc/ssl/certs/ca-certificates.crt"));
    assert!(
        path.is_file(),
        "no CA bundle at {}\nhint: `apt-get install -y ca-certificates`",
        path.display()
    );
    path
}

/// The file [`trust_host_ca`] writes into a build context.
pub const HOST_CA_FILE: &str = "host-ca-certificates.crt";

/// Lets RUN steps reach PyPI, npm and other HTTPS registries from a Debian-based image on this
/// machine: copies [`host_ca_bundle`] into `context` as [`HOST_CA_FILE`] and returns the Dockerfile
/// line that installs it as the image's CA bundle (`COPY ... /etc/ssl/certs/ca-certificates.crt`,
/// which Debian's pip, Python, curl and apt read). Put it right after `FROM`; it adds a layer.
pub fn trust_host_ca(context: &Path) -> String {
    std::fs::copy(host_ca_bundle(), context.join(HOST_CA_FILE)).unwrap();
    format!("COPY {HOST_CA_FILE} /etc/ssl/certs/ca-certificates.crt\n")
}

/// The manifest digest an OCI layout's index.json gives for `tag`.
pub fn layout_digest(layout: &Path, tag: &str) -> String {
    let index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(layout.join("index.json")).unwrap()).unwrap();
    index["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["annotations"]["org.opencontainers.image.ref.name"] == tag)
        .unwrap_or_else(|| panic!("no manifest tagged {tag:?} in {index}"))["digest"]
        .as_str()
        .unwrap()
        .to_string()
}
