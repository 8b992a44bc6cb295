//! A private temporary directory for files the lifecycle hands to buildpacks and reads back (each
//! `bin/detect`'s `<plan>`, each `bin/build`'s Buildpack Plan), removed when dropped.

use std::path::{Path, PathBuf};

#[derive(Debug)]
pub struct Scratch {
    dir: PathBuf,
}

impl Scratch {
    /// A new directory in the system's temporary directory, else in `fallback` (the layers
    /// directory: a build image without a writable `/tmp` still builds).
    pub fn new(purpose: &str, fallback: &Path) -> std::io::Result<Self> {
        Self::new_in(&std::env::temp_dir(), purpose).or_else(|_| Self::new_in(fallback, purpose))
    }

    fn new_in(base: &Path, purpose: &str) -> std::io::Result<Self> {
        for attempt in 0..100u32 {
            let dir = base.join(format!(".cnb-{purpose}-{}-{attempt}", std::process::id()));
            match std::fs::create_dir_all(base).and_then(|()| std::fs::create_dir(&dir)) {
                Ok(()) => return Ok(Self { dir }),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(e),
            }
        }
        Err(std::io::Error::other("no free temporary directory name"))
    }

    pub fn path(&self) -> &Path {
        &self.dir
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
