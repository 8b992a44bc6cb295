use std::time::{Duration, SystemTime};

use super::*;
use crate::image::Descriptor;

fn at(secs: u64) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000 + secs)
}

fn digest(n: u8) -> Digest {
    Digest::of(&[n])
}

fn live(kind: Kind, name: &str, size: u64, used: u64) -> Entry {
    Entry {
        kind,
        path: PathBuf::from(name),
        lock: None,
        size,
        used: at(used),
        digest: None,
        garbage: None,
    }
}

fn blob(n: u8, size: u64, used: u64) -> Entry {
    Entry {
        digest: Some(digest(n)),
        ..live(Kind::Blob, &format!("blob-{n}"), size, used)
    }
}

fn step(name: &str, layer: u8, used: u64) -> Entry {
    Entry {
        digest: Some(digest(layer)),
        ..live(Kind::Step, name, 10, used)
    }
}

fn removed(plan: &Plan) -> Vec<(&str, Reason)> {
    plan.remove
        .iter()
        .map(|(e, r)| (e.path.to_str().unwrap(), *r))
        .collect()
}

#[test]
fn keep_storage_removes_the_least_recently_used_until_the_rest_fits() {
    let entries = vec![
        live(Kind::Rootfs, "rootfs-new", 300, 50),
        blob(1, 100, 10),
        live(Kind::Verdict, "verdict-old", 50, 5),
        live(Kind::CacheMount, "mount-mid", 200, 30),
        blob(2, 100, 40),
    ];
    // 750 in all; at most 450: the verdict (5), blob 1 (10) and the mount (30) go, oldest first.
    let plan = plan(entries.clone(), Policy::KeepStorage(450));
    assert_eq!(
        removed(&plan),
        [
            ("verdict-old", Reason::LeastRecentlyUsed),
            ("blob-1", Reason::LeastRecentlyUsed),
            ("mount-mid", Reason::LeastRecentlyUsed),
        ]
    );
    assert_eq!((plan.freed(), plan.kept()), (350, 400));

    // Exactly the total: nothing; zero: everything.
    assert!(
        super::plan(entries.clone(), Policy::KeepStorage(750))
            .remove
            .is_empty()
    );
    let all = super::plan(entries, Policy::KeepStorage(0));
    assert_eq!((all.remove.len(), all.kept()), (5, 0));
}

#[test]
fn equal_times_go_in_path_order() {
    let entries = vec![
        live(Kind::Verdict, "b", 10, 1),
        live(Kind::Verdict, "a", 10, 1),
        live(Kind::Verdict, "c", 10, 1),
    ];
    let plan = plan(entries, Policy::KeepStorage(15));
    let names: Vec<_> = removed(&plan).into_iter().map(|(n, _)| n).collect();
    assert_eq!(names, ["a", "b"]);
}

#[test]
fn a_step_result_goes_with_its_layer_even_when_used_later() {
    let entries = vec![
        blob(1, 100, 1),
        step("step-on-1", 1, 90),
        step("step-on-2", 2, 2),
        blob(2, 100, 80),
        live(Kind::Rootfs, "rootfs", 100, 95),
    ];
    // 320 in all, at most 210: blob 1 is the oldest and its step goes with it; the rest fits.
    let plan = plan(entries, Policy::KeepStorage(210));
    assert_eq!(
        removed(&plan),
        [
            ("blob-1", Reason::LeastRecentlyUsed),
            ("step-on-1", Reason::LayerRemoved),
        ]
    );
    assert_eq!(plan.kept(), 210);
}

#[test]
fn garbage_always_goes_and_live_entries_only_under_a_limit_or_all() {
    let garbage = Entry {
        garbage: Some(Garbage::LeftBehind),
        ..live(Kind::Scratch, "tmp/build-1", 1000, 99)
    };
    let entries = vec![garbage, blob(1, 100, 1), step("s", 1, 2)];
    let only = plan(entries.clone(), Policy::Garbage);
    assert_eq!(
        removed(&only),
        [("tmp/build-1", Reason::Garbage(Garbage::LeftBehind))]
    );
    assert_eq!(only.kept(), 110);
    // Garbage does not count against the limit: the live entries fit.
    assert_eq!(
        plan(entries.clone(), Policy::KeepStorage(110)).remove.len(),
        1
    );
    let all = plan(entries, Policy::All);
    assert_eq!(all.remove.len(), 3);
    assert_eq!(all.kept(), 0);
}

