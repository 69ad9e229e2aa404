//! The machine's PostgreSQL and Redis as the tasks use them: a database of one run, and
//! whether a Redis answers.

use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::process::Command;
use std::time::Duration;

use crate::{Result, run_command};

/// A database of this run on the machine's PostgreSQL.
pub(crate) struct Database {
    name: String,
}

impl Database {
    pub(crate) fn create(purpose: &str) -> Result<Self> {
        let name = format!("warden_{purpose}_{}", std::process::id());
        run_command(Command::new("createdb").args(["-h", "127.0.0.1", "-U", "postgres", &name]))?;
        Ok(Self { name })
    }

    pub(crate) fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:5432/{}", self.name)
    }

    pub(crate) fn drop_it(self) {
        let _ = Command::new("dropdb")
            .args(["-h", "127.0.0.1", "-U", "postgres", "--force", &self.name])
            .status();
    }
}

/// Whether a Redis answers `PING` at `url` (`redis://HOST:PORT`).
pub(crate) fn redis_answers(url: &str) -> bool {
    let address = url.trim_start_matches("redis://");
    let Ok(mut stream) = TcpStream::connect(address) else {
        return false;
    };
    let mut reply = [0_u8; 5];
    stream
        .set_read_timeout(Some(Duration::from_secs(2)))
        .is_ok()
        && stream.write_all(b"PING\r\n").is_ok()
        && stream.read_exact(&mut reply).is_ok()
        && &reply == b"+PONG"
}
