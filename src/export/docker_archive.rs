//! Export as a `docker save` tarball in Docker 25+'s shape: an OCI image layout (`oci-layout`,
//! `index.json`, `blobs/sha256/*`) plus the legacy `manifest.json` (`Config`, `RepoTags`, `Layers`) that
//! `docker load` and skopeo's `docker-archive:` read. Blobs stream into the tar; the archive is written
//! to a temporary file beside the destination and renamed into place.

use std::io::{self, BufWriter, Write as _};
use std::path::{Path, PathBuf};

use async_trait::async_trait;

use super::oci_layout::{LAYOUT_CONTENT, LAYOUT_FILE, blob_list, index_for};
use super::{ExportError, Exported, Exporter};
use crate::image::reference::DOCKER_HUB;
use crate::image::{BlobStore, Reference, SerializedImage};
use crate::progress::{Event, Reporter};

pub struct DockerArchive {
    file: PathBuf,
    names: Vec<Reference>,
}

impl DockerArchive {
    pub fn new(file: &Path, names: &[Reference]) -> DockerArchive {
        DockerArchive {
            file: file.to_path_buf(),
            names: names.to_vec(),
        }
    }
}

#[async_trait]
impl Exporter for DockerArchive {
    async fn export(
        &self,
        image: &SerializedImage,
        blobs: &BlobStore,
        reporter: &dyn Reporter,
    ) -> Result<Vec<Exported>, ExportError> {
        let (file, names, image2, blobs2) = (
            self.file.clone(),
            self.names.clone(),
            image.clone(),
            blobs.clone(),
        );
        tokio::task::spawn_blocking(move || write(&file, &names, &image2, &blobs2))
            .await
            .map_err(|e| {
                ExportError::Refused(format!("the docker-archive writer panicked: {e}"))
            })??;
        let destination = format!("docker-archive:{}", self.file.display());
        reporter.report(Event::Exported {
            destination: destination.clone(),
            digest: image.manifest.digest.to_string(),
        });
        Ok(vec![Exported {
            destination,
            descriptor: image.manifest.clone(),
            pushed: false,
        }])
    }
}

/// The name `docker images` shows: Docker Hub's `docker.io/` and `library/` prefixes dropped.
pub fn familiar(reference: &Reference) -> Option<String> {
    let tag = reference.tag()?;
    let repo = reference.repository();
    let name = if reference.registry() == DOCKER_HUB {
        repo.strip_prefix("library/").unwrap_or(repo).to_string()
    } else {
        format!("{}/{repo}", reference.registry())
    };
    Some(format!("{name}:{tag}"))
}

/// `manifest.json`: one entry naming the config, the tags and the layers by their paths in the tar.
fn manifest_json(image: &SerializedImage, names: &[Reference]) -> Vec<u8> {
    let path = |hex: &str| format!("blobs/sha256/{hex}");
    let entry = serde_json::json!([{
        "Config": path(image.config.digest.hex()),
        "RepoTags": names.iter().filter_map(familiar).collect::<Vec<_>>(),
        "Layers": image.layers.iter().map(|l| path(l.descriptor.digest.hex())).collect::<Vec<_>>(),
    }]);
    serde_json::to_vec(&entry).expect("manifest.json serialises")
}

