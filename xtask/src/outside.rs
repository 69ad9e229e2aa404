//! `cargo xtask outside`: Warden met by tools nobody here wrote, against a running debug
//! server that signs with EdDSA.
//!
//! - authlib's OAuth 2.0 client signs in with the password grant and refreshes, and PyJWT
//!   verifies the tokens through the JWKS (`tests/outside/oauth_client.py`), signed with EdDSA
//!   and then, by a server of its own, with RS256 under a key `cryptography` made;
//! - a confidential client the admin registers takes, introspects and revokes tokens with
//!   authlib's `client_credentials` grant, and is deleted (`tests/outside/client_credentials.py`);
//! - zxing-cpp reads the enrolment's QR code (rasterized by CairoSVG) back to the otpauth URI,
//!   from which pyotp computes the codes of a TOTP second factor that is confirmed, asked for at
//!   login in two steps and in one, stood in for by a recovery code and removed
//!   (`tests/outside/totp.py`);
//! - users whose hashes passlib, pwdlib, argon2-cffi, bcrypt, Django and werkzeug made are
//!   imported, sign in and are upgraded to argon2id (`tests/outside/import_hashes.py`);
//! - prometheus-client's OpenMetrics parser reads the metrics the run produced
//!   (`tests/outside/metrics.py`);
//! - Debian's Chromium, driven by playwright-core, signs in through Swagger UI's Authorize and
//!   calls `GET /users/me` from the page (`tests/outside/swagger_ui.mjs`);
//! - aiosmtpd, with STARTTLS and authentication, receives the mail of the account flows from a
//!   server of their own; the links in the messages are followed to verify an address, reset a
//!   password (in Debian's Chromium too, with JavaScript off) and change an address, and every
//!   message queued while the SMTP server was down arrives exactly once when it is back
//!   (`tests/outside/mail.py`, `tests/outside/reset_page.mjs`);
//! - openapi-spec-validator validates `/openapi.json` as OpenAPI 3;
//! - schemathesis fuzzes every operation of it as an admin with every check it has (`all`):
//!   no 5xx, only documented statuses, content types and headers, bodies in their schema,
//!   invalid data refused, valid data accepted (`tests/outside/schemathesis.toml` says where
//!   the domain's rules may still refuse it), 405 with `Allow`, and the rest.
//!
//! The Python tools live in a virtual environment under the target directory, installed from
//! PyPI at pinned versions the first time.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::server::{self, Server};
use crate::{Result, cargo, run_command, target_dir, workspace_root};

/// The Python packages, pinned.
const PACKAGES: &[&str] = &[
    "authlib==1.9.10",
    "requests==2.34.2",
    "pyjwt[crypto]==2.15.1",
    "schemathesis==4.32.5",
    "openapi-spec-validator==0.9.0",
    "prometheus-client==0.21.1",
    // The authenticator app and the QR reader (tests/outside/totp.py); CairoSVG draws with the
    // system's libcairo, which `ensure_cairo` sees to.
    "pyotp==2.12.1",
    "zxing-cpp==3.1.1",
    "cairosvg==2.9.1",
    "pillow==13.0.0",
    // The libraries whose hashes `warden user import` takes (tests/outside/import_hashes.py);
    // bcrypt 4.3 is the last that passlib 1.7.4 works with.
    "passlib[bcrypt,argon2]==1.7.4",
    "pwdlib[argon2,bcrypt]==0.4.2",
    "bcrypt==4.3.0",
    "argon2-cffi==25.1.0",
    "django==5.2.20",
    "werkzeug==3.1.9",
    // The SMTP server the mail flows are delivered to (tests/outside/mail.py).
    "aiosmtpd==1.4.6",
];
/// The browser driver, pinned; it drives Debian's Chromium as installed.
const PLAYWRIGHT: &str = "playwright-core@1.64.1";
/// The admin the fuzzer acts as.
const ADMIN_EMAIL: &str = "outside-admin@example.com";
const ADMIN_PASSWORD: &str = "violet tractor hums 42 quiet lanterns";
/// Examples per operation and phase: enough to reach every parser, quick enough for CI.
const MAX_EXAMPLES: &str = "40";
/// A fixed seed: a failure reproduces.
const SEED: &str = "20261202";

