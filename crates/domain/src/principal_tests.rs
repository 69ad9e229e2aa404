//! Who may do what: every use case that takes a caller, called by every kind of principal (a
//! bearer token and an API key of each role, and the operator), against an explicit table.
//!
//! A caller the table refuses runs against ports that panic on any call, so a check removed
//! fails twice over (no [`Error::Forbidden`], and storage reached); a caller the table admits
//! runs against ports that answer, so a check inverted fails too.

use std::sync::Arc;

use secrecy::SecretString;
use uuid::Uuid;

use super::*;
use crate::account::{AccountService, NewAccount};
use crate::admin::{AdminService, UserUpdate};
use crate::api_key::{ApiKey, ApiKeyService};
use crate::auth::AuthService;
use crate::ports::{MockApiKeyRepository, MockTokenCodec, MockUserRepository};
use crate::testing::{
    MemRefreshTokens, NOW, PlainDigester, STRONG, api_key, bearer, every_principal, fixed_clock,
    ip, policy, ports, random, stored_user, user_with_role,
};
use crate::token::TokenError;

/// Each principal of [`every_principal`] by name.
const ALL: &[&str] = &[
    "bearer user",
    "api key user",
    "bearer service",
    "api key service",
    "bearer admin",
    "api key admin",
    "operator",
];
/// Administrators: an admin's token or key, and the operator.
const ADMINS: &[&str] = &["bearer admin", "api key admin", "operator"];
/// Who may introspect: admins and services, and the operator.
const INTROSPECTORS: &[&str] = &[
    "bearer service",
    "api key service",
    "bearer admin",
    "api key admin",
    "operator",
];
/// Bearer tokens of every role.
const BEARERS: &[&str] = &["bearer user", "bearer service", "bearer admin"];
/// Whoever holds an account: bearer tokens and API keys of every role.
const ACCOUNTS: &[&str] = &[
    "bearer user",
    "api key user",
    "bearer service",
    "api key service",
    "bearer admin",
    "api key admin",
];
/// Bearer tokens of every role, and the operator.
const BEARERS_AND_OPERATOR: &[&str] =
    &["bearer user", "bearer service", "bearer admin", "operator"];
/// The operator alone.
const OPERATOR: &[&str] = &["operator"];

/// Someone else: an account no principal of [`every_principal`] is.
const STRANGER: Uuid = Uuid::from_u128(1234);

/// Asserts the verdict the table gives `name`: let through (any answer but
/// [`Error::Forbidden`]) or refused with [`Error::Forbidden`].
fn verdict<T: std::fmt::Debug>(case: &str, name: &str, allowed: &[&str], r: &Result<T, Error>) {
    let refused = matches!(r, Err(Error::Forbidden));
    assert_eq!(
        !refused,
        allowed.contains(&name),
        "{case} by {name}: got {r:?}"
    );
}

/// Storage that answers every call of the administration use cases.
fn answering_users() -> MockUserRepository {
    let mut users = MockUserRepository::new();
    let user = stored_user(STRONG);
    users.expect_insert().returning(|_, _| Ok(()));
    users.expect_list().returning(|_, _| Ok(Vec::new()));
    let found = user.clone();
    users
        .expect_find_by_id()
        .returning(move |_| Ok(Some(found.clone())));
    let found = user.clone();
    users
        .expect_find_by_email()
        .returning(move |_| Ok(Some(found.clone())));
    users
        .expect_update()
        .returning(move |_, _, _| Ok(user.clone()));
    users.expect_delete().returning(|_, _| Ok(()));
    users
}

/// Ports over these users; a codec that refuses every token and says its issuer.
fn ports_over(users: MockUserRepository) -> crate::auth::Ports {
    let mut tokens = MockTokenCodec::new();
    tokens
        .expect_verify()
        .returning(|_| Err(TokenError::BadSignature));
    ports(
        users,
        tokens,
        Arc::new(fixed_clock()),
        Arc::new(MemRefreshTokens::default()),
    )
}

