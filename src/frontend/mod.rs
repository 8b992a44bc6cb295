//! Frontends: build definitions in, [`crate::plan::BuildPlan`] out.
//!
//! `dockerfile` reads the Dockerfile language (BuildKit's syntax, version 1); `buildpacks` detects an
//! app without a Dockerfile as the CNB default builder would (detection only, for now). A frontend works in two
//! steps: `load` reads and checks the definition and names the registry images it needs; `plan`, given
//! those images (their configs feed variable expansion, as in BuildKit), produces the plan.

pub mod buildpacks;
pub mod dockerfile;
