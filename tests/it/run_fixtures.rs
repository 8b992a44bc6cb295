//! The fixtures RUN tests stand on, checked by independent readers: the Debian 13 base (mmdebstrap,
//! cached), the hostile layer, and buildah reference builds that run RUN steps offline from the cached
//! bases. Independent of hoist's own code.

use std::time::Instant;

use serde_json::json;

use crate::support::hostile::{HOSTILE_CONTENT, HOSTILE_ENTRIES};
use crate::support::tools::{
    BUILDAH_RUN_MOUNTPOINTS, layer_entries, layout_manifest, strip_buildah_mountpoints,
};
use crate::support::{
    Inspect, Registry, Sandbox, buildah_build, busybox_layout, debian_layout, debian_world,
    hostile_layout, layout_tree, seed_debian, seed_hostile, sha256_hex, skopeo_inspect,
    trust_host_ca,
};

#[test]
fn debian_fixture_is_a_valid_image() {
    let started = Instant::now();
    let layout = debian_layout();
    println!(
        "debian_layout() took {:.1}s (about a minute when it builds, nothing when cached): {}",
        started.elapsed().as_secs_f64(),
        layout.display()
    );
    assert_eq!(debian_layout(), layout, "built once");

    let reference = format!("oci:{}:13", layout.display());
    let config = skopeo_inspect(&reference, Inspect::Config);
    assert_eq!(config["architecture"], "amd64");
    assert_eq!(config["os"], "linux");
    assert_eq!(config["config"]["Cmd"], json!(["bash"]));
    assert!(
        config["config"]["Env"][0]
            .as_str()
            .unwrap()
            .starts_with("PATH=/usr/local/sbin:")
    );
    let raw = skopeo_inspect(&reference, Inspect::Raw);
    assert_eq!(raw["layers"].as_array().unwrap().len(), 1);

    let sandbox = Sandbox::new();
    let rootfs = crate::support::umoci_unpack(&layout, "13", sandbox.dir.path());
    let tree = crate::support::tree_snapshot(&layout, Some("13"), &rootfs);
    let os_release = std::fs::read_to_string(rootfs.join("etc/os-release")).unwrap();
    assert!(os_release.contains("VERSION_ID=\"13\""), "{os_release}");
    assert_eq!(tree["bin"].link.as_deref(), Some("usr/bin"), "merged /usr");
    for tool in [
        "usr/bin/bash",
        "usr/bin/python3",
        "usr/bin/pip3",
        "usr/bin/apt-get",
    ] {
        assert!(
            tree.contains_key(tool),
            "{tool} missing from the Debian image"
        );
    }
    // Owners and modes survive: /etc/shadow is root:shadow 0640.
    assert_eq!(
        (
            tree["etc/shadow"].mode,
            tree["etc/shadow"].uid,
            tree["etc/shadow"].gid
        ),
        (0o640, 0, 42)
    );
    assert_eq!(tree["tmp"].mode, 0o1777);
    // No device nodes, no host's name or resolver.
    assert_eq!(tree["dev"].kind, "dir");
    assert!(!tree.keys().any(|p| p.starts_with("dev/")));
    for file in ["etc/hostname", "etc/resolv.conf"] {
        assert_eq!(tree[file].size, 0, "{file} is empty");
    }
    assert!(
        tree.values()
            .all(|e| !matches!(e.kind.as_str(), "char" | "block" | "fifo"))
    );
}

#[test]
fn debian_fixture_serves_from_registry_as_debian_13() {
    let (registry, _sandbox) = debian_world();
    let reference = format!("{}/library/debian:13", registry.host());
    // Seeding again is harmless (the blobs are there) and names the same reference.
    assert_eq!(seed_debian(&registry), reference);
    let remote = skopeo_inspect(&format!("docker://{reference}"), Inspect::Info);
    let local = skopeo_inspect(
        &format!("oci:{}:13", debian_layout().display()),
        Inspect::Info,
    );
    assert_eq!(
        remote["Digest"], local["Digest"],
        "the push kept the manifest bytes"
    );
}

