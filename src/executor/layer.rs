//! The layer writer: a deterministic tar stream (OCI image-spec `layer.md`), hashed (diff_id), gzipped in
//! parallel, hashed again (digest) and written into the blob store, in one pass, never held in memory.
//!
//! Entries are written in the order given (callers sort them by path); every entry gets the build's
//! epoch as mtime, empty user and group names, its own uid/gid and permission bits (`& 0o7777`); long
//! names and link targets use GNU extensions through the `tar` crate. Extended attributes go into a PAX
//! header before their entry, one `SCHILY.xattr.NAME` record each, sorted by name.

use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use crate::image::blobs::{BlobError, BlobWriter};
use crate::image::digest::HashingWriter;
use crate::image::tap::LayerTap;
use crate::image::{BlobStore, Descriptor, Layer, media_type};

use super::compress::ParallelGzWriter;
use super::xattrs;

#[derive(Debug, thiserror::Error)]
pub enum LayerError {
    #[error("cannot write layer entry `{path}`: {source}")]
    Entry { path: String, source: io::Error },
    #[error("cannot read `{path}` to put it into a layer: {source}")]
    Read { path: PathBuf, source: io::Error },
    #[error("cannot finish the layer: {0}")]
    Finish(io::Error),
    #[error(transparent)]
    Blob(#[from] BlobError),
}

/// What a layer entry is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EntryKind {
    Dir,
    /// A regular file whose content is read from `source` while writing.
    File(FileContent),
    Symlink(String),
    /// A hard link to another path of the layer (relative, no leading `/`).
    Hardlink(String),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FileContent {
    Path(PathBuf),
    Bytes(Vec<u8>),
}

/// One entry: its path inside the image (absolute, `/usr/bin/x`), kind, owner, mode bits and extended
/// attributes (name, value).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    pub path: String,
    pub kind: EntryKind,
    pub uid: u32,
    pub gid: u32,
    pub mode: u32,
    pub xattrs: Vec<(String, Vec<u8>)>,
    /// Seconds since the epoch; `None`: the build's epoch (every file hoist writes has it, except a
    /// file ADD downloads, which keeps its `Last-Modified` time as in BuildKit).
    pub mtime: Option<u64>,
}

type Sink = Tee<HashingWriter<ParallelGzWriter<BlobWriter>>>;

/// The tar stream on its way to the hasher, also shown to a [`LayerTap`] when there is one.
struct Tee<W> {
    inner: W,
    tap: Option<Box<dyn LayerTap>>,
}

impl<W: io::Write> io::Write for Tee<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        if let Some(tap) = &mut self.tap {
            tap.write(&buf[..n]);
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// A layer being written.
pub struct LayerWriter {
    builder: tar::Builder<Sink>,
    epoch: u64,
}

impl LayerWriter {
    pub fn new(blobs: &BlobStore, epoch: i64) -> Result<LayerWriter, LayerError> {
        LayerWriter::with_level(blobs, epoch, 6)
    }

    /// A layer writer compressing at gzip `level` (1–9) on every core.
    pub fn with_level(
        blobs: &BlobStore,
        epoch: i64,
        level: u32,
    ) -> Result<LayerWriter, LayerError> {
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        let gz = ParallelGzWriter::with_options(blobs.writer()?, level, threads)
            .map_err(LayerError::Finish)?;
        let mut builder = tar::Builder::new(Tee {
            inner: HashingWriter::new(gz),
            tap: None,
        });
        builder.mode(tar::HeaderMode::Deterministic);
        builder.follow_symlinks(false);
        Ok(LayerWriter {
            builder,
            epoch: epoch.max(0) as u64,
        })
    }

    /// Shows the layer's tar stream to `tap` as it is written (see [`LayerTap`]).
    pub fn with_tap(mut self, tap: Option<Box<dyn LayerTap>>) -> LayerWriter {
        self.builder.get_mut().tap = tap;
        self
    }

