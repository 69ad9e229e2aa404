//! Rates such as `"10/minute"`: the `rate_limit.*` values, parsed and printed.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// The unit of a [`Rate`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RatePeriod {
    /// Per second.
    Second,
    /// Per minute.
    Minute,
    /// Per hour.
    Hour,
}

/// A rate such as `"10/minute"`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(try_from = "String", into = "String")]
pub struct Rate {
    /// Requests allowed per period (at least 1).
    pub count: u32,
    /// The period.
    pub period: RatePeriod,
}

impl Rate {
    /// A rate of `count` per `period`.
    pub const fn new(count: u32, period: RatePeriod) -> Self {
        Self { count, period }
    }

    /// The period as a duration.
    pub fn period_duration(self) -> Duration {
        Duration::from_secs(match self.period {
            RatePeriod::Second => 1,
            RatePeriod::Minute => 60,
            RatePeriod::Hour => 3600,
        })
    }
}

/// A text that is not a rate. The value is not quoted: a secret put under the wrong key must
/// not be printed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("is not a rate like \"10/minute\" (N/second, N/minute or N/hour, N ≥ 1)")]
pub struct RateError {
    /// Why the count did not parse, when that was the fault.
    #[source]
    count: Option<std::num::ParseIntError>,
}

impl RateError {
    const SHAPE: Self = Self { count: None };
}

impl FromStr for Rate {
    type Err = RateError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (n, unit) = s.trim().split_once('/').ok_or(RateError::SHAPE)?;
        let count: u32 = n.trim().parse().map_err(|e| RateError { count: Some(e) })?;
        let period = match unit.trim() {
            "second" => RatePeriod::Second,
            "minute" => RatePeriod::Minute,
            "hour" => RatePeriod::Hour,
            _ => return Err(RateError::SHAPE),
        };
        if count == 0 {
            return Err(RateError::SHAPE);
        }
        Ok(Self { count, period })
    }
}

impl TryFrom<String> for Rate {
    type Error = RateError;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<Rate> for String {
    fn from(r: Rate) -> Self {
        r.to_string()
    }
}

impl fmt::Display for Rate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let unit = match self.period {
            RatePeriod::Second => "second",
            RatePeriod::Minute => "minute",
            RatePeriod::Hour => "hour",
        };
        write!(f, "{}/{unit}", self.count)
    }
}
