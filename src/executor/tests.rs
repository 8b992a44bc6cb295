//! Executor tests: whole plans run against a context in a tempdir and a base image built here; the
//! resulting layers are read back with the `tar` crate.

use std::io::Read;
use std::path::Path;

use super::layer::{Entry, EntryKind, FileContent, LayerWriter};
use super::*;
use crate::image::{Layer, Platform, Reference};
use crate::plan::{
    BuildContext, Chmod, ContextFilter, CopySpec, IdSpec, InlineFile, MkdirSpec, Owner, RunSpec,
    Stage,
};
use crate::progress::Silent;

struct Fixture {
    _dir: tempfile::TempDir,
    blobs: BlobStore,
    ctx: std::path::PathBuf,
    images: ImageSet,
}

fn base_ref() -> Reference {
    "example.com/base:1".parse().unwrap()
}

fn entry(path: &str, kind: EntryKind, mode: u32) -> Entry {
    Entry {
        path: path.into(),
        kind,
        uid: 0,
        gid: 0,
        mode,
        xattrs: Vec::new(),
        mtime: None,
    }
}

fn bytes(s: &str) -> EntryKind {
    EntryKind::File(FileContent::Bytes(s.as_bytes().to_vec()))
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let blobs = BlobStore::open(dir.path().join("blobs")).unwrap();
    let mut w = LayerWriter::new(&blobs, 0).unwrap();
    w.write_all(vec![
        entry("/etc", EntryKind::Dir, 0o755),
        entry(
            "/etc/passwd",
            bytes("root:x:0:0::/root:/bin/sh\napp:x:1000:1001::/home/app:/bin/sh\n"),
            0o644,
        ),
        entry(
            "/etc/group",
            bytes("root:x:0:\napp:x:1001:\nstaff:x:50:\n"),
            0o644,
        ),
        entry("/opt/local/bin", EntryKind::Dir, 0o755),
        entry("/usr", EntryKind::Dir, 0o755),
        entry(
            "/usr/local",
            EntryKind::Symlink("../opt/local".into()),
            0o777,
        ),
        entry("/srv/data/hello", bytes("hi"), 0o600),
        entry("/work", EntryKind::Dir, 0o755),
    ])
    .unwrap();
    let layer = w.finish().unwrap();
    let base = Image::empty(&Platform::linux_amd64()).with_layer(layer, History::default());
    let ctx = dir.path().join("ctx");
    std::fs::create_dir_all(ctx.join("src/sub")).unwrap();
    std::fs::write(ctx.join("src/a.txt"), "a").unwrap();
    std::fs::write(ctx.join("src/sub/b.txt"), "b").unwrap();
    std::os::unix::fs::symlink("a.txt", ctx.join("src/link")).unwrap();
    std::fs::write(ctx.join("top.txt"), "top").unwrap();
    std::fs::write(ctx.join("x.txt"), "x").unwrap();
    std::os::unix::fs::symlink("/etc/hostname", ctx.join("escape")).unwrap();
    std::os::unix::fs::symlink("../../../../../../etc/passwd", ctx.join("escape2")).unwrap();
    std::os::unix::fs::symlink("/top.txt", ctx.join("inside")).unwrap();
    let gz = flate2::write::GzEncoder::new(
        std::fs::File::create(ctx.join("arch.tar.gz")).unwrap(),
        Default::default(),
    );
    let mut b = tar::Builder::new(gz);
    let mut h = tar::Header::new_gnu();
    h.set_size(2);
    h.set_mode(0o640);
    h.set_uid(7);
    h.set_gid(8);
    h.set_entry_type(tar::EntryType::Regular);
    b.append_data(&mut h, "x/y", &b"hi"[..]).unwrap();
    b.into_inner().unwrap().finish().unwrap();
    let mut images = ImageSet::new();
    images.insert(ImageKey::new(&base_ref(), &Platform::linux_amd64()), base);
    Fixture {
        _dir: dir,
        blobs,
        ctx,
        images,
    }
}

fn step(text: &str, fs: Option<FsChange>) -> Step {
    Step {
        history: true,
        created_by: text.into(),
        location: Location {
            file: "Dockerfile".into(),
            line: 3,
            end_line: 3,
            text: text.into(),
        },
        fs,
        config: Vec::new(),
    }
}

