//! `hoist prune` requests: what goes (garbage, the least recently used beyond `--keep-storage SIZE`,
//! or everything), with SIZE read once here.

use std::path::PathBuf;
use std::str::FromStr;

use super::args::PruneArgs;
use super::request::{self, Environment, RequestError};

/// A number of bytes: `10GB`, `500MiB`, `1.5G`, `4096`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct ByteSize(pub u64);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error(
    "--keep-storage `{value}` is not a size: {problem}\nhint: write bytes (`1073741824`) or a number with a unit: kB, MB, GB, TB (powers of 1000), KiB, MiB, GiB, TiB or K, M, G, T (powers of 1024), e.g. `10GB` or `500MiB`"
)]
pub struct SizeError {
    pub value: String,
    pub problem: &'static str,
}

impl FromStr for ByteSize {
    type Err = SizeError;

    fn from_str(value: &str) -> Result<ByteSize, SizeError> {
        let error = |problem| SizeError {
            value: value.to_string(),
            problem,
        };
        let text = value.trim();
        let split = text
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(text.len());
        let (number, unit) = text.split_at(split);
        if number.is_empty() {
            return Err(error("it does not start with a number"));
        }
        let factor: u64 = match unit.trim().to_ascii_lowercase().as_str() {
            "" | "b" => 1,
            "kb" => 1000,
            "mb" => 1000_u64.pow(2),
            "gb" => 1000_u64.pow(3),
            "tb" => 1000_u64.pow(4),
            "k" | "kib" => 1 << 10,
            "m" | "mib" => 1 << 20,
            "g" | "gib" => 1 << 30,
            "t" | "tib" => 1 << 40,
            _ => return Err(error("unknown unit")),
        };
        let bytes = match number.split_once('.') {
            None => number
                .parse::<u64>()
                .ok()
                .and_then(|n| n.checked_mul(factor)),
            Some((whole, fraction)) => {
                let parsed: Option<f64> = format!("{whole}.{fraction}").parse().ok();
                parsed
                    .map(|n| n * factor as f64)
                    .filter(|b| b.is_finite() && *b < u64::MAX as f64)
                    .map(|b| b.round() as u64)
            }
        };
        bytes
            .map(ByteSize)
            .ok_or_else(|| error("too large or malformed"))
    }
}

/// Binary units with one decimal, as `du -h` shows them: `512 B`, `1.5 KiB`, `10.0 GiB`.
impl std::fmt::Display for ByteSize {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        const UNITS: [&str; 5] = ["KiB", "MiB", "GiB", "TiB", "PiB"];
        if self.0 < 1024 {
            return write!(f, "{} B", self.0);
        }
        let mut value = self.0 as f64 / 1024.0;
        let mut unit = 0;
        while value >= 1024.0 && unit + 1 < UNITS.len() {
            value /= 1024.0;
            unit += 1;
        }
        write!(f, "{value:.1} {}", UNITS[unit])
    }
}

/// What a prune removes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PruneScope {
    /// What no build can use.
    Garbage,
    /// That, then the least recently used until the cache takes at most this.
    KeepStorage(ByteSize),
    /// Everything.
    All,
}

