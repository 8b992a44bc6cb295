//! Independent readers of what hoist writes: skopeo (registry, OCI layout, docker-archive), umoci
//! (unpacks an OCI layout to a root filesystem) and a tar reader for the layers of an OCI layout, so
//! file trees can be compared by path, kind, mode, owner, link target and content.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use super::{require_tool, run_ok, sha256_hex};

/// What `skopeo inspect` prints.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Inspect {
    /// skopeo's summary (Digest, Layers, Env, Labels, ...).
    Info,
    /// `--raw`: the manifest (or index) exactly as stored.
    Raw,
    /// `--config`: the image config.
    Config,
}

/// A `skopeo` command; panics naming the package when it is missing.
pub fn skopeo() -> Command {
    Command::new(require_tool("skopeo", "skopeo"))
}

/// `skopeo inspect [--raw|--config] REFERENCE` as JSON. `reference` is a skopeo transport reference
/// (`docker://127.0.0.1:PORT/app:v1`, `oci:DIR:TAG`, `docker-archive:FILE`); TLS verification is off.
pub fn skopeo_inspect(reference: &str, what: Inspect) -> Value {
    let mut cmd = skopeo();
    cmd.arg("inspect");
    if reference.starts_with("docker://") {
        cmd.arg("--tls-verify=false");
    }
    match what {
        Inspect::Info => {}
        Inspect::Raw => {
            cmd.arg("--raw");
        }
        // `--raw` keeps fields skopeo's OCI types drop (Healthcheck, OnBuild): the bytes we wrote.
        Inspect::Config => {
            cmd.args(["--config", "--raw"]);
        }
    }
    cmd.arg(reference);
    let out = run_ok(&mut cmd);
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("skopeo printed no JSON ({e}): {out}"))
}

/// `umoci unpack --rootless --image LAYOUT:TAG BUNDLE` into a fresh dir under `work`; returns the rootfs.
pub fn umoci_unpack(layout: &Path, tag: &str, work: &Path) -> PathBuf {
    let umoci = require_tool("umoci", "umoci");
    let bundle = work.join(format!(
        "bundle-{}",
        sha256_hex(layout.as_os_str().as_encoded_bytes())
    ));
    run_ok(
        Command::new(umoci)
            .arg("unpack")
            .arg("--rootless")
            .arg("--image")
            .arg(format!("{}:{tag}", layout.display()))
            .arg(&bundle),
    );
    bundle.join("rootfs")
}

/// One path of an image's file tree.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TreeEntry {
    /// `file`, `dir`, `symlink`, `hardlink`, `char`, `block`, `fifo`, `whiteout`, `opaque`
    pub kind: String,
    /// Permission bits including setuid/setgid/sticky.
    pub mode: u32,
    pub uid: u64,
    pub gid: u64,
    /// Symlink or hardlink target.
    pub link: Option<String>,
    pub size: u64,
    /// SHA-256 of a regular file's content.
    pub sha256: Option<String>,
}

/// Resolves `tag` in an OCI layout's index.json (or its only manifest when `tag` is `None`) and returns
/// the parsed manifest.
pub fn layout_manifest(layout: &Path, tag: Option<&str>) -> Value {
    let index: Value = read_json(&layout.join("index.json"));
    let manifests = index["manifests"]
        .as_array()
        .expect("index.json has manifests");
    let chosen = match tag {
        Some(tag) => manifests
            .iter()
            .find(|m| m["annotations"]["org.opencontainers.image.ref.name"] == tag)
            .unwrap_or_else(|| panic!("no manifest tagged {tag:?} in {index}")),
        None => {
            assert_eq!(manifests.len(), 1, "expected one manifest: {index}");
            &manifests[0]
        }
    };
    serde_json::from_slice(&read_blob(layout, chosen["digest"].as_str().unwrap())).unwrap()
}

/// A blob of an OCI layout by digest, its digest verified.
pub fn read_blob(layout: &Path, digest: &str) -> Vec<u8> {
    let hex = digest.strip_prefix("sha256:").expect("sha256 digest");
    let data = std::fs::read(layout.join("blobs/sha256").join(hex))
        .unwrap_or_else(|e| panic!("blob {digest} missing from {}: {e}", layout.display()));
    assert_eq!(
        sha256_hex(&data),
        hex,
        "blob {digest} does not match its digest"
    );
    data
}

