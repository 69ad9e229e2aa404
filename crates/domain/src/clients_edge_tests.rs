//! The client use cases at their edges: introspection of client tokens as the client changes,
//! ids no client can have, and rows at odds with themselves.

use std::sync::Arc;

use secrecy::{ExposeSecret, SecretString};
use time::Duration;

use super::tests::{auth, codec, machine, operator, service, spa};
use super::*;
use crate::auth::AuthService;
use crate::ports::MockUserRepository;
use crate::testing::{MemRefreshTokens, NOW, every_principal, fixed_clock, policy, ports};
use crate::user::Role;

async fn auth_service() -> AuthService {
    let ports = ports(
        MockUserRepository::new(),
        codec(),
        Arc::new(fixed_clock()),
        Arc::new(MemRefreshTokens::default()),
    );
    AuthService::new(ports, policy(true)).await.unwrap()
}

#[tokio::test]
async fn a_client_token_is_active_while_its_client_may_still_have_it() {
    let (svc, _) = service();
    let auth = auth_service().await;
    let client = svc.create(&operator(), machine()).await.unwrap().client;
    let token = svc.client_credentials(&client, None).unwrap().access_token;
    let token = token.expose_secret();
    let as_client = Inspector::Client(&client);
    match svc.introspect(&auth, as_client, token).await.unwrap() {
        Some(Seen::Client(claims, issuer)) => {
            assert_eq!(claims.client_id, client.id);
            assert_eq!(issuer, "https://id.example");
        }
        other => panic!("{other:?}"),
    }
    let unknown = svc
        .introspect(&auth, as_client, "ct|gone|read|https://api.example|0")
        .await
        .unwrap();
    assert!(unknown.is_none(), "a token of no registered client");
    assert!(
        svc.introspect(&auth, as_client, "junk")
            .await
            .unwrap()
            .is_none()
    );
    let narrowed = ClientUpdate {
        grant_types: Some(vec![GrantType::Password]),
        ..ClientUpdate::default()
    };
    svc.update(&operator(), &client.id, narrowed).await.unwrap();
    assert!(
        svc.introspect(&auth, as_client, token)
            .await
            .unwrap()
            .is_none()
    );
    svc.delete(&operator(), &client.id).await.unwrap();
    assert!(
        svc.introspect(&auth, as_client, token)
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn a_principal_must_be_allowed_to_introspect_before_the_token_is_read() {
    let (svc, _) = service();
    let auth = auth_service().await;
    let client = svc.create(&operator(), machine()).await.unwrap().client;
    let token = svc.client_credentials(&client, None).unwrap().access_token;
    for (name, caller) in every_principal() {
        let may = matches!(caller.role(), Role::Admin | Role::Service);
        let seen = svc
            .introspect(&auth, Inspector::Principal(&caller), token.expose_secret())
            .await;
        match seen {
            Ok(Some(Seen::Client(..))) => assert!(may, "{name}"),
            Err(Error::Forbidden) => assert!(!may, "{name}"),
            other => panic!("{name}: {other:?}"),
        }
    }
}

#[test]
fn granted_scope_is_every_allowed_one_when_none_is_asked() {
    let allowed = vec!["a".to_owned(), "b".to_owned()];
    assert_eq!(granted_scope(&allowed, None).unwrap(), allowed);
    assert_eq!(granted_scope(&[], None).unwrap(), Vec::<String>::new());
    assert!(matches!(
        granted_scope(&[], Some("a")),
        Err(Error::InvalidScope)
    ));
    assert_eq!(granted_scope(&allowed, Some("b a")).unwrap(), ["b", "a"]);
}

#[tokio::test]
async fn a_client_token_ends_when_its_client_is_narrowed_or_its_audience_moves() {
    let (svc, _) = service();
    let auth = auth_service().await;
    let client = svc.create(&operator(), machine()).await.unwrap().client;
    let both = svc.client_credentials(&client, None).unwrap().access_token;
    let read = svc
        .client_credentials(&client, Some("read"))
        .unwrap()
        .access_token;
    let seen = |token: &SecretString| {
        let token = token.expose_secret().to_owned();
        let (svc, auth, client) = (&svc, &auth, &client);
        async move {
            let inspector = Inspector::Client(client);
            svc.introspect(auth, inspector, &token)
                .await
                .unwrap()
                .is_some()
        }
    };
    assert!(seen(&both).await && seen(&read).await);
    let narrowed = ClientUpdate {
        scopes: Some(vec!["read".into()]),
        ..ClientUpdate::default()
    };
    svc.update(&operator(), &client.id, narrowed).await.unwrap();
    assert!(!seen(&both).await, "a scope taken away ends the token");
    assert!(seen(&read).await, "the others stay");
    let moved = ClientUpdate {
        audience: Some(None),
        ..ClientUpdate::default()
    };
    svc.update(&operator(), &client.id, moved).await.unwrap();
    assert!(!seen(&read).await, "an audience moved ends the token");
    let now = svc.get(&operator(), &client.id).await.unwrap();
    let fresh = svc.client_credentials(&now, Some("read"));
    let fresh = fresh.unwrap().access_token;
    assert!(
        seen(&fresh).await,
        "a token for the server's audience, as the client now has"
    );
}

#[tokio::test]
async fn an_id_no_client_can_have_never_reaches_storage() {
    // A repository with no expectations: any call fails the test.
    let ports = ports(
        MockUserRepository::new(),
        codec(),
        Arc::new(fixed_clock()),
        Arc::new(MemRefreshTokens::default()),
    );
    let repo = crate::ports::MockClientRepository::new();
    let svc = ClientService::new(ports, Arc::new(repo), "warden", Duration::seconds(900));
    let upper = "01930000-0000-7000-8000-00000000000A";
    for odd in [
        "\0",
        "x\u{0}y",
        "nobody",
        upper,
        "0193000000007000800000000000000a",
        &"a".repeat(5000),
    ] {
        let got = svc.identify(Some(auth(odd, Some("s")))).await.unwrap();
        assert_eq!(got, TokenClient::Unregistered, "{odd:?}");
        assert!(matches!(
            svc.get(&operator(), odd).await,
            Err(Error::NotFound)
        ));
        let change = ClientUpdate::default();
        assert!(matches!(
            svc.update(&operator(), odd, change).await,
            Err(Error::NotFound)
        ));
        assert!(matches!(
            svc.delete(&operator(), odd).await,
            Err(Error::NotFound)
        ));
    }
}

#[test]
fn the_service_shows_its_default_client_and_nothing_else() {
    let (svc, _) = service();
    let shown = format!("{svc:?}");
    assert!(shown.contains("default_id: \"warden\""), "{shown}");
}

#[tokio::test]
async fn a_row_at_odds_with_itself_identifies_no_client() {
    let (svc, clients) = service();
    let mut odd = svc.create(&operator(), spa()).await.unwrap().client;
    // A row at odds with itself (public, yet with a digest), as only a hand edit makes one.
    odd.id = crate::testing::fresh_id().to_string();
    odd.secret_digest = Some("d:s".into());
    let audit =
        crate::audit::AuditEvent::new(crate::testing::fresh_id(), NOW, AuditKind::ClientCreated);
    clients.insert(&odd, &audit).await.unwrap();
    let r = svc.identify(Some(auth(&odd.id, Some("s")))).await;
    assert!(matches!(r, Err(Error::InvalidClient)));
    let r = svc.confidential(auth(&odd.id, Some("s"))).await;
    assert!(matches!(r, Err(Error::InvalidClient)));
    // And a confidential row without a digest is no public client.
    let mut bare = svc.create(&operator(), machine()).await.unwrap().client;
    bare.id = crate::testing::fresh_id().to_string();
    bare.secret_digest = None;
    clients.insert(&bare, &audit).await.unwrap();
    let r = svc.identify(Some(auth(&bare.id, None))).await;
    assert!(matches!(r, Err(Error::InvalidClient)));
}
