//! ONBUILD triggers fired in a child stage, as BuildKit's `initOnBuildTriggers`
//! (`dockerfile2llb/convert.go`): each trigger of the base — the ONBUILD instructions of a base stage,
//! or the `OnBuild` list of a base image's config — is parsed as a one-instruction Dockerfile and runs
//! before the stage's own instructions, located at the stage's FROM line. Triggers are not passed on:
//! the child's config drops the inherited list.

use std::path::Path;

use super::error::FrontendError;
use super::instruction::{self, Instruction, Kind};
use super::parser;

/// The instructions of `triggers`, located at `from` (the child's FROM); `origin` names where they
/// come from in messages (`base image \`node:onbuild\``).
pub fn parse(
    triggers: &[String],
    from: &Instruction,
    file: &Path,
    origin: &str,
) -> Result<Vec<Instruction>, FrontendError> {
    let fail = |trigger: &str, why: String| {
        FrontendError::instruction(
            from.node
                .located(file, format!("ONBUILD trigger `{trigger}` of {origin}: {why}"))
                .hint("an ONBUILD trigger must be one instruction other than FROM, MAINTAINER and ONBUILD"),
        )
    };
    let mut out = Vec::new();
    for trigger in triggers {
        // BuildKit parses each trigger as its own Dockerfile, with the default escape character.
        let ast = parser::parse(trigger, file).map_err(|e| fail(trigger, e.to_string()))?;
        let [node] = <[parser::Node; 1]>::try_from(ast.nodes).map_err(|_| {
            fail(
                trigger,
                "onbuild trigger should be a single expression".into(),
            )
        })?;
        let mut node = node;
        node.start_line = from.node.start_line;
        node.end_line = from.node.end_line;
        let inst = instruction::from_node(node, file).map_err(|e| fail(trigger, e.to_string()))?;
        match &inst.kind {
            Kind::From(_) | Kind::Maintainer(_) | Kind::OnBuild(_) => {
                return Err(fail(
                    trigger,
                    format!("{} isn't allowed as an ONBUILD trigger", inst.node.keyword),
                ));
            }
            _ => out.push(inst),
        }
    }
    Ok(out)
}

/// The triggers a base stage's own ONBUILD instructions set.
pub fn of_stage(instructions: &[Instruction]) -> Vec<String> {
    instructions
        .iter()
        .filter_map(|i| match &i.kind {
            Kind::OnBuild(trigger) => Some(trigger.clone()),
            _ => None,
        })
        .collect()
}
