//! `cargo xtask load`: two debug instances on the machine's PostgreSQL and Redis, with the
//! default argon2id cost.
//!
//! - For a minute, clients log in, refresh and call `/users/me` with bearer tokens and API
//!   keys, each request going to either instance: zero 5xx, and no lost update: every client
//!   keeps one refresh chain across both instances, so a rotation that was answered but not
//!   stored would make its next refresh fail.
//! - Then a login flood on one instance, many more logins at once than it hashes at once,
//!   while its resident memory is sampled: the peak must stay within a bound that only holds
//!   if the hash bound does (every waiting login holding argon2's 19 MiB would exceed it).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use crate::client::{Client, password_form};
use crate::server::{self, Server};
use crate::services::{Database, redis_answers};
use crate::{Result, cargo, run_command};

const PASSWORD: &str = "violet tractor hums 42 quiet lanterns";
const SECRET: &str = "load-7c1e9a4f2b8d6035e1a7c9f3b5d2e8a4";
const CLIENTS: usize = 6;
const MIXED_FOR: Duration = Duration::from_mins(1);
const FLOOD_CLIENTS: usize = 48;
const FLOOD_FOR: Duration = Duration::from_secs(15);
/// The most resident memory the instance may hold during the flood, and the most the flood
/// may add. argon2id at the default m=19456 KiB needs 19 MiB per hash: one per hashing thread
/// (two here) fits easily; 48 at once would need 912 MiB.
const FLOOD_MAX_RSS_MIB: u64 = 200;
const FLOOD_MAX_GROWTH_MIB: u64 = 64;
const TIMEOUT: Duration = Duration::from_mins(1);

const USAGE: &str = "\
usage: cargo xtask load [--scale COUNTS [--duration SECS]]

  with no option  two debug instances: a minute of mixed load, then a login flood (CI)
  --scale 1,2,4   release instances sharing PostgreSQL and Redis, at each count in turn:
                  bearer-token requests, then logins, summed over the instances
  --duration SECS how long each scaling scenario lasts (default 10)
";

/// The entry point of `cargo xtask load ARGS`.
pub(crate) fn main(args: &[String]) -> Result {
    let mut counts = None;
    let mut duration = Duration::from_secs(10);
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        let mut value = || {
            args.next()
                .ok_or_else(|| format!("`{arg}` needs a value\n\n{USAGE}"))
        };
        match arg.as_str() {
            "--scale" => counts = Some(parse_counts(value()?)?),
            "--duration" => {
                duration = Duration::from_secs(crate::bench::parse_positive(arg, value()?)?);
            }
            "-h" | "--help" => {
                print!("{USAGE}");
                return Ok(());
            }
            _ => return Err(format!("unknown load option `{arg}`\n\n{USAGE}")),
        }
    }
    match counts {
        Some(counts) => crate::bench::scale::run(&counts, duration),
        None => run(),
    }
}

/// `1,2,4` as counts of instances, each from 1 to 16.
fn parse_counts(text: &str) -> Result<Vec<usize>> {
    text.split(',')
        .map(|n| match n.trim().parse::<usize>() {
            Ok(n @ 1..=16) => Ok(n),
            _ => Err(format!(
                "`--scale` takes counts from 1 to 16 separated by commas, not `{n}`"
            )),
        })
        .collect()
}

fn run() -> Result {
    run_command(cargo().args(["build", "-p", "warden-server"]))?;
    let database = Database::create("load")?;
    let redis = "redis://127.0.0.1:6379";
    if !redis_answers(redis) {
        return Err(format!("no Redis answers at {redis}"));
    }
    let database_url = database.url();
    let own = [
        ("WARDEN_DATABASE__URL", database_url.as_str()),
        ("WARDEN_REDIS__URL", redis),
        // One key for both, as behind a load balancer (each server would get its own), and
        // one issuer: by default each would name its own address.
        ("WARDEN_JWT__SECRET", SECRET),
        ("WARDEN_JWT__ISSUER", "https://id.load.example"),
    ];
    let vars = [&own[..], &server::UNLIMITED].concat();
    let binary = server::binary_path("debug");
    // One after the other: the first applies the migrations.
    let outcome = Server::start_with(&binary, &vars).and_then(|a| {
        let b = Server::start_with(&binary, &vars)?;
        let outcome = mixed(&a, &b).and_then(|()| flood(&b));
        a.stop();
        b.stop();
        outcome
    });
    database.drop_it();
    outcome
}

/// A client's session: its bearer token, refresh token and API key.
struct Session {
    email: String,
    access: String,
    refresh: String,
    key: String,
}

fn session(server: &Server, n: usize) -> Result<Session> {
    let email = format!("load-{n}@example.com");
    let client = server.client();
    client.register(&email, PASSWORD)?;
    let (access, refresh) = client.token_pair(&password_form(&email, PASSWORD))?;
    let key = client.create_api_key(&access)?;
    Ok(Session {
        email,
        access,
        refresh,
        key,
    })
}

