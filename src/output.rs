//! The only printer. Progress and logs go to stderr (a bar on a terminal, plain lines otherwise, JSON
//! lines on request); data (the pushed `NAME@DIGEST`, or the digest) goes to stdout.

use std::io::{IsTerminal, Write};
use std::sync::Mutex;

use crate::cli::ProgressMode;
use crate::progress::{Event, Reporter};

/// Renders progress events on stderr.
pub struct Printer {
    mode: Resolved,
    lock: Mutex<()>,
    /// On a terminal: one status line with a spinner and byte counts, log lines printed above it.
    bar: Option<indicatif::ProgressBar>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Resolved {
    Tty,
    Plain,
    Json,
}

impl Printer {
    pub fn new(mode: ProgressMode) -> Printer {
        let mode = match mode {
            ProgressMode::Json => Resolved::Json,
            ProgressMode::Plain => Resolved::Plain,
            ProgressMode::Auto
                if std::io::stderr().is_terminal() && std::env::var_os("CI").is_none() =>
            {
                Resolved::Tty
            }
            ProgressMode::Auto => Resolved::Plain,
        };
        let bar = (mode == Resolved::Tty).then(|| {
            let bar = indicatif::ProgressBar::new_spinner();
            bar.set_style(
                indicatif::ProgressStyle::with_template("{spinner} {elapsed:>4} {msg}")
                    .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
            );
            bar.enable_steady_tick(std::time::Duration::from_millis(120));
            bar
        });
        Printer {
            mode,
            lock: Mutex::new(()),
            bar,
        }
    }

    /// Clears the status line (call before printing results).
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }

    /// Prints an error (with its causes) the way every hoist error is shown.
    pub fn error(&self, err: &anyhow::Error) {
        self.finish();
        let _guard = self.lock.lock();
        let mut text = format!("error: {err}");
        for cause in err.chain().skip(1) {
            text.push_str(&format!("\n  caused by: {cause}"));
        }
        if self.mode == Resolved::Json {
            let line = serde_json::json!({"event": "error", "message": text});
            eprintln!("{line}");
        } else {
            eprintln!("{text}");
        }
    }
}

impl Reporter for Printer {
    fn report(&self, event: Event) {
        let _guard = self.lock.lock();
        if let Some(bar) = &self.bar {
            match (&event, plain_line(&event)) {
                (
                    Event::Blob {
                        verb,
                        digest,
                        done,
                        total,
                    },
                    _,
                ) => bar.set_message(match total {
                    Some(t) => format!("{verb} {} {} / {}", short(digest), human(*done), human(*t)),
                    None => format!("{verb} {} {}", short(digest), human(*done)),
                }),
                (Event::Step { .. } | Event::Stage { .. }, Some(line)) => {
                    bar.println(&line);
                    bar.set_message(line);
                }
                (_, Some(line)) => bar.println(line),
                (_, None) => {}
            }
            return;
        }
        let mut err = std::io::stderr().lock();
        let _ = match self.mode {
            Resolved::Json => {
                writeln!(err, "{}", serde_json::to_string(&event).unwrap_or_default())
            }
            Resolved::Tty | Resolved::Plain => match plain_line(&event) {
                Some(line) => writeln!(err, "{line}"),
                None => Ok(()),
            },
        };
    }
}

fn plain_line(event: &Event) -> Option<String> {
    Some(match event {
        Event::Stage {
            index,
            total,
            name,
            base,
        } => format!("[{index}/{total}] stage {name} FROM {base}"),
        Event::Step {
            stage,
            index,
            total,
            text,
        } => format!("[{stage} {index}/{total}] {text}"),
        Event::StepOutput { stage, line } => format!("[{stage}] {line}"),
        Event::Layer { digest, size, .. } => format!("layer {} ({})", short(digest), human(*size)),
        Event::Resolve { reference } => format!("resolving {reference}"),
        Event::Blob {
            total: Some(t),
            done,
            ..
        } if done < t => return None,
        Event::Blob {
            verb, digest, done, ..
        } => format!("{verb}ed {} ({})", short(digest), human(*done)),
        Event::BlobSkipped {
            verb,
            digest,
            reason,
        } => format!("{verb} {} skipped: {reason}", short(digest)),
        Event::Checked {
            files,
            binaries,
            layers,
            scanned,
            cached,
            skipped,
        } => {
            let mut line = format!(
                "checked {} ({}) in {}: {scanned} read, {cached} from the verdict cache",
                count(*files, "file", "files"),
                count(*binaries, "ELF binary", "ELF binaries"),
                count(*layers, "layer", "layers"),
            );
            if *skipped > 0 {
                line.push_str(&format!(", {skipped} not readable (zstd)"));
            }
            line
        }
        Event::Exported {
            destination,
            digest,
        } => format!("wrote {destination} {digest}"),
        Event::Warning { message } => format!("warning: {message}"),
        Event::Check {
            rule,
            message,
            location,
        } => format!("WARN: {rule}: {message} ({location})"),
        Event::Retry {
            host,
            request,
            reason,
            attempt,
            attempts,
            wait_ms,
        } => format!(
            "retrying `{request}` on `{host}` in {:.1} s: {reason} (attempt {attempt} of {attempts})",
            *wait_ms as f64 / 1000.0
        ),
        Event::Info { message } => message.clone(),
    })
}

fn count(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

fn short(digest: &str) -> &str {
    let hex = digest.strip_prefix("sha256:").unwrap_or(digest);
    &hex[..hex.len().min(12)]
}

fn human(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["B", "KiB", "MiB", "GiB"];
    let mut v = bytes as f64;
    let mut unit = 0;
    while v >= 1024.0 && unit < UNITS.len() - 1 {
        v /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{v:.1} {}", UNITS[unit])
    }
}
