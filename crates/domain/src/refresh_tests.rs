//! Tests of refresh rotation, reuse detection, the grace, expiry and revocation, with a hand
//! clock and an in-memory store (plus mocks where a race must be staged).

use std::sync::{Arc, Mutex};

use secrecy::{ExposeSecret, SecretString};
use time::Duration;

use crate::Error;
use crate::auth::{AuthService, Ports};
use crate::ports::{MockRefreshTokenRepository, MockTokenCodec, MockUserRepository};
use crate::testing::{HandClock, MemRefreshTokens, NOW, STRONG, ip, policy, ports, stored_user};
use crate::token::IssuedTokens;
use crate::user::User;

struct Fixture {
    svc: AuthService,
    clock: Arc<HandClock>,
    store: Arc<MemRefreshTokens>,
    /// What storage holds for the user; `None` once deleted.
    user: Arc<Mutex<Option<User>>>,
}

/// A codec whose tokens spell out their claims, so equal pairs are visible as equal strings.
fn spelling_codec() -> MockTokenCodec {
    let mut tokens = MockTokenCodec::new();
    tokens.expect_sign().returning(|c| {
        Ok(SecretString::from(format!(
            "at:{}:{}:{}",
            c.token_id,
            c.issued_at.unix_timestamp(),
            c.session_version
        )))
    });
    tokens
}

fn users_backed_by(user: &Arc<Mutex<Option<User>>>) -> MockUserRepository {
    let mut users = MockUserRepository::new();
    let by_email = user.clone();
    users
        .expect_find_by_email()
        .returning(move |_| Ok(by_email.lock().unwrap().clone()));
    let by_id = user.clone();
    users
        .expect_find_by_id()
        .returning(move |_| Ok(by_id.lock().unwrap().clone()));
    users
}

async fn fixture(grace_seconds: i64) -> Fixture {
    let user = Arc::new(Mutex::new(Some(stored_user(STRONG))));
    let clock = Arc::new(HandClock(Mutex::new(NOW)));
    let store = Arc::new(MemRefreshTokens::default());
    let ports = ports(
        users_backed_by(&user),
        spelling_codec(),
        clock.clone(),
        store.clone(),
    );
    Fixture {
        svc: service(ports, grace_seconds).await,
        clock,
        store,
        user,
    }
}

async fn service(ports: Ports, grace_seconds: i64) -> AuthService {
    let mut policy = policy(true);
    policy.reuse_grace = Duration::seconds(grace_seconds);
    AuthService::new(ports, policy).await.unwrap()
}

impl Fixture {
    async fn login(&self) -> IssuedTokens {
        self.svc
            .login("alice@example.com", SecretString::from(STRONG), ip(1))
            .await
            .unwrap()
            .1
    }

    async fn refresh(&self, token: &SecretString) -> Result<IssuedTokens, Error> {
        self.svc
            .refresh(token.expose_secret(), &ip(1).into())
            .await
            .map(|(_, pair)| pair)
    }

    fn advance(&self, by: Duration) {
        *self.clock.0.lock().unwrap() += by;
    }

    fn edit_user(&self, f: impl FnOnce(&mut Option<User>)) {
        f(&mut self.user.lock().unwrap());
    }
}

fn secret(t: &IssuedTokens) -> &str {
    t.refresh_token.expose_secret()
}

#[tokio::test]
async fn a_login_stores_only_the_digest_of_a_family_that_ends_after_the_refresh_ttl() {
    let f = fixture(0).await;
    let pair = f.login().await;

    let rows = f.store.rows();
    assert_eq!(rows.len(), 1);
    let row = &rows[0];
    assert_eq!(row.digest, format!("d:{}", secret(&pair)));
    assert_ne!(row.digest, secret(&pair));
    assert_eq!((row.family_id, row.parent_id), (row.id, None));
    assert_eq!(row.expires_at, NOW + Duration::days(30));
    assert_eq!(row.session_version, 3);
    // The access token goes with the row: `jti` is the row's id.
    assert_eq!(
        pair.access_token.expose_secret(),
        format!("at:{}:{}:3", row.id, NOW.unix_timestamp())
    );
}

