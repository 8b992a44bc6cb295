//! Export as an OCI image layout directory (image-spec `image-layout.md`), written atomically: the
//! layout is assembled in a temporary sibling directory and renamed into place, so the path holds either
//! the old layout or the new one, never a half-written one.

use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use async_trait::async_trait;

use super::{ExportError, Exported, Exporter};
use crate::image::{
    BlobStore, Descriptor, Digest, Index, Reference, SerializedImage, SerializedIndex,
};
use crate::progress::{Event, Reporter};

pub use crate::image::layout::{LAYOUT_FILE, REF_NAME};
pub const LAYOUT_CONTENT: &[u8] = br#"{"imageLayoutVersion":"1.0.0"}"#;
pub const CONTAINERD_NAME: &str = "io.containerd.image.name";

pub struct OciLayout {
    dir: PathBuf,
    names: Vec<Reference>,
}

impl OciLayout {
    pub fn new(dir: &Path, names: &[Reference]) -> OciLayout {
        OciLayout {
            dir: dir.to_path_buf(),
            names: names.to_vec(),
        }
    }
}

impl OciLayout {
    /// Writes `images` and the manifest or index `top` (its `bytes`) naming them, off the runtime's
    /// threads; one [`Exported`] per tag.
    async fn write_all(
        &self,
        top: Descriptor,
        bytes: Vec<u8>,
        images: Vec<SerializedImage>,
        blobs: &BlobStore,
        reporter: &dyn Reporter,
    ) -> Result<Vec<Exported>, ExportError> {
        let (dir, names, blobs2, top2) = (
            self.dir.clone(),
            self.names.clone(),
            blobs.clone(),
            top.clone(),
        );
        let tags = tokio::task::spawn_blocking(move || {
            let images: Vec<&SerializedImage> = images.iter().collect();
            write(&dir, &names, (&top2, &bytes), &images, &blobs2)
        })
        .await
        .map_err(|e| ExportError::Refused(format!("the OCI layout writer panicked: {e}")))??;
        Ok(tags
            .into_iter()
            .map(|tag| {
                let destination = format!("oci:{}:{tag}", self.dir.display());
                reporter.report(Event::Exported {
                    destination: destination.clone(),
                    digest: top.digest.to_string(),
                });
                Exported {
                    destination,
                    descriptor: top.clone(),
                    pushed: false,
                }
            })
            .collect())
    }
}

#[async_trait]
impl Exporter for OciLayout {
    async fn export(
        &self,
        image: &SerializedImage,
        blobs: &BlobStore,
        reporter: &dyn Reporter,
    ) -> Result<Vec<Exported>, ExportError> {
        let (top, bytes) = (image.manifest.clone(), image.manifest_bytes.clone());
        self.write_all(top, bytes, vec![image.clone()], blobs, reporter)
            .await
    }

    async fn export_index(
        &self,
        index: &SerializedIndex,
        blobs: &BlobStore,
        reporter: &dyn Reporter,
    ) -> Result<Vec<Exported>, ExportError> {
        let (top, bytes) = (index.descriptor.clone(), index.bytes.clone());
        self.write_all(top, bytes, index.images.clone(), blobs, reporter)
            .await
    }
}

/// The index.json of a layout holding `image` under `names` (one entry per distinct tag; `latest` when
/// there are no names). Returns the index and the tags.
pub fn index_for(top: &Descriptor, names: &[Reference]) -> (Index, Vec<String>) {
    let mut entries: BTreeMap<String, Descriptor> = BTreeMap::new();
    let mut order = Vec::new();
    let named: Vec<(String, Option<String>)> = if names.is_empty() {
        vec![("latest".to_string(), None)]
    } else {
        names
            .iter()
            .map(|n| (n.tag().unwrap_or("latest").to_string(), Some(n.to_string())))
            .collect()
    };
    for (tag, full) in named {
        if entries.contains_key(&tag) {
            continue;
        }
        let mut d = top.clone();
        d.annotations.insert(REF_NAME.to_string(), tag.clone());
        if let Some(full) = full {
            d.annotations.insert(CONTAINERD_NAME.to_string(), full);
        }
        order.push(tag.clone());
        entries.insert(tag, d);
    }
    let manifests = order.iter().map(|t| entries[t].clone()).collect();
    (Index::new(manifests), order)
}

