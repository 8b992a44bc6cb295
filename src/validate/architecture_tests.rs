use super::super::elf::fake;
use super::super::scan::normalize;
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

/// An image of `layers`, each named by the instruction that added it, in a blob store under `dir`.
fn image(
    dir: &std::path::Path,
    layers: &[(&str, Vec<u8>)],
    change: impl FnOnce(&mut crate::image::ContainerConfig),
    arch: &str,
) -> (SerializedImage, BlobStore) {
    let blobs = BlobStore::open(dir.join("blobs")).unwrap();
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
    (image.with_config(change).serialize(), blobs)
}

/// Every finding of the check as `hoist validate` runs it.
fn report(
    layers: &[(&str, Vec<u8>)],
    change: impl FnOnce(&mut crate::image::ContainerConfig),
    verdicts: Option<&Verdicts>,
) -> Report {
    let dir = tempfile::tempdir().unwrap();
    let (image, blobs) = image(dir.path(), layers, change, "amd64");
    check(
        &image,
        &blobs,
        &Platform::linux_amd64(),
        verdicts,
        Origin::Existing,
    )
    .unwrap()
}

/// The build's findings, rendered as the build shows them.
fn findings(layers: &[(&str, Vec<u8>)], entrypoint: Option<&str>, arch: &str) -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    let (image, blobs) = image(
        dir.path(),
        layers,
        |c| c.entrypoint = entrypoint.map(|e| vec![e.to_string()]),
        arch,
    );
    let platform = Platform::normalized("linux", arch, None);
    crate::validate::architecture(&image, &blobs, &platform, None)
        .unwrap()
        .findings
        .into_iter()
        .map(|f| format!("{f}\nhint: {}", f.hint))
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

fn kinds(report: &Report) -> Vec<(Kind, Option<&str>)> {
    report
        .findings
        .iter()
        .map(|f| (f.kind, f.path.as_deref()))
        .collect()
}

#[test]
fn entrypoint_not_found_through_path_or_by_its_path() {
    let r = report(&[base()], |c| c.entrypoint = Some(vec!["app".into()]), None);
    assert_eq!(kinds(&r), [(Kind::EntrypointNotFound, Some("app"))]);
    assert!(
        r.findings[0]
            .message
            .contains("executable file not found in $PATH")
    );
    let r = report(
        &[base()],
        |c| c.cmd = Some(vec!["/app/missing".into(), "--flag".into()]),
        None,
    );
    assert_eq!(
        kinds(&r),
        [(Kind::EntrypointNotFound, Some("/app/missing"))]
    );
    assert!(r.findings[0].message.contains("command (`Cmd`)"));
    // The busybox shell through the default PATH, and through a symlink, is found.
    let r = report(&[base()], |c| c.cmd = Some(vec!["sh".into()]), None);
    assert!(r.findings.is_empty(), "{:?}", r.findings);
}

#[test]
fn entrypoint_without_x_bit_or_a_directory_is_not_executable() {
    let script = layer_tar(&[E::File("app/run.sh", 0o644, b"#!/bin/sh\necho hi\n")]);
    let r = report(
        &[base(), ("COPY run.sh /app/", script)],
        |c| c.entrypoint = Some(vec!["/app/run.sh".into()]),
        None,
    );
    assert_eq!(
        kinds(&r),
        [(Kind::EntrypointNotExecutable, Some("/app/run.sh"))]
    );
    let f = &r.findings[0];
    assert!(f.message.contains("mode is 0644"), "{}", f.message);
    assert!(f.message.contains("permission denied"), "{}", f.message);
    assert_eq!(f.layer.as_ref().map(|l| l.index), Some(2));
    let r = report(
        &[base()],
        |c| c.entrypoint = Some(vec!["/bin".into()]),
        None,
    );
    assert_eq!(kinds(&r), [(Kind::EntrypointNotExecutable, Some("/bin"))]);
    // The build does not judge the entrypoint's presence or mode.
    let dir = tempfile::tempdir().unwrap();
    let (image, blobs) = image(
        dir.path(),
        &[base()],
        |c| c.entrypoint = Some(vec!["/bin".into()]),
        "amd64",
    );
    let build =
        crate::validate::architecture(&image, &blobs, &Platform::linux_amd64(), None).unwrap();
    assert!(build.findings.is_empty());
}

