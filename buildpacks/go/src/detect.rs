//! Detection (CNB buildpack spec 0.10, "Detection"): `go.mod` with a `package main` `.go` file in the
//! app's root (test files aside) — the package `go build` turns into the app's binary. The plan
//! provides and requires `go`, with the module path and whether modules are vendored.

use std::path::Path;

use buildpack_kit::detection::has_file;
use buildpack_kit::{Detection, Plan};

use crate::module;

/// What this buildpack looks for, for the message listing every buildpack's.
pub const LOOKS_FOR: &str = "`go.mod` and a `.go` file declaring `package main` in the root";

pub const GO_MOD: &str = "go.mod";
/// Present when the module's dependencies are vendored (`go mod vendor`).
pub const VENDOR_MODULES: &str = "vendor/modules.txt";

/// The root's `.go` files (not `_test.go`), sorted, with their package names.
pub fn root_packages(app: &Path) -> Vec<(String, Option<String>)> {
    let Ok(entries) = std::fs::read_dir(app) else {
        return Vec::new();
    };
    let mut files: Vec<(String, Option<String>)> = entries
        .flatten()
        .filter_map(|entry| {
            let name = entry.file_name().to_string_lossy().into_owned();
            let is_source = name.ends_with(".go") && !name.ends_with("_test.go");
            (is_source && entry.path().is_file()).then(|| {
                let package = std::fs::read_to_string(entry.path())
                    .ok()
                    .and_then(|text| module::package_name(&text).map(str::to_owned));
                (name, package)
            })
        })
        .collect();
    files.sort();
    files
}

pub fn detect(app: &Path) -> Detection {
    let packages = root_packages(app);
    let main = packages
        .iter()
        .find(|(_, package)| package.as_deref() == Some("main"))
        .map(|(file, _)| file.clone());
    match (has_file(app, GO_MOD), main) {
        (true, Some(file)) => {
            let go_mod = std::fs::read_to_string(app.join(GO_MOD)).unwrap_or_default();
            let module = module::module_path(&go_mod).unwrap_or_default();
            let vendor = if has_file(app, VENDOR_MODULES) {
                "true"
            } else {
                "false"
            };
            Detection::Pass {
                found: format!("`{GO_MOD}` and `package main` in `{file}`"),
                plan: Plan::provides_and_requires("go", &[("module", &module), ("vendor", vendor)]),
            }
        }
        (true, None) => {
            let seen = match packages
                .iter()
                .find_map(|(f, p)| p.as_ref().map(|p| (f, p)))
            {
                Some((file, package)) => format!(" (`{file}` is `package {package}`)"),
                None => " (there is no `.go` file in the root)".to_owned(),
            };
            Detection::Incomplete {
                missing: format!(
                    "`{GO_MOD}` found, but no `.go` file in the root declares `package main`{seen}: \
                     hoist builds the root package into the app's binary; move the `main` package there"
                ),
            }
        }
        (false, Some(file)) => Detection::Incomplete {
            missing: format!(
                "`{file}` declares `package main` but there is no `{GO_MOD}`: run `go mod init MODULE` \
                 (and `go mod tidy`) and commit `go.mod` and `go.sum`"
            ),
        },
        (false, None) => Detection::Absent,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn app(files: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for (name, text) in files {
            let path = dir.path().join(name);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
        dir
    }

    const GO_MOD_TEXT: &str = "module example.com/hello\n\ngo 1.22\n";

    #[test]
    fn go_mod_with_a_main_package_in_the_root_passes() {
        let dir = app(&[
            ("go.mod", GO_MOD_TEXT),
            ("util.go", "package main\n"),
            ("main_test.go", "package main_test\n"),
        ]);
        assert_eq!(
            detect(dir.path()),
            Detection::Pass {
                found: "`go.mod` and `package main` in `util.go`".into(),
                plan: Plan::provides_and_requires(
                    "go",
                    &[("module", "example.com/hello"), ("vendor", "false")]
                )
            }
        );
    }

    #[test]
    fn vendored_modules_are_in_the_plan() {
        let dir = app(&[
            ("go.mod", GO_MOD_TEXT),
            ("main.go", "package main\n"),
            ("vendor/modules.txt", ""),
        ]);
        let Detection::Pass { plan, .. } = detect(dir.path()) else {
            panic!("must pass")
        };
        assert_eq!(plan.requires[0].metadata["vendor"], "true");
    }

    #[test]
    fn go_mod_without_package_main_in_the_root_is_not_detected() {
        let dir = app(&[
            ("go.mod", GO_MOD_TEXT),
            ("lib.go", "package hello\n"),
            ("cmd/app/main.go", "package main\n"),
        ]);
        let Detection::Incomplete { missing } = detect(dir.path()) else {
            panic!("must not pass")
        };
        assert!(missing.contains("`lib.go` is `package hello`"), "{missing}");
        let dir = app(&[("go.mod", GO_MOD_TEXT), ("main_test.go", "package main\n")]);
        let Detection::Incomplete { missing } = detect(dir.path()) else {
            panic!("must not pass")
        };
        assert!(missing.contains("no `.go` file in the root"), "{missing}");
    }

    #[test]
    fn main_go_without_go_mod_is_not_detected() {
        let Detection::Incomplete { missing } =
            detect(app(&[("main.go", "package main\n")]).path())
        else {
            panic!("must not pass")
        };
        assert!(missing.contains("`go mod init"), "{missing}");
        assert_eq!(detect(app(&[("README", "")]).path()), Detection::Absent);
    }
}
