//! The metadata of a layer entry: the tar header's fields, overridden by PAX records (`mtime`, `atime`,
//! `uid`, `gid`; POSIX.1-2001 `pax` format) and extended attributes from `SCHILY.xattr.*` records.

use std::io::{self, Read};

use nix::sys::stat::Mode;
use nix::sys::time::TimeSpec;

use crate::executor::xattrs;

/// The header fields applied to an entry, PAX records taking precedence.
pub struct Meta {
    pub uid: u64,
    pub gid: u64,
    pub mode: Mode,
    pub atime: TimeSpec,
    pub mtime: TimeSpec,
    pub xattrs: Vec<(String, Vec<u8>)>,
}

impl Meta {
    pub fn read<R: Read>(entry: &mut tar::Entry<'_, R>) -> io::Result<Meta> {
        let header = entry.header();
        let mtime = TimeSpec::new(i64::try_from(header.mtime()?).unwrap_or(i64::MAX), 0);
        let mut meta = Meta {
            uid: header.uid()?,
            gid: header.gid()?,
            mode: Mode::from_bits_truncate(header.mode()? & 0o7777),
            atime: mtime,
            mtime,
            xattrs: Vec::new(),
        };
        let mut atime = None;
        if let Some(records) = entry.pax_extensions()? {
            for record in records {
                let record = record?;
                let Ok(key) = record.key() else { continue };
                let value = record.value_bytes();
                match key {
                    "mtime" => meta.mtime = pax_time(value).unwrap_or(meta.mtime),
                    "atime" => atime = pax_time(value),
                    "uid" => meta.uid = pax_number(value).unwrap_or(meta.uid),
                    "gid" => meta.gid = pax_number(value).unwrap_or(meta.gid),
                    _ => {
                        if let Some(name) = key.strip_prefix(xattrs::PAX_PREFIX)
                            && xattrs::is_carried(name)
                        {
                            meta.xattrs.push((name.to_string(), value.to_vec()));
                        }
                    }
                }
            }
        }
        meta.atime = atime.unwrap_or(meta.mtime);
        Ok(meta)
    }
}

/// A PAX time, `SECONDS[.FRACTION]`.
fn pax_time(value: &[u8]) -> Option<TimeSpec> {
    let text = std::str::from_utf8(value).ok()?;
    let (secs, frac) = text.split_once('.').unwrap_or((text, ""));
    let secs: i64 = secs.parse().ok()?;
    let digits: String = frac.chars().take(9).collect();
    let nanos = if digits.is_empty() || secs < 0 {
        0
    } else {
        format!("{digits:0<9}").parse().ok()?
    };
    Some(TimeSpec::new(secs, nanos))
}

fn pax_number(value: &[u8]) -> Option<u64> {
    std::str::from_utf8(value).ok()?.parse().ok()
}
