//! The package manager's commands, as data: install exactly what the lockfile pins, run
//! `scripts.build` when there is one (with dev dependencies still there), then drop dev dependencies
//! so they are not shipped. Yarn 2+ ("berry", recognised by `.yarnrc.yml`) has its own flags.

use buildpack_kit::build_command::Step;

use crate::detect::PackageManager;

/// The steps for `manager`; `yarn_berry` when the app has `.yarnrc.yml`; `build_script` when
/// `package.json` has `scripts.build`.
pub fn steps(manager: PackageManager, yarn_berry: bool, build_script: bool) -> Vec<Step> {
    let mut steps = vec![match (manager, yarn_berry) {
        (PackageManager::Npm, _) => Step::new("npm", &["ci"]),
        (PackageManager::Yarn, false) => Step::new("yarn", &["install", "--frozen-lockfile"]),
        (PackageManager::Yarn, true) => Step::new("yarn", &["install", "--immutable"]),
        (PackageManager::Pnpm, _) => Step::new("pnpm", &["install", "--frozen-lockfile"]),
    }];
    if build_script {
        steps.push(Step::new(manager.name(), &["run", "build"]));
    }
    steps.push(match (manager, yarn_berry) {
        (PackageManager::Npm, _) => Step::new("npm", &["prune", "--omit=dev"]),
        (PackageManager::Yarn, false) => Step::new(
            "yarn",
            &[
                "install",
                "--frozen-lockfile",
                "--production",
                "--ignore-scripts",
                "--prefer-offline",
            ],
        ),
        (PackageManager::Yarn, true) => {
            Step::new("yarn", &["workspaces", "focus", "--all", "--production"])
        }
        (PackageManager::Pnpm, _) => Step::new("pnpm", &["prune", "--prod"]),
    });
    steps
}

/// The variable that puts the package manager's download cache in the cache layer.
pub fn cache_variable(manager: PackageManager) -> &'static str {
    match manager {
        PackageManager::Npm => "npm_config_cache",
        PackageManager::Yarn => "YARN_CACHE_FOLDER",
        PackageManager::Pnpm => "npm_config_store_dir",
    }
}

/// Variables that keep npm (and pnpm, which reads npm's config) to the install itself: no audit
/// request, no funding message, no update check — calls a build behind a registry mirror or a
/// proxy may not reach, and output that says nothing about the app.
pub fn quiet_variables(manager: PackageManager) -> &'static [(&'static str, &'static str)] {
    match manager {
        PackageManager::Npm | PackageManager::Pnpm => &[
            ("npm_config_audit", "false"),
            ("npm_config_fund", "false"),
            ("npm_config_update_notifier", "false"),
        ],
        PackageManager::Yarn => &[],
    }
}

/// Whether `package.json` (already valid JSON) has a non-empty `scripts.build`.
pub fn has_build_script(package_json: &serde_json::Value) -> bool {
    package_json
        .pointer("/scripts/build")
        .and_then(|s| s.as_str())
        .is_some_and(|s| !s.trim().is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(steps: Vec<Step>) -> Vec<String> {
        steps.iter().map(Step::line).collect()
    }

    #[test]
    fn npm_installs_from_the_lockfile_builds_and_prunes() {
        assert_eq!(
            lines(steps(PackageManager::Npm, false, true)),
            ["npm ci", "npm run build", "npm prune --omit=dev"]
        );
    }

    #[test]
    fn yarn_classic_and_berry_differ() {
        assert_eq!(
            lines(steps(PackageManager::Yarn, false, false)),
            [
                "yarn install --frozen-lockfile",
                "yarn install --frozen-lockfile --production --ignore-scripts --prefer-offline"
            ]
        );
        assert_eq!(
            lines(steps(PackageManager::Yarn, true, false)),
            [
                "yarn install --immutable",
                "yarn workspaces focus --all --production"
            ]
        );
    }

    #[test]
    fn pnpm_uses_its_frozen_lockfile() {
        assert_eq!(
            lines(steps(PackageManager::Pnpm, false, true)),
            [
                "pnpm install --frozen-lockfile",
                "pnpm run build",
                "pnpm prune --prod"
            ]
        );
    }

    #[test]
    fn npm_neither_audits_nor_checks_for_updates() {
        let vars = quiet_variables(PackageManager::Npm);
        assert!(vars.contains(&("npm_config_audit", "false")));
        assert!(vars.contains(&("npm_config_update_notifier", "false")));
        assert!(quiet_variables(PackageManager::Yarn).is_empty());
    }

    #[test]
    fn the_build_script_must_be_a_non_empty_string() {
        let json = |s: &str| serde_json::from_str::<serde_json::Value>(s).unwrap();
        assert!(has_build_script(&json(r#"{"scripts":{"build":"tsc"}}"#)));
        assert!(!has_build_script(&json(r#"{"scripts":{"build":" "}}"#)));
        assert!(!has_build_script(&json(r#"{"scripts":{}}"#)));
    }
}
