//! The files that name buildpacks: `order.toml` and `group.toml` (CNB platform spec 0.13, "order.toml",
//! "group.toml") and each buildpack's `buildpack.toml` (buildpack spec 0.10, "buildpack.toml"), found
//! in the buildpacks directory as `<id with / as _>/<version>/`.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{self, Error};

/// The Buildpack APIs this lifecycle implements (both have `command` arrays and direct processes).
pub const SUPPORTED_APIS: [&str; 2] = ["0.9", "0.10"];

/// `order.toml`: groups tried first to last.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
pub struct Order {
    #[serde(default)]
    pub order: Vec<OrderGroup>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
pub struct OrderGroup {
    #[serde(default)]
    pub group: Vec<OrderEntry>,
}

/// One buildpack of an order's group; without `version` the only version installed is used.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct OrderEntry {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub optional: bool,
}

/// `group.toml`: the buildpacks that passed detection, in build order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
pub struct Group {
    #[serde(default)]
    pub group: Vec<GroupEntry>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct GroupEntry {
    pub id: String,
    pub version: String,
    pub api: String,
}

/// A buildpack found in the buildpacks directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Buildpack {
    pub id: String,
    pub version: String,
    pub api: String,
    /// `clear-env = true`: the platform's environment is not set for its detect and build.
    pub clear_env: bool,
    /// Its directory (`CNB_BUILDPACK_DIR`).
    pub dir: PathBuf,
}

#[derive(Deserialize)]
struct DescriptorFile {
    api: String,
    buildpack: DescriptorInfo,
    #[serde(default)]
    order: Vec<toml::Value>,
}

#[derive(Deserialize)]
struct DescriptorInfo {
    id: String,
    version: String,
    #[serde(default, rename = "clear-env")]
    clear_env: bool,
}

/// The directory name of a buildpack id: `/` becomes `_` (platform spec, "Buildpacks Directory
/// Layout"; the layers directory uses the same escaping).
pub fn escape_id(id: &str) -> String {
    id.replace('/', "_")
}

impl Buildpack {
    /// The buildpack `id` at `version` (the only one installed when `None`) in `dir`.
    pub fn find(
        buildpacks: &Path,
        id: &str,
        version: Option<&str>,
        code: i32,
    ) -> Result<Self, Error> {
        let base = buildpacks.join(escape_id(id));
        let version = match version {
            Some(version) => version.to_owned(),
            None => only_version(&base, id, code)?,
        };
        let dir = base.join(&version);
        let path = dir.join("buildpack.toml");
        let descriptor: DescriptorFile = error::read_toml(code, &path)?.ok_or_else(|| {
            Error::new(
                code,
                format!(
                    "buildpack `{id}@{version}` is not installed: `{}` does not exist",
                    path.display()
                ),
                "buildpacks are found as `<buildpacks>/<id with / as _>/<version>/buildpack.toml`",
                "install the buildpack there, or fix the id and version in the order or group",
            )
        })?;
        if !descriptor.order.is_empty() {
            return Err(Error::new(
                code,
                format!(
                    "`{}` is a composite buildpack (it has an `[[order]]`)",
                    path.display()
                ),
                "hoist's lifecycle runs component buildpacks only",
                "list the component buildpacks in the order instead",
            ));
        }
        if descriptor.buildpack.id != id || descriptor.buildpack.version != version {
            return Err(Error::new(
                code,
                format!(
                    "`{}` declares `{}@{}`, not `{id}@{version}`",
                    path.display(),
                    descriptor.buildpack.id,
                    descriptor.buildpack.version
                ),
                "the directory a buildpack is installed in must match its id and version",
                "reinstall the buildpack with `buildpacks/package.sh`",
            ));
        }
        if !SUPPORTED_APIS.contains(&descriptor.api.as_str()) {
            return Err(Error::new(
                error::INCOMPATIBLE_BUILDPACK_API,
                format!(
                    "buildpack `{id}@{version}` declares Buildpack API {}",
                    descriptor.api
                ),
                format!(
                    "this lifecycle implements Buildpack API {}",
                    SUPPORTED_APIS.join(" and ")
                ),
                "use a version of the buildpack written for Buildpack API 0.10",
            ));
        }
        Ok(Buildpack {
            id: id.to_owned(),
            version,
            api: descriptor.api,
            clear_env: descriptor.buildpack.clear_env,
            dir,
        })
    }