fn read_json(path: &Path) -> Value {
    let data = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_slice(&data).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The entries of each layer of `tag` in an OCI layout, in layer order then tar order, keyed by path
/// (no leading `/` or `./`, no trailing `/`).
pub fn layer_entries(layout: &Path, tag: Option<&str>) -> Vec<Vec<(String, TreeEntry)>> {
    let manifest = layout_manifest(layout, tag);
    manifest["layers"]
        .as_array()
        .expect("manifest has layers")
        .iter()
        .map(|layer| {
            let blob = read_blob(layout, layer["digest"].as_str().unwrap());
            tar_entries(&blob)
        })
        .collect()
}

fn normalize(path: &str) -> String {
    path.trim_start_matches("./")
        .trim_start_matches('/')
        .trim_end_matches('/')
        .to_string()
}

/// Lists a layer (gzip or plain tar).
pub fn tar_entries(blob: &[u8]) -> Vec<(String, TreeEntry)> {
    let reader: Box<dyn Read + '_> = match blob {
        [0x1f, 0x8b, ..] => Box::new(flate2::read::GzDecoder::new(blob)),
        [0x28, 0xb5, 0x2f, 0xfd, ..] => panic!("zstd layers are not read by the test support"),
        _ => Box::new(blob),
    };
    let mut archive = tar::Archive::new(reader);
    let mut out = Vec::new();
    for entry in archive.entries().expect("layer is a tar") {
        let mut entry = entry.expect("tar entry");
        let path = normalize(&entry.path().unwrap().to_string_lossy());
        if path.is_empty() {
            continue;
        }
        let h = entry.header().clone();
        let name = path.rsplit('/').next().unwrap_or_default().to_string();
        let kind = match h.entry_type() {
            _ if name == ".wh..wh..opq" => "opaque",
            _ if name.starts_with(".wh.") => "whiteout",
            tar::EntryType::Regular | tar::EntryType::Continuous => "file",
            tar::EntryType::Directory => "dir",
            tar::EntryType::Symlink => "symlink",
            tar::EntryType::Link => "hardlink",
            tar::EntryType::Char => "char",
            tar::EntryType::Block => "block",
            tar::EntryType::Fifo => "fifo",
            other => panic!("unexpected tar entry type {other:?} at {path}"),
        };
        let link = entry
            .link_name()
            .unwrap()
            .map(|l| l.to_string_lossy().into_owned());
        let sha256 = (kind == "file").then(|| {
            let mut data = Vec::new();
            entry.read_to_end(&mut data).unwrap();
            sha256_hex(&data)
        });
        out.push((
            path,
            TreeEntry {
                kind: kind.to_string(),
                mode: h.mode().unwrap() & 0o7777,
                uid: h.uid().unwrap(),
                gid: h.gid().unwrap(),
                link,
                size: h.size().unwrap(),
                sha256,
            },
        ));
    }
    out
}

/// The image's final file tree: the layers applied in order (whiteouts and opaque dirs honoured,
/// hardlinks resolved to their target's content).
pub fn flatten(layers: &[Vec<(String, TreeEntry)>]) -> BTreeMap<String, TreeEntry> {
    let mut tree: BTreeMap<String, TreeEntry> = BTreeMap::new();
    for layer in layers {
        for (path, entry) in layer {
            let (dir, name) = match path.rsplit_once('/') {
                Some((d, n)) => (d.to_string(), n),
                None => (String::new(), path.as_str()),
            };
            let under = |d: &str, p: &str| d.is_empty() || p.starts_with(&format!("{d}/"));
            match entry.kind.as_str() {
                "opaque" => tree.retain(|p, _| !(under(&dir, p) && p != &dir)),
                "whiteout" => {
                    let victim = join(&dir, name.trim_start_matches(".wh."));
                    tree.retain(|p, _| p != &victim && !p.starts_with(&format!("{victim}/")));
                }
                "hardlink" => {
                    let target = normalize(entry.link.as_deref().unwrap_or_default());
                    let mut resolved = tree
                        .get(&target)
                        .unwrap_or_else(|| panic!("hardlink {path} to missing {target}"))
                        .clone();
                    resolved.mode = entry.mode;
                    tree.insert(path.clone(), resolved);
                }
                _ => {
                    if entry.kind != "dir" {
                        tree.retain(|p, _| !p.starts_with(&format!("{path}/")));
                    }
                    tree.insert(path.clone(), entry.clone());
                }
            }
        }
    }
    tree
}

