//! Docker's token auth end to end: a real `docker-registry` in token mode, its tokens signed by the
//! test support's [`TokenIssuer`] (the stand-in for Docker Hub's auth server). One token carries the
//! push scope and the mount source's pull scope (cross-repository mount), tokens are reused until
//! they expire, an identity token from `config.json` goes through the OAuth2 POST, a refused token
//! request names the registry and the token server, and a token refused mid-push (expired, or too
//! narrow: `insufficient_scope`) is fetched again, once. A token server failing transiently (503, 429,
//! a closed connection) is asked again with backoff — the GET flow, the OAuth2 POST and a login's
//! check alike — while a refusal is final and a server that keeps failing is named after the last
//! attempt. No secret is ever printed.

use std::process::Command;
use std::time::Duration;

use base64::Engine as _;

use hoist::image::{BlobStore, Descriptor, Digest, History, Image, Layer, Platform, media_type};
use hoist::progress::Silent;
use hoist::registry::{CredentialEnv, RegistryClient, RegistryOptions};

use crate::support::token_issuer::Failure;
use crate::support::{HoistRun, Registry, Sandbox, TokenIssuer, hoist_run, seed_busybox, skopeo};

const USER: &str = "tok-user";
const PASSWORD: &str = "tok-pw-77e1c0de";

/// A token-mode registry seeded with busybox, its issuer, and a sandbox whose Docker config holds
/// what the test writes (nothing from this machine's environment reaches hoist).
struct World {
    issuer: TokenIssuer,
    registry: Registry,
    sandbox: Sandbox,
}

impl World {
    fn new() -> World {
        let issuer = TokenIssuer::start(&[(USER, PASSWORD)]);
        let registry = Registry::start_with_issuer(&issuer, (USER, PASSWORD));
        seed_busybox(&registry);
        issuer.forget();
        let sandbox = Sandbox::new();
        std::fs::create_dir(sandbox.path("docker")).unwrap();
        World {
            issuer,
            registry,
            sandbox,
        }
    }

    fn host(&self) -> String {
        self.registry.host()
    }

    /// Writes Docker's `config.json` with `entry` as the registry's `auths` entry.
    fn docker_config(&self, entry: serde_json::Value) {
        let config = serde_json::json!({ "auths": { self.host(): entry } });
        std::fs::write(self.sandbox.path("docker/config.json"), config.to_string()).unwrap();
    }

    fn login_as(&self, user: &str, password: &str) {
        let auth = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
        self.docker_config(serde_json::json!({ "auth": auth }));
    }

    /// `hoist ARGS` with this world's Docker config and no credential variables.
    fn hoist(&self, args: &[&str]) -> HoistRun {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_hoist"));
        for var in [
            "HOIST_TOKEN",
            "CPLN_TOKEN",
            "DOCKER_AUTH_CONFIG",
            "REGISTRY_AUTH_FILE",
        ] {
            cmd.env_remove(var);
        }
        cmd.env("DOCKER_CONFIG", self.sandbox.path("docker"))
            .env("XDG_RUNTIME_DIR", self.sandbox.path("docker"))
            .env("HOIST_CACHE_DIR", self.sandbox.cache())
            .args(args)
            .current_dir(self.sandbox.dir.path());
        let run = hoist_run(&mut cmd);
        let tokens = self.issuer.issued_tokens();
        let mut secrets: Vec<&str> = tokens.iter().map(String::as_str).collect();
        secrets.push(PASSWORD);
        assert_no_secret(&run, &secrets);
        run
    }

    /// `hoist login HOST -u USER --password-stdin` with `password` on stdin.
    fn login(&self, user: &str, password: &str) -> HoistRun {
        let file = self.sandbox.path("password");
        std::fs::write(&file, password).unwrap();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_hoist"));
        cmd.args(["login", &self.host(), "-u", user, "--password-stdin"])
            .env("DOCKER_CONFIG", self.sandbox.path("docker"))
            .stdin(std::fs::File::open(&file).unwrap());
        let run = hoist_run(&mut cmd);
        assert_no_secret(&run, &[password]);
        run
    }

    /// The digest skopeo reads for `HOST/REPO`, with its own login.
    fn skopeo_digest(&self, image: &str) -> String {
        let out = crate::support::run_ok(skopeo().args([
            "inspect",
            "--tls-verify=false",
            "--creds",
            &format!("{USER}:{PASSWORD}"),
            &format!("docker://{}/{image}", self.host()),
        ]));
        let info: serde_json::Value = serde_json::from_str(&out).unwrap();
        info["Digest"].as_str().unwrap().to_string()
    }
}

