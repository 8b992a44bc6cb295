//! `--output oci:DIR` unpacked by umoci: COPY/ADD semantics in the resulting file tree — owners
//! (`--chown` by name and id), `--chmod`, directory contents, file into dir/, globs, several sources,
//! ADD of a local .tar.gz, .dockerignore with a `!` exception, symlinks, WORKDIR creation.

use std::collections::BTreeMap;

use crate::support::{
    TreeEntry, busybox_world, hoist_run, layout_digest, mirror, sha256_hex, tree_snapshot,
    umoci_unpack, write_bundle,
};

fn entry<'a>(tree: &'a BTreeMap<String, TreeEntry>, path: &str) -> &'a TreeEntry {
    tree.get(path).unwrap_or_else(|| {
        let paths: Vec<&String> = tree
            .keys()
            .filter(|p| !p.starts_with("bin/") && !p.starts_with("usr/") && !p.starts_with("sbin/"))
            .collect();
        panic!("{path} missing from the image; it has {paths:?}")
    })
}

fn file(tree: &BTreeMap<String, TreeEntry>, path: &str, mode: u32, owner: u64, content: &str) {
    let e = entry(tree, path);
    assert_eq!(e.kind, "file", "{path}: {e:?}");
    assert_eq!(e.mode, mode, "{path}: mode {:o}", e.mode);
    assert_eq!((e.uid, e.gid), (owner, owner), "{path}: owner");
    assert_eq!(
        e.sha256.as_deref(),
        Some(sha256_hex(content.as_bytes()).as_str()),
        "{path}: content"
    );
}

#[test]
fn copy_and_add_build_the_expected_tree() {
    let (registry, sandbox) = busybox_world();
    let context = sandbox.context("copy_layout");
    write_bundle(&context);
    let out = sandbox.path("oci");
    let run = hoist_run(
        sandbox
            .hoist()
            .args(["--name", "127.0.0.1:5000/layout:t1"])
            .args(mirror(&registry))
            .arg("--dir")
            .arg(&context)
            .arg("--output")
            .arg(format!("oci:{}", out.display())),
    )
    .ok();
    assert_eq!(
        run.line(),
        layout_digest(&out, "t1"),
        "index.json tags the --name's tag"
    );

    let rootfs = umoci_unpack(&out, "t1", sandbox.dir.path());
    let tree = tree_snapshot(&out, Some("t1"), &rootfs);
    check_copy_layout(&tree, &rootfs);
}

/// What `fixtures/dockerfile/copy_layout` must produce (also checked against buildah's build of it, so
/// these expectations are the reference builder's behaviour).
pub fn check_copy_layout(tree: &BTreeMap<String, TreeEntry>, rootfs: &std::path::Path) {
    // The base is still there.
    assert_eq!(entry(tree, "bin/busybox").kind, "file");
    assert_eq!(entry(tree, "bin/sh").link.as_deref(), Some("/bin/busybox"));

    // --chown by name and by id, --chmod.
    file(tree, "srv/owned-by-name.txt", 0o644, 1000, "owned by app\n");
    file(tree, "srv/owned-by-id.txt", 0o644, 1000, "owned by app\n");
    file(tree, "etc/secret.conf", 0o640, 0, "password = hunter2\n");

    // A directory source copies its contents.
    file(tree, "srv/tree/a.txt", 0o644, 0, "a\n");
    file(tree, "srv/tree/sub/b.sh", 0o755, 0, "#!/bin/sh\necho b\n");
    assert_eq!(entry(tree, "srv/tree/sub").kind, "dir");
    assert!(
        !tree.contains_key("srv/tree/tree"),
        "COPY tree/ copies contents, not the dir"
    );

    // A file into dir/, a glob, several sources.
    file(tree, "srv/into/single.txt", 0o644, 0, "single\n");
    assert_eq!(entry(tree, "srv/into").kind, "dir");
    file(tree, "srv/docs/one.md", 0o644, 0, "# one\n");
    file(tree, "srv/docs/two.md", 0o644, 0, "# two\n");
    assert!(
        !tree.contains_key("srv/docs/not.txt"),
        "the glob matched only *.md"
    );
    file(tree, "srv/multi/single.txt", 0o644, 0, "single\n");
    file(tree, "srv/multi/owned.txt", 0o644, 0, "owned by app\n");

    // ADD of a local .tar.gz extracts it.
    file(
        tree,
        "opt/bundle/bin/tool",
        0o755,
        0,
        "#!/bin/sh\necho tool\n",
    );
    file(
        tree,
        "opt/bundle/share/readme.txt",
        0o644,
        0,
        "from the archive\n",
    );
    let link = entry(tree, "opt/bundle/share/link");
    assert_eq!(
        (link.kind.as_str(), link.link.as_deref()),
        ("symlink", Some("readme.txt"))
    );
    assert!(!tree.contains_key("opt/bundle/bundle.tar.gz"));

    // COPY . honours .dockerignore (with its `!` exception) and keeps symlinks as symlinks.
    file(tree, "ctx/keep.log", 0o644, 0, "kept by the ! exception\n");
    assert!(
        !tree.contains_key("ctx/debug.log"),
        ".dockerignore excludes *.log"
    );
    assert!(
        !tree.contains_key("ctx/ignored"),
        ".dockerignore excludes ignored/"
    );
    assert!(!tree.contains_key("ctx/ignored/x.txt"));
    let link = entry(tree, "ctx/link-to-single");
    assert_eq!(
        (link.kind.as_str(), link.link.as_deref()),
        ("symlink", Some("single.txt"))
    );
    assert_eq!(
        entry(tree, "ctx/bundle.tar.gz").kind,
        "file",
        "COPY never extracts"
    );
    assert_eq!(entry(tree, "ctx/Dockerfile").kind, "file");

    // WORKDIR creates its directory.
    assert_eq!(entry(tree, "work/deep/dir").kind, "dir");
    assert!(rootfs.join("work/deep/dir").is_dir());
}
