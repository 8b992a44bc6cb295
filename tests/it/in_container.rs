//! `--sandbox in-container` (kaniko's mode): hoist runs inside a CI container and executes RUN directly
//! in that container's own root filesystem. The "container" here is a Debian root filesystem entered
//! with `unshare --mount --pid` + `chroot` (as CI root), holding hoist's binary and a `/.dockerenv`.
//! The base image is unpacked over `/`; the layer holds only what the step changed — not hoist, not
//! the context, not the container's own files.

use std::process::Command;

use crate::support::{busybox_world, debian_layout, hoist_run, tree_snapshot, umoci_unpack};

#[test]
fn in_container_mode_runs_in_the_containers_root() {
    let (registry, sandbox) = busybox_world();
    let root = umoci_unpack(&debian_layout(), "13", sandbox.dir.path());
    std::fs::create_dir_all(root.join("hoist")).unwrap();
    std::fs::copy(env!("CARGO_BIN_EXE_hoist"), root.join("hoist/hoist")).unwrap();
    std::fs::create_dir_all(root.join("ctx")).unwrap();
    std::fs::write(
        root.join("ctx/Dockerfile"),
        "FROM busybox\nRUN echo in-container > /made-here && rm /bin/rmdir && id -u > /uid\n",
    )
    .unwrap();
    std::fs::write(
        root.join("etc/ci-runner-only"),
        "the CI container's own file\n",
    )
    .unwrap();
    let script = format!(
        "set -e; mount --rbind /dev '{r}/dev'; mount -t proc proc '{r}/proc'; \
         exec chroot '{r}' /hoist/hoist build --progress plain --sandbox in-container \
         --cache-dir /hoist/cache --registry-mirror docker.io={host} --dir /ctx --output oci:/out",
        r = root.display(),
        host = registry.host()
    );
    let in_chroot = || {
        let mut cmd = Command::new("unshare");
        cmd.args([
            "--mount",
            "--pid",
            "--fork",
            "--propagation",
            "private",
            "sh",
            "-c",
        ])
        .arg(&script)
        .env_remove("container");
        hoist_run(&mut cmd)
    };
    // Not a container (no marker): refused, since the mode rewrites `/`.
    let refused = in_chroot().failed();
    assert!(
        refused.stderr.contains("does not look like a container"),
        "{}",
        refused.stderr
    );
    assert!(
        refused.stderr.contains("--force-in-container"),
        "{}",
        refused.stderr
    );
    assert!(root.join("usr/bin/apt-get").exists(), "nothing was touched");

    std::fs::write(root.join(".dockerenv"), "").unwrap();
    let run = in_chroot().ok();
    assert!(!run.stderr.contains("overlay"), "{}", run.stderr);
    let out = root.join("out");
    let image = umoci_unpack(&out, "latest", &sandbox.path("unpacked"));
    let tree = tree_snapshot(&out, Some("latest"), &image);
    assert_eq!(
        std::fs::read_to_string(image.join("made-here")).unwrap(),
        "in-container\n"
    );
    assert_eq!(std::fs::read_to_string(image.join("uid")).unwrap(), "0\n");
    assert!(!tree.contains_key("bin/rmdir"), "deleted by the step");
    for never in ["hoist", "ctx", "etc/ci-runner-only", ".dockerenv", "out"] {
        assert!(!tree.contains_key(never), "{never} is not the image's");
    }
    assert!(
        !tree.contains_key("usr/bin/apt-get"),
        "the container's Debian files stay out"
    );
}
