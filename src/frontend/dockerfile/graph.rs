//! The stage graph: where each `COPY --from` and `RUN --mount` `from=` reads (a stage by name or index, or
//! a registry image) and which stages a target needs, dependencies first, as BuildKit resolves them.

use std::path::Path;
use std::str::FromStr;

use crate::image::Reference;

use super::error::FrontendError;
use super::expand;
use super::instruction::{Instruction, Kind};
use super::run_mount;
use super::stages::{BaseDef, SourceDef, StageDef, expand_err};

/// Resolves every `COPY --from` and every `RUN --mount` `from=` (neither expanded: BuildKit refuses
/// variables in both) to a stage, by name or index, or a registry image.
pub fn resolve_sources(
    defs: &mut [StageDef],
    file: &Path,
    escape: char,
) -> Result<(), FrontendError> {
    let names: Vec<Option<String>> = defs.iter().map(|d| d.name.clone()).collect();
    for def in defs.iter_mut() {
        let mut copies = Vec::new();
        let mut mounts = Vec::new();
        for inst in &def.instructions {
            let (copy, mount) = instruction_sources(&names, def.index, inst, file, escape)?;
            copies.push(copy);
            mounts.push(mount);
        }
        def.copy_from = copies;
        def.mount_from = mounts;
    }
    Ok(())
}

/// What one instruction of stage `index` reads: its `COPY --from` and the `from=` of each of its
/// `RUN --mount`s.
pub fn instruction_sources(
    names: &[Option<String>],
    index: usize,
    inst: &Instruction,
    file: &Path,
    escape: char,
) -> Result<(Option<SourceDef>, Vec<Option<SourceDef>>), FrontendError> {
    let mut copy_source = None;
    let mut mount_sources = Vec::new();
    match &inst.kind {
        Kind::Copy(copy) => {
            if let Some(from) = &copy.from {
                // BuildKit's `toCommand`: the value is processed with no variables at all, and
                // anything that changes it (a `$VAR`, quotes, escapes) is refused.
                let processed =
                    expand::word(from, escape, &|_| None).map_err(|e| expand_err(inst, file, e))?;
                if processed != *from {
                    return Err(FrontendError::stage(
                        inst.node
                            .located(file, format!("variable expansion is not supported for --from (`--from={from}`)"))
                            .hint("define a stage with FROM using an ARG from the global scope (`ARG IMG=…` before the first FROM, `FROM $IMG AS img`), then `COPY --from=img`"),
                    ));
                }
                copy_source = Some(source(names, index, from, Reader::Copy, inst, file)?);
            }
        }
        Kind::Run(run) => {
            for value in &run.mounts {
                let from = run_mount::from_field(value)
                    .map_err(|e| run_mount::located(e, value, inst, file))?;
                let resolved = match from {
                    None => None,
                    Some(from) => {
                        // Quotes only: the value holds no variable.
                        let from = expand::word(&from, escape, &|_| None)
                            .map_err(|e| expand_err(inst, file, e))?;
                        Some(source(names, index, &from, Reader::Mount, inst, file)?)
                    }
                };
                mount_sources.push(resolved);
            }
        }
        _ => {}
    }
    Ok((copy_source, mount_sources))
}

/// Who reads another stage or an image.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Reader {
    Copy,
    /// A RUN mount (`stages` checks that a stage it reads comes earlier).
    Mount,
}

/// A `from` value → the stage of that name (case-insensitive), the stage of that index, or an image.
fn source(
    names: &[Option<String>],
    index: usize,
    from: &str,
    reader: Reader,
    inst: &Instruction,
    file: &Path,
) -> Result<SourceDef, FrontendError> {
    let shown = match reader {
        Reader::Copy => format!("`--from={from}`"),
        Reader::Mount => format!("`--mount` with `from={from}`"),
    };
    let lower = from.to_ascii_lowercase();
    if let Some(j) = names
        .iter()
        .rposition(|n| n.as_deref() == Some(lower.as_str()))
    {
        return Ok(SourceDef::Stage(j));
    }
    if let Ok(j) = from.parse::<usize>() {
        if j >= index {
            return Err(FrontendError::stage(
                inst.node
                    .located(
                        file,
                        format!("{shown} names stage {j}, which is not an earlier stage"),
                    )
                    .hint(format!(
                        "stage indexes start at 0; there are {} stages",
                        names.len()
                    )),
            ));
        }
        return Ok(SourceDef::Stage(j));
    }
    let reference = Reference::from_str(from).map_err(|_| {
        FrontendError::stage(
            inst.node
                .located(
                    file,
                    format!("{shown} is neither a stage nor an image reference"),
                )
                .hint(format!(
                    "stages are: {}",
                    names
                        .iter()
                        .enumerate()
                        .map(|(i, n)| format!("`{}`", n.clone().unwrap_or_else(|| i.to_string())))
                        .collect::<Vec<_>>()
                        .join(", ")
                )),
        )
    })?;
    Ok(SourceDef::Image(reference))
}

/// The stages `target` needs, dependencies first (depth-first post-order), rejecting cycles.
pub fn order(defs: &[StageDef], target: usize, file: &Path) -> Result<Vec<usize>, FrontendError> {
    fn visit(
        defs: &[StageDef],
        i: usize,
        file: &Path,
        stack: &mut Vec<usize>,
        out: &mut Vec<usize>,
    ) -> Result<(), FrontendError> {
        if out.contains(&i) {
            return Ok(());
        }
        if stack.contains(&i) {
            let from = &defs[i].from;
            return Err(FrontendError::stage(from.node.located(
                file,
                format!("circular dependency on stage `{}`", defs[i].display_name()),
            )));
        }
        stack.push(i);
        let mut deps = Vec::new();
        if let BaseDef::Stage(j) = defs[i].base {
            deps.push(j);
        }
        deps.extend(defs[i].reads().filter_map(|s| match s {
            SourceDef::Stage(j) => Some(*j),
            SourceDef::Image(_) => None,
        }));
        for j in deps {
            visit(defs, j, file, stack, out)?;
        }
        stack.pop();
        out.push(i);
        Ok(())
    }
    let mut out = Vec::new();
    visit(defs, target, file, &mut Vec::new(), &mut out)?;
    Ok(out)
}
