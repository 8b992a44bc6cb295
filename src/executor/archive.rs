//! Local archives for ADD (Dockerfile reference, "ADD": a local tar archive, plain or gzip, is unpacked
//! into the destination). Entries keep their own owners and modes; names are normalised so that nothing
//! lands outside the destination (`..` is clamped, absolute names become relative), and contents are
//! extracted as flat numbered files into a private temporary directory, never at a path from the archive.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, Read};
use std::path::Path;
use std::sync::Arc;

use super::stage_fs::{Content, EntryKind, Node, NodeKind, entry_meta, normalize};

/// An unpacked archive: its entries by normalised absolute path (relative to the destination).
pub struct Unpacked {
    pub entries: BTreeMap<String, Node>,
    pub dir: Arc<tempfile::TempDir>,
}

/// Whether `path` is a tar archive we unpack (plain or gzip).
pub fn is_tar(path: &Path) -> io::Result<bool> {
    let mut head = Vec::with_capacity(512);
    File::open(path)?.take(512).read_to_end(&mut head)?;
    if head.starts_with(&[0x1f, 0x8b]) {
        let mut inner = Vec::with_capacity(512);
        let gz = flate2::read::MultiGzDecoder::new(File::open(path)?);
        // A corrupt gzip is not an archive: it is copied as is.
        if gz.take(512).read_to_end(&mut inner).is_err() {
            return Ok(false);
        }
        return Ok(is_tar_header(&inner));
    }
    Ok(is_tar_header(&head))
}

fn is_tar_header(block: &[u8]) -> bool {
    if block.len() < 512 {
        return false;
    }
    if &block[257..262] == b"ustar" {
        return true;
    }
    // Old v7 tar: check the header checksum.
    let stored = std::str::from_utf8(&block[148..156])
        .ok()
        .and_then(|s| u32::from_str_radix(s.trim_matches(|c: char| c == '\0' || c == ' '), 8).ok());
    let sum: u32 = block
        .iter()
        .enumerate()
        .map(|(i, b)| {
            if (148..156).contains(&i) {
                32
            } else {
                u32::from(*b)
            }
        })
        .sum();
    stored == Some(sum) && block[0] != 0
}

/// Unpacks the archive at `path`.
pub fn unpack(path: &Path) -> io::Result<Unpacked> {
    let mut head = [0u8; 2];
    let n = File::open(path)?.read(&mut head)?;
    let file = File::open(path)?;
    let reader: Box<dyn Read> = if n == 2 && head == [0x1f, 0x8b] {
        Box::new(flate2::read::MultiGzDecoder::new(io::BufReader::new(file)))
    } else {
        Box::new(io::BufReader::new(file))
    };
    let dir = Arc::new(tempfile::tempdir()?);
    let mut entries: BTreeMap<String, Node> = BTreeMap::new();
    let mut ar = tar::Archive::new(reader);
    for (i, entry) in ar.entries()?.enumerate() {
        let mut entry = entry?;
        let name = normalize(&String::from_utf8_lossy(&entry.path_bytes()));
        if name == "/" {
            continue;
        }
        let (uid, gid, mode, kind) = entry_meta(&entry)?;
        let kind = match kind {
            EntryKind::Dir => NodeKind::Dir,
            EntryKind::Symlink(target) => NodeKind::Symlink(target),
            EntryKind::HardLink(target) => match entries.get(&target) {
                Some(n) => n.kind.clone(),
                None => continue,
            },
            EntryKind::File => {
                let host = dir.path().join(i.to_string());
                io::copy(&mut entry, &mut File::create(&host)?)?;
                NodeKind::File(Content::Host(host))
            }
            // Devices and fifos need privileges we do not assume; skipped like rootless builders do.
            EntryKind::Other => continue,
        };
        entries.insert(name, Node::new(kind, uid, gid, mode));
    }
    Ok(Unpacked { entries, dir })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unpacks_gzip_tar_and_clamps_names() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.tar.gz");
        let gz = flate2::write::GzEncoder::new(File::create(&path).unwrap(), Default::default());
        let mut b = tar::Builder::new(gz);
        let mut h = tar::Header::new_gnu();
        h.set_size(2);
        h.set_mode(0o600);
        h.set_uid(7);
        h.set_entry_type(tar::EntryType::Regular);
        b.append_data(&mut h, "x/y", &b"hi"[..]).unwrap();
        b.into_inner().unwrap().finish().unwrap();
        assert!(is_tar(&path).unwrap());
        let u = unpack(&path).unwrap();
        let node = &u.entries["/x/y"];
        assert_eq!((node.uid, node.mode), (7, 0o600));
        let plain = dir.path().join("plain.txt");
        std::fs::write(&plain, b"not a tar").unwrap();
        assert!(!is_tar(&plain).unwrap());
    }
}
