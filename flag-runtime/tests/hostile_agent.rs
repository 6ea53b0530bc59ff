//! A hostile agent, over raw HTTP: answers built to be slow to parse, to collide, to look
//! unchanged, to smuggle values into logs, and versions that flap.

mod common;

use std::time::{Duration, Instant};

use common::*;
use flag_runtime::{FetchError, FlagSource, Refreshed, Snapshot};

fn big_answer(flags: usize) -> Vec<u8> {
    let mut body = String::from("{");
    for i in 0..flags {
        if i > 0 {
            body.push(',');
        }
        body.push_str(&format!(r#""flag{i:06}":{{"enabled":true,"n":{i}}}"#));
    }
    body.push('}');
    body.into_bytes()
}

/// A check returns within its timeout whatever the answer: a 100,000-flag answer (about 3 MB,
/// under AppConfig's 4 MB cap) is parsed off the caller's path and published when ready. (A
/// cold check used to parse inside the caller, after the timeout: 149 ms with a 50 ms timeout
/// in release, seconds in a debug build.)
#[test]
fn a_huge_answer_does_not_hold_a_check_past_its_timeout() {
    let body = big_answer(100_000);
    assert!(
        body.len() > 2_500_000 && body.len() < 4 << 20,
        "{}",
        body.len()
    );
    let agent = RawAgent::start(move |_| http_ok(&body, "1"));
    // Long enough for the 3 MB download on a loaded machine, far shorter than a debug build's
    // parse of it (seconds).
    let timeout = Duration::from_millis(400);
    let flags = source(agent.port(), Duration::from_secs(60), timeout);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let t = Instant::now();
    let on = rt.block_on(flags.is_enabled("flag099999"));
    let took = t.elapsed();
    assert!(
        took < timeout + Duration::from_millis(300),
        "the check took {took:?} with a {timeout:?} timeout"
    );
    // The parse went on in the background and was published.
    let published = Instant::now();
    while !on && !flags.is_enabled_now("flag099999") {
        assert!(
            published.elapsed() < Duration::from_secs(60),
            "the big answer was never published"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(flags.snapshot_now().unwrap().len(), 100_000);
    assert_eq!(flags.attribute_now::<u32>("flag012345", "n"), Some(12345));
    assert_eq!(agent.requests(), 1);
}

/// Flag names are hashed with a seeded hasher: two snapshots of one answer lay out their maps
/// differently, so names cannot be precomputed to collide. (The old hash was a fixed function:
/// 50,000 colliding names made a cold check take 15.8 s.)
#[test]
fn flag_names_are_hashed_with_a_seed() {
    let body = big_answer(1000);
    let order = |s: &Snapshot| s.flags().map(|(n, _)| n.to_owned()).collect::<Vec<_>>();
    let a = Snapshot::parse(&body, None).unwrap();
    let b = Snapshot::parse(&body, None).unwrap();
    assert_ne!(order(&a), order(&b), "same layout: the hash is not seeded");
}

/// The old fingerprint of an answer: a 64-bit multiplicative hash of the body, eight bytes per
/// step (FxHash's mixing step), used to take an answer for unchanged.
mod old_digest {
    const K: u64 = 0x51_7c_c1_b7_27_22_0a_95;

    pub fn step(h: u64, word: u64) -> u64 {
        (h.rotate_left(5) ^ word).wrapping_mul(K)
    }

    /// The state after the whole 8-byte words of `bytes`.
    pub fn state(bytes: &[u8]) -> u64 {
        bytes
            .chunks_exact(8)
            .fold(0, |h, w| step(h, u64::from_le_bytes(w.try_into().unwrap())))
    }
}

/// Two answers with the same `Configuration-Version` whose bodies differ but whose old 64-bit
/// digests collide: the second must be applied. (It used to be taken for unchanged, and the
/// attribute kept its old value.) The collision is built, not found by luck: a change in one
/// word is cancelled in the next.
#[test]
fn a_different_answer_is_never_taken_for_an_unchanged_one() {
    let (first, second) = colliding_bodies();
    assert_ne!(first, second);
    assert_eq!(first.len(), second.len());
    assert_eq!(old_digest::state(&first), old_digest::state(&second));
    let bodies = [first, second];
    let agent = RawAgent::start(move |n| http_ok(&bodies[n.min(1)], "7"));
    let flags = source(
        agent.port(),
        Duration::from_secs(60),
        Duration::from_secs(2),
    );
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        flags.refresh().await.unwrap();
        let before: String = flags.attribute("banner", "text").await.unwrap();
        match flags.refresh().await {
            Ok(Refreshed::Updated { version }) => assert_eq!(version.as_deref(), Some("7")),
            other => panic!("a different body taken for unchanged: {other:?}"),
        }
        let after: String = flags.attribute("banner", "text").await.unwrap();
        assert_ne!(before, after);
    });
}

/// `{"banner":{"enabled":true,"text":"<24 bytes>"}}` twice, differing in two 8-byte words of
/// the text, with the old digest state equal after them (and so for the whole body).
fn colliding_bodies() -> (Vec<u8>, Vec<u8>) {
    let prefix = br#"{"banner":{"enabled":true,"text":""#; // 34 bytes
    let pad = 8 - prefix.len() % 8; // align the text's words
    let mut head = prefix.to_vec();
    head.extend(std::iter::repeat_n(b'a', pad));
    let h = old_digest::state(&head);
    let printable = |b: u8| (0x20..0x7f).contains(&b) && b != b'"' && b != b'\\';
    let word = |bytes: [u8; 8]| u64::from_le_bytes(bytes);
    for x in 0..95u64 * 95 {
        let mut w1 = *b"AAAAAAAA";
        w1[0] = 0x20 + (x % 95) as u8;
        w1[1] = 0x20 + (x / 95) as u8;
        if !w1.iter().all(|&b| printable(b)) {
            continue;
        }
        let a = old_digest::step(h, word(*b"AAAAAAAA"));
        let b = old_digest::step(h, word(w1));
        if a == b {
            continue;
        }
        // Second words w2 (first body) and w2 ^ d (second body) leave the same state.
        let d = a.rotate_left(5) ^ b.rotate_left(5);
        let mut w2 = [0u8; 8];
        let fits = d.to_le_bytes().iter().zip(w2.iter_mut()).all(|(&db, out)| {
            (0x20..0x7f)
                .find(|&c| printable(c) && printable(c ^ db))
                .map(|c| *out = c)
                .is_some()
        });
        if !fits {
            continue;
        }
        let w2b = (word(w2) ^ d).to_le_bytes();
        let body = |w1: &[u8], w2: &[u8]| {
            let mut body = head.clone();
            body.extend_from_slice(w1);
            body.extend_from_slice(w2);
            body.extend_from_slice(br#""}}"#);
            body
        };
        return (body(b"AAAAAAAA", &w2), body(&w1, &w2b));
    }
    panic!("no collision found");
}

/// Nothing the agent writes reaches a log, an error or its `Debug` beyond the status code and a
/// short reason code: not an error body, not a reason code that is not a token, not a version
/// that is not a number, not a key that is not a flag key.
#[test]
fn agent_text_never_reaches_logs_or_errors() {
    const SECRET: &str = "s3cr3t-customer-value";
    let answers: Vec<Vec<u8>> = vec![
        http_status(
            "500 Internal Server Error",
            &format!(
                r#"{{"Message": "attribute owner found \"{SECRET}\"", "ReasonCode": "InvalidConfiguration"}}"#
            ),
        ),
        http_status(
            "400 Bad Request",
            &format!(r#"{{"ReasonCode": "{SECRET} here"}}"#),
        ),
        http_status("502 Bad Gateway", SECRET),
        http_ok(
            format!(r#"{{"newCheckout": {{"enabled": true, "owner": "{SECRET}"}}}}"#).as_bytes(),
            SECRET,
        ),
        http_ok(
            format!(r#"{{"{SECRET} key": {{"enabled": "{SECRET}"}}}}"#).as_bytes(),
            "2",
        ),
        http_ok(format!(r#""{SECRET}""#).as_bytes(), "3"),
        http_ok(
            format!(r#"{{"newCheckout": {{"enabled": true, "owner": "{SECRET}""#).as_bytes(),
            "4",
        ),
    ];
    let count = answers.len();
    let agent = RawAgent::start(move |n| answers[n % count].clone());
    let flags = source(
        agent.port(),
        Duration::from_secs(60),
        Duration::from_secs(2),
    );
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (logs, guard) = Logs::capture();
    let mut errors = Vec::new();
    rt.block_on(async {
        for _ in 0..count {
            // Each fault a streak of its own, so each is logged at WARN.
            if let Err(error) = flags.refresh().await {
                errors.push(format!(
                    "{error} / {error:?} / {:?}",
                    flags.status().last_error
                ));
            }
            let _ = flags.is_enabled("newCheckout").await;
        }
    });
    drop(guard);
    assert_eq!(errors.len(), count - 1, "{errors:#?}");
    assert!(
        errors.iter().any(|e| e.contains("InvalidConfiguration")),
        "a token reason code is kept: {errors:#?}"
    );
    for error in &errors {
        assert!(!error.contains(SECRET), "agent text in an error: {error}");
    }
    let text = logs.text();
    assert!(text.contains("feature flags loaded"), "{text}");
    assert!(!text.contains(SECRET), "agent text in the log:\n{text}");
}

/// The missing-flag warning is logged once per flag, however the versions flap (it used to be
/// once per snapshot: 10 warnings in 20 refreshes alternating versions 1 and 2).
#[test]
fn a_missing_flag_is_logged_once_whatever_the_versions_do() {
    let agent = RawAgent::start(|n| {
        let version = 1 + n % 2;
        http_ok(
            format!(r#"{{"other": {{"enabled": {}}}}}"#, n.is_multiple_of(2)).as_bytes(),
            &version.to_string(),
        )
    });
    let flags = source(
        agent.port(),
        Duration::from_secs(60),
        Duration::from_secs(2),
    );
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (logs, guard) = Logs::capture();
    rt.block_on(async {
        for _ in 0..20 {
            flags.refresh().await.unwrap();
            assert!(!flags.is_enabled("notThere").await);
            assert!(flags.flag("notThere").await.is_none());
        }
    });
    drop(guard);
    assert_eq!(agent.requests(), 20);
    assert_eq!(logs.count("WARN", "notThere"), 1, "{}", logs.text());
    assert_eq!(logs.count("INFO", "feature flags loaded"), 20);
}

/// A flood of distinct missing names is remembered up to a bound, then one line says so.
#[test]
fn missing_flag_memory_is_bounded() {
    let agent = RawAgent::start(|_| http_ok(br#"{"other": {"enabled": true}}"#, "1"));
    let flags = source(
        agent.port(),
        Duration::from_secs(60),
        Duration::from_secs(2),
    );
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (logs, guard) = Logs::capture();
    rt.block_on(async {
        flags.refresh().await.unwrap();
        for i in 0..1000 {
            assert!(!flags.is_enabled(&format!("missing{i}")).await);
        }
    });
    drop(guard);
    assert_eq!(
        logs.count("WARN", "is not in the AppConfig configuration"),
        256
    );
    assert_eq!(logs.count("WARN", "no longer logged"), 1, "{}", logs.text());
}

/// An unusable `Configuration-Version` is still served in `status()` (it is the API), but never
/// logged.
#[test]
fn versions_that_are_not_numbers_are_not_logged() {
    let agent = RawAgent::start(|_| http_ok(br#"{"a": {"enabled": true}}"#, "v1 <script>"));
    let flags = source(
        agent.port(),
        Duration::from_secs(60),
        Duration::from_secs(2),
    );
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (logs, guard) = Logs::capture();
    let refreshed = rt.block_on(flags.refresh());
    drop(guard);
    assert!(
        matches!(refreshed, Ok(Refreshed::Updated { .. })),
        "{refreshed:?}"
    );
    assert_eq!(flags.status().version.as_deref(), Some("v1 <script>"));
    assert!(!logs.text().contains("<script>"), "{}", logs.text());
}

#[test]
fn typed_errors_keep_their_cause() {
    use std::error::Error as _;
    let flags: FlagSource = source(dead_port(), Duration::from_secs(60), Duration::from_secs(2));
    let rt = tokio::runtime::Runtime::new().unwrap();
    let error = rt.block_on(flags.refresh()).unwrap_err();
    assert!(matches!(error, FetchError::Connect(_)), "{error:?}");
    let cause = error
        .source()
        .expect("the transport error is kept as the source");
    assert!(
        cause.to_string().contains("error sending request"),
        "{cause}"
    );
}