fn copy(sources: &[&str], dest: &str) -> CopySpec {
    CopySpec {
        source: CopySource::Context,
        sources: sources.iter().map(|s| s.to_string()).collect(),
        dest: dest.into(),
        owner: None,
        chmod: None,
        extract_archives: false,
        excludes: Vec::new(),
        parents: false,
        remote: Vec::new(),
        inline: Vec::new(),
        link: false,
    }
}

fn plan(f: &Fixture, stages: Vec<(Base, Vec<Step>)>) -> BuildPlan {
    BuildPlan {
        platform: Platform::linux_amd64(),
        stages: stages
            .into_iter()
            .enumerate()
            .map(|(i, (base, steps))| Stage {
                name: i.to_string(),
                base,
                platform: Platform::linux_amd64(),
                steps,
            })
            .collect(),
        context: BuildContext {
            root: f.ctx.clone(),
            filter: ContextFilter::none(),
        },
        named_contexts: Default::default(),
        epoch: 0,
        compression_level: 6,
        created: "1970-01-01T00:00:00Z".into(),
    }
}

fn run(f: &Fixture, steps: Vec<Step>) -> Result<Image, ExecError> {
    execute(
        &plan(f, vec![(Base::Image(base_ref()), steps)]),
        &f.images,
        &f.blobs,
        &Silent,
    )
}

/// (path, uid, gid, mode, content or link target) of every entry of `layer`.
fn read_layer(blobs: &BlobStore, layer: &Layer) -> Vec<(String, u32, u32, u32, String)> {
    let gz = blobs.read(&layer.descriptor.digest).unwrap();
    let mut ar = tar::Archive::new(flate2::read::GzDecoder::new(gz.as_slice()));
    ar.entries()
        .unwrap()
        .map(|e| {
            let mut e = e.unwrap();
            let path = e.path().unwrap().display().to_string();
            let h = e.header().clone();
            let mut body = String::new();
            if let Some(l) = e.link_name().unwrap() {
                body = format!("-> {}", l.display());
            } else {
                e.read_to_string(&mut body).unwrap();
            }
            (
                path,
                h.uid().unwrap() as u32,
                h.gid().unwrap() as u32,
                h.mode().unwrap(),
                body,
            )
        })
        .collect()
}

fn names(blobs: &BlobStore, layer: &Layer) -> Vec<String> {
    read_layer(blobs, layer).into_iter().map(|e| e.0).collect()
}

#[test]
fn directory_contents_and_file_into_existing_dir() {
    let f = fixture();
    let img = run(
        &f,
        vec![
            step(
                "COPY src /app/",
                Some(FsChange::Copy(copy(&["src"], "/app/"))),
            ),
            step(
                "COPY top.txt /app",
                Some(FsChange::Copy(copy(&["top.txt"], "/app"))),
            ),
        ],
    )
    .unwrap();
    let layers = img.layers();
    assert_eq!(layers.len(), 3);
    let first = read_layer(&f.blobs, &layers[1]);
    let paths: Vec<&str> = first.iter().map(|e| e.0.as_str()).collect();
    assert_eq!(
        paths,
        ["app/", "app/a.txt", "app/link", "app/sub/", "app/sub/b.txt"]
    );
    assert_eq!(
        first[2].4, "-> a.txt",
        "symlinks inside a copied directory stay symlinks"
    );
    assert_eq!(first[1].4, "a");
    assert_eq!(names(&f.blobs, &layers[2]), ["app/top.txt"]);
    assert_eq!(img.config().history.len(), 3);
    assert_eq!(
        img.config().created.as_deref(),
        Some("1970-01-01T00:00:00Z")
    );
}

#[test]
fn named_symlinks_are_followed_inside_the_context_only() {
    let f = fixture();
    let img = run(
        &f,
        vec![step(
            "COPY inside /i",
            Some(FsChange::Copy(copy(&["inside"], "/i"))),
        )],
    )
    .unwrap();
    assert_eq!(
        read_layer(&f.blobs, &img.layers()[1]),
        [("i".into(), 0, 0, 0o644, "top".into())]
    );
    for src in ["escape", "escape2"] {
        let err = run(
            &f,
            vec![step("COPY", Some(FsChange::Copy(copy(&[src], "/e"))))],
        )
        .unwrap_err();
        assert!(err.to_string().contains("was not found"), "{err}");
    }
}