    /// Writes `entries` sorted by path (parents before children, as `tar` readers expect).
    pub fn write_all(&mut self, mut entries: Vec<Entry>) -> Result<(), LayerError> {
        entries.sort_by_key(|e| tar_name(&e.path));
        entries.dedup_by(|b, a| a.path == b.path);
        for e in &entries {
            self.append(e)?;
        }
        Ok(())
    }

    pub fn append(&mut self, e: &Entry) -> Result<(), LayerError> {
        let name = tar_name(&e.path);
        let err = |source| LayerError::Entry {
            path: e.path.clone(),
            source,
        };
        let mut h = tar::Header::new_gnu();
        h.set_mtime(e.mtime.unwrap_or(self.epoch));
        h.set_uid(e.uid.into());
        h.set_gid(e.gid.into());
        h.set_mode(e.mode & 0o7777);
        h.set_size(0);
        self.append_xattrs(e).map_err(err)?;
        match &e.kind {
            EntryKind::Dir => {
                h.set_entry_type(tar::EntryType::Directory);
                self.builder
                    .append_data(&mut h, format!("{name}/"), io::empty())
                    .map_err(err)
            }
            EntryKind::Symlink(target) => {
                h.set_entry_type(tar::EntryType::Symlink);
                self.builder.append_link(&mut h, &name, target).map_err(err)
            }
            EntryKind::Hardlink(target) => {
                h.set_entry_type(tar::EntryType::Link);
                self.builder
                    .append_link(&mut h, &name, tar_name(target))
                    .map_err(err)
            }
            EntryKind::File(FileContent::Bytes(bytes)) => {
                h.set_entry_type(tar::EntryType::Regular);
                h.set_size(bytes.len() as u64);
                self.builder
                    .append_data(&mut h, &name, bytes.as_slice())
                    .map_err(err)
            }
            EntryKind::File(FileContent::Path(path)) => {
                let read_err = |source| LayerError::Read {
                    path: path.clone(),
                    source,
                };
                let file = File::open(path).map_err(read_err)?;
                let len = file.metadata().map_err(read_err)?.len();
                h.set_entry_type(tar::EntryType::Regular);
                h.set_size(len);
                // A file that changes size while we read it would corrupt the tar: read exactly `len`.
                let reader = Exact {
                    inner: file.take(len),
                    left: len,
                    path,
                };
                self.builder.append_data(&mut h, &name, reader).map_err(err)
            }
        }
    }

    /// The PAX header carrying `e`'s extended attributes, if it has any.
    fn append_xattrs(&mut self, e: &Entry) -> io::Result<()> {
        if e.xattrs.is_empty() {
            return Ok(());
        }
        let mut records: Vec<(String, &[u8])> = e
            .xattrs
            .iter()
            .map(|(name, value)| (format!("{}{name}", xattrs::PAX_PREFIX), value.as_slice()))
            .collect();
        records.sort();
        self.builder
            .append_pax_extensions(records.iter().map(|(k, v)| (k.as_str(), *v)))
    }

    /// Ends the tar, the gzip stream and the blob; returns the layer.
    pub fn finish(self) -> Result<Layer, LayerError> {
        let tee = self.builder.into_inner().map_err(LayerError::Finish)?;
        let (gz, diff_id, _) = tee.inner.finish();
        let blob = gz.finish().map_err(LayerError::Finish)?;
        let (digest, size) = blob.commit(None)?;
        let layer = Layer {
            descriptor: Descriptor::new(media_type::OCI_LAYER_GZIP, digest, size),
            diff_id,
        };
        if let Some(tap) = tee.tap {
            tap.finish(&layer);
        }
        Ok(layer)
    }
}

/// The name inside the tar: relative, without a leading `/`.
fn tar_name(path: &str) -> String {
    path.trim_start_matches('/')
        .trim_end_matches('/')
        .to_string()
}

struct Exact<'a, R> {
    inner: R,
    left: u64,
    path: &'a Path,
}

