//! The command line: clap types only (`args`), and their translation into validated requests (`request`,
//! with `secret` for `--secret` values).
//! Flags follow `docker build`, kaniko and `cpln image build` where those tools have a name for the thing.

pub mod args;
pub mod request;
pub mod secret;

pub use args::{Cli, Command, ContextArgs, DetectArgs, ParseArgs};
pub use request::{BuildRequest, CreationTime, Output, ProgressMode, RequestError, Sandbox};
pub use secret::{SecretFrom, SecretSource};
