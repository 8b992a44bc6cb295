use super::super::elf::fake;
use super::*;
use crate::image::{Descriptor, Digest, History, Image, Layer, media_type};

enum E<'a> {
    File(&'a str, u32, &'a [u8]),
    Link(&'a str, &'a str),
}

fn layer_tar(entries: &[E<'_>]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for e in entries {
        let mut h = tar::Header::new_ustar();
        match e {
            E::File(path, mode, data) => {
                h.set_entry_type(tar::EntryType::Regular);
                h.set_mode(*mode);
                h.set_size(data.len() as u64);
                b.append_data(&mut h, path, *data).unwrap();
            }
            E::Link(path, target) => {
                h.set_entry_type(tar::EntryType::Symlink);
                h.set_mode(0o777);
                h.set_size(0);
                b.append_link(&mut h, path, target).unwrap();
            }
        }
    }
    b.into_inner().unwrap()
}

fn gzip(data: &[u8]) -> Vec<u8> {
    use std::io::Write as _;
    let mut g = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    g.write_all(data).unwrap();
    g.finish().unwrap()
}

/// Builds an image from `layers`, each named by the instruction that added it, and runs the check.
fn findings(layers: &[(&str, Vec<u8>)], entrypoint: Option<&str>, arch: &str) -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    let blobs = BlobStore::open(dir.path()).unwrap();
    let platform = Platform::normalized("linux", arch, None);
    let mut image = Image::empty(&platform);
    for (i, (created_by, tar)) in layers.iter().enumerate() {
        // Alternate plain and gzip layers: both are read.
        let blob = if i % 2 == 0 { gzip(tar) } else { tar.clone() };
        let digest = blobs.put(&blob).unwrap();
        let layer = Layer {
            descriptor: Descriptor::new(media_type::OCI_LAYER_GZIP, digest, blob.len() as u64),
            diff_id: Digest::of(tar),
        };
        let history = History {
            created_by: Some(created_by.to_string()),
            ..History::default()
        };
        image = image.with_layer(layer, history);
    }
    if let Some(e) = entrypoint {
        image = image.with_config(|c| c.entrypoint = Some(vec![e.to_string()]));
    }
    check(&image.serialize(), &blobs, &platform)
        .unwrap()
        .into_iter()
        .map(|f| format!("{}\nhint: {}", f.message, f.hint))
        .collect()
}

fn base() -> (&'static str, Vec<u8>) {
    let sh = fake(62, true, 2, None);
    let tar = layer_tar(&[
        E::File("bin/busybox", 0o755, &sh),
        E::Link("bin/sh", "busybox"),
    ]);
    ("FROM busybox", tar)
}

#[test]
fn amd64_binaries_pass_on_amd64() {
    let dynamic = fake(62, true, 3, Some("/lib64/ld-linux-x86-64.so.2"));
    let loader = fake(62, true, 3, None);
    let app = layer_tar(&[
        E::File("usr/local/bin/app", 0o755, &dynamic),
        E::File("lib64/ld-linux-x86-64.so.2", 0o755, &loader),
    ]);
    let found = findings(
        &[base(), ("COPY app /usr/local/bin/app", app)],
        Some("app"),
        "amd64",
    );
    assert!(found.is_empty(), "{found:?}");
}

#[test]
fn arm64_binary_is_named_with_its_instruction_and_the_way_out() {
    let arm = fake(183, true, 2, None);
    let tool = layer_tar(&[E::File("bin/tool", 0o755, &arm)]);
    let found = findings(&[base(), ("COPY tool /bin/tool", tool)], None, "amd64");
    assert_eq!(found.len(), 1, "{found:?}");
    let f = &found[0];
    for needle in [
        "`/bin/tool`",
        "arm64",
        "linux/amd64",
        "COPY tool /bin/tool",
        "--allow-arch-mismatch",
    ] {
        assert!(f.contains(needle), "{needle} missing from {f}");
    }
    // The same binary is at home on arm64, where the amd64 busybox is the stranger.
    let tool = layer_tar(&[E::File("bin/tool", 0o755, &arm)]);
    let found = findings(&[base(), ("COPY tool /bin/tool", tool)], None, "arm64");
    assert_eq!(found.len(), 1);
    assert!(
        found[0].contains("`/bin/busybox` is an ELF binary for amd64"),
        "{}",
        found[0]
    );
}

