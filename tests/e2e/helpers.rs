//! `spawn_app()` and one helper per endpoint. Logs of every app in this binary are captured so
//! tests can assert that no secret is ever written; set `TEST_LOG=1` to also print them.

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

use reqwest::{Client, Response};
use secrecy::SecretString;
use serde_json::{Value, json};
use warden_adapters::settings::{Rate, RateLimitSettings, RatePeriod};
use warden_adapters::{Services, Settings};
use warden_server::Application;

/// A password that satisfies the default policy.
pub(crate) const STRONG: &str = "violet tractor hums 42 quiet lanterns";
/// The HS256 key of every test app.
pub(crate) const SECRET: &str = "e2e-6b1f0c9a4d2e8f7a3b5c1d9e0f2a4b6c";

/// Everything the apps of this test binary have logged.
pub(crate) fn captured_logs() -> String {
    String::from_utf8_lossy(&LOGS.lock().unwrap()).into_owned()
}

static LOGS: Mutex<Vec<u8>> = Mutex::new(Vec::new());

struct Capture;

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        LOGS.lock().unwrap().extend_from_slice(buf);
        if std::env::var_os("TEST_LOG").is_some() {
            std::io::stderr().write_all(buf)?;
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn init_logs() {
    static INIT: OnceLock<()> = OnceLock::new();
    INIT.get_or_init(|| {
        tracing_subscriber::fmt()
            .with_env_filter("debug,sqlx=warn,hyper=info,h2=info")
            .with_writer(|| Capture)
            .with_ansi(false)
            .init();
    });
}

/// The local operator, as the `warden` CLI acts: what a test arranges through the use cases.
pub(crate) fn operator() -> warden_domain::principal::Principal {
    warden_domain::principal::Principal::operator()
}

/// A running app and a client for it.
pub(crate) struct TestApp {
    pub address: String,
    pub database_url: String,
    pub client: Client,
    pub services: Services,
    dir: Arc<TempDir>,
}

/// A directory removed when dropped.
pub(crate) struct TempDir(pub std::path::PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Settings for a test: a fresh SQLite file, a random port, the test-minimum hash cost.
pub(crate) fn test_settings(dir: &std::path::Path) -> Settings {
    let mut s = Settings::default();
    s.server.bind = "127.0.0.1:0".parse().unwrap();
    s.database.url = format!("sqlite://{}/warden.db?mode=rwc", dir.display());
    s.jwt.secret = Some(SecretString::from(SECRET));
    // A fixed issuer, which the tests' hand-made tokens name; the default (the address the
    // server listens on) is the discovery tests' own.
    s.jwt.issuer = Some("warden".into());
    // Test-only minimum cost: real argon2id, cheap enough for many logins per test.
    s.argon2.memory_kib = 1024;
    s.argon2.iterations = 1;
    // Budgets no ordinary test reaches; the tests about limits set their own.
    let generous = Rate::new(100_000, RatePeriod::Second);
    s.rate_limit = RateLimitSettings {
        login: generous,
        register: generous,
        mail: generous,
        default: generous,
    };
    // The file transport of development, into the test's own directory.
    s.mail.dir = dir.join("mail");
    s
}

/// Starts an app with the default test settings.
pub(crate) async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// The databases an app can run on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    /// SQLite always; PostgreSQL (`POSTGRES_TEST_URL`, default the machine's) when it answers,
    /// and required under `CI=true`.
    pub(crate) async fn available() -> Vec<Self> {
        let mut backends = vec![Self::Sqlite];
        if postgres_admin_url().await.is_some() {
            backends.push(Self::Postgres);
        }
        backends
    }
}

/// The PostgreSQL URL tests create their databases through, if it is reachable.
async fn postgres_admin_url() -> Option<String> {
    let url = std::env::var("POSTGRES_TEST_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    match warden_adapters::db::connect(&url, 1).await {
        Ok(_) => Some(url),
        Err(e) if std::env::var("CI").is_err() => {
            eprintln!("SKIPPED on PostgreSQL: {url} is not reachable ({e})");
            None
        }
        Err(e) => panic!("CI=true but PostgreSQL at {url} is not reachable: {e}"),
    }
}

/// A fresh PostgreSQL database for one app; its URL.
async fn fresh_postgres_database() -> String {
    use sea_orm::ConnectionTrait;
    let url = postgres_admin_url()
        .await
        .expect("PostgreSQL was found available");
    let admin = warden_adapters::db::connect(&url, 1).await.unwrap();
    let name = format!("warden_e2e_{}", uuid::Uuid::new_v4().simple());
    admin
        .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
        .await
        .unwrap();
    let (base, _) = url.rsplit_once('/').unwrap();
    format!("{base}/{name}")
}

/// Starts an app after `adjust` has changed its settings.
pub(crate) async fn spawn_app_with(adjust: impl FnOnce(&mut Settings)) -> TestApp {
    spawn_app_on(Backend::Sqlite, adjust).await
}

/// Starts an app on this backend (a fresh database) after `adjust` has changed its settings.
pub(crate) async fn spawn_app_on(backend: Backend, adjust: impl FnOnce(&mut Settings)) -> TestApp {
    init_logs();
    let dir = std::env::temp_dir().join(format!("warden-e2e-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut settings = test_settings(&dir);
    if backend == Backend::Postgres {
        settings.database.url = fresh_postgres_database().await;
    }
    adjust(&mut settings);
    let database_url = settings.database.url.clone();
    let app = Application::build(settings)
        .await
        .expect("the test app builds");
    let address = format!("http://127.0.0.1:{}", app.port());
    let services = app.services();
    tokio::spawn(app.run_until_stopped());
    TestApp {
        address,
        database_url,
        client: Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap(),
        services,
        dir: Arc::new(TempDir(dir)),
    }
}

impl TestApp {
    /// Where the app's file transport writes its messages.
    pub(crate) fn mail_dir(&self) -> std::path::PathBuf {
        self.dir.0.join("mail")
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    pub(crate) async fn get(&self, path: &str) -> Response {
        self.client.get(self.url(path)).send().await.unwrap()
    }

    pub(crate) async fn get_with_token(&self, path: &str, token: &str) -> Response {
        self.client
            .get(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
    }

    pub(crate) async fn register(&self, email: &str, password: &str) -> Response {
        self.client
            .post(self.url("/auth/register"))
            .json(&json!({"email": email, "password": password}))
            .send()
            .await
            .unwrap()
    }

    pub(crate) async fn token(&self, form: &[(&str, &str)]) -> Response {
        self.client
            .post(self.url("/auth/token"))
            .form(form)
            .send()
            .await
            .unwrap()
    }

    pub(crate) async fn login(&self, email: &str, password: &str) -> Response {
        self.token(&[
            ("grant_type", "password"),
            ("username", email),
            ("password", password),
        ])
        .await
    }

    /// Registers `email` with [`STRONG`] and returns an access token for it.
    pub(crate) async fn user_with_token(&self, email: &str) -> (Value, String) {
        let r = self.register(email, STRONG).await;
        assert_eq!(r.status(), 201, "register {email}");
        let user: Value = r.json().await.unwrap();
        let r = self.login(email, STRONG).await;
        assert_eq!(r.status(), 200, "login {email}");
        let body: Value = r.json().await.unwrap();
        (user, body["access_token"].as_str().unwrap().to_owned())
    }

    /// Creates an admin through the use case (as the CLI would) and returns a token for it.
    pub(crate) async fn admin_with_token(&self, email: &str) -> (Value, String) {
        self.user_with_role(email, warden_domain::user::Role::Admin)
            .await
    }

    /// Creates a user with this role and returns it and a token for it.
    pub(crate) async fn user_with_role(
        &self,
        email: &str,
        role: warden_domain::user::Role,
    ) -> (Value, String) {
        let account = warden_domain::account::NewAccount {
            email: email.into(),
            password: SecretString::from(STRONG),
            display_name: None,
        };
        let user = self
            .services
            .admin
            .create_user(&operator(), account, role)
            .await
            .unwrap();
        let r = self.login(email, STRONG).await;
        assert_eq!(r.status(), 200, "login {email}");
        let body: Value = r.json().await.unwrap();
        let token = body["access_token"].as_str().unwrap().to_owned();
        (json!({"id": user.id.to_string(), "email": email}), token)
    }

    /// A request with a bearer token.
    pub(crate) fn with_token(
        &self,
        method: reqwest::Method,
        path: &str,
        token: &str,
    ) -> reqwest::RequestBuilder {
        self.client
            .request(method, self.url(path))
            .bearer_auth(token)
    }

    /// A request with an API key in the header.
    pub(crate) fn with_key(
        &self,
        method: reqwest::Method,
        path: &str,
        key: &str,
    ) -> reqwest::RequestBuilder {
        self.client
            .request(method, self.url(path))
            .header("x-api-key", key)
    }

    /// Makes an API key for the token's user and returns the creation response body.
    pub(crate) async fn create_key(&self, token: &str, body: Value) -> Value {
        let r = self
            .with_token(reqwest::Method::POST, "/api-keys", token)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
        r.json().await.unwrap()
    }

    /// Runs SQL on the app's database (to arrange what the API cannot, such as an expired key).
    pub(crate) async fn sql(&self, statement: &str) {
        use sea_orm::ConnectionTrait;
        let db = warden_adapters::db::connect(&self.database_url, 1)
            .await
            .unwrap();
        db.execute_unprepared(statement).await.unwrap();
    }

    pub(crate) async fn change_password(&self, token: &str, current: &str, new: &str) -> Response {
        self.client
            .put(self.url("/users/me/password"))
            .bearer_auth(token)
            .json(&json!({"current_password": current, "new_password": new}))
            .send()
            .await
            .unwrap()
    }
}

/// Asserts a problem document with this status, and returns it.
pub(crate) async fn assert_problem(r: Response, status: u16) -> Value {
    assert_eq!(r.status(), status);
    assert_eq!(
        r.headers()["content-type"].to_str().unwrap(),
        "application/problem+json",
        "a problem document"
    );
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["status"], status);
    assert!(
        body["title"].is_string() && body["detail"].is_string(),
        "{body}"
    );
    body
}

/// Asserts a 401 with exactly this `WWW-Authenticate` challenge.
pub(crate) async fn assert_unauthorized(r: Response, challenge: &str) {
    assert_eq!(r.status(), 401);
    assert_eq!(r.headers()["www-authenticate"].to_str().unwrap(), challenge);
    assert_problem(r, 401).await;
}
