//! The stage graph: where each `COPY --from` reads (a stage by name or index, or a registry image,
//! after ARG expansion) and which stages a target needs, dependencies first, as BuildKit resolves them.

use std::path::Path;
use std::str::FromStr;

use crate::image::Reference;

use super::args::{Args, get, set};
use super::convert::{BaseDef, SourceDef, StageDef, expand_err};
use super::error::FrontendError;
use super::expand;
use super::instruction::Kind;

/// Resolves every `COPY --from` (stage name, stage index, or image), expanding it with the stage's ARGs.
pub fn resolve_copy_sources(
    defs: &mut [StageDef],
    args: &Args,
    file: &Path,
    escape: char,
) -> Result<(), FrontendError> {
    let names: Vec<Option<String>> = defs.iter().map(|d| d.name.clone()).collect();
    let count = defs.len();
    for def in defs.iter_mut() {
        let mut scope: Vec<(String, String)> = Vec::new();
        let mut resolved = Vec::new();
        for inst in &def.instructions {
            let lookup = |k: &str| get(&scope, k).cloned();
            let mut source = None;
            match &inst.kind {
                Kind::Arg(decls) => {
                    for decl in decls {
                        let lookup = |k: &str| get(&scope, k).cloned();
                        let value = args
                            .declare(decl, false, escape, &lookup)
                            .map_err(|e| expand_err(inst, file, e))?;
                        if let Some(v) = value {
                            set(&mut scope, &decl.name, v);
                        }
                    }
                }
                Kind::Copy(copy) => {
                    if let Some(from) = &copy.from {
                        let from = expand::word(from, escape, &lookup)
                            .map_err(|e| expand_err(inst, file, e))?;
                        let lower = from.to_ascii_lowercase();
                        source = Some(
                            if let Some(j) = names
                                .iter()
                                .position(|n| n.as_deref() == Some(lower.as_str()))
                            {
                                SourceDef::Stage(j)
                            } else if let Ok(j) = from.parse::<usize>() {
                                if j >= def.index {
                                    return Err(FrontendError::stage(inst.node.located(file, format!("`--from={from}` names stage {j}, which is not an earlier stage")).hint(format!("stage indexes start at 0; there are {count} stages"))));
                                }
                                SourceDef::Stage(j)
                            } else {
                                let reference = Reference::from_str(&from).map_err(|_| {
                                FrontendError::stage(inst.node.located(file, format!("`--from={from}` is neither a stage nor an image reference")).hint(format!(
                                    "stages are: {}",
                                    names.iter().enumerate().map(|(i, n)| format!("`{}`", n.clone().unwrap_or_else(|| i.to_string()))).collect::<Vec<_>>().join(", ")
                                )))
                            })?;
                                SourceDef::Image(reference)
                            },
                        );
                    }
                }
                _ => {}
            }
            resolved.push(source);
        }
        def.copy_from = resolved;
    }
    Ok(())
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
        deps.extend(defs[i].copy_from.iter().flatten().filter_map(|s| match s {
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
