//! Planning tests: Dockerfile text → BuildPlan, checked step by step.

use std::path::PathBuf;

use crate::image::{Image, ImageConfig, ImageKey, ImageSet, Platform, Reference};
use crate::plan::{
    Base, BuildPlan, ConfigChange, CopySource, FsChange, IdSpec, Owner, StageId, Step,
};

use super::{Dockerfile, FrontendError, Input, from_text};

pub(super) fn input() -> Input {
    Input {
        dockerfile: PathBuf::from("Dockerfile"),
        context: PathBuf::from("/ctx"),
        build_args: Vec::new(),
        target: None,
        platform: Platform::linux_amd64(),
        build_platform: Platform::linux_amd64(),
        labels: Vec::new(),
        epoch: 0,
        created: "1970-01-01T00:00:00Z".into(),
        compression_level: 6,
    }
}

/// Stand-in images for what `df` needs, fetched as the app does: until the base images' ONBUILD
/// triggers need nothing more.
pub(super) fn images(df: &mut Dockerfile) -> Result<ImageSet, FrontendError> {
    let mut set = ImageSet::new();
    let mut pending = df.external_images();
    while !pending.is_empty() {
        for key in pending {
            let image = stand_in(&key);
            set.insert(key, image);
        }
        pending = df.fire_base_triggers(&set)?;
    }
    Ok(set)
}

/// An image for `key`'s platform (tag `arm64only`: always linux/arm64).
fn stand_in(key: &ImageKey) -> Image {
    let r = &key.reference;
    let mut config = ImageConfig::empty(&key.platform);
    config.config.env = Some(vec!["PATH=/usr/bin".into()]);
    config.config.working_dir = Some("/base".into());
    config.config.cmd = Some(vec!["sh".into()]);
    // Images tagged `onbuild*` carry ONBUILD triggers, for the cases that fire them.
    config.config.on_build = match r.to_string().rsplit(':').next() {
        Some("onbuild") => Some(vec![
            "ENV FROM_IMAGE=1".into(),
            "RUN echo \"$FROM_IMAGE\"".into(),
        ]),
        Some("onbuild-copy") => Some(vec!["COPY --from=builder /out /app/".into()]),
        Some("onbuild-bad") => Some(vec!["FROM scratch".into()]),
        _ => None,
    };
    // An image tagged `arm64only` is of another platform than the build's.
    if r.to_string().ends_with(":arm64only") {
        config.architecture = "arm64".into();
    }
    Image::from_parts(config, Vec::new()).unwrap()
}

pub(super) fn plan_with(text: &str, input: &Input) -> Result<BuildPlan, FrontendError> {
    let mut df = from_text(text, input)?;
    let set = images(&mut df)?;
    df.plan(&set)
}

pub(super) fn plan(text: &str) -> BuildPlan {
    plan_with(text, &input()).unwrap()
}

pub(super) fn err(text: &str) -> String {
    plan_with(text, &input()).unwrap_err().to_string()
}

pub(super) fn steps(text: &str) -> Vec<Step> {
    plan(text).stages.pop().unwrap().steps
}

fn r(s: &str) -> Reference {
    s.parse().unwrap()
}

