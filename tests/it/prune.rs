//! `hoist prune` on caches filled by real builds: garbage goes and nothing a build can use does,
//! `--keep-storage` removes the least recently used first (what the latest build used stays: it
//! rebuilds from the cache), `--all` empties it, a prune waits for a running build, and a user without
//! privileges removes cache mounts holding files of their subordinate ids.

use std::collections::HashSet;
use std::io::{BufRead, BufReader};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::users::{SUBID_USER, TestUser, hoist_binary_for_users};
use crate::support::{HoistRun, Inspect, Registry, Sandbox, busybox_world, hoist_run, mirror};

/// `hoist prune ARGS --cache-dir CACHE`.
fn prune_command(binary: &Path, cache: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(binary);
    cmd.arg("prune").args(args).arg("--cache-dir").arg(cache);
    cmd
}

fn prune(cache: &Path, args: &[&str]) -> HoistRun {
    hoist_run(&mut prune_command(
        Path::new(env!("CARGO_BIN_EXE_hoist")),
        cache,
        args,
    ))
    .ok()
}

/// A context directory holding only `dockerfile`.
fn context(sandbox: &Sandbox, name: &str, dockerfile: &str) -> PathBuf {
    let dir = sandbox.path(name);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("Dockerfile"), dockerfile).unwrap();
    dir
}

fn build(sandbox: &Sandbox, registry: &Registry, context: &Path) -> HoistRun {
    hoist_run(
        sandbox
            .hoist()
            .args(mirror(registry))
            .arg("--dir")
            .arg(context),
    )
    .ok()
}

