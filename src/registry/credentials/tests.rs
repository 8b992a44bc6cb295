//! The resolution order, source by source, and the hosts each source is kept to.

use std::path::Path;

use super::*;

/// A home with `~/.docker/config.json` and a containers auth file, each holding a login for
/// `reg.example` and `hub` (Docker Hub); both tokens set; `reg.example` is the push destination.
struct World {
    dir: tempfile::TempDir,
}

impl World {
    fn new() -> World {
        let dir = tempfile::tempdir().unwrap();
        let docker = dir.path().join("home/.docker");
        std::fs::create_dir_all(&docker).unwrap();
        std::fs::write(
            docker.join("config.json"),
            r#"{"auths":{"reg.example":{"username":"docker-user","password":"d"},
                "https://index.docker.io/v1/":{"username":"hub-user","password":"h"},
                "x.registry.cpln.io":{"username":"docker-user","password":"d"}}}"#,
        )
        .unwrap();
        std::fs::create_dir_all(dir.path().join("run/containers")).unwrap();
        std::fs::write(
            dir.path().join("run/containers/auth.json"),
            // podman-user:p, repo-user:p
            r#"{"auths":{"reg.example":{"auth":"cG9kbWFuLXVzZXI6cA=="},
                "only-podman.example/team/app":{"auth":"cmVwby11c2VyOnA="}}}"#,
        )
        .unwrap();
        World { dir }
    }

    fn path(&self, rel: &str) -> std::path::PathBuf {
        self.dir.path().join(rel)
    }

    fn env(&self) -> CredentialEnv {
        CredentialEnv {
            hoist_token: Some("hoist-key".into()),
            cpln_token: Some("cpln-key".into()),
            home: Some(self.path("home")),
            xdg_runtime_dir: Some(self.path("run")),
            ..CredentialEnv::default()
        }
    }

    fn resolver(&self, env: CredentialEnv) -> Resolver {
        Resolver {
            env,
            destinations: vec!["reg.example".into(), "x.registry.cpln.io".into()],
        }
    }
}

fn who(found: Option<Found>) -> Option<(String, Origin)> {
    found.map(|f| (f.credentials.username, f.origin))
}

async fn resolve(
    r: &Resolver,
    registry: &str,
    login: Option<&Credentials>,
) -> Option<(String, Origin)> {
    who(r.resolve(registry, "team/app", login).await.unwrap())
}

