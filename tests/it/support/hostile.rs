//! A hostile layer: tar entries that try to write outside the root filesystem an unpacker extracts
//! into, packaged as an OCI image so a RUN test can `FROM` it (served from the loopback registry).
//!
//! The layer holds, in this order ([`HOSTILE_ENTRIES`]):
//! - `../../escape`, a regular file whose path climbs out of the rootfs;
//! - `evil -> /`, a symlink to the root, then `evil/tmp/pwned`, a file written through it;
//! - `up -> ../../../..`, a symlink climbing out, then `up/pwned2`, a file written through it;
//! - `shadow`, a hardlink to `/etc/shadow`, a path outside the layer.
//!
//! A safe unpacker refuses these or keeps them inside the rootfs (`evil/tmp/pwned` landing in the
//! rootfs's `/tmp`); it never creates `/tmp/pwned` on the host, nor a file beside the rootfs, nor a
//! link to the host's `/etc/shadow`. The file contents name the fixture, so a stray file is
//! recognisable.
//!
//! The cached layout (`~/.cache/hoist-fixtures/hostile-<hash>/`) has two tags: `latest`, the hostile
//! layer alone on top of nothing (no shell: only unpacking can be tested), and `on-busybox`, the
//! busybox layer under it (so a RUN step has a shell to look around with).
//!
//! The reference tools refuse the layer as a whole: `umoci unpack --rootless` and buildah's storage
//! (`skopeo copy` into `containers-storage:`) both stop at the hardlink (`shadow: link: ... no such
//! file or directory`), after which nothing stray exists outside the rootfs. So there is no buildah
//! reference build `FROM hostile`.

use std::path::PathBuf;
use std::sync::OnceLock;

use serde_json::json;

use super::Registry;
use super::base_image::busybox_layout;
use super::oci::{LayoutWriter, PATH_ENV, cached_dir, copy_layers, push_layout, tar_header};

/// Bump when the layer below changes.
const RECIPE_VERSION: &str = "hostile layer v1";

/// `(path, kind, link target)` of each entry of the hostile layer, in tar order.
pub const HOSTILE_ENTRIES: &[(&str, &str, Option<&str>)] = &[
    ("../../escape", "file", None),
    ("evil", "symlink", Some("/")),
    ("evil/tmp/pwned", "file", None),
    ("up", "symlink", Some("../../../..")),
    ("up/pwned2", "file", None),
    ("shadow", "hardlink", Some("/etc/shadow")),
];

/// The content of every regular file of the hostile layer.
pub const HOSTILE_CONTENT: &[u8] = b"written by hoist's hostile layer fixture\n";

/// The uncompressed hostile layer. Paths and link names are written into the tar headers byte for
/// byte (the `tar` crate's path setters refuse `..`, as they should).
pub fn hostile_layer_tar() -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for (path, kind, link) in HOSTILE_ENTRIES {
        let (kind, mode, data): (tar::EntryType, u32, &[u8]) = match *kind {
            "file" => (tar::EntryType::Regular, 0o644, HOSTILE_CONTENT),
            "symlink" => (tar::EntryType::Symlink, 0o777, b""),
            "hardlink" => (tar::EntryType::Link, 0o644, b""),
            other => unreachable!("kind {other}"),
        };
        let mut h = tar_header(kind, mode, data.len() as u64);
        let old = h.as_old_mut();
        assert!(path.len() < old.name.len() && link.map_or(0, str::len) < old.linkname.len());
        old.name[..path.len()].copy_from_slice(path.as_bytes());
        if let Some(link) = link {
            old.linkname[..link.len()].copy_from_slice(link.as_bytes());
        }
        h.set_cksum();
        b.append(&h, data).unwrap();
    }
    b.into_inner().unwrap()
}

/// The cached OCI layout with tags `latest` (hostile layer only) and `on-busybox` (busybox below it).
pub fn hostile_layout() -> PathBuf {
    static LAYOUT: OnceLock<PathBuf> = OnceLock::new();
    LAYOUT
        .get_or_init(|| {
            let busybox = busybox_layout();
            let recipe = format!("{RECIPE_VERSION}\nbusybox: {}\n", busybox.display());
            cached_dir("hostile", &recipe, |dir| {
                let mut writer = LayoutWriter::new(dir);
                let hostile = writer.gzip_layer(
                    &hostile_layer_tar(),
                    "hoist test fixture: hostile layer (path traversal, symlink and hardlink escapes)",
                );
                writer.image(
                    "latest",
                    std::slice::from_ref(&hostile),
                    json!({ "Env": [PATH_ENV] }),
                );
                let mut layers = copy_layers(&writer, &busybox, "latest");
                layers.push(hostile);
                writer.image(
                    "on-busybox",
                    &layers,
                    json!({ "Env": [PATH_ENV], "Cmd": ["sh"] }),
                );
                writer.finish();
            })
        })
        .clone()
}

/// Pushes both tags into `registry` as `library/hostile:latest` and `library/hostile:on-busybox`
/// (`FROM hostile` / `FROM hostile:on-busybox` through `--registry-mirror docker.io=HOST`). Returns
/// `HOST/library/hostile` (append `:latest` or `:on-busybox`).
pub fn seed_hostile(registry: &Registry) -> String {
    let layout = hostile_layout();
    for tag in ["latest", "on-busybox"] {
        push_layout(registry, &layout, tag, "library/hostile", tag);
    }
    format!("{}/library/hostile", registry.host())
}
