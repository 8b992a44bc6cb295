//! The checks BuildKit runs on every instruction while parsing, whatever the target: empty
//! continuation lines, MAINTAINER, stage-name and `AS` casing (`instructions/parse.go`), reserved and
//! repeated stage names, and consistent instruction casing (`dockerfile2llb/convert.go`
//! `validateStageNames`, `validateCommandCasing`); the experimental description comments of named
//! stages and ARGs.

use std::collections::BTreeSet;

use super::{Linter, Rule};
use crate::frontend::dockerfile::instruction::{Instruction, Kind};

/// Runs the parse-time rules over the instructions in file order.
pub fn run(instructions: &[Instruction], lint: &mut Linter) {
    let mut names: BTreeSet<String> = BTreeSet::new();
    let mut in_stage = false;
    let (mut lower, mut upper) = (0, 0);
    for inst in instructions {
        let node = &inst.node;
        if let Some(line) = node.empty_continuation {
            lint.run(Rule::NoEmptyContinuation, line, "Empty continuation line");
        }
        match &inst.kind {
            Kind::Maintainer(_) => lint.run(
                Rule::MaintainerDeprecated,
                node.start_line,
                "Maintainer instruction is deprecated in favor of using label",
            ),
            Kind::From(from) => {
                in_stage = true;
                if let [_, as_, written] = node.args.nodes.as_slice() {
                    if *written != written.to_lowercase() {
                        lint.run(
                            Rule::StageNameCasing,
                            node.start_line,
                            format!("Stage name '{written}' should be lowercase"),
                        );
                    }
                    let from_kw = &node.written_keyword;
                    let mismatch = if *from_kw == from_kw.to_lowercase() {
                        *as_ != as_.to_lowercase()
                    } else if *from_kw == from_kw.to_uppercase() {
                        *as_ != as_.to_uppercase()
                    } else {
                        false
                    };
                    if mismatch {
                        lint.run(
                            Rule::FromAsCasing,
                            node.start_line,
                            format!("'{as_}' and '{from_kw}' keywords' casing do not match"),
                        );
                    }
                }
                if let Some(name) = &from.name {
                    definition_description(lint, "FROM", std::slice::from_ref(name), inst);
                }
                if let Some(name) = &from.name {
                    if name == "context" || name == "scratch" {
                        lint.run(
                            Rule::ReservedStageName,
                            node.start_line,
                            format!("Stage name should not use the same name as reserved stage \"{name}\""),
                        );
                    }
                    if !names.insert(name.clone()) {
                        lint.run(
                            Rule::DuplicateStageName,
                            node.start_line,
                            format!(
                                "Duplicate stage name \"{name}\", stage names should be unique"
                            ),
                        );
                    }
                }
            }
            Kind::Arg(decls) => {
                let keys: Vec<String> = decls.iter().map(|d| d.name.clone()).collect();
                definition_description(lint, "ARG", &keys, inst);
            }
            _ => {}
        }
        // Casing counts FROM lines and the instructions of stages, not the ARGs before the first FROM.
        if in_stage {
            let k = &node.written_keyword;
            if *k == k.to_lowercase() {
                lower += 1;
            } else if *k == k.to_uppercase() {
                upper += 1;
            }
        }
    }
    let majority_lower = lower > upper;
    let mut in_stage = false;
    for inst in instructions {
        in_stage |= matches!(inst.kind, Kind::From(_));
        if !in_stage {
            continue;
        }
        let k = &inst.node.written_keyword;
        let wanted = if majority_lower && *k != k.to_lowercase() {
            "lowercase"
        } else if !majority_lower && *k != k.to_uppercase() {
            "uppercase"
        } else {
            continue;
        };
        lint.run(
            Rule::ConsistentInstructionCasing,
            inst.node.start_line,
            format!("Command '{k}' should match the case of the command majority ({wanted})"),
        );
    }
}

/// `InvalidDefinitionDescription` (experimental): the comment right above a named FROM or an ARG is a
/// description (`--call=outline`), so its first word must be the stage's or an argument's name
/// (BuildKit's `validateDefinitionDescription`).
fn definition_description(
    lint: &mut Linter,
    instruction: &str,
    keys: &[String],
    inst: &Instruction,
) {
    let Some(last) = inst.node.comments.last() else {
        return;
    };
    if keys.is_empty()
        || keys
            .iter()
            .any(|k| last.split(' ').next() == Some(k.as_str()))
    {
        return;
    }
    let example = match keys {
        [one] => one.as_str(),
        _ => "<arg_key>",
    };
    lint.run(
        Rule::InvalidDefinitionDescription,
        inst.node.start_line,
        format!("Comment for {instruction} should follow the format: `# {example} <description>`"),
    );
}