#[tokio::test]
async fn each_source_wins_over_the_ones_after_it() {
    let w = World::new();
    let login = Credentials::password("flag-user", "f");
    let full = w.resolver(w.env());
    let docker_config = Origin::DockerConfig(w.path("home/.docker/config.json"));
    let auth_file = Origin::AuthFile(w.path("run/containers/auth.json"));

    // 1. --username/--password-stdin
    assert_eq!(
        resolve(&full, "reg.example", Some(&login)).await,
        Some(("flag-user".into(), Origin::Login))
    );
    // 2. HOIST_TOKEN, then CPLN_TOKEN
    assert_eq!(
        resolve(&full, "reg.example", None).await,
        Some((TOKEN_USER.into(), Origin::HoistToken))
    );
    let mut env = w.env();
    env.hoist_token = None;
    assert_eq!(
        resolve(&w.resolver(env.clone()), "x.registry.cpln.io", None).await,
        Some((TOKEN_USER.into(), Origin::CplnToken))
    );
    // 3. DOCKER_AUTH_CONFIG, then config.json
    env.docker_auth_config =
        Some(r#"{"auths":{"reg.example":{"username":"env-user","password":"e"}}}"#.into());
    assert_eq!(
        resolve(&w.resolver(env.clone()), "reg.example", None).await,
        Some(("env-user".into(), Origin::DockerAuthConfig))
    );
    env.docker_auth_config = Some(r#"{"auths":{}}"#.into());
    assert_eq!(
        resolve(&w.resolver(env.clone()), "reg.example", None).await,
        Some(("docker-user".into(), docker_config.clone()))
    );
    // $DOCKER_CONFIG replaces ~/.docker.
    let mut elsewhere = env.clone();
    elsewhere.docker_config_dir = Some(w.path("nowhere"));
    // 4. the containers auth file
    assert_eq!(
        resolve(&w.resolver(elsewhere.clone()), "reg.example", None).await,
        Some(("podman-user".into(), auth_file.clone()))
    );
    // REGISTRY_AUTH_FILE replaces $XDG_RUNTIME_DIR/containers/auth.json.
    elsewhere.registry_auth_file = Some(w.path("missing.json"));
    // 5. anonymous
    assert_eq!(
        resolve(&w.resolver(elsewhere), "reg.example", None).await,
        None
    );
}

#[tokio::test]
async fn tokens_go_only_where_they_are_meant_to() {
    let w = World::new();
    let mut env = w.env();
    env.home = None;
    env.xdg_runtime_dir = None;
    let r = w.resolver(env);
    // HOIST_TOKEN: destinations only, in any of Docker Hub's spellings.
    assert_eq!(resolve(&r, "base.example", None).await, None);
    assert_eq!(
        resolve(&r, "REG.example", None).await.unwrap().1,
        Origin::HoistToken
    );
    let hub = Resolver {
        env: r.env.clone(),
        destinations: vec!["index.docker.io".into()],
    };
    assert_eq!(
        resolve(&hub, "docker.io", None).await.unwrap().1,
        Origin::HoistToken
    );
    // CPLN_TOKEN: *.registry.cpln.io only, and never ahead of HOIST_TOKEN for a destination.
    assert_eq!(
        resolve(&r, "x.registry.cpln.io", None).await.unwrap().1,
        Origin::HoistToken
    );
    assert_eq!(
        resolve(&r, "other.registry.cpln.io:443", None)
            .await
            .unwrap()
            .1,
        Origin::CplnToken
    );
    assert_eq!(
        resolve(&r, "registry.cpln.io.evil.example", None).await,
        None
    );
    assert_eq!(resolve(&r, "evilregistry.cpln.io", None).await, None);
}

#[tokio::test]
async fn file_logins_are_per_registry_and_repository() {
    let w = World::new();
    let mut env = w.env();
    env.hoist_token = None;
    env.cpln_token = None;
    let r = w.resolver(env);
    assert_eq!(
        resolve(&r, "registry-1.docker.io", None).await.unwrap().0,
        "hub-user"
    );
    assert_eq!(resolve(&r, "ghcr.io", None).await, None);
    let podman = |repo: &'static str| {
        let r = r.clone();
        async move { who(r.resolve("only-podman.example", repo, None).await.unwrap()) }
    };
    assert_eq!(podman("team/app").await.unwrap().0, "repo-user");
    assert_eq!(podman("team/other").await, None);
}

#[tokio::test]
async fn a_helper_that_finds_nothing_falls_through() {
    use std::os::unix::fs::PermissionsExt as _;
    let w = World::new();
    let bin = w.path("bin");
    std::fs::create_dir(&bin).unwrap();
    let script = bin.join("docker-credential-none");
    std::fs::write(
        &script,
        "#!/bin/sh\necho 'credentials not found in native keychain'\nexit 1\n",
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let mut env = w.env();
    env.hoist_token = None;
    env.path = Some(bin.into_os_string());
    env.docker_auth_config = Some(r#"{"credsStore":"none"}"#.into());
    let r = w.resolver(env.clone());
    // DOCKER_AUTH_CONFIG's store has nothing: config.json answers.
    assert_eq!(
        resolve(&r, "reg.example", None).await.unwrap().0,
        "docker-user"
    );
    // A missing helper is an error naming it.
    env.docker_auth_config = Some(r#"{"credHelpers":{"reg.example":"absent"}}"#.into());
    let err = w
        .resolver(env)
        .resolve("reg.example", "a", None)
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("docker-credential-absent"), "{err}");
}

#[test]
fn debug_never_shows_a_secret() {
    let c = Credentials::password("u", "pa55word");
    let t = Credentials {
        username: "u".into(),
        secret: Secret::IdentityToken("r3fresh".into()),
    };
    let env = CredentialEnv {
        hoist_token: Some("h0ist".into()),
        cpln_token: Some("cp1n".into()),
        docker_auth_config: Some("{\"auths\":{\"x\":{\"auth\":\"zzz\"}}}".into()),
        ..CredentialEnv::default()
    };
    let found = Found {
        credentials: c.clone(),
        origin: Origin::Login,
    };
    let text = format!(
        "{c:?} {t:?} {env:?} {found:?} {:?}",
        Resolver {
            env: env.clone(),
            destinations: vec![]
        }
    );
    for secret in ["pa55word", "r3fresh", "h0ist", "cp1n", "zzz"] {
        assert!(!text.contains(secret), "{secret} in {text}");
    }
    assert!(
        text.contains("Credentials(u, Password(<redacted>))"),
        "{text}"
    );
}

#[test]
fn paths_follow_the_variables() {
    let env = CredentialEnv {
        home: Some("/home/u".into()),
        ..CredentialEnv::default()
    };
    assert_eq!(
        env.docker_config_path().as_deref(),
        Some(Path::new("/home/u/.docker/config.json"))
    );
    assert_eq!(env.auth_file_path(), None);
    let env = CredentialEnv {
        docker_config_dir: Some("/cfg".into()),
        xdg_runtime_dir: Some("/run/user/1".into()),
        home: Some("/home/u".into()),
        ..CredentialEnv::default()
    };
    assert_eq!(
        env.docker_config_path().as_deref(),
        Some(Path::new("/cfg/config.json"))
    );
    assert_eq!(
        env.auth_file_path().as_deref(),
        Some(Path::new("/run/user/1/containers/auth.json"))
    );
}
