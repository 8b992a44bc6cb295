//! RUN in the rootless sandbox: what a step changes becomes a layer with Docker's meaning (files added,
//! modified and deleted as whiteouts, directories replaced as opaque, hard links as links, owners and
//! modes), the process runs with the stage's USER, WORKDIR, HOME and hostname in its own namespaces,
//! a failing command names its exit code and output, mounts never reach the image, and the build cache
//! reuses a step's result until something it depends on changes.

use std::path::Path;

use crate::support::tools::{layer_entries, layout_manifest, read_blob};
use crate::support::{
    Inspect, busybox_world, hoist_run, skopeo_inspect, tree_snapshot, umoci_unpack,
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
    assert_eq!(file(&rootfs, "home/app/work/uid"), "1234\n");
    assert_eq!(file(&rootfs, "home/app/work/pwd"), "/home/app/work\n");
    assert_eq!(file(&rootfs, "home/app/work/home"), "/home/app\n");
    assert_eq!(tree["home/app/work/by-app"].uid, 1234);
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
    assert!(
        second_run
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
        file(&rootfs, "net-none"),
        "1\n",
        "only loopback with --network=none"
    );
    assert_ne!(
        file(&rootfs, "net-default"),
        "1\n",
        "the host's network by default"
    );
    for gone in ["mnt/data", "var/cache/app", "scratch", "run/secrets"] {
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
