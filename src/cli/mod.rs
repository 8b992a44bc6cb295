//! The command line: clap types only (`args`), and their translation into validated requests (`request`,
//! with `secret` for `--secret` values, `login` for passwords, `hoist login` and `hoist logout`;
//! `validate` for `hoist validate`, `prune` for `hoist prune`).
//! Flags follow `docker build`, kaniko and `cpln image build` where those tools have a name for the thing.

pub mod args;
pub mod login;
pub mod prune;
pub mod request;
pub mod secret;
pub mod transfer;
pub mod validate;

pub use args::{
    Cli, Command, ContextArgs, CopyArgs, DetectArgs, InspectArgs, LoginArgs, LogoutArgs, ParseArgs,
    PruneArgs, ValidateArgs,
};
pub use login::{Login, Logout, Password};
pub use prune::{ByteSize, PruneRequest, PruneScope};
pub use request::{
    BuildRequest, BuildpackRequest, CreationTime, Output, ProgressMode, Registries, RegistryTls,
    RequestError, Sandbox,
};
pub use secret::{SecretFrom, SecretSource};
pub use transfer::{CopyRequest, InspectRequest};
pub use validate::{ImageSource, ValidateRequest};
