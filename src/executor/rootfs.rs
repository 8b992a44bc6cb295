//! stub
use std::path::{Path, PathBuf};
#[derive(Debug, thiserror::Error)]
#[error("x")]
pub struct RootfsError;
#[derive(Default)]
pub struct UnpackOptions {
    pub strict_owners: bool,
}
#[derive(Default)]
pub struct UnpackReport {
    pub skipped_devices: Vec<String>,
    pub unmapped_owners: Vec<String>,
}
pub fn unpack_blob(
    _p: &Path,
    _root: &Path,
    _o: &UnpackOptions,
) -> Result<UnpackReport, RootfsError> {
    todo!()
}
pub fn resolve_in_root(_root: &Path, _p: &str) -> std::io::Result<PathBuf> {
    todo!()
}
pub fn remove_tree(_p: &Path) {}