fn write(
    file: &Path,
    names: &[Reference],
    image: &SerializedImage,
    blobs: &BlobStore,
) -> Result<(), ExportError> {
    let io_err = |path: &Path| {
        let path = path.to_path_buf();
        move |source: io::Error| ExportError::Io { path, source }
    };
    if file.is_dir() {
        return Err(ExportError::Refused(format!(
            "cannot write a docker archive to `{}`: it is a directory\nhint: give a file path, like `--output docker-archive:image.tar`",
            file.display()
        )));
    }
    let parent = match file.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&parent).map_err(io_err(&parent))?;
    let tmp = tempfile::Builder::new()
        .prefix(".hoist-archive-")
        .tempfile_in(&parent)
        .map_err(io_err(&parent))?;
    let mut tar = tar::Builder::new(BufWriter::with_capacity(1 << 20, tmp));
    let (index, _) = index_for(&image.manifest, names);
    let small = |tar: &mut tar::Builder<_>, path: &str, bytes: &[u8]| -> io::Result<()> {
        tar.append_data(
            &mut header(bytes.len() as u64, tar::EntryType::Regular),
            path,
            bytes,
        )
    };
    let result = (|| -> io::Result<()> {
        small(&mut tar, LAYOUT_FILE, LAYOUT_CONTENT)?;
        for dir in ["blobs/", "blobs/sha256/"] {
            tar.append_data(&mut header(0, tar::EntryType::Directory), dir, io::empty())?;
        }
        for (digest, bytes) in blob_list(image) {
            let path = format!("blobs/sha256/{}", digest.hex());
            match bytes {
                Some(b) => small(&mut tar, &path, b)?,
                None => {
                    let f = blobs.open_blob(&digest).map_err(io::Error::other)?;
                    let size = f.metadata()?.len();
                    tar.append_data(&mut header(size, tar::EntryType::Regular), &path, f)?;
                }
            }
        }
        small(
            &mut tar,
            "index.json",
            &serde_json::to_vec(&index).expect("index serialises"),
        )?;
        small(&mut tar, "manifest.json", &manifest_json(image, names))?;
        Ok(())
    })();
    result.map_err(io_err(file))?;
    let mut out = tar.into_inner().map_err(io_err(file))?;
    out.flush().map_err(io_err(file))?;
    let tmp = out.into_inner().map_err(|e| io_err(file)(e.into_error()))?;
    tmp.as_file().sync_all().map_err(io_err(file))?;
    tmp.persist(file).map_err(|e| io_err(file)(e.error))?;
    Ok(())
}

/// A reproducible header: root-owned, mode 0644/0755, mtime 0.
fn header(size: u64, kind: tar::EntryType) -> tar::Header {
    let mut h = tar::Header::new_ustar();
    h.set_entry_type(kind);
    h.set_size(size);
    h.set_mode(if kind == tar::EntryType::Directory {
        0o755
    } else {
        0o644
    });
    h.set_uid(0);
    h.set_gid(0);
    h.set_mtime(0);
    h.set_cksum();
    h
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::export::oci_layout::sample_image;
    use crate::progress::Silent;
    use std::fs::File;
    use std::io::Read as _;

    #[test]
    fn familiar_names() {
        let f = |s: &str| familiar(&s.parse().unwrap()).unwrap();
        assert_eq!(f("docker.io/library/app:v1"), "app:v1");
        assert_eq!(f("docker.io/u/app:v1"), "u/app:v1");
        assert_eq!(f("ghcr.io/o/app"), "ghcr.io/o/app:latest");
        assert_eq!(f("127.0.0.1:5000/app:v2"), "127.0.0.1:5000/app:v2");
    }

    #[tokio::test]
    async fn writes_a_readable_archive() {
        let tmp = tempfile::tempdir().unwrap();
        let (image, blobs) = sample_image(tmp.path());
        let file = tmp.path().join("out/image.tar");
        let names = ["app:v1".parse().unwrap()];
        DockerArchive::new(&file, &names)
            .export(&image, &blobs, &Silent)
            .await
            .unwrap();
        let mut archive = tar::Archive::new(File::open(&file).unwrap());
        let mut manifest = String::new();
        let mut paths = Vec::new();
        for entry in archive.entries().unwrap() {
            let mut entry = entry.unwrap();
            let path = entry.path().unwrap().to_string_lossy().into_owned();
            if path == "manifest.json" {
                entry.read_to_string(&mut manifest).unwrap();
            }
            paths.push(path);
        }
        let m: serde_json::Value = serde_json::from_str(&manifest).unwrap();
        assert_eq!(m[0]["RepoTags"][0], "app:v1");
        assert_eq!(
            m[0]["Config"],
            format!("blobs/sha256/{}", image.config.digest.hex())
        );
        for l in &image.layers {
            assert!(paths.contains(&format!("blobs/sha256/{}", l.descriptor.digest.hex())));
        }
        assert!(
            paths.contains(&"index.json".to_string()) && paths.contains(&"oci-layout".to_string())
        );
        if Path::new("/usr/bin/skopeo").exists() {
            let out = std::process::Command::new("skopeo")
                .arg("inspect")
                .arg(format!("docker-archive:{}", file.display()))
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
}
