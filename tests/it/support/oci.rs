//! Writing OCI image layouts by hand, independently of hoist's own image code, for the fixture base
//! images (busybox, Debian, the hostile layer); caching them under `~/.cache/hoist-fixtures/`; and
//! pushing them into a loopback [`Registry`] with skopeo.

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Value, json};
use sha2::Digest as _;

use super::tools::{layout_manifest, read_blob};
use super::{Registry, require_tool, run_ok, sha256_hex};

/// `PATH` as Docker's official images set it.
pub const PATH_ENV: &str = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// The fixture cache: `~/.cache/hoist-fixtures` (`$TMPDIR/.cache/...` without a `HOME`).
pub fn cache_root() -> PathBuf {
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_else(std::env::temp_dir);
    home.join(".cache").join("hoist-fixtures")
}

/// `cache_root()/<name>-<first 16 hex of sha256(recipe)>`, built by `build` into a fresh staging dir
/// beside it (then renamed into place) unless it is already there. `recipe` must name everything the
/// result depends on. Parallel test processes never see a half-built dir: the first rename wins and
/// the loser's identical result is thrown away.
pub fn cached_dir(name: &str, recipe: &str, build: impl FnOnce(&Path)) -> PathBuf {
    let key = sha256_hex(recipe.as_bytes());
    let root = cache_root();
    let dest = root.join(format!("{name}-{}", &key[..16]));
    if dest.join("index.json").is_file() {
        return dest;
    }
    std::fs::create_dir_all(&root).unwrap();
    let staging = tempfile::Builder::new()
        .prefix(&format!(".building-{name}-"))
        .tempdir_in(&root)
        .unwrap();
    build(staging.path());
    let staged = staging.keep();
    if std::fs::rename(&staged, &dest).is_err() {
        let _ = std::fs::remove_dir_all(&staged);
    }
    assert!(
        dest.join("index.json").is_file(),
        "fixture {name} missing at {}",
        dest.display()
    );
    dest
}

/// A blob stored in a layout.
#[derive(Clone, Debug)]
pub struct Blob {
    /// `sha256:<hex>`
    pub digest: String,
    pub size: u64,
}

/// A gzip layer stored in a layout: the blob and the digest of its uncompressed tar.
#[derive(Clone, Debug)]
pub struct Layer {
    pub blob: Blob,
    /// `sha256:<hex>` of the uncompressed tar.
    pub diff_id: String,
    /// The config history's `created_by` for this layer.
    pub created_by: String,
}

/// Passes bytes through to `inner`, hashing and counting them.
struct Hashing<W> {
    inner: W,
    hasher: sha2::Sha256,
    count: u64,
}

impl<W: Write> Hashing<W> {
    fn new(inner: W) -> Hashing<W> {
        Hashing {
            inner,
            hasher: sha2::Sha256::new(),
            count: 0,
        }
    }

    /// `(inner, "sha256:<hex>", byte count)`
    fn finish(self) -> (W, String, u64) {
        let hex = hex::encode(self.hasher.finalize());
        (self.inner, format!("sha256:{hex}"), self.count)
    }
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.count += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Builds an OCI image layout in an empty directory: blobs, one manifest per tag (linux/amd64), then
/// `index.json` on [`LayoutWriter::finish`].
pub struct LayoutWriter {
    dir: PathBuf,
    manifests: Vec<Value>,
}

impl LayoutWriter {
    /// Starts a layout in `dir` (created if missing).
    pub fn new(dir: &Path) -> LayoutWriter {
        std::fs::create_dir_all(dir.join("blobs/sha256")).unwrap();
        LayoutWriter {
            dir: dir.to_path_buf(),
            manifests: Vec::new(),
        }
    }

    /// Stores `data` as a blob.
    pub fn blob(&self, data: &[u8]) -> Blob {
        let hex = sha256_hex(data);
        std::fs::write(self.dir.join("blobs/sha256").join(&hex), data).unwrap();
        Blob {
            digest: format!("sha256:{hex}"),
            size: data.len() as u64,
        }
    }

    /// Stores an uncompressed layer tar, gzipped (default level, mtime 0 in the gzip header).
    pub fn gzip_layer(&self, tar: &[u8], created_by: &str) -> Layer {
        self.stream_layer(created_by, |out| out.write_all(tar))
    }

    /// Stores a layer whose uncompressed tar `write_tar` streams into the writer it is given; the tar is
    /// gzipped and hashed on the way to disk, never held in memory whole.
    pub fn stream_layer(
        &self,
        created_by: &str,
        write_tar: impl FnOnce(&mut dyn Write) -> io::Result<()>,
    ) -> Layer {
        let blobs = self.dir.join("blobs/sha256");
        let partial = blobs.join(".layer.partial");
        let file = io::BufWriter::new(std::fs::File::create(&partial).unwrap());
        let gz = flate2::write::GzEncoder::new(Hashing::new(file), flate2::Compression::default());
        let mut tar = Hashing::new(gz);
        write_tar(&mut tar).expect("write the layer tar");
        let (gz, diff_id, _) = tar.finish();
        let (file, digest, size) = gz.finish().unwrap().finish();
        file.into_inner().unwrap().sync_all().unwrap();
        let hex = digest.strip_prefix("sha256:").unwrap();
        std::fs::rename(&partial, blobs.join(hex)).unwrap();
        Layer {
            blob: Blob { digest, size },
            diff_id,
            created_by: created_by.to_string(),
        }
    }

    /// Writes the config and manifest of a linux/amd64 image with `layers` (bottom first) and the
    /// container config `config` (`Env`, `Cmd`, ...), created at the epoch, and tags it `tag`.
    /// Returns the manifest digest.
    pub fn image(&mut self, tag: &str, layers: &[Layer], config: Value) -> String {
        self.image_for(tag, "amd64", layers, config)
    }

