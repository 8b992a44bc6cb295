//! ELF identification (System V gABI, "ELF Header" and "Program Header"; the `elf(5)` man page): which
//! machine a binary was built for and, for dynamically linked ones, its program interpreter (`PT_INTERP`).
//! Parsed by hand from a bounded prefix of the file; nothing here reads a whole file.

/// How many bytes of an ELF file are read: enough for the header, the program headers and the
/// interpreter path of every ordinary binary.
pub const PREFIX: usize = 16 * 1024;

const MAGIC: &[u8; 4] = b"\x7fELF";
const ET_EXEC: u16 = 2;
const ET_DYN: u16 = 3;
const PT_INTERP: u32 = 3;

/// What an ELF header says about the machine a file runs on.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Elf {
    pub class64: bool,
    pub little_endian: bool,
    pub machine: u16,
    /// The program interpreter (`PT_INTERP`), when present within the prefix read.
    pub interpreter: Option<String>,
}

/// Whether `bytes` starts with the ELF magic.
pub fn is_elf(bytes: &[u8]) -> bool {
    bytes.starts_with(MAGIC)
}

/// Parses an executable or shared object. `None` for non-ELF files, truncated headers and ELF files that
/// are not run (relocatable objects, core files).
pub fn parse(bytes: &[u8]) -> Option<Elf> {
    if !is_elf(bytes) || bytes.len() < 52 {
        return None;
    }
    let class64 = match bytes[4] {
        1 => false,
        2 => true,
        _ => return None,
    };
    let little_endian = match bytes[5] {
        1 => true,
        2 => false,
        _ => return None,
    };
    let r = Reader {
        bytes,
        little_endian,
    };
    let e_type = r.u16(16)?;
    if e_type != ET_EXEC && e_type != ET_DYN {
        return None;
    }
    let machine = r.u16(18)?;
    let interpreter = if class64 {
        program_interpreter(&r, r.u64(32)?, r.u16(54)?, r.u16(56)?, true)
    } else {
        program_interpreter(&r, r.u32(28)?.into(), r.u16(42)?, r.u16(44)?, false)
    };
    Some(Elf {
        class64,
        little_endian,
        machine,
        interpreter,
    })
}

fn program_interpreter(
    r: &Reader<'_>,
    phoff: u64,
    phentsize: u16,
    phnum: u16,
    class64: bool,
) -> Option<String> {
    for i in 0..u64::from(phnum) {
        let at = usize::try_from(phoff.checked_add(i * u64::from(phentsize))?).ok()?;
        if r.u32(at)? != PT_INTERP {
            continue;
        }
        let (offset, size) = if class64 {
            (r.u64(at + 8)?, r.u64(at + 32)?)
        } else {
            (r.u32(at + 4)?.into(), r.u32(at + 16)?.into())
        };
        let start = usize::try_from(offset).ok()?;
        let end = start.checked_add(usize::try_from(size).ok()?)?;
        let raw = r.bytes.get(start..end)?;
        let raw = raw.split(|b| *b == 0).next().unwrap_or(raw);
        return Some(String::from_utf8_lossy(raw).into_owned());
    }
    None
}

struct Reader<'a> {
    bytes: &'a [u8],
    little_endian: bool,
}

impl Reader<'_> {
    fn take<const N: usize>(&self, at: usize) -> Option<[u8; N]> {
        self.bytes.get(at..at.checked_add(N)?)?.try_into().ok()
    }
    fn u16(&self, at: usize) -> Option<u16> {
        let b = self.take::<2>(at)?;
        Some(if self.little_endian {
            u16::from_le_bytes(b)
        } else {
            u16::from_be_bytes(b)
        })
    }
    fn u32(&self, at: usize) -> Option<u32> {
        let b = self.take::<4>(at)?;
        Some(if self.little_endian {
            u32::from_le_bytes(b)
        } else {
            u32::from_be_bytes(b)
        })
    }
    fn u64(&self, at: usize) -> Option<u64> {
        let b = self.take::<8>(at)?;
        Some(if self.little_endian {
            u64::from_le_bytes(b)
        } else {
            u64::from_be_bytes(b)
        })
    }
}

/// The OCI architecture name of an ELF machine, for messages.
pub fn machine_name(elf: &Elf) -> String {
    match (elf.machine, elf.class64) {
        (62, _) => "amd64".into(),
        (183, _) => "arm64".into(),
        (40, _) => "arm".into(),
        (3, _) => "386".into(),
        (21, true) if elf.little_endian => "ppc64le".into(),
        (21, true) => "ppc64".into(),
        (20, _) => "ppc".into(),
        (22, true) => "s390x".into(),
        (243, true) => "riscv64".into(),
        (243, false) => "riscv32".into(),
        (8, _) => "mips".into(),
        (m, _) => format!("ELF machine {m}"),
    }
}

