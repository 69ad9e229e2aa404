//! The client use cases: who may manage the registry, how a client proves itself, and what the
//! `client_credentials` grant and introspection give it.

use std::sync::Arc;

use secrecy::{ExposeSecret, SecretString};
use time::Duration;

use super::*;
use crate::client::{ClientSpec, GrantType};
use crate::ports::{MockTokenCodec, MockUserRepository};
use crate::testing::{MemClients, MemRefreshTokens, NOW, every_principal, fixed_clock, ports};
use crate::token::{ClientClaims, TokenError};
use crate::user::Role;

pub(super) fn machine() -> ClientSpec {
    ClientSpec {
        name: "Billing".into(),
        redirect_uris: vec![],
        public: false,
        first_party: false,
        grant_types: vec![GrantType::ClientCredentials],
        scopes: vec!["read".into(), "write".into()],
        audience: Some("https://api.example".into()),
        post_logout_redirect_uris: vec![],
    }
}

pub(super) fn spa() -> ClientSpec {
    ClientSpec {
        name: "Web".into(),
        redirect_uris: vec!["https://app.example/cb".into()],
        public: true,
        grant_types: vec![GrantType::AuthorizationCode],
        ..machine()
    }
}

/// A readable codec: a client token is `ct|id|scopes|audience|exp`.
pub(super) fn codec() -> MockTokenCodec {
    let mut tokens = MockTokenCodec::new();
    tokens.expect_sign_client().returning(|c| {
        let aud = c.audience.clone().unwrap_or_else(|| "warden".into());
        let exp = c.expires_at.unix_timestamp();
        let token = format!("ct|{}|{}|{aud}|{exp}", c.client_id, c.scope.join(" "));
        Ok(SecretString::from(token))
    });
    tokens.expect_verify_client().returning(|t| {
        let parts: Vec<&str> = t.split('|').collect();
        let ["ct", id, scope, aud, _] = parts[..] else {
            return Err(TokenError::Malformed);
        };
        Ok(ClientClaims {
            client_id: id.to_owned(),
            scope: scope
                .split(' ')
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect(),
            audience: Some(aud.to_owned()),
            issued_at: NOW,
            expires_at: NOW + Duration::seconds(900),
            token_id: crate::testing::fresh_id(),
        })
    });
    tokens
        .expect_verify()
        .returning(|_| Err(TokenError::Malformed));
    tokens.expect_issuer().return_const("https://id.example");
    tokens.expect_audience().return_const("warden");
    tokens
}

pub(super) fn service() -> (ClientService, Arc<MemClients>) {
    let clients = Arc::new(MemClients::default());
    let ports = ports(
        MockUserRepository::new(),
        codec(),
        Arc::new(fixed_clock()),
        Arc::new(MemRefreshTokens::default()),
    );
    let svc = ClientService::new(ports, clients.clone(), "warden", Duration::seconds(900));
    (svc, clients)
}

pub(super) fn auth(id: &str, secret: Option<&str>) -> ClientAuth {
    ClientAuth {
        id: id.to_owned(),
        secret: secret.map(|s| SecretString::from(s.to_owned())),
    }
}

pub(super) fn operator() -> Principal {
    Principal::operator()
}

#[tokio::test]
async fn only_admins_and_the_operator_manage_clients_and_nothing_is_written_otherwise() {
    let (svc, clients) = service();
    let made = svc.create(&operator(), machine()).await.unwrap();
    for (name, caller) in every_principal() {
        let may = caller.role() == Role::Admin;
        assert_eq!(svc.list(&caller).await.is_ok(), may, "{name} list");
        assert_eq!(
            svc.get(&caller, &made.client.id).await.is_ok(),
            may,
            "{name} get"
        );
        if !may {
            let refused = svc.create(&caller, machine()).await.unwrap_err();
            assert!(matches!(refused, Error::Forbidden), "{name}");
            let change = ClientUpdate::default();
            let refused = svc.update(&caller, &made.client.id, change).await;
            assert!(matches!(refused, Err(Error::Forbidden)), "{name}");
            let refused = svc.delete(&caller, &made.client.id).await;
            assert!(matches!(refused, Err(Error::Forbidden)), "{name}");
        }
    }
    assert_eq!(clients.audited(), [AuditKind::ClientCreated]);
}

#[tokio::test]
async fn a_confidential_client_gets_a_secret_stored_only_as_its_digest() {
    let (svc, clients) = service();
    let made = svc.create(&operator(), machine()).await.unwrap();
    let secret = made.secret.expect("a secret");
    let stored = clients.stored(&made.client.id).unwrap();
    assert_eq!(
        stored.secret_digest.as_deref(),
        Some(format!("d:{}", secret.expose_secret()).as_str())
    );
    assert_eq!(stored.created_at, NOW);
    let public = svc.create(&operator(), spa()).await.unwrap();
    assert!(public.secret.is_none());
    assert!(
        clients
            .stored(&public.client.id)
            .unwrap()
            .secret_digest
            .is_none()
    );
    let bad = ClientSpec {
        public: true,
        ..machine()
    };
    assert!(matches!(
        svc.create(&operator(), bad).await,
        Err(Error::Invalid(_))
    ));
    assert_eq!(clients.list().await.unwrap().len(), 2);
}

