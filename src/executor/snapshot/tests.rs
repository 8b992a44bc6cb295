//! Snapshot tests on real trees in a tempdir: change the tree between two captures, diff, and look at
//! the entries (and, once, at the layer they make).

use std::fs;
use std::os::fd::AsFd;
use std::os::unix::fs::{PermissionsExt, symlink};

use nix::mount::{MsFlags, mount};
use nix::sched::CloneFlags;

use super::*;
use crate::executor::forked::enter_user_namespace;
use crate::executor::layer::{Entry, EntryKind, FileContent, LayerWriter};
use crate::executor::xattrs;
use crate::image::BlobStore;

struct Tree {
    dir: tempfile::TempDir,
}

impl Tree {
    fn new(paths: &[&str]) -> Tree {
        let tree = Tree {
            dir: tempfile::tempdir().unwrap(),
        };
        for path in paths {
            match path.strip_suffix('/') {
                Some(dir) => tree.mkdir(dir),
                None => tree.put(path, path.as_bytes()),
            }
        }
        tree
    }

    /// Writes a file with mode 0644 whatever the umask, making its parents.
    fn put(&self, path: &str, content: &[u8]) {
        if let Some((parent, _)) = path.rsplit_once('/') {
            self.mkdir(parent);
        }
        fs::write(self.at(path), content).unwrap();
        fs::set_permissions(self.at(path), fs::Permissions::from_mode(0o644)).unwrap();
    }

    /// `mkdir -p` with mode 0755 whatever the umask.
    fn mkdir(&self, path: &str) {
        let mut at = self.root().to_path_buf();
        for name in path.split('/').filter(|n| !n.is_empty()) {
            at.push(name);
            if !at.exists() {
                fs::create_dir(&at).unwrap();
                fs::set_permissions(&at, fs::Permissions::from_mode(0o755)).unwrap();
            }
        }
    }

    fn root(&self) -> &Path {
        self.dir.path()
    }

    fn at(&self, path: &str) -> PathBuf {
        self.root().join(path.trim_start_matches('/'))
    }

    fn capture(&self) -> Snapshot {
        Snapshot::capture(self.root(), &[]).unwrap()
    }

    /// The diff of what `change` does, each entry summed up as `path kind`.
    fn changes(&self, change: impl FnOnce(&Tree)) -> Vec<String> {
        let before = self.capture();
        change(self);
        let after = self.capture();
        diff(&before, &after, self.root())
            .unwrap()
            .iter()
            .map(describe)
            .collect()
    }
}

fn describe(e: &Entry) -> String {
    let kind = match &e.kind {
        EntryKind::Dir => "dir".to_string(),
        EntryKind::File(FileContent::Bytes(b)) if b.is_empty() && e.mode == 0 => "marker".into(),
        EntryKind::File(_) => format!("file {:o} {}:{}", e.mode, e.uid, e.gid),
        EntryKind::Symlink(t) => format!("symlink {t}"),
        EntryKind::Hardlink(t) => format!("hardlink {t}"),
    };
    format!("{} {kind}", e.path)
}

#[test]
fn capture_records_every_path_with_lstat_and_follows_no_symlink() {
    let tree = Tree::new(&["/etc/passwd", "/empty/"]);
    let outside = tempfile::tempdir().unwrap();
    fs::write(outside.path().join("o"), b"o").unwrap();
    symlink(outside.path(), tree.at("/out")).unwrap();
    let snap = tree.capture();
    let paths: Vec<&str> = snap.iter().map(|(p, _)| p).collect();
    assert_eq!(paths, ["/", "/empty", "/etc", "/etc/passwd", "/out"]);
    assert_eq!(snap.get("/out").unwrap().kind, Kind::Symlink);
    let passwd = snap.get("/etc/passwd").unwrap();
    assert_eq!(
        (passwd.kind, passwd.size, passwd.nlink),
        (Kind::File, 11, 1)
    );
}

#[test]
fn added_modified_and_deleted_files() {
    let tree = Tree::new(&["/etc/a", "/etc/b", "/etc/c"]);
    let changes = tree.changes(|t| {
        t.put("/etc/a", b"longer than before");
        fs::remove_file(t.at("/etc/b")).unwrap();
        t.put("/etc/d", b"new");
    });
    assert_eq!(
        changes,
        [
            "/etc dir",
            "/etc/.wh.b marker",
            "/etc/a file 644 0:0",
            "/etc/d file 644 0:0"
        ]
    );
}