    /// `id@version`, as logs name it.
    pub fn name(&self) -> String {
        format!("{}@{}", self.id, self.version)
    }

    /// Its directory under the layers directory.
    pub fn layers_dir(&self, layers: &Path) -> PathBuf {
        layers.join(escape_id(&self.id))
    }

    pub fn group_entry(&self) -> GroupEntry {
        GroupEntry {
            id: self.id.clone(),
            version: self.version.clone(),
            api: self.api.clone(),
        }
    }
}

fn only_version(base: &Path, id: &str, code: i32) -> Result<String, Error> {
    let mut versions: Vec<String> = std::fs::read_dir(base)
        .map_err(|e| Error::io(code, "list the versions of buildpack", base, e))?
        .flatten()
        .filter(|e| e.path().join("buildpack.toml").is_file())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    versions.sort();
    match versions.as_slice() {
        [one] => Ok(one.clone()),
        [] => Err(Error::new(
            code,
            format!("buildpack `{id}` is not installed in `{}`", base.display()),
            "buildpacks are found as `<buildpacks>/<id with / as _>/<version>/buildpack.toml`",
            "install the buildpack there, or fix its id in the order",
        )),
        several => Err(Error::new(
            code,
            format!(
                "buildpack `{id}` has several versions installed: {}",
                several.join(", ")
            ),
            "an order entry without `version` needs exactly one",
            format!("give `version` in the order entry of `{id}`"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn install(root: &Path, id: &str, version: &str, api: &str) {
        let dir = root.join(escape_id(id)).join(version);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("buildpack.toml"),
            format!("api = \"{api}\"\n[buildpack]\nid = \"{id}\"\nversion = \"{version}\"\n"),
        )
        .unwrap();
    }

    #[test]
    fn finds_the_only_version_or_the_given_one() {
        let root = tempfile::tempdir().unwrap();
        install(root.path(), "hoist/go", "0.1.0", "0.10");
        let bp = Buildpack::find(root.path(), "hoist/go", None, 22).unwrap();
        assert_eq!((bp.version.as_str(), bp.clear_env), ("0.1.0", false));
        assert!(bp.dir.ends_with("hoist_go/0.1.0"));
        install(root.path(), "hoist/go", "0.2.0", "0.10");
        let err = Buildpack::find(root.path(), "hoist/go", None, 22).unwrap_err();
        assert!(err.what.contains("several versions"), "{err}");
        assert!(Buildpack::find(root.path(), "hoist/go", Some("0.2.0"), 22).is_ok());
        let err = Buildpack::find(root.path(), "hoist/go", Some("9.9.9"), 22).unwrap_err();
        assert!(err.what.contains("not installed"), "{err}");
    }

    #[test]
    fn an_old_buildpack_api_is_refused() {
        let root = tempfile::tempdir().unwrap();
        install(root.path(), "old/bp", "1.0.0", "0.4");
        let err = Buildpack::find(root.path(), "old/bp", None, 22).unwrap_err();
        assert_eq!(err.code, error::INCOMPATIBLE_BUILDPACK_API);
    }

    #[test]
    fn order_toml_parses_groups_with_optional_entries() {
        let order: Order = toml::from_str(
            "[[order]]\n[[order.group]]\nid = \"a\"\nversion = \"1\"\n[[order.group]]\nid = \"b\"\noptional = true\n",
        )
        .unwrap();
        assert_eq!(order.order[0].group.len(), 2);
        assert!(order.order[0].group[1].optional);
        assert_eq!(order.order[0].group[1].version, None);
    }
}