#[test]
fn config_steps_and_history() {
    let cases: &[(&str, &str, ConfigChange)] = &[
        (
            "ENV A=1 B=\"x y\"",
            "ENV A=1 B=x y",
            ConfigChange::Env(vec![("A".into(), "1".into()), ("B".into(), "x y".into())]),
        ),
        (
            "ENV P=/app:$PATH",
            "ENV P=/app:/usr/bin",
            ConfigChange::Env(vec![("P".into(), "/app:/usr/bin".into())]),
        ),
        (
            "LABEL k=v",
            "LABEL k=v",
            ConfigChange::Labels(vec![("k".into(), "v".into())]),
        ),
        ("USER app", "USER app", ConfigChange::User("app".into())),
        (
            "EXPOSE 80 53/udp",
            "EXPOSE [53/udp 80/tcp]",
            ConfigChange::Expose(vec!["53/udp".into(), "80/tcp".into()]),
        ),
        (
            "VOLUME /data",
            "VOLUME [/data]",
            ConfigChange::Volumes(vec!["/data".into()]),
        ),
        (
            "CMD [\"x\"]",
            "CMD [\"x\"]",
            ConfigChange::Cmd(Some(vec!["x".into()])),
        ),
        (
            "CMD run it",
            "CMD [\"/bin/sh\" \"-c\" \"run it\"]",
            ConfigChange::Cmd(Some(vec!["/bin/sh".into(), "-c".into(), "run it".into()])),
        ),
        (
            "STOPSIGNAL SIGINT",
            "STOPSIGNAL SIGINT",
            ConfigChange::StopSignal("SIGINT".into()),
        ),
        (
            "SHELL [\"/bin/bash\", \"-c\"]",
            "SHELL [/bin/bash -c]",
            ConfigChange::Shell(vec!["/bin/bash".into(), "-c".into()]),
        ),
        (
            "ONBUILD RUN x",
            "ONBUILD RUN x",
            ConfigChange::OnBuild("RUN x".into()),
        ),
    ];
    for (line, created_by, change) in cases {
        let s = steps(&format!("FROM alpine\n{line}\n"));
        assert_eq!(s.len(), 1, "{line}");
        assert_eq!(&s[0].created_by, created_by, "{line}");
        assert!(s[0].fs.is_none(), "{line}");
        assert_eq!(s[0].config[0], change.clone(), "{line}");
        // BuildKit marks CMD's arguments escaped, and records no history for ONBUILD.
        let extra: &[ConfigChange] = if line.starts_with("CMD") {
            &[ConfigChange::ArgsEscaped(true)]
        } else {
            &[]
        };
        assert_eq!(&s[0].config[1..], extra, "{line}");
        assert_eq!(s[0].history, !line.starts_with("ONBUILD"), "{line}");
        assert_eq!(
            (s[0].location.line, s[0].location.text.as_str()),
            (2, *line)
        );
    }
}

#[test]
fn entrypoint_clears_inherited_cmd_only() {
    let s = steps("FROM alpine\nENTRYPOINT [\"e\"]\n");
    assert_eq!(
        s[0].config,
        vec![
            ConfigChange::Entrypoint(Some(vec!["e".into()])),
            ConfigChange::Cmd(None)
        ]
    );
    let s = steps("FROM alpine\nCMD [\"c\"]\nENTRYPOINT [\"e\"]\n");
    assert_eq!(
        s[1].config,
        vec![ConfigChange::Entrypoint(Some(vec!["e".into()]))]
    );
}

#[test]
fn workdir_mkdir_with_user_and_relative_join() {
    let s = steps("FROM alpine\nUSER 1000\nWORKDIR app\nWORKDIR ../x/\n");
    let Some(FsChange::Mkdir(m)) = &s[1].fs else {
        panic!()
    };
    assert_eq!(m.path, "/base/app");
    assert_eq!(
        m.owner,
        Some(Owner {
            user: IdSpec::Id(1000),
            group: None
        })
    );
    assert_eq!(m.mode, 0o755);
    assert_eq!(s[1].created_by, "WORKDIR /base/app");
    assert_eq!(
        s[2].config,
        vec![ConfigChange::WorkingDir("/base/x".into())]
    );
}

#[test]
fn copy_and_add() {
    let s = steps(
        "FROM alpine\nWORKDIR /app\nCOPY --chown=app:1 --chmod=644 a b ./\nADD x.tar sub\nCOPY --chmod=u+x s /s\n",
    );
    let Some(FsChange::Copy(c)) = &s[1].fs else {
        panic!()
    };
    assert_eq!(c.source, CopySource::Context);
    assert_eq!(c.sources, vec!["a", "b"]);
    assert_eq!(c.dest, "/app/");
    assert_eq!(
        c.owner,
        Some(Owner {
            user: IdSpec::Name("app".into()),
            group: Some(IdSpec::Id(1))
        })
    );
    assert_eq!(c.chmod, Some(crate::plan::Chmod::Octal(0o644)));
    assert!(!c.extract_archives);
    assert_eq!(
        s[1].created_by,
        "COPY --chown=app:1 --chmod=644 a b ./ # buildkit"
    );
    let Some(FsChange::Copy(c)) = &s[2].fs else {
        panic!()
    };
    assert_eq!((c.dest.as_str(), c.extract_archives), ("/app/sub", true));
    assert_eq!(s[2].created_by, "ADD x.tar sub # buildkit");
    let Some(FsChange::Copy(c)) = &s[3].fs else {
        panic!()
    };
    assert_eq!(c.chmod, Some(crate::plan::Chmod::Symbolic("u+x".into())));
}