/// None of `secrets` (nor their base64 forms with the user) appears in what hoist printed.
fn assert_no_secret(run: &HoistRun, secrets: &[&str]) {
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    for secret in secrets {
        for needle in [
            secret.to_string(),
            b64(secret),
            b64(&format!("{USER}:{secret}")),
        ] {
            assert!(
                !run.stdout.contains(&needle) && !run.stderr.contains(&needle),
                "hoist printed a secret:\nstdout:\n{}\nstderr:\n{}",
                run.stdout,
                run.stderr
            );
        }
    }
}

#[test]
fn one_token_carries_the_push_and_the_mount_source_scopes() {
    let world = World::new();
    let host = world.host();
    world.login_as(USER, PASSWORD);
    // A build on the registry's busybox, pushed to another repository of the same registry.
    let context = world.sandbox.path("ctx");
    std::fs::create_dir(&context).unwrap();
    std::fs::write(context.join("a.txt"), "on top\n").unwrap();
    std::fs::write(
        context.join("Dockerfile"),
        format!("FROM {host}/library/busybox:latest\nCOPY a.txt /a.txt\n"),
    )
    .unwrap();
    let copied = world
        .hoist(&[
            "build",
            "--progress",
            "json",
            "--push",
            "--name",
            &format!("{host}/team/app:v1"),
            "--dir",
            context.to_str().unwrap(),
        ])
        .ok();
    let pushed = copied.line().to_string();
    let digest = world.skopeo_digest("team/app:v1");
    assert_eq!(pushed, format!("{host}/team/app:v1@{digest}"));
    // Nor does the image hold any.
    for what in ["--raw", "--config"] {
        let raw = crate::support::run_ok(skopeo().args([
            "inspect",
            what,
            "--tls-verify=false",
            "--creds",
            &format!("{USER}:{PASSWORD}"),
            &format!("docker://{host}/team/app:v1"),
        ]));
        assert!(
            !raw.contains(PASSWORD) && !raw.contains("hoist-refresh"),
            "{raw}"
        );
    }

    // The layer was mounted from the source repository, not uploaded again...
    assert!(
        copied.stderr.contains("\"mounted\""),
        "no blob was mounted:\n{}",
        copied.stderr
    );
    // ...with one token for both repositories, asked for and granted in one request.
    let requests = world.issuer.requests();
    let mount = requests
        .iter()
        .find(|r| r.scopes.len() == 2)
        .unwrap_or_else(|| panic!("no token request carried two scopes: {requests:#?}"));
    assert_eq!(
        mount.scopes,
        [
            "repository:team/app:pull,push",
            "repository:library/busybox:pull"
        ],
        "{requests:#?}"
    );
    assert_eq!(mount.granted, mount.scopes, "{requests:#?}");
    assert_eq!(mount.user.as_deref(), Some(USER));
    // The push token was fetched once, for every blob (three) and the manifest.
    let push_tokens = requests
        .iter()
        .filter(|r| r.scopes == ["repository:team/app:pull,push"])
        .count();
    assert_eq!(push_tokens, 1, "{requests:#?}");
}

#[test]
fn a_refused_token_request_names_the_registry_and_the_token_server() {
    let world = World::new();
    let host = world.host();
    let wrong = "not-the-password-31337";
    world.login_as(USER, wrong);
    let refused = world.hoist(&[
        "copy",
        &format!("{host}/library/busybox:latest"),
        &format!("{host}/team/app:v1"),
    ]);
    assert_no_secret(&refused, &[wrong]);
    let refused = refused.failed();
    // A refusal is final: asking again would get the same answer.
    let requests = world.issuer.requests();
    assert_eq!(requests.len(), 1, "{requests:#?}");
    assert_eq!(requests[0].status, 401, "{requests:#?}");
    let realm = world.issuer.realm();
    for needle in [
        format!("`{host}`"),
        format!("`{realm}`"),
        "incorrect username or password".to_string(),
        format!("hoist login {host}"),
        "config.json".to_string(),
    ] {
        assert!(
            refused.stderr.contains(&needle),
            "no {needle:?} in:\n{}",
            refused.stderr
        );
    }
}