/// Builds, prepares the tools, starts the server and runs each client against it.
pub(crate) fn run() -> Result {
    run_command(cargo().args(["build", "-p", "warden-server", "-p", "warden-cli"]))?;
    let python = ensure_venv()?;
    let cli = target_dir().join("debug/warden");

    let keys = target_dir().join("outside-keys");
    fs::create_dir_all(&keys).map_err(|e| format!("could not create {}: {e}", keys.display()))?;
    let private_key = write_eddsa_key(&cli, &keys)?;
    let private_key = private_key.to_string_lossy().into_owned();
    let metrics_bind = free_local_address()?;
    let own = [
        ("WARDEN_JWT__ALGORITHM", "EdDSA"),
        ("WARDEN_JWT__PRIVATE_KEY_FILE", private_key.as_str()),
        ("WARDEN_METRICS__BIND", metrics_bind.as_str()),
    ];
    let vars = [&own[..], &server::UNLIMITED, &server::CHEAP_HASHING].concat();
    let server = Server::start_with(&server::binary_path("debug"), &vars)?;

    run_command(
        Command::new(&python)
            .arg(workspace_root().join("tests/outside/oauth_client.py"))
            .arg(server.url("")),
    )?;
    // The admin is made here, to register the client of the `client_credentials` grant.
    let token = admin_token(&cli, &server)?;
    run_command(
        Command::new(&python)
            .arg(workspace_root().join("tests/outside/client_credentials.py"))
            .arg(server.url(""))
            .arg(&token),
    )?;
    ensure_cairo()?;
    run_command(
        Command::new(&python)
            .arg(workspace_root().join("tests/outside/totp.py"))
            .arg(server.url("")),
    )?;
    let browser = ensure_browser()?;
    run_command(
        Command::new("node")
            .arg(browser.join("swagger_ui.mjs"))
            .arg(server.url("")),
    )?;
    mail_flows(&python, &browser)?;
    rs256_client(&python)?;

    validate_document(&python, &server)?;

    // The operations that end the caller's sessions go last, on their own: run among the
    // others, they would leave every later authenticated request a 401. The admin signs in
    // afresh: the first token may have expired during the flows above.
    let token = server
        .client()
        .password_token(ADMIN_EMAIL, ADMIN_PASSWORD)?;
    // Hashes made by passlib, pwdlib, argon2-cffi, bcrypt, Django and werkzeug, imported over
    // HTTP and by the CLI, signed in with and upgraded.
    run_command(
        Command::new(&python)
            .arg(workspace_root().join("tests/outside/import_hashes.py"))
            .arg(server.url(""))
            .arg(&token)
            .arg(&cli)
            .arg(database_url(&server)),
    )?;
    let ending = ["/auth/logout", "/users/me/password"];
    let everything_else: Vec<&str> = ending.iter().flat_map(|p| ["--exclude-path", p]).collect();
    let only_those: Vec<&str> = ending.iter().flat_map(|p| ["--include-path", p]).collect();
    for selection in [everything_else, only_those] {
        run_command(
            Command::new(python.with_file_name("schemathesis"))
                // Its cache of crashes goes where it runs: keep it out of the source tree.
                .current_dir(target_dir())
                // The serializer of JSON Lines, for the import.
                .env("PYTHONPATH", workspace_root().join("tests/outside"))
                .env("SCHEMATHESIS_HOOKS", "schemathesis_hooks")
                .arg("--config-file")
                .arg(workspace_root().join("tests/outside/schemathesis.toml"))
                .arg("run")
                .arg(server.url("/openapi.json"))
                .args(["--checks", "all"])
                .args(["--max-examples", MAX_EXAMPLES, "--seed", SEED])
                .arg("--header")
                .arg(format!("Authorization: Bearer {token}"))
                .args(selection),
        )?;
    }
    // Everything above went through the metrics: prometheus-client's parser reads them.
    run_command(
        Command::new(&python)
            .arg(workspace_root().join("tests/outside/metrics.py"))
            .arg(format!("http://{metrics_bind}/metrics"))
            .arg(server.url("")),
    )?;
    server.stop();
    Ok(())
}

