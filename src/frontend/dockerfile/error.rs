//! Errors of the Dockerfile frontend. Every variant that comes from the file names `file:line` and shows
//! the offending line, as BuildKit's `parser/errors.go` does.

#[derive(Debug, thiserror::Error)]
pub enum FrontendError {
    #[error("the Dockerfile frontend is not implemented yet")]
    Unimplemented,
}