impl<R: Read> Read for Exact<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if n == 0 && self.left > 0 && !buf.is_empty() {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("`{}` shrank while being read", self.path.display()),
            ));
        }
        self.left -= n as u64;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_entries_same_digest() {
        let dir = tempfile::tempdir().unwrap();
        let blobs = BlobStore::open(dir.path().join("blobs")).unwrap();
        let f = dir.path().join("f");
        std::fs::write(&f, b"content").unwrap();
        let entries = vec![
            Entry {
                path: "/b/f".into(),
                kind: EntryKind::File(FileContent::Path(f.clone())),
                uid: 1,
                gid: 2,
                mode: 0o100644,
                xattrs: vec![
                    ("user.b".into(), b"2".to_vec()),
                    ("user.a".into(), b"1".to_vec()),
                ],
                mtime: None,
            },
            Entry {
                path: "/b".into(),
                kind: EntryKind::Dir,
                uid: 0,
                gid: 0,
                mode: 0o755,
                xattrs: Vec::new(),
                mtime: None,
            },
            Entry {
                path: format!("/b/{}", "long".repeat(60)),
                kind: EntryKind::Symlink("f".into()),
                uid: 0,
                gid: 0,
                mode: 0o777,
                xattrs: Vec::new(),
                mtime: None,
            },
        ];
        let write = || {
            let mut w = LayerWriter::new(&blobs, 42).unwrap();
            w.write_all(entries.clone()).unwrap();
            w.finish().unwrap()
        };
        let a = write();
        assert_eq!(a, write());
        let gz = blobs.read(&a.descriptor.digest).unwrap();
        let mut ar = tar::Archive::new(flate2::read::GzDecoder::new(gz.as_slice()));
        let names: Vec<(String, u64, u32)> = ar
            .entries()
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                let h = e.header();
                (
                    e.path().unwrap().display().to_string(),
                    h.mtime().unwrap(),
                    h.mode().unwrap(),
                )
            })
            .collect();
        assert_eq!(names[0], ("b/".to_string(), 42, 0o755));
        assert_eq!(names[1], ("b/f".to_string(), 42, 0o644));
        assert_eq!(names[2].0, format!("b/{}", "long".repeat(60)));
    }

    #[test]
    fn xattrs_become_sorted_pax_records() {
        let dir = tempfile::tempdir().unwrap();
        let blobs = BlobStore::open(dir.path().join("blobs")).unwrap();
        let mut w = LayerWriter::new(&blobs, 0).unwrap();
        w.write_all(vec![Entry {
            path: "/bin/ping".into(),
            kind: EntryKind::File(FileContent::Bytes(b"elf".to_vec())),
            uid: 0,
            gid: 0,
            mode: 0o755,
            xattrs: vec![
                ("user.b".into(), b"2".to_vec()),
                ("security.capability".into(), vec![1, 0, 0, 2]),
                ("user.a".into(), b"1".to_vec()),
            ],
            mtime: None,
        }])
        .unwrap();
        let layer = w.finish().unwrap();
        let gz = blobs.read(&layer.descriptor.digest).unwrap();
        let mut ar = tar::Archive::new(flate2::read::GzDecoder::new(gz.as_slice()));
        let mut entries = ar.entries().unwrap();
        let mut e = entries.next().unwrap().unwrap();
        assert_eq!(e.path().unwrap().to_str(), Some("bin/ping"));
        let records: Vec<(String, Vec<u8>)> = e
            .pax_extensions()
            .unwrap()
            .unwrap()
            .map(|r| {
                let r = r.unwrap();
                (r.key().unwrap().to_string(), r.value_bytes().to_vec())
            })
            .collect();
        assert_eq!(
            records,
            vec![
                (
                    "SCHILY.xattr.security.capability".to_string(),
                    vec![1, 0, 0, 2]
                ),
                ("SCHILY.xattr.user.a".to_string(), b"1".to_vec()),
                ("SCHILY.xattr.user.b".to_string(), b"2".to_vec()),
            ]
        );
        assert!(entries.next().is_none());
    }
}
