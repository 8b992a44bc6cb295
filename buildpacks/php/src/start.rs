//! No default start command: a PHP app can be served by PHP's built-in server, php-fpm behind a web
//! server, or a framework's own, and guessing wrong builds an image that exits at once. The Procfile
//! must declare `web`.

use buildpack_kit::{DefaultProcess, Problem};

/// The problem when the Procfile has no `web` process.
pub fn procfile_required() -> Problem {
    Problem::new(
        "no `web` process for this PHP app",
        "the PHP buildpack has no default start command (the built-in server, php-fpm or a \
         framework's: only the app knows), and an image without one would exit as soon as it starts",
        "add a `Procfile` with a `web:` line that listens on $PORT, e.g. \
         `web: php -S 0.0.0.0:$PORT -t public`",
    )
}

pub fn default_process() -> DefaultProcess {
    DefaultProcess::ProcfileRequired(procfile_required())
}

#[cfg(test)]
mod tests {
    use super::*;
    use buildpack_kit::Procfile;

    #[test]
    fn a_procfile_web_line_is_required() {
        let default = default_process();
        let worker: Procfile = "worker: php artisan queue:work".parse().unwrap();
        assert_eq!(default.resolve(Some(&worker)), Err(&procfile_required()));
        let web: Procfile = "web: php -S 0.0.0.0:$PORT".parse().unwrap();
        assert_eq!(default.resolve(Some(&web)), Ok(None));
    }
}