    /// [`LayoutWriter::image`] for a linux/`arch` image (what its config and descriptor say, whatever
    /// its layers hold).
    pub fn image_for(&mut self, tag: &str, arch: &str, layers: &[Layer], config: Value) -> String {
        let mut descriptor = self.manifest(arch, layers, config);
        descriptor["annotations"] = json!({ "org.opencontainers.image.ref.name": tag });
        let digest = descriptor["digest"].as_str().unwrap().to_string();
        self.manifests.push(descriptor);
        digest
    }

    /// Writes the config and manifest of a linux/`arch` image, untagged; returns the manifest's
    /// descriptor (with its platform) for [`LayoutWriter::index`].
    pub fn manifest(&self, arch: &str, layers: &[Layer], config: Value) -> Value {
        let history: Vec<Value> = layers
            .iter()
            .map(|l| json!({ "created": "1970-01-01T00:00:00Z", "created_by": l.created_by }))
            .collect();
        let diff_ids: Vec<&str> = layers.iter().map(|l| l.diff_id.as_str()).collect();
        let config = json!({
            "created": "1970-01-01T00:00:00Z",
            "architecture": arch,
            "os": "linux",
            "config": config,
            "rootfs": { "type": "layers", "diff_ids": diff_ids },
            "history": history
        });
        let config = self.blob(&serde_json::to_vec(&config).unwrap());
        let layer_descriptors: Vec<Value> = layers
            .iter()
            .map(|l| {
                json!({
                    "mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                    "digest": l.blob.digest,
                    "size": l.blob.size
                })
            })
            .collect();
        let manifest = json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {
                "mediaType": "application/vnd.oci.image.config.v1+json",
                "digest": config.digest,
                "size": config.size
            },
            "layers": layer_descriptors
        });
        let manifest = self.blob(&serde_json::to_vec(&manifest).unwrap());
        json!({
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": manifest.digest,
            "size": manifest.size,
            "platform": { "architecture": arch, "os": "linux" }
        })
    }

    /// Writes an image index of `manifests` (a multi-platform image) and tags it `tag`. Returns the
    /// index digest.
    pub fn index(&mut self, tag: &str, manifests: Vec<Value>) -> String {
        let index = json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.index.v1+json",
            "manifests": manifests
        });
        let index = self.blob(&serde_json::to_vec(&index).unwrap());
        self.manifests.push(json!({
            "mediaType": "application/vnd.oci.image.index.v1+json",
            "digest": index.digest,
            "size": index.size,
            "annotations": { "org.opencontainers.image.ref.name": tag }
        }));
        index.digest
    }

    /// Writes `index.json` (every tagged image) and `oci-layout`.
    pub fn finish(self) {
        let index = json!({ "schemaVersion": 2, "manifests": self.manifests });
        std::fs::write(
            self.dir.join("index.json"),
            serde_json::to_vec(&index).unwrap(),
        )
        .unwrap();
        std::fs::write(
            self.dir.join("oci-layout"),
            br#"{"imageLayoutVersion":"1.0.0"}"#,
        )
        .unwrap();
    }
}

/// Copies the layers of `tag` in the layout `from` into `writer`'s layout (blobs unchanged), to stack
/// more layers on an existing image.
pub fn copy_layers(writer: &LayoutWriter, from: &Path, tag: &str) -> Vec<Layer> {
    let manifest = layout_manifest(from, Some(tag));
    let config: Value = serde_json::from_slice(&read_blob(
        from,
        manifest["config"]["digest"].as_str().unwrap(),
    ))
    .unwrap();
    let history: Vec<&Value> = config["history"]
        .as_array()
        .map(|h| {
            h.iter()
                .filter(|e| e["empty_layer"] != true)
                .collect::<Vec<_>>()
        })
        .unwrap_or_default();
    manifest["layers"]
        .as_array()
        .unwrap()
        .iter()
        .enumerate()
        .map(|(i, layer)| {
            let data = read_blob(from, layer["digest"].as_str().unwrap());
            Layer {
                blob: writer.blob(&data),
                diff_id: config["rootfs"]["diff_ids"][i]
                    .as_str()
                    .unwrap()
                    .to_string(),
                created_by: history
                    .get(i)
                    .and_then(|h| h["created_by"].as_str())
                    .unwrap_or_default()
                    .to_string(),
            }
        })
        .collect()
}

/// Pushes `tag` of the OCI layout `layout` into `registry` as `repository:dest_tag` with skopeo
/// (blobs and manifest bytes unchanged). Returns `HOST/repository:dest_tag`.
pub fn push_layout(
    registry: &Registry,
    layout: &Path,
    tag: &str,
    repository: &str,
    dest_tag: &str,
) -> String {
    let dest = format!("{}/{repository}:{dest_tag}", registry.host());
    let mut cmd = Command::new(require_tool("skopeo", "skopeo"));
    cmd.arg("copy")
        .arg("--quiet")
        .arg("--dest-tls-verify=false");
    if let Some((user, pass)) = &registry.credentials {
        cmd.arg(format!("--dest-creds={user}:{pass}"));
    }
    cmd.arg(format!("oci:{}:{tag}", layout.display()))
        .arg(format!("docker://{dest}"));
    run_ok(&mut cmd);
    dest
}

/// A tar header with the fields the fixtures set: kind, mode, size, owner 0:0, mtime 0.
pub fn tar_header(kind: tar::EntryType, mode: u32, size: u64) -> tar::Header {
    let mut h = tar::Header::new_ustar();
    h.set_entry_type(kind);
    h.set_mode(mode);
    h.set_size(size);
    h.set_uid(0);
    h.set_gid(0);
    h.set_mtime(0);
    h
}