#[derive(Clone, Debug)]
pub struct PruneRequest {
    pub cache_dir: PathBuf,
    pub scope: PruneScope,
    pub dry_run: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum PruneRequestError {
    #[error(transparent)]
    Size(#[from] SizeError),
    #[error(transparent)]
    Request(#[from] RequestError),
}

impl PruneRequest {
    pub fn from_args(
        args: PruneArgs,
        env: &Environment,
    ) -> Result<PruneRequest, PruneRequestError> {
        let scope = match (args.all, &args.keep_storage) {
            (true, _) => PruneScope::All,
            (false, Some(size)) => PruneScope::KeepStorage(size.parse()?),
            (false, None) => PruneScope::Garbage,
        };
        Ok(PruneRequest {
            cache_dir: request::cache_dir(args.cache_dir, env)?,
            scope,
            dry_run: args.dry_run,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn size(s: &str) -> Result<u64, SizeError> {
        s.parse::<ByteSize>().map(|b| b.0)
    }

    #[test]
    fn sizes_in_bytes_si_and_binary_units() {
        assert_eq!(size("0"), Ok(0));
        assert_eq!(size("4096"), Ok(4096));
        assert_eq!(size("512b"), Ok(512));
        assert_eq!(size("10GB"), Ok(10_000_000_000));
        assert_eq!(size("10gb"), Ok(10_000_000_000));
        assert_eq!(size("2kB"), Ok(2000));
        assert_eq!(size("3MB"), Ok(3_000_000));
        assert_eq!(size("1TB"), Ok(1_000_000_000_000));
        assert_eq!(size("500MiB"), Ok(500 << 20));
        assert_eq!(size("1KiB"), Ok(1024));
        assert_eq!(size("2GiB"), Ok(2 << 30));
        assert_eq!(size("1TiB"), Ok(1 << 40));
        // docker's single letters are binary.
        assert_eq!(size("512m"), Ok(512 << 20));
        assert_eq!(size("1g"), Ok(1 << 30));
        assert_eq!(size("8k"), Ok(8192));
        assert_eq!(size("1.5GiB"), Ok(3 << 29));
        assert_eq!(size("0.5kB"), Ok(500));
        assert_eq!(size(" 10 GB "), Ok(10_000_000_000));
    }

    #[test]
    fn bad_sizes_say_what_to_write() {
        for (bad, problem) in [
            ("", "it does not start with a number"),
            ("GB", "it does not start with a number"),
            ("-1GB", "it does not start with a number"),
            ("10XB", "unknown unit"),
            ("10 G B", "unknown unit"),
            ("1.2.3", "too large or malformed"),
            ("99999999999999999999", "too large or malformed"),
            ("20000000TiB", "too large or malformed"),
        ] {
            let err = bad.parse::<ByteSize>().unwrap_err();
            assert_eq!(err.problem, problem, "{bad}");
            let text = err.to_string();
            assert!(text.contains(&format!("`{bad}`")), "{text}");
            assert!(text.contains("hint:") && text.contains("500MiB"), "{text}");
        }
    }

    #[test]
    fn sizes_are_shown_in_binary_units() {
        assert_eq!(ByteSize(0).to_string(), "0 B");
        assert_eq!(ByteSize(1023).to_string(), "1023 B");
        assert_eq!(ByteSize(1536).to_string(), "1.5 KiB");
        assert_eq!(ByteSize(10 << 30).to_string(), "10.0 GiB");
    }

    fn args(extra: &[&str]) -> PruneArgs {
        use clap::Parser;
        let cli = crate::cli::Cli::try_parse_from(["hoist", "prune"].iter().chain(extra)).unwrap();
        match cli.command {
            crate::cli::Command::Prune(args) => args,
            other => panic!("{other:?}"),
        }
    }

    fn env() -> Environment {
        Environment {
            home: Some(PathBuf::from("/home/u")),
            ..Environment::default()
        }
    }

    #[test]
    fn requests() {
        let r = PruneRequest::from_args(args(&[]), &env()).unwrap();
        assert_eq!(
            (r.scope, r.dry_run, r.cache_dir),
            (
                PruneScope::Garbage,
                false,
                PathBuf::from("/home/u/.cache/hoist")
            )
        );
        let r = PruneRequest::from_args(
            args(&["--keep-storage", "1GB", "--dry-run", "--cache-dir", "/c"]),
            &env(),
        )
        .unwrap();
        assert_eq!(
            (r.scope, r.dry_run, r.cache_dir),
            (
                PruneScope::KeepStorage(ByteSize(1_000_000_000)),
                true,
                PathBuf::from("/c")
            )
        );
        let r = PruneRequest::from_args(args(&["--all"]), &env()).unwrap();
        assert_eq!(r.scope, PruneScope::All);
        let err = PruneRequest::from_args(args(&["--keep-storage", "lots"]), &env()).unwrap_err();
        assert!(err.to_string().contains("--keep-storage `lots`"), "{err}");
        use clap::Parser;
        assert!(
            crate::cli::Cli::try_parse_from(["hoist", "prune", "--all", "--keep-storage", "1G"])
                .is_err(),
            "--all and --keep-storage exclude each other"
        );
    }
}
