//! Integration tests: the one test binary (see testing guide). Every test drives the `hoist` CLI the
//! way a user does and reads the result back with independent tools (skopeo, umoci, buildah) against a
//! real registry on loopback.

mod support;

mod add_sources;
mod architecture;
mod architecture_check;
mod bad_input;
mod build;
mod buildpacks;
mod commands;
mod control_plane;
mod credentials;
mod detect;
mod differential;
mod in_container;
mod layout;
mod multiplatform;
mod multistage;
mod prune;
mod registry;
mod registry_proxy;
mod registry_tls;
mod registry_token;
mod reproducible;
mod rootless_support;
mod run;
mod run_fixtures;
mod support_smoke;
mod transfer;
mod unreliable_registry;
mod validate;
