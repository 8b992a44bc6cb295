//! Reading one layer (OCI image-spec `layer.md`: a tar, gzip-compressed or not, with `.wh.` whiteouts and
//! `.wh..wh..opq` opaque markers) into what the checks need of it: one [`Op`] per entry, in tar order,
//! keeping of each regular file only what its first bytes say (ELF header, `#!` line). The ops are the
//! layer's verdict: they depend only on the layer's bytes, so [`super::verdicts`] keeps them per layer
//! and a base layer is read once.

use std::io::{BufRead, BufReader, Read};

use serde::{Deserialize, Serialize};

use super::elf::{self, Elf};

/// What one tar entry does to the filesystem. Paths are absolute and normalised.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Op {
    /// `.wh..wh..opq`: hides what lower layers hold under this directory.
    #[serde(rename = "o")]
    Opaque(String),
    /// `.wh.NAME`: deletes the path (and everything under it) from lower layers.
    #[serde(rename = "w")]
    Whiteout(String),
    #[serde(rename = "d")]
    Dir(String),
    /// Path, target.
    #[serde(rename = "s")]
    Symlink(String, String),
    /// Path, permission bits, what its first bytes say.
    #[serde(rename = "f")]
    File(String, u32, Content),
    /// Path, permission bits, target (the file it shares its content with).
    #[serde(rename = "h")]
    HardLink(String, u32, String),
    /// Devices, fifos: present, never run.
    #[serde(rename = "x")]
    Other(String),
}

/// What a regular file's first bytes say.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Content {
    #[serde(rename = "e")]
    Elf(Elf),
    /// The `#!` line, without `#!`.
    #[serde(rename = "s")]
    Script(String),
    #[serde(rename = "-")]
    Other,
}

/// `/`-rooted, without `.`, `..` or repeated slashes.
pub fn normalize(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            p => parts.push(p),
        }
    }
    format!("/{}", parts.join("/"))
}

/// Reads a layer blob (gzip or plain tar) into its ops.
pub fn layer(blob: impl Read) -> std::io::Result<Vec<Op>> {
    let mut reader = BufReader::new(blob);
    let gzip = reader.fill_buf()?.starts_with(&[0x1f, 0x8b]);
    let stream: Box<dyn Read> = if gzip {
        Box::new(flate2::bufread::MultiGzDecoder::new(reader))
    } else {
        Box::new(reader)
    };
    let mut archive = tar::Archive::new(stream);
    let mut ops = Vec::new();
    for entry in archive.entries()? {
        let mut entry = entry?;
        let path = normalize(&String::from_utf8_lossy(&entry.path_bytes()));
        let (dir, name) = path.rsplit_once('/').unwrap_or(("", &path));
        if name == ".wh..wh..opq" {
            ops.push(Op::Opaque(if dir.is_empty() {
                "/".into()
            } else {
                dir.into()
            }));
            continue;
        }
        if let Some(hidden) = name.strip_prefix(".wh.") {
            ops.push(Op::Whiteout(format!("{dir}/{hidden}")));
            continue;
        }
        let kind = entry.header().entry_type();
        let link = |entry: &tar::Entry<'_, _>| {
            String::from_utf8_lossy(&entry.link_name_bytes().unwrap_or_default()).into_owned()
        };
        ops.push(if kind.is_dir() {
            Op::Dir(path)
        } else if kind.is_symlink() {
            let target = link(&entry);
            Op::Symlink(path, target)
        } else if kind.is_hard_link() {
            let target = normalize(&link(&entry));
            Op::HardLink(path, entry.header().mode()? & 0o7777, target)
        } else if kind.is_file() || kind == tar::EntryType::Continuous {
            let mode = entry.header().mode()? & 0o7777;
            Op::File(path, mode, sniff(&mut entry)?)
        } else {
            Op::Other(path)
        });
    }
    Ok(ops)
}

/// Reads the first bytes of a file: an ELF header (bounded by [`elf::PREFIX`]) or a `#!` line.
fn sniff(entry: &mut impl Read) -> std::io::Result<Content> {
    let mut head = Vec::with_capacity(256);
    entry.by_ref().take(4).read_to_end(&mut head)?;
    if elf::is_elf(&head) {
        entry
            .by_ref()
            .take(elf::PREFIX as u64 - 4)
            .read_to_end(&mut head)?;
        return Ok(elf::parse(&head).map_or(Content::Other, Content::Elf));
    }
    if head.starts_with(b"#!") {
        entry.by_ref().take(252).read_to_end(&mut head)?;
        let line = head[2..].split(|b| *b == b'\n').next().unwrap_or_default();
        return Ok(Content::Script(
            String::from_utf8_lossy(line).trim().to_string(),
        ));
    }
    Ok(Content::Other)
}