#[test]
fn parents_keep_the_source_path() {
    let f = fixture();
    let mut spec = copy(&["src/sub/b.txt", "top.txt"], "/p/");
    spec.parents = true;
    let img = run(&f, vec![step("COPY --parents", Some(FsChange::Copy(spec)))]).unwrap();
    assert_eq!(
        names(&f.blobs, &img.layers()[1]),
        ["p/", "p/src/", "p/src/sub/", "p/src/sub/b.txt", "p/top.txt"]
    );
}

#[test]
fn several_sources_need_a_directory_dest() {
    let f = fixture();
    let err = run(
        &f,
        vec![step(
            "COPY top.txt x.txt /d",
            Some(FsChange::Copy(copy(&["top.txt", "x.txt"], "/d"))),
        )],
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("must be a directory and end with a /"),
        "{err}"
    );
    assert!(
        err.starts_with("Dockerfile:3: `COPY top.txt x.txt /d`"),
        "{err}"
    );
}

#[test]
fn globs_and_missing_sources() {
    let f = fixture();
    let img = run(
        &f,
        vec![step(
            "COPY *.txt /d/",
            Some(FsChange::Copy(copy(&["*.txt"], "/d/"))),
        )],
    )
    .unwrap();
    assert_eq!(
        names(&f.blobs, &img.layers()[1]),
        ["d/", "d/top.txt", "d/x.txt"]
    );
    let err = run(
        &f,
        vec![step(
            "COPY nope /d/",
            Some(FsChange::Copy(copy(&["nope"], "/d/"))),
        )],
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("`nope` was not found in the build context"),
        "{err}"
    );
    assert!(err.contains("hint:"), "{err}");
}

#[test]
fn chown_by_name_chmod_and_dest_through_symlink() {
    let f = fixture();
    let mut spec = copy(&["top.txt"], "/usr/local/bin/tool");
    spec.owner = Some(Owner {
        user: IdSpec::Name("app".into()),
        group: None,
    });
    spec.chmod = Some(Chmod::Octal(0o700));
    let img = run(&f, vec![step("COPY", Some(FsChange::Copy(spec.clone())))]).unwrap();
    let e = read_layer(&f.blobs, &img.layers()[1]);
    assert_eq!(e.len(), 1, "no parent directory is re-emitted: {e:?}");
    assert_eq!(
        (e[0].0.as_str(), e[0].1, e[0].2, e[0].3),
        ("opt/local/bin/tool", 1000, 1001, 0o700)
    );

    spec.owner = Some(Owner {
        user: IdSpec::Name("ghost".into()),
        group: None,
    });
    let err = run(&f, vec![step("COPY", Some(FsChange::Copy(spec)))]).unwrap_err();
    assert!(err.to_string().contains("unknown user `ghost`"), "{err}");
}

#[test]
fn new_parent_directories_are_emitted_with_the_owner() {
    let f = fixture();
    let mut spec = copy(&["top.txt"], "/new/deep/f");
    spec.owner = Some(Owner {
        user: IdSpec::Id(5),
        group: Some(IdSpec::Name("staff".into())),
    });
    let img = run(&f, vec![step("COPY", Some(FsChange::Copy(spec)))]).unwrap();
    let e = read_layer(&f.blobs, &img.layers()[1]);
    let got: Vec<(&str, u32, u32, u32)> = e.iter().map(|e| (e.0.as_str(), e.1, e.2, e.3)).collect();
    assert_eq!(
        got,
        [
            ("new/", 5, 50, 0o755),
            ("new/deep/", 5, 50, 0o755),
            ("new/deep/f", 5, 50, 0o644)
        ]
    );
}

#[test]
fn add_unpacks_local_tar_archives() {
    let f = fixture();
    let mut spec = copy(&["arch.tar.gz"], "/dest/");
    spec.extract_archives = true;
    let img = run(&f, vec![step("ADD", Some(FsChange::Copy(spec)))]).unwrap();
    let e = read_layer(&f.blobs, &img.layers()[1]);
    let got: Vec<(&str, u32, u32, u32)> = e.iter().map(|e| (e.0.as_str(), e.1, e.2, e.3)).collect();
    assert_eq!(
        got,
        [
            ("dest/", 0, 0, 0o755),
            ("dest/x/", 0, 0, 0o755),
            ("dest/x/y", 7, 8, 0o640)
        ]
    );
}