#[test]
fn relative_entrypoint_resolves_from_the_working_dir() {
    let script = layer_tar(&[E::File("srv/run.sh", 0o755, b"#!/bin/sh\n")]);
    let r = report(
        &[base(), ("COPY run.sh /srv/", script)],
        |c| {
            c.working_dir = Some("/srv".into());
            c.entrypoint = Some(vec!["./run.sh".into()]);
        },
        None,
    );
    assert!(r.findings.is_empty(), "{:?}", r.findings);
}

#[test]
fn report_counts_files_binaries_and_layers() {
    let arm = fake(183, true, 2, None);
    let tool = layer_tar(&[
        E::File("bin/tool", 0o755, &arm),
        E::File("etc/motd", 0o644, b"hi"),
    ]);
    let r = report(&[base(), ("COPY tool /bin/tool", tool)], |_| {}, None);
    assert_eq!((r.files, r.binaries, r.layers), (3, 2, 2));
    assert_eq!((r.scanned, r.cached, r.skipped), (2, 0, 0));
    let f = &r.findings[0];
    assert_eq!(
        (f.kind, f.path.as_deref()),
        (Kind::ForeignBinary, Some("/bin/tool"))
    );
    assert!(f.message.contains("arm64 (aarch64)"), "{}", f.message);
    assert!(f.hint.contains("--platform linux/arm64"), "{}", f.hint);
    assert_eq!(
        f.layer.as_ref().and_then(|l| l.created_by.as_deref()),
        Some("COPY tool /bin/tool")
    );
}

#[test]
fn verdicts_spare_reading_a_layer_again() {
    let cache = tempfile::tempdir().unwrap();
    let verdicts = Verdicts::new(cache.path().join("verdicts"));
    let arm = fake(183, true, 2, None);
    let tool = || layer_tar(&[E::File("bin/tool", 0o755, &arm)]);
    let first = report(
        &[base(), ("COPY tool /bin/tool", tool())],
        |_| {},
        Some(&verdicts),
    );
    assert_eq!((first.scanned, first.cached), (2, 0));
    let again = report(
        &[base(), ("COPY tool /bin/tool", tool())],
        |_| {},
        Some(&verdicts),
    );
    assert_eq!((again.scanned, again.cached), (0, 2));
    assert_eq!(again.findings, first.findings);
    assert_eq!((again.files, again.binaries), (first.files, first.binaries));
}

#[test]
fn a_cached_layer_is_still_subject_to_later_whiteouts() {
    let cache = tempfile::tempdir().unwrap();
    let verdicts = Verdicts::new(cache.path().join("verdicts"));
    let arm = fake(183, true, 2, None);
    let tool = || {
        layer_tar(&[
            E::File("opt/x/bin/tool", 0o755, &arm),
            E::File("bin/gone", 0o755, &arm),
        ])
    };
    // The layer's verdict is cached while it holds two foreign binaries...
    let flagged = report(&[base(), ("COPY . /", tool())], |_| {}, Some(&verdicts));
    assert_eq!(flagged.findings.len(), 2, "{:?}", flagged.findings);
    // ...and an image that deletes them in a later layer is clean, with that layer from the cache.
    let cleanup = layer_tar(&[
        E::File("bin/.wh.gone", 0o644, b""),
        E::File("opt/x/.wh..wh..opq", 0o644, b""),
    ]);
    let clean = report(
        &[base(), ("COPY . /", tool()), ("RUN rm", cleanup)],
        |_| {},
        Some(&verdicts),
    );
    assert_eq!((clean.scanned, clean.cached), (1, 2));
    assert!(clean.findings.is_empty(), "{:?}", clean.findings);
}

#[test]
fn an_unreadable_verdict_is_read_again() {
    let cache = tempfile::tempdir().unwrap();
    let dir = cache.path().join("verdicts");
    let verdicts = Verdicts::new(&dir);
    report(&[base()], |_| {}, Some(&verdicts));
    for file in std::fs::read_dir(&dir).unwrap() {
        std::fs::write(file.unwrap().path(), b"{not json").unwrap();
    }
    let r = report(&[base()], |_| {}, Some(&verdicts));
    assert_eq!((r.scanned, r.cached), (1, 0));
    assert_eq!(r.files, 1);
}