#[test]
fn a_failing_token_server_is_reported_with_its_own_words() {
    let world = World::new();
    let host = world.host();
    world.login_as(USER, PASSWORD);
    world.issuer.fail_next(usize::MAX);
    let failed = world
        .hoist(&["inspect", &format!("{host}/library/busybox:latest")])
        .failed();
    for needle in [
        format!("cannot get a token for registry `{host}`"),
        format!("`{}`", world.issuer.realm()),
        "503".to_string(),
        "token service down for maintenance".to_string(),
        "(attempt 5 of 5, with backoff)".to_string(),
    ] {
        assert!(
            failed.stderr.contains(&needle),
            "no {needle:?} in:\n{}",
            failed.stderr
        );
    }
    // Asked five times, with backoff, before giving up.
    let requests = world.issuer.requests();
    assert_eq!(requests.len(), 5, "{requests:#?}");
    assert!(requests.iter().all(|r| r.status == 503), "{requests:#?}");
}

#[test]
fn token_requests_failing_transiently_are_retried_and_the_push_completes() {
    let world = World::new();
    let host = world.host();
    world.login_as(USER, PASSWORD);
    // The GET flow: a 503, a 429 with `Retry-After`, a connection closed without an answer.
    world.issuer.fail_with(&[
        Failure::Unavailable,
        Failure::TooManyRequests,
        Failure::Closed,
    ]);
    let copied = world
        .hoist(&[
            "copy",
            "--progress",
            "plain",
            &format!("{host}/library/busybox:latest"),
            &format!("{host}/team/retried:v1"),
        ])
        .ok();
    let digest = world.skopeo_digest("library/busybox:latest");
    assert_eq!(copied.line(), format!("{host}/team/retried:v1@{digest}"));
    let requests = world.issuer.requests();
    let statuses: Vec<u16> = requests.iter().map(|r| r.status).collect();
    assert_eq!(statuses[..4], [503, 429, 0, 200], "{requests:#?}");
    assert!(requests.iter().all(|r| r.method == "GET"), "{requests:#?}");
    // Each retry told on stderr, naming the token server and the request without its query.
    let issuer = world.issuer.realm();
    let issuer_host = issuer
        .trim_start_matches("http://")
        .trim_end_matches("/token");
    let retries: Vec<&str> = copied
        .stderr
        .lines()
        .filter(|l| l.starts_with(&format!("retrying `GET /token` on `{issuer_host}`")))
        .collect();
    assert_eq!(retries.len(), 3, "{}", copied.stderr);
    assert!(retries[1].contains("429"), "{}", copied.stderr);

    // The OAuth2 POST of an identity token, likewise.
    let refresh = world.issuer.refresh_token_for(USER);
    world.docker_config(serde_json::json!({ "identitytoken": refresh }));
    world.issuer.forget();
    world
        .issuer
        .fail_with(&[Failure::Unavailable, Failure::Closed]);
    let copied = world.hoist(&[
        "copy",
        &format!("{host}/library/busybox:latest"),
        &format!("{host}/team/refreshed:v1"),
    ]);
    assert_no_secret(&copied, &[&refresh]);
    copied.ok();
    let requests = world.issuer.requests();
    let posts: Vec<u16> = requests
        .iter()
        .filter(|r| r.method == "POST")
        .map(|r| r.status)
        .collect();
    assert_eq!(posts[..3], [503, 0, 200], "{requests:#?}");
    assert!(
        requests.iter().all(|r| r.method == "POST"),
        "no fallback to the GET flow: {requests:#?}"
    );

    // A login's check too.
    world.issuer.forget();
    world.issuer.fail_with(&[Failure::Unavailable]);
    world.login(USER, PASSWORD).ok();
    let requests = world.issuer.requests();
    let statuses: Vec<u16> = requests.iter().map(|r| r.status).collect();
    assert_eq!(statuses, [503, 200], "{requests:#?}");
}

#[test]
fn a_revoked_identity_token_is_refused_by_name_never_shown() {
    let world = World::new();
    let host = world.host();
    let revoked = "hoist-refresh-revoked-0badc0de";
    world.docker_config(serde_json::json!({ "identitytoken": revoked }));
    let refused = world.hoist(&["inspect", &format!("{host}/library/busybox:latest")]);
    assert_no_secret(&refused, &[revoked]);
    let refused = refused.failed();
    assert!(
        refused.stderr.contains(&format!(
            "the token server `{}` of registry `{host}` refused the credentials from",
            world.issuer.realm()
        )),
        "{}",
        refused.stderr
    );
    // The OAuth2 POST first, then the GET with the token as a password.
    let requests = world.issuer.requests();
    assert_eq!(
        requests
            .iter()
            .map(|r| r.method.as_str())
            .collect::<Vec<_>>(),
        ["POST", "GET"],
        "{requests:#?}"
    );
}