/// Every blob of `image`: (digest, bytes when held in memory rather than in the store).
pub fn blob_list(image: &SerializedImage) -> Vec<(Digest, Option<&[u8]>)> {
    let mut list = vec![
        (
            image.manifest.digest.clone(),
            Some(image.manifest_bytes.as_slice()),
        ),
        (
            image.config.digest.clone(),
            Some(image.config_bytes.as_slice()),
        ),
    ];
    for l in &image.layers {
        if !list.iter().any(|(d, _)| *d == l.descriptor.digest) {
            list.push((l.descriptor.digest.clone(), None));
        }
    }
    list
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> ExportError + '_ {
    move |source| ExportError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Writes the layout at `dir` atomically; returns the tags written.
fn write(
    dir: &Path,
    names: &[Reference],
    top: (&Descriptor, &[u8]),
    images: &[&SerializedImage],
    blobs: &BlobStore,
) -> Result<Vec<String>, ExportError> {
    let replace_old = check_destination(dir)?;
    let parent = match dir.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    fs::create_dir_all(&parent).map_err(io_err(&parent))?;
    let file_name = dir
        .file_name()
        .map_or("layout".into(), |n| n.to_string_lossy().into_owned());
    let tmp = tempfile::Builder::new()
        .prefix(&format!(".{file_name}.hoist-"))
        .tempdir_in(&parent)
        .map_err(io_err(&parent))?;
    let sha = tmp.path().join("blobs").join("sha256");
    fs::create_dir_all(&sha).map_err(io_err(&sha))?;
    let mut all = vec![(top.0.digest.clone(), Some(top.1))];
    for image in images {
        all.extend(blob_list(image));
    }
    for (digest, bytes) in all {
        let dest = sha.join(digest.hex());
        if dest.exists() {
            continue;
        }
        match bytes {
            Some(b) => fs::write(&dest, b).map_err(io_err(&dest))?,
            None => link_or_copy(&blobs.path(&digest), &dest)?,
        }
    }
    let (index, tags) = index_for(top.0, names);
    let index_path = tmp.path().join("index.json");
    let json = serde_json::to_vec(&index).expect("index serialises");
    fs::write(&index_path, json).map_err(io_err(&index_path))?;
    let layout = tmp.path().join(LAYOUT_FILE);
    fs::write(&layout, LAYOUT_CONTENT).map_err(io_err(&layout))?;

    let new = tmp.keep();
    let result = swap_into_place(&new, dir, replace_old);
    if result.is_err() {
        let _ = fs::remove_dir_all(&new);
    }
    result?;
    Ok(tags)
}

/// What is at `dir` now: nothing, an empty directory or an old layout (to be replaced: `true` for the
/// latter two), or something hoist must not overwrite.
fn check_destination(dir: &Path) -> Result<bool, ExportError> {
    let meta = match fs::symlink_metadata(dir) {
        Ok(m) => m,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(io_err(dir)(e)),
    };
    if !meta.is_dir() {
        return Err(ExportError::Refused(format!(
            "cannot write an OCI layout to `{}`: it exists and is not a directory\nhint: choose another path for `--output oci:DIR`",
            dir.display()
        )));
    }
    let empty = fs::read_dir(dir).map_err(io_err(dir))?.next().is_none();
    if empty || dir.join(LAYOUT_FILE).is_file() {
        return Ok(true);
    }
    Err(ExportError::Refused(format!(
        "refusing to replace `{}`: it is a non-empty directory that is not an OCI layout (no `oci-layout` file)\nhint: choose a new or empty directory for `--output oci:DIR`, or remove this one",
        dir.display()
    )))
}

/// Renames `new` to `dir`; an old directory there is moved aside first and removed afterwards.
fn swap_into_place(new: &Path, dir: &Path, replace_old: bool) -> Result<(), ExportError> {
    if !replace_old {
        return fs::rename(new, dir).map_err(io_err(dir));
    }
    let mut aside = dir.as_os_str().to_owned();
    aside.push(format!(".hoist-old-{}", std::process::id()));
    let aside = PathBuf::from(aside);
    fs::rename(dir, &aside).map_err(io_err(dir))?;
    if let Err(e) = fs::rename(new, dir) {
        let _ = fs::rename(&aside, dir);
        return Err(io_err(dir)(e));
    }
    fs::remove_dir_all(&aside).map_err(io_err(&aside))
}

/// Hard-links `src` to `dest` (same filesystem), else copies it.
fn link_or_copy(src: &Path, dest: &Path) -> Result<(), ExportError> {
    if fs::hard_link(src, dest).is_ok() {
        return Ok(());
    }
    fs::copy(src, dest).map(|_| ()).map_err(io_err(src))
}

/// A one-layer linux/amd64 image (a gzip tar holding `hello.txt`) in a store under `root`, for tests.
#[cfg(test)]
pub(crate) fn sample_image(root: &Path) -> (SerializedImage, BlobStore) {
    use crate::image::{History, Image, Layer, Platform, media_type};
    use std::io::Write as _;
    let blobs = BlobStore::open(root.join("store")).unwrap();
    let mut tar = tar::Builder::new(Vec::new());
    let mut header = tar::Header::new_gnu();
    header.set_size(6);
    header.set_mode(0o644);
    header.set_cksum();
    tar.append_data(&mut header, "hello.txt", &b"hello\n"[..])
        .unwrap();
    let tar = tar.into_inner().unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&tar).unwrap();
    let gz = gz.finish().unwrap();
    let digest = blobs.put(&gz).unwrap();
    let layer = Layer {
        descriptor: Descriptor::new(media_type::OCI_LAYER_GZIP, digest, gz.len() as u64),
        diff_id: Digest::of(&tar),
    };
    let image = Image::empty(&Platform::linux_amd64()).with_layer(layer, History::default());
    (image.serialize(), blobs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::progress::Silent;

    #[tokio::test]
    async fn writes_a_layout_and_replaces_an_old_one() {
        let tmp = tempfile::tempdir().unwrap();
        let (image, blobs) = sample_image(tmp.path());
        let dir = tmp.path().join("out");
        let names = [
            "127.0.0.1:5000/app:v1".parse().unwrap(),
            "app:v2".parse().unwrap(),
        ];
        let out = OciLayout::new(&dir, &names)
            .export(&image, &blobs, &Silent)
            .await
            .unwrap();
        assert_eq!(out.len(), 2);
        assert_eq!(fs::read(dir.join("oci-layout")).unwrap(), LAYOUT_CONTENT);
        let index: Index =
            serde_json::from_slice(&fs::read(dir.join("index.json")).unwrap()).unwrap();
        assert_eq!(index.manifests.len(), 2);
        assert_eq!(index.manifests[0].annotations[REF_NAME], "v1");
        assert_eq!(
            index.manifests[1].annotations[CONTAINERD_NAME],
            "docker.io/library/app:v2"
        );
        for (d, _) in blob_list(&image) {
            let bytes = fs::read(dir.join("blobs/sha256").join(d.hex())).unwrap();
            assert_eq!(Digest::of(&bytes), d);
        }
        // Independent readers, when installed: umoci unpacks the tag, skopeo inspects it.
        if Path::new("/usr/bin/umoci").exists() {
            let bundle = tmp.path().join("bundle");
            let out = std::process::Command::new("umoci")
                .args(["unpack", "--rootless", "--image"])
                .arg(format!("{}:v1", dir.display()))
                .arg(&bundle)
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            assert_eq!(
                fs::read(bundle.join("rootfs/hello.txt")).unwrap(),
                b"hello\n"
            );
            fs::remove_dir_all(&bundle).unwrap();
        }
        if Path::new("/usr/bin/skopeo").exists() {
            let out = std::process::Command::new("skopeo")
                .arg("inspect")
                .arg(format!("oci:{}:v2", dir.display()))
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        // Again, with no names: replaced, one `latest` entry, no leftovers beside it.
        OciLayout::new(&dir, &[])
            .export(&image, &blobs, &Silent)
            .await
            .unwrap();
        let index: Index =
            serde_json::from_slice(&fs::read(dir.join("index.json")).unwrap()).unwrap();
        assert_eq!(index.manifests.len(), 1);
        assert_eq!(index.manifests[0].annotations[REF_NAME], "latest");
        let siblings: Vec<_> = fs::read_dir(tmp.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert!(
            siblings
                .iter()
                .all(|n| !n.to_string_lossy().contains("hoist")),
            "{siblings:?}"
        );
    }

    #[tokio::test]
    async fn refuses_a_foreign_directory() {
        let tmp = tempfile::tempdir().unwrap();
        let (image, blobs) = sample_image(tmp.path());
        let dir = tmp.path().join("photos");
        fs::create_dir(&dir).unwrap();
        fs::write(dir.join("cat.jpg"), b"meow").unwrap();
        let err = OciLayout::new(&dir, &[])
            .export(&image, &blobs, &Silent)
            .await
            .unwrap_err();
        assert!(err.to_string().contains("not an OCI layout"), "{err}");
        assert!(dir.join("cat.jpg").exists());
    }
}
