//! The import: each kind of bad line refused alone and unquoted, batches, duplicates and
//! look-alikes within one file, what storage placed, and who may import.

use std::sync::{Arc, Mutex};

use super::*;
use crate::ports::{MockTokenCodec, MockUserRepository};
use crate::testing::{MemRefreshTokens, NOW, api_key, bearer, fixed_clock, ports, user_with_role};

const BCRYPT: &str = "$2b$04$..CA.uOD/eaGAOmJB.yMBuXETkX0fnYkrqZU3taFDwa1Pzblb2cVm";

/// Every batch storage was given: the options, and the emails in order.
type Calls = Arc<Mutex<Vec<(OnConflict, bool, Vec<String>)>>>;

/// Storage that places each user as `place` says from its email, and writes down each batch.
fn storage(place: fn(&str) -> Placement) -> (MockUserRepository, Calls) {
    let calls: Calls = Arc::default();
    let seen = calls.clone();
    let mut users = MockUserRepository::new();
    users.expect_import().returning(move |batch, on, dry, _| {
        let emails: Vec<String> = batch
            .iter()
            .map(|u| u.user.email.as_str().to_owned())
            .collect();
        let placed = emails.iter().map(|e| place(e)).collect();
        seen.lock().unwrap().push((on, dry, emails));
        Ok(placed)
    });
    (users, calls)
}

fn start(users: MockUserRepository, options: ImportOptions) -> Import {
    let ports = ports(
        users,
        MockTokenCodec::new(),
        Arc::new(fixed_clock()),
        Arc::new(MemRefreshTokens::default()),
    );
    Import::start(&bearer(user_with_role(Role::Admin)), &ports, options).unwrap()
}

