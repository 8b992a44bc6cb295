//! The command line: clap types only (`args`), and their translation into validated requests (`request`).
//! Flags follow `docker build`, kaniko and `cpln image build` where those tools have a name for the thing.

pub mod args;
pub mod request;

pub use args::{Cli, Command, ContextArgs, ParseArgs};
pub use request::{BuildRequest, CreationTime, Output, ProgressMode, RequestError};
