//! The sea-orm entities (2.0 format).

/// The `users` table.
pub mod user {
    use sea_orm::entity::prelude::*;

    /// A stored user row.
    #[sea_orm::model]
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "users")]
    pub struct Model {
        /// UUID v7.
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        /// As registered.
        pub email: String,
        /// Lower-cased, unique (`ux_users_email`).
        pub email_normalized: String,
        /// The confusable skeleton (Unicode TS #39) of `email_normalized`, unique
        /// (`ux_users_email_skeleton`), so that no two accounts look alike. Null only for an
        /// account that already had a look-alike when the column was added.
        pub email_skeleton: Option<String>,
        /// Optional name.
        pub display_name: Option<String>,
        /// `admin`, `service` or `user`.
        pub role: String,
        /// Disabled accounts cannot authenticate.
        pub disabled: bool,
        /// PHC string.
        pub password_hash: String,
        /// Bumped to end every earlier session.
        pub session_version: i64,
        /// Creation time.
        pub created_at: TimeDateTimeWithTimeZone,
        /// Last change.
        pub updated_at: TimeDateTimeWithTimeZone,
        /// When the address was verified, if it was.
        pub email_verified_at: Option<TimeDateTimeWithTimeZone>,
        /// When its second factor was confirmed, if it has one.
        pub mfa_enabled_at: Option<TimeDateTimeWithTimeZone>,
    }

    impl ActiveModelBehavior for ActiveModel {}
}

/// The `api_keys` table.
pub mod api_key {
    use sea_orm::entity::prelude::*;

    /// A stored API key: its digest, never the key.
    #[sea_orm::model]
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "api_keys")]
    pub struct Model {
        /// UUID v7.
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        /// The owner; rows go with their user.
        pub user_id: Uuid,
        /// Label.
        pub name: String,
        /// `wdn_` + lookup id, unique (`ux_api_keys_prefix`).
        pub prefix: String,
        /// SHA-256 of the whole key, hex.
        pub digest: String,
        /// Creation time.
        pub created_at: TimeDateTimeWithTimeZone,
        /// Expiry, if any.
        pub expires_at: Option<TimeDateTimeWithTimeZone>,
        /// Revocation time, if revoked.
        pub revoked_at: Option<TimeDateTimeWithTimeZone>,
        /// Last use, to the minute.
        pub last_used_at: Option<TimeDateTimeWithTimeZone>,
    }

    impl ActiveModelBehavior for ActiveModel {}
}

/// The `login_throttles` table.
pub mod login_throttle {
    use sea_orm::entity::prelude::*;

    /// Failure count and lock of one subject and scope.
    #[sea_orm::model]
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "login_throttles")]
    pub struct Model {
        /// The subject: a user's id, or the stand-in id of a username that names no user (no
        /// foreign key, so that both are counted alike; see `LockoutRepository::purge`).
        #[sea_orm(primary_key, auto_increment = false)]
        pub user_id: Uuid,
        /// A client IP, or `account`.
        #[sea_orm(primary_key, auto_increment = false)]
        pub scope: String,
        /// Attempts counted since the last lock, success or unlock.
        pub failures: i32,
        /// When the lock ends, in microseconds since the Unix epoch: an integer compares the
        /// same way in SQL on SQLite and PostgreSQL.
        pub locked_until_micros: Option<i64>,
        /// Locks in a row.
        pub locks_in_a_row: i32,
    }

    impl ActiveModelBehavior for ActiveModel {}
}

/// The `refresh_tokens` table.
pub mod refresh_token {
    use sea_orm::entity::prelude::*;

    /// A stored refresh token: its digest and its place in a family, never the secret.
    #[sea_orm::model]
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "refresh_tokens")]
    pub struct Model {
        /// UUID v7; also the `jti` of the access token issued with it.
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        /// The first token of the family (one family per login).
        pub family_id: Uuid,
        /// The owner; rows go with their user.
        pub user_id: Uuid,
        /// The token this one replaced; unique (`ux_refresh_tokens_parent`).
        pub parent_id: Option<Uuid>,
        /// SHA-256 of the secret, hex; unique (`ux_refresh_tokens_digest`).
        pub digest: String,
        /// The owner's session version at login.
        pub session_version: i64,
        /// Issue time.
        pub issued_at: TimeDateTimeWithTimeZone,
        /// The family's absolute end.
        pub expires_at: TimeDateTimeWithTimeZone,
        /// When it was used and replaced.
        pub rotated_at: Option<TimeDateTimeWithTimeZone>,
        /// When its family was revoked.
        pub revoked_at: Option<TimeDateTimeWithTimeZone>,
        /// The session's: the login's client IP (first row of a family only).
        pub client_ip: Option<String>,
        /// The session's: the login's user agent (first row of a family only).
        pub user_agent: Option<String>,
        /// The session's: its last refresh (first row of a family only).
        pub last_used_at: Option<TimeDateTimeWithTimeZone>,
        /// Whether the family's login proved a second factor.
        pub second_factor: bool,
        /// The registered client the family's login was for; `None` for the built-in client.
        pub client_id: Option<String>,
    }

    impl ActiveModelBehavior for ActiveModel {}
}

/// The `audit_events` table.
pub mod audit_event {
    use sea_orm::entity::prelude::*;

