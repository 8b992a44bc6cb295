//! The machine is set up for testing the RUN sandbox rootless (what `.ci/run` does as root): the test
//! users exist, `hoist-test` has subordinate id ranges that the setuid `newuidmap`/`newgidmap` really
//! map, `hoist-single` has none, and hoist runs as `hoist-test`. Independent of hoist's sandbox code.

use std::os::unix::fs::MetadataExt;
use std::process::Command;

use crate::support::{
    Inspect, SINGLE_ID_USER, SUBID_USER, TestUser, as_user, busybox_world, hoist_run, mirror,
    require_tool, run, run_ok, skopeo_inspect,
};

/// `unshare` from util-linux.
fn unshare() -> std::path::PathBuf {
    require_tool("unshare", "util-linux")
}

#[test]
fn rootless_test_users_and_id_mapping_tools_are_set_up() {
    let test = TestUser::get(SUBID_USER);
    let single = TestUser::get(SINGLE_ID_USER);
    assert_ne!(test.uid, 0);
    assert_ne!(single.uid, 0);
    for (what, ranges) in [
        ("/etc/subuid", test.subuid_ranges()),
        ("/etc/subgid", test.subgid_ranges()),
    ] {
        assert!(
            ranges.iter().any(|&(_, count)| count >= 65536),
            "{SUBID_USER} needs a range of 65536 ids in {what}, has {ranges:?}\n\
             hint: run `.ci/run` as root (usermod --add-subuids/--add-subgids)"
        );
    }
    assert!(
        single.subuid_ranges().is_empty() && single.subgid_ranges().is_empty(),
        "{SINGLE_ID_USER} must have no subordinate ids (the single-id fallback test), has {:?} {:?}",
        single.subuid_ranges(),
        single.subgid_ranges()
    );
    for tool in ["newuidmap", "newgidmap"] {
        let path = require_tool(tool, "uidmap");
        let meta = std::fs::metadata(&path).unwrap();
        assert!(
            meta.uid() == 0 && meta.mode() & 0o4000 != 0,
            "{} must be setuid root (mode {:o}, owner {})",
            path.display(),
            meta.mode(),
            meta.uid()
        );
    }
}

#[test]
fn rootless_user_namespace_maps_hoist_test_to_root() {
    let user = TestUser::get(SUBID_USER);
    let outside = run_ok(user.command("id").arg("-u"));
    assert_eq!(
        outside.trim(),
        user.uid.to_string(),
        "setpriv dropped to the user"
    );
    let inside = run_ok(
        user.command(unshare())
            .args(["--user", "--map-root-user", "sh", "-c"])
            .arg("id -u; cat /proc/self/uid_map"),
    );
    let mut lines = inside.lines();
    assert_eq!(lines.next(), Some("0"), "root inside: {inside}");
    let map: Vec<&str> = lines
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .collect();
    assert_eq!(map, ["0", &user.uid.to_string(), "1"], "uid_map: {inside}");
}

/// A real check of the subordinate ranges: `unshare --map-auto` has newuidmap/newgidmap map them, and a
/// file chowned inside the namespace belongs to the mapped id outside.
#[test]
fn rootless_newuidmap_maps_the_subordinate_ranges() {
    let user = TestUser::get(SUBID_USER);
    let (uid_start, _) = user.subuid_ranges()[0];
    let (gid_start, _) = user.subgid_ranges()[0];
    let sandbox = user.sandbox();
    let out = run_ok(
        user.command(unshare())
            .args(["--map-auto", "--map-root-user", "sh", "-c"])
            .arg("cat /proc/self/uid_map && touch owned && chown 1000:1000 owned")
            .current_dir(sandbox.dir.path()),
    );
    // Root maps to the user; 1.. to the first subordinate range.
    let maps: Vec<Vec<u64>> = out
        .lines()
        .map(|l| l.split_whitespace().map(|n| n.parse().unwrap()).collect())
        .collect();
    assert!(
        maps.contains(&vec![0, u64::from(user.uid), 1])
            && maps
                .iter()
                .any(|m| m[0] == 1 && m[1] == u64::from(uid_start)),
        "uid_map does not map the subordinate range {uid_start}: {out}"
    );
    let meta = std::fs::metadata(sandbox.path("owned")).unwrap();
    assert_eq!(
        (meta.uid(), meta.gid()),
        (uid_start + 999, gid_start + 999),
        "uid/gid 1000 inside is the 1000th subordinate id outside"
    );
}

#[test]
fn rootless_single_id_user_maps_only_itself() {
    let user = TestUser::get(SINGLE_ID_USER);
    let inside = run_ok(
        user.command(unshare())
            .args(["--user", "--map-root-user", "id", "-u"]),
    );
    assert_eq!(inside.trim(), "0");
    let out = run(user.command(unshare()).args(["--map-auto", "true"]));
    assert!(
        !out.status.success(),
        "{SINGLE_ID_USER} must not be able to map subordinate ids"
    );
}

/// hoist itself runs as `hoist-test`: the binary is reachable, and its cache and output go where the
/// user may write.
#[test]
fn rootless_hoist_builds_as_hoist_test() {
    let user = TestUser::get(SUBID_USER);
    let (registry, _) = busybox_world();
    let sandbox = user.sandbox();
    let context = sandbox.path("context");
    std::fs::create_dir(&context).unwrap();
    std::fs::write(
        context.join("Dockerfile"),
        "FROM busybox\nCOPY hello /hello\n",
    )
    .unwrap();
    std::fs::write(context.join("hello"), "hello\n").unwrap();
    let out = sandbox.path("out");
    hoist_run(
        user.hoist(&sandbox)
            .args(mirror(&registry))
            .args(["--name", "rootless:v1", "--dir"])
            .arg(&context)
            .arg("--output")
            .arg(format!("oci:{}", out.display())),
    )
    .ok();
    let owner = |p: &std::path::Path| std::fs::metadata(p).unwrap().uid();
    assert_eq!(owner(&out.join("index.json")), user.uid);
    assert_eq!(owner(&sandbox.cache()), user.uid);
    let info = skopeo_inspect(&format!("oci:{}:v1", out.display()), Inspect::Info);
    assert_eq!(info["Layers"].as_array().unwrap().len(), 2);
    // And whoami, for the record: the build really ran as the user.
    let whoami = run_ok(&mut as_user(SUBID_USER, Command::new("id").arg("-un")));
    assert_eq!(whoami.trim(), SUBID_USER);
}

/// A binary under a directory others cannot enter (as a clone under `/root` would be) is copied where
/// the test users can run it.
#[test]
fn rootless_binary_in_a_private_dir_is_copied_for_users() {
    use std::os::unix::fs::PermissionsExt;
    let user = TestUser::get(SUBID_USER);
    let private = tempfile::tempdir().unwrap();
    std::fs::set_permissions(private.path(), std::fs::Permissions::from_mode(0o700)).unwrap();
    let binary = private.path().join("true-copy");
    std::fs::copy(require_tool("true", "coreutils"), &binary).unwrap();
    let runnable = crate::support::users::readable_by_all(&binary);
    assert_ne!(runnable, binary);
    let direct = run(&mut user.command(&binary));
    assert!(
        !direct.status.success(),
        "{SUBID_USER} cannot reach {}",
        binary.display()
    );
    run_ok(&mut user.command(&runnable));
    assert_eq!(
        crate::support::users::readable_by_all(&binary),
        runnable,
        "made once"
    );
    std::fs::remove_dir_all(runnable.parent().unwrap()).unwrap();
}
