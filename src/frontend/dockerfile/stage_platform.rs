//! The platform each stage is built for, as BuildKit's `dockerfile2llb` (`buildDispatchStates`,
//! `resolveBaseImage`, `dispatchState.init`) decides it: `FROM --platform=P` (expanded with the global
//! ARGs and the automatic platform ARGs, parsed as containerd's `platforms.Parse`) builds a stage on an
//! image for `P`; a stage on an earlier stage inherits that stage's platform, whatever its own flag
//! says; `FROM scratch` and a stage without the flag are the build's target platform.
//!
//! hoist labels the result with the target platform, as BuildKit does for an explicit `--platform`;
//! a target stage built for another platform would make an image whose binaries do not run on the
//! platform it claims, so it is refused here, naming the line (see [`check_target`]).

use std::path::Path;

use crate::image::Platform;

use super::error::FrontendError;
use super::instruction::Instruction;
use super::stages::{BaseDef, StageDef};

/// Operating systems containerd's `platforms.Parse` recognises when a specifier has one part.
const KNOWN_OS: &[&str] = &[
    "aix",
    "android",
    "darwin",
    "dragonfly",
    "freebsd",
    "hurd",
    "illumos",
    "ios",
    "js",
    "linux",
    "nacl",
    "netbsd",
    "openbsd",
    "plan9",
    "solaris",
    "windows",
    "zos",
];

/// Parses an expanded `--platform` value as containerd's `platforms.Parse`: `os/arch[/variant]`, or
/// one part — an OS (this machine's architecture) or an architecture (`linux`).
pub fn parse(value: &str, host: &Platform) -> Result<Platform, String> {
    let ok = |p: &str| {
        !p.is_empty()
            && p.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'.')
    };
    let parts: Vec<&str> = value.split('/').collect();
    match parts.as_slice() {
        [one] if ok(one) => {
            let lower = one.to_ascii_lowercase();
            if KNOWN_OS.contains(&lower.as_str()) || lower == "macos" {
                let os = if lower == "macos" { "darwin" } else { &lower };
                Ok(Platform::normalized(
                    os,
                    &host.architecture,
                    host.variant.as_deref(),
                ))
            } else {
                Ok(Platform::normalized("linux", &lower, None))
            }
        }
        [os, arch] if ok(os) && ok(arch) => Ok(Platform::normalized(os, arch, None)),
        [os, arch, variant] if ok(os) && ok(arch) && ok(variant) => {
            Ok(Platform::normalized(os, arch, Some(variant)))
        }
        _ => Err(format!(
            "\"{value}\": unknown operating system or architecture: invalid argument"
        )),
    }
}

/// The platform of a stage on `base`, whose own `--platform` gave `own` (BuildKit: a stage on a stage
/// takes its base's platform; scratch is the target's).
pub fn of_stage(
    base: &BaseDef,
    own: Option<Platform>,
    defs: &[StageDef],
    target: &Platform,
) -> Platform {
    match base {
        BaseDef::Scratch => target.clone(),
        BaseDef::Stage(j) => defs[*j].platform.clone(),
        BaseDef::Image(_) => own.unwrap_or_else(|| target.clone()),
    }
}

/// Whether a stage for `stage` makes an image that runs on `target` (the same os and architecture,
/// and variants that do not contradict each other).
pub fn runs_on(stage: &Platform, target: &Platform) -> bool {
    stage.satisfies(target) || target.satisfies(stage)
}

/// Refuses a target stage built for another platform than the build's target: hoist labels the image
/// with the target platform and checks its binaries against it.
pub fn check_target(
    defs: &[StageDef],
    target_index: usize,
    target: &Platform,
    file: &Path,
) -> Result<(), FrontendError> {
    let def = &defs[target_index];
    if runs_on(&def.platform, target) {
        return Ok(());
    }
    // The stage whose `FROM --platform` chose the platform: this one, or a base stage it inherits from.
    let mut origin = def;
    while let BaseDef::Stage(j) = origin.base {
        origin = &defs[j];
    }
    let flag = flag_text(&origin.from);
    let because = if origin.index == def.index {
        format!("its `{flag}`")
    } else {
        format!(
            "it is built on stage `{}`, whose `{flag}` at line {} chose it",
            origin.display_name(),
            origin.from.node.start_line
        )
    };
    Err(FrontendError::stage(
        def.from
            .node
            .located(
                file,
                format!(
                "the target stage `{}` is built for `{}` ({because}), but the build's target platform is `{target}`: the image would be labelled `{target}` and hold `{}` binaries",
                def.display_name(),
                def.platform,
                def.platform
            ),
        )
        .hint(format!(
            "remove `{flag}` from line {} so the target stage is built for the target (a stage for the build machine belongs before the target stage, its output taken with `COPY --from`), or build with `--platform {}`",
            origin.from.node.start_line, def.platform
        )),
    ))
}

fn flag_text(from: &Instruction) -> String {
    match &from.kind {
        super::instruction::Kind::From(f) => {
            format!("--platform={}", f.platform.as_deref().unwrap_or_default())
        }
        _ => "--platform".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_as_containerd() {
        let host = Platform::linux_amd64();
        let p = |s: &str| parse(s, &host).map(|p| p.to_string());
        assert_eq!(p("linux/arm64").unwrap(), "linux/arm64");
        assert_eq!(p("linux/arm64/v8").unwrap(), "linux/arm64");
        assert_eq!(p("LINUX/AMD64").unwrap(), "linux/amd64");
        assert_eq!(p("linux").unwrap(), "linux/amd64");
        assert_eq!(p("arm64").unwrap(), "linux/arm64");
        assert_eq!(p("aarch64").unwrap(), "linux/arm64");
        assert!(p("linux/").is_err());
        assert!(p("linux/arm/v7/x").is_err());
        assert!(p("linux arm").is_err());
    }

    #[test]
    fn variants_that_agree_run_on_each_other() {
        let p = |s: &str| s.parse::<Platform>().unwrap();
        assert!(runs_on(&p("linux/arm64"), &p("linux/arm64/v8")));
        assert!(runs_on(&p("linux/arm/v7"), &p("linux/arm")));
        assert!(!runs_on(&p("linux/arm/v6"), &p("linux/arm/v7")));
        assert!(!runs_on(&p("linux/amd64"), &p("linux/arm64")));
    }
}
