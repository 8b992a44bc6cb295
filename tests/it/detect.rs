//! `hoist detect`: the binary on every fixture app (`fixtures/apps/<case>/`, each with the
//! `expected.json` its `--json` output must equal and, for a case that must exit 1, an
//! `expected-error.txt` of lines stderr must contain), and the text listing.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn hoist(args: &[&str], dir: Option<&Path>) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_hoist"));
    command.args(args);
    if let Some(dir) = dir {
        command.current_dir(dir);
    }
    command.output().expect("run hoist")
}

fn apps() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/apps")
}

fn cases() -> Vec<PathBuf> {
    let mut cases: Vec<PathBuf> = std::fs::read_dir(apps())
        .unwrap()
        .flatten()
        .map(|entry| entry.path())
        .filter(|path| path.is_dir())
        .collect();
    cases.sort();
    cases
}

/// What is wrong with one case, if anything.
fn check(dir: &Path) -> Option<String> {
    let out = hoist(&["detect", "--json", dir.to_str().unwrap()], None);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let got: serde_json::Value = match serde_json::from_slice(&out.stdout) {
        Ok(got) => got,
        Err(e) => return Some(format!("stdout is not JSON ({e}); stderr:\n{stderr}")),
    };
    let expected: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("expected.json")).unwrap()).unwrap();
    if got != expected {
        return Some(format!(
            "stdout:\n{}\nexpected:\n{}",
            serde_json::to_string_pretty(&got).unwrap(),
            serde_json::to_string_pretty(&expected).unwrap()
        ));
    }
    match std::fs::read_to_string(dir.join("expected-error.txt")) {
        Ok(lines) => {
            if out.status.code() != Some(1) {
                return Some(format!(
                    "exit {:?}, expected 1; stderr:\n{stderr}",
                    out.status.code()
                ));
            }
            let missing: Vec<&str> = lines
                .lines()
                .filter(|line| !line.is_empty() && !stderr.contains(line))
                .collect();
            (!missing.is_empty()).then(|| format!("stderr lacks {missing:?}:\n{stderr}"))
        }
        Err(_) if !out.status.success() || !stderr.is_empty() => Some(format!(
            "exit {:?}, expected 0 and an empty stderr:\n{stderr}",
            out.status.code()
        )),
        Err(_) => None,
    }
}

#[test]
fn detect_json_matches_every_fixture_app() {
    let cases = cases();
    assert!(cases.len() >= 30, "only {} fixture apps", cases.len());
    let failures: Vec<String> = cases
        .iter()
        .filter_map(|dir| {
            let name = dir.file_name().unwrap().to_string_lossy().into_owned();
            check(dir).map(|failure| format!("fixtures/apps/{name}: {failure}"))
        })
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn detect_text_lists_group_plan_and_processes_and_warns_on_stderr() {
    let dir = apps().join("ruby-rails-package-json-no-lockfile");
    let out = hoist(&["detect"], Some(&dir));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(
        stdout,
        "group:\n  hoist/ruby 0.1.0: `Gemfile` and `Gemfile.lock`\nplan:\n  ruby: provided by hoist/ruby, \
         required by hoist/ruby (bundled_with=2.5.22 lockfile=Gemfile.lock)\nprocesses:\n  web: bundle exec \
         rails server -b 0.0.0.0 -p $PORT\n"
    );
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.starts_with(
            "warning: hoist/nodejs is not used: `package.json` found without a lockfile"
        ),
        "{stderr}"
    );
}

#[test]
fn detect_text_marks_optional_buildpacks() {
    let dir = apps().join("ruby-rails-nodejs");
    let out = hoist(&["detect", dir.to_str().unwrap()], None);
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        stdout.starts_with("group:\n  hoist/nodejs 0.1.0 (optional): `package.json` and `yarn.lock` (yarn)\n  hoist/ruby 0.1.0:"),
        "{stdout}"
    );
}

#[test]
fn nothing_detected_prints_nothing_to_stdout_in_text_mode() {
    let dir = apps().join("rust");
    let out = hoist(&["detect", dir.to_str().unwrap()], None);
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("Rust is not in the default builder"),
        "{stderr}"
    );
}