/// Storage that answers when `allowed`, and panics on any call otherwise.
fn users_for(allowed: bool) -> MockUserRepository {
    if allowed {
        answering_users()
    } else {
        MockUserRepository::new()
    }
}

async fn sessions(users: MockUserRepository) -> AuthService {
    AuthService::new(ports_over(users), policy(true))
        .await
        .unwrap()
}

#[derive(Clone, Copy, Debug)]
enum AdminOp {
    Create,
    List,
    ListAll,
    Get,
    GetByEmail,
    Update,
    Unlock,
    Delete,
}

async fn run_admin(op: AdminOp, svc: &AdminService, caller: &Principal) -> Result<(), Error> {
    let id = STRANGER;
    match op {
        AdminOp::Create => {
            let account = NewAccount {
                email: "new@example.com".into(),
                password: SecretString::from(STRONG),
                display_name: None,
            };
            svc.create_user(caller, account, Role::Admin)
                .await
                .map(drop)
        }
        AdminOp::List => svc.list(caller, None, 50).await.map(drop),
        AdminOp::ListAll => svc.list_all(caller).await.map(drop),
        AdminOp::Get => svc.get(caller, id).await.map(drop),
        AdminOp::GetByEmail => svc.get_by_email(caller, "a@example.com").await.map(drop),
        AdminOp::Update => {
            let update = UserUpdate {
                role: Some(Role::Admin),
                ..UserUpdate::default()
            };
            svc.update(caller, id, update).await.map(drop)
        }
        AdminOp::Unlock => svc.unlock(caller, id).await,
        AdminOp::Delete => svc.delete(caller, id).await,
    }
}

#[tokio::test]
async fn only_admins_and_the_operator_administer_users_by_token_or_key_alike() {
    for op in [
        AdminOp::Create,
        AdminOp::List,
        AdminOp::ListAll,
        AdminOp::Get,
        AdminOp::GetByEmail,
        AdminOp::Update,
        AdminOp::Unlock,
        AdminOp::Delete,
    ] {
        for (name, caller) in every_principal() {
            let allowed = ADMINS.contains(&name.as_str());
            let svc = AdminService::new(ports_over(users_for(allowed)), policy(true).password);
            let r = run_admin(op, &svc, &caller).await;
            verdict(&format!("{op:?}"), &name, ADMINS, &r);
            if allowed {
                r.unwrap();
            }
        }
    }
}

#[tokio::test]
async fn only_admins_services_and_the_operator_introspect() {
    for (name, caller) in every_principal() {
        let svc = sessions(MockUserRepository::new()).await;
        let r = svc.introspect(&caller, "some token").await;
        verdict("introspect", &name, INTROSPECTORS, &r);
        if INTROSPECTORS.contains(&name.as_str()) {
            assert!(r.unwrap().is_none(), "a refused token is inactive");
        }
    }
}

#[tokio::test]
async fn every_account_logs_itself_out_and_the_operator_has_no_session() {
    for (name, caller) in every_principal() {
        let allowed = ACCOUNTS.contains(&name.as_str());
        let svc = sessions(users_for(allowed)).await;
        let r = svc.logout(&caller).await;
        verdict("logout", &name, ACCOUNTS, &r);
        if allowed {
            r.unwrap();
        }
    }
}

#[tokio::test]
async fn only_a_bearer_token_changes_its_password() {
    for (name, caller) in every_principal() {
        let allowed = BEARERS.contains(&name.as_str());
        let svc = AccountService::new(&sessions(users_for(allowed)).await);
        let r = svc
            .change_password(
                &caller,
                SecretString::from(STRONG),
                SecretString::from("a different passphrase entirely 7"),
                ip(1),
            )
            .await;
        verdict("change password", &name, BEARERS, &r);
        if allowed {
            r.unwrap();
        }
    }
}