    /// One recorded event; never a secret.
    #[sea_orm::model]
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "audit_events")]
    pub struct Model {
        /// UUID v7: time-ordered, the cursor of the trail's pages.
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        /// When (`ix_audit_events_at`, for retention and time ranges).
        pub at: TimeDateTimeWithTimeZone,
        /// `login.failed` and the like (`ix_audit_events_kind`).
        pub kind: String,
        /// `user`, `api_key`, `operator` or `anonymous`.
        pub actor_kind: String,
        /// The acting user (`ix_audit_events_actor`).
        pub actor_id: Option<Uuid>,
        /// The account it was about (`ix_audit_events_subject`); no foreign key: events
        /// outlive their account.
        pub subject_id: Option<Uuid>,
        /// The client IP.
        pub ip: Option<String>,
        /// The client's user agent.
        pub user_agent: Option<String>,
        /// `success` or `failure`.
        pub outcome: String,
        /// A JSON object of names and ids.
        pub details: String,
    }

    impl ActiveModelBehavior for ActiveModel {}
}

/// The `mfa_totp` table.
pub mod mfa_totp {
    use sea_orm::entity::prelude::*;

    /// A user's TOTP factor: its secret sealed, never in clear.
    #[sea_orm::model]
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "mfa_totp")]
    pub struct Model {
        /// The owner; one factor a user, gone with it.
        #[sea_orm(primary_key, auto_increment = false)]
        pub user_id: Uuid,
        /// Which key sealed the secret.
        pub key_id: String,
        /// The sealed secret.
        pub secret: String,
        /// When it was confirmed; null while pending.
        pub confirmed_at: Option<TimeDateTimeWithTimeZone>,
        /// The last step a code was accepted for.
        pub last_step: i64,
        /// When the enrolment began.
        pub created_at: TimeDateTimeWithTimeZone,
    }

    impl ActiveModelBehavior for ActiveModel {}
}

/// The `mfa_recovery_codes` table.
pub mod mfa_recovery_code {
    use sea_orm::entity::prelude::*;

    /// A recovery code: its digest, never the code.
    #[sea_orm::model]
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "mfa_recovery_codes")]
    pub struct Model {
        /// UUID v7.
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        /// The owner.
        pub user_id: Uuid,
        /// SHA-256 of the normalised code, hex.
        pub digest: String,
        /// When it was used; a spent code never works again.
        pub spent_at: Option<TimeDateTimeWithTimeZone>,
    }

    impl ActiveModelBehavior for ActiveModel {}
}

/// The `mfa_challenges` table.
pub mod mfa_challenge {
    use sea_orm::entity::prelude::*;

    /// A login waiting for its second factor: the digest of its `mfa_token`, never the token.
    #[sea_orm::model]
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "mfa_challenges")]
    pub struct Model {
        /// UUID v7.
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        /// SHA-256 of the `mfa_token`, hex; unique.
        pub digest: String,
        /// The user whose password was right.
        pub user_id: Uuid,
        /// Its session version then.
        pub session_version: i64,
        /// Its end.
        pub expires_at: TimeDateTimeWithTimeZone,
    }

    impl ActiveModelBehavior for ActiveModel {}
}

/// The `account_tokens` table.
pub mod account_token {
    use sea_orm::entity::prelude::*;

    /// A link's token: its digest, never the token; one per user and purpose.
    #[sea_orm::model]
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "account_tokens")]
    pub struct Model {
        /// UUID v7.
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        /// The account, gone with it.
        pub user_id: Uuid,
        /// `verify_email`, `password_reset` or `email_change`.
        pub purpose: String,
        /// SHA-256 of the token, hex; unique.
        pub digest: String,
        /// The address the link went to.
        pub email: String,
        /// The user's session version when it was issued.
        pub session_version: i64,
        /// When it was issued (the throttle compares it).
        pub created_at: TimeDateTimeWithTimeZone,
        /// Its end.
        pub expires_at: TimeDateTimeWithTimeZone,
    }

    impl ActiveModelBehavior for ActiveModel {}
}

/// The `mail_outbox` table.
pub mod mail_outbox {
    use sea_orm::entity::prelude::*;

    /// A message waiting to be sent; its body is emptied once it is sent or given up.
    #[sea_orm::model]
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "mail_outbox")]
    pub struct Model {
        /// UUID v7.
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        /// The recipient's address.
        pub recipient: String,
        /// The subject line.
        pub subject: String,
        /// The plain-text part.
        pub body_text: String,
        /// The HTML part.
        pub body_html: String,
        /// When it was queued.
        pub created_at: TimeDateTimeWithTimeZone,
        /// Failed attempts so far.
        pub attempts: i32,
        /// When it is due (or, while claimed, when its lease ends).
        pub next_attempt_at: TimeDateTimeWithTimeZone,
        /// When it was sent.
        pub sent_at: Option<TimeDateTimeWithTimeZone>,
        /// When it was given up.
        pub dead_at: Option<TimeDateTimeWithTimeZone>,
        /// The last failure, as the transport said it.
        pub last_error: Option<String>,
    }

    impl ActiveModelBehavior for ActiveModel {}
}

/// The `oauth_clients` table.
pub mod oauth_client {
    use sea_orm::entity::prelude::*;

    /// A registered client; its secret only as a digest.
    #[sea_orm::model]
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "oauth_clients")]
    pub struct Model {
        /// `client_id`.
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        /// The name to show.
        pub name: String,
        /// No secret: a browser or native app.
        pub public: bool,
        /// Never asked for consent.
        pub first_party: bool,
        /// The `aud` of its tokens, when its own.
        pub audience: Option<String>,
        /// Its redirect URIs, grants, scopes and post-logout redirect URIs, as JSON.
        pub lists: String,
        /// SHA-256 of its secret, hex; `None` for a public client.
        pub secret_digest: Option<String>,
        /// When it was registered.
        pub created_at: TimeDateTimeWithTimeZone,
        /// When it last changed.
        pub updated_at: TimeDateTimeWithTimeZone,
    }

    impl ActiveModelBehavior for ActiveModel {}
}