/// What the clients saw: statuses by operation, and every failure in words.
#[derive(Debug, Default)]
struct Tally {
    statuses: BTreeMap<(&'static str, u16), usize>,
    failures: Vec<String>,
}

fn mixed(a: &Server, b: &Server) -> Result {
    let sessions = (0..CLIENTS)
        .map(|n| session(a, n))
        .collect::<Result<Vec<_>>>()?;
    let instances = [a, b].map(|server| Client::new(server.addr(), TIMEOUT));
    let tally = Arc::new(Mutex::new(Tally::default()));
    let started = Instant::now();
    let clients: Vec<_> = sessions
        .into_iter()
        .enumerate()
        .map(|(n, mut session)| {
            let (tally, instances) = (tally.clone(), instances.clone());
            thread::spawn(move || {
                let mut step = n;
                while started.elapsed() < MIXED_FOR {
                    let client = &instances[step % 2];
                    let outcome = client_step(client, &mut session, step / 2 % 4);
                    let mut tally = tally.lock().unwrap();
                    match outcome {
                        Ok((what, status)) => {
                            *tally.statuses.entry((what, status)).or_default() += 1;
                        }
                        Err(e) => tally.failures.push(e),
                    }
                    step += 1;
                }
            })
        })
        .collect();
    for client in clients {
        client
            .join()
            .map_err(|_| "a load client panicked".to_owned())?;
    }
    let tally = tally.lock().unwrap();
    println!("a minute across two instances: {:?}", tally.statuses);
    if tally.failures.is_empty() {
        Ok(())
    } else {
        let count = tally.failures.len();
        let first: Vec<&str> = tally.failures.iter().take(5).map(String::as_str).collect();
        Err(format!(
            "{count} failures under mixed load, first: {}",
            first.join("; ")
        ))
    }
}

/// One operation of a client on one instance; every one of them must succeed.
fn client_step(client: &Client, s: &mut Session, op: usize) -> Result<(&'static str, u16)> {
    let get_me = |header: (&str, &str)| client.request("GET", "/users/me", &[header], b"");
    let (what, status) = match op {
        0 => {
            let form = format!("grant_type=refresh_token&refresh_token={}", s.refresh);
            let (access, refresh) = client.token_pair(&form).map_err(|e| {
                format!(
                    "{}: a refresh of its own chain failed (lost rotation?): {e}",
                    s.email
                )
            })?;
            (s.access, s.refresh) = (access, refresh);
            ("refresh", 200)
        }
        1 => ("GET /users/me (key)", get_me(("X-API-Key", &s.key))?.status),
        2 => (
            "GET /users/me (bearer)",
            get_me(("Authorization", &format!("Bearer {}", s.access)))?.status,
        ),
        _ => {
            client.token_pair(&password_form(&s.email, PASSWORD))?;
            ("login", 200)
        }
    };
    if status == 200 {
        Ok((what, status))
    } else {
        Err(format!("{what} for {} answered {status}", s.email))
    }
}

/// Resident memory of a process, in KiB.
fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|line| line.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn flood(server: &Server) -> Result {
    let pid = server.pid().ok_or("the server is not running")?;
    let email = "load-0@example.com";
    let form = password_form(email, PASSWORD);
    let before = rss_kib(pid).ok_or("cannot read the server's memory")?;
    let done = Arc::new(AtomicBool::new(false));
    let peak = Arc::new(Mutex::new(before));
    let sampler = {
        let (done, peak) = (done.clone(), peak.clone());
        thread::spawn(move || {
            while !done.load(Ordering::Relaxed) {
                if let Some(now) = rss_kib(pid) {
                    let mut peak = peak.lock().unwrap();
                    *peak = (*peak).max(now);
                }
                thread::sleep(Duration::from_millis(50));
            }
        })
    };
    let started = Instant::now();
    let flooders: Vec<_> = (0..FLOOD_CLIENTS)
        .map(|_| {
            let form = form.clone();
            let client = Client::new(server.addr(), TIMEOUT);
            thread::spawn(move || {
                let mut served = 0_usize;
                while started.elapsed() < FLOOD_FOR {
                    match client.token_pair(&form) {
                        Ok(_) => served += 1,
                        Err(e) => return Err(e),
                    }
                }
                Ok(served)
            })
        })
        .collect();
    let mut served = 0;
    let mut failures = Vec::new();
    for flooder in flooders {
        match flooder.join() {
            Ok(Ok(n)) => served += n,
            Ok(Err(e)) => failures.push(e),
            Err(_) => failures.push("a flooder panicked".to_owned()),
        }
    }
    done.store(true, Ordering::Relaxed);
    let _ = sampler.join();
    let after = rss_kib(pid).unwrap_or(0);
    let peak = *peak.lock().unwrap();
    let growth_mib = peak.saturating_sub(before) / 1024;
    println!(
        "login flood: {FLOOD_CLIENTS} clients for {} s, {served} logins; resident memory {} MiB before, peak {} MiB (+{growth_mib}), {} MiB after",
        FLOOD_FOR.as_secs(),
        before / 1024,
        peak / 1024,
        after / 1024
    );
    if let Some(first) = failures.first() {
        return Err(format!(
            "{} flooders failed, first: {first}",
            failures.len()
        ));
    }
    if growth_mib > FLOOD_MAX_GROWTH_MIB || peak / 1024 > FLOOD_MAX_RSS_MIB {
        return Err(format!(
            "memory reached {} MiB (+{growth_mib} MiB) under the login flood (bounds {FLOOD_MAX_RSS_MIB} MiB, +{FLOOD_MAX_GROWTH_MIB} MiB)",
            peak / 1024
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scale_counts_are_whole_numbers_from_one_to_sixteen() {
        assert_eq!(parse_counts("1,2,4").unwrap(), [1, 2, 4]);
        assert_eq!(parse_counts("16").unwrap(), [16]);
        assert!(parse_counts("0").is_err());
        assert!(parse_counts("17").is_err());
        assert!(parse_counts("1,,2").is_err());
        assert!(parse_counts("two").is_err());
    }
}