#[test]
fn objects_data_files_and_deleted_files_are_not_judged() {
    let object = fake(183, true, 1, None);
    let arm = fake(183, true, 2, None);
    let first = layer_tar(&[
        E::File("usr/lib/foo.o", 0o755, &object),
        E::File("srv/data/blob.bin", 0o644, &arm),
        E::File("opt/old/tool", 0o755, &arm),
        E::File("bin/gone", 0o755, &arm),
        E::File("bin/notes.txt", 0o644, b"plain text"),
    ]);
    let second = layer_tar(&[
        E::File("bin/.wh.gone", 0o644, b""),
        E::File("opt/old/.wh..wh..opq", 0o644, b""),
    ]);
    let found = findings(
        &[base(), ("COPY . /", first), ("RUN cleanup", second)],
        None,
        "amd64",
    );
    assert!(found.is_empty(), "{found:?}");
}

#[test]
fn data_file_in_a_binary_dir_is_judged_even_without_x_bit() {
    let arm = fake(183, true, 3, None);
    let lib = layer_tar(&[E::File("usr/lib/libfoo.so", 0o644, &arm)]);
    let found = findings(&[base(), ("COPY libfoo.so /usr/lib/", lib)], None, "amd64");
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0].contains("`/usr/lib/libfoo.so`"));
}

#[test]
fn script_entrypoint_with_missing_interpreter_fails() {
    let script = layer_tar(&[E::File(
        "app/run.py",
        0o755,
        b"#!/usr/bin/python3\nprint('hi')\n",
    )]);
    let found = findings(
        &[base(), ("COPY run.py /app/", script)],
        Some("/app/run.py"),
        "amd64",
    );
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0].contains("`/usr/bin/python3`"), "{}", found[0]);
    assert!(found[0].contains("COPY run.py /app/"));
    // A shell script run by the image's own shell is fine.
    let script = layer_tar(&[E::File("app/run.sh", 0o755, b"#!/bin/sh\necho hi\n")]);
    let found = findings(
        &[base(), ("COPY run.sh /app/", script)],
        Some("/app/run.sh"),
        "amd64",
    );
    assert!(found.is_empty(), "{found:?}");
}

#[test]
fn dynamic_entrypoint_with_missing_loader_fails() {
    let dynamic = fake(62, true, 3, Some("/lib64/ld-linux-x86-64.so.2"));
    let app = layer_tar(&[E::File("usr/local/bin/app", 0o755, &dynamic)]);
    let found = findings(
        &[base(), ("COPY app /usr/local/bin/", app)],
        Some("app"),
        "amd64",
    );
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(
        found[0].contains("`/lib64/ld-linux-x86-64.so.2`"),
        "{}",
        found[0]
    );
}

#[test]
fn paths_normalize_and_binary_dirs_are_known() {
    assert_eq!(normalize("./usr//bin/../bin/sh"), "/usr/bin/sh");
    assert!(in_binary_dir("/bin/x"));
    assert!(in_binary_dir("/usr/lib64/libc.so.6"));
    assert!(in_binary_dir("/usr/libexec/git-core/git"));
    assert!(in_binary_dir("/libexec/x"));
    assert!(!in_binary_dir("/usrbin/x/y"));
    assert!(!in_binary_dir("/srv/bin"));
    assert!(!in_binary_dir("/bin"));
}

#[test]
fn loader_and_entrypoint_resolve_through_symlinks() {
    let dynamic = fake(62, true, 3, Some("/lib64/ld-linux-x86-64.so.2"));
    let loader = fake(62, true, 3, None);
    let app = layer_tar(&[
        E::File("opt/app/bin/app", 0o755, &dynamic),
        E::Link("usr/local/bin/app", "../../../opt/app/bin/app"),
        E::File("lib/x86_64-linux-gnu/ld-linux-x86-64.so.2", 0o755, &loader),
        E::Link("lib64", "lib/x86_64-linux-gnu"),
    ]);
    let found = findings(&[base(), ("COPY . /", app)], Some("app"), "amd64");
    assert!(found.is_empty(), "{found:?}");
}
