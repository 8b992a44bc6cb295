//! RUN in the rootless sandbox: what a step changes becomes a layer with Docker's meaning (files added,
//! modified and deleted as whiteouts, directories replaced as opaque, hard links as links, owners and
//! modes), the process runs with the stage's USER, WORKDIR, HOME and hostname in its own namespaces,
//! a failing command names its exit code and output, mounts never reach the image, and the build cache
//! reuses a step's result until something it depends on changes.

use std::collections::BTreeMap;
use std::path::Path;

use crate::support::hostile::seed_hostile;
use crate::support::tools::{
    BUILDAH_RUN_MOUNTPOINTS, layer_entries, layout_manifest, read_blob, tree_differences,
};
use crate::support::users::{SINGLE_ID_USER, SUBID_USER, TestUser};
use crate::support::{
    Inspect, Registry, Sandbox, TreeEntry, buildah_build, busybox_world, debian_world, hoist_run,
    layout_tree, mirror, seed_busybox, skopeo_inspect, tree_snapshot, trust_host_ca, umoci_unpack,
};

fn file(rootfs: &Path, path: &str) -> String {
    std::fs::read_to_string(rootfs.join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

#[test]
fn run_changes_become_docker_layers() {
    let (registry, sandbox) = busybox_world();
    let context = sandbox.context("run_changes");
    let out = sandbox.path("oci");
    hoist_run(&mut sandbox.build_layout(&registry, &context, &out)).ok();
    let rootfs = umoci_unpack(&out, "latest", sandbox.dir.path());
    let tree = tree_snapshot(&out, Some("latest"), &rootfs);

    // Created, then changed by the second RUN.
    assert_eq!(file(&rootfs, "data/keep/a"), "changed\n");
    assert_eq!(tree["data/keep"].mode, 0o700);
    assert_eq!((tree["data/c"].uid, tree["data/c"].gid), (1234, 1234));
    assert_eq!(tree["data/clink"].link.as_deref(), Some("c"));
    assert!(!tree.contains_key("data/gone"), "deleted tree");
    assert!(!tree.contains_key("bin/rmdir"), "deleted base file");
    assert!(
        !tree.contains_key("data/replaced/old"),
        "replaced directory"
    );
    assert_eq!(file(&rootfs, "data/replaced/new"), "new\n");
    // USER, WORKDIR and HOME of the step.
    assert_eq!(file(&rootfs, "home/builder/work/uid"), "1234\n");
    assert_eq!(
        file(&rootfs, "home/builder/work/pwd"),
        "/home/builder/work\n"
    );
    assert_eq!(file(&rootfs, "home/builder/work/home"), "/home/builder\n");
    assert_eq!(tree["home/builder/work/by-app"].uid, 1234);
    // Its own uts and pid namespaces, a minimal /dev.
    assert_eq!(file(&rootfs, "hostname"), "hoist\n");
    assert!(file(&rootfs, "pid1").starts_with("/bin/sh -c "));
    let devs = file(&rootfs, "dev-list");
    for dev in ["null", "zero", "urandom", "pts", "shm", "ptmx"] {
        assert!(devs.lines().any(|l| l == dev), "/dev has {dev}: {devs}");
    }
    // Mount points made for the step are not in the image.
    assert!(
        !tree
            .keys()
            .any(|p| p.starts_with("proc/") || p.starts_with("dev/")),
        "nothing under /proc or /dev"
    );
    assert!(
        !tree.contains_key("etc/resolv.conf"),
        "busybox has none; none is left behind"
    );

    // The layers themselves: whiteouts, an opaque directory, a hard link, no untouched parents.
    let layers = layer_entries(&out, Some("latest"));
    let first_run = &layers[layers.len() - 5];
    assert!(
        first_run.iter().any(|(_, e)| e.kind == "hardlink"
            && e.link
                .as_deref()
                .is_some_and(|l| l.ends_with("data/c") || l.ends_with("data/c2"))),
        "a hard link entry in the first RUN's layer: {first_run:?}"
    );
    let second_run: Vec<&String> = layers[layers.len() - 4].iter().map(|(p, _)| p).collect();
    assert!(
        second_run.iter().any(|p| *p == "data/.wh.gone"),
        "{second_run:?}"
    );
    assert!(
        second_run.iter().any(|p| *p == "bin/.wh.rmdir"),
        "{second_run:?}"
    );
    // A directory deleted and made again: its old children are whited out, whether or not the file
    // system reused its inode number (the layer, and so the digest, must not depend on that).
    assert!(
        second_run.iter().any(|p| *p == "data/replaced/.wh.old"),
        "{second_run:?}"
    );
    assert!(
        !second_run
            .iter()
            .any(|p| *p == "data/replaced/.wh..wh..opq"),
        "{second_run:?}"
    );
    assert!(
        !second_run.iter().any(|p| p.starts_with("data/gone/")),
        "one whiteout for a deleted tree: {second_run:?}"
    );
    assert!(
        !second_run.iter().any(|p| *p == "usr" || *p == "usr/"),
        "untouched parents are not in the layer: {second_run:?}"
    );
    let history = skopeo_inspect(&format!("oci:{}:latest", out.display()), Inspect::Config);
    let created_by: Vec<&str> = history["history"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|h| h["created_by"].as_str())
        .collect();
    assert!(
        created_by
            .iter()
            .any(|c| c.starts_with("RUN /bin/sh -c mkdir -p /data/keep")),
        "{created_by:?}"
    );
}

#[test]
fn failing_run_names_the_line_the_exit_code_and_the_output() {
    let (registry, sandbox) = busybox_world();
    let context = sandbox.context("run_fails");
    let out = sandbox.path("oci");
    let run = hoist_run(&mut sandbox.build_layout(&registry, &context, &out)).failed();
    assert!(run.stderr.contains("Dockerfile:3"), "{}", run.stderr);
    assert!(run.stderr.contains("exit code 7"), "{}", run.stderr);
    let error = &run.stderr[run.stderr.find("error:").unwrap()..];
    assert!(
        error.contains("boom-marker"),
        "the error repeats the output: {error}"
    );
    assert!(error.contains("to stderr"), "stderr too: {error}");
    assert!(run.stdout.is_empty(), "{}", run.stdout);
    assert!(!out.exists(), "a failed build leaves no OCI layout behind");
}

#[test]
fn unchanged_rebuild_hits_the_cache_and_no_cache_runs_again() {
    let (registry, sandbox) = busybox_world();
    let context = sandbox.path("ctx");
    std::fs::create_dir_all(&context).unwrap();
    std::fs::write(context.join("input.txt"), "one\n").unwrap();
    std::fs::write(
        context.join("Dockerfile"),
        "FROM busybox\nRUN cat /proc/sys/kernel/random/uuid > /random\nCOPY input.txt /input.txt\nRUN cat /proc/sys/kernel/random/uuid > /after-copy\n",
    )
    .unwrap();
    let build = |extra: &[&str]| {
        let out = sandbox.path(&format!("oci-{}", rand_suffix()));
        let run = hoist_run(sandbox.build_layout(&registry, &context, &out).args(extra)).ok();
        (run, out)
    };
    let (first, _) = build(&[]);
    assert!(!first.stderr.contains("CACHED"), "{}", first.stderr);
    let (second, _) = build(&[]);
    assert_eq!(second.line(), first.line(), "same digest from the cache");
    assert_eq!(
        second.stderr.matches("CACHED").count(),
        2,
        "{}",
        second.stderr
    );

    // A changed COPY source: the RUN before it still hits, the one after it runs again.
    std::fs::write(context.join("input.txt"), "two\n").unwrap();
    let (third, _) = build(&[]);
    assert_eq!(
        third.stderr.matches("CACHED").count(),
        1,
        "{}",
        third.stderr
    );
    assert_ne!(third.line(), second.line());

    let (fresh, _) = build(&["--no-cache"]);
    assert!(!fresh.stderr.contains("CACHED"), "{}", fresh.stderr);
    assert_ne!(
        fresh.line(),
        third.line(),
        "random content: the steps really ran"
    );
}

fn rand_suffix() -> String {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static N: AtomicUsize = AtomicUsize::new(0);
    N.fetch_add(1, Ordering::SeqCst).to_string()
}

#[test]
fn mounts_work_and_never_reach_the_image() {
    let (registry, sandbox) = busybox_world();
    let context = sandbox.context("run_mounts");
    let secret = "s3cr3t-hoist-value";
    let build = |out: &Path| {
        hoist_run(
            sandbox
                .build_layout(&registry, &context, out)
                .args(["--secret", "id=token,env=HOIST_TEST_SECRET", "--no-cache"])
                .env("HOIST_TEST_SECRET", secret),
        )
        .ok()
    };
    let out = sandbox.path("oci");
    build(&out);
    let rootfs = umoci_unpack(&out, "latest", sandbox.dir.path());
    let tree = tree_snapshot(&out, Some("latest"), &rootfs);
    assert_eq!(file(&rootfs, "copied.txt"), "from the context\n");
    assert_eq!(file(&rootfs, "cache-count"), "1\n");
    assert!(tree.contains_key("tmpfs-ok"));
    assert!(tree.contains_key("secret-ok"));
    assert!(tree.contains_key("secret-env-ok"));
    assert_eq!(
        file(&rootfs, "heredoc"),
        "from a heredoc\nsecond line runs too\n"
    );
    assert_eq!(file(&rootfs, "note.txt"), "fed to a command's stdin\n");
    assert_eq!(file(&rootfs, "script-zero"), "/dev/pipes/SCRIPT\n");
    assert!(
        !tree.contains_key("dev/pipes"),
        "the script is a mount only"
    );
    assert_eq!(
        file(&rootfs, "net-none"),
        "1\n",
        "only loopback with --network=none"
    );
    assert_ne!(
        file(&rootfs, "net-default"),
        "1\n",
        "the host's network by default"
    );
    for gone in [
        "mnt/data",
        "var/cache/app",
        "scratch",
        "run/secrets",
        "seeded",
        "seed",
    ] {
        assert!(!tree.contains_key(gone), "{gone} is a mount point only");
    }
    // The secret is in no layer and no history entry.
    let manifest = layout_manifest(&out, Some("latest"));
    for layer in manifest["layers"].as_array().unwrap() {
        let blob = read_blob(&out, layer["digest"].as_str().unwrap());
        let mut tar = Vec::new();
        std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&blob[..]), &mut tar).unwrap();
        assert!(
            !tar.windows(secret.len()).any(|w| w == secret.as_bytes()),
            "the secret is in layer {}",
            layer["digest"]
        );
    }
    let config = read_blob(&out, manifest["config"]["digest"].as_str().unwrap());
    assert!(!String::from_utf8_lossy(&config).contains(secret));

    // The cache mount keeps its content between builds.
    let again = sandbox.path("oci-again");
    build(&again);
    let rootfs = umoci_unpack(&again, "latest", &sandbox.path("again"));
    assert_eq!(file(&rootfs, "cache-count"), "2\n");
}

