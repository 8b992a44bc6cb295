//! The default `web` process without a Procfile, as `npm start` itself decides it: `npm start` when
//! `package.json` has `scripts.start`, else `node server.js`.

use std::path::Path;

use buildpack_kit::{DefaultProcess, Explain, Problem, Process};

use crate::detect::PACKAGE_JSON;

/// `package.json` that cannot be read as JSON.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackageJsonError {
    pub message: String,
}

impl Explain for PackageJsonError {
    fn explain(&self) -> Problem {
        Problem::new(
            format!("cannot read `{PACKAGE_JSON}`: {}", self.message),
            "the start command comes from its `scripts.start`",
            format!(
                "make `{PACKAGE_JSON}` valid JSON (`node -e 'require(\"./package.json\")'` shows where it breaks)"
            ),
        )
    }
}

/// The `web` process for this `package.json` text.
pub fn default_process(package_json: &str) -> Result<Process, PackageJsonError> {
    let value: serde_json::Value =
        serde_json::from_str(package_json).map_err(|e| PackageJsonError {
            message: e.to_string(),
        })?;
    let start = value
        .get("scripts")
        .and_then(|scripts| scripts.get("start"))
        .and_then(|start| start.as_str())
        .filter(|start| !start.trim().is_empty());
    Ok(match start {
        Some(script) => Process {
            runs: Some(script.to_owned()),
            ..Process::web("npm start")
        },
        None => Process::web("node server.js"),
    })
}

/// The default process of the app in `app`.
pub fn default_process_of(app: &Path) -> Result<DefaultProcess, PackageJsonError> {
    let text = std::fs::read_to_string(app.join(PACKAGE_JSON)).map_err(|e| PackageJsonError {
        message: e.to_string(),
    })?;
    default_process(&text).map(DefaultProcess::Command)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scripts_start_means_npm_start() {
        let process =
            default_process(r#"{"scripts":{"start":"node app.js --port $PORT"}}"#).unwrap();
        assert_eq!(process.command, "npm start");
        assert_eq!(process.runs.as_deref(), Some("node app.js --port $PORT"));
        assert!(process.mentions_port());
    }

    #[test]
    fn no_start_script_means_node_server_js() {
        for json in [
            "{}",
            r#"{"scripts":{"build":"tsc"}}"#,
            r#"{"scripts":{"start":""}}"#,
            r#"{"scripts":{"start":3}}"#,
        ] {
            assert_eq!(
                default_process(json).unwrap(),
                Process::web("node server.js"),
                "{json}"
            );
        }
    }

    #[test]
    fn invalid_json_is_explained() {
        let err = default_process("{").unwrap_err();
        assert!(err.explain().what.starts_with("cannot read `package.json`"));
    }
}
