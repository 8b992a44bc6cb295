//! Unit tests of the parse listing: the JSON shape and BuildKit's per-keyword argument nodes.

use std::path::Path;

use super::*;

fn one(text: &str) -> Listed {
    let listing = list(&format!("FROM a\n{text}\n"), Path::new("Dockerfile")).unwrap();
    listing.instructions[1].clone()
}

fn args(text: &str) -> Vec<String> {
    one(text).args
}

#[test]
fn json_shape() {
    let listing = list("from alpine AS b\nRUN <<EOF\necho\nEOF\n", Path::new("D")).unwrap();
    let value = serde_json::to_value(&listing).unwrap();
    assert_eq!(
        value,
        serde_json::json!({"instructions": [
            {"keyword": "from", "flags": [], "args": ["alpine", "AS", "b"], "json": false,
             "heredocs": [], "start_line": 1, "end_line": 1, "onbuild": null},
            {"keyword": "RUN", "flags": [], "args": ["<<EOF"], "json": false,
             "heredocs": [{"name": "EOF", "content": "echo\n"}], "start_line": 2, "end_line": 4,
             "onbuild": null},
        ]})
    );
}

#[test]
fn exec_and_shell_forms() {
    let exec = one(r#"CMD ["a", "b c"]"#);
    assert_eq!(
        (exec.args, exec.json),
        (vec!["a".into(), "b c".into()], true)
    );
    let shell = one("CMD echo  hi");
    assert_eq!((shell.args, shell.json), (vec!["echo  hi".into()], false));
    assert_eq!(args("CMD [not json"), ["[not json"]);
    assert!(list("FROM a\nCMD [1, 2]\n", Path::new("D")).is_err());
}

#[test]
fn env_and_label_pairs() {
    assert_eq!(args("ENV a=b c=d"), ["a", "b", "=", "c", "d", "="]);
    assert_eq!(args("ENV key  some value"), ["key", "some value", ""]);
    assert_eq!(args(r#"LABEL x="y z""#), ["x", r#""y z""#, "="]);
    assert!(list("FROM a\nENV a=b c\n", Path::new("D")).is_err());
    assert!(list("FROM a\nENV a\n", Path::new("D")).is_err());
}

#[test]
fn words_for_copy_from_expose_arg() {
    assert_eq!(args("COPY  a   b c"), ["a", "b", "c"]);
    assert_eq!(args("EXPOSE 80 443/udp"), ["80", "443/udp"]);
    assert_eq!(args(r#"ARG a="x y" b"#), [r#"a="x y""#, "b"]);
    assert_eq!(args("WORKDIR /a b"), ["/a b"]);
    assert_eq!(args("FROBNICATE x y"), [""]);
    assert_eq!(
        args("HEALTHCHECK CMD [\"true\"]"),
        ["CMD".to_string(), "true".to_string()]
    );
}

#[test]
fn flags_lose_quotes() {
    let copy = one(r#"COPY --from="build" --chmod='7 55' --link a b"#);
    assert_eq!(copy.flags, ["--from=build", "--chmod=7 55", "--link"]);
    assert_eq!(copy.args, ["a", "b"]);
    let run = one("RUN -- --not-a-flag");
    assert!(run.flags.is_empty());
    assert_eq!(run.args, ["--not-a-flag"]);
}

#[test]
fn onbuild_holds_the_inner_instruction() {
    let outer = one("ONBUILD copy --from=x a b");
    assert!(outer.args.is_empty());
    let inner = outer.onbuild.unwrap();
    assert_eq!(inner.keyword, "copy");
    assert_eq!(inner.flags, ["--from=x"]);
    assert_eq!(inner.args, ["a", "b"]);
    assert_eq!(inner.start_line, 2);
}

/// `fixtures/parse/<case>/`: a Dockerfile and either `expected.json` (the listing `hoist parse --json`
/// writes, as BuildKit's parser shapes it) or `error.txt` (the parse error, exactly, for a file named
/// `Dockerfile`).
#[test]
fn parse_fixture_cases() {
    let root = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/parse");
    let mut failures = Vec::new();
    let mut seen = 0;
    for entry in std::fs::read_dir(&root).unwrap() {
        let dir = entry.unwrap().path();
        seen += 1;
        let text = std::fs::read_to_string(dir.join("Dockerfile")).unwrap();
        let result = list(&text, Path::new("Dockerfile"));
        let ok = if let Ok(expected) = std::fs::read_to_string(dir.join("error.txt")) {
            match &result {
                Err(e) => e.to_string() == expected.trim_end(),
                Ok(_) => false,
            }
        } else {
            let expected: serde_json::Value =
                serde_json::from_str(&std::fs::read_to_string(dir.join("expected.json")).unwrap())
                    .unwrap();
            match &result {
                Ok(listing) => serde_json::to_value(listing).unwrap() == expected,
                Err(_) => false,
            }
        };
        if !ok {
            let got = match &result {
                Ok(l) => serde_json::to_string_pretty(l).unwrap(),
                Err(e) => e.to_string(),
            };
            failures.push(format!("{}:\n{got}", dir.display()));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    assert!(seen >= 10);
}
