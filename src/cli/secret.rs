//! `--secret`: where a build secret comes from, in buildx's syntax (`docker buildx build --secret`,
//! buildx `build/secrets.go` `parseSecret`, BuildKit `session/secrets/secretsprovider/store.go`).
//!
//! A value is one CSV record of `key=value` fields: `id=` (required), `src=`/`source=` (a file), `env=`
//! (an environment variable), `type=file|env` (`type=env,src=VAR` reads the variable VAR). With neither
//! `src=` nor `env=`, BuildKit's store reads the environment variable named like the id when it is set,
//! else the file named like the id; that choice is made here, once. Only names and paths are kept: the
//! value is read when a step mounts the secret, never here, and nothing here can print it.

use std::collections::BTreeSet;
use std::path::PathBuf;

/// One `--secret`: the id a Dockerfile mounts (`RUN --mount=type=secret,id=ID`) and where its value is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SecretSource {
    pub id: String,
    pub source: SecretFrom,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SecretFrom {
    /// A file, relative to the working directory unless absolute.
    File(PathBuf),
    /// An environment variable of the hoist process.
    Env(String),
}

/// What is wrong with one `--secret` value (the caller names the flag and the value).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SecretError(pub String);

/// Reads one `--secret` value; `set_vars` are the names of the environment variables that are set.
pub fn parse(value: &str, set_vars: &BTreeSet<String>) -> Result<SecretSource, SecretError> {
    let mut id = None;
    let mut src = None;
    let mut env = None;
    let mut kind = None;
    for field in csv_fields(value)? {
        let Some((key, v)) = field.split_once('=') else {
            return Err(SecretError(format!(
                "field `{field}` is not a `key=value` pair"
            )));
        };
        let v = Some(v.to_string()).filter(|v| !v.is_empty());
        match key.to_ascii_lowercase().as_str() {
            "id" => id = v,
            "src" | "source" => src = v,
            "env" => env = v,
            "type" => match v.as_deref() {
                Some("file") => kind = Some(Kind::File),
                Some("env") => kind = Some(Kind::Env),
                _ => {
                    return Err(SecretError(format!(
                        "unknown `{field}`: use `type=file` or `type=env`"
                    )));
                }
            },
            other => {
                return Err(SecretError(format!(
                    "unknown key `{other}`: keys are `id`, `src` (`source`), `env` and `type`"
                )));
            }
        }
    }
    let id = id.ok_or_else(|| SecretError("`id=` is missing".into()))?;
    let source = match (kind, src, env) {
        (_, Some(_), Some(_)) => {
            return Err(SecretError(
                "`src=` and `env=` both given: a secret comes from one place".into(),
            ));
        }
        (Some(Kind::File), None, Some(_)) => {
            return Err(SecretError("`type=file` reads `src=`, not `env=`".into()));
        }
        (Some(Kind::Env), Some(var), None) | (_, None, Some(var)) => SecretFrom::Env(var),
        (Some(Kind::File) | None, Some(file), None) => SecretFrom::File(PathBuf::from(file)),
        (Some(Kind::Env), None, None) => SecretFrom::Env(id.clone()),
        (Some(Kind::File), None, None) => SecretFrom::File(PathBuf::from(&id)),
        (None, None, None) if set_vars.contains(&id) => SecretFrom::Env(id.clone()),
        (None, None, None) => SecretFrom::File(PathBuf::from(&id)),
    };
    Ok(SecretSource { id, source })
}

#[derive(Clone, Copy)]
enum Kind {
    File,
    Env,
}

/// One CSV record as Go's `encoding/csv` reads it (as buildx does): fields split at `,`, a field that
/// starts with `"` is quoted (`""` inside is a `"`), a `"` anywhere else is an error.
fn csv_fields(line: &str) -> Result<Vec<String>, SecretError> {
    let bad = || {
        SecretError("not a valid CSV record: quote a whole field that holds `,` (`\"src=a,b\"`) and double every `\"` inside it".into())
    };
    let mut fields = vec![String::new()];
    let mut chars = line.chars().peekable();
    let mut quoted = chars.peek() == Some(&'"');
    if quoted {
        chars.next();
    }
    while let Some(c) = chars.next() {
        let field = fields.last_mut().ok_or_else(bad)?;
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => {
                quoted = false;
                if !matches!(chars.peek(), None | Some(',')) {
                    return Err(bad());
                }
            }
            (true, c) => field.push(c),
            (false, ',') => {
                fields.push(String::new());
                quoted = chars.peek() == Some(&'"');
                if quoted {
                    chars.next();
                }
            }
            (false, '"') => return Err(bad()),
            (false, c) => field.push(c),
        }
    }
    if quoted {
        return Err(bad());
    }
    Ok(fields)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret(value: &str) -> Result<SecretSource, SecretError> {
        parse(value, &BTreeSet::from(["TOKEN".to_string()]))
    }

    fn from(value: &str) -> SecretFrom {
        secret(value).unwrap().source
    }

    #[test]
    fn buildx_forms() {
        assert_eq!(
            secret("id=npm,src=/home/u/.npmrc").unwrap(),
            SecretSource {
                id: "npm".into(),
                source: SecretFrom::File("/home/u/.npmrc".into())
            }
        );
        assert_eq!(
            from("id=npm,source=npmrc"),
            SecretFrom::File("npmrc".into())
        );
        assert_eq!(
            from("id=gh,env=GH_TOKEN"),
            SecretFrom::Env("GH_TOKEN".into())
        );
        assert_eq!(
            from("type=env,id=gh,src=GH_TOKEN"),
            SecretFrom::Env("GH_TOKEN".into())
        );
        assert_eq!(from("id=gh,type=env"), SecretFrom::Env("gh".into()));
        assert_eq!(from("ID=k,TYPE=file"), SecretFrom::File("k".into()));
        assert_eq!(
            from(r#""id=a,b","src=x""y""#),
            SecretFrom::File(r#"x"y"#.into())
        );
    }

    #[test]
    fn id_alone_is_the_variable_when_set_else_the_file() {
        assert_eq!(from("id=TOKEN"), SecretFrom::Env("TOKEN".into()));
        assert_eq!(from("id=token.txt"), SecretFrom::File("token.txt".into()));
    }

    #[test]
    fn errors_say_what_is_wrong() {
        for (value, problem) in [
            ("src=f", "`id=` is missing"),
            ("id=,src=f", "`id=` is missing"),
            ("id=a,file=f", "unknown key `file`"),
            ("id=a,type=ssh", "unknown `type=ssh`"),
            ("id=a,src=f,env=V", "`src=` and `env=` both given"),
            ("id=a,type=file,env=V", "`type=file` reads `src=`"),
            (
                "id=a,readonly",
                "field `readonly` is not a `key=value` pair",
            ),
            ("id=a,src=\"f", "not a valid CSV record"),
            ("id=a,src=x\"y", "not a valid CSV record"),
            ("\"id=a\"x", "not a valid CSV record"),
        ] {
            let e = secret(value).unwrap_err().0;
            assert!(e.starts_with(problem), "{value}: {e}");
        }
    }
}