/// openapi-spec-validator on the document as served (it reads files, not URLs).
fn validate_document(python: &Path, server: &Server) -> Result {
    let response = server.client().get("/openapi.json")?;
    if response.status != 200 {
        return Err(format!("GET /openapi.json answered {}", response.status));
    }
    let path = target_dir().join("outside-openapi.json");
    fs::write(&path, &response.body)
        .map_err(|e| format!("could not write {}: {e}", path.display()))?;
    run_command(Command::new(python.with_file_name("openapi-spec-validator")).arg(&path))
}

/// An address on loopback that nothing listens on now.
fn free_local_address() -> Result<String> {
    let probe = std::net::TcpListener::bind("127.0.0.1:0")
        .map_err(|e| format!("could not find a free port: {e}"))?;
    let address = probe
        .local_addr()
        .map_err(|e| format!("could not find a free port: {e}"))?;
    Ok(address.to_string())
}

/// The virtual environment's Python, made and filled on first use.
fn ensure_venv() -> Result<PathBuf> {
    let venv = target_dir().join("outside-venv");
    let python = venv.join("bin/python");
    let stamp = venv.join("installed.txt");
    let wanted = PACKAGES.join("\n");
    if fs::read_to_string(&stamp).is_ok_and(|text| text == wanted) {
        return Ok(python);
    }
    run_command(Command::new("python3").arg("-m").arg("venv").arg(&venv))?;
    run_command(
        Command::new(&python)
            .args(["-m", "pip", "install", "--quiet"])
            .args(PACKAGES),
    )?;
    fs::write(&stamp, wanted).map_err(|e| format!("could not write {}: {e}", stamp.display()))?;
    Ok(python)
}

/// Debian's libcairo, which CairoSVG loads at run time (pip cannot bring it). The machine
/// images have it; a slimmer one gets it here rather than failing on an import.
fn ensure_cairo() -> Result {
    crate::ensure_debian_package("libcairo", "libcairo2", || {
        let output = Command::new("dpkg-query")
            .arg("--show")
            .arg("--showformat=${db:Status-Status} ${Package} ${Version}")
            .arg("libcairo2")
            .output()
            .ok()?;
        // A package removed but for its configuration is listed too, as `config-files`.
        let listed = String::from_utf8_lossy(&output.stdout);
        let installed = listed.trim().strip_prefix("installed ")?;
        output.status.success().then(|| installed.to_owned())
    })
}

/// authlib and PyJWT against a server that signs with RS256, under an RSA key `cryptography`
/// made: the algorithm OpenID Connect relying parties accept.
fn rs256_client(python: &Path) -> Result {
    let key = target_dir().join("outside-keys/rs256.pem");
    run_command(
        Command::new(python)
            .arg(workspace_root().join("tests/outside/rsa_key.py"))
            .arg(&key),
    )?;
    let key = key.to_string_lossy().into_owned();
    let own = [
        ("WARDEN_JWT__ALGORITHM", "RS256"),
        ("WARDEN_JWT__PRIVATE_KEY_FILE", key.as_str()),
    ];
    let vars = [&own[..], &server::UNLIMITED, &server::CHEAP_HASHING].concat();
    let server = Server::start_with(&server::binary_path("debug"), &vars)?;
    let outcome = run_command(
        Command::new(python)
            .arg(workspace_root().join("tests/outside/oauth_client.py"))
            .arg(server.url(""))
            .arg("RS256"),
    );
    server.stop();
    outcome
}

/// The flows by mail against a real SMTP server: aiosmtpd, in `tests/outside/mail.py`, with
/// STARTTLS on a certificate of a test CA and authentication, and a server of its own sending
/// to it; Chromium, with JavaScript off, sets a password on the reset page.
fn mail_flows(python: &Path, browser: &Path) -> Result {
    let certs = target_dir().join("outside-mail");
    fs::create_dir_all(&certs).map_err(|e| format!("could not create {}: {e}", certs.display()))?;
    let script = workspace_root().join("tests/outside/mail.py");
    run_command(
        Command::new(python)
            .arg(&script)
            .arg("make-cert")
            .arg(&certs),
    )?;
    let smtp = free_local_address()?;
    let port = smtp.rsplit_once(':').map_or("0", |(_, p)| p).to_owned();
    let smtp_url = format!("smtp://warden:mail-secret-42@127.0.0.1:{port}?tls=starttls");
    let ca = certs.join("ca.pem").to_string_lossy().into_owned();
    let own = [
        ("WARDEN_MAIL__SMTP_URL", smtp_url.as_str()),
        ("WARDEN_MAIL__SMTP_CA_FILE", ca.as_str()),
        ("WARDEN_MAIL__FROM", "Warden <warden@example.com>"),
        ("WARDEN_MAIL__TIMEOUT_SECONDS", "5"),
    ];
    let vars = [&own[..], &server::UNLIMITED, &server::CHEAP_HASHING].concat();
    let server = Server::start_with(&server::binary_path("debug"), &vars)?;
    let outcome = run_command(
        Command::new(python)
            .arg(&script)
            .arg("run")
            .arg(server.url(""))
            .arg(&port)
            .arg(&certs)
            .arg(browser.join("reset_page.mjs")),
    );
    if outcome.is_err() {
        eprintln!("the mail flows' server log:\n{}", server.log_tail());
    }
    server.stop();
    outcome
}

