//! Credential sources and `hoist login`/`hoist logout`, end to end through the CLI against a real
//! `docker-registry` behind htpasswd (basic auth): `--username` + `--password-stdin`, Docker's
//! `config.json` (`auths`, a `credHelpers` helper script, a `credsStore`), a containers auth file with a
//! per-repository key, and a login stored then erased. skopeo, given the credentials itself, reads back
//! what was pushed. The password never appears in hoist's stdout or stderr.

use std::io::Write as _;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use base64::Engine as _;

use crate::support::{HoistRun, Registry, Sandbox, run_ok, skopeo};

const USER: &str = "hoist-user";
const PASSWORD: &str = "pw-5ecret-9f3a";

/// A basic-auth registry, a build context, and a credential environment of the test's own: an empty
/// `DOCKER_CONFIG` dir and `XDG_RUNTIME_DIR`, no token variables, a `bin` dir first on PATH.
struct World {
    registry: Registry,
    sandbox: Sandbox,
    context: PathBuf,
}

impl World {
    fn new() -> World {
        let registry = Registry::start_with_user(USER, PASSWORD);
        let sandbox = Sandbox::new();
        let context = sandbox.context("scratch");
        for dir in ["docker", "run", "bin"] {
            std::fs::create_dir(sandbox.path(dir)).unwrap();
        }
        World {
            registry,
            sandbox,
            context,
        }
    }

    fn host(&self) -> String {
        self.registry.host()
    }

    fn docker_config(&self) -> PathBuf {
        self.sandbox.path("docker/config.json")
    }

    /// Sets the variables hoist reads credentials from to this world's, and nothing else.
    fn isolate(&self, cmd: &mut Command) {
        let path = format!(
            "{}:{}",
            self.sandbox.path("bin").display(),
            std::env::var("PATH").unwrap_or_default()
        );
        for var in [
            "HOIST_TOKEN",
            "CPLN_TOKEN",
            "DOCKER_AUTH_CONFIG",
            "REGISTRY_AUTH_FILE",
        ] {
            cmd.env_remove(var);
        }
        cmd.env("DOCKER_CONFIG", self.sandbox.path("docker"))
            .env("XDG_RUNTIME_DIR", self.sandbox.path("run"))
            .env("PATH", path);
    }

    /// `hoist build --name HOST/REPO:v1 --push` of the scratch context, with `extra` arguments and
    /// `stdin`.
    fn push(
        &self,
        repo: &str,
        extra: &[&str],
        stdin: Option<&str>,
        env: &[(&str, &Path)],
    ) -> HoistRun {
        let mut cmd = self.sandbox.hoist();
        self.isolate(&mut cmd);
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd.arg("--dir")
            .arg(&self.context)
            .args(["--name", &format!("{}/{repo}:v1", self.host()), "--push"])
            .args(extra);
        with_stdin(cmd, stdin)
    }

    /// `hoist login HOST -u USER --password-stdin` (or `logout HOST`) with `password` on stdin.
    fn hoist(&self, args: &[&str], stdin: Option<&str>) -> HoistRun {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_hoist"));
        self.isolate(&mut cmd);
        cmd.args(args).current_dir(self.sandbox.dir.path());
        with_stdin(cmd, stdin)
    }

    /// The manifest digest skopeo reads for `HOST/REPO:v1`, logging in itself.
    fn pushed_digest(&self, repo: &str) -> String {
        let out = run_ok(skopeo().args([
            "inspect",
            "--tls-verify=false",
            "--creds",
            &format!("{USER}:{PASSWORD}"),
            &format!("docker://{}/{repo}:v1", self.host()),
        ]));
        let info: serde_json::Value = serde_json::from_str(&out).unwrap();
        info["Digest"].as_str().unwrap().to_string()
    }