#[test]
fn workdir_of_an_existing_directory_adds_no_layer() {
    let f = fixture();
    let mkdir = |p: &str| {
        Some(FsChange::Mkdir(MkdirSpec {
            path: p.into(),
            owner: None,
            mode: 0o755,
        }))
    };
    let img = run(
        &f,
        vec![
            step("WORKDIR /work", mkdir("/work")),
            step("WORKDIR /a/b", mkdir("/a/b")),
        ],
    )
    .unwrap();
    assert_eq!(img.layers().len(), 2);
    let h = &img.config().history;
    assert!(h[1].empty_layer);
    assert!(!h[2].empty_layer);
    assert_eq!(names(&f.blobs, &img.layers()[1]), ["a/", "a/b/"]);
}

#[test]
fn run_without_a_sandbox_is_refused_with_its_location() {
    let f = fixture();
    let err = run(
        &f,
        vec![step(
            "RUN make",
            Some(FsChange::Run(RunSpec {
                argv: vec!["/bin/sh".into(), "-c".into(), "make".into()],
                ..RunSpec::default()
            })),
        )],
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.starts_with("Dockerfile:3: `RUN make` needs the RUN sandbox"),
        "{err}"
    );
}

#[test]
fn copy_from_stage_image_and_inline_files() {
    let f = fixture();
    let first = vec![step(
        "COPY top.txt /out/t",
        Some(FsChange::Copy(copy(&["top.txt"], "/out/t"))),
    )];
    let mut from_stage = copy(&["/out/t"], "/final");
    from_stage.source = CopySource::Stage(StageId(0));
    let mut from_image = copy(&["/srv/data"], "/data");
    from_image.source = CopySource::Image(base_ref());
    let mut inline = copy(&[], "/etc/");
    inline.inline = vec![InlineFile {
        name: "motd".into(),
        content: "hello\n".into(),
    }];
    let p = plan(
        &f,
        vec![
            (Base::Scratch, first),
            (
                Base::Scratch,
                vec![
                    step("COPY --from=0", Some(FsChange::Copy(from_stage))),
                    step("COPY --from=base", Some(FsChange::Copy(from_image))),
                    step("COPY <<motd", Some(FsChange::Copy(inline))),
                ],
            ),
        ],
    );
    let img = execute(&p, &f.images, &f.blobs, &Silent).unwrap();
    let l = img.layers();
    assert_eq!(
        read_layer(&f.blobs, &l[0]),
        [("final".into(), 0, 0, 0o644, "top".into())]
    );
    assert_eq!(
        read_layer(&f.blobs, &l[1]),
        [
            ("data/".into(), 0, 0, 0o755, String::new()),
            ("data/hello".into(), 0, 0, 0o600, "hi".into())
        ]
    );
    assert_eq!(names(&f.blobs, &l[2]), ["etc/", "etc/motd"]);
}

#[test]
fn heredocs_beside_context_files_in_one_layer() {
    // `COPY top.txt <<motd arch.tar.gz /etc/` (ADD): files and heredocs in one layer; the
    // archive is unpacked, the heredoc never is.
    let f = fixture();
    let mut mixed = copy(&["top.txt", "arch.tar.gz"], "/etc/");
    mixed.extract_archives = true;
    mixed.inline = vec![InlineFile {
        name: "motd".into(),
        content: "hello\n".into(),
    }];
    let p = plan(
        &f,
        vec![(
            Base::Scratch,
            vec![step(
                "ADD top.txt arch.tar.gz <<motd /etc/",
                Some(FsChange::Copy(mixed)),
            )],
        )],
    );
    let img = execute(&p, &f.images, &f.blobs, &Silent).unwrap();
    assert_eq!(
        names(&f.blobs, &img.layers()[0]),
        ["etc/", "etc/motd", "etc/top.txt", "etc/x/", "etc/x/y"]
    );
}

#[test]
fn same_inputs_same_layer_digests() {
    let f = fixture();
    let steps = || {
        vec![step(
            "COPY . /app/",
            Some(FsChange::Copy(copy(&["."], "/app/"))),
        )]
    };
    let a = run(&f, steps()).unwrap();
    let b = run(&f, steps()).unwrap();
    assert_eq!(a.serialize().manifest.digest, b.serialize().manifest.digest);
    assert!(Path::new(&f.blobs.path(&a.layers()[1].descriptor.digest)).is_file());
}