#[test]
fn mode_and_owner_changes_leave_the_untouched_parent_out() {
    let tree = Tree::new(&["/usr/bin/tool", "/usr/bin/other", "/srv/data"]);
    let changes = tree.changes(|t| {
        fs::set_permissions(t.at("/usr/bin/tool"), fs::Permissions::from_mode(0o4755)).unwrap();
        std::os::unix::fs::chown(t.at("/srv/data"), Some(1000), Some(1001)).unwrap();
    });
    assert_eq!(
        changes,
        [
            "/srv/data file 644 1000:1001",
            "/usr/bin/tool file 4755 0:0"
        ]
    );
}

#[test]
fn a_deleted_tree_is_one_whiteout() {
    let tree = Tree::new(&["/opt/app/x", "/opt/app/sub/y", "/opt/keep"]);
    let changes = tree.changes(|t| fs::remove_dir_all(t.at("/opt/app")).unwrap());
    assert_eq!(changes, ["/opt dir", "/opt/.wh.app marker"]);
}

#[test]
fn a_directory_made_again_gives_the_same_changes_whatever_its_inode() {
    let tree = Tree::new(&["/srv/d/old", "/srv/d/keep", "/srv/d/sub/deep"]);
    let changes = tree.changes(|t| {
        // Built next to the old one, so it cannot reuse the old inode.
        t.put("/srv/d.new/keep", b"/srv/d/keep");
        fs::remove_dir_all(t.at("/srv/d")).unwrap();
        fs::rename(t.at("/srv/d.new"), t.at("/srv/d")).unwrap();
    });
    assert_eq!(
        changes,
        [
            "/srv dir",
            "/srv/d dir",
            "/srv/d/.wh.old marker",
            "/srv/d/.wh.sub marker",
            "/srv/d/keep file 644 0:0"
        ]
    );
}

#[test]
fn a_file_replaced_by_a_directory_and_a_directory_by_a_symlink() {
    let tree = Tree::new(&["/x", "/z/child", "/z/sub/grandchild"]);
    let changes = tree.changes(|t| {
        fs::remove_file(t.at("/x")).unwrap();
        t.put("/x/y", b"y");
        fs::remove_dir_all(t.at("/z")).unwrap();
        symlink("elsewhere", t.at("/z")).unwrap();
    });
    assert_eq!(
        changes,
        [
            "/x dir",
            "/x/.wh..wh..opq marker",
            "/x/y file 644 0:0",
            "/z symlink elsewhere"
        ]
    );
}

#[test]
fn files_sharing_an_inode_become_a_file_and_hard_links() {
    let tree = Tree::new(&["/bin/", "/lib/old1"]);
    fs::hard_link(tree.at("/lib/old1"), tree.at("/lib/old2")).unwrap();
    let changes = tree.changes(|t| {
        t.put("/bin/b", b"elf");
        fs::hard_link(t.at("/bin/b"), t.at("/bin/a")).unwrap();
        fs::hard_link(t.at("/bin/b"), t.at("/bin/c")).unwrap();
    });
    assert_eq!(
        changes,
        [
            "/bin dir",
            "/bin/a file 644 0:0",
            "/bin/b hardlink bin/a",
            "/bin/c hardlink bin/a"
        ]
    );
}

#[test]
fn a_changed_symlink_target() {
    let tree = Tree::new(&["/a", "/b"]);
    symlink("a", tree.at("/l")).unwrap();
    let changes = tree.changes(|t| {
        fs::remove_file(t.at("/l")).unwrap();
        symlink("b", t.at("/l")).unwrap();
    });
    assert_eq!(changes, ["/l symlink b"]);
}

#[test]
fn excluded_paths_are_not_walked() {
    let tree = Tree::new(&["/proc/", "/run/secrets/", "/app/"]);
    let exclude = ["/proc".to_string(), "/run/secrets/".to_string()];
    let before = Snapshot::capture(tree.root(), &exclude).unwrap();
    tree.put("/proc/1", b"x");
    tree.put("/run/secrets/token", b"x");
    tree.put("/app/out", b"x");
    let after = Snapshot::capture(tree.root(), &exclude).unwrap();
    assert!(after.get("/proc").is_none() && after.get("/run/secrets").is_none());
    let changes: Vec<String> = diff(&before, &after, tree.root())
        .unwrap()
        .iter()
        .map(describe)
        .collect();
    assert_eq!(changes, ["/app dir", "/app/out file 644 0:0"]);
}