    /// Writes `docker-credential-hoisttest` into `bin`: it logs each call (`VERB INPUT`) to
    /// `helper-calls` and keeps what `store` gives it in `helper-creds.json`, which `get` prints.
    fn install_helper(&self) {
        let script = format!(
            r#"#!/bin/sh
state={state}
input=$(cat)
echo "$1 $input" >> "$state/helper-calls"
case "$1" in
  get)
    if [ -f "$state/helper-creds.json" ]; then cat "$state/helper-creds.json"
    else echo "credentials not found in native keychain"; exit 1; fi ;;
  store) printf '%s' "$input" > "$state/helper-creds.json" ;;
  erase)
    if [ -f "$state/helper-creds.json" ]; then rm "$state/helper-creds.json"
    else echo "credentials not found in native keychain"; exit 1; fi ;;
  *) echo "unknown verb $1" >&2; exit 2 ;;
esac
"#,
            state = self.sandbox.dir.path().display()
        );
        let file = self.sandbox.path("bin/docker-credential-hoisttest");
        std::fs::write(&file, script).unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o755)).unwrap();
    }

    fn helper_calls(&self) -> String {
        std::fs::read_to_string(self.sandbox.path("helper-calls")).unwrap_or_default()
    }
}

fn with_stdin(mut cmd: Command, stdin: Option<&str>) -> HoistRun {
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("start hoist");
    let mut input = child.stdin.take().unwrap();
    if let Some(text) = stdin {
        input.write_all(text.as_bytes()).unwrap();
    }
    drop(input);
    let out = child.wait_with_output().unwrap();
    let run = HoistRun {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    assert_no_secret(&run);
    run
}

/// The password (and its base64 forms) never appears in what hoist prints.
fn assert_no_secret(run: &HoistRun) {
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    for needle in [
        PASSWORD.to_string(),
        b64(&format!("{USER}:{PASSWORD}")),
        b64(PASSWORD),
    ] {
        assert!(
            !run.stdout.contains(&needle) && !run.stderr.contains(&needle),
            "hoist printed a secret:\nstdout:\n{}\nstderr:\n{}",
            run.stdout,
            run.stderr
        );
    }
}

/// A push refused for want of credentials, with an error that names the registry and how to log in.
fn assert_refused(run: HoistRun, host: &str) {
    let run = run.failed();
    assert!(
        run.stderr
            .contains(&format!("registry `{host}` refused access")),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains(&format!("hoist login {host}")),
        "{}",
        run.stderr
    );
}

fn auth(user: &str, password: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
}

#[test]
fn username_and_password_stdin() {
    let w = World::new();
    let host = w.host();
    assert_refused(w.push("team/app", &[], None, &[]), &host);

    let run = w
        .push(
            "team/app",
            &["--username", USER, "--password-stdin"],
            Some(&format!("{PASSWORD}\n")),
            &[],
        )
        .ok();
    let (name, digest) = run.line().split_once('@').unwrap();
    assert_eq!(name, format!("{host}/team/app:v1"));
    assert_eq!(w.pushed_digest("team/app"), digest);

    // A wrong password is refused, and the error says which credentials were used.
    let run = w
        .push(
            "team/app",
            &["--username", USER, "--password-stdin"],
            Some("wrong-password"),
            &[],
        )
        .failed();
    assert!(
        run.stderr.contains("`--username`/`--password-stdin`"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("wrong-password"), "{}", run.stderr);
}

#[test]
fn docker_config_auths() {
    let w = World::new();
    let host = w.host();
    std::fs::write(
        w.docker_config(),
        serde_json::json!({"auths": {&host: {"auth": auth(USER, PASSWORD)}}}).to_string(),
    )
    .unwrap();
    let run = w.push("app", &[], None, &[]).ok();
    assert_eq!(
        run.line().split_once('@').unwrap().1,
        w.pushed_digest("app")
    );

    // The same through DOCKER_AUTH_CONFIG, with no file.
    std::fs::remove_file(w.docker_config()).unwrap();
    let mut cmd = w.sandbox.hoist();
    w.isolate(&mut cmd);
    cmd.env(
        "DOCKER_AUTH_CONFIG",
        serde_json::json!({"auths": {&host: {"username": USER, "password": PASSWORD}}}).to_string(),
    )
    .arg("--dir")
    .arg(&w.context)
    .args(["--name", &format!("{host}/env/app:v1"), "--push"]);
    with_stdin(cmd, None).ok();
    w.pushed_digest("env/app");
}

#[test]
fn credential_helper_for_the_host() {
    let w = World::new();
    let host = w.host();
    w.install_helper();
    std::fs::write(
        w.sandbox.path("helper-creds.json"),
        serde_json::json!({"ServerURL": &host, "Username": USER, "Secret": PASSWORD}).to_string(),
    )
    .unwrap();
    std::fs::write(
        w.docker_config(),
        serde_json::json!({"credHelpers": {&host: "hoisttest"}}).to_string(),
    )
    .unwrap();
    let run = w.push("helped/app", &[], None, &[]).ok();
    assert_eq!(
        run.line().split_once('@').unwrap().1,
        w.pushed_digest("helped/app")
    );
    let calls = w.helper_calls();
    assert!(calls.contains(&format!("get {host}")), "{calls}");
    // Resolved once per repository, not once per request.
    assert_eq!(calls.lines().count(), 1, "{calls}");

    // A helper that fails is an error naming it.
    std::fs::write(
        w.sandbox.path("bin/docker-credential-broken"),
        "#!/bin/sh\necho 'keychain locked' >&2\nexit 4\n",
    )
    .unwrap();
    std::fs::set_permissions(
        w.sandbox.path("bin/docker-credential-broken"),
        std::fs::Permissions::from_mode(0o755),
    )
    .unwrap();
    std::fs::write(
        w.docker_config(),
        serde_json::json!({"credHelpers": {&host: "broken"}}).to_string(),
    )
    .unwrap();
    let run = w.push("helped/app", &[], None, &[]).failed();
    assert!(
        run.stderr.contains("docker-credential-broken") && run.stderr.contains("keychain locked"),
        "{}",
        run.stderr
    );
}

#[test]
fn containers_auth_file_with_a_repository_key() {
    let w = World::new();
    let host = w.host();
    let file = w.sandbox.path("auth.json");
    std::fs::write(
        &file,
        serde_json::json!({"auths": {format!("{host}/team/app"): {"auth": auth(USER, PASSWORD)}}})
            .to_string(),
    )
    .unwrap();
    let env = [("REGISTRY_AUTH_FILE", file.as_path())];
    let run = w.push("team/app", &[], None, &env).ok();
    assert_eq!(
        run.line().split_once('@').unwrap().1,
        w.pushed_digest("team/app")
    );
    // The key is for `team/app` only.
    assert_refused(w.push("team/other", &[], None, &env), &host);

    // The default place: $XDG_RUNTIME_DIR/containers/auth.json, here keyed by the host.
    std::fs::create_dir(w.sandbox.path("run/containers")).unwrap();
    std::fs::write(
        w.sandbox.path("run/containers/auth.json"),
        serde_json::json!({"auths": {&host: {"auth": auth(USER, PASSWORD)}}}).to_string(),
    )
    .unwrap();
    w.push("team/other", &[], None, &[]).ok();
}

#[test]
fn login_push_logout() {
    let w = World::new();
    let host = w.host();
    let login = ["login", host.as_str(), "-u", USER, "--password-stdin"];

    // Wrong credentials: a clear error, and nothing written.
    let run = w.hoist(&login, Some("not-the-password\n")).failed();
    assert!(
        run.stderr
            .contains(&format!("registry `{host}` refused the login of `{USER}`")),
        "{}",
        run.stderr
    );
    assert!(!w.docker_config().exists());

    // A fresh directory: created 0700, the file 0600, the entry as `docker login` writes it.
    std::fs::remove_dir(w.sandbox.path("docker")).unwrap();
    let run = w.hoist(&login, Some(&format!("{PASSWORD}\n"))).ok();
    assert!(run.stdout.is_empty(), "{}", run.stdout);
    assert!(
        run.stderr.contains(&format!("logged in to `{host}`")),
        "{}",
        run.stderr
    );
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&w.sandbox.path("docker")), 0o700);
    assert_eq!(mode(&w.docker_config()), 0o600);
    let config: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(w.docker_config()).unwrap()).unwrap();
    assert_eq!(config["auths"][&host]["auth"], auth(USER, PASSWORD));

    // Push with nothing but the stored login.
    let run = w.push("app", &[], None, &[]).ok();
    assert_eq!(
        run.line().split_once('@').unwrap().1,
        w.pushed_digest("app")
    );

    // Logout keeps the rest of the file; pushing is refused again.
    let mut config = config;
    config["HttpHeaders"] = serde_json::json!({"X-Team": "hoist"});
    std::fs::write(w.docker_config(), config.to_string()).unwrap();
    let run = w.hoist(&["logout", &host], None).ok();
    assert!(
        run.stderr.contains(&format!("logged out of `{host}`")),
        "{}",
        run.stderr
    );
    let config: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(w.docker_config()).unwrap()).unwrap();
    assert!(config["auths"].get(&host).is_none(), "{config}");
    assert_eq!(config["HttpHeaders"]["X-Team"], "hoist");
    assert_refused(w.push("app", &[], None, &[]), &host);
    let run = w.hoist(&["logout", &host], None).ok();
    assert!(run.stderr.contains("not logged in"), "{}", run.stderr);

    // Without --password-stdin there is no password to read.
    let run = w.hoist(&["login", &host], None).failed();
    assert!(run.stderr.contains("--password-stdin"), "{}", run.stderr);
}

