//! Unpack tests: tar streams built here (names written raw, so a test can say `../x` or `/abs`), unpacked
//! into a root inside a tempdir whose sibling `outside` must stay empty.

use std::io::Write;
use std::os::unix::fs::{FileTypeExt, MetadataExt};

use nix::sched::CloneFlags;

use super::*;
use crate::executor::forked::enter_user_namespace;
use crate::executor::xattrs;

const MTIME: u64 = 1_600_000_000;

/// One tar entry to write.
struct Spec<'a> {
    name: &'a str,
    kind: tar::EntryType,
    link: &'a str,
    data: &'a [u8],
    mode: u32,
    uid: u64,
    gid: u64,
    mtime: u64,
    device: (u32, u32),
    pax: Vec<(&'a str, &'a [u8])>,
}

fn spec(name: &str, kind: tar::EntryType) -> Spec<'_> {
    Spec {
        name,
        kind,
        link: "",
        data: b"",
        mode: if kind == tar::EntryType::Directory {
            0o755
        } else {
            0o644
        },
        uid: 0,
        gid: 0,
        mtime: MTIME,
        device: (0, 0),
        pax: Vec::new(),
    }
}

fn dir(name: &str) -> Spec<'_> {
    spec(name, tar::EntryType::Directory)
}

fn file<'a>(name: &'a str, data: &'a [u8]) -> Spec<'a> {
    Spec {
        data,
        ..spec(name, tar::EntryType::Regular)
    }
}

fn symlink<'a>(name: &'a str, target: &'a str) -> Spec<'a> {
    Spec {
        link: target,
        mode: 0o777,
        ..spec(name, tar::EntryType::Symlink)
    }
}

fn hardlink<'a>(name: &'a str, target: &'a str) -> Spec<'a> {
    Spec {
        link: target,
        ..spec(name, tar::EntryType::Link)
    }
}

fn tar(specs: Vec<Spec<'_>>) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    for s in specs {
        if !s.pax.is_empty() {
            builder
                .append_pax_extensions(s.pax.iter().copied())
                .unwrap();
        }
        let mut h = tar::Header::new_gnu();
        let old = h.as_old_mut();
        old.name[..s.name.len()].copy_from_slice(s.name.as_bytes());
        old.linkname[..s.link.len()].copy_from_slice(s.link.as_bytes());
        h.set_entry_type(s.kind);
        h.set_size(s.data.len() as u64);
        h.set_mode(s.mode);
        h.set_uid(s.uid);
        h.set_gid(s.gid);
        h.set_mtime(s.mtime);
        if matches!(s.kind, tar::EntryType::Char | tar::EntryType::Block) {
            h.set_device_major(s.device.0).unwrap();
            h.set_device_minor(s.device.1).unwrap();
        }
        h.set_cksum();
        builder.append(&h, s.data).unwrap();
    }
    builder.into_inner().unwrap()
}

/// A root next to a sentinel directory `outside` that no layer may touch.
struct Fixture {
    dir: tempfile::TempDir,
}

impl Fixture {
    fn new() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("root")).unwrap();
        std::fs::create_dir(dir.path().join("outside")).unwrap();
        Fixture { dir }
    }

    fn root(&self) -> PathBuf {
        self.dir.path().join("root")
    }

    fn outside(&self) -> PathBuf {
        self.dir.path().join("outside")
    }

    fn unpack(&self, specs: Vec<Spec<'_>>) -> Result<UnpackReport, RootfsError> {
        unpack_layer(
            tar(specs).as_slice(),
            &self.root(),
            &UnpackOptions::default(),
        )
    }

    fn assert_outside_untouched(&self) {
        let names: Vec<_> = std::fs::read_dir(self.outside()).unwrap().collect();
        assert!(names.is_empty(), "written outside the root: {names:?}");
        let siblings: Vec<_> = std::fs::read_dir(self.dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(siblings.len(), 2, "written next to the root: {siblings:?}");
    }
}

#[test]
fn whiteouts_remove_a_file_and_a_directory_tree() {
    let fx = Fixture::new();
    fx.unpack(vec![
        dir("a"),
        file("a/gone", b"x"),
        file("a/kept", b"x"),
        dir("d"),
        dir("d/sub"),
        file("d/sub/x", b"x"),
    ])
    .unwrap();
    fx.unpack(vec![file("a/.wh.gone", b""), file(".wh.d", b"")])
        .unwrap();
    let root = fx.root();
    assert!(!root.join("a/gone").exists());
    assert!(root.join("a/kept").exists());
    assert!(!root.join("d").exists());
    assert!(!root.join("a/.wh.gone").exists());
}

