//! Starting and stopping a Warden server for a task.
//!
//! The server runs in a fresh temporary directory with its own database file and a free
//! loopback port, configured by [`settings`]; [`Server`] kills it when dropped, so that no
//! error path leaves a server behind.

mod settings;

use std::env;
use std::fs::{self, File};
use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{self, Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

pub(crate) use self::settings::{CHEAP_HASHING, UNLIMITED};
use crate::client::Client;
use crate::{Result, target_dir};

/// The server binary's file name, without the platform's executable suffix.
const BINARY_NAME: &str = "warden-api";

/// How long the server may take to answer `GET /health/live` with 200.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(30);
/// The pause between two readiness probes.
const POLL_INTERVAL: Duration = Duration::from_millis(100);
/// How long one readiness probe may take.
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);
/// How long an ordinary request may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// How many lines of the server log an error message shows.
const LOG_TAIL_LINES: usize = 40;

/// The path of the server binary cargo builds with `profile` (`debug` or `release`).
pub(crate) fn binary_path(profile: &str) -> PathBuf {
    target_dir()
        .join(profile)
        .join(format!("{BINARY_NAME}{}", env::consts::EXE_SUFFIX))
}

/// The path of the release build of the example `name`.
pub(crate) fn example_path(name: &str) -> PathBuf {
    target_dir()
        .join("release/examples")
        .join(format!("{name}{}", env::consts::EXE_SUFFIX))
}

/// A running server; dropping it kills the process.
///
/// [`Server::stop`] is the normal end: it also removes the temporary directory. When the guard
/// is dropped instead (an error path), the directory and its log are kept for inspection.
#[derive(Debug)]
pub(crate) struct Server {
    child: Option<Child>,
    addr: SocketAddr,
    client: Client,
    dir: PathBuf,
    log: PathBuf,
}

impl Server {
    /// Starts `binary` in a fresh temporary directory and waits until it is ready.
    pub(crate) fn start(binary: &Path) -> Result<Self> {
        Self::start_with(binary, &[])
    }

    /// Like [`Server::start`], with extra environment variables (`WARDEN_*` settings).
    pub(crate) fn start_with(binary: &Path, vars: &[(&str, &str)]) -> Result<Self> {
        if !binary.is_file() {
            return Err(format!("server binary {} does not exist", binary.display()));
        }

        let dir = fresh_temp_dir()?;
        let log = dir.join("server.log");
        let port = free_port()?;
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));

        let stdout = File::create(&log)
            .map_err(|e| format!("could not create the server log {}: {e}", log.display()))?;
        let stderr = stdout
            .try_clone()
            .map_err(|e| format!("could not share the server log {}: {e}", log.display()))?;

        let mut command = Command::new(binary);
        command
            .current_dir(&dir)
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(stderr);
        settings::apply(&mut command, addr, &dir, vars)?;

        println!(
            "starting {} on {addr} in {}",
            binary.display(),
            dir.display()
        );
        let child = command
            .spawn()
            .map_err(|e| format!("could not start {}: {e}", binary.display()))?;
        let mut server = Self {
            child: Some(child),
            addr,
            client: Client::new(addr, REQUEST_TIMEOUT),
            dir,
            log,
        };
        server.wait_until_ready()?;
        Ok(server)
    }

    /// Polls `GET /health/live` until it answers 200, the process exits or the timeout passes.
    fn wait_until_ready(&mut self) -> Result {
        let started = Instant::now();
        let probe = Client::new(self.addr, PROBE_TIMEOUT);
        loop {
            self.ensure_running()?;
            let last_problem = match probe.get("/health/live") {
                Ok(response) if response.status == 200 => {
                    println!(
                        "server ready at http://{} after {:.1} s",
                        self.addr,
                        started.elapsed().as_secs_f64()
                    );
                    return Ok(());
                }
                Ok(response) => format!("status {}", response.status),
                Err(e) => e,
            };
            if started.elapsed() >= STARTUP_TIMEOUT {
                return Err(format!(
                    "the server did not answer GET /health/live with 200 within {} s \
                     (last attempt: {last_problem}); log {}:\n{}",
                    STARTUP_TIMEOUT.as_secs(),
                    self.log.display(),
                    self.log_tail()
                ));
            }
            thread::sleep(POLL_INTERVAL);
        }
    }

    /// Fails with the log's tail if the server process has exited.
    pub(crate) fn ensure_running(&mut self) -> Result {
        let Some(child) = self.child.as_mut() else {
            return Err("the server has already been stopped".to_owned());
        };
        match child.try_wait() {
            Ok(None) => Ok(()),
            Ok(Some(status)) => Err(format!(
                "the server exited unexpectedly ({status}); log {}:\n{}",
                self.log.display(),
                self.log_tail()
            )),
            Err(e) => Err(format!("could not check on the server process: {e}")),
        }
    }

    /// The address it listens on.
    pub(crate) fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The server's process id, while it runs.
    pub(crate) fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// The temporary directory the server runs in; tasks may put their own files there too.
    pub(crate) fn dir(&self) -> &Path {
        &self.dir
    }

    /// The absolute URL of `path` on this server.
    pub(crate) fn url(&self, path: &str) -> String {
        self.client.url(path)
    }

    /// A client of the server whose requests give up after 30 s.
    pub(crate) fn client(&self) -> &Client {
        &self.client
    }

    /// The last lines of the server log, indented, or a note saying why they are missing.
    pub(crate) fn log_tail(&self) -> String {
        match fs::read(&self.log) {
            Ok(bytes) => {
                let text = String::from_utf8_lossy(&bytes);
                let lines: Vec<&str> = text.lines().collect();
                if lines.is_empty() {
                    return "    (the log is empty)".to_owned();
                }
                let start = lines.len().saturating_sub(LOG_TAIL_LINES);
                lines[start..]
                    .iter()
                    .map(|line| format!("    {line}"))
                    .collect::<Vec<_>>()
                    .join("\n")
            }
            Err(e) => format!("    (could not read the log: {e})"),
        }
    }

    /// Kills the server and removes its temporary directory.
    pub(crate) fn stop(mut self) {
        self.kill();
        if let Err(e) = fs::remove_dir_all(&self.dir) {
            eprintln!(
                "xtask: warning: could not remove {}: {e}",
                self.dir.display()
            );
        }
    }

    /// Kills and reaps the process if it is still there; returns whether there was one.
    fn kill(&mut self) -> bool {
        let Some(mut child) = self.child.take() else {
            return false;
        };
        // Killing a process that has already exited fails harmlessly; waiting reaps it either way.
        let _ = child.kill();
        let _ = child.wait();
        true
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if self.kill() {
            eprintln!(
                "xtask: server stopped; its directory is kept for inspection: {} (log: {})",
                self.dir.display(),
                self.log.display()
            );
        }
    }
}

/// Creates `warden-xtask-<pid>-<nanos>` in the system's temporary directory.
fn fresh_temp_dir() -> Result<PathBuf> {
    let dir = env::temp_dir().join(format!("warden-xtask-{}-{}", process::id(), unix_nanos()));
    fs::create_dir(&dir)
        .map_err(|e| format!("could not create the directory {}: {e}", dir.display()))?;
    Ok(dir)
}

/// A loopback port that was free a moment ago: the OS picks it and the listener is dropped.
fn free_port() -> Result<u16> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .map_err(|e| format!("could not find a free port: {e}"))?;
    let port = listener
        .local_addr()
        .map_err(|e| format!("could not read the free port: {e}"))?
        .port();
    Ok(port)
}

/// Nanoseconds since the Unix epoch, or zero if the clock is before it.
fn unix_nanos() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_nanos())
}