/// The same Dockerfile built as root and as an unprivileged user with subordinate ids: both work, and
/// they give the same digest (owners other than root survive the user namespace).
#[test]
fn rootless_user_with_subordinate_ids_builds_the_same_image_as_root() {
    let (registry, root_sandbox) = busybox_world();
    let context = root_sandbox.context("run_changes");
    let root_out = root_sandbox.path("oci");
    let as_root = hoist_run(&mut root_sandbox.build_layout(&registry, &context, &root_out)).ok();

    let user = TestUser::get(SUBID_USER);
    let sandbox = user.sandbox();
    let context = sandbox.context("run_changes");
    let out = sandbox.path("oci");
    let mut cmd = user.hoist(&sandbox);
    cmd.args(mirror(&registry))
        .arg("--dir")
        .arg(&context)
        .arg("--output")
        .arg(format!("oci:{}", out.display()));
    let as_user = hoist_run(&mut cmd).ok();
    assert!(
        !as_user.stderr.contains("only user and group 0"),
        "subordinate ids are used: {}",
        as_user.stderr
    );
    assert_eq!(as_user.line(), as_root.line(), "same image as root's build");
}

/// Without subordinate ids only root exists inside: simple steps work, the user is told why a chown
/// to another id cannot, and the failing step says so.
#[test]
fn single_id_user_is_told_about_the_fallback() {
    let registry = Registry::start();
    seed_busybox(&registry);
    let user = TestUser::get(SINGLE_ID_USER);
    let sandbox = user.sandbox();
    let context = sandbox.path("ctx");
    std::fs::create_dir(&context).unwrap();
    std::fs::write(
        context.join("Dockerfile"),
        "FROM busybox\nRUN touch /ok && id -u > /uid\n",
    )
    .unwrap();
    let out = sandbox.path("oci");
    let mut cmd = user.hoist(&sandbox);
    cmd.args(mirror(&registry))
        .arg("--dir")
        .arg(&context)
        .arg("--output")
        .arg(format!("oci:{}", out.display()));
    let ok = hoist_run(&mut cmd).ok();
    assert!(ok.stderr.contains("only user and group 0"), "{}", ok.stderr);
    assert!(
        ok.stderr.contains("/etc/subuid"),
        "says how to fix it: {}",
        ok.stderr
    );

    std::fs::write(
        context.join("Dockerfile"),
        "FROM busybox\nRUN chown 1234 /tmp\n",
    )
    .unwrap();
    let mut cmd = user.hoist(&sandbox);
    cmd.args(mirror(&registry)).arg("--dir").arg(&context);
    let failed = hoist_run(&mut cmd).failed();
    assert!(failed.stderr.contains("Dockerfile:2"), "{}", failed.stderr);
    assert!(failed.stderr.contains("exit code"), "{}", failed.stderr);
}

