//! One finding of the checks: what is wrong and why (`message`), where (`path`, `layer`), and the way
//! out (`hint`). The build turns findings into its error; `hoist validate` prints them, or serialises
//! them as JSON (`kind` in snake_case).

use std::fmt;

use serde::Serialize;

/// What kind of problem a finding is. A closed set: `hoist validate --json` consumers match on it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// The manifest, config and blobs do not agree, or the config names another platform.
    Structure,
    /// An ELF executable or library built for another machine: `exec format error`.
    ForeignBinary,
    /// A script entrypoint's `#!` interpreter (or the program `env` runs) is not in the image.
    MissingInterpreter,
    /// A dynamically linked entrypoint's program interpreter (`PT_INTERP`) is not in the image.
    MissingLoader,
    /// The entrypoint (or cmd) names nothing in the image.
    EntrypointNotFound,
    /// The entrypoint exists but is not an executable file.
    EntrypointNotExecutable,
}

impl Kind {
    /// Whether `hoist build` fails on this kind too. The entrypoint's presence and mode are checked by
    /// `hoist validate` only: a build's entrypoint often comes from its base image and is judged there.
    pub fn fails_build(self) -> bool {
        match self {
            Kind::Structure
            | Kind::ForeignBinary
            | Kind::MissingInterpreter
            | Kind::MissingLoader => true,
            Kind::EntrypointNotFound | Kind::EntrypointNotExecutable => false,
        }
    }
}

/// The layer a finding is about.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LayerRef {
    /// 1 for the bottom layer.
    pub index: usize,
    pub digest: String,
    /// The history's `created_by`: the instruction that added the layer, when the image says.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_by: Option<String>,
}

impl fmt::Display for LayerRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.created_by.as_deref().map(str::trim) {
            Some(by) if !by.is_empty() => write!(f, "`{by}` (layer {})", self.index),
            _ => write!(f, "layer {} ({})", self.index, self.digest),
        }
    }
}

/// One reason the image is invalid or would not run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub kind: Kind,
    /// The file in the image the finding is about, when there is one.
    pub path: Option<String>,
    /// What happened and why, in one line.
    pub message: String,
    /// The layer that added the file (or that the finding is about).
    pub layer: Option<LayerRef>,
    /// What to do.
    pub hint: String,
}

impl fmt::Display for Finding {
    /// The message, then the layer that added the file on its own line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)?;
        if let (Some(layer), false) = (&self.layer, self.kind == Kind::Structure) {
            write!(f, "\n    added by {layer}")?;
        }
        Ok(())
    }
}
