//! Unit tests of `--mount` value reading: the CSV record, the field checks, the defaults.

use super::go_values::{base, csv_fields, go_bool, go_clean, ram_in_bytes};
use super::*;

fn verbatim(w: &str) -> Result<String, String> {
    Ok(w.to_string())
}

fn fields(value: &str) -> Result<MountFields, MountError> {
    parse(value, &verbatim)
}

fn message(value: &str) -> String {
    let e = fields(value).unwrap_err();
    format!("{} | {}", e.message, e.hint.unwrap_or_default())
}

fn mount(value: &str, workdir: &str) -> Result<RunMount, MountError> {
    resolve(fields(value)?, None, workdir)
}

#[test]
fn csv_records_as_go_reads_them() {
    assert_eq!(csv_fields("a=1,b=2").unwrap(), vec!["a=1", "b=2"]);
    assert_eq!(
        csv_fields(r#"type=bind,"target=/a,b","source=say ""hi""""#).unwrap(),
        vec!["type=bind", "target=/a,b", r#"source=say "hi""#]
    );
    assert_eq!(csv_fields("a,,b,").unwrap(), vec!["a", "", "b", ""]);
    assert_eq!(csv_fields(" a").unwrap(), vec![" a"]);
    for bad in [r#"a="b""#, r#""a"b"#, r#""open"#, ""] {
        assert!(csv_fields(bad).is_err(), "{bad}");
    }
}

#[test]
fn go_parse_helpers() {
    for (v, b) in [
        ("1", true),
        ("t", true),
        ("True", true),
        ("0", false),
        ("F", false),
    ] {
        assert_eq!(go_bool(v), Some(b), "{v}");
    }
    assert_eq!(go_bool("yes"), None);
    for (v, n) in [
        ("512", 512),
        ("64m", 64 << 20),
        ("64MiB", 64 << 20),
        ("1.5g", 3 << 29),
        ("2 kb", 2048),
        ("1T", 1 << 40),
    ] {
        assert_eq!(ram_in_bytes(v), Some(n), "{v}");
    }
    for bad in ["", "m", "64x", "-1", "1.", "64mm", "1.2.3"] {
        assert_eq!(ram_in_bytes(bad), None, "{bad}");
    }
    for (p, clean) in [
        ("/a/b/", "/a/b"),
        ("a/./b/../c", "a/c"),
        ("../x", "../x"),
        ("", "."),
        ("/..", "/"),
    ] {
        assert_eq!(go_clean(p), clean, "{p}");
    }
    for (p, b) in [
        ("/run/x/tok", "tok"),
        ("tok/", "tok"),
        ("/", "/"),
        ("", "."),
    ] {
        assert_eq!(base(p), b, "{p}");
    }
}

#[test]
fn fields_keys_and_flags() {
    let m = fields("type=CACHE,DST=/c,ro,id=x,sharing=Locked,mode=0700,uid=1,gid=2").unwrap();
    assert_eq!(
        m,
        MountFields {
            kind: MountType::Cache,
            target: Some("/c".into()),
            readonly: Some(true),
            id: Some("x".into()),
            sharing: Some(CacheSharing::Locked),
            mode: Some(0o700),
            uid: Some(1),
            gid: Some(2),
            ..MountFields::default()
        }
    );
    assert_eq!(fields("rw=false").unwrap().readonly, Some(true));
    assert_eq!(fields("readwrite").unwrap().readonly, Some(false));
    assert_eq!(fields("target=").unwrap().target, None);
    assert_eq!(
        fields("type=tmpfs,target=/t,size=1k").unwrap().size,
        Some(1024)
    );
    assert!(fields("type=secret,id=a,required").unwrap().required);
}

#[test]
fn field_errors_say_what_is_allowed() {
    assert_eq!(
        message("type=cahce"),
        "unknown mount type `cahce` | did you mean `cache`? types are `bind` (the default), `cache`, `tmpfs`, `secret`"
    );
    assert!(message("tagret=/x").starts_with("unknown key `tagret` | did you mean `target`?"));
    assert!(message("type=cache,sharing=open").starts_with("unknown `sharing=open`"));
    assert!(message("ro=maybe").starts_with("`ro=maybe` is not a boolean"));
    assert!(message("type=cache,mode=0789").starts_with("`mode=0789` is not an octal mode"));
    assert!(message("type=cache,uid=+1").starts_with("`uid=+1` is not a number"));
    assert!(message("type=tmpfs,size=lots").starts_with("`size=lots` is not a size"));
    assert!(message("target").starts_with("field `target` is not a `key=value` pair"));
    // Fields are read in order, as in BuildKit: `size` before `type=tmpfs` is on a bind mount.
    assert!(
        message("size=1m,type=tmpfs,target=/t")
            .starts_with("`size` is not allowed for `bind` mounts | `size` is for `type=tmpfs` mounts; fields are read in order")
    );
    assert!(
        message("required,type=secret,id=a").starts_with("`required` is not allowed for `bind`")
    );
    assert!(message("target=/x,mode=0644").starts_with("`mode=` is not allowed for `bind` mounts"));
    assert!(message("type=tmpfs,target=/x,uid=1").starts_with("`uid=` is not allowed for `tmpfs`"));
    assert!(
        message("target=/x,sharing=private").starts_with("`sharing=` is not allowed for `bind`")
    );
    assert!(message("type=secret,id=a,from=x").starts_with("a secret mount takes no `from=`"));
    assert!(
        message("type=secret,id=a,sharing=locked")
            .starts_with("a secret mount takes no `sharing=`")
    );
    assert!(message("type=secret,env=A").starts_with("a secret mount needs an `id=`"));
    assert!(
        message("type=secret,id=a,src=b").starts_with("a secret mount takes `id=` or `source=`")
    );
    assert!(message("type=secret,id=a,env=").starts_with("`env=` needs a variable name"));
}

#[test]
fn values_are_expanded_keys_are_not() {
    let upper = |w: &str| Ok(w.to_ascii_uppercase().replace("$T", "cache"));
    let m = parse("type=$T,target=/x", &|w| Ok(w.replace("$T", "cache"))).unwrap();
    assert_eq!(m.kind, MountType::Cache);
    assert_eq!(parse("id=abc", &upper).unwrap().id.as_deref(), Some("ABC"));
    let failing = |_: &str| Err("missing a closing `}`".to_string());
    let e = parse("target=${X", &failing).unwrap_err();
    assert_eq!(e.message, "cannot expand `${X`: missing a closing `}`");
}

#[test]
fn from_field_is_read_raw_and_refuses_variables() {
    assert_eq!(
        from_field("type=bind,from=build,target=/x").unwrap(),
        Some("build".into())
    );
    assert_eq!(from_field("FROM=a,from=b").unwrap(), Some("b".into()));
    assert_eq!(from_field("target=/x,ro").unwrap(), None);
    assert_eq!(from_field("from=a$").unwrap(), Some("a$".into()));
    let e = from_field("from=$STAGE").unwrap_err();
    assert!(e.message.contains("cannot hold variables"), "{e:?}");
    assert!(e.hint.unwrap().contains("define an alias stage"));
}

#[test]
fn defaults_and_targets() {
    assert_eq!(
        mount("target=src", "/app").unwrap(),
        RunMount::Bind {
            target: "/app/src".into(),
            from: MountFrom::Context,
            source: "/".into(),
            readwrite: false,
        }
    );
    assert_eq!(
        mount("type=cache,target=./deps/", "/w").unwrap(),
        RunMount::Cache {
            target: "/w/deps".into(),
            id: "deps".into(),
            sharing: CacheSharing::Shared,
            from: None,
            readonly: false,
            uid: 0,
            gid: 0,
            mode: 0o755,
        }
    );
    assert_eq!(
        mount("type=secret,id=npm", "/w").unwrap(),
        RunMount::Secret {
            id: "npm".into(),
            target: Some("/run/secrets/npm".into()),
            env: None,
            required: false,
            uid: 0,
            gid: 0,
            mode: 0o400,
        }
    );
    let RunMount::Secret { id, target, .. } = mount("type=secret,target=keys/tok", "/w").unwrap()
    else {
        panic!()
    };
    assert_eq!((id.as_str(), target.as_deref()), ("tok", Some("/keys/tok")));
    let RunMount::Secret {
        id, target, env, ..
    } = mount("type=secret,src=a,env=A", "/").unwrap()
    else {
        panic!()
    };
    assert_eq!(
        (id.as_str(), target, env.as_deref()),
        ("a", None, Some("A"))
    );
    assert_eq!(
        mount("type=tmpfs,target=/t,size=0", "/").unwrap(),
        RunMount::Tmpfs {
            target: "/t".into(),
            size: None
        }
    );
    // With no target the mount goes at WORKDIR, as in BuildKit; never over `/`.
    assert!(
        matches!(mount("type=tmpfs", "/w").unwrap(), RunMount::Tmpfs { target, .. } if target == "/w")
    );
    assert!(
        mount("type=tmpfs", "/")
            .unwrap_err()
            .message
            .contains("no `target=`")
    );
    assert!(
        mount("target=/..", "/")
            .unwrap_err()
            .message
            .contains("cannot mount over `/`")
    );
    let e = mount("type=ssh", "/").unwrap_err();
    assert_eq!(e.problem, Problem::Unsupported);
    assert!(
        e.message
            .starts_with("RUN --mount=type=ssh is not supported by hoist: ")
    );
}

#[test]
fn from_sources_go_where_the_type_reads_them() {
    let stage = || Some(MountFrom::Stage(crate::plan::StageId(0)));
    let RunMount::Bind { from, source, .. } = resolve(
        fields("from=b,source=out/,target=/o").unwrap(),
        stage(),
        "/",
    )
    .unwrap() else {
        panic!()
    };
    assert_eq!(
        (from, source.as_str()),
        (MountFrom::Stage(crate::plan::StageId(0)), "/out")
    );
    let RunMount::Cache { from, .. } =
        resolve(fields("type=cache,from=b,target=/c").unwrap(), stage(), "/").unwrap()
    else {
        panic!()
    };
    assert_eq!(
        from,
        Some((MountFrom::Stage(crate::plan::StageId(0)), "/".into()))
    );
}

#[test]
fn check_defers_values_with_variables() {
    assert!(check("type=$T,target=/x", &verbatim).is_ok());
    assert!(check("type=$T,\"x", &verbatim).is_err());
    assert!(check("type=bogus", &verbatim).is_err());
    assert_eq!(
        check("type=ssh", &verbatim).unwrap_err().problem,
        Problem::Unsupported
    );
}