/// A base layer that tries to write outside the root filesystem is refused and writes nothing there.
#[test]
fn hostile_base_layer_is_refused_and_writes_nothing_outside() {
    let registry = Registry::start();
    seed_busybox(&registry);
    let hostile = seed_hostile(&registry);
    let sandbox = Sandbox::new();
    let context = sandbox.path("ctx");
    std::fs::create_dir(&context).unwrap();
    std::fs::write(
        context.join("Dockerfile"),
        format!("FROM {hostile}:on-busybox\nRUN echo never > /never\n"),
    )
    .unwrap();
    let _ = std::fs::remove_file("/tmp/pwned");
    let run = hoist_run(sandbox.hoist().arg("--dir").arg(&context)).failed();
    assert!(run.stderr.contains("outside"), "{}", run.stderr);
    assert!(
        !Path::new("/tmp/pwned").exists(),
        "the symlink escape wrote /tmp/pwned"
    );
    for entry in walkdir::WalkDir::new(sandbox.dir.path())
        .into_iter()
        .flatten()
    {
        let name = entry.file_name().to_string_lossy();
        assert!(
            !["escape", "pwned", "pwned2", "never"].contains(&name.as_ref()),
            "a hostile entry landed at {}",
            entry.path().display()
        );
    }
    for dir in [Path::new("/"), sandbox.dir.path().parent().unwrap()] {
        for name in ["escape", "pwned2"] {
            assert!(!dir.join(name).exists(), "{}/{name}", dir.display());
        }
    }
}

