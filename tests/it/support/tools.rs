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
    let mut id = layout.as_os_str().as_encoded_bytes().to_vec();
    id.extend_from_slice(format!(":{tag}").as_bytes());
    let bundle = work.join(format!("bundle-{}", &sha256_hex(&id)[..16]));
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
            match entry.kind.as_str() {
                "opaque" if dir.is_empty() => tree.clear(),
                "opaque" => remove_under(&mut tree, &dir),
                "whiteout" => {
                    let victim = join(&dir, name.trim_start_matches(".wh."));
                    tree.remove(&victim);
                    remove_under(&mut tree, &victim);
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
                        remove_under(&mut tree, path);
                    }
                    tree.insert(path.clone(), entry.clone());
                }
            }
        }
    }
    tree
}

/// The paths strictly under `dir` in `tree` (a contiguous range of its sorted keys).
fn paths_under<'a, V>(
    tree: &'a BTreeMap<String, V>,
    dir: &str,
) -> impl Iterator<Item = &'a String> {
    let prefix = format!("{dir}/");
    tree.range(prefix.clone()..)
        .map(|(p, _)| p)
        .take_while(move |p| p.starts_with(&prefix))
}

/// Removes every path strictly under `dir` from `tree`.
fn remove_under<V>(tree: &mut BTreeMap<String, V>, dir: &str) {
    let doomed: Vec<String> = paths_under(tree, dir).cloned().collect();
    for path in doomed {
        tree.remove(&path);
    }
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
    let implicit = |p: &String| on_disk[p].is_dir() && paths_under(&tree, p).next().is_some();
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

/// The file tree of `tag` in the OCI layout `layout`, unpacked by umoci under `work` and checked
/// against the layers (see [`tree_snapshot`]): path → kind, mode, owner, size, link target, content
/// hash.
pub fn layout_tree(layout: &Path, tag: &str, work: &Path) -> BTreeMap<String, TreeEntry> {
    let rootfs = umoci_unpack(layout, tag, work);
    tree_snapshot(layout, Some(tag), &rootfs)
}

/// Where two file trees differ (kind, mode, owner, link target or content; not size of directories
/// nor mtimes), one line per path, `a`'s side named `a_name`, `b`'s `b_name`. Empty when they agree.
pub fn tree_differences(
    a_name: &str,
    a: &BTreeMap<String, TreeEntry>,
    b_name: &str,
    b: &BTreeMap<String, TreeEntry>,
) -> Vec<String> {
    let width = a_name.len().max(b_name.len());
    let mut diffs = Vec::new();
    for (path, eb) in b {
        match a.get(path) {
            None => diffs.push(format!("{path}: only in {b_name}'s image ({eb:?})")),
            Some(ea) => {
                let same = ea.kind == eb.kind
                    && ea.mode == eb.mode
                    && (ea.uid, ea.gid) == (eb.uid, eb.gid)
                    && ea.link == eb.link
                    && ea.sha256 == eb.sha256;
                if !same {
                    diffs.push(format!(
                        "{path}:\n    {a_name:width$} {ea:?}\n    {b_name:width$} {eb:?}"
                    ));
                }
            }
        }
    }
    for (path, ea) in a {
        if !b.contains_key(path) {
            diffs.push(format!("{path}: only in {a_name}'s image ({ea:?})"));
        }
    }
    diffs
}

/// Paths buildah's chroot isolation creates as empty mount points in the first RUN layer when the
/// base image lacks them (Docker keeps them out of its layers); ignore them when comparing a RUN
/// layer with buildah's. The Debian fixture has them all, busybox does not.
pub const BUILDAH_RUN_MOUNTPOINTS: &[&str] = &[
    "dev",
    "etc/hostname",
    "etc/hosts",
    "etc/resolv.conf",
    "proc",
    "run",
    "sys",
];

/// A layer's entries (from [`layer_entries`]) without [`BUILDAH_RUN_MOUNTPOINTS`] and without the
/// directories that were in the layer only as their parents (`etc` when only `etc/hosts` etc. are under
/// it).
pub fn strip_buildah_mountpoints(layer: &[(String, TreeEntry)]) -> Vec<(String, TreeEntry)> {
    let is_mountpoint = |p: &str| BUILDAH_RUN_MOUNTPOINTS.contains(&p);
    let kept: Vec<&(String, TreeEntry)> = layer.iter().filter(|(p, _)| !is_mountpoint(p)).collect();
    let only_a_parent = |dir: &str, entry: &TreeEntry| {
        let prefix = format!("{dir}/");
        entry.kind == "dir"
            && layer
                .iter()
                .any(|(p, _)| p.starts_with(&prefix) && is_mountpoint(p))
            && !kept.iter().any(|(p, _)| p.starts_with(&prefix))
    };
    kept.iter()
        .filter(|(p, e)| !only_a_parent(p, e))
        .map(|&entry| entry.clone())
        .collect()
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

    /// A `buildah` command on this instance's storage.
    pub fn command(&self) -> Command {
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

    /// Stores `tag` of the OCI layout `layout` in this buildah's storage as `name` (say
    /// `docker.io/library/debian:13`), so `FROM` finds it offline with `--pull=never`. skopeo writes
    /// it (`buildah pull oci:DIR` names the image after the layout's path, which fails on a path with
    /// a `.cache` in it).
    pub fn load_base(&self, layout: &Path, tag: &str, name: &str) {
        run_ok(
            Command::new(require_tool("skopeo", "skopeo"))
                .args(["copy", "--quiet"])
                .arg(format!("oci:{}:{tag}", layout.display()))
                .arg(format!(
                    "containers-storage:[vfs@{}+{}]{name}",
                    self.root.display(),
                    self.runroot.display()
                )),
        );
    }

    /// `buildah bud --isolation chroot --layers --pull=never -f DOCKERFILE -t TAG [extra] CONTEXT`,
    /// its output returned whatever the exit status: one layer per instruction that changes the
    /// filesystem, like Docker, with every base already loaded ([`Buildah::load_base`]).
    pub fn bud(
        &self,
        dockerfile: &Path,
        context: &Path,
        tag: &str,
        extra: &[&str],
    ) -> std::process::Output {
        let mut cmd = self.command();
        cmd.args(["bud", "--isolation", "chroot", "--layers", "--pull=never"])
            .arg("-f")
            .arg(dockerfile)
            .args(["-t", tag])
            .args(extra)
            .arg(context);
        super::run(&mut cmd)
    }

    /// `buildah push TAG oci:OUT:latest`.
    pub fn push_to_layout(&self, tag: &str, out: &Path) {
        run_ok(
            self.command()
                .args(["push", "--quiet", tag])
                .arg(format!("oci:{}:latest", out.display())),
        );
    }

    /// `buildah bud` of `dockerfile` in `context` (bases pulled as the Dockerfile says, one layer for
    /// the whole build), then `buildah push` to an OCI layout `out` tagged `latest`.
    pub fn build_to_layout(&self, dockerfile: &Path, context: &Path, out: &Path) {
        self.build_to_layout_with(dockerfile, context, out, &[]);
    }

    /// [`Buildah::build_to_layout`] with extra `buildah bud` arguments (`--build-arg K=V`).
    pub fn build_to_layout_with(
        &self,
        dockerfile: &Path,
        context: &Path,
        out: &Path,
        extra: &[String],
    ) {
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
                .args(extra)
                .arg(context),
        );
        self.push_to_layout(tag, out);
    }
}

/// A fixture base image a Dockerfile may name in `FROM`, as a Docker Hub short name.
struct KnownBase {
    /// `name:tag`, as [`from_images`] normalises it.
    name: &'static str,
    layout: fn() -> PathBuf,
    /// The tag in the layout.
    tag: &'static str,
}

/// The bases [`buildah_build`] loads when a `FROM` names them. Not the hostile image: buildah's
/// storage (like umoci) refuses its layer outright (the hardlink to `/etc/shadow`), so it has no
/// buildah reference.
const KNOWN_BASES: &[KnownBase] = &[
    KnownBase {
        name: "busybox:latest",
        layout: super::busybox_layout,
        tag: "latest",
    },
    KnownBase {
        name: "debian:13",
        layout: super::debian_layout,
        tag: super::debian_image::DEBIAN_TAG,
    },
    KnownBase {
        name: "debian:trixie",
        layout: super::debian_layout,
        tag: super::debian_image::DEBIAN_TAG,
    },
];

/// The images `FROM` lines of `dockerfile` name, as `name:tag` without `docker.io/` or `library/`
/// (stage names and `scratch` included; the caller matches what it knows).
fn from_images(dockerfile: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(dockerfile)
        .unwrap_or_else(|e| panic!("{}: {e}", dockerfile.display()));
    text.lines()
        .filter_map(|line| {
            let mut words = line.split_whitespace();
            let keyword = words.next()?;
            if !keyword.eq_ignore_ascii_case("FROM") {
                return None;
            }
            let image = words.find(|w| !w.starts_with("--"))?;
            let image = image
                .trim_start_matches("docker.io/")
                .trim_start_matches("library/");
            let has_tag = image
                .rsplit('/')
                .next()
                .is_some_and(|last| last.contains(':'));
            Some(match has_tag || image.contains('@') {
                true => image.to_string(),
                false => format!("{image}:latest"),
            })
        })
        .collect()
}

/// Builds `dockerfile` in `context` with buildah, offline, into the OCI layout `out_layout` (tag
/// `latest`) and returns what the build printed (RUN steps' output included).
///
/// A reference build for RUN: chroot isolation (RUN works as root here), `--layers` (one layer per
/// RUN/COPY/ADD, as Docker and hoist make them), `--pull=never`, storage (vfs) in a temp dir dropped
/// afterwards. The fixture bases the `FROM` lines name (`busybox`, `debian:13`, `debian:trixie`) are
/// loaded first from their cached layouts under their Docker Hub names, so the Dockerfile is the
/// same one hoist builds with `--registry-mirror docker.io=...`. RUN steps that use HTTPS (pip, npm)
/// need [`super::trust_host_ca`] on these machines.
///
/// `Err` only when buildah cannot run here (print it and return); a failed build panics with
/// buildah's output.
pub fn buildah_build(
    context: &Path,
    dockerfile: &Path,
    out_layout: &Path,
) -> Result<String, String> {
    let work = tempfile::Builder::new()
        .prefix("hoist-buildah-")
        .tempdir()
        .expect("tempdir");
    let buildah = Buildah::new(work.path())?;
    let wanted = from_images(dockerfile);
    for base in KNOWN_BASES {
        if wanted.iter().any(|w| w == base.name) {
            let name = format!("docker.io/library/{}", base.name);
            buildah.load_base(&(base.layout)(), base.tag, &name);
        }
    }
    let tag = "localhost/hoist-reference:latest";
    let out = buildah.bud(dockerfile, context, tag, &[]);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "buildah bud {} failed ({}):\nstdout:\n{stdout}\nstderr:\n{}",
        dockerfile.display(),
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    buildah.push_to_layout(tag, out_layout);
    Ok(stdout)
}
