//! The verdict cache: what [`super::scan::layer`] read from a layer, kept on disk so that a layer is read
//! once — a base image's layers on its first build, not on every rebuild or every `hoist validate`.
//!
//! A verdict is keyed by the layer's blob digest and diff_id (and the format version): the blob digest
//! was checked when the blob entered the blob store, so the verdict describes the bytes the digest names.
//! It holds every entry of the layer, not only its foreign binaries: the entrypoint's `PATH` lookup, its
//! interpreter and later layers' whiteouts all need the paths of lower layers. It does not depend on the
//! platform, so one read serves every platform the layer is checked for.
//!
//! Files: `DIR/<sha256 of the key>.json`, written to a temporary file and renamed into place. A verdict
//! that cannot be read, or names another layer, is ignored and the layer read again.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::scan::Op;
use crate::image::tap::LayerTap;
use crate::image::{Digest, Layer};

/// Bump when [`Op`] or what the scan keeps changes: old verdicts are then never read.
const FORMAT: u32 = 1;

/// A directory of verdicts, e.g. `$HOIST_CACHE_DIR/verdicts`.
#[derive(Clone, Debug)]
pub struct Verdicts {
    dir: PathBuf,
}

#[derive(Deserialize)]
struct Stored {
    format: u32,
    digest: Digest,
    diff_id: Digest,
    ops: Vec<Op>,
}

#[derive(Serialize)]
struct ToStore<'a> {
    format: u32,
    digest: &'a Digest,
    diff_id: &'a Digest,
    ops: &'a [Op],
}

impl Verdicts {
    pub fn new(dir: impl Into<PathBuf>) -> Verdicts {
        Verdicts { dir: dir.into() }
    }

    fn file(&self, layer: &Layer) -> PathBuf {
        let key = format!(
            "hoist verdict {FORMAT}\n{}\n{}\n",
            layer.descriptor.digest, layer.diff_id
        );
        self.dir
            .join(format!("{}.json", Digest::of(key.as_bytes()).hex()))
    }

    /// The ops of `layer`, when an earlier check stored them.
    /// A verdict found is marked used (see `image::blobs::mark_used`).
    pub fn get(&self, layer: &Layer) -> Option<Vec<Op>> {
        let file = self.file(layer);
        let bytes = std::fs::read(&file).ok()?;
        let stored: Stored = serde_json::from_slice(&bytes).ok()?;
        let found = stored.format == FORMAT
            && stored.digest == layer.descriptor.digest
            && stored.diff_id == layer.diff_id;
        if found {
            crate::image::blobs::mark_used(&file);
        }
        found.then_some(stored.ops)
    }

    /// Stores the ops of `layer`. A cache: when it cannot be written, the next check reads the layer
    /// again, so failures are not errors.
    pub fn put(&self, layer: &Layer, ops: &[Op]) {
        let stored = ToStore {
            format: FORMAT,
            digest: &layer.descriptor.digest,
            diff_id: &layer.diff_id,
            ops,
        };
        let write = || -> std::io::Result<()> {
            std::fs::create_dir_all(&self.dir)?;
            let tmp = tempfile::NamedTempFile::new_in(&self.dir)?;
            let mut out = std::io::BufWriter::new(tmp);
            serde_json::to_writer(&mut out, &stored)?;
            let tmp = out.into_inner().map_err(|e| e.into_error())?;
            tmp.persist(self.file(layer)).map_err(|e| e.error)?;
            Ok(())
        };
        let _ = write();
    }

    /// A tap that reads a layer into its ops while the layer is written, and stores them as the
    /// layer's verdict once its digests are known: the check after the build then reads nothing the
    /// build wrote.
    pub fn tap(&self) -> Box<dyn LayerTap> {
        let (reader, writer) = match std::io::pipe() {
            Ok(pair) => pair,
            Err(_) => {
                return Box::new(Scanning {
                    writer: None,
                    scan: None,
                    verdicts: self.clone(),
                });
            }
        };
        let scan = std::thread::spawn(move || {
            let mut reader = reader;
            let ops = super::scan::layer(&mut reader);
            // Whatever follows the archive's end (padding) must not block the writer.
            let _ = std::io::copy(&mut reader, &mut std::io::sink());
            ops.ok()
        });
        Box::new(Scanning {
            writer: Some(writer),
            scan: Some(scan),
            verdicts: self.clone(),
        })
    }
}

/// A layer being read by [`Verdicts::tap`]'s thread.
struct Scanning {
    writer: Option<std::io::PipeWriter>,
    scan: Option<std::thread::JoinHandle<Option<Vec<Op>>>>,
    verdicts: Verdicts,
}

impl LayerTap for Scanning {
    fn write(&mut self, tar: &[u8]) {
        if let Some(w) = &mut self.writer
            && std::io::Write::write_all(w, tar).is_err()
        {
            // The reader gave up (a malformed stream): no verdict for this layer.
            self.writer = None;
        }
    }

    fn finish(mut self: Box<Self>, layer: &Layer) {
        let complete = self.writer.take().is_some();
        if let Some(scan) = self.scan.take()
            && let Ok(Some(ops)) = scan.join()
            && complete
        {
            self.verdicts.put(layer, &ops);
        }
    }
}

impl Drop for Scanning {
    fn drop(&mut self) {
        // A layer that was never finished: close the pipe so the thread ends.
        self.writer.take();
        if let Some(scan) = self.scan.take() {
            let _ = scan.join();
        }
    }
}