#[test]
fn copy_errors() {
    assert!(err("FROM alpine\nCOPY a b /dir\n").contains("must be a directory and end with a `/`"));
    assert!(
        err("FROM alpine\nADD git@github.com:o/r.git /x\n")
            .contains("ADD of a git repository is not supported by hoist")
    );
    assert!(
        err("FROM alpine\nCOPY https://example.com/x /x\n")
            .contains("source can't be a URL for COPY")
    );
    let e = err("FROM alpine\nCOPY --from=Nope!! a /a\n");
    assert!(
        e.starts_with("Dockerfile:2: `--from=Nope!!` is neither a stage nor an image reference"),
        "{e}"
    );
}

#[test]
fn run_shell_exec_and_build_args() {
    let mut inp = input();
    inp.build_args = vec![("V".into(), Some("2".into()))];
    let p = plan_with(
        "FROM alpine\nARG V=1\nARG W\nRUN echo $V\nRUN [\"a\", \"b\"]\n",
        &inp,
    )
    .unwrap();
    let s = &p.stages[0].steps;
    // BuildKit records each ARG in the history, with the value it got.
    assert_eq!(
        (s[0].created_by.as_str(), s[1].created_by.as_str()),
        ("ARG V=2", "ARG W")
    );
    let Some(FsChange::Run(run)) = &s[2].fs else {
        panic!()
    };
    assert_eq!(run.argv, vec!["/bin/sh", "-c", "echo $V"]);
    assert_eq!(run.env, vec![("V".to_string(), "2".to_string())]);
    assert_eq!(
        s[2].created_by,
        "RUN |2 V=2 W= /bin/sh -c echo $V # buildkit"
    );
    let Some(FsChange::Run(run)) = &s[3].fs else {
        panic!()
    };
    assert_eq!(run.argv, vec!["a", "b"]);
}

#[test]
fn run_heredoc() {
    let s = steps("FROM alpine\nRUN <<EOF\necho a\necho b\nEOF\n");
    let Some(FsChange::Run(run)) = &s[0].fs else {
        panic!()
    };
    assert_eq!(run.argv, vec!["/bin/sh", "-c", "echo a\necho b\n"]);
}

#[test]
fn copy_heredoc_is_inline() {
    let s = steps("FROM alpine\nARG N=x\nCOPY <<EOF /f\nhi $N\nEOF\n");
    let Some(FsChange::Copy(c)) = &s[1].fs else {
        panic!()
    };
    assert_eq!(c.source, CopySource::Context);
    assert_eq!(
        c.inline,
        vec![crate::plan::InlineFile {
            name: "EOF".into(),
            content: "hi x\n".into()
        }]
    );
}

#[test]
fn global_args_feed_from_and_stage_redeclaration() {
    let p = plan(
        "ARG TAG=3.19\nARG UNUSED=u\nFROM alpine:${TAG}\nARG TAG\nARG UNUSED2\nENV T=$TAG U=$UNUSED\n",
    );
    assert_eq!(p.stages[0].base, Base::Image(r("alpine:3.19")));
    assert_eq!(p.stages[0].steps[0].created_by, "ARG TAG=3.19");
    assert_eq!(
        p.stages[0].steps[2].config,
        vec![ConfigChange::Env(vec![
            ("T".into(), "3.19".into()),
            ("U".into(), "".into())
        ])]
    );
}

#[test]
fn automatic_platform_args() {
    let p = plan(
        "FROM alpine\nARG TARGETARCH\nARG TARGETPLATFORM\nENV A=$TARGETARCH P=$TARGETPLATFORM\n",
    );
    assert_eq!(
        p.stages[0].steps[2].config,
        vec![ConfigChange::Env(vec![
            ("A".into(), "amd64".into()),
            ("P".into(), "linux/amd64".into())
        ])]
    );
}

