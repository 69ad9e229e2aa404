//! `cargo xtask faults`: the debug server on the machine's PostgreSQL and a Redis of its own,
//! under load, while each of them goes away and comes back.
//!
//! - PostgreSQL stopped: requests that need storage get 503 problem documents and nothing else
//!   breaks (no other 5xx, `/health/live` still 200, `/health/ready` 503); when it returns,
//!   everything recovers by itself within seconds, and every registration that was answered
//!   201 is still there.
//! - Redis stopped: logins are still served (and still limited, per instance), a warning is
//!   logged, `/health/ready` is 503 until Redis answers again.
//!
//! It stops and restarts the PostgreSQL cluster with `pg_ctlcluster`, so it must not run
//! beside other users of that cluster: `.ci/run` runs it after the tests. Whatever happens,
//! the cluster is started again before this returns.

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, TcpListener};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use crate::client::{Client, Response};
use crate::server::{self, Server};
use crate::services::{Database, redis_answers};
use crate::{Result, cargo, run_command};

const PASSWORD: &str = "violet tractor hums 42 quiet lanterns";
/// Clients hammering the server throughout.
const CLIENTS: usize = 4;
/// How long each phase of the load lasts.
const BEFORE: Duration = Duration::from_secs(2);
const OUTAGE: Duration = Duration::from_secs(6);
const AFTER: Duration = Duration::from_secs(3);
/// Recovery must come by itself within this long after the service is back.
const RECOVERY_LIMIT: Duration = Duration::from_secs(15);

pub(crate) fn run() -> Result {
    run_command(cargo().args(["build", "-p", "warden-server"]))?;
    let cluster = Cluster::find()?;
    cluster.start()?;
    let database = Database::create("faults")?;
    let redis = OwnRedis::start()?;
    let (database_url, redis_url) = (database.url(), redis.url());
    let own = [
        ("WARDEN_DATABASE__URL", database_url.as_str()),
        ("WARDEN_REDIS__URL", redis_url.as_str()),
    ];
    let vars = [&own[..], &server::UNLIMITED, &server::CHEAP_HASHING].concat();
    let server = Server::start_with(&server::binary_path("debug"), &vars)?;
    let outcome =
        postgres_goes_away(&server, &cluster).and_then(|()| redis_goes_away(&server, redis));
    // Start PostgreSQL again whatever happened, then tidy up.
    let restarted = cluster.start();
    if outcome.is_err() {
        println!("the server's log ends:\n{}", server.log_tail());
    }
    server.stop();
    database.drop_it();
    outcome.and(restarted)
}