#[tokio::test]
async fn a_refresh_rotates_and_presenting_the_parent_again_revokes_the_family() {
    let f = fixture(0).await;
    let first = f.login().await;
    f.advance(Duration::minutes(20));

    let second = f.refresh(&first.refresh_token).await.unwrap();
    assert_ne!(secret(&second), secret(&first));
    assert_ne!(
        second.access_token.expose_secret(),
        first.access_token.expose_secret()
    );
    assert_eq!(second.expires_in, 900);
    let rows = f.store.rows();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0].rotated_at, Some(NOW + Duration::minutes(20)));
    assert_eq!(rows[1].parent_id, Some(rows[0].id));
    assert_eq!(rows[1].family_id, rows[0].family_id);
    assert_eq!(
        rows[1].expires_at, rows[0].expires_at,
        "the chain's end is fixed"
    );

    // The old token stops working, and its reuse takes the successor down with it.
    let reuse = f.refresh(&first.refresh_token).await.unwrap_err();
    assert!(matches!(reuse, Error::InvalidRefreshToken));
    assert!(f.store.rows().iter().all(|t| t.revoked_at.is_some()));
    let successor = f.refresh(&second.refresh_token).await.unwrap_err();
    assert!(matches!(successor, Error::InvalidRefreshToken));
}

#[tokio::test]
async fn a_reuse_leaves_the_users_other_logins_alone() {
    let f = fixture(0).await;
    let phone = f.login().await;
    let laptop = f.login().await;
    f.refresh(&phone.refresh_token).await.unwrap();
    f.refresh(&phone.refresh_token).await.unwrap_err();

    let still = f.refresh(&laptop.refresh_token).await.unwrap();
    assert!(f.refresh(&still.refresh_token).await.is_ok());
}

#[tokio::test]
async fn within_the_grace_a_replay_gets_the_same_pair_and_after_it_a_reuse() {
    let f = fixture(10).await;
    let first = f.login().await;
    let second = f.refresh(&first.refresh_token).await.unwrap();

    f.advance(Duration::seconds(9));
    let replay = f.refresh(&first.refresh_token).await.unwrap();
    assert_eq!(secret(&replay), secret(&second));
    assert_eq!(
        replay.access_token.expose_secret(),
        second.access_token.expose_secret()
    );
    assert_eq!(replay.expires_in, 900 - 9);
    assert_eq!(f.store.rows().len(), 2, "a replay stores nothing new");

    f.advance(Duration::seconds(1));
    let late = f.refresh(&first.refresh_token).await.unwrap_err();
    assert!(matches!(late, Error::InvalidRefreshToken));
    assert!(f.refresh(&second.refresh_token).await.is_err());
}

#[tokio::test]
async fn within_the_grace_a_replay_after_the_successor_was_used_is_still_a_reuse() {
    let f = fixture(10).await;
    let first = f.login().await;
    let second = f.refresh(&first.refresh_token).await.unwrap();
    let third = f.refresh(&second.refresh_token).await.unwrap();

    assert!(f.refresh(&first.refresh_token).await.is_err());
    assert!(f.refresh(&third.refresh_token).await.is_err());
}

#[tokio::test]
async fn the_chain_ends_at_the_login_plus_the_refresh_ttl_however_often_it_rotates() {
    let f = fixture(0).await;
    let first = f.login().await;
    f.advance(Duration::days(30) - Duration::seconds(1));
    let last = f.refresh(&first.refresh_token).await.unwrap();

    f.advance(Duration::seconds(1));
    let expired = f.refresh(&last.refresh_token).await.unwrap_err();
    assert!(matches!(expired, Error::InvalidRefreshToken));
    assert!(
        f.store.rows().iter().all(|t| t.revoked_at.is_none()),
        "an expired token is refused, not treated as a reuse"
    );
}

#[tokio::test]
async fn an_ended_session_a_disabled_user_and_a_deleted_user_end_refresh_tokens() {
    type Edit = fn(&mut Option<User>);
    let edits: [(&str, Edit); 3] = [
        ("logout or password change", |u| {
            u.as_mut().unwrap().session_version += 1;
        }),
        ("disabled", |u| u.as_mut().unwrap().disabled = true),
        ("deleted", |u| *u = None),
    ];
    for (case, edit) in edits {
        let f = fixture(0).await;
        let pair = f.login().await;
        f.edit_user(edit);
        let err = f.refresh(&pair.refresh_token).await.unwrap_err();
        assert!(matches!(err, Error::InvalidRefreshToken), "{case}: {err:?}");
    }
}