fn write_step(dir: &Path, name: &str, layer: Option<&Digest>) {
    let step = CachedStep {
        layer: layer.map(|d| {
            (
                Descriptor::new("application/vnd.oci.image.layer.v1.tar+gzip", d.clone(), 1),
                d.clone(),
            )
        }),
    };
    std::fs::write(
        dir.join(format!("{name}.json")),
        serde_json::to_vec(&step).unwrap(),
    )
    .unwrap();
}

#[test]
fn scan_tells_garbage_from_what_builds_use() {
    let root = tempfile::tempdir().unwrap();
    let cache = CacheDir::new(root.path());
    let store = crate::image::BlobStore::open(cache.blobs()).unwrap();
    let layer = store.put(b"a layer").unwrap();
    let gone = Digest::of(b"a layer pruned long ago");
    std::fs::write(cache.blobs().join("tmp/.tmpXYZ"), b"half a blob").unwrap();
    let steps = cache.steps();
    std::fs::create_dir_all(&steps).unwrap();
    write_step(&steps, "hit", Some(&layer));
    write_step(&steps, "empty", None);
    write_step(&steps, "orphan", Some(&gone));
    std::fs::write(steps.join("broken.json"), b"{").unwrap();
    std::fs::write(steps.join("next.tmp"), b"{").unwrap();
    std::fs::create_dir_all(cache.verdicts()).unwrap();
    std::fs::write(cache.verdicts().join("v.json"), b"{}").unwrap();
    std::fs::write(cache.verdicts().join(".tmpAbC"), b"{").unwrap();
    std::fs::create_dir_all(cache.rootfs().join("abc/bin")).unwrap();
    std::fs::write(cache.rootfs().join("abc/bin/sh"), vec![7u8; 10_000]).unwrap();
    std::fs::create_dir_all(cache.rootfs().join(".abc.123/bin")).unwrap();
    std::fs::create_dir_all(cache.mounts().join("m1")).unwrap();
    std::fs::write(cache.mounts().join("m1.lock"), b"").unwrap();
    std::fs::write(cache.mounts().join("m2.lock"), b"").unwrap();
    std::fs::create_dir_all(cache.tmp().join("build-x/stage-0-y")).unwrap();

    let entries = scan(&cache).unwrap();
    let find = |rel: &str| {
        entries
            .iter()
            .find(|e| e.path == root.path().join(rel))
            .unwrap_or_else(|| panic!("no entry {rel}: {entries:#?}"))
    };
    let blob_rel = format!("blobs/sha256/{}", layer.hex());
    assert_eq!(find(&blob_rel).kind, Kind::Blob);
    assert_eq!(find(&blob_rel).digest.as_ref(), Some(&layer));
    for live in [
        &*blob_rel,
        "steps/hit.json",
        "steps/empty.json",
        "verdicts/v.json",
    ] {
        assert_eq!(find(live).garbage, None, "{live}");
    }
    assert_eq!(find("rootfs/abc").kind, Kind::Rootfs);
    assert!(find("rootfs/abc").size >= 10_000, "the tree is counted");
    let mount = find("mounts/m1");
    assert_eq!(
        (mount.kind, mount.garbage, mount.lock.clone()),
        (
            Kind::CacheMount,
            None,
            Some(root.path().join("mounts/m1.lock"))
        )
    );
    let expect = [
        ("blobs/tmp/.tmpXYZ", Garbage::LeftBehind),
        ("steps/orphan.json", Garbage::MissingLayer),
        ("steps/broken.json", Garbage::Unreadable),
        ("steps/next.tmp", Garbage::LeftBehind),
        ("verdicts/.tmpAbC", Garbage::LeftBehind),
        ("rootfs/.abc.123", Garbage::LeftBehind),
        ("mounts/m2.lock", Garbage::LockWithoutMount),
        ("tmp/build-x", Garbage::LeftBehind),
    ];
    for (rel, garbage) in expect {
        assert_eq!(find(rel).garbage, Some(garbage), "{rel}");
    }
    let plan = plan(entries, Policy::Garbage);
    assert_eq!(plan.remove.len(), expect.len());
    assert_eq!(plan.keep.len(), 6);
}

#[test]
fn scanning_a_missing_cache_finds_nothing() {
    let root = tempfile::tempdir().unwrap();
    let entries = scan(&CacheDir::new(root.path().join("none"))).unwrap();
    assert!(entries.is_empty());
}
