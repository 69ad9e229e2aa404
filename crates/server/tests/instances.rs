//! Two `warden-api` processes behind one imagined load balancer, on the machine's PostgreSQL
//! (`POSTGRES_TEST_URL`) and Redis (`REDIS_TEST_URL`): one login budget holds across both.
//! Under `CI=true` a missing service fails the test; elsewhere it says what it skipped.

use std::io::{Read as _, Write as _};
use std::net::{Ipv6Addr, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

mod common;

use common::Database;

const SECRET: &str = "instances-3f9a1c7e5b2d8046a1f3c5e7b9d0a2c4";
const LIMIT: usize = 7;

/// The test Redis's URL, if it answers `PING`.
fn redis_url() -> Option<String> {
    let url = std::env::var("REDIS_TEST_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    let address = url
        .trim_start_matches("redis://")
        .split('/')
        .next()
        .unwrap_or_default()
        .to_owned();
    let answers = TcpStream::connect(&address).is_ok_and(|mut stream| {
        let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
        let mut reply = [0_u8; 5];
        stream.write_all(b"PING\r\n").is_ok()
            && stream.read_exact(&mut reply).is_ok()
            && &reply == b"+PONG"
    });
    if answers {
        return Some(url);
    }
    assert!(
        std::env::var("CI").is_err(),
        "CI=true but Redis at {url} does not answer"
    );
    eprintln!("SKIPPED the two-instance test: Redis at {url} does not answer");
    None
}

/// One running `warden-api`; killed when dropped.
struct Instance {
    child: Child,
    base: String,
    log: PathBuf,
}

impl Instance {
    async fn start(database_url: &str, redis_url: &str, name: &str) -> Self {
        let port = common::unused_port();
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
        let log = dir.join(format!("instance-{}-{name}.log", std::process::id()));
        let out = std::fs::File::create(&log).unwrap();
        let mut command = Command::new(env!("CARGO_BIN_EXE_warden-api"));
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("WARDEN_") {
                command.env_remove(&key);
            }
        }
        let child = command
            .current_dir(&dir)
            .env("WARDEN_SERVER__BIND", format!("127.0.0.1:{port}"))
            .env("WARDEN_SERVER__TRUSTED_PROXIES", "[\"127.0.0.1/32\"]")
            .env("WARDEN_DATABASE__URL", database_url)
            .env("WARDEN_REDIS__URL", redis_url)
            .env("WARDEN_JWT__SECRET", SECRET)
            .env("WARDEN_RATE_LIMIT__LOGIN", format!("{LIMIT}/hour"))
            .env("WARDEN_ARGON2__MEMORY_KIB", "1024")
            .env("WARDEN_ARGON2__ITERATIONS", "1")
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .spawn()
            .unwrap();
        let mut instance = Self {
            child,
            base: format!("http://127.0.0.1:{port}"),
            log,
        };
        instance.wait_until_ready().await;
        instance
    }

    /// `/health/ready` is 200 only when both PostgreSQL and Redis answer.
    async fn wait_until_ready(&mut self) {
        let client = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                panic!("the instance exited ({status}): {}", self.log_text());
            }
            let url = format!("{}/health/ready", self.base);
            if let Ok(r) = client.get(&url).send().await
                && r.status() == 200
            {
                return;
            }
            assert!(Instant::now() < deadline, "not ready: {}", self.log_text());
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.log);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_login_limit_holds_across_two_instances() {
    let Some(redis) = redis_url() else {
        return;
    };
    let Some(database) = Database::create().await else {
        return;
    };
    // One after the other: the first applies the migrations.
    let a = Instance::start(&database.url, &redis, "a").await;
    let b = Instance::start(&database.url, &redis, "b").await;

    // A client address of this run alone, as the trusted proxy reports it, so that budgets
    // left in Redis by earlier runs never meet this one.
    let n = uuid::Uuid::new_v4().as_u128();
    let client_ip = Ipv6Addr::from((0x2001_0db8_u128 << 96) | (n & ((1 << 96) - 1))).to_string();
    let http = reqwest::Client::new();
    let attempts: Vec<_> = (0..LIMIT * 4)
        .map(|i| {
            let url = format!("{}/auth/token", if i % 2 == 0 { &a.base } else { &b.base });
            let request = http.post(url).header("x-forwarded-for", &client_ip).form(&[
                ("grant_type", "password"),
                ("username", "nobody@example.com"),
                ("password", "not the password at all"),
            ]);
            tokio::spawn(async move { request.send().await.unwrap() })
        })
        .collect();

    let mut accepted = 0;
    let mut refused = 0;
    for attempt in attempts {
        let r = attempt.await.unwrap();
        assert_eq!(r.headers()["ratelimit-limit"], LIMIT.to_string().as_str());
        match r.status().as_u16() {
            429 => {
                refused += 1;
                let wait: u64 = r.headers()["retry-after"]
                    .to_str()
                    .unwrap()
                    .parse()
                    .unwrap();
                assert!(wait >= 1);
            }
            400 => accepted += 1,
            other => panic!("unexpected {other}: {}", r.text().await.unwrap()),
        }
    }
    assert_eq!(
        accepted, LIMIT,
        "the sum of accepted requests equals the limit"
    );
    assert_eq!(refused, LIMIT * 3);

    drop((a, b));
    database.drop_it().await;
}
