//! No default start command: a Python app can be served by gunicorn, uvicorn, waitress or its own
//! script, and guessing wrong builds an image that exits at once. The Procfile must declare `web`.

use buildpack_kit::{DefaultProcess, Problem};

/// The problem when the Procfile has no `web` process.
pub fn procfile_required() -> Problem {
    Problem::new(
        "no `web` process for this Python app",
        "the Python buildpack has no default start command (gunicorn, uvicorn or a script: only the \
         app knows), and an image without one would exit as soon as it starts",
        "add a `Procfile` with a `web:` line that listens on $PORT, e.g. \
         `web: gunicorn app:app --bind 0.0.0.0:$PORT`",
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
        assert_eq!(default.resolve(None), Err(&procfile_required()));
        let web: Procfile = "web: gunicorn app:app".parse().unwrap();
        assert_eq!(default.resolve(Some(&web)), Ok(None));
        assert!(procfile_required().fix.contains("$PORT"));
    }
}
