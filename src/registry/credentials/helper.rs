//! Credential helpers (the docker-credential-helpers protocol, docker-cli
//! `cli/config/credentials/native_store.go`): `docker-credential-NAME get|store|erase`, the server URL
//! or a JSON object on stdin, `{"ServerURL","Username","Secret"}` on stdout. "credentials not found"
//! (on stdout or stderr, with a non-zero exit) means the helper has nothing for that server. Each call
//! runs under a timeout; its stderr appears in errors with the secret (when hoist knows it) removed.

use std::ffi::OsStr;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use tokio::io::AsyncWriteExt as _;

use super::{CredentialError, Credentials, Secret, TOKEN_USER};

/// How long a helper may take to answer.
pub const TIMEOUT: Duration = Duration::from_secs(10);

/// The program a helper name stands for.
pub fn program(name: &str) -> String {
    format!("docker-credential-{name}")
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Answer {
    #[serde(default)]
    username: String,
    #[serde(default)]
    secret: String,
}

/// Asks helper `name` for the credentials of `server`. `None` when it has none. A username of
/// `<token>` marks an identity token (docker-cli's convention); it is still sent as a password where
/// the registry asks for Basic auth, which is what Control Plane's registry expects.
pub async fn get(
    path: Option<&OsStr>,
    name: &str,
    server: &str,
) -> Result<Option<Credentials>, CredentialError> {
    let Some(out) = run(path, name, "get", server, server.as_bytes(), None).await? else {
        return Ok(None);
    };
    let answer: Answer =
        serde_json::from_slice(&out).map_err(|e| CredentialError::Helper {
            program: program(name),
            verb: "get",
            server: server.to_string(),
            reason: format!(
                "its answer is not the JSON object `{{\"ServerURL\",\"Username\",\"Secret\"}}` (line {}, column {})",
                e.line(),
                e.column()
            ),
        })?;
    if answer.secret.is_empty() {
        return Ok(None);
    }
    Ok(Some(if answer.username == TOKEN_USER {
        Credentials {
            username: answer.username,
            secret: Secret::IdentityToken(answer.secret),
        }
    } else {
        Credentials {
            username: answer.username,
            secret: Secret::Password(answer.secret),
        }
    }))
}

/// Stores `credentials` for `server` through helper `name`.
pub async fn store(
    path: Option<&OsStr>,
    name: &str,
    server: &str,
    credentials: &Credentials,
) -> Result<(), CredentialError> {
    let input = serde_json::json!({
        "ServerURL": server,
        "Username": credentials.username,
        "Secret": credentials.secret.expose(),
    })
    .to_string();
    let secret = credentials.secret.expose();
    run(path, name, "store", server, input.as_bytes(), Some(secret))
        .await?
        .map(|_| ())
        .ok_or_else(|| CredentialError::Helper {
            program: program(name),
            verb: "store",
            server: server.to_string(),
            reason: "it answered \"credentials not found\"".into(),
        })
}

/// Erases what helper `name` holds for `server`; false when it held nothing.
pub async fn erase(
    path: Option<&OsStr>,
    name: &str,
    server: &str,
) -> Result<bool, CredentialError> {
    Ok(run(path, name, "erase", server, server.as_bytes(), None)
        .await?
        .is_some())
}

/// Runs `docker-credential-NAME VERB` with `input` on stdin. `Ok(None)`: "credentials not found".
async fn run(
    path: Option<&OsStr>,
    name: &str,
    verb: &'static str,
    server: &str,
    input: &[u8],
    secret: Option<&str>,
) -> Result<Option<Vec<u8>>, CredentialError> {
    let program = program(name);
    let failed = |reason: String| CredentialError::Helper {
        program: program.clone(),
        verb,
        server: server.to_string(),
        reason,
    };
    let binary = find(path, &program).ok_or_else(|| CredentialError::HelperMissing {
        program: program.clone(),
    })?;
    let mut child = tokio::process::Command::new(&binary)
        .arg(verb)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| failed(format!("cannot start `{}`: {e}", binary.display())))?;
    let mut stdin = child.stdin.take().expect("stdin is piped");
    let input = input.to_vec();
    let feed = async move {
        // A helper that exits without reading its stdin is not an error here; its exit status is.
        let _ = stdin.write_all(&input).await;
        drop(stdin);
    };
    let (_, output) = tokio::time::timeout(TIMEOUT, async {
        tokio::join!(feed, child.wait_with_output())
    })
    .await
    .map_err(|_| CredentialError::HelperTimeout {
        program: program.clone(),
        verb,
        server: server.to_string(),
        seconds: TIMEOUT.as_secs(),
    })?;
    let output = output.map_err(|e| failed(format!("cannot run it: {e}")))?;
    if output.status.success() {
        return Ok(Some(output.stdout));
    }
    let said = |bytes: &[u8]| String::from_utf8_lossy(bytes).trim().to_string();
    let (stdout, stderr) = (said(&output.stdout), said(&output.stderr));
    if [&stdout, &stderr]
        .iter()
        .any(|s| s.to_ascii_lowercase().contains("credentials not found"))
    {
        return Ok(None);
    }
    // Helpers report errors on stdout (docker-credential-helpers) or stderr (others).
    let mut message = [stderr, stdout]
        .into_iter()
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join("; ");
    if let Some(secret) = secret.filter(|s| !s.is_empty()) {
        message = message.replace(secret, "<redacted>");
    }
    let mut message: String = message.chars().take(400).collect();
    if message.is_empty() {
        message = "no message".into();
    }
    Err(failed(format!(
        "it exited with {}: {message}",
        output.status
    )))
}

