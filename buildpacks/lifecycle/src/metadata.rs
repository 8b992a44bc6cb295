//! What the build tells the export and the launcher: each buildpack's `launch.toml` (CNB buildpack
//! spec 0.10, "launch.toml (TOML)") merged into `<layers>/config/metadata.toml` in the lifecycle's
//! format (platform spec 0.13, "metadata.toml": the group's buildpacks, the processes — a later
//! buildpack's process of a type replaces an earlier one, and the last `default = true` left is the
//! default — labels, slices), and hoist's `<layers>/config/launch-layers.toml`, the launch layers in
//! group order (one image layer each).

use serde::{Deserialize, Serialize};

/// A buildpack's `launch.toml`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct Launch {
    #[serde(default)]
    pub labels: Vec<Label>,
    #[serde(default)]
    pub processes: Vec<LaunchProcess>,
    #[serde(default)]
    pub slices: Vec<Slice>,
}

/// A process of `launch.toml` (Buildpack API 0.9+: `command` is an array, `args` its default
/// arguments, and the process runs directly).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct LaunchProcess {
    pub r#type: String,
    pub command: Vec<String>,
    #[serde(default)]
    pub args: Vec<String>,
    #[serde(default)]
    pub default: bool,
    #[serde(default, rename = "working-dir")]
    pub working_dir: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct Label {
    pub key: String,
    pub value: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct Slice {
    #[serde(default)]
    pub paths: Vec<String>,
}

/// `<layers>/config/metadata.toml`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
pub struct Metadata {
    #[serde(default)]
    pub buildpacks: Vec<BuildpackRef>,
    #[serde(default)]
    pub processes: Vec<Process>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub labels: Vec<Label>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub slices: Vec<Slice>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct BuildpackRef {
    pub id: String,
    pub version: String,
    pub api: String,
}

/// A process of the app image.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct Process {
    pub r#type: String,
    pub command: Vec<String>,
    #[serde(default)]
    pub args: Vec<String>,
    /// Run with `execve`, no shell (every Buildpack API 0.9+ process).
    #[serde(default)]
    pub direct: bool,
    #[serde(default)]
    pub default: bool,
    #[serde(
        default,
        rename = "working-dir",
        skip_serializing_if = "Option::is_none"
    )]
    pub working_dir: Option<String>,
    #[serde(rename = "buildpack-id")]
    pub buildpack_id: String,
}

impl Metadata {
    /// Adds a buildpack that has built, with its `launch.toml`.
    pub fn add(&mut self, buildpack: BuildpackRef, launch: Launch) {
        let mut default = self.default_type().map(str::to_owned);
        for p in launch.processes {
            if p.default {
                default = Some(p.r#type.clone());
            } else if default.as_deref() == Some(p.r#type.as_str()) {
                // A non-default process replacing the default leaves the image with none.
                default = None;
            }
            let process = Process {
                r#type: p.r#type,
                command: p.command,
                args: p.args,
                direct: true,
                default: false,
                working_dir: p.working_dir,
                buildpack_id: buildpack.id.clone(),
            };
            match self
                .processes
                .iter_mut()
                .find(|q| q.r#type == process.r#type)
            {
                Some(existing) => *existing = process,
                None => self.processes.push(process),
            }
        }
        for process in &mut self.processes {
            process.default = default.as_deref() == Some(process.r#type.as_str());
        }
        for label in launch.labels {
            self.labels.retain(|l| l.key != label.key);
            self.labels.push(label);
        }
        self.slices.extend(launch.slices);
        self.buildpacks.push(buildpack);
    }

    /// The default process type, if any.
    pub fn default_type(&self) -> Option<&str> {
        self.processes
            .iter()
            .find(|p| p.default)
            .map(|p| p.r#type.as_str())
    }

    pub fn process(&self, kind: &str) -> Option<&Process> {
        self.processes.iter().find(|p| p.r#type == kind)
    }

    pub fn types(&self) -> Vec<&str> {
        self.processes.iter().map(|p| p.r#type.as_str()).collect()
    }
}

/// `<layers>/config/launch-layers.toml`: hoist's list of the layers to export.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
pub struct LaunchLayers {
    #[serde(default)]
    pub layers: Vec<LaunchLayer>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct LaunchLayer {
    /// The buildpack's id.
    pub buildpack: String,
    /// The layer's name.
    pub name: String,
    /// Its absolute path, `<layers>/<id with / as _>/<name>`, kept as is in the image.
    pub path: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bp(id: &str) -> BuildpackRef {
        BuildpackRef {
            id: id.to_owned(),
            version: "0.1.0".to_owned(),
            api: "0.10".to_owned(),
        }
    }

    fn launch(toml: &str) -> Launch {
        toml::from_str(toml).unwrap()
    }

    #[test]
    fn a_later_process_of_a_type_replaces_the_earlier_and_the_last_default_wins() {
        let mut metadata = Metadata::default();
        metadata.add(
            bp("hoist/nodejs"),
            launch(
                "[[processes]]\ntype = \"web\"\ncommand = [\"bash\", \"-c\", \"npm start\"]\ndefault = true\n\
                 [[labels]]\nkey = \"a\"\nvalue = \"1\"\n",
            ),
        );
        assert_eq!(metadata.default_type(), Some("web"));
        metadata.add(
            bp("hoist/procfile"),
            launch(
                "[[processes]]\ntype = \"worker\"\ncommand = [\"bash\", \"-c\", \"node jobs.js\"]\n\
                 [[processes]]\ntype = \"web\"\ncommand = [\"bash\", \"-c\", \"node web.js\"]\ndefault = true\n\
                 [[labels]]\nkey = \"a\"\nvalue = \"2\"\n",
            ),
        );
        assert_eq!(metadata.types(), ["web", "worker"]);
        let web = metadata.process("web").unwrap();
        assert_eq!(web.command, ["bash", "-c", "node web.js"]);
        assert_eq!(web.buildpack_id, "hoist/procfile");
        assert!(web.default && web.direct);
        assert!(!metadata.process("worker").unwrap().default);
        assert_eq!(
            metadata.labels,
            [Label {
                key: "a".into(),
                value: "2".into()
            }]
        );
        assert_eq!(metadata.buildpacks.len(), 2);
    }

    #[test]
    fn a_non_default_replacement_leaves_no_default() {
        let mut metadata = Metadata::default();
        metadata.add(
            bp("a"),
            launch("[[processes]]\ntype = \"web\"\ncommand = [\"a\"]\ndefault = true\n"),
        );
        metadata.add(
            bp("b"),
            launch("[[processes]]\ntype = \"web\"\ncommand = [\"b\"]\n"),
        );
        assert_eq!(metadata.default_type(), None);
    }

    #[test]
    fn metadata_toml_has_the_lifecycle_keys() {
        let mut metadata = Metadata::default();
        metadata.add(
            bp("hoist/procfile"),
            launch(
                "[[processes]]\ntype = \"web\"\ncommand = [\"bash\", \"-c\", \"./run\"]\nargs = [\"x\"]\n\
                 default = true\nworking-dir = \"/workspace/sub\"\n",
            ),
        );
        let text = toml::to_string(&metadata).unwrap();
        for key in [
            "[[buildpacks]]",
            "api = \"0.10\"",
            "[[processes]]",
            "type = \"web\"",
            "direct = true",
            "default = true",
            "working-dir = \"/workspace/sub\"",
            "buildpack-id = \"hoist/procfile\"",
        ] {
            assert!(text.contains(key), "{key} missing in\n{text}");
        }
        let back: Metadata = toml::from_str(&text).unwrap();
        assert_eq!(back, metadata);
    }
}