#[test]
fn opaque_directory_keeps_only_this_layers_children_wherever_the_marker_is() {
    let fx = Fixture::new();
    fx.unpack(vec![
        dir("d"),
        file("d/old", b"x"),
        dir("d/sub"),
        file("d/sub/x", b"x"),
        file("d/mine", b"old"),
    ])
    .unwrap();
    fx.unpack(vec![
        dir("d"),
        file("d/mine", b"new"),
        file("d/.wh..wh..opq", b""),
        file("d/later", b"x"),
    ])
    .unwrap();
    let mut names: Vec<_> = std::fs::read_dir(fx.root().join("d"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["later", "mine"]);
    assert_eq!(std::fs::read(fx.root().join("d/mine")).unwrap(), b"new");
}

#[test]
fn hardlink_shares_the_inode_of_its_target() {
    let fx = Fixture::new();
    fx.unpack(vec![
        dir("bin"),
        file("bin/a", b"elf"),
        hardlink("bin/b", "bin/a"),
        hardlink("/bin/c", "/bin/a"),
    ])
    .unwrap();
    let a = std::fs::metadata(fx.root().join("bin/a")).unwrap();
    let b = std::fs::metadata(fx.root().join("bin/b")).unwrap();
    let c = std::fs::metadata(fx.root().join("bin/c")).unwrap();
    assert_eq!((a.ino(), a.ino()), (b.ino(), c.ino()));
    assert_eq!(a.nlink(), 3);
}

/// Every symlink here points into the tempdir, so that even a broken unpacker writes nothing on the host
/// outside it, and `assert_outside_untouched` sees it.
#[test]
fn files_written_through_symlinked_parents_stay_inside_the_root() {
    let fx = Fixture::new();
    let outside = fx.outside();
    let absolute = outside.to_str().unwrap();
    let dangling = format!("{absolute}/nowhere/deeper");
    fx.unpack(vec![
        symlink("etc", absolute),
        file("etc/passwd", b"root::0:0"),
        symlink("up", ".."),
        file("up/escaped", b"x"),
        dir("deep"),
        symlink("deep/up", "../../outside"),
        file("deep/up/climbed", b"x"),
        symlink("dangling", &dangling),
        file("dangling/f", b"x"),
    ])
    .unwrap();
    // A later layer: a file entry where a symlink to the outside stands replaces the symlink.
    std::os::unix::fs::symlink(outside.join("target"), fx.root().join("trap")).unwrap();
    fx.unpack(vec![file("trap", b"replaced")]).unwrap();
    fx.assert_outside_untouched();
    let root = fx.root();
    let inside = root.join(absolute.trim_start_matches('/'));
    assert_eq!(std::fs::read(inside.join("passwd")).unwrap(), b"root::0:0");
    assert!(root.join("escaped").is_file());
    assert!(root.join("outside/climbed").is_file());
    assert!(inside.join("nowhere/deeper/f").is_file());
    assert!(
        !std::fs::symlink_metadata(root.join("trap"))
            .unwrap()
            .is_symlink()
    );
}

#[test]
fn names_climbing_above_the_root_are_refused() {
    for name in ["../escape", "a/../../escape", "./../escape"] {
        let fx = Fixture::new();
        let err = fx.unpack(vec![file(name, b"x")]).unwrap_err();
        assert!(
            matches!(&err, RootfsError::Escape { entry } if entry == name),
            "{name}: {err}"
        );
        assert!(err.to_string().contains("outside the image root"));
        fx.assert_outside_untouched();
    }
}

#[test]
fn hardlinks_to_files_outside_the_root_are_refused() {
    let fx = Fixture::new();
    std::fs::write(fx.outside().join("secret"), b"s").unwrap();
    let err = fx
        .unpack(vec![hardlink("passwd", "../../etc/passwd")])
        .unwrap_err();
    assert!(matches!(err, RootfsError::LinkEscape { .. }), "{err}");
    // Through a symlink pointing outside: resolved inside the root, where there is no such file.
    let err = fx
        .unpack(vec![
            symlink("out", fx.outside().to_str().unwrap()),
            hardlink("stolen", "out/secret"),
        ])
        .unwrap_err();
    assert!(matches!(err, RootfsError::LinkTarget { .. }), "{err}");
    assert!(!fx.root().join("stolen").exists());
    assert_eq!(
        std::fs::metadata(fx.outside().join("secret"))
            .unwrap()
            .nlink(),
        1
    );
}

#[test]
fn absolute_names_land_inside_the_root() {
    let fx = Fixture::new();
    fx.unpack(vec![file("/abs/file", b"x"), dir("//twice/")])
        .unwrap();
    assert!(fx.root().join("abs/file").is_file());
    assert!(fx.root().join("twice").is_dir());
    fx.assert_outside_untouched();
}

#[test]
fn setuid_bit_survives_the_owner_change() {
    let fx = Fixture::new();
    let report = fx
        .unpack(vec![
            dir("bin"),
            Spec {
                mode: 0o4755,
                uid: 1000,
                gid: 1001,
                ..file("bin/su", b"elf")
            },
            Spec {
                mode: 0o3775,
                uid: 1000,
                gid: 50,
                ..dir("shared")
            },
        ])
        .unwrap();
    assert_eq!(report, UnpackReport::default());
    let su = std::fs::metadata(fx.root().join("bin/su")).unwrap();
    assert_eq!(
        (su.mode() & 0o7777, su.uid(), su.gid()),
        (0o4755, 1000, 1001)
    );
    let shared = std::fs::metadata(fx.root().join("shared")).unwrap();
    assert_eq!(shared.mode() & 0o7777, 0o3775);
}

#[test]
fn carried_xattrs_are_applied_from_pax_records() {
    let fx = Fixture::new();
    let report = fx
        .unpack(vec![Spec {
            pax: vec![
                ("SCHILY.xattr.user.foo", b"bar"),
                ("SCHILY.xattr.trusted.overlay.opaque", b"y"),
            ],
            ..file("f", b"x")
        }])
        .unwrap();
    assert_eq!(report.notes, Vec::<String>::new());
    let got = xattrs::read(&fx.root().join("f")).unwrap();
    assert_eq!(got, vec![("user.foo".to_string(), b"bar".to_vec())]);
}

#[test]
fn directory_times_are_the_headers_even_after_children_are_written() {
    let fx = Fixture::new();
    fx.unpack(vec![
        Spec {
            mtime: 1_000_000,
            ..dir("d")
        },
        Spec {
            mtime: 2_000_000,
            ..file("d/f", b"x")
        },
        Spec {
            mtime: 3_000_000,
            ..dir("d/sub")
        },
        file("d/sub/g", b"x"),
        Spec {
            pax: vec![("mtime", b"1700000000.5")],
            ..file("d/precise", b"x")
        },
    ])
    .unwrap();
    let mtime = |p: &str| {
        let m = std::fs::symlink_metadata(fx.root().join(p)).unwrap();
        (m.mtime(), m.mtime_nsec())
    };
    assert_eq!(mtime("d"), (1_000_000, 0));
    assert_eq!(mtime("d/f"), (2_000_000, 0));
    assert_eq!(mtime("d/sub"), (3_000_000, 0));
    assert_eq!(mtime("d/precise"), (1_700_000_000, 500_000_000));
}

#[test]
fn a_later_layer_replaces_files_by_directories_and_back() {
    let fx = Fixture::new();
    fx.unpack(vec![dir("x"), file("x/child", b"x"), file("y", b"y")])
        .unwrap();
    fx.unpack(vec![file("x", b"now a file"), dir("y"), file("y/z", b"z")])
        .unwrap();
    assert_eq!(std::fs::read(fx.root().join("x")).unwrap(), b"now a file");
    assert!(fx.root().join("y/z").is_file());
}

#[test]
fn remove_tree_opens_read_only_directories_and_does_not_follow_symlinks() {
    use std::os::unix::fs::PermissionsExt;
    let fx = Fixture::new();
    let target = fx.root().join("t");
    std::fs::create_dir_all(target.join("ro/inner")).unwrap();
    std::fs::write(target.join("ro/inner/f"), b"x").unwrap();
    std::fs::write(fx.outside().join("keep"), b"x").unwrap();
    std::os::unix::fs::symlink(fx.outside(), target.join("ro/link")).unwrap();
    for d in ["ro/inner", "ro"] {
        std::fs::set_permissions(target.join(d), std::fs::Permissions::from_mode(0o500)).unwrap();
    }
    remove_tree(&target).unwrap();
    assert!(!target.exists());
    assert!(fx.outside().join("keep").is_file());
    remove_tree(&target).unwrap(); // already gone
}

#[test]
fn resolve_and_create_follow_symlinks_inside_the_root_only() {
    let fx = Fixture::new();
    let root = fx.root();
    std::fs::create_dir_all(root.join("b")).unwrap();
    std::os::unix::fs::symlink("/b", root.join("a")).unwrap();
    std::os::unix::fs::symlink("../../../d", root.join("b/c")).unwrap();
    std::os::unix::fs::symlink(fx.outside(), root.join("out")).unwrap();
    assert_eq!(resolve_in_root(&root, "/a/c/x").unwrap(), root.join("d/x"));
    assert_eq!(resolve_in_root(&root, "a/../..").unwrap(), root);
    let made = create_dir_all_in_root(&root, "/out/proc", 0o555).unwrap();
    assert_eq!(
        made,
        root.join(fx.outside().strip_prefix("/").unwrap())
            .join("proc")
    );
    let meta = std::fs::metadata(&made).unwrap();
    assert_eq!(meta.mode() & 0o7777, 0o555);
    assert_eq!(
        create_dir_all_in_root(&root, "a", 0o755).unwrap(),
        root.join("b")
    );
    fx.assert_outside_untouched();
}

#[test]
fn unpack_blob_picks_the_decoder_from_the_first_bytes() {
    let fx = Fixture::new();
    let plain = tar(vec![file("plain", b"p")]);
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&tar(vec![file("zipped", b"z")])).unwrap();
    let blobs = fx.dir.path().join("blobs");
    std::fs::create_dir(&blobs).unwrap();
    std::fs::write(blobs.join("plain"), plain).unwrap();
    std::fs::write(blobs.join("gz"), gz.finish().unwrap()).unwrap();
    let options = UnpackOptions::default();
    unpack_blob(&blobs.join("plain"), true, &fx.root(), &options).unwrap();
    unpack_blob(&blobs.join("gz"), false, &fx.root(), &options).unwrap();
    assert!(fx.root().join("plain").is_file());
    assert!(fx.root().join("zipped").is_file());
    std::fs::write(blobs.join("junk"), vec![0x1f, 0x8b, 0, 0]).unwrap();
    let err = unpack_blob(&blobs.join("junk"), false, &fx.root(), &options).unwrap_err();
    assert!(
        matches!(err, RootfsError::Read { hint, .. } if hint == MEDIA_HINT),
        "{err}"
    );
}