#[test]
fn login_through_a_creds_store() {
    let w = World::new();
    let host = w.host();
    w.install_helper();
    std::fs::write(
        w.docker_config(),
        serde_json::json!({"credsStore": "hoisttest", "auths": {}}).to_string(),
    )
    .unwrap();
    w.hoist(
        &["login", &host, "-u", USER, "--password-stdin"],
        Some(PASSWORD),
    )
    .ok();
    // The helper holds the secret; config.json only lists the registry.
    let config = std::fs::read_to_string(w.docker_config()).unwrap();
    assert!(!config.contains(&auth(USER, PASSWORD)), "{config}");
    let config: serde_json::Value = serde_json::from_str(&config).unwrap();
    assert_eq!(config["auths"][&host], serde_json::json!({}));
    assert_eq!(config["credsStore"], "hoisttest");
    let stored: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(w.sandbox.path("helper-creds.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(
        stored,
        serde_json::json!({"ServerURL": &host, "Username": USER, "Secret": PASSWORD})
    );

    w.push("stored/app", &[], None, &[]).ok();
    w.pushed_digest("stored/app");

    w.hoist(&["logout", &host], None).ok();
    assert!(!w.sandbox.path("helper-creds.json").exists());
    let calls = w.helper_calls();
    let verbs: Vec<&str> = calls
        .lines()
        .map(|l| l.split(' ').next().unwrap())
        .collect();
    assert_eq!(verbs, ["store", "get", "erase"], "{calls}");
    // The helper now has nothing: anonymous, refused.
    assert_refused(w.push("stored/app", &[], None, &[]), &host);
}

#[test]
fn identity_token_and_a_private_base_image() {
    let w = World::new();
    let host = w.host();
    // First a base image, pushed with --password-stdin.
    w.push(
        "base",
        &["--username", USER, "--password-stdin"],
        Some(PASSWORD),
        &[],
    )
    .ok();
    // An `identitytoken` entry (its `auth` names the user only). This registry's challenge is Basic, so
    // the token goes as the password; the pull of the base image answers the challenge ahead of time.
    std::fs::write(
        w.docker_config(),
        serde_json::json!({"auths": {&host: {"auth": auth(USER, ""), "identitytoken": PASSWORD}}})
            .to_string(),
    )
    .unwrap();
    let context = w.sandbox.path("derived");
    std::fs::create_dir(&context).unwrap();
    std::fs::write(context.join("extra.txt"), "extra\n").unwrap();
    std::fs::write(
        context.join("Dockerfile"),
        format!("FROM {host}/base:v1\nCOPY extra.txt /extra.txt\n"),
    )
    .unwrap();
    let mut cmd = w.sandbox.hoist();
    w.isolate(&mut cmd);
    cmd.arg("--dir")
        .arg(&context)
        .args(["--name", &format!("{host}/derived:v1"), "--push"]);
    let run = with_stdin(cmd, None).ok();
    assert_eq!(
        run.line().split_once('@').unwrap().1,
        w.pushed_digest("derived")
    );
}
