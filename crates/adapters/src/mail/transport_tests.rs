//! Tests of `mail.smtp_url`'s parsing: schemes, ports, TLS, credentials, and refusals that
//! never quote the URL.

use super::*;

#[test]
fn urls_give_host_port_security_and_credentials() {
    let t = SmtpTarget::parse("smtp://user%40x:p%3Ass@mail.example.com:2525?tls=starttls").unwrap();
    assert_eq!(
        (t.host.as_str(), t.port, t.security),
        ("mail.example.com", 2525, SmtpSecurity::StartTls)
    );
    let (user, pass) = t.credentials.unwrap();
    assert_eq!((user.as_str(), pass.expose_secret()), ("user@x", "p:ss"));
    let t = SmtpTarget::parse("smtp://mail.example.com").unwrap();
    assert_eq!((t.port, t.security), (587, SmtpSecurity::StartTls));
    assert!(t.credentials.is_none());
    let t = SmtpTarget::parse("smtps://mail.example.com").unwrap();
    assert_eq!((t.port, t.security), (465, SmtpSecurity::Implicit));
    let t = SmtpTarget::parse("smtp://127.0.0.1:25?tls=none").unwrap();
    assert_eq!(
        (t.host.as_str(), t.security),
        ("127.0.0.1", SmtpSecurity::None)
    );
    let t = SmtpTarget::parse("smtp://[::1]:25?tls=none").unwrap();
    assert_eq!(t.host, "::1");
    let t = SmtpTarget::parse("smtp://LocalHost:25?tls=none").unwrap();
    assert_eq!(t.security, SmtpSecurity::None);
}

#[test]
fn bad_urls_are_refused_without_their_password() {
    for (url, why) in [
        ("http://u:sekrit@h", "must start with smtp:// or smtps://"),
        (
            "smtps://u:sekrit@h?tls=none",
            "tls must be starttls or none",
        ),
        (
            "smtp://u:sekrit@h?tls=maybe",
            "tls must be starttls or none",
        ),
        ("smtp://u:sekrit@h?timeout=3", "takes no parameter but tls"),
        ("smtp://u@h", "needs both a user and a password"),
        ("smtp://:sekrit@h", "needs both a user and a password"),
        ("sekrit", "is not a URL"),
        (
            "smtp://u:sekrit@mail.example.com?tls=none",
            "only for a relay on loopback",
        ),
        (
            "smtp://u:sekrit@10.0.0.1:25?tls=none",
            "only for a relay on loopback",
        ),
        ("smtp://u:%FF%FE@h", "not UTF-8"),
    ] {
        let e = SmtpTarget::parse(url).unwrap_err().to_string();
        assert!(
            e.starts_with("mail.smtp_url: ") && e.contains(why),
            "{url}: {e}"
        );
        assert!(!e.contains("sekrit"), "{e}");
    }
    let shown = format!("{:?}", SmtpTarget::parse("smtp://u:sekrit@h").unwrap());
    assert!(
        !shown.contains("sekrit") && !shown.contains("\"u\""),
        "{shown}"
    );
}

#[test]
fn a_message_has_a_text_and_an_html_alternative() {
    let from: Mailbox = "Warden <w@example.com>".parse().unwrap();
    let m = Message {
        to: "ann@example.com".into(),
        subject: "Hi".into(),
        text: "plain".into(),
        html: "<p>rich</p>".into(),
    };
    let built = String::from_utf8(build(&from, &m).unwrap().formatted()).unwrap();
    assert!(built.contains("multipart/alternative"), "{built}");
    assert!(built.contains("text/plain") && built.contains("text/html"));
    assert!(built.contains("Subject: Hi"));
    assert!(built.contains("To: ann@example.com"), "{built}");
    for to in [
        "not an address",
        "x<victim@example.com>",
        "Ann <ann@example.com>",
    ] {
        let bad = Message {
            to: to.into(),
            ..m.clone()
        };
        assert!(build(&from, &bad).is_err(), "{to}");
    }
}

#[tokio::test]
async fn the_file_mailer_writes_one_eml_per_message() {
    let dir = std::env::temp_dir().join(format!("warden-mail-{}", std::process::id()));
    let mailer = FileMailer::new(dir.clone(), "w@example.com".parse().unwrap());
    let m = Message {
        to: "ann@example.com".into(),
        subject: "Hi".into(),
        text: "plain".into(),
        html: "<p>rich</p>".into(),
    };
    mailer.send(&m).await.unwrap();
    mailer.send(&m).await.unwrap();
    let files: Vec<_> = std::fs::read_dir(&dir).unwrap().collect();
    assert_eq!(files.len(), 2);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn a_server_that_never_answers_is_given_up_within_the_bound() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let target = SmtpTarget::parse(&format!("smtp://127.0.0.1:{port}?tls=none")).unwrap();
    let mailer = SmtpMailer::new(
        &target,
        "w@example.com".parse().unwrap(),
        None,
        Duration::from_millis(200),
    )
    .unwrap();
    let m = Message {
        to: "ann@example.com".into(),
        subject: "Hi".into(),
        text: "t".into(),
        html: "h".into(),
    };
    let started = std::time::Instant::now();
    assert!(mailer.send(&m).await.is_err());
    assert!(started.elapsed() < Duration::from_secs(5));
    drop(listener);
}
