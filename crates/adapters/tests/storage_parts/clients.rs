//! The client registry's storage on SQLite and PostgreSQL: a client reads back as it was
//! written, lists, changes and goes, each change with its audit event in its transaction, and
//! a change or removal of a client that is not there writes nothing.

use time::OffsetDateTime;
use uuid::Uuid;
use warden_adapters::db::{SeaOrmAuditLog, SeaOrmClientRepository};
use warden_domain::Error;
use warden_domain::audit::{AuditEvent, AuditKind};
use warden_domain::client::{Client, ClientSpec, GrantType};
use warden_domain::ports::ClientRepository;

use super::{backends, count};

fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc().replace_nanosecond(0).unwrap()
}

fn client(name: &str, secret: Option<&str>) -> Client {
    Client {
        id: Uuid::now_v7().to_string(),
        spec: ClientSpec {
            name: name.into(),
            redirect_uris: vec![
                "https://app.example/cb".into(),
                "com.example.app:/cb".into(),
            ],
            public: secret.is_none(),
            first_party: true,
            grant_types: vec![GrantType::AuthorizationCode, GrantType::RefreshToken],
            scopes: vec!["openid".into(), "read:orders".into()],
            audience: Some("https://api.example".into()),
            post_logout_redirect_uris: vec!["https://app.example/".into()],
        },
        secret_digest: secret.map(str::to_owned),
        created_at: now(),
        updated_at: now(),
    }
}

fn event(kind: AuditKind) -> AuditEvent {
    AuditEvent::new(Uuid::now_v7(), now(), kind)
}

#[tokio::test]
async fn a_client_reads_back_changes_and_goes_with_its_audit_events() {
    for t in backends().await {
        let name = t.name;
        let clients = SeaOrmClientRepository::new(t.db.clone());
        let trail = SeaOrmAuditLog::new(t.db.clone());
        let web = client("Web", None);
        let api = client("Api", Some(&"d".repeat(64)));
        clients
            .insert(&web, &event(AuditKind::ClientCreated))
            .await
            .unwrap();
        clients
            .insert(&api, &event(AuditKind::ClientCreated))
            .await
            .unwrap();
        assert_eq!(
            clients.find(&web.id).await.unwrap().as_ref(),
            Some(&web),
            "{name}"
        );
        assert_eq!(
            clients.find(&api.id).await.unwrap().as_ref(),
            Some(&api),
            "{name}"
        );
        assert_eq!(clients.find("nobody").await.unwrap(), None);
        let listed = clients.list().await.unwrap();
        assert_eq!(listed.len(), 2, "{name}");

        let mut changed = web.clone();
        changed.spec.name = "Web app".into();
        changed.spec.grant_types = vec![GrantType::Password];
        changed.spec.audience = None;
        changed.spec.redirect_uris.clear();
        changed.updated_at = now() + time::Duration::seconds(5);
        clients
            .update(&changed, &event(AuditKind::ClientUpdated))
            .await
            .unwrap();
        let back = clients.find(&web.id).await.unwrap().unwrap();
        assert_eq!(back, changed, "{name}");
        assert_eq!(back.created_at, web.created_at, "the creation time stays");

        let ghost = client("Ghost", None);
        let refused = clients
            .update(&ghost, &event(AuditKind::ClientUpdated))
            .await;
        assert!(matches!(refused, Err(Error::NotFound)), "{name}");
        let refused = clients
            .delete(&ghost.id, &event(AuditKind::ClientDeleted))
            .await;
        assert!(matches!(refused, Err(Error::NotFound)), "{name}");

        clients
            .delete(&api.id, &event(AuditKind::ClientDeleted))
            .await
            .unwrap();
        assert_eq!(clients.find(&api.id).await.unwrap(), None);
        assert_eq!(clients.list().await.unwrap(), [changed], "{name}");
        assert_eq!(count(&trail, AuditKind::ClientCreated).await, 2, "{name}");
        assert_eq!(
            count(&trail, AuditKind::ClientUpdated).await,
            1,
            "{name}: none for the ghost"
        );
        assert_eq!(
            count(&trail, AuditKind::ClientDeleted).await,
            1,
            "{name}: none for the ghost"
        );
    }
}

#[tokio::test]
async fn two_clients_of_one_id_cannot_both_be_stored() {
    for t in backends().await {
        let clients = SeaOrmClientRepository::new(t.db.clone());
        let trail = SeaOrmAuditLog::new(t.db.clone());
        let first = client("First", None);
        clients
            .insert(&first, &event(AuditKind::ClientCreated))
            .await
            .unwrap();
        let mut second = client("Second", None);
        second.id.clone_from(&first.id);
        let refused = clients
            .insert(&second, &event(AuditKind::ClientCreated))
            .await;
        assert!(refused.is_err(), "{}", t.name);
        assert_eq!(clients.find(&first.id).await.unwrap(), Some(first));
        assert_eq!(
            count(&trail, AuditKind::ClientCreated).await,
            1,
            "{}",
            t.name
        );
    }
}
