//! A FROM line read into a stage (Dockerfile reference "FROM"; BuildKit's `dockerfile2llb/convert.go`):
//! the image and `--platform` expanded with the global ARGs (`--build-arg` applied), the FROM-line
//! checks (undeclared ARGs, constant or redundant platforms, a default that names no image), and the
//! base resolved to `scratch`, an earlier stage (by name) or a registry image.

use std::collections::BTreeSet;
use std::path::Path;
use std::str::FromStr;

use crate::image::Reference;

use super::args::Args;
use super::error::FrontendError;
use super::expand;
use super::instruction::{FromArgs, Instruction};
use super::lint::{Linter, Rule, from_rules};
use super::stage_platform;
use super::stages::{BaseDef, Platforms, StageDef, expand_err, find_stage};

/// What FROM lines are read with: the global ARGs so far (with `--build-arg` values, and with their
/// defaults only, as BuildKit's `InvalidDefaultArgInFrom` sees them), every ARG name declared so far,
/// and the build's platforms.
pub struct Scope<'a> {
    pub args: &'a Args,
    pub defaults: &'a Args,
    pub declared: &'a BTreeSet<String>,
    pub platforms: Platforms<'a>,
    pub file: &'a Path,
    pub escape: char,
}

/// The stage `inst` (a FROM line, `from`) starts, after the stages in `defs`; its checks go to `lint`.
pub fn stage(
    scope: &Scope<'_>,
    inst: &Instruction,
    from: &FromArgs,
    defs: &[StageDef],
    lint: &mut Linter,
) -> Result<StageDef, FrontendError> {
    let (file, escape) = (scope.file, scope.escape);
    let line = inst.node.start_line;
    // A `# check=` comment above the FROM applies to its checks.
    lint.scope(&inst.node.comments);
    let known: Vec<String> = scope
        .declared
        .iter()
        .cloned()
        .chain(scope.args.automatic.iter().map(|(k, _)| k.clone()))
        .collect();
    let from_lint = from_rules::FromLine {
        line,
        known: &known,
    };
    let mut own_platform = None;
    if let Some(raw) = &from.platform {
        let lookup = |k: &str| scope.args.global(k);
        let (p, matched, unmatched) = expand::word_with_matches(raw, escape, &lookup)
            .map_err(|e| expand_err(inst, file, e))?;
        from_lint.undeclared(lint, &unmatched);
        from_lint.platform(
            lint,
            from.platform.as_deref().unwrap_or_default(),
            &p,
            &matched,
            &unmatched,
            scope.args.global("TARGETPLATFORM").as_deref(),
            from.name.as_deref(),
        );
        if p.is_empty() {
            return Err(FrontendError::stage(
                inst.node
                    .located(file, format!("empty platform value from expression {raw}"))
                    .hint("give the ARG a value (a global ARG before the first FROM, or `--build-arg`), or use an automatic one such as `$BUILDPLATFORM`"),
            ));
        }
        let parsed = stage_platform::parse(&p, scope.platforms.build).map_err(|e| {
            FrontendError::stage(
                inst.node
                    .located(file, format!("failed to parse platform {raw}: {e}"))
                    .hint("write `os/arch[/variant]`, for example `linux/arm64`, or `$BUILDPLATFORM` for the machine the build runs on"),
            )
        })?;
        own_platform = Some(parsed);
    }
    let lookup = |k: &str| scope.defaults.global(k);
    if let Ok(by_default) = expand::word(&from.image, escape, &lookup)
        && Reference::from_str(&by_default).is_err()
        && find_stage(defs, &by_default).is_none()
        && !by_default.eq_ignore_ascii_case("scratch")
    {
        lint.run(
            Rule::InvalidDefaultArgInFrom,
            line,
            format!(
                "Default value for ARG {} results in empty or invalid base image name",
                from.image
            ),
        );
    }
    let lookup = |k: &str| scope.args.global(k);
    let (image, unmatched) = expand::word_with_unmatched(&from.image, escape, &lookup)
        .map_err(|e| expand_err(inst, file, e))?;
    from_lint.undeclared(lint, &unmatched);
    if image.is_empty() {
        return Err(FrontendError::stage(
            inst.node
                .located(
                    file,
                    format!("base name ({}) should not be blank", from.image),
                )
                .hint("give the ARG a default, or pass it with `--build-arg`"),
        ));
    }
    let base = if image.eq_ignore_ascii_case("scratch") {
        BaseDef::Scratch
    } else if let Some(j) = find_stage(defs, &image) {
        BaseDef::Stage(j)
    } else {
        BaseDef::Image(parse_reference(&image, inst, file)?)
    };
    lint.scope(&[]);
    let stage_platform =
        stage_platform::of_stage(&base, own_platform, defs, scope.platforms.target);
    Ok(StageDef {
        index: defs.len(),
        name: from.name.clone(),
        from: inst.clone(),
        base_name: image.clone(),
        fired_triggers: false,
        base,
        platform: stage_platform,
        instructions: Vec::new(),
        copy_from: Vec::new(),
        mount_from: Vec::new(),
    })
}

fn parse_reference(
    image: &str,
    inst: &Instruction,
    file: &Path,
) -> Result<Reference, FrontendError> {
    Reference::from_str(image).map_err(|e| {
        let first = e.to_string();
        let (message, hint) = first.split_once("\nhint: ").unwrap_or((first.as_str(), ""));
        let mut l = inst.node.located(file, message.to_string());
        if !hint.is_empty() {
            l = l.hint(hint.to_string());
        }
        FrontendError::stage(l)
    })
}
