//! Local archives for ADD (Dockerfile reference, "ADD": a local tar archive, uncompressed or compressed
//! with gzip, bzip2, xz or zstd, recognised by its content as moby's `DecompressStream` does, is
//! unpacked into the destination). Entries keep their own owners and modes; names are normalised so that nothing
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

/// The stream compression a file's first bytes announce.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Compression {
    None,
    Gzip,
    Bzip2,
    Xz,
    Zstd,
}

fn compression(path: &Path) -> io::Result<Compression> {
    let mut magic = Vec::with_capacity(6);
    File::open(path)?.take(6).read_to_end(&mut magic)?;
    Ok(if magic.starts_with(&[0x1f, 0x8b]) {
        Compression::Gzip
    } else if magic.starts_with(b"BZh") {
        Compression::Bzip2
    } else if magic.starts_with(&[0xfd, b'7', b'z', b'X', b'Z', 0x00]) {
        Compression::Xz
    } else if magic.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        Compression::Zstd
    } else {
        Compression::None
    })
}

/// The file's content, decompressed.
fn reader(path: &Path) -> io::Result<Box<dyn Read>> {
    let file = io::BufReader::new(File::open(path)?);
    Ok(match compression(path)? {
        Compression::None => Box::new(file),
        Compression::Gzip => Box::new(flate2::read::MultiGzDecoder::new(file)),
        Compression::Bzip2 => Box::new(bzip2::read::MultiBzDecoder::new(file)),
        Compression::Xz => Box::new(xz2::read::XzDecoder::new_multi_decoder(file)),
        Compression::Zstd => Box::new(zstd::stream::read::Decoder::new(file)?),
    })
}

/// Whether `path` is a tar archive we unpack (uncompressed, gzip, bzip2, xz or zstd).
pub fn is_tar(path: &Path) -> io::Result<bool> {
    let mut head = Vec::with_capacity(512);
    // A corrupt compressed file is not an archive: it is copied as is.
    let Ok(content) = reader(path) else {
        return Ok(false);
    };
    if content.take(512).read_to_end(&mut head).is_err() {
        return Ok(false);
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
    let reader = reader(path)?;
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

    fn tar_bytes() -> Vec<u8> {
        let mut b = tar::Builder::new(Vec::new());
        let mut h = tar::Header::new_gnu();
        h.set_size(2);
        h.set_mode(0o644);
        h.set_entry_type(tar::EntryType::Regular);
        b.append_data(&mut h, "a/b.txt", &b"hi"[..]).unwrap();
        b.into_inner().unwrap()
    }

    #[test]
    fn unpacks_bzip2_xz_and_zstd() {
        use std::io::Write;
        let dir = tempfile::tempdir().unwrap();
        let tar = tar_bytes();
        let mut bz = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::fast());
        bz.write_all(&tar).unwrap();
        let mut xz = xz2::write::XzEncoder::new(Vec::new(), 1);
        xz.write_all(&tar).unwrap();
        let zst = zstd::encode_all(&tar[..], 1).unwrap();
        for (name, bytes) in [
            ("a.tar.bz2", bz.finish().unwrap()),
            ("a.tar.xz", xz.finish().unwrap()),
            ("a.tar.zst", zst),
        ] {
            let path = dir.path().join(name);
            std::fs::write(&path, bytes).unwrap();
            assert!(is_tar(&path).unwrap(), "{name}");
            let u = unpack(&path).unwrap();
            assert!(u.entries.contains_key("/a/b.txt"), "{name}");
        }
        // Compressed, but not a tar: copied as a file.
        let path = dir.path().join("x.zst");
        std::fs::write(&path, zstd::encode_all(&b"not a tar"[..], 1).unwrap()).unwrap();
        assert!(!is_tar(&path).unwrap());
    }
}