/// Key storage holding one key of `owner`, answering every call when `allowed` and panicking
/// on any otherwise (but `find_by_id`, which revocation reads before it decides).
fn keys_for(allowed: bool, owner: Uuid) -> ApiKeyService {
    let mut keys = MockApiKeyRepository::new();
    let key = ApiKey {
        id: Uuid::from_u128(5),
        user_id: owner,
        name: "ci".into(),
        prefix: "wdn_lookup123456".into(),
        digest: "d".into(),
        created_at: NOW,
        expires_at: None,
        revoked_at: None,
        last_used_at: None,
    };
    keys.expect_find_by_id()
        .returning(move |_| Ok(Some(key.clone())));
    if allowed {
        keys.expect_insert().returning(|_, _| Ok(()));
        keys.expect_list_for_user().returning(|_| Ok(Vec::new()));
        keys.expect_revoke().returning(|_, _, _| Ok(()));
    }
    ApiKeyService::new(
        Arc::new(keys),
        Arc::new(PlainDigester),
        Arc::new(fixed_clock()),
        Arc::new(random()),
    )
}

/// The caller's own account id; the stranger's for the operator, which has none.
fn own(caller: &Principal) -> Uuid {
    caller.user().map_or(STRANGER, |u| u.id)
}

#[tokio::test]
async fn keys_are_minted_for_oneself_by_bearer_token_and_for_anyone_by_the_operator() {
    for (name, caller) in every_principal() {
        let allowed = BEARERS_AND_OPERATOR.contains(&name.as_str());
        let r = keys_for(allowed, own(&caller))
            .create(&caller, own(&caller), "ci", None)
            .await;
        verdict("create an own key", &name, BEARERS_AND_OPERATOR, &r);
        if allowed {
            r.unwrap();
        }
        let allowed = OPERATOR.contains(&name.as_str());
        let r = keys_for(allowed, STRANGER)
            .create(&caller, STRANGER, "ci", None)
            .await;
        verdict("create another's key", &name, OPERATOR, &r);
    }
}

#[tokio::test]
async fn keys_are_listed_by_their_owner_and_by_the_operator() {
    for (name, caller) in every_principal() {
        let r = keys_for(true, own(&caller))
            .list(&caller, own(&caller))
            .await;
        verdict("list own keys", &name, ALL, &r);
        r.unwrap();
        let allowed = OPERATOR.contains(&name.as_str());
        let r = keys_for(allowed, STRANGER).list(&caller, STRANGER).await;
        verdict("list another's keys", &name, OPERATOR, &r);
    }
}

#[tokio::test]
async fn keys_are_revoked_by_their_owner_and_by_the_operator_and_hidden_from_others() {
    for (name, caller) in every_principal() {
        keys_for(true, own(&caller))
            .revoke(&caller, Uuid::from_u128(5))
            .await
            .unwrap_or_else(|e| panic!("{name} revokes its own key: {e:?}"));
        let allowed = OPERATOR.contains(&name.as_str());
        let r = keys_for(allowed, STRANGER)
            .revoke(&caller, Uuid::from_u128(5))
            .await;
        if allowed {
            r.unwrap();
        } else {
            assert!(matches!(r, Err(Error::NotFound)), "{name}: {r:?}");
        }
    }
}

#[test]
fn a_principal_carries_its_user_role_and_credential() {
    let user = user_with_role(Role::Service);
    let token = bearer(user.clone());
    assert_eq!(token.credential(), Credential::Bearer);
    assert_eq!(token.role(), Role::Service);
    assert_eq!(token.account().unwrap().id, user.id);
    let key = api_key(user.clone());
    assert_eq!(key.credential(), Credential::ApiKey);
    assert_eq!(key.role(), Role::Service);
    assert_eq!(key.user().unwrap().id, user.id);
    let operator = Principal::operator();
    assert_eq!(operator.credential(), Credential::Operator);
    assert_eq!(operator.role(), Role::Admin, "full rights");
    assert!(operator.user().is_none());
    assert!(matches!(operator.account(), Err(Error::Forbidden)));
}

#[test]
fn the_table_names_every_principal() {
    let names: Vec<String> = every_principal().into_iter().map(|(n, _)| n).collect();
    assert_eq!(names, ALL);
}