/// A tmpfs mounted below the root (in a private mount namespace of a forked child) is left out.
#[test]
fn mount_points_below_the_root_are_not_walked() {
    let tree = Tree::new(&["/mnt/", "/app/"]);
    let walked = crate::executor::forked::in_child(|| {
        let fail = |e: nix::Error| e.to_string();
        enter_user_namespace(CloneFlags::CLONE_NEWNS)?;
        let private = MsFlags::MS_REC | MsFlags::MS_PRIVATE;
        mount(None::<&str>, "/", None::<&str>, private, None::<&str>).map_err(fail)?;
        let tmpfs = Some("tmpfs");
        mount(
            tmpfs,
            &tree.at("/mnt"),
            tmpfs,
            MsFlags::empty(),
            None::<&str>,
        )
        .map_err(fail)?;
        fs::write(tree.at("/mnt/inside"), b"x").map_err(|e| e.to_string())?;
        let snap = Snapshot::capture(tree.root(), &[]).map_err(|e| e.to_string())?;
        Ok(snap.iter().map(|(p, _)| p).collect::<Vec<_>>().join(" "))
    });
    assert_eq!(walked, "/ /app");
}

#[test]
fn carried_xattrs_of_changed_files_are_read() {
    let tree = Tree::new(&["/bin/"]);
    let changes = {
        let before = tree.capture();
        let file = fs::File::create(tree.at("/bin/ping")).unwrap();
        xattrs::set(file.as_fd(), "user.origin", b"run").unwrap();
        let after = tree.capture();
        diff(&before, &after, tree.root()).unwrap()
    };
    let ping = changes.iter().find(|e| e.path == "/bin/ping").unwrap();
    assert_eq!(ping.xattrs, [("user.origin".to_string(), b"run".to_vec())]);
}

/// The diff written as a layer and read back: whiteout and opaque names, hard links, owners.
#[test]
fn diff_written_through_the_layer_writer() {
    let tree = Tree::new(&["/etc/gone", "/etc/kept", "/var/cache/d/x", "/bin/"]);
    let before = tree.capture();
    fs::remove_file(tree.at("/etc/gone")).unwrap();
    tree.put("/bin/a", b"elf");
    fs::hard_link(tree.at("/bin/a"), tree.at("/bin/b")).unwrap();
    tree.mkdir("/var/cache/d.new");
    fs::remove_dir_all(tree.at("/var/cache/d")).unwrap();
    fs::rename(tree.at("/var/cache/d.new"), tree.at("/var/cache/d")).unwrap();
    let after = tree.capture();
    let entries = diff(&before, &after, tree.root()).unwrap();

    let store = tempfile::tempdir().unwrap();
    let blobs = BlobStore::open(store.path()).unwrap();
    let mut writer = LayerWriter::new(&blobs, 0).unwrap();
    writer.write_all(entries).unwrap();
    let layer = writer.finish().unwrap();
    let gz = blobs.read(&layer.descriptor.digest).unwrap();
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(gz.as_slice()));
    let read: Vec<String> = archive
        .entries()
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            let h = e.header();
            let link = e
                .link_name()
                .unwrap()
                .map(|l| format!(" -> {}", l.display()))
                .unwrap_or_default();
            format!(
                "{} {:?} {:o} {}:{} {}{link}",
                e.path().unwrap().display(),
                h.entry_type(),
                h.mode().unwrap(),
                h.uid().unwrap(),
                h.gid().unwrap(),
                h.size().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        read,
        [
            "bin/ Directory 755 0:0 0",
            "bin/a Regular 644 0:0 3",
            "bin/b Link 644 0:0 0 -> bin/a",
            "etc/ Directory 755 0:0 0",
            "etc/.wh.gone Regular 0 0:0 0",
            "var/cache/ Directory 755 0:0 0",
            "var/cache/d/ Directory 755 0:0 0",
            "var/cache/d/.wh.x Regular 0 0:0 0",
        ]
    );
}
