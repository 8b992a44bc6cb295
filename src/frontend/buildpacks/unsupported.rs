//! Languages the default builder has no buildpack for, recognised so that hoist can say so by name
//! instead of "nothing detected": Rust (`Cargo.toml`) and .NET (project or solution files).

use std::path::Path;

/// A language without a buildpack in the default builder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Language {
    Rust,
    Dotnet,
}

impl Language {
    pub fn name(self) -> &'static str {
        match self {
            Language::Rust => "Rust",
            Language::Dotnet => ".NET",
        }
    }

    /// Whether a root file name marks this language.
    fn marks(self, file: &str) -> bool {
        match self {
            Language::Rust => file == "Cargo.toml",
            Language::Dotnet => [".csproj", ".fsproj", ".vbproj", ".sln"]
                .iter()
                .any(|ext| file.len() > ext.len() && file.ends_with(ext)),
        }
    }
}

/// The unsupported languages found in `app`'s root, each with the first file (by name) that marks it.
pub fn found(app: &Path) -> Vec<(Language, String)> {
    let mut files: Vec<String> = std::fs::read_dir(app)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|entry| entry.path().is_file())
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    [Language::Rust, Language::Dotnet]
        .into_iter()
        .filter_map(|language| {
            files
                .iter()
                .find(|file| language.marks(file))
                .map(|file| (language, file.clone()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rust_and_dotnet_are_named_by_their_files() {
        let dir = tempfile::tempdir().unwrap();
        for file in ["Cargo.toml", "Web.sln", "Web.csproj", "README.md"] {
            std::fs::write(dir.path().join(file), "").unwrap();
        }
        assert_eq!(
            found(dir.path()),
            [
                (Language::Rust, "Cargo.toml".to_owned()),
                (Language::Dotnet, "Web.csproj".to_owned())
            ]
        );
        assert!(!Language::Dotnet.marks(".sln"));
    }
}
