//! The default `web` process: the binary the build produced, in the `app` layer's `bin/`, named as
//! `go build` names it. What it runs, for the `PORT` check, is the root `main` package: its first
//! source line that names `PORT` (the binary's path never does).

use std::path::{Path, PathBuf};

use buildpack_kit::{DefaultProcess, Explain, Problem, Process};

use crate::detect::{self, GO_MOD};
use crate::module;

/// `go.mod` without a module path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GoModError {
    pub message: String,
}

impl Explain for GoModError {
    fn explain(&self) -> Problem {
        Problem::new(
            format!(
                "cannot read the module path from `{GO_MOD}`: {}",
                self.message
            ),
            "the binary is named after the module path, as `go build` names it",
            format!(
                "make the first directive of `{GO_MOD}` `module example.com/app` (`go mod init` writes it)"
            ),
        )
    }
}

/// Where the build puts the binary: `<layers>/app/bin/<name>` (`layers` the buildpack's own).
pub fn binary_path(layers: &Path, module_path: &str) -> PathBuf {
    layers
        .join("app/bin")
        .join(module::binary_name(module_path))
}

pub fn default_process(binary: &Path) -> Process {
    Process::web(binary.to_string_lossy())
}

/// The default process of the app in `app`, its binary where the build in `layers` puts it.
pub fn default_process_of(app: &Path, layers: &Path) -> Result<DefaultProcess, GoModError> {
    web_process_of(app, layers).map(DefaultProcess::Command)
}

/// The `web` process of the app in `app`: its binary where the build in `layers` puts it.
pub fn web_process_of(app: &Path, layers: &Path) -> Result<Process, GoModError> {
    let go_mod = std::fs::read_to_string(app.join(GO_MOD)).map_err(|e| GoModError {
        message: e.to_string(),
    })?;
    let module = module::module_path(&go_mod).ok_or_else(|| GoModError {
        message: "there is no `module` directive".to_owned(),
    })?;
    let mut process = default_process(&binary_path(layers, &module));
    process.runs = port_line(app);
    Ok(process)
}

/// The first line of the root `main` package's sources that names `PORT`, trimmed.
fn port_line(app: &Path) -> Option<String> {
    detect::root_packages(app)
        .into_iter()
        .filter(|(_, package)| package.as_deref() == Some("main"))
        .filter_map(|(file, _)| std::fs::read_to_string(app.join(file)).ok())
        .find_map(|text| {
            text.lines()
                .find(|line| line.contains("PORT"))
                .map(|line| line.trim().to_owned())
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_binary_is_named_after_the_module() {
        let layers = Path::new("/layers/hoist_go");
        let binary = binary_path(layers, "example.com/shop/v3");
        assert_eq!(binary, Path::new("/layers/hoist_go/app/bin/shop"));
        assert_eq!(
            default_process(&binary),
            Process::web("/layers/hoist_go/app/bin/shop")
        );
    }

    #[test]
    fn a_main_package_reading_port_is_what_the_binary_runs() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(GO_MOD), "module example.com/web\n").unwrap();
        std::fs::write(
            dir.path().join("main.go"),
            "package main\n\nfunc main() {\n\tserve(\":\" + os.Getenv(\"PORT\"))\n}\n",
        )
        .unwrap();
        let process = web_process_of(dir.path(), Path::new("/l")).unwrap();
        assert_eq!(
            process.runs.as_deref(),
            Some("serve(\":\" + os.Getenv(\"PORT\"))")
        );
        assert_eq!(process.port_warning(), None);

        std::fs::write(
            dir.path().join("main.go"),
            "package main\n\nfunc main() { serve(\":8080\") }\n",
        )
        .unwrap();
        std::fs::write(dir.path().join("main_test.go"), "package main // PORT\n").unwrap();
        let process = web_process_of(dir.path(), Path::new("/l")).unwrap();
        assert!(
            process.port_warning().unwrap().contains("/l/app/bin/web"),
            "{process:?}"
        );
    }

    #[test]
    fn go_mod_without_a_module_line_is_explained() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(GO_MOD), "go 1.22\n").unwrap();
        let err = default_process_of(dir.path(), Path::new("/l")).unwrap_err();
        assert!(
            err.explain()
                .to_string()
                .contains("`module example.com/app`")
        );
    }
}