/// In a user namespace mapping only root (what rootless hoist gets without /etc/subuid), device nodes
/// are skipped and reported, fifos made, and owners other than root reported, or refused when strict.
#[test]
fn user_namespace_skips_devices_and_reports_unmapped_owners() {
    let fx = Fixture::new();
    let layer = tar(vec![
        dir("dev"),
        Spec {
            device: (1, 3),
            mode: 0o666,
            ..spec("dev/null", tar::EntryType::Char)
        },
        Spec {
            mode: 0o600,
            ..spec("dev/fifo", tar::EntryType::Fifo)
        },
        Spec {
            uid: 1000,
            gid: 1000,
            ..file("home/app", b"x")
        },
    ]);
    let text = crate::executor::forked::in_child(|| {
        enter_user_namespace(CloneFlags::empty())?;
        let report = unpack_layer(layer.as_slice(), &fx.root(), &UnpackOptions::default())
            .map_err(|e| e.to_string())?;
        let strict = UnpackOptions {
            strict_owners: true,
        };
        let refused = match unpack_layer(layer.as_slice(), &fx.root(), &strict) {
            Err(RootfsError::Owner { entry, .. }) => entry,
            other => format!("not refused: {other:?}"),
        };
        Ok(format!(
            "{:?}\n{:?}\n{refused}",
            report.skipped_devices, report.unmapped_owners
        ))
    });
    assert_eq!(
        text, "[\"dev/null\"]\n[\"home/app\"]\nhome/app",
        "report from the user namespace"
    );
    assert!(!fx.root().join("dev/null").exists());
    let fifo = std::fs::symlink_metadata(fx.root().join("dev/fifo")).unwrap();
    assert!(fifo.file_type().is_fifo());
    assert_eq!(fifo.mode() & 0o7777, 0o600);
}