/// What the load saw: every status by phase, the emails answered 201, and any broken answer.
#[derive(Debug, Default)]
struct Seen {
    statuses: BTreeMap<(&'static str, u16), usize>,
    created: Vec<String>,
    broken: Vec<String>,
}

fn postgres_goes_away(server: &Server, cluster: &Cluster) -> Result {
    let first = "faults-first@example.com";
    let client = server.client();
    client.register(first, PASSWORD)?;
    let token = client.password_token(first, PASSWORD)?;
    let bearer = format!("Bearer {token}");

    let phase = Arc::new(Mutex::new("before"));
    let stop = Arc::new(AtomicBool::new(false));
    let seen = Arc::new(Mutex::new(Seen::default()));
    let next = Arc::new(AtomicUsize::new(0));
    let clients: Vec<_> = (0..CLIENTS)
        .map(|_| {
            let (phase, stop, seen, next) =
                (phase.clone(), stop.clone(), seen.clone(), next.clone());
            let (client, bearer) = (client.clone(), bearer.clone());
            thread::spawn(move || load(&client, &bearer, &phase, &stop, &seen, &next))
        })
        .collect();

    thread::sleep(BEFORE);
    println!("stopping PostgreSQL under load");
    *phase.lock().unwrap() = "outage";
    cluster.stop()?;
    thread::sleep(OUTAGE);
    let live = client.get("/health/live")?;
    let ready = client.get("/health/ready")?;
    println!(
        "during the outage: /health/live {}, /health/ready {}",
        live.status, ready.status
    );
    *phase.lock().unwrap() = "recovery";
    cluster.start()?;
    let back = Instant::now();
    let recovered = loop {
        let ready = client.get("/health/ready")?;
        let me = client.request("GET", "/users/me", &[("Authorization", &bearer)], b"")?;
        if ready.status == 200 && me.status == 200 {
            break back.elapsed();
        }
        if back.elapsed() > RECOVERY_LIMIT {
            stop.store(true, Ordering::Relaxed);
            return Err(format!(
                "not recovered {} s after PostgreSQL came back (ready {}, /users/me {})",
                RECOVERY_LIMIT.as_secs(),
                ready.status,
                me.status
            ));
        }
        thread::sleep(Duration::from_millis(100));
    };
    println!(
        "recovered {:.1} s after PostgreSQL came back",
        recovered.as_secs_f64()
    );
    *phase.lock().unwrap() = "after";
    thread::sleep(AFTER);
    stop.store(true, Ordering::Relaxed);
    for client in clients {
        client
            .join()
            .map_err(|_| "a load client panicked".to_owned())?;
    }

    let seen = seen.lock().unwrap();
    verdict(server, &seen, live.status, ready.status)
}

/// What the load and the probes saw, judged.
fn verdict(server: &Server, seen: &Seen, live: u16, ready: u16) -> Result {
    println!("statuses by phase: {:?}", seen.statuses);
    let mut problems = seen.broken.clone();
    if live != 200 {
        problems.push(format!("/health/live answered {live} during the outage"));
    }
    if ready != 503 {
        problems.push(format!("/health/ready answered {ready} during the outage"));
    }
    if !seen
        .statuses
        .keys()
        .any(|&(phase, status)| phase == "outage" && status == 503)
    {
        problems.push("no request saw the outage as a 503".into());
    }
    if !seen
        .statuses
        .keys()
        .any(|&(phase, status)| phase == "after" && status == 201)
    {
        problems.push("no registration succeeded after the recovery".into());
    }
    // No committed write lost: every account answered 201 signs in.
    let mut lost = 0;
    for email in &seen.created {
        if server.client().password_token(email, PASSWORD).is_err() {
            lost += 1;
        }
    }
    println!(
        "{} accounts were answered 201; {lost} of them cannot sign in",
        seen.created.len()
    );
    if lost > 0 {
        problems.push(format!("{lost} accounts answered 201 were lost"));
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(format!("PostgreSQL outage: {}", problems.join("; ")))
    }
}

/// One client: registrations (writes) and `/users/me` (reads) until told to stop.
fn load(
    client: &Client,
    bearer: &str,
    phase: &Mutex<&'static str>,
    stop: &AtomicBool,
    seen: &Mutex<Seen>,
    next: &AtomicUsize,
) {
    while !stop.load(Ordering::Relaxed) {
        let n = next.fetch_add(1, Ordering::Relaxed);
        let email = format!("faults-{n}@example.com");
        let requests = [
            ("POST /auth/register", client.try_register(&email, PASSWORD)),
            (
                "GET /users/me",
                client.request("GET", "/users/me", &[("Authorization", bearer)], b""),
            ),
        ];
        let current = *phase.lock().unwrap();
        let mut seen = seen.lock().unwrap();
        for (what, outcome) in requests {
            match outcome {
                Ok(response) => {
                    *seen.statuses.entry((current, response.status)).or_default() += 1;
                    if what.starts_with("POST") && response.status == 201 {
                        seen.created.push(email.clone());
                    }
                    if let Some(why) = broken(&response) {
                        seen.broken
                            .push(format!("{what} in phase {current}: {why}"));
                    }
                }
                Err(e) => seen.broken.push(format!("{what} in phase {current}: {e}")),
            }
        }
    }
}

/// Why a response is not an acceptable answer during a fault, if it is not.
fn broken(response: &Response) -> Option<String> {
    let content_type = response.header("content-type").unwrap_or_default();
    match response.status {
        503 if content_type.starts_with("application/problem+json") => None,
        503 => Some(format!(
            "a 503 that is not a problem document ({content_type})"
        )),
        status if status >= 500 => Some(format!("{status}: {}", response.body_text_excerpt())),
        _ => None,
    }
}

fn redis_goes_away(server: &Server, mut redis: OwnRedis) -> Result {
    let email = "faults-first@example.com";
    redis.kill();
    println!("Redis stopped");
    for _ in 0..3 {
        server
            .client()
            .password_token(email, PASSWORD)
            .map_err(|e| format!("a login failed with Redis away: {e}"))?;
    }
    let ready = server.client().get("/health/ready")?;
    if ready.status != 503 {
        return Err(format!(
            "/health/ready answered {} with Redis away",
            ready.status
        ));
    }
    if !server.log_tail().contains("rate limits fall back") {
        return Err("no warning was logged when Redis went away".into());
    }
    redis.restart()?;
    println!("Redis started again");
    let back = Instant::now();
    while server.client().get("/health/ready")?.status != 200 {
        if back.elapsed() > RECOVERY_LIMIT {
            return Err("/health/ready did not come back after Redis did".into());
        }
        thread::sleep(Duration::from_millis(100));
    }
    println!(
        "ready again {:.1} s after Redis came back",
        back.elapsed().as_secs_f64()
    );
    Ok(())
}

/// The machine's PostgreSQL cluster (`/etc/postgresql/<version>/main`).
struct Cluster {
    version: String,
}

impl Cluster {
    fn find() -> Result<Self> {
        let version = std::fs::read_dir("/etc/postgresql")
            .map_err(|e| format!("no PostgreSQL cluster here (/etc/postgresql: {e})"))?
            .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
            .max()
            .ok_or("no PostgreSQL cluster in /etc/postgresql")?;
        Ok(Self { version })
    }