#[test]
fn an_identity_token_is_exchanged_with_the_oauth2_post() {
    let world = World::new();
    let host = world.host();
    let refresh = world.issuer.refresh_token_for(USER);
    world.docker_config(serde_json::json!({ "identitytoken": refresh }));
    let copied = world.hoist(&[
        "copy",
        &format!("{host}/library/busybox:latest"),
        &format!("{host}/team/app:v1"),
    ]);
    assert_no_secret(&copied, &[&refresh]);
    copied.ok();
    let requests = world.issuer.requests();
    assert!(
        requests
            .iter()
            .any(|r| r.method == "POST" && r.grant == "refresh_token" && r.status == 200),
        "{requests:#?}"
    );
    assert!(
        requests
            .iter()
            .all(|r| r.status == 200 && r.user.as_deref() == Some(USER)),
        "{requests:#?}"
    );
}

/// A one-layer image in a blob store under `root`, with `content` in its only file.
fn small_image(
    root: &std::path::Path,
    content: &[u8],
) -> (hoist::image::SerializedImage, BlobStore) {
    use std::io::Write as _;
    let blobs = BlobStore::open(root.join("store")).unwrap();
    let mut tar = tar::Builder::new(Vec::new());
    let mut header = tar::Header::new_gnu();
    header.set_size(content.len() as u64);
    header.set_mode(0o644);
    header.set_cksum();
    tar.append_data(&mut header, "file.txt", content).unwrap();
    let tar = tar.into_inner().unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&tar).unwrap();
    let gz = gz.finish().unwrap();
    let digest = blobs.put(&gz).unwrap();
    let layer = Layer {
        descriptor: Descriptor::new(media_type::OCI_LAYER_GZIP, digest, gz.len() as u64),
        diff_id: Digest::of(&tar),
    };
    let image = Image::empty(&Platform::linux_amd64()).with_layer(layer, History::default());
    (image.serialize(), blobs)
}

