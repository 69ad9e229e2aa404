//! Races from outside: many clients doing the same thing at the same moment.

use std::collections::HashMap;
use std::sync::Arc;

use crate::helpers::{Backend, STRONG, spawn_app_on};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_registrations_of_a_few_emails_make_exactly_one_account_each() {
    for backend in Backend::available().await {
        registrations_race(backend).await;
    }
}

async fn registrations_race(backend: Backend) {
    const EMAILS: usize = 4;
    const ATTEMPTS: usize = 48;
    let app = Arc::new(spawn_app_on(backend, |_| {}).await);
    let tasks: Vec<_> = (0..ATTEMPTS)
        .map(|i| {
            let app = app.clone();
            // The same address in different cases is the same account.
            let email = if i % 3 == 0 {
                format!("Race{}@Example.COM", i % EMAILS)
            } else {
                format!("race{}@example.com", i % EMAILS)
            };
            tokio::spawn(async move {
                let r = app.register(&email, STRONG).await;
                (email.to_lowercase(), r.status().as_u16())
            })
        })
        .collect();

    let mut created: HashMap<String, usize> = HashMap::new();
    let mut conflicts = 0;
    for task in tasks {
        let (email, status) = task.await.unwrap();
        match status {
            201 => *created.entry(email).or_default() += 1,
            409 => conflicts += 1,
            other => panic!("{backend:?} {email}: {other}, never anything but 201 or 409"),
        }
    }
    assert_eq!(created.len(), EMAILS, "every address got its account");
    assert!(created.values().all(|&n| n == 1), "{created:?}");
    assert_eq!(conflicts, ATTEMPTS - EMAILS);
    for i in 0..EMAILS {
        let r = app.login(&format!("race{i}@example.com"), STRONG).await;
        assert_eq!(r.status(), 200, "the one account of race{i} signs in");
    }
}