    fn ctl(&self, action: &str) -> Result {
        run_command(
            Command::new("pg_ctlcluster")
                .arg("--skip-systemctl-redirect")
                .args([self.version.as_str(), "main", action])
                .args(if action == "stop" {
                    &["-m", "fast"][..]
                } else {
                    &[]
                }),
        )
    }

    fn start(&self) -> Result {
        let running = Command::new("pg_isready")
            .args(["-h", "127.0.0.1", "-p", "5432", "-q"])
            .status()
            .is_ok_and(|s| s.success());
        if running {
            return Ok(());
        }
        self.ctl("start")
    }

    fn stop(&self) -> Result {
        self.ctl("stop")
    }
}

/// A Redis of this run on a free port, so that stopping it disturbs nobody else.
struct OwnRedis {
    port: u16,
    child: Option<Child>,
}

impl OwnRedis {
    fn start() -> Result<Self> {
        let port = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .and_then(|l| l.local_addr())
            .map_err(|e| format!("could not find a free port: {e}"))?
            .port();
        let mut redis = Self { port, child: None };
        redis.restart()?;
        Ok(redis)
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    fn restart(&mut self) -> Result {
        let child = Command::new("redis-server")
            .args(["--bind", "127.0.0.1", "--port", &self.port.to_string()])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .spawn()
            .map_err(|e| format!("could not start redis-server: {e}"))?;
        self.child = Some(child);
        let started = Instant::now();
        while !redis_answers(&self.url()) {
            if started.elapsed() > Duration::from_secs(10) {
                return Err("redis-server did not answer within 10 s".into());
            }
            thread::sleep(Duration::from_millis(50));
        }
        Ok(())
    }

    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for OwnRedis {
    fn drop(&mut self) {
        self.kill();
    }
}
