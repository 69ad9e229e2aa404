//! The password policy: length bounds in characters and a strength threshold.

use std::fmt;

/// What a candidate password must satisfy; a pure function of its settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PasswordPolicy {
    min_length: usize,
    max_length: usize,
    min_strength: u8,
}

/// One reason a password is refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Violation {
    /// Fewer characters than the minimum.
    TooShort {
        /// The minimum, in characters.
        min: usize,
    },
    /// More characters than the maximum.
    TooLong {
        /// The maximum, in characters.
        max: usize,
    },
    /// Guessable: its estimated strength is below the threshold.
    TooWeak {
        /// The estimated score, 0 to 4.
        score: u8,
        /// The score required.
        min: u8,
        /// Advice from the estimator, if it has any.
        hint: Option<String>,
    },
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TooShort { min } => write!(f, "password must be at least {min} characters"),
            Self::TooLong { max } => write!(f, "password must be at most {max} characters"),
            Self::TooWeak { score, min, hint } => {
                write!(
                    f,
                    "password is too easy to guess (strength {score} of 4, {min} required)"
                )?;
                if let Some(hint) = hint {
                    write!(f, ": {hint}")?;
                }
                Ok(())
            }
        }
    }
}

/// A policy whose bounds contradict each other.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    /// `min_length` is below the floor of 8 characters.
    #[error("password.min_length must be at least 8 (got {0})")]
    MinTooSmall(usize),
    /// `max_length` is below `min_length` or above 1024.
    #[error("password.max_length must be between password.min_length and 1024 (got {0})")]
    MaxOutOfRange(usize),
    /// `min_strength` is above 4.
    #[error("password.min_strength must be between 0 and 4 (got {0})")]
    StrengthOutOfRange(u8),
}

impl PasswordPolicy {
    /// Builds a policy, refusing bounds that make no sense or let trivial passwords through.
    pub fn new(
        min_length: usize,
        max_length: usize,
        min_strength: u8,
    ) -> Result<Self, PolicyError> {
        if min_length < 8 {
            return Err(PolicyError::MinTooSmall(min_length));
        }
        if max_length < min_length || max_length > 1024 {
            return Err(PolicyError::MaxOutOfRange(max_length));
        }
        if min_strength > 4 {
            return Err(PolicyError::StrengthOutOfRange(min_strength));
        }
        Ok(Self {
            min_length,
            max_length,
            min_strength,
        })
    }

    /// Checks a candidate. `related` are words the password must not lean on (the email, its
    /// local part, the display name). Lengths count characters, not bytes.
    pub fn check(&self, candidate: &str, related: &[&str]) -> Result<(), Vec<Violation>> {
        let chars = candidate.chars().count();
        if chars < self.min_length {
            return Err(vec![Violation::TooShort {
                min: self.min_length,
            }]);
        }
        if chars > self.max_length {
            // The estimator's cost grows with the length; never feed it an oversized input.
            return Err(vec![Violation::TooLong {
                max: self.max_length,
            }]);
        }
        let estimate = zxcvbn::zxcvbn(candidate, related);
        let score = u8::from(estimate.score());
        if score < self.min_strength {
            let hint = estimate.feedback().map(|fb| {
                fb.warning().map_or_else(
                    || {
                        fb.suggestions()
                            .iter()
                            .map(ToString::to_string)
                            .collect::<Vec<_>>()
                            .join(" ")
                    },
                    |w| w.to_string(),
                )
            });
            return Err(vec![Violation::TooWeak {
                score,
                min: self.min_strength,
                hint: hint.filter(|h| !h.is_empty()),
            }]);
        }
        Ok(())
    }
}

impl Default for PasswordPolicy {
    /// The defaults of the contract: 12 to 128 characters, strength 3.
    fn default() -> Self {
        Self {
            min_length: 12,
            max_length: 128,
            min_strength: 3,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STRONG: &str = "correct horse battery staple 42";

    #[test]
    fn a_long_unpredictable_password_passes() {
        assert_eq!(PasswordPolicy::default().check(STRONG, &[]), Ok(()));
    }

    #[test]
    fn length_counts_characters_not_bytes() {
        let p = PasswordPolicy::new(12, 16, 0).unwrap();
        // Eleven characters but 22 bytes: still too short.
        let eleven = "é".repeat(11);
        assert_eq!(
            p.check(&eleven, &[]),
            Err(vec![Violation::TooShort { min: 12 }])
        );
        // Sixteen characters, 32 bytes: within the maximum.
        assert_eq!(p.check(&"é".repeat(16), &[]), Ok(()));
        assert_eq!(
            p.check(&"é".repeat(17), &[]),
            Err(vec![Violation::TooLong { max: 16 }])
        );
    }

    #[test]
    fn common_passwords_are_too_weak() {
        let p = PasswordPolicy::default();
        for weak in ["password1234", "qwertyuiop123", "aaaaaaaaaaaaaaaa"] {
            let err = p.check(weak, &[]).unwrap_err();
            assert!(
                matches!(err[0], Violation::TooWeak { min: 3, .. }),
                "{weak}: {err:?}"
            );
        }
    }

    #[test]
    fn the_users_own_email_and_name_weaken_a_password() {
        let p = PasswordPolicy::default();
        let candidate = "quintessa.marlowe";
        // Without context it passes; with the user's own words it does not.
        assert_eq!(p.check(candidate, &[]), Ok(()));
        let related = ["quintessa.marlowe@example.com", "quintessa.marlowe"];
        assert!(p.check(candidate, &related).is_err());
    }

    #[test]
    fn violations_read_as_sentences() {
        let v = Violation::TooShort { min: 12 };
        assert_eq!(v.to_string(), "password must be at least 12 characters");
    }

    #[test]
    fn nonsensical_policies_are_refused() {
        assert_eq!(
            PasswordPolicy::new(4, 128, 3),
            Err(PolicyError::MinTooSmall(4))
        );
        assert_eq!(
            PasswordPolicy::new(12, 10, 3),
            Err(PolicyError::MaxOutOfRange(10))
        );
        assert_eq!(
            PasswordPolicy::new(12, 128, 5),
            Err(PolicyError::StrengthOutOfRange(5))
        );
    }
}