#[tokio::test]
async fn a_client_proves_itself_by_its_secret_or_by_being_public() {
    let (svc, _) = service();
    let conf = svc.create(&operator(), machine()).await.unwrap();
    let secret = conf.secret.unwrap();
    let secret = secret.expose_secret();
    let id = conf.client.id.as_str();
    let public = svc.create(&operator(), spa()).await.unwrap().client;
    let registered = |c: &Client| TokenClient::Registered(Box::new(c.clone()));
    assert_eq!(svc.identify(None).await.unwrap(), TokenClient::Default);
    assert_eq!(
        svc.identify(Some(auth("warden", None))).await.unwrap(),
        TokenClient::Default
    );
    assert_eq!(
        svc.identify(Some(auth(id, Some(secret)))).await.unwrap(),
        registered(&conf.client)
    );
    assert_eq!(
        svc.identify(Some(auth(&public.id, None))).await.unwrap(),
        registered(&public)
    );
    for unknown in [
        auth("swagger", None),
        auth("swagger", Some("x")),
        auth(&format!(" {id}"), Some(secret)),
    ] {
        assert_eq!(
            svc.identify(Some(unknown)).await.unwrap(),
            TokenClient::Unregistered
        );
    }
    for refused in [
        auth("warden", Some("x")),
        auth(id, None),
        auth(id, Some("wrong")),
        auth(id, Some(&format!("{secret}x"))),
        auth(id, Some(&secret[1..])),
        auth(&public.id, Some("anything")),
    ] {
        let what = format!("{refused:?}");
        assert!(
            matches!(svc.identify(Some(refused)).await, Err(Error::InvalidClient)),
            "{what}"
        );
    }
}

#[tokio::test]
async fn only_a_confidential_client_with_its_secret_may_introspect_or_revoke() {
    let (svc, _) = service();
    let conf = svc.create(&operator(), machine()).await.unwrap();
    let secret = conf.secret.unwrap();
    let public = svc.create(&operator(), spa()).await.unwrap().client;
    let id = conf.client.id.clone();
    let ok = svc.confidential(auth(&id, Some(secret.expose_secret())));
    assert_eq!(ok.await.unwrap(), conf.client);
    for refused in [
        auth(&id, None),
        auth(&public.id, None),
        auth("warden", None),
    ] {
        let r = svc.confidential(refused).await;
        assert!(matches!(r, Err(Error::InvalidClient)));
    }
}

#[tokio::test]
async fn client_credentials_grants_the_scopes_asked_each_of_them_allowed() {
    let (svc, _) = service();
    let client = svc.create(&operator(), machine()).await.unwrap().client;
    let all = svc.client_credentials(&client, None).unwrap();
    assert_eq!(all.scope, ["read", "write"]);
    assert_eq!(all.expires_in, 900);
    let exp = (NOW + Duration::seconds(900)).unix_timestamp();
    let expected = format!("ct|{}|read write|https://api.example|{exp}", client.id);
    assert_eq!(all.access_token.expose_secret(), expected);
    let some = svc.client_credentials(&client, Some("write")).unwrap();
    assert_eq!(some.scope, ["write"]);
    let twice = svc.client_credentials(&client, Some("read read")).unwrap();
    assert_eq!(twice.scope, ["read"]);
    assert_eq!(
        svc.client_credentials(&client, Some(""))
            .unwrap()
            .scope
            .len(),
        2
    );
    for bad in ["admin", "read admin", "read  write", "Read", " read"] {
        let r = svc.client_credentials(&client, Some(bad));
        assert!(matches!(r, Err(Error::InvalidScope)), "{bad}");
    }
}

#[tokio::test]
async fn client_credentials_is_refused_to_public_clients_and_those_not_allowed_it() {
    let (svc, _) = service();
    let public = svc.create(&operator(), spa()).await.unwrap().client;
    let r = svc.client_credentials(&public, None);
    assert!(matches!(r, Err(Error::UnauthorizedClient)));
    let mut spec = machine();
    spec.grant_types = vec![GrantType::Password];
    let other = svc.create(&operator(), spec).await.unwrap().client;
    let r = svc.client_credentials(&other, None);
    assert!(matches!(r, Err(Error::UnauthorizedClient)));
    // Made public behind the registry's back: still refused.
    let mut forged = svc.create(&operator(), machine()).await.unwrap().client;
    forged.spec.public = true;
    let r = svc.client_credentials(&forged, None);
    assert!(matches!(r, Err(Error::UnauthorizedClient)));
}

