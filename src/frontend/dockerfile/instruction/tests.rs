use super::super::parser::parse;
use super::*;

fn one(line: &str) -> Result<Kind, FrontendError> {
    let ast = parse(&format!("FROM a\n{line}\n"), Path::new("Dockerfile"))?;
    from_node(ast.nodes[1].clone(), Path::new("Dockerfile")).map(|i| i.kind)
}

#[test]
fn unknown_instruction_suggests() {
    let e = one("COPPY a b").unwrap_err().to_string();
    assert!(
        e.starts_with("Dockerfile:2: unknown instruction: COPPY\n   2 | COPPY a b"),
        "{e}"
    );
    assert!(e.contains("hint: did you mean `COPY`?"), "{e}");
    assert!(
        !one("FROBNICATE x")
            .unwrap_err()
            .to_string()
            .contains("did you mean")
    );
}

#[test]
fn unknown_flag_is_named() {
    let e = one("COPY --form=x a b").unwrap_err().to_string();
    assert!(e.contains("unknown flag `--form` for COPY"), "{e}");
    assert!(one("ENV --x=1 A=b").is_err());
    assert!(one("ADD --from=x a b").is_err());
}

#[test]
fn env_forms() {
    assert_eq!(
        one("ENV A=1 B=\"x y\"").unwrap(),
        Kind::Env(vec![
            ("A".into(), "1".into()),
            ("B".into(), "\"x y\"".into())
        ])
    );
    assert_eq!(
        one("ENV A x y").unwrap(),
        Kind::Env(vec![("A".into(), "x y".into())])
    );
    assert!(one("ENV A").is_err());
    assert!(one("ENV A=1 B").is_err());
}

#[test]
fn from_forms() {
    let Kind::From(f) = one("FROM --platform=$BUILDPLATFORM golang:1 AS Build").unwrap() else {
        panic!()
    };
    assert_eq!(
        (f.image.as_str(), f.name.as_deref(), f.platform.as_deref()),
        ("golang:1", Some("build"), Some("$BUILDPLATFORM"))
    );
    assert!(one("FROM a b").is_err());
    assert!(one("FROM a AS 1x").is_err());
}

#[test]
fn exec_and_shell_forms() {
    assert_eq!(
        one(r#"CMD ["a", "b"]"#).unwrap(),
        Kind::Cmd(CommandLine::Exec(vec!["a".into(), "b".into()]))
    );
    // BuildKit's parser refuses a JSON array of anything but strings; text that is not JSON at all is
    // the shell form.
    assert!(one("CMD [1]").is_err());
    assert_eq!(
        one("CMD [1").unwrap(),
        Kind::Cmd(CommandLine::Shell("[1".into()))
    );
    assert_eq!(
        one("ENTRYPOINT run it").unwrap(),
        Kind::Entrypoint(CommandLine::Shell("run it".into()))
    );
    assert!(one("SHELL /bin/bash").is_err());
    assert_eq!(
        one(r#"VOLUME ["/a", "/b"]"#).unwrap(),
        Kind::Volume(vec!["/a".into(), "/b".into()])
    );
    assert_eq!(
        one("VOLUME /a /b").unwrap(),
        Kind::Volume(vec!["/a".into(), "/b".into()])
    );
}

#[test]
fn copy_flags() {
    let Kind::Copy(c) =
        one("COPY --from=b --chown=1:2 --chmod=755 --link --exclude=*.md --exclude=x a b /d/")
            .unwrap()
    else {
        panic!()
    };
    assert_eq!(c.from.as_deref(), Some("b"));
    assert_eq!(c.chown.as_deref(), Some("1:2"));
    assert_eq!(c.chmod.as_deref(), Some("755"));
    assert!(c.link && !c.parents && !c.add);
    assert_eq!(c.excludes, vec!["*.md", "x"]);
    assert_eq!(
        (c.sources, c.dest),
        (vec!["a".to_string(), "b".to_string()], "/d/".to_string())
    );
    assert!(one("COPY a").is_err());
    assert!(one("COPY --from a b").is_err());
}

#[test]
fn healthcheck() {
    let Kind::Healthcheck(Some(h)) =
        one("HEALTHCHECK --interval=1m30s --retries=3 CMD curl -f x").unwrap()
    else {
        panic!()
    };
    assert_eq!(h.interval, Some(90_000_000_000));
    assert_eq!(h.retries, Some(3));
    assert_eq!(h.test, CommandLine::Shell("curl -f x".into()));
    assert_eq!(one("HEALTHCHECK NONE").unwrap(), Kind::Healthcheck(None));
    assert!(one("HEALTHCHECK --interval=abc CMD x").is_err());
    assert!(one("HEALTHCHECK x").is_err());
}

#[test]
fn durations() {
    assert_eq!(duration("30s"), Some(30_000_000_000));
    assert_eq!(duration("500ms"), Some(500_000_000));
    assert_eq!(duration("1.5h"), Some(5_400_000_000_000));
    assert_eq!(duration("0"), Some(0));
    assert_eq!(duration("10"), None);
    assert_eq!(duration(""), None);
}

#[test]
fn arg_and_onbuild() {
    assert_eq!(
        one("ARG A B=2").unwrap(),
        Kind::Arg(vec![
            ArgDecl {
                name: "A".into(),
                default: None
            },
            ArgDecl {
                name: "B".into(),
                default: Some("2".into())
            }
        ])
    );
    assert!(one("ONBUILD FROM x").is_err());
    assert_eq!(one("ONBUILD RUN x").unwrap(), Kind::OnBuild("RUN x".into()));
}