/// `program` in one of the directories of `path`.
fn find(path: Option<&OsStr>, program: &str) -> Option<PathBuf> {
    if program.contains('/') {
        return None;
    }
    std::env::split_paths(path?)
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt as _;

    /// A helper script named `docker-credential-NAME` in a new directory, returned as a PATH.
    fn helper(dir: &std::path::Path, name: &str, body: &str) -> std::ffi::OsString {
        let file = dir.join(program(name));
        std::fs::write(&file, format!("#!/bin/sh\n{body}\n")).unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o755)).unwrap();
        dir.as_os_str().to_os_string()
    }

    #[tokio::test]
    async fn get_store_erase_and_not_found() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("log");
        let path = helper(
            dir.path(),
            "t",
            &format!(
                r#"input=$(cat); echo "$1 $input" >> {log}
case "$1:$input" in
  get:reg.example) echo '{{"ServerURL":"reg.example","Username":"u","Secret":"hunter2"}}' ;;
  get:tok.example) echo '{{"ServerURL":"tok.example","Username":"<token>","Secret":"refresh"}}' ;;
  get:*) echo "credentials not found in native keychain"; exit 1 ;;
  store:*) echo "boom: $input" >&2; exit 3 ;;
  erase:*) exit 0 ;;
esac"#,
                log = log.display()
            ),
        );
        let p = Some(path.as_os_str());
        let got = get(p, "t", "reg.example").await.unwrap().unwrap();
        assert_eq!(got, Credentials::password("u", "hunter2"));
        let token = get(p, "t", "tok.example").await.unwrap().unwrap();
        assert_eq!(token.secret, Secret::IdentityToken("refresh".into()));
        assert_eq!(get(p, "t", "other.example").await.unwrap(), None);
        assert!(erase(p, "t", "reg.example").await.unwrap());

        let err = store(p, "t", "reg.example", &Credentials::password("u", "s3cret"))
            .await
            .unwrap_err()
            .to_string();
        assert!(err.contains("docker-credential-t"), "{err}");
        assert!(err.contains("boom"), "{err}");
        assert!(!err.contains("s3cret"), "{err}");
        let log = std::fs::read_to_string(&log).unwrap();
        assert!(log.contains("get reg.example"), "{log}");
        assert!(log.contains("store {"), "{log}");
        assert!(log.contains(r#""ServerURL":"reg.example""#), "{log}");

        let err = get(p, "missing", "reg.example").await.unwrap_err();
        assert!(
            matches!(err, CredentialError::HelperMissing { .. }),
            "{err}"
        );
    }

    #[tokio::test]
    async fn a_broken_answer_names_the_helper() {
        let dir = tempfile::tempdir().unwrap();
        let path = helper(dir.path(), "bad", "echo 'not json s3cret'");
        let err = get(Some(path.as_os_str()), "bad", "reg.example")
            .await
            .unwrap_err()
            .to_string();
        assert!(err.contains("docker-credential-bad"), "{err}");
        assert!(!err.contains("s3cret"), "{err}");
    }
}