/// Real package managers inside RUN on Debian 13: apt (its `_apt` sandbox user included) and pip,
/// reaching their registries over the host's network.
#[test]
fn apt_and_pip_install_on_debian() {
    let (registry, sandbox) = debian_world();
    let context = sandbox.path("ctx");
    std::fs::create_dir(&context).unwrap();
    let trust = trust_host_ca(&context);
    std::fs::write(
        context.join("Dockerfile"),
        format!(
            "FROM debian:13\n{trust}\
             RUN apt-get update && apt-get install -y --no-install-recommends hello && rm -rf /var/lib/apt/lists/*\n\
             RUN PIP_BREAK_SYSTEM_PACKAGES=1 pip install --no-cache-dir --root-user-action=ignore six==1.16.0\n\
             RUN hello > /greeting && python3 -c 'import six; print(six.__version__)' > /six-version\n"
        ),
    )
    .unwrap();
    let out = sandbox.path("oci");
    let run = hoist_run(&mut sandbox.build_layout(&registry, &context, &out)).ok();
    assert!(
        run.stderr.contains("Setting up hello"),
        "apt's output streams: {}",
        run.stderr
    );
    let rootfs = umoci_unpack(&out, "latest", sandbox.dir.path());
    assert_eq!(file(&rootfs, "greeting"), "Hello, world!\n");
    assert_eq!(file(&rootfs, "six-version"), "1.16.0\n");
    let tree = tree_snapshot(&out, Some("latest"), &rootfs);
    assert!(tree.contains_key("usr/bin/hello"));
    assert!(
        !tree
            .keys()
            .any(|p| p.starts_with("var/lib/apt/lists/") && p.len() > 20),
        "deleted in the same step, so not in the image"
    );
}