#[tokio::test]
async fn updating_keeps_what_is_not_named_and_turns_secrets_on_and_off() {
    let (svc, clients) = service();
    let made = svc.create(&operator(), spa()).await.unwrap().client;
    let change = ClientUpdate {
        name: Some("Renamed".into()),
        public: Some(false),
        grant_types: Some(vec![
            GrantType::AuthorizationCode,
            GrantType::ClientCredentials,
        ]),
        ..ClientUpdate::default()
    };
    let made_conf = svc.update(&operator(), &made.id, change).await.unwrap();
    let secret = made_conf.secret.expect("a new secret");
    let stored = clients.stored(&made.id).unwrap();
    assert_eq!(stored.spec.name, "Renamed");
    assert_eq!(stored.spec.redirect_uris, made.spec.redirect_uris);
    assert_eq!(
        stored.secret_digest,
        Some(format!("d:{}", secret.expose_secret()))
    );
    let again = ClientUpdate {
        first_party: Some(true),
        ..ClientUpdate::default()
    };
    let kept = svc.update(&operator(), &made.id, again).await.unwrap();
    assert!(
        kept.secret.is_none(),
        "a confidential client keeps its secret"
    );
    assert_eq!(
        clients.stored(&made.id).unwrap().secret_digest,
        stored.secret_digest
    );
    let back = ClientUpdate {
        public: Some(true),
        grant_types: Some(vec![GrantType::AuthorizationCode]),
        audience: Some(None),
        ..ClientUpdate::default()
    };
    assert!(
        svc.update(&operator(), &made.id, back)
            .await
            .unwrap()
            .secret
            .is_none()
    );
    let stored = clients.stored(&made.id).unwrap();
    assert!(stored.secret_digest.is_none());
    assert_eq!(stored.spec.audience, None);
    assert!(stored.spec.first_party);
    let invalid = ClientUpdate {
        redirect_uris: Some(vec![]),
        ..ClientUpdate::default()
    };
    let r = svc.update(&operator(), &made.id, invalid).await;
    assert!(matches!(r, Err(Error::Invalid(_))));
    assert_eq!(clients.stored(&made.id).unwrap(), stored, "nothing written");
    let r = svc
        .update(&operator(), "nobody", ClientUpdate::default())
        .await;
    assert!(matches!(r, Err(Error::NotFound)));
    assert_eq!(
        clients.audited(),
        [
            AuditKind::ClientCreated,
            AuditKind::ClientUpdated,
            AuditKind::ClientUpdated,
            AuditKind::ClientUpdated
        ]
    );
}

#[tokio::test]
async fn deleting_a_client_is_audited_and_an_unknown_one_is_not_found() {
    let (svc, clients) = service();
    let made = svc.create(&operator(), machine()).await.unwrap().client;
    svc.delete(&operator(), &made.id).await.unwrap();
    assert!(clients.stored(&made.id).is_none());
    assert!(matches!(
        svc.delete(&operator(), &made.id).await,
        Err(Error::NotFound)
    ));
    assert!(matches!(
        svc.get(&operator(), &made.id).await,
        Err(Error::NotFound)
    ));
    assert_eq!(
        clients.audited(),
        [AuditKind::ClientCreated, AuditKind::ClientDeleted]
    );
}

#[tokio::test]
async fn a_rotated_secret_replaces_the_old_one_at_once_and_only_for_an_admin() {
    let (svc, clients) = service();
    let made = svc.create(&operator(), machine()).await.unwrap();
    let (id, old) = (made.client.id.clone(), made.secret.unwrap());
    for (name, caller) in every_principal() {
        if caller.role() != Role::Admin {
            let refused = svc.rotate_secret(&caller, &id).await;
            assert!(matches!(refused, Err(Error::Forbidden)), "{name}");
        }
    }
    let rotated = svc.rotate_secret(&operator(), &id).await.unwrap();
    let new = rotated.secret.expect("a new secret");
    assert_ne!(new.expose_secret(), old.expose_secret());
    let stored = clients.stored(&id).unwrap();
    assert_eq!(
        stored.secret_digest,
        Some(format!("d:{}", new.expose_secret()))
    );
    assert_eq!(stored.spec, made.client.spec, "nothing else changes");
    let by_old = svc
        .identify(Some(auth(&id, Some(old.expose_secret()))))
        .await;
    assert!(matches!(by_old, Err(Error::InvalidClient)));
    let by_new = svc
        .identify(Some(auth(&id, Some(new.expose_secret()))))
        .await;
    assert!(matches!(by_new, Ok(TokenClient::Registered(_))));
    let public = svc.create(&operator(), spa()).await.unwrap().client;
    let refused = svc.rotate_secret(&operator(), &public.id).await;
    assert!(matches!(refused, Err(Error::Invalid(_))));
    assert!(clients.stored(&public.id).unwrap().secret_digest.is_none());
    let missing = svc.rotate_secret(&operator(), "nobody").await;
    assert!(matches!(missing, Err(Error::NotFound)));
    assert_eq!(
        clients.audited(),
        [
            AuditKind::ClientCreated,
            AuditKind::ClientUpdated,
            AuditKind::ClientCreated
        ]
    );
}
