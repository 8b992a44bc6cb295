//! Reproducible builds: the same Dockerfile and context give the same digest whatever the cache dir
//! and the files' mtimes; SOURCE_DATE_EPOCH sets `created` (and so changes the digest).

use std::time::{Duration, SystemTime};

use crate::support::{
    Inspect, busybox_world, case, copy_tree, hoist_run, layout_digest, mirror, skopeo_inspect,
    write_bundle,
};

fn touch_all(dir: &std::path::Path, when: SystemTime) {
    for entry in walkdir::WalkDir::new(dir) {
        let entry = entry.unwrap();
        if entry.file_type().is_file() {
            let f = std::fs::OpenOptions::new()
                .write(true)
                .open(entry.path())
                .unwrap();
            f.set_modified(when).unwrap();
        }
    }
}

#[test]
fn same_inputs_same_digest_and_epoch_sets_created() {
    let (registry, sandbox) = busybox_world();
    let build = |context: &std::path::Path, cache: &str, out: &str, epoch: Option<&str>| {
        let out = sandbox.path(out);
        let mut cmd = sandbox.hoist_with_cache(&sandbox.path(cache));
        cmd.args(mirror(&registry))
            .arg("--dir")
            .arg(context)
            .arg("--output")
            .arg(format!("oci:{}", out.display()));
        if let Some(epoch) = epoch {
            cmd.env("SOURCE_DATE_EPOCH", epoch);
        }
        let digest = hoist_run(&mut cmd).ok().line().to_string();
        assert_eq!(digest, layout_digest(&out, "latest"));
        (digest, out)
    };

    let first = sandbox.context("copy_layout");
    write_bundle(&first);
    let second = sandbox.path("copy_layout_again");
    copy_tree(&case("copy_layout"), &second);
    write_bundle(&second);
    touch_all(&second, SystemTime::now() + Duration::from_secs(86_400));

    let (d1, out1) = build(&first, "cache-a", "oci-a", None);
    let (d2, _) = build(&second, "cache-b", "oci-b", None);
    assert_eq!(
        d1, d2,
        "another cache dir, context path and mtimes must not change the digest"
    );
    let config = skopeo_inspect(&format!("oci:{}:latest", out1.display()), Inspect::Config);
    assert_eq!(
        config["created"], "1970-01-01T00:00:00Z",
        "default creation time is the epoch"
    );

    let (d3, out3) = build(&first, "cache-a", "oci-c", Some("1700000000"));
    assert_ne!(d1, d3, "SOURCE_DATE_EPOCH changes the image");
    let config = skopeo_inspect(&format!("oci:{}:latest", out3.display()), Inspect::Config);
    assert_eq!(config["created"], "2023-11-14T22:13:20Z");
}