/// Debian's Chromium and playwright-core (pinned, under the target directory) beside copies
/// of the browser scripts, in the directory returned: node finds the package from a script's
/// place.
fn ensure_browser() -> Result<PathBuf> {
    crate::ensure_debian_package("chromium", "chromium", || {
        let output = Command::new("chromium").arg("--version").output().ok()?;
        output
            .status
            .success()
            .then(|| String::from_utf8_lossy(&output.stdout).trim().to_owned())
    })?;
    let dir = target_dir().join("outside-node");
    fs::create_dir_all(&dir).map_err(|e| format!("could not create {}: {e}", dir.display()))?;
    if !dir.join("node_modules/playwright-core").is_dir() {
        run_command(
            Command::new("npm")
                .args(["install", "--no-audit", "--no-fund", "--silent"])
                .arg(PLAYWRIGHT)
                .current_dir(&dir),
        )?;
    }
    for script in ["swagger_ui.mjs", "reset_page.mjs"] {
        fs::copy(
            workspace_root().join("tests/outside").join(script),
            dir.join(script),
        )
        .map_err(|e| format!("could not copy the browser script {script}: {e}"))?;
    }
    Ok(dir)
}

/// `warden keys generate --algorithm eddsa` into `dir`; returns the private key's path.
fn write_eddsa_key(cli: &Path, dir: &Path) -> Result<PathBuf> {
    let output = Command::new(cli)
        .args(["keys", "generate", "--algorithm", "eddsa"])
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| format!("could not run {}: {e}", cli.display()))?;
    if !output.status.success() {
        return Err(format!("`warden keys generate` failed ({})", output.status));
    }
    let pems = String::from_utf8_lossy(&output.stdout);
    let end = "-----END PRIVATE KEY-----";
    let private = pems
        .find(end)
        .map(|at| &pems[..at + end.len()])
        .ok_or("`warden keys generate --algorithm eddsa` printed no private key")?;
    let path = dir.join("signing.pem");
    fs::write(&path, format!("{}\n", private.trim()))
        .map_err(|e| format!("could not write {}: {e}", path.display()))?;
    Ok(path)
}

/// The server's SQLite database, for the CLI.
fn database_url(server: &Server) -> String {
    format!(
        "sqlite://{}?mode=rwc",
        server.dir().join("warden.db").display()
    )
}

/// Creates the admin with the CLI on the server's database and signs in over HTTP.
fn admin_token(cli: &Path, server: &Server) -> Result<String> {
    let database = database_url(server);
    let mut create = Command::new(cli);
    create
        .args(["user", "create", "--email", ADMIN_EMAIL, "--role", "admin"])
        .arg("--password-stdin")
        .env("WARDEN_DATABASE__URL", database)
        .stdin(Stdio::piped());
    let mut child = create
        .spawn()
        .map_err(|e| format!("could not run {}: {e}", cli.display()))?;
    if let Some(mut stdin) = child.stdin.take() {
        use std::io::Write as _;
        stdin
            .write_all(ADMIN_PASSWORD.as_bytes())
            .map_err(|e| format!("could not give the password to the CLI: {e}"))?;
    }
    let status = child
        .wait()
        .map_err(|e| format!("could not wait for the CLI: {e}"))?;
    if !status.success() {
        return Err(format!("`warden user create` failed ({status})"));
    }
    server.client().password_token(ADMIN_EMAIL, ADMIN_PASSWORD)
}
