//! Can this machine execute a platform's binaries? Natively, or through a `binfmt_misc` handler
//! (kernel `Documentation/admin-guide/binfmt-misc.rst`; qemu-user registers `qemu-<arch>` entries).
//! RUN steps for another architecture need one; builds without RUN never ask.

use std::path::Path;

use crate::image::Platform;

/// The kernel/qemu name of an OCI architecture.
fn machine(architecture: &str) -> &str {
    match architecture {
        "amd64" => "x86_64",
        "arm64" => "aarch64",
        "386" => "i386",
        "ppc64le" => "ppc64le",
        other => other,
    }
}

/// `Ok` when RUN steps for `platform` can execute here; else what is missing and how to get it.
pub fn check(platform: &Platform) -> Result<(), String> {
    let wanted = machine(&platform.architecture);
    let native = std::env::consts::ARCH;
    if wanted == native || (native == "x86_64" && wanted == "i386") {
        return Ok(());
    }
    if handler_for(Path::new("/proc/sys/fs/binfmt_misc"), wanted) {
        return Ok(());
    }
    Err(format!(
        "RUN steps for {platform} cannot execute on this {native} machine: no binfmt_misc handler for {wanted} is registered (/proc/sys/fs/binfmt_misc)\nhint: install an emulator (`apt-get install qemu-user-binfmt`, or qemu-user-static), or build {platform} on a {wanted} machine; builds without RUN need neither"
    ))
}

/// An enabled handler whose name mentions the machine (`qemu-aarch64`).
fn handler_for(dir: &Path, machine: &str) -> bool {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return false;
    };
    entries.flatten().any(|e| {
        let name = e.file_name().to_string_lossy().into_owned();
        name.ends_with(machine)
            && std::fs::read_to_string(e.path())
                .map(|t| t.lines().next() == Some("enabled"))
                .unwrap_or(false)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn native_platform_needs_nothing_and_foreign_ones_need_an_enabled_handler() {
        let native = match std::env::consts::ARCH {
            "aarch64" => "linux/arm64",
            _ => "linux/amd64",
        };
        assert!(check(&native.parse().unwrap()).is_ok());
        let dir = tempfile::tempdir().unwrap();
        assert!(!handler_for(dir.path(), "aarch64"));
        std::fs::write(
            dir.path().join("qemu-aarch64"),
            "disabled\ninterpreter /x\n",
        )
        .unwrap();
        assert!(!handler_for(dir.path(), "aarch64"));
        std::fs::write(dir.path().join("qemu-aarch64"), "enabled\ninterpreter /x\n").unwrap();
        assert!(handler_for(dir.path(), "aarch64"));
        assert!(!handler_for(dir.path(), "s390x"));
    }
}