fn join(dir: &str, name: &str) -> String {
    match dir.is_empty() {
        true => name.to_string(),
        false => format!("{dir}/{name}"),
    }
}

/// The file tree of `tag` in an OCI layout, read from its layers, and checked against the root
/// filesystem umoci unpacked (`rootfs`): same paths, kinds, symlink targets and contents. Owners and
/// modes come from the layers (a rootless unpack cannot chown, and loosens some modes).
pub fn tree_snapshot(
    layout: &Path,
    tag: Option<&str>,
    rootfs: &Path,
) -> BTreeMap<String, TreeEntry> {
    let tree = flatten(&layer_entries(layout, tag));
    let mut on_disk = BTreeMap::new();
    for entry in walkdir::WalkDir::new(rootfs).min_depth(1) {
        let entry = entry.unwrap();
        let rel = entry
            .path()
            .strip_prefix(rootfs)
            .unwrap()
            .to_string_lossy()
            .into_owned();
        on_disk.insert(rel, entry.path().to_path_buf());
    }
    // umoci creates parent directories a layer leaves implicit; every other path must match.
    let implicit =
        |p: &String| on_disk[p].is_dir() && tree.keys().any(|t| t.starts_with(&format!("{p}/")));
    let layer_paths: Vec<&String> = tree.keys().collect();
    let disk_paths: Vec<&String> = on_disk
        .keys()
        .filter(|p| tree.contains_key(*p) || !implicit(p))
        .collect();
    assert_eq!(
        layer_paths, disk_paths,
        "umoci's rootfs differs from the layers' paths"
    );
    for (path, entry) in &tree {
        let disk = &on_disk[path];
        let meta = std::fs::symlink_metadata(disk).unwrap();
        let kind = if meta.file_type().is_symlink() {
            "symlink"
        } else if meta.is_dir() {
            "dir"
        } else if meta.is_file() {
            "file"
        } else {
            "special"
        };
        let expected_kind = match entry.kind.as_str() {
            "char" | "block" | "fifo" => "special",
            k => k,
        };
        assert_eq!(kind, expected_kind, "{path}: kind on disk vs in the layers");
        match kind {
            "symlink" => assert_eq!(
                std::fs::read_link(disk).unwrap().to_string_lossy(),
                entry.link.clone().unwrap_or_default(),
                "{path}: symlink target"
            ),
            "file" => assert_eq!(
                Some(sha256_hex(&std::fs::read(disk).unwrap())),
                entry.sha256,
                "{path}: content"
            ),
            _ => {}
        }
    }
    tree
}

/// Reference builds with buildah (vfs storage, chroot isolation, everything under `work`).
pub struct Buildah {
    root: PathBuf,
    runroot: PathBuf,
}

impl Buildah {
    /// Checks that buildah can run here (`buildah from scratch` in private storage). `Err` says why
    /// not; only that lets a differential test return early.
    pub fn new(work: &Path) -> Result<Buildah, String> {
        let buildah = Buildah {
            root: work.join("buildah-root"),
            runroot: work.join("buildah-runroot"),
        };
        let out = buildah
            .command()
            .args(["from", "--name", "probe", "scratch"])
            .output()
            .map_err(|e| format!("cannot run buildah: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "`buildah from scratch` failed here: {}",
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        Ok(buildah)
    }

    fn command(&self) -> Command {
        let mut cmd = Command::new(require_tool("buildah", "buildah"));
        cmd.env("BUILDAH_ISOLATION", "chroot")
            .env("STORAGE_DRIVER", "vfs")
            .arg("--storage-driver")
            .arg("vfs")
            .arg("--root")
            .arg(&self.root)
            .arg("--runroot")
            .arg(&self.runroot);
        cmd
    }

    /// `buildah bud` of `dockerfile` in `context`, then `buildah push` to an OCI layout `out` tagged
    /// `latest`.
    pub fn build_to_layout(&self, dockerfile: &Path, context: &Path, out: &Path) {
        let tag = "localhost/hoist-differential:latest";
        run_ok(
            self.command()
                .args([
                    "bud",
                    "--isolation",
                    "chroot",
                    "--tls-verify=false",
                    "--quiet",
                ])
                .arg("-f")
                .arg(dockerfile)
                .args(["-t", tag])
                .arg(context),
        );
        run_ok(
            self.command()
                .args(["push", "--quiet", tag])
                .arg(format!("oci:{}:latest", out.display())),
        );
    }
}
