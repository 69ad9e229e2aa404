//! The API's resources, one `#[OpenApi]` impl each, combined into one document.

pub mod admin;
pub mod api_keys;
pub mod audit;
pub mod auth;
pub mod clients;
pub mod discovery;
pub mod health;
pub mod import;
pub mod mfa;
pub mod recovery;
pub mod sessions;
pub mod users;

/// Tags grouping the operations in the document.
#[derive(Debug, poem_openapi::Tags)]
pub enum Tag {
    /// Sign-up and tokens.
    Auth,
    /// The caller's own account.
    Users,
    /// User administration (role `admin`).
    Admin,
    /// The caller's API keys (bearer token only).
    ApiKeys,
    /// Liveness, readiness and keys.
    Operations,
}

/// Every resource, as one API.
pub type Api = (
    auth::AuthApi,
    users::UsersApi,
    mfa::MfaApi,
    recovery::RecoveryApi,
    sessions::SessionsApi,
    admin::AdminApi,
    clients::ClientsApi,
    import::ImportApi,
    audit::AuditApi,
    api_keys::ApiKeysApi,
    health::HealthApi,
    discovery::DiscoveryApi,
);

/// Every resource, as one API.
pub fn api() -> Api {
    (
        auth::AuthApi,
        users::UsersApi,
        mfa::MfaApi,
        recovery::RecoveryApi,
        sessions::SessionsApi,
        admin::AdminApi,
        clients::ClientsApi,
        import::ImportApi,
        audit::AuditApi,
        api_keys::ApiKeysApi,
        health::HealthApi,
        discovery::DiscoveryApi,
    )
}