#[test]
fn env_overrides_arg_in_expansion() {
    let s = steps("FROM alpine\nARG X=arg\nENV X=env\nLABEL l=$X\n");
    assert_eq!(
        s[2].config,
        vec![ConfigChange::Labels(vec![("l".into(), "env".into())])]
    );
}

#[test]
fn stages_target_and_dependencies() {
    let text = "FROM alpine AS base\nRUN a\nFROM golang AS build\nCOPY --from=base /a /a\nFROM scratch AS unused\nFROM base\nCOPY --from=build /out /out\nCOPY --from=1 /x /y\nCOPY --from=busybox /bin/sh /sh\n";
    let mut df = from_text(text, &input()).unwrap();
    let amd64 = Platform::linux_amd64();
    assert_eq!(
        df.external_images(),
        vec![
            ImageKey::new(&r("alpine"), &amd64),
            ImageKey::new(&r("golang"), &amd64),
            ImageKey::new(&r("busybox"), &amd64)
        ]
    );
    let set = images(&mut df).unwrap();
    let p = df.plan(&set).unwrap();
    let names: Vec<&str> = p.stages.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, vec!["base", "build", "3"]);
    assert_eq!(p.stages[2].base, Base::Stage(StageId(0)));
    let sources: Vec<CopySource> = p.stages[2]
        .steps
        .iter()
        .filter_map(|s| match &s.fs {
            Some(FsChange::Copy(c)) => Some(c.source.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(
        sources,
        vec![
            CopySource::Stage(StageId(1)),
            CopySource::Stage(StageId(1)),
            CopySource::Image(r("busybox"))
        ]
    );
    assert_eq!(p.context.root, PathBuf::from("/ctx"));

    let mut inp = input();
    inp.target = Some("BUILD".into());
    let p = plan_with(text, &inp).unwrap();
    assert_eq!(
        p.stages.iter().map(|s| s.name.as_str()).collect::<Vec<_>>(),
        vec!["base", "build"]
    );
    inp.target = Some("2".into());
    assert_eq!(plan_with(text, &inp).unwrap().stages.len(), 1);
    inp.target = Some("nope".into());
    let e = plan_with(text, &inp).unwrap_err().to_string();
    assert!(
        e.contains("target stage `nope`") && e.contains("`base`, `build`, `unused`, `3`"),
        "{e}"
    );
}

#[test]
fn stage_inherits_state_of_earlier_stage() {
    let p = plan("FROM scratch AS a\nENV A=1\nWORKDIR /w\nFROM a\nCOPY x y\nRUN echo\n");
    let Some(FsChange::Copy(c)) = &p.stages[1].steps[0].fs else {
        panic!()
    };
    assert_eq!(c.dest, "/w/y");
}

#[test]
fn bad_references_and_order_errors() {
    let e = err("FROM Alpine\n");
    assert!(
        e.starts_with("Dockerfile:1: ") && e.contains("   1 | FROM Alpine"),
        "{e}"
    );
    assert!(err("RUN x\nFROM a\n").contains("RUN before the first FROM"));
    // BuildKit accepts a repeated stage name (the DuplicateStageName check warns).
    let df = from_text("FROM a AS x\nFROM b AS x\n", &input()).unwrap();
    assert_eq!(df.checks[0].rule, super::lint::Rule::DuplicateStageName);
}

#[test]
fn labels_from_input_go_on_last_step() {
    let mut inp = input();
    inp.labels = vec![("org".into(), "x".into())];
    let p = plan_with("FROM alpine\nRUN a\n", &inp).unwrap();
    assert_eq!(
        p.stages[0].steps[0].config,
        vec![ConfigChange::Labels(vec![("org".into(), "x".into())])]
    );
    let p = plan_with("FROM alpine\n", &inp).unwrap();
    assert_eq!(p.stages[0].steps[0].created_by, "LABEL org=x");
}

#[test]
fn unused_build_arg_warns() {
    let mut inp = input();
    inp.build_args = vec![
        ("NOPE".into(), Some("1".into())),
        ("HTTP_PROXY".into(), Some("p".into())),
    ];
    let df = from_text("FROM alpine\n", &inp).unwrap();
    assert_eq!(df.warnings.len(), 1);
    assert!(df.warnings[0].contains("`NOPE`"));
}

#[test]
fn healthcheck_step() {
    let s = steps("FROM alpine\nHEALTHCHECK --interval=30s CMD curl x\n");
    let ConfigChange::Healthcheck(h) = &s[0].config[0] else {
        panic!()
    };
    assert_eq!(
        h.test,
        Some(vec!["CMD-SHELL".to_string(), "curl x".to_string()])
    );
    assert_eq!(h.interval, Some(30_000_000_000));
}

#[test]
fn arg_defaults_see_earlier_args_of_the_same_line() {
    let s = steps("FROM alpine\nARG A=1 B=${A}2\nENV B=$B\n");
    assert_eq!(s[0].created_by, "ARG A=1 B=12");
    assert_eq!(
        s[1].config,
        vec![ConfigChange::Env(vec![("B".into(), "12".into())])]
    );
}

#[test]
fn expansion_error_names_the_line() {
    let e = err("FROM alpine\nENV A=${NOPE:?must be set}\n");
    assert!(
        e.starts_with("Dockerfile:2: ") && e.contains("must be set"),
        "{e}"
    );
}

fn arm64_target() -> Input {
    let mut input = input();
    input.platform = "linux/arm64".parse().unwrap();
    input
}

#[test]
fn from_platform_builds_the_stage_for_that_platform() {
    let text = "FROM --platform=$BUILDPLATFORM golang AS build\nARG TARGETARCH\nRUN go build\nFROM build AS more\nFROM --platform=$BUILDPLATFORM scratch AS empty\nFROM alpine\nCOPY --from=more /out /app\nCOPY --from=empty / /\nCOPY --from=busybox /bin/sh /sh\n";
    let mut df = from_text(text, &arm64_target()).unwrap();
    assert!(df.warnings.is_empty(), "{:?}", df.warnings);
    let (amd64, arm64) = (Platform::linux_amd64(), arm64_target().platform);
    // Bases for their stage's platform; `COPY --from=IMAGE` for the target's, as BuildKit.
    assert_eq!(
        df.external_images(),
        vec![
            ImageKey::new(&r("golang"), &amd64),
            ImageKey::new(&r("alpine"), &arm64),
            ImageKey::new(&r("busybox"), &arm64),
        ]
    );
    let set = images(&mut df).unwrap();
    let p = df.plan(&set).unwrap();
    let platforms: Vec<(&str, String)> = p
        .stages
        .iter()
        .map(|s| (s.name.as_str(), s.platform.to_string()))
        .collect();
    // A stage on a stage inherits its platform; scratch is the target's whatever the flag says.
    assert_eq!(
        platforms,
        vec![
            ("build", "linux/amd64".to_string()),
            ("more", "linux/amd64".to_string()),
            ("empty", "linux/arm64".to_string()),
            ("3", "linux/arm64".to_string()),
        ]
    );
    assert_eq!(p.platform, arm64);
    // TARGETARCH stays the build's target inside a stage for the build machine.
    assert_eq!(p.stages[0].steps[0].created_by, "ARG TARGETARCH=arm64");
}

#[test]
fn same_image_for_two_platforms_is_two_images() {
    let text = "FROM --platform=$BUILDPLATFORM alpine AS build\nRUN make\nFROM alpine\nCOPY --from=build /out /out\n";
    let df = from_text(text, &arm64_target()).unwrap();
    let keys: Vec<String> = df.external_images().iter().map(|k| k.to_string()).collect();
    assert_eq!(
        keys,
        vec![
            "docker.io/library/alpine:latest (linux/amd64)",
            "docker.io/library/alpine:latest (linux/arm64)"
        ]
    );
}

#[test]
fn target_stage_for_another_platform_is_refused() {
    let e = plan_with(
        "FROM --platform=$BUILDPLATFORM alpine AS build\nFROM build\n",
        &arm64_target(),
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.starts_with("Dockerfile:2: the target stage `1` is built for `linux/amd64` (it is built on stage `build`, whose `--platform=$BUILDPLATFORM` at line 1 chose it), but the build's target platform is `linux/arm64`"),
        "{e}"
    );
    assert!(e.contains("\nhint: "), "{e}");
    // The same Dockerfile is fine when the target is the build machine's platform.
    plan("FROM --platform=$BUILDPLATFORM alpine AS build\nFROM build\n");
}

#[test]
fn from_platform_that_is_not_a_platform_is_an_error() {
    let e = err("ARG P\nFROM --platform=$P alpine\n");
    assert!(
        e.starts_with("Dockerfile:2: empty platform value from expression $P"),
        "{e}"
    );
    let e = err("FROM --platform=linux/arm64/v8/x alpine\n");
    assert!(
        e.starts_with("Dockerfile:1: failed to parse platform linux/arm64/v8/x: "),
        "{e}"
    );
}

#[test]
fn scratch_stage_gets_default_path_without_history() {
    let p = plan("FROM scratch\nRUN a\nENV B=$PATH\n");
    let s = &p.stages[0].steps;
    let path = ("PATH".to_string(), super::convert::DEFAULT_PATH.to_string());
    assert_eq!(s[0].config, vec![ConfigChange::Env(vec![path.clone()])]);
    let Some(FsChange::Run(run)) = &s[0].fs else {
        panic!()
    };
    assert_eq!(run.env, vec![path.clone()]);
    assert_eq!(
        s[1].config,
        vec![ConfigChange::Env(vec![("B".into(), path.1.clone())])]
    );
    assert_eq!(s.len(), 2);
    // Registry bases with a PATH are left alone.
    assert_eq!(
        steps("FROM alpine\nUSER x\n")[0].config,
        vec![ConfigChange::User("x".into())]
    );
}

#[test]
fn run_heredoc_fed_to_a_command_goes_to_the_shell() {
    let s = steps("FROM alpine\nRUN cat <<EOF > /f\nhello\nEOF\n");
    let Some(FsChange::Run(run)) = &s[0].fs else {
        panic!()
    };
    assert_eq!(
        run.argv,
        vec!["/bin/sh", "-c", "cat <<EOF > /f\nhello\nEOF"]
    );
}

#[test]
fn copy_json_form_is_expanded_too() {
    let s = steps("FROM alpine\nARG D=/dst/\nCOPY [\"a\", \"$D\"]\n");
    let Some(FsChange::Copy(c)) = &s[1].fs else {
        panic!()
    };
    assert_eq!(c.dest, "/dst/");
}

#[test]
fn base_image_onbuild_triggers_fire_first() {
    // The base image's triggers run before the stage's own instructions, at the FROM line, and the
    // child's config drops the inherited list.
    let df = from_text("FROM alpine\nRUN own\n", &input()).unwrap();
    let mut set = ImageSet::new();
    let mut config = ImageConfig::empty(&Platform::linux_amd64());
    config.config.on_build = Some(vec!["RUN x".into()]);
    set.insert(
        ImageKey::new(&r("alpine"), &Platform::linux_amd64()),
        Image::from_parts(config, Vec::new()).unwrap(),
    );
    let p = df.plan(&set).unwrap();
    let steps = &p.stages[0].steps;
    assert_eq!(steps[0].created_by, "RUN /bin/sh -c x # buildkit");
    assert_eq!(steps[0].location.line, 1);
    assert!(steps[0].config.contains(&ConfigChange::ClearOnBuild));
    assert_eq!(steps[1].created_by, "RUN /bin/sh -c own # buildkit");
}

#[test]
fn build_arg_without_value_takes_the_environment() {
    // `--build-arg NAME`: the value of NAME in hoist's environment (PATH is set wherever tests run).
    let mut inp = input();
    inp.build_args = vec![("PATH".into(), None)];
    let s = plan_with("FROM scratch\nARG PATH\nENV FROM_ENV=$PATH\n", &inp)
        .unwrap()
        .stages
        .pop()
        .unwrap()
        .steps;
    let path = std::env::var("PATH").unwrap();
    assert_eq!(s[0].created_by, format!("ARG PATH={path}"));
    assert_eq!(s[1].created_by, format!("ENV FROM_ENV={path}"));
}
