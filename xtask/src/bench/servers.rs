//! The servers one bench run loads (this build, the same with its metrics on, the build without
//! its edge, this build with its limits in Redis, and the `--baseline` build) and the account it signs in with on them.

use std::path::Path;

use super::scenarios::{EMAIL, PASSWORD, Target};
use super::wrk::Fleet;
use crate::Result;
use crate::server::{self, Server};
use crate::services::redis_answers;

/// The Redis the shared-limit scenario uses when it answers.
const REDIS_URL: &str = "redis://127.0.0.1:6379";

/// Every server of one run.
#[derive(Debug)]
pub(super) struct Servers {
    pub(super) warden: Server,
    /// This build again, with its metrics listener on.
    pub(super) metered: Server,
    bare: Server,
    /// `None` when no Redis answers here.
    shared: Option<Server>,
    /// `None` without `--baseline`.
    pub(super) baseline: Option<Server>,
}

impl Servers {
    pub(super) fn start(baseline: Option<&Path>) -> Result<Self> {
        let binary = server::binary_path("release");
        let warden = Server::start_with(&binary, &server::UNLIMITED)?;
        let metered = Server::start_with(
            &binary,
            &[
                &server::UNLIMITED[..],
                &[("WARDEN_METRICS__BIND", "127.0.0.1:0")],
            ]
            .concat(),
        )?;
        let bare = Server::start(&server::example_path("bare_health"))?;
        let shared = if redis_answers(REDIS_URL) {
            let mut vars = server::UNLIMITED.to_vec();
            vars.push(("WARDEN_REDIS__URL", REDIS_URL));
            Some(Server::start_with(&binary, &vars)?)
        } else {
            println!("no Redis answers at {REDIS_URL}: the shared-limit scenario is skipped");
            None
        };
        let baseline = baseline
            .map(|binary| Server::start_with(binary, &server::UNLIMITED))
            .transpose()?;
        Ok(Self {
            warden,
            metered,
            bare,
            shared,
            baseline,
        })
    }

    pub(super) fn ensure_running(&mut self) -> Result {
        self.warden.ensure_running()?;
        self.metered.ensure_running()?;
        self.bare.ensure_running()?;
        if let Some(baseline) = &mut self.baseline {
            baseline.ensure_running()?;
        }
        self.shared.as_mut().map_or(Ok(()), Server::ensure_running)
    }

    pub(super) fn stop(self) {
        self.warden.stop();
        self.metered.stop();
        self.bare.stop();
        if let Some(shared) = self.shared {
            shared.stop();
        }
        if let Some(baseline) = self.baseline {
            baseline.stop();
        }
    }
}

impl Fleet for Servers {
    fn get(&self, target: Target) -> Option<&Server> {
        match target {
            Target::Warden => Some(&self.warden),
            Target::Metered => Some(&self.metered),
            Target::Bare => Some(&self.bare),
            Target::Shared => self.shared.as_ref(),
            Target::Baseline => self.baseline.as_ref(),
            Target::Instance(_) => None,
        }
    }
}

/// Registers the benchmark account and returns an access token for it.
pub(super) fn sign_in(server: &Server) -> Result<String> {
    server.client().register(EMAIL, PASSWORD)?;
    let token = server.client().password_token(EMAIL, PASSWORD)?;
    println!("registered {EMAIL} and got an access token");
    Ok(token)
}