/// The names in `dir` (none when it does not exist).
fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|r| {
            r.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

/// What the cache takes on disk, as `du` counts it (hard links once), without its own directories.
fn disk_usage(cache: &Path) -> u64 {
    let mut seen = HashSet::new();
    walkdir::WalkDir::new(cache)
        .min_depth(1)
        .into_iter()
        .flatten()
        .filter(|e| e.depth() > 2 || !e.file_type().is_dir())
        .filter_map(|e| e.metadata().ok())
        .filter(|m| m.is_dir() || m.nlink() < 2 || seen.insert((m.dev(), m.ino())))
        .map(|m| m.blocks() * 512)
        .sum()
}

const BIG: &str = "FROM busybox\nRUN dd if=/dev/urandom of=/big bs=1024 count=4096\n";
const SMALL: &str = "FROM busybox\nRUN echo small > /small\n";

#[test]
fn keep_storage_removes_the_least_recently_used_and_keeps_what_the_latest_build_used() {
    let (registry, sandbox) = busybox_world();
    let cache = sandbox.cache();
    let big = context(&sandbox, "big", BIG);
    let small = context(&sandbox, "small", SMALL);
    let first_big = build(&sandbox, &registry, &big);
    // The small build reuses the base (blob, verdict, unpacked rootfs): all of it is newer now than
    // anything only the big build used — above all its 4 MiB random layer.
    build(&sandbox, &registry, &small);

    let before = disk_usage(&cache);
    let limit = before - (2 << 20);
    let dry = prune(&cache, &["--keep-storage", &limit.to_string(), "--dry-run"]);
    let listed: Vec<&str> = dry.stdout.lines().collect();
    assert!(
        listed.last().unwrap().starts_with("would remove "),
        "{}",
        dry.stdout
    );
    assert!(
        listed
            .iter()
            .any(|l| l.starts_with("blob") && l.contains("least recently used")),
        "{}",
        dry.stdout
    );
    assert_eq!(disk_usage(&cache), before, "a dry run removes nothing");

    let pruned = prune(&cache, &["--keep-storage", &limit.to_string()]);
    let summary = pruned.line();
    assert!(summary.starts_with("removed "), "{summary}");
    assert!(
        summary.contains("1 blob"),
        "only the big layer goes: {summary}"
    );
    assert!(
        summary.contains("1 step result"),
        "its step with it: {summary}"
    );
    assert!(
        pruned.stderr.contains("removed blob"),
        "each entry on stderr: {}",
        pruned.stderr
    );
    assert!(
        disk_usage(&cache) <= limit,
        "{} > {limit}",
        disk_usage(&cache)
    );

    // What the latest build used is all there: it rebuilds without running anything.
    let again = build(&sandbox, &registry, &small);
    assert_eq!(
        again.stderr.matches("CACHED").count(),
        1,
        "{}",
        again.stderr
    );
    // The big layer is gone: its step runs again.
    let rebuilt = build(&sandbox, &registry, &big);
    assert!(!rebuilt.stderr.contains("CACHED"), "{}", rebuilt.stderr);
    assert_ne!(
        rebuilt.line(),
        first_big.line(),
        "random content: the step really ran"
    );
}

#[test]
fn all_empties_the_cache_and_plain_prune_keeps_what_builds_use() {
    let (registry, sandbox) = busybox_world();
    let cache = sandbox.cache();
    let small = context(&sandbox, "small", SMALL);
    let first = build(&sandbox, &registry, &small);

    // A build that was killed leaves its scratch directory (a stage's files, some read-only, some of
    // other ids) and half-written files behind.
    let scratch = cache.join("tmp/build-killed/stage-0-x/upper/etc");
    std::fs::create_dir_all(&scratch).unwrap();
    std::fs::write(scratch.join("passwd"), "x").unwrap();
    std::os::unix::fs::chown(scratch.join("passwd"), Some(100_000), Some(100_000)).unwrap();
    set_mode(&scratch, 0o500);
    std::fs::write(cache.join("blobs/tmp/.tmpkilled"), "half a layer").unwrap();
    std::fs::write(cache.join("steps/0123.tmp"), "{").unwrap();
    let kept = (
        names(&cache.join("blobs/sha256")),
        names(&cache.join("steps")),
    );

    let pruned = prune(&cache, &[]);
    assert!(
        pruned.line().starts_with("removed 3 entries (")
            && pruned.line().contains("1 scratch dir")
            && pruned.line().contains("2 partial writes"),
        "{}",
        pruned.line()
    );
    assert_eq!(names(&cache.join("tmp")), Vec::<String>::new());
    assert_eq!(names(&cache.join("blobs/tmp")), Vec::<String>::new());
    let steps: Vec<String> = kept
        .1
        .into_iter()
        .filter(|n| n.ends_with(".json"))
        .collect();
    assert_eq!(
        (
            names(&cache.join("blobs/sha256")),
            names(&cache.join("steps"))
        ),
        (kept.0, steps)
    );
    let again = build(&sandbox, &registry, &small);
    assert_eq!(
        again.stderr.matches("CACHED").count(),
        1,
        "{}",
        again.stderr
    );
    assert_eq!(again.line(), first.line());
    assert_eq!(
        prune(&cache, &[]).line().split(';').next(),
        Some("nothing to remove")
    );

    let all = prune(&cache, &["--all"]);
    assert!(
        all.line().ends_with("the cache takes 0 B"),
        "{}",
        all.line()
    );
    for part in [
        "blobs/sha256",
        "steps",
        "verdicts",
        "rootfs",
        "mounts",
        "tmp",
    ] {
        assert_eq!(names(&cache.join(part)), Vec::<String>::new(), "{part}");
    }
    let fresh = build(&sandbox, &registry, &small);
    assert!(!fresh.stderr.contains("CACHED"), "{}", fresh.stderr);
    assert_eq!(fresh.line(), first.line());
}

fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// Waits for `path` to exist; the build writes it (a condition, not a guess at how long it takes).
fn wait_for(path: &Path, build: &mut std::process::Child) {
    let deadline = Instant::now() + Duration::from_secs(120);
    while !path.exists() {
        if let Some(status) = build.try_wait().unwrap() {
            panic!("the build ended before {}: {status}", path.display());
        }
        assert!(
            Instant::now() < deadline,
            "{} never appeared",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn a_prune_waits_for_a_running_build_and_does_not_break_it() {
    let (registry, sandbox) = busybox_world();
    let cache = sandbox.cache();
    // The step says it started, then waits for the test's go, through a cache mount (a real bind
    // mount of `mounts/<sha256 of the id>`).
    let waiting = context(
        &sandbox,
        "waiting",
        "FROM busybox\nRUN --mount=type=cache,id=signal,target=/signal \
         touch /signal/started && \
         for i in $(seq 1200); do [ -e /signal/go ] && break; sleep 0.1; done && \
         [ -e /signal/go ] && echo done > /done\n",
    );
    let signal = cache
        .join("mounts")
        .join(crate::support::sha256_hex(b"signal"));
    let _ = std::fs::remove_dir_all(&signal);
    let out = sandbox.path("oci");
    let mut build = sandbox
        .hoist()
        .args(mirror(&registry))
        .arg("--dir")
        .arg(&waiting)
        .arg("--output")
        .arg(format!("oci:{}", out.display()))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for(&signal.join("started"), &mut build);

    let mut pruning = prune_command(Path::new(env!("CARGO_BIN_EXE_hoist")), &cache, &["--all"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The prune says it waits before it blocks: read until it has said so.
    let mut stderr = BufReader::new(pruning.stderr.take().unwrap());
    let mut said = String::new();
    while !said.contains("waiting for the builds") {
        let mut line = String::new();
        assert!(
            stderr.read_line(&mut line).unwrap() > 0,
            "prune ended without waiting: {said}"
        );
        said.push_str(&line);
    }
    assert!(said.contains(&cache.display().to_string()), "{said}");
    assert!(pruning.try_wait().unwrap().is_none(), "it waits");
    assert!(signal.is_dir(), "nothing was removed while the build runs");

    std::fs::write(signal.join("go"), "").unwrap();
    let built = build.wait_with_output().unwrap();
    assert!(
        built.status.success(),
        "{}",
        String::from_utf8_lossy(&built.stderr)
    );
    let digest = String::from_utf8_lossy(&built.stdout).trim().to_string();
    assert!(digest.starts_with("sha256:"), "{digest}");
    // The layout the build wrote is whole: its blobs are outside the cache.
    crate::support::skopeo_inspect(&format!("oci:{}:latest", out.display()), Inspect::Raw);

    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stderr, &mut rest).unwrap();
    let pruned = pruning.wait_with_output().unwrap();
    assert!(pruned.status.success(), "{said}{rest}");
    let summary = String::from_utf8_lossy(&pruned.stdout);
    assert!(summary.contains("1 cache mount"), "{summary}");
    assert!(!signal.exists());
    assert_eq!(names(&cache.join("blobs/sha256")), Vec::<String>::new());
}

#[test]
fn a_user_prunes_cache_mounts_holding_files_of_subordinate_ids() {
    let registry = Registry::start();
    crate::support::seed_busybox(&registry);
    let user = TestUser::get(SUBID_USER);
    let sandbox = user.sandbox();
    let context = context(
        &sandbox,
        "ctx",
        "FROM busybox\nRUN --mount=type=cache,id=owned,target=/c,uid=1234,gid=1234,mode=0700 \
         mkdir -p /c/deep/er && echo x > /c/deep/er/file && chown -R 1234:1234 /c/deep && \
         chmod 500 /c/deep/er && echo ok > /ok\n",
    );
    let mut cmd = user.hoist(&sandbox);
    cmd.args(mirror(&registry)).arg("--dir").arg(&context);
    hoist_run(&mut cmd).ok();
    let mount = sandbox
        .cache()
        .join("mounts")
        .join(crate::support::sha256_hex(b"owned"));
    let owner = std::fs::metadata(&mount).unwrap().uid();
    assert_ne!(
        owner, user.uid,
        "the cache mount belongs to a subordinate uid"
    );
    assert_ne!(owner, 0);

    let mut prune = prune_command(&hoist_binary_for_users(), &sandbox.cache(), &["--all"]);
    prune.current_dir(sandbox.dir.path());
    let pruned = hoist_run(&mut user.wrap(&prune)).ok();
    assert!(pruned.line().contains("1 cache mount"), "{}", pruned.line());
    assert!(!mount.exists(), "{}", pruned.stderr);
    assert_eq!(names(&sandbox.cache().join("mounts")), Vec::<String>::new());
    assert_eq!(names(&sandbox.cache().join("rootfs")), Vec::<String>::new());
}
