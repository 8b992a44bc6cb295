//! The package manager's commands and environment, as data: a virtualenv in the `venv` layer holding
//! the app's dependencies without dev dependencies, downloads cached in the `cache` layer. uv never
//! downloads a Python (`UV_PYTHON_DOWNLOADS=never`): the build image's is used.

use std::path::Path;

use buildpack_kit::build_command::Step;

use crate::detect::PackageManager;

/// The steps installing the dependencies into the virtualenv `venv`.
pub fn steps(manager: PackageManager, venv: &Path) -> Vec<Step> {
    let venv = venv.to_string_lossy();
    let create = Step::new("python3", &["-m", "venv", venv.as_ref()]);
    match manager {
        PackageManager::Pip => vec![
            create,
            Step::new(
                &format!("{venv}/bin/pip"),
                &["install", "--no-input", "--requirement", "requirements.txt"],
            ),
        ],
        PackageManager::Uv => vec![Step::new("uv", &["sync", "--locked", "--no-dev"])],
        PackageManager::Poetry => vec![
            create,
            Step::new(
                "poetry",
                &["install", "--only", "main", "--no-root", "--no-interaction"],
            ),
        ],
    }
}

/// The environment of those steps.
pub fn env(manager: PackageManager, venv: &Path, cache: &Path) -> Vec<(&'static str, String)> {
    let (venv, cache) = (
        venv.to_string_lossy().into_owned(),
        cache.to_string_lossy().into_owned(),
    );
    match manager {
        PackageManager::Pip => vec![
            ("PIP_CACHE_DIR", cache),
            ("PIP_DISABLE_PIP_VERSION_CHECK", "1".into()),
        ],
        PackageManager::Uv => vec![
            ("UV_CACHE_DIR", cache),
            ("UV_PROJECT_ENVIRONMENT", venv),
            ("UV_PYTHON_DOWNLOADS", "never".into()),
        ],
        PackageManager::Poetry => vec![
            ("POETRY_CACHE_DIR", cache),
            ("VIRTUAL_ENV", venv),
            ("POETRY_VIRTUALENVS_CREATE", "false".into()),
        ],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(manager: PackageManager) -> Vec<String> {
        steps(manager, Path::new("/layers/hoist_python/venv"))
            .iter()
            .map(Step::line)
            .collect()
    }

    #[test]
    fn pip_installs_the_requirements_into_a_venv() {
        assert_eq!(
            lines(PackageManager::Pip),
            [
                "python3 -m venv /layers/hoist_python/venv",
                "/layers/hoist_python/venv/bin/pip install --no-input --requirement requirements.txt"
            ]
        );
    }

    #[test]
    fn uv_and_poetry_leave_dev_dependencies_out() {
        assert_eq!(lines(PackageManager::Uv), ["uv sync --locked --no-dev"]);
        assert_eq!(
            lines(PackageManager::Poetry)[1],
            "poetry install --only main --no-root --no-interaction"
        );
    }

    #[test]
    fn uv_never_downloads_a_python() {
        let env = env(PackageManager::Uv, Path::new("/v"), Path::new("/c"));
        assert!(env.contains(&("UV_PYTHON_DOWNLOADS", "never".into())));
        assert!(env.contains(&("UV_PROJECT_ENVIRONMENT", "/v".into())));
    }
}