fn line(email: &str) -> String {
    format!(r#"{{"email":"{email}","password_hash":"{BCRYPT}"}}"#)
}

async fn run(import: &mut Import, lines: &[String]) {
    for (n, text) in lines.iter().enumerate() {
        import.line(n as u64 + 1, text.as_bytes()).await.unwrap();
    }
}

fn inserted(_: &str) -> Placement {
    Placement::Inserted
}

async fn refusal_of(text: &str) -> String {
    let (users, _) = storage(inserted);
    let mut import = start(users, ImportOptions::default());
    import.line(7, text.as_bytes()).await.unwrap();
    let report = import.finish().await.unwrap();
    assert_eq!((report.imported, report.refused), (0, 1), "{text}");
    assert_eq!(report.refusals[0].line, 7);
    report.refusals[0].reason.clone()
}

#[tokio::test]
async fn each_kind_of_bad_line_is_refused_alone_with_a_reason_that_quotes_nothing() {
    let secret = "Hunter2-secret";
    let cases = [
        (format!("{{\"email\": \"{secret}"), "truncated"),
        (format!("{secret} not json"), "not valid JSON"),
        (format!("[\"{secret}\"]"), "not a JSON object"),
        (r#"{"password_hash":"x"}"#.to_owned(), "email is missing"),
        (
            r#"{"email":"a@example.com"}"#.to_owned(),
            "password_hash is missing",
        ),
        (
            format!(r#"{{"email":"{secret}","password_hash":"{BCRYPT}"}}"#),
            "not a valid email",
        ),
        (
            format!(r#"{{"email":"a@example.com","password_hash":"{secret}"}}"#),
            "not a supported hash",
        ),
        (
            format!(r#"{{"email":"a@example.com","password_hash":"{BCRYPT}","role":"{secret}"}}"#),
            "role must be admin, service or user",
        ),
        (
            format!(r#"{{"email":"a@example.com","password_hash":"{BCRYPT}","{secret}":1}}"#),
            "a field that is none of",
        ),
        (
            format!(
                r#"{{"email":"a@example.com","password_hash":"{BCRYPT}","disabled":"{secret}"}}"#
            ),
            "disabled must be true or false",
        ),
        (
            format!(r#"{{"email":"a@example.com","password_hash":"{BCRYPT}","email_verified":1}}"#),
            "email_verified must be true or false",
        ),
        (
            format!(r#"{{"email":"a@example.com","password_hash":"{BCRYPT}","display_name":7}}"#),
            "display_name must be a string",
        ),
        (
            format!(
                r#"{{"email":"a@example.com","password_hash":"{BCRYPT}","created_at":"{secret}"}}"#
            ),
            "created_at must be an RFC 3339 time",
        ),
        (
            format!(r#"{{"email":1,"password_hash":"{BCRYPT}"}}"#),
            "email must be a string",
        ),
        (
            format!(
                r#"{{"email":"a@example.com","password_hash":"{}"}}"#,
                BCRYPT.replace("$04$", "$16$")
            ),
            "bcrypt cost must be at most 15",
        ),
    ];
    for (text, expected) in cases {
        let reason = refusal_of(&text).await;
        assert!(reason.contains(expected), "{text}: {reason}");
        assert!(!reason.contains(secret), "{reason}");
    }
}

#[tokio::test]
async fn created_at_may_be_now_or_earlier_never_later() {
    let at = |t: OffsetDateTime| {
        let t = t.format(&Rfc3339).unwrap();
        format!(r#"{{"email":"a@example.com","password_hash":"{BCRYPT}","created_at":"{t}"}}"#)
    };
    assert!(parse_line(&at(NOW), NOW).is_ok());
    let later = parse_line(&at(NOW + time::Duration::seconds(1)), NOW).unwrap_err();
    assert_eq!(later, "created_at must not be in the future");
    let earlier = parse_line(&at(NOW - time::Duration::days(400)), NOW).unwrap();
    assert_eq!(earlier.user.created_at, NOW - time::Duration::days(400));
    assert_eq!(earlier.user.updated_at, NOW);
}

#[tokio::test]
async fn a_line_is_read_up_to_its_bound_in_bytes() {
    let base = line("a@example.com");
    let pad = |n: usize| format!("{}{}", base, " ".repeat(n - base.len()));
    let (users, _) = storage(inserted);
    let mut import = start(users, ImportOptions::default());
    run(&mut import, &[pad(MAX_LINE_BYTES), pad(MAX_LINE_BYTES + 1)]).await;
    let report = import.finish().await.unwrap();
    assert_eq!(report.imported, 1);
    assert_eq!(
        report.refusals,
        vec![Refusal {
            line: 2,
            reason: "the line is longer than 16384 bytes".to_owned()
        }]
    );
}

#[tokio::test]
async fn fields_default_and_say_which_were_given() {
    let bare = parse_line(&line("Ann@Example.com"), NOW).unwrap();
    assert_eq!(bare.given, Given::default());
    let u = &bare.user;
    assert_eq!(
        (u.role, u.disabled, u.display_name.clone(), u.created_at),
        (Role::User, false, None, NOW)
    );
    assert_eq!((u.email_verified_at, u.session_version), (None, 0));
    assert_eq!(u.password_hash.expose(), BCRYPT);
    let full = format!(
        r#"{{"email":"b@example.com","password_hash":"{BCRYPT}","role":"admin","display_name":"Bo","disabled":true,"email_verified":true}}"#
    );
    let full = parse_line(&full, NOW).unwrap();
    assert_eq!(
        full.given,
        Given {
            role: true,
            display_name: true,
            disabled: true,
            email_verified: true
        }
    );
    assert_eq!(
        (
            full.user.role,
            full.user.disabled,
            full.user.email_verified_at
        ),
        (Role::Admin, true, Some(NOW))
    );
    // Null is absent, except that a null display name is given (an update clears it).
    let nulls = format!(
        r#"{{"email":"c@example.com","password_hash":"{BCRYPT}","role":null,"display_name":null,"disabled":null,"email_verified":null,"created_at":null}}"#
    );
    let nulls = parse_line(&nulls, NOW).unwrap();
    assert_eq!(
        nulls.given,
        Given {
            display_name: true,
            ..Given::default()
        }
    );
}

#[tokio::test]
async fn an_exported_user_reads_back_as_it_was() {
    let full = format!(
        r#"{{"email":"b@example.com","password_hash":"{BCRYPT}","role":"service","display_name":"Bo","disabled":true,"email_verified":true,"created_at":"2025-01-02T03:04:05Z"}}"#
    );
    let user = parse_line(&full, NOW).unwrap().user;
    let again = parse_line(&export_line(&user), NOW).unwrap().user;
    assert_eq!(export_line(&again), export_line(&user));
    assert_eq!(again.created_at.unix_timestamp(), 1_735_787_045);
    assert_eq!(
        (
            again.role,
            again.disabled,
            again.email_verified_at.is_some()
        ),
        (Role::Service, true, true)
    );
}

#[tokio::test]
async fn batches_fill_to_their_size_and_the_rest_goes_at_the_end() {
    for (count, sizes) in [
        (BATCH - 1, vec![BATCH - 1]),
        (BATCH, vec![BATCH]),
        (BATCH + 1, vec![BATCH, 1]),
    ] {
        let (users, calls) = storage(inserted);
        let mut import = start(
            users,
            ImportOptions {
                on_conflict: OnConflict::Skip,
                dry_run: true,
            },
        );
        let lines: Vec<String> = (0..count)
            .map(|n| line(&format!("u{n}@example.com")))
            .collect();
        run(&mut import, &lines).await;
        // A full batch is written as soon as it fills, before the end.
        assert_eq!(calls.lock().unwrap().len(), count / BATCH, "{count}");
        let report = import.finish().await.unwrap();
        let calls = calls.lock().unwrap();
        let got: Vec<usize> = calls.iter().map(|(_, _, e)| e.len()).collect();
        assert_eq!(got, sizes);
        assert!(
            calls
                .iter()
                .all(|(on, dry, _)| *on == OnConflict::Skip && *dry)
        );
        assert_eq!(calls[0].2[0], "u0@example.com");
        assert_eq!(report.imported, count as u64);
        assert!(report.dry_run);
    }
}

#[tokio::test]
async fn duplicates_and_look_alikes_within_one_import_are_refused_with_the_first_line() {
    let (users, calls) = storage(inserted);
    let mut import = start(users, ImportOptions::default());
    let lines = [
        line("ann@example.com"),
        String::new(),
        line("ANN@example.com"),
        line("\u{0430}nn@example.com"),
        "\u{feff}".to_owned() + &line("bob@example.com"),
    ];
    run(&mut import, &lines).await;
    let report = import.finish().await.unwrap();
    assert_eq!((report.imported, report.refused), (2, 2));
    assert_eq!(
        report.refusals,
        vec![
            Refusal {
                line: 3,
                reason: "the same email as line 1 of this import".to_owned()
            },
            Refusal {
                line: 4,
                reason: "an email like that of line 1 of this import".to_owned()
            },
        ]
    );
    assert_eq!(
        calls.lock().unwrap()[0].2,
        vec!["ann@example.com", "bob@example.com"]
    );
}

#[tokio::test]
async fn where_storage_put_each_user_is_counted_or_refused_by_its_line() {
    let (users, _) = storage(|email| match email.split('@').next().unwrap() {
        "new" => Placement::Inserted,
        "upd" => Placement::Updated,
        "skip" => Placement::Skipped,
        "exists" => Placement::Exists,
        "alike" => Placement::LookAlike,
        _ => Placement::AdminKept,
    });
    let mut import = start(users, ImportOptions::default());
    let lines: Vec<String> = ["new", "upd", "skip", "exists", "alike", "admin"]
        .iter()
        .map(|l| line(&format!("{l}@example.com")))
        .collect();
    run(&mut import, &lines).await;
    let report = import.finish().await.unwrap();
    assert_eq!(
        (
            report.imported,
            report.updated,
            report.skipped,
            report.refused
        ),
        (1, 1, 1, 3)
    );
    let refused: Vec<(u64, &str)> = report
        .refusals
        .iter()
        .map(|r| (r.line, &r.reason[..20]))
        .collect();
    assert_eq!(
        refused,
        vec![
            (4, "an account with this"),
            (5, "the email looks like"),
            (6, "import does not chan")
        ]
    );
    assert!(!report.dry_run);
}

#[tokio::test]
async fn a_line_that_could_not_be_read_is_refused_with_its_reason() {
    let (users, _) = storage(inserted);
    let mut import = start(users, ImportOptions::default());
    import.line(1, b"{\"email\": \"\xff\"}").await.unwrap();
    import
        .line(2, line("a@example.com").as_bytes())
        .await
        .unwrap();
    let report = import.finish().await.unwrap();
    assert_eq!(
        report.refusals,
        vec![Refusal {
            line: 1,
            reason: "the line is not UTF-8".to_owned()
        }]
    );
    assert_eq!(report.imported, 1);
}

#[tokio::test]
async fn a_storage_failure_stops_the_import_and_the_report_keeps_what_was_written() {
    let mut users = MockUserRepository::new();
    let mut first = true;
    users.expect_import().returning(move |batch, _, _, _| {
        if std::mem::take(&mut first) {
            Ok(vec![Placement::Inserted; batch.len()])
        } else {
            Err(Error::Unavailable("down".into()))
        }
    });
    let mut import = start(users, ImportOptions::default());
    let lines: Vec<String> = (0..BATCH * 2)
        .map(|n| line(&format!("u{n}@example.com")))
        .collect();
    let mut failed = None;
    for (n, text) in lines.iter().enumerate() {
        if let Err(e) = import.line(n as u64 + 1, text.as_bytes()).await {
            failed = Some((n + 1, e));
            break;
        }
    }
    assert!(matches!(failed, Some((n, Error::Unavailable(_))) if n == BATCH * 2));
    assert_eq!(import.report().imported, BATCH as u64);
}

#[tokio::test]
async fn storage_that_places_another_number_of_users_is_an_error() {
    let mut users = MockUserRepository::new();
    users
        .expect_import()
        .returning(|_, _, _, _| Ok(vec![Placement::Inserted]));
    let mut import = start(users, ImportOptions::default());
    run(&mut import, &[line("a@example.com"), line("b@example.com")]).await;
    assert!(matches!(import.finish().await, Err(Error::Internal(_))));
}

#[tokio::test]
async fn only_a_caller_who_manages_users_may_import() {
    let ports = ports(
        MockUserRepository::new(),
        MockTokenCodec::new(),
        Arc::new(fixed_clock()),
        Arc::new(MemRefreshTokens::default()),
    );
    let callers = [
        bearer(user_with_role(Role::User)),
        bearer(user_with_role(Role::Service)),
        api_key(user_with_role(Role::Admin)),
    ];
    for caller in callers {
        assert!(matches!(
            Import::start(&caller, &ports, ImportOptions::default()),
            Err(Error::Forbidden)
        ));
    }
    assert!(Import::start(&Principal::operator(), &ports, ImportOptions::default()).is_ok());
}

#[tokio::test]
async fn an_import_shows_its_options_and_counts_in_debug_output() {
    let (users, _) = storage(inserted);
    let mut import = start(users, ImportOptions::default());
    run(&mut import, &[line("a@example.com")]).await;
    let shown = format!("{import:?}");
    assert!(shown.starts_with("Import {"), "{shown}");
    assert!(shown.contains("on_conflict: Fail"), "{shown}");
    assert!(!shown.contains(BCRYPT), "{shown}");
}

#[test]
fn on_conflict_reads_its_three_names_only() {
    assert_eq!("skip".parse(), Ok(OnConflict::Skip));
    assert_eq!("update".parse(), Ok(OnConflict::Update));
    assert_eq!("fail".parse(), Ok(OnConflict::Fail));
    assert!("Skip".parse::<OnConflict>().is_err());
    assert_eq!(OnConflict::default(), OnConflict::Fail);
}

#[tokio::test]
async fn each_batch_hands_storage_the_importer_for_the_accounts_events() {
    use crate::audit::{ActorKind, AuditEvent, AuditKind};
    let seen: Arc<Mutex<Vec<AuditEvent>>> = Arc::default();
    let events = seen.clone();
    let mut users = MockUserRepository::new();
    users.expect_import().returning(move |batch, _, _, audit| {
        events.lock().unwrap().push(audit.clone());
        Ok(vec![Placement::Inserted; batch.len()])
    });
    let admin = user_with_role(Role::Admin);
    let ports = ports(
        users,
        MockTokenCodec::new(),
        Arc::new(fixed_clock()),
        Arc::new(MemRefreshTokens::default()),
    );
    let mut import =
        Import::start(&bearer(admin.clone()), &ports, ImportOptions::default()).unwrap();
    run(&mut import, &[line("a@example.com")]).await;
    import.finish().await.unwrap();
    let events = seen.lock().unwrap().clone();
    assert_eq!(events.len(), 1);
    let e = &events[0];
    assert_eq!(e.kind, AuditKind::UserCreated);
    assert_eq!(
        (e.actor_kind, e.actor_id),
        (ActorKind::User, Some(admin.id))
    );
    assert_eq!(e.details["via"], "import");
    assert_eq!(e.at, NOW);
    assert!(!format!("{e:?}").contains(BCRYPT), "never the hash");
}