#[test]
fn hostile_fixture_has_the_escaping_entries() {
    let layout = hostile_layout();
    let layers = layer_entries(&layout, Some("latest"));
    assert_eq!(layers.len(), 1, "one layer on top of nothing");
    let got: Vec<(&str, &str, Option<&str>)> = layers[0]
        .iter()
        .map(|(path, e)| (path.as_str(), e.kind.as_str(), e.link.as_deref()))
        .collect();
    assert_eq!(got, HOSTILE_ENTRIES);
    for (path, entry) in &layers[0] {
        if entry.kind == "file" {
            assert_eq!(
                entry.sha256.as_deref(),
                Some(sha256_hex(HOSTILE_CONTENT).as_str()),
                "{path}"
            );
        }
    }

    // `on-busybox`: busybox's layer, unchanged, below the hostile one.
    let stacked = layout_manifest(&layout, Some("on-busybox"));
    let busybox = layout_manifest(&busybox_layout(), Some("latest"));
    assert_eq!(stacked["layers"].as_array().unwrap().len(), 2);
    assert_eq!(stacked["layers"][0], busybox["layers"][0]);
    assert_eq!(
        stacked["layers"][1],
        layout_manifest(&layout, Some("latest"))["layers"][0]
    );

    let registry = Registry::start();
    let repository = seed_hostile(&registry);
    for tag in ["latest", "on-busybox"] {
        let raw = skopeo_inspect(&format!("docker://{repository}:{tag}"), Inspect::Raw);
        assert_eq!(raw["layers"], layout_manifest(&layout, Some(tag))["layers"]);
    }
}

/// A buildah reference build of RUN steps on the Debian fixture, offline but for PyPI: one layer per
/// RUN, the pip-installed package in it, buildah's own mount points not.
#[test]
fn buildah_reference_build_runs_pip_on_debian() {
    let sandbox = Sandbox::new();
    let context = sandbox.path("context");
    std::fs::create_dir(&context).unwrap();
    let dockerfile = context.join("Dockerfile");
    let trust = trust_host_ca(&context);
    std::fs::write(
        &dockerfile,
        format!(
            "FROM debian:13\n\
             {trust}\
             RUN echo hello > /hello && id -u\n\
             RUN PIP_BREAK_SYSTEM_PACKAGES=1 pip install --no-cache-dir --root-user-action=ignore \
             six==1.16.0 && python3 -c 'import six; print(\"six\", six.__version__)'\n"
        ),
    )
    .unwrap();
    let out = sandbox.path("buildah-oci");
    let started = Instant::now();
    let printed = match buildah_build(&context, &dockerfile, &out) {
        Ok(printed) => printed,
        Err(why) => {
            println!("buildah cannot run here: {why}");
            return;
        }
    };
    println!(
        "buildah build took {:.1}s:\n{printed}",
        started.elapsed().as_secs_f64()
    );
    assert!(printed.contains("six 1.16.0"), "{printed}");

    let layers = layer_entries(&out, Some("latest"));
    assert_eq!(layers.len(), 4, "base + the CA bundle + one layer per RUN");
    let paths = |layer: &Vec<(String, crate::support::TreeEntry)>| -> Vec<String> {
        layer.iter().map(|(p, _)| p.clone()).collect()
    };
    let hello = paths(&layers[2]);
    assert!(hello.contains(&"hello".to_string()), "{hello:?}");
    assert!(
        !hello
            .iter()
            .any(|p| BUILDAH_RUN_MOUNTPOINTS.contains(&p.as_str())),
        "the Debian base has buildah's mount points, so RUN adds none: {hello:?}"
    );
    let pip = paths(&layers[3]);
    assert!(
        pip.iter()
            .any(|p| p == "usr/local/lib/python3.13/dist-packages/six.py"),
        "{pip:?}"
    );

    let tree = layout_tree(&out, "latest", &sandbox.path("unpack"));
    assert_eq!(tree["hello"].sha256, Some(sha256_hex(b"hello\n")));
}

/// On busybox, buildah's first RUN layer also holds the mount points the base lacks
/// ([`BUILDAH_RUN_MOUNTPOINTS`]): a RUN comparison must leave them out.
#[test]
fn buildah_reference_build_runs_on_busybox() {
    let sandbox = Sandbox::new();
    let context = sandbox.path("context");
    std::fs::create_dir(&context).unwrap();
    let dockerfile = context.join("Dockerfile");
    std::fs::write(
        &dockerfile,
        "FROM busybox\nRUN mkdir /made && echo run > /made/file && chmod 0600 /made/file\n",
    )
    .unwrap();
    let out = sandbox.path("buildah-oci");
    if let Err(why) = buildah_build(&context, &dockerfile, &out) {
        println!("buildah cannot run here: {why}");
        return;
    }
    let layers = layer_entries(&out, Some("latest"));
    assert_eq!(layers.len(), 2);
    let run_layer: Vec<&str> = layers[1].iter().map(|(p, _)| p.as_str()).collect();
    assert!(run_layer.contains(&"etc/resolv.conf"), "{run_layer:?}");
    let stripped: Vec<String> = strip_buildah_mountpoints(&layers[1])
        .into_iter()
        .map(|(p, _)| p)
        .collect();
    assert_eq!(stripped, ["made", "made/file"], "{run_layer:?}");
    let tree = layout_tree(&out, "latest", &sandbox.path("unpack"));
    assert_eq!(tree["made/file"].mode, 0o600);
}
