//! What a stage looks like so far, as far as planning needs to know: its config's Env, working
//! directory, user and shell, and the environment instructions see (BuildKit's state env, where ARG
//! values live too).

use crate::frontend::dockerfile::args::{get, set};
use crate::image::ContainerConfig;

/// What the stage looks like so far, as far as planning needs to know.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct State {
    /// The config's Env.
    pub env: Vec<(String, String)>,
    /// The environment instructions see (BuildKit's state env): the config's Env and the values of
    /// ARGs, in the order they were set; RUN gets it and `$VAR` reads it.
    pub vars: Vec<(String, String)>,
    /// Absolute working directory (`/` when unset).
    pub workdir: String,
    pub user: Option<String>,
    pub shell: Vec<String>,
    /// The config names a SHELL (the base image's or an instruction's).
    pub shell_set: bool,
    /// A WORKDIR ran in this stage or a stage it is built on.
    pub workdir_set: bool,
    /// Every ARG declared in the stage and the stages it is built on, in first-declaration order
    /// (BuildKit's `buildArgs`: RUN's history lists them).
    pub declared: Vec<String>,
}

impl Default for State {
    fn default() -> State {
        State {
            env: Vec::new(),
            vars: Vec::new(),
            workdir: "/".into(),
            user: None,
            shell: default_shell(),
            shell_set: false,
            workdir_set: false,
            declared: Vec::new(),
        }
    }
}

fn default_shell() -> Vec<String> {
    vec!["/bin/sh".into(), "-c".into()]
}

impl State {
    /// The state a registry image's config gives.
    pub fn from_config(config: &ContainerConfig) -> State {
        let env: Vec<(String, String)> = config
            .env
            .iter()
            .flatten()
            .map(|e| match e.split_once('=') {
                Some((k, v)) => (k.to_string(), v.to_string()),
                None => (e.clone(), String::new()),
            })
            .collect();
        let shell = config.shell.clone().filter(|s| !s.is_empty());
        State {
            vars: env.clone(),
            env,
            workdir: config
                .working_dir
                .clone()
                .filter(|w| !w.is_empty())
                .unwrap_or_else(|| "/".into()),
            user: config.user.clone().filter(|u| !u.is_empty()),
            shell_set: shell.is_some(),
            shell: shell.unwrap_or_else(default_shell),
            workdir_set: false,
            declared: Vec::new(),
        }
    }

    /// Sets an environment variable in the config and for the instructions that follow.
    pub fn set_env(&mut self, key: &str, value: &str) {
        set(&mut self.env, key, value.to_string());
        set(&mut self.vars, key, value.to_string());
    }

    pub fn var(&self, key: &str) -> Option<String> {
        get(&self.vars, key).cloned()
    }
}