/// The machine name the kernel reports (`uname -m`) for an ELF machine, for messages: what `file` and
/// `readelf` users recognise.
pub fn kernel_name(elf: &Elf) -> String {
    match (elf.machine, elf.class64) {
        (62, _) => "x86-64".into(),
        (183, _) => "aarch64".into(),
        (40, _) => "arm".into(),
        (3, _) => "i386".into(),
        (21, true) if elf.little_endian => "ppc64le".into(),
        (21, true) => "ppc64".into(),
        (20, _) => "ppc".into(),
        (22, true) => "s390x".into(),
        (243, true) => "riscv64".into(),
        (243, false) => "riscv32".into(),
        (8, _) => "mips".into(),
        (m, _) => format!("e_machine {m}"),
    }
}

/// Whether `elf` runs on the OCI `architecture`; `None` when hoist does not know the architecture.
pub fn runs_on(elf: &Elf, architecture: &str) -> Option<bool> {
    let (machine, class64, little_endian) = match architecture {
        "amd64" => (62, true, true),
        "arm64" => (183, true, true),
        "arm" => (40, false, true),
        "386" => (3, false, true),
        "ppc64le" => (21, true, true),
        "s390x" => (22, true, false),
        "riscv64" => (243, true, true),
        _ => return None,
    };
    Some(elf.machine == machine && elf.class64 == class64 && elf.little_endian == little_endian)
}

/// A hand-made ELF file for tests: a 64- or 32-bit little-endian header of `e_type` for `machine`, with
/// a `PT_INTERP` program header naming `interpreter` when given.
#[cfg(test)]
pub fn fake(machine: u16, class64: bool, e_type: u16, interpreter: Option<&str>) -> Vec<u8> {
    let (ehsize, phentsize) = if class64 { (64, 56) } else { (52, 32) };
    let mut b = vec![0u8; ehsize + phentsize];
    b[..4].copy_from_slice(MAGIC);
    b[4] = if class64 { 2 } else { 1 };
    b[5] = 1;
    b[6] = 1;
    b[16..18].copy_from_slice(&e_type.to_le_bytes());
    b[18..20].copy_from_slice(&machine.to_le_bytes());
    let phnum: u16 = u16::from(interpreter.is_some());
    let interp_at = (ehsize + phentsize) as u64;
    let len = interpreter.map_or(0, |i| i.len() as u64 + 1);
    if class64 {
        b[32..40].copy_from_slice(&(ehsize as u64).to_le_bytes());
        b[54..56].copy_from_slice(&(phentsize as u16).to_le_bytes());
        b[56..58].copy_from_slice(&phnum.to_le_bytes());
        b[ehsize..ehsize + 4].copy_from_slice(&PT_INTERP.to_le_bytes());
        b[ehsize + 8..ehsize + 16].copy_from_slice(&interp_at.to_le_bytes());
        b[ehsize + 32..ehsize + 40].copy_from_slice(&len.to_le_bytes());
    } else {
        b[28..32].copy_from_slice(&(ehsize as u32).to_le_bytes());
        b[42..44].copy_from_slice(&(phentsize as u16).to_le_bytes());
        b[44..46].copy_from_slice(&phnum.to_le_bytes());
        b[ehsize..ehsize + 4].copy_from_slice(&PT_INTERP.to_le_bytes());
        b[ehsize + 4..ehsize + 8].copy_from_slice(&(interp_at as u32).to_le_bytes());
        b[ehsize + 16..ehsize + 20].copy_from_slice(&(len as u32).to_le_bytes());
    }
    if let Some(i) = interpreter {
        b.extend_from_slice(i.as_bytes());
        b.push(0);
    }
    b
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_machine_class_and_interpreter() {
        let e = parse(&fake(62, true, ET_DYN, Some("/lib64/ld-linux-x86-64.so.2"))).unwrap();
        assert_eq!((e.machine, e.class64, e.little_endian), (62, true, true));
        assert_eq!(
            e.interpreter.as_deref(),
            Some("/lib64/ld-linux-x86-64.so.2")
        );
        assert_eq!(runs_on(&e, "amd64"), Some(true));
        assert_eq!(runs_on(&e, "arm64"), Some(false));
        let arm = parse(&fake(40, false, ET_EXEC, Some("/lib/ld-linux.so.3"))).unwrap();
        assert_eq!(arm.interpreter.as_deref(), Some("/lib/ld-linux.so.3"));
        assert_eq!(machine_name(&arm), "arm");
        assert_eq!(runs_on(&arm, "arm"), Some(true));
    }

    #[test]
    fn ignores_objects_cores_and_junk() {
        assert_eq!(parse(&fake(183, true, 1, None)), None);
        assert_eq!(parse(&fake(183, true, 4, None)), None);
        assert_eq!(parse(b"\x7fELF"), None);
        assert_eq!(parse(b"#!/bin/sh\necho hi\n"), None);
    }
}