#[tokio::test]
async fn an_unknown_token_is_refused() {
    let f = fixture(10).await;
    f.login().await;
    let err = f.refresh(&SecretString::from("made-up")).await.unwrap_err();
    assert!(matches!(err, Error::InvalidRefreshToken));
}

#[tokio::test]
async fn revocation_ends_one_family_and_ignores_what_it_does_not_know() {
    let f = fixture(0).await;
    let phone = f.login().await;
    let laptop = f.login().await;
    let next = f.refresh(&phone.refresh_token).await.unwrap();

    f.svc
        .revoke_refresh_token(secret(&phone), &ip(1).into())
        .await
        .unwrap();
    assert!(f.refresh(&next.refresh_token).await.is_err());
    f.svc
        .revoke_refresh_token("made-up", &ip(1).into())
        .await
        .unwrap();
    f.svc
        .revoke_refresh_token(laptop.access_token.expose_secret(), &ip(1).into())
        .await
        .unwrap();
    assert!(f.refresh(&laptop.refresh_token).await.is_ok());
}

#[tokio::test]
async fn the_loser_of_a_rotation_race_is_a_reuse_that_revokes_the_family() {
    let user = Arc::new(Mutex::new(Some(stored_user(STRONG))));
    let owner = user.lock().unwrap().clone().unwrap();
    let row = crate::refresh::RefreshToken {
        id: crate::testing::fresh_id(),
        family_id: crate::testing::fresh_id(),
        user_id: owner.id,
        parent_id: None,
        digest: "d:raced".into(),
        session_version: owner.session_version,
        issued_at: NOW,
        expires_at: NOW + Duration::days(30),
        rotated_at: None,
        revoked_at: None,
        second_factor: false,
        client_id: None,
    };
    let family = row.family_id;
    let mut store = MockRefreshTokenRepository::new();
    store
        .expect_find_by_digest()
        .withf(|d| d == "d:raced")
        .returning(move |_| Ok(Some(row.clone())));
    // Storage says another request rotated it first.
    store
        .expect_rotate()
        .times(1)
        .returning(|_, _, _| Ok(false));
    store
        .expect_revoke_family()
        .withf(move |_, id, at, _| *id == family && *at == NOW)
        .times(1)
        .returning(|_, _, _, _| Ok(true));
    let clock = Arc::new(HandClock(Mutex::new(NOW)));
    let svc = service(
        ports(
            users_backed_by(&user),
            spelling_codec(),
            clock,
            Arc::new(store),
        ),
        0,
    )
    .await;

    let err = svc.refresh("raced", &ip(1).into()).await.unwrap_err();
    assert!(matches!(err, Error::InvalidRefreshToken));
}

#[tokio::test]
async fn a_session_of_a_client_is_refreshed_by_that_client_alone_and_a_refusal_changes_nothing() {
    let f = fixture(0).await;
    let as_client = |client: Option<&str>| {
        crate::origin::Origin::from(ip(1)).for_client(client.map(str::to_owned))
    };
    let pair = f
        .svc
        .login(
            "alice@example.com",
            SecretString::from(STRONG),
            as_client(Some("app")),
        )
        .await
        .unwrap()
        .1;
    assert_eq!(f.store.rows()[0].client_id.as_deref(), Some("app"));
    for other in [None, Some("other"), Some("App"), Some("")] {
        let refused = f.svc.refresh(secret(&pair), &as_client(other)).await;
        assert!(
            matches!(refused, Err(Error::InvalidRefreshToken)),
            "{other:?}"
        );
    }
    assert_eq!(f.store.rows().len(), 1, "no rotation, no revocation");
    assert!(f.store.rows()[0].revoked_at.is_none());
    let (_, next) = f
        .svc
        .refresh(secret(&pair), &as_client(Some("app")))
        .await
        .unwrap();
    assert_eq!(
        f.store.rows()[1].client_id.as_deref(),
        Some("app"),
        "the child is the client's"
    );
    let refused = f.svc.refresh(secret(&next), &as_client(None)).await;
    assert!(matches!(refused, Err(Error::InvalidRefreshToken)));

    // And the built-in client's session is not a registered client's to refresh.
    let own = f.login().await;
    let refused = f.svc.refresh(secret(&own), &as_client(Some("app"))).await;
    assert!(matches!(refused, Err(Error::InvalidRefreshToken)));
    assert!(f.refresh(&own.refresh_token).await.is_ok());
}