/// hoist and buildah build the same RUN steps on busybox: the resulting file trees agree (buildah's
/// own mount points, and the files that record the sandbox itself, left out).
#[test]
fn run_changes_match_buildah() {
    let (registry, sandbox) = busybox_world();
    let context = sandbox.context("run_changes");
    let out = sandbox.path("hoist-oci");
    hoist_run(&mut sandbox.build_layout(&registry, &context, &out)).ok();
    let theirs = sandbox.path("buildah-oci");
    if let Err(why) = buildah_build(&context, &context.join("Dockerfile"), &theirs) {
        panic!("buildah cannot run here: {why}");
    }
    let sandbox_records = ["hostname", "pid1", "dev-list"];
    let keep = |tree: BTreeMap<String, TreeEntry>| -> BTreeMap<String, TreeEntry> {
        tree.into_iter()
            .filter(|(p, _)| {
                !sandbox_records.contains(&p.as_str())
                    && !BUILDAH_RUN_MOUNTPOINTS
                        .iter()
                        .any(|m| p == m || p.starts_with(&format!("{m}/")))
            })
            .collect()
    };
    let ours = keep(layout_tree(&out, "latest", &sandbox.path("ours")));
    let reference = keep(layout_tree(&theirs, "latest", &sandbox.path("theirs")));
    let diffs = tree_differences("hoist", &ours, "buildah", &reference);
    assert!(
        diffs.is_empty(),
        "hoist and buildah differ:\n{}",
        diffs.join("\n")
    );
}

/// `--cache-repo`: a CI runner with an empty disk finds the step results another runner stored in the
/// registry, and gets the same image without running the steps.
#[test]
fn cache_repo_shares_step_results_between_runners() {
    let (registry, sandbox) = busybox_world();
    let context = sandbox.path("ctx");
    std::fs::create_dir(&context).unwrap();
    std::fs::write(
        context.join("Dockerfile"),
        "FROM busybox\nRUN cat /proc/sys/kernel/random/uuid > /random\n",
    )
    .unwrap();
    let repo = format!("{}/cache/steps", registry.host());
    let runner = |name: &str| {
        let out = sandbox.path(&format!("oci-{name}"));
        hoist_run(
            sandbox
                .hoist_with_cache(&sandbox.path(&format!("cache-{name}")))
                .args(mirror(&registry))
                .args(["--cache-repo", &repo, "--dir"])
                .arg(&context)
                .arg("--output")
                .arg(format!("oci:{}", out.display())),
        )
        .ok()
    };
    let first = runner("a");
    assert!(!first.stderr.contains("CACHED"), "{}", first.stderr);
    let second = runner("b");
    assert!(second.stderr.contains("CACHED"), "{}", second.stderr);
    assert_eq!(
        second.line(),
        first.line(),
        "the stored layer, not a new random one"
    );
}

/// The base image is unpacked once, into the rootfs cache, and stages mount it copy-on-write
/// (overlayfs in the user namespace) instead of unpacking it again: a second build adds nothing there.
#[test]
fn base_is_unpacked_once_and_shared_copy_on_write() {
    let (registry, sandbox) = busybox_world();
    let context = sandbox.context("run_changes");
    let cache = sandbox.cache().join("rootfs");
    let bases = || -> Vec<std::path::PathBuf> {
        std::fs::read_dir(&cache)
            .map(|d| d.flatten().map(|e| e.path()).collect())
            .unwrap_or_default()
    };
    let first = hoist_run(&mut sandbox.build_layout(&registry, &context, &sandbox.path("a"))).ok();
    assert!(
        !first.stderr.contains("overlayfs is not available"),
        "{}",
        first.stderr
    );
    let after_first = bases();
    assert_eq!(after_first.len(), 1, "{after_first:?}");
    assert!(after_first[0].join("bin/busybox").is_file());
    assert!(
        !after_first[0].join("data").exists(),
        "the shared base never sees a stage's changes"
    );
    let second = hoist_run(
        sandbox
            .build_layout(&registry, &context, &sandbox.path("b"))
            .arg("--no-cache"),
    )
    .ok();
    assert_eq!(second.line(), first.line());
    assert_eq!(bases(), after_first, "reused, not unpacked again");
}
