//! The parse listing: each parsed instruction as BuildKit's parser shapes it (`frontend/dockerfile/parser`
//! `Node`: flags from `extractBuilderFlags`, arguments as the `Next` chain the per-keyword line parsers of
//! `line_parsers.go` build). `hoist parse` shows it; nothing here prints.

use std::path::Path;

use serde::Serialize;

use super::error::FrontendError;
use super::parser::{self, Node};

/// One instruction as BuildKit's parser produces it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Listed {
    /// The keyword as written (original case).
    pub keyword: String,
    /// `--name[=value]` words, quotes removed.
    pub flags: Vec<String>,
    /// The argument nodes (BuildKit's `Next` chain).
    pub args: Vec<String>,
    /// Whether the arguments were a JSON (exec-form) array.
    pub json: bool,
    pub heredocs: Vec<ListedHeredoc>,
    pub start_line: usize,
    pub end_line: usize,
    /// For `ONBUILD`, the instruction it holds.
    pub onbuild: Option<Box<Listed>>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ListedHeredoc {
    pub name: String,
    pub content: String,
}

/// The whole file, as `hoist parse --json` writes it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Listing {
    pub instructions: Vec<Listed>,
}

/// Parses `text` and lists its instructions; errors name `file:line`.
pub fn list(text: &str, file: &Path) -> Result<Listing, FrontendError> {
    let ast = parser::parse(text, file)?;
    Ok(Listing {
        instructions: ast.nodes.iter().map(listed).collect(),
    })
}

fn listed(node: &Node) -> Listed {
    Listed {
        keyword: node.written_keyword.clone(),
        flags: parser::builder_flags(&node.after_keyword).1,
        args: node.args.nodes.clone(),
        json: node.args.json,
        heredocs: node
            .heredocs
            .iter()
            .map(|h| ListedHeredoc {
                name: h.name.clone(),
                content: h.content.clone(),
            })
            .collect(),
        start_line: node.start_line,
        end_line: node.end_line,
        onbuild: node.inner.as_ref().map(|inner| {
            Box::new(Listed {
                keyword: inner.keyword.clone(),
                flags: inner.flags.clone(),
                args: inner.args.nodes.clone(),
                json: inner.args.json,
                heredocs: Vec::new(),
                start_line: node.start_line,
                end_line: node.end_line,
                onbuild: None,
            })
        }),
    }
}

#[cfg(test)]
#[path = "listing_tests.rs"]
mod tests;
