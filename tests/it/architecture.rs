//! The dependency direction of ../shared/guide/architecture.md, enforced: each module may name only the
//! crate modules its row allows, and no Docker-engine client is in Cargo.lock.

use std::collections::BTreeMap;
use std::path::Path;

/// Module → crate modules it may use. `progress` is a leaf every stage reports through.
const ALLOWED: &[(&str, &[&str])] = &[
    ("image", &[]),
    ("progress", &[]),
    ("plan", &["image"]),
    ("frontend", &["plan", "image", "progress"]),
    // The buildpacks frontend, stricter than its parent: detection needs no progress events.
    ("frontend/buildpacks", &["plan", "image"]),
    ("executor", &["plan", "image", "progress"]),
    ("registry", &["image", "progress"]),
    ("validate", &["image", "progress"]),
    ("export", &["image", "registry", "progress"]),
    ("cli", &["image"]),
    ("output", &["cli", "progress"]),
    // The cache directory's layout, lock and entries: it reads step results (executor) and blobs.
    ("cache_dir", &["executor", "image"]),
];

const MODULES: &[&str] = &[
    "app",
    "cache_dir",
    "cli",
    "executor",
    "export",
    "frontend",
    "image",
    "output",
    "plan",
    "progress",
    "registry",
    "validate",
];

fn sources(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn modules_depend_only_on_what_the_architecture_allows() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut violations = BTreeMap::new();
    for (module, allowed) in ALLOWED {
        let mut files = Vec::new();
        let dir = src.join(module);
        if dir.is_dir() {
            sources(&dir, &mut files);
        }
        let file = src.join(format!("{module}.rs"));
        if file.is_file() {
            files.push(file);
        }
        assert!(!files.is_empty(), "module `{module}` has no source files");
        for file in files {
            let text = std::fs::read_to_string(&file).unwrap();
            // A row may name its own top-level module (`frontend/buildpacks` is in `frontend`).
            let own = module.split('/').next().unwrap_or(module);
            for other in MODULES
                .iter()
                .filter(|m| **m != own && !allowed.contains(m))
            {
                for needle in [
                    format!("crate::{other}::"),
                    format!("crate::{other};"),
                    format!("crate::{{{other}"),
                ] {
                    if text.contains(&needle) {
                        violations.insert(format!("{} uses `{other}`", file.display()), ());
                    }
                }
            }
        }
    }
    assert!(
        violations.is_empty(),
        "dependency direction violated:\n{:#?}",
        violations.keys()
    );
}

#[test]
fn no_docker_engine_client_in_the_lock_file() {
    let lock =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.lock")).unwrap();
    for client in [
        "bollard",
        "shiplift",
        "docker-api",
        "dockworker",
        "rs-docker",
    ] {
        assert!(
            !lock.contains(&format!("name = \"{client}\"")),
            "Cargo.lock contains the Docker-engine client `{client}`"
        );
    }
}