/// A client that logs in to `world`'s registry as `USER`.
fn client(world: &World) -> RegistryClient {
    let client = RegistryClient::new(RegistryOptions {
        credentials: CredentialEnv::default(),
        ..RegistryOptions::default()
    })
    .unwrap();
    client.login(&world.host(), USER, PASSWORD);
    client
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_is_reused_until_it_expires_then_fetched_again() {
    let world = World::new();
    // Used for 6 s (8 less a quarter): room for two small pushes on a busy machine.
    world.issuer.set_expires_in(8);
    let client = client(&world);
    let tmp = tempfile::tempdir().unwrap();
    let (image, blobs) = small_image(tmp.path(), b"reused\n");
    let target = |tag: &str| -> hoist::image::Reference {
        format!("{}/reuse/app:{tag}", world.host()).parse().unwrap()
    };
    let before = world.issuer.issued();
    client
        .push(&image, &blobs, &[target("a")], &Silent)
        .await
        .unwrap();
    assert_eq!(
        world.issuer.issued(),
        before + 1,
        "{:#?}",
        world.issuer.requests()
    );
    client
        .push(&image, &blobs, &[target("b")], &Silent)
        .await
        .unwrap();
    assert_eq!(
        world.issuer.issued(),
        before + 1,
        "{:#?}",
        world.issuer.requests()
    );
    tokio::time::sleep(Duration::from_millis(6_300)).await;
    client
        .push(&image, &blobs, &[target("c")], &Silent)
        .await
        .unwrap();
    assert_eq!(
        world.issuer.issued(),
        before + 2,
        "{:#?}",
        world.issuer.requests()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_token_mid_push_is_fetched_again_once() {
    let world = World::new();
    let client = client(&world);
    let tmp = tempfile::tempdir().unwrap();
    let (image, blobs) = small_image(tmp.path(), b"expired\n");
    let target: hoist::image::Reference =
        format!("{}/expiry/app:v1", world.host()).parse().unwrap();
    world.issuer.expired_next(1);
    client
        .push(&image, &blobs, &[target], &Silent)
        .await
        .unwrap();
    let requests = world.issuer.requests();
    assert_eq!(requests.len(), 2, "{requests:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn insufficient_scope_mid_push_fetches_a_wider_token_once() {
    let world = World::new();
    let client = client(&world);
    let tmp = tempfile::tempdir().unwrap();
    let (image, blobs) = small_image(tmp.path(), b"narrow\n");
    let target: hoist::image::Reference =
        format!("{}/narrow/app:v1", world.host()).parse().unwrap();
    // A pull-only token passes the first HEAD; the upload's POST is refused with insufficient_scope.
    world.issuer.narrow_next(1);
    client
        .push(&image, &blobs, &[target], &Silent)
        .await
        .unwrap();
    let requests = world.issuer.requests();
    assert_eq!(requests.len(), 2, "{requests:#?}");
    assert_eq!(requests[0].granted, ["repository:narrow/app:pull"]);
    assert_eq!(requests[1].granted, ["repository:narrow/app:pull,push"]);

    // Always too narrow: the upload's POST answers its challenge twice (once, then once more for the
    // refused token), then fails with an error naming the repository and the action.
    world.issuer.forget();
    world.issuer.narrow_next(usize::MAX);
    let (image, blobs) = small_image(tmp.path(), b"narrow again\n");
    let err = client
        .push(
            &image,
            &blobs,
            &[format!("{}/narrow/other:v1", world.host()).parse().unwrap()],
            &Silent,
        )
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("narrow/other"), "{err}");
    assert!(err.contains("push to"), "{err}");
    // HEAD: one token; POST: two more.
    assert_eq!(
        world.issuer.requests().len(),
        3,
        "{:#?}",
        world.issuer.requests()
    );
}

#[test]
fn login_stores_the_token_servers_identity_token_not_the_password() {
    let world = World::new();
    let refused = world.login(USER, "wrong-password-0042").failed();
    assert!(
        refused.stderr.contains(&format!(
            "registry `{}` refused the login of `{USER}`",
            world.host()
        )),
        "{}",
        refused.stderr
    );
    assert!(!world.sandbox.path("docker/config.json").exists());
    let logged_in = world.login(USER, PASSWORD).ok();
    assert!(
        logged_in.stderr.contains("an identity token"),
        "{}",
        logged_in.stderr
    );
    // Asked offline, the token server gave a refresh token: docker's `identitytoken` shape, with
    // the user and no password.
    let config: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(world.sandbox.path("docker/config.json")).unwrap(),
    )
    .unwrap();
    let entry = &config["auths"][world.host()];
    let refresh = entry["identitytoken"]
        .as_str()
        .unwrap_or_else(|| panic!("{config}"));
    assert!(refresh.starts_with("hoist-refresh-"), "{config}");
    assert_eq!(
        entry["auth"],
        base64::engine::general_purpose::STANDARD.encode(format!("{USER}:"))
    );
    assert!(!config.to_string().contains(PASSWORD), "{config}");
    // The stored login pushes, through the OAuth2 POST with that refresh token.
    world.issuer.forget();
    world
        .hoist(&[
            "copy",
            &format!("{}/library/busybox:latest", world.host()),
            &format!("{}/after/login:v1", world.host()),
        ])
        .ok();
    let requests = world.issuer.requests();
    assert!(
        !requests.is_empty()
            && requests
                .iter()
                .all(|r| r.method == "POST" && r.grant == "refresh_token" && r.status == 200),
        "{requests:#?}"
    );
}

#[test]
fn an_anonymous_push_is_refused_after_one_token_request() {
    let world = World::new();
    let host = world.host();
    let context = world.sandbox.path("ctx");
    std::fs::create_dir(&context).unwrap();
    std::fs::write(context.join("Dockerfile"), "FROM scratch\nLABEL a=b\n").unwrap();
    let refused = world
        .hoist(&[
            "build",
            "--push",
            "--name",
            &format!("{host}/anon/app:v1"),
            "--dir",
            context.to_str().unwrap(),
        ])
        .failed();
    assert!(
        refused.stderr.contains(&format!(
            "registry `{host}` refused access (401) to `anon/app` without credentials"
        )),
        "{}",
        refused.stderr
    );
    assert!(refused.stderr.contains(&format!("hoist login {host}")));
    // The token server was asked once, anonymously: asking again would get the same answer.
    let requests = world.issuer.requests();
    assert_eq!(requests.len(), 1, "{requests:#?}");
    assert_eq!(requests[0].grant, "anonymous");
}

#[test]
fn a_copy_within_a_registry_mounts_its_blobs() {
    let world = World::new();
    let host = world.host();
    world.login_as(USER, PASSWORD);
    let copied = world
        .hoist(&[
            "copy",
            "--progress",
            "json",
            &format!("{host}/library/busybox:latest"),
            &format!("{host}/team/copy:v1"),
        ])
        .ok();
    let digest = world.skopeo_digest("library/busybox:latest");
    assert_eq!(copied.line(), format!("{host}/team/copy:v1@{digest}"));
    assert!(
        copied.stderr.contains("\"mounted\""),
        "no blob was mounted:\n{}",
        copied.stderr
    );
    let requests = world.issuer.requests();
    assert!(
        requests.iter().any(|r| r.scopes
            == [
                "repository:team/copy:pull,push",
                "repository:library/busybox:pull"
            ]),
        "{requests:#?}"
    );
}
