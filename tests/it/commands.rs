//! `hoist parse` and `hoist context`: the binary on fixture Dockerfiles (`fixtures/parse/<case>/`, each
//! with the `expected.json` BuildKit's parser shape gives) and on a context with a `.dockerignore`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn hoist(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hoist"))
        .args(args)
        .output()
        .expect("run hoist")
}

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/parse")
}

#[test]
fn parse_json_matches_every_fixture() {
    let mut cases: Vec<PathBuf> = std::fs::read_dir(fixtures())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|d| d.join("expected.json").exists())
        .collect();
    cases.sort();
    assert!(cases.len() >= 10);
    for dir in cases {
        let case = dir.display();
        let out = hoist(&["parse", "--json", dir.join("Dockerfile").to_str().unwrap()]);
        assert!(
            out.status.success(),
            "{case}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let got: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let expected: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("expected.json")).unwrap())
                .unwrap();
        assert_eq!(got, expected, "{case}");
    }
}

#[test]
fn parse_text_is_one_line_per_instruction() {
    let file = fixtures().join("onbuild/Dockerfile");
    let out = hoist(&["parse", file.to_str().unwrap()]);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text}");
    assert_eq!(lines[1].trim(), r#"2 ONBUILD COPY --chown=1:1 "." "/app""#);
    assert!(out.stderr.is_empty());
}

#[test]
fn parse_error_names_file_and_line() {
    let file = fixtures().join("error/Dockerfile");
    let out = hoist(&["parse", "--json", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("{}:3:", file.display())),
        "{stderr}"
    );
    assert!(stderr.contains("can't find = in `c`"), "{stderr}");
}

#[test]
fn context_applies_dockerignore_with_exceptions() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    for file in [
        "Dockerfile",
        "app.Dockerfile",
        "src/main.rs",
        "src/gen/out.tmp",
        "src/gen/keep.tmp",
        "docs/a/b/notes.tmp",
        "target/debug/hoist",
    ] {
        let path = root.join(file);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, "x").unwrap();
    }
    std::fs::create_dir_all(root.join("empty")).unwrap();
    std::os::unix::fs::symlink("src/main.rs", root.join("main-link")).unwrap();
    std::fs::write(
        root.join(".dockerignore"),
        "# build output\ntarget\n**/*.tmp\n!src/gen/keep.tmp\n",
    )
    .unwrap();
    let out = hoist(&["context", "--dir", root.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        ".dockerignore\nDockerfile\napp.Dockerfile\nmain-link\nsrc/gen/keep.tmp\nsrc/main.rs\n"
    );

    // `<Dockerfile>.dockerignore` wins over the context's `.dockerignore`.
    std::fs::write(root.join("app.Dockerfile.dockerignore"), "**\n!src\n").unwrap();
    let dockerfile = root.join("app.Dockerfile");
    let out = hoist(&[
        "context",
        "--dir",
        root.to_str().unwrap(),
        "--dockerfile",
        dockerfile.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        "src/gen/keep.tmp\nsrc/gen/out.tmp\nsrc/main.rs\n"
    );
}
