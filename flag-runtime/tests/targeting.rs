//! Targeting over real HTTP: the runtime sends each request's context, the local agent evaluates
//! the variant rules (every operator), and the runtime serves the chosen variant.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::*;
use flag_runtime::{Context, FlagSource};
use serde_json::{json, Value};

/// One multi-variant flag per operator: variant `hit` when the rule matches, `miss` otherwise.
fn operators_doc() -> Value {
    let rules = [
        ("opEq", r#"(eq $tier "gold")"#),
        ("opGt", "(gt $age 17)"),
        ("opGte", "(gte $age 18)"),
        ("opLt", "(lt $score 0.5)"),
        ("opLte", "(lte $since 2024-01-01T00:00:00Z)"),
        ("opAnd", r#"(and (eq $tier "gold") (gte $age 18))"#),
        ("opOr", r#"(or (eq $tier "gold") (eq $tier "silver"))"#),
        ("opNot", r#"(not (eq $tier "gold"))"#),
        ("opNe", r#"(ne $region "us-west-2")"#),
        ("opNotIn", r#"(not (in $country ["CN" "RU"]))"#),
        ("opBeginsWith", r#"(begins_with $state "CA")"#),
        ("opEndsWith", r#"(ends_with $email "@example.org")"#),
        ("opContains", r#"(contains $promo "WIN")"#),
        ("opIn", r#"(in $country ["FR", "DE"])"#),
        ("opMatches", r#"(matches in::$email pattern::"^qa-.*@")"#),
        ("opExists", r#"(exists key::"beta")"#),
        ("opSplit", "(split pct::50 by::$customerId)"),
        ("opBool", "(eq $beta true)"),
    ];
    let mut flags = serde_json::Map::new();
    let mut values = serde_json::Map::new();
    for (key, rule) in rules {
        flags.insert(key.into(), json!({"name": key}));
        values.insert(
            key.into(),
            json!({"_variants": [
                {"name": "hit", "enabled": true, "rule": rule},
                {"name": "miss", "enabled": false}
            ]}),
        );
    }
    json!({"version": "1", "flags": flags, "values": values})
}

/// The local agent serving `doc`, and a source on it (a TTL of a minute, a 2 s timeout).
async fn serve(doc: &Value) -> (FlagsFile, flag_agent::RunningAgent, FlagSource) {
    let file = FlagsFile::new(doc);
    let agent = start_agent(&file).await;
    let flags = source(
        agent.addr().port(),
        Duration::from_secs(60),
        Duration::from_secs(2),
    );
    (file, agent, flags)
}

async fn variant(flags: &FlagSource, flag: &str, pairs: &[(&str, &str)]) -> String {
    let mut context = Context::new();
    for (k, v) in pairs {
        context.insert(k, *v);
    }
    let found = flags.with_context(&context).flag(flag).await;
    found
        .and_then(|f| f.variant().map(str::to_owned))
        .unwrap_or_else(|| panic!("{flag}: no variant"))
}

#[tokio::test]
async fn every_operator_through_the_agent() {
    let (_file, _agent, flags) = serve(&operators_doc()).await;
    type Case<'a> = (&'a str, &'a [(&'a str, &'a str)], &'a str);
    let cases: &[Case] = &[
        ("opEq", &[("tier", "gold")], "hit"),
        ("opEq", &[("tier", "Gold")], "miss"),
        ("opEq", &[], "miss"),
        ("opGt", &[("age", "18")], "hit"),
        ("opGt", &[("age", "17")], "miss"),
        ("opGt", &[("age", "eighteen")], "miss"),
        ("opGte", &[("age", "18")], "hit"),
        ("opLt", &[("score", "0.25")], "hit"),
        ("opLt", &[("score", "0.75")], "miss"),
        ("opLte", &[("since", "2023-06-01")], "hit"),
        ("opLte", &[("since", "2024-06-01T00:00:00Z")], "miss"),
        ("opAnd", &[("tier", "gold"), ("age", "30")], "hit"),
        ("opAnd", &[("tier", "gold"), ("age", "12")], "miss"),
        ("opOr", &[("tier", "silver")], "hit"),
        ("opOr", &[("tier", "bronze")], "miss"),
        ("opNot", &[("tier", "bronze")], "hit"),
        ("opNot", &[("tier", "gold")], "miss"),
        ("opNot", &[("other", "x")], "miss"),
        ("opNe", &[("region", "eu-west-1")], "hit"),
        ("opNe", &[("region", "us-west-2")], "miss"),
        ("opNe", &[("other", "x")], "miss"),
        ("opNotIn", &[("country", "US")], "hit"),
        ("opNotIn", &[("country", "CN")], "miss"),
        ("opNotIn", &[("other", "x")], "miss"),
        ("opBeginsWith", &[("state", "CALIFORNIA")], "hit"),
        ("opBeginsWith", &[("state", "NV")], "miss"),
        ("opEndsWith", &[("email", "jo@example.org")], "hit"),
        ("opEndsWith", &[("email", "jo@example.com")], "miss"),
        ("opContains", &[("promo", "BIGWINTER")], "hit"),
        ("opContains", &[("promo", "SUMMER")], "miss"),
        ("opIn", &[("country", "DE")], "hit"),
        ("opIn", &[("country", "ES")], "miss"),
        ("opMatches", &[("email", "qa-jo@example.org")], "hit"),
        ("opMatches", &[("email", "jo-qa@example.org")], "miss"),
        ("opExists", &[("beta", "false")], "hit"),
        ("opExists", &[("other", "x")], "miss"),
        ("opBool", &[("beta", "true")], "hit"),
        ("opBool", &[("beta", "false")], "miss"),
    ];
    for (flag, pairs, expected) in cases {
        assert_eq!(
            variant(&flags, flag, pairs).await,
            *expected,
            "{flag} with {pairs:?}"
        );
    }
    // No context at all: the default variant.
    let plain = flags.flag("opEq").await.unwrap();
    assert_eq!(plain.variant(), Some("miss"));
    assert!(!plain.is_enabled());
}

/// A 50% split by customer id: about half of 400 customers, each always on the same side.
#[tokio::test]
async fn split_through_the_agent_is_stable_per_customer() {
    let (_file, _agent, flags) = serve(&operators_doc()).await;
    let mut hits = 0;
    for id in 0..400 {
        let id = format!("customer-{id}");
        let first = variant(&flags, "opSplit", &[("customerId", &id)]).await;
        if first == "hit" {
            hits += 1;
        }
        flags
            .with_context(&Context::new().with("customerId", id.as_str()))
            .refresh()
            .await
            .unwrap();
        assert_eq!(
            variant(&flags, "opSplit", &[("customerId", &id)]).await,
            first
        );
    }
    assert!((160..=240).contains(&hits), "{hits} of 400 for a 50% split");
}

/// AWS's `ui_refresh` example, served through the runtime for the contexts its page shows.
#[tokio::test]
async fn the_user_guides_example_through_the_runtime() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../flag-schema/tests/fixtures/aws/ui_refresh.json"
    );
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let (_file, agent, flags) = serve(&doc).await;
    let qa = Context::new().with("email", "jane@qa-testers.mycompany.com");
    let targeted = flags.with_context(&qa);
    assert!(targeted.is_enabled("ui_refresh").await);
    assert_eq!(
        targeted
            .attribute::<bool>("ui_refresh", "dark_mode_support")
            .await,
        Some(true)
    );
    let beta = Context::new()
        .with("email", "joe@example.org")
        .with("opted_in_to_beta", false);
    assert_eq!(
        flags
            .with_context(&beta)
            .flag("ui_refresh")
            .await
            .unwrap()
            .variant(),
        Some("Beta Testers")
    );
    assert!(
        !flags.is_enabled("ui_refresh").await,
        "no context: the disabled default"
    );
    assert_eq!(
        agent.requests(),
        3,
        "one request per context, and one without"
    );
}

/// Every context the runtime accepts reaches the agent intact, up to its limits (256 pairs,
/// 16 KiB in one `Context` header); one past them is refused by `validate()`, served the
/// context-free answer, and logged at most once a minute.
#[tokio::test]
async fn the_whole_accepted_context_range_round_trips() {
    let doc = json!({
        "version": "1",
        "flags": {"last": {"name": "last"}},
        "values": {"last": {"_variants": [
            {"name": "hit", "enabled": true, "rule": "(and (eq $tier \"gold\") (exists key::\"k0\"))"},
            {"name": "miss", "enabled": false}
        ]}}
    });
    let (_file, _agent, flags) = serve(&doc).await;
    // 256 pairs, the header exactly 16 KiB long.
    let mut full = Context::new();
    for i in 0..255 {
        full.insert(&format!("k{i}"), "v".repeat(56));
    }
    full.insert("tier", "gold");
    let header: usize = full
        .pairs()
        .map(|(k, v)| k.len() + v.len() + 2)
        .sum::<usize>()
        - 1;
    full.insert(
        "k0",
        "v".repeat(56 + flag_runtime::Context::MAX_BYTES - header),
    );
    assert_eq!(full.pairs().count(), flag_runtime::Context::MAX_PAIRS);
    assert_eq!(full.validate(), Ok(()));
    let (logs, _guard) = Logs::capture();
    let hit = |c: &Context| {
        let flags = flags.clone();
        let c = c.clone();
        async move {
            flags
                .with_context(&c)
                .flag("last")
                .await
                .unwrap()
                .variant()
                .map(str::to_owned)
        }
    };
    assert_eq!(
        hit(&full).await.as_deref(),
        Some("hit"),
        "the whole context arrived"
    );

    let too_long = full.clone().with("k1", "v".repeat(57));
    let too_many = Context::new().with("tier", "gold").with("k0", 1);
    let too_many = (0..256).fold(too_many, |c, i| c.with(&format!("n{i}"), 1));
    for (context, pairs) in [(&too_long, 256), (&too_many, 258)] {
        match context.validate() {
            Err(flag_runtime::ContextError::TooLarge { pairs: p, bytes }) => {
                assert_eq!(p, pairs);
                assert!(pairs > 256 || bytes > flag_runtime::Context::MAX_BYTES);
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(hit(context).await.as_deref(), Some("miss"), "context-free");
    }
    assert_eq!(
        logs.count("WARN", "evaluation context cannot be sent"),
        1,
        "{}",
        logs.text()
    );
    let message = too_long.validate().unwrap_err().to_string();
    assert!(
        message.contains("at most 256 pairs in 16384 bytes"),
        "{message}"
    );
    // Sendable and unsendable contexts alternating (mixed traffic): at most one line a
    // minute, so no flood.
    let ok = Context::new().with("tier", "gold").with("k0", 1);
    for _ in 0..20 {
        assert_eq!(hit(&ok).await.as_deref(), Some("hit"));
        assert_eq!(hit(&too_many).await.as_deref(), Some("miss"));
    }
    assert_eq!(
        logs.count("WARN", "evaluation context cannot be sent"),
        1,
        "{}",
        logs.text()
    );
    assert!(
        !logs.text().contains("vvvv"),
        "never a value: {}",
        logs.text()
    );
}

/// Every pair of a full context reaches the agent as `Context` holds it: 256 keys, each value
/// checked by the rule (spaces inside, `=`, `;`, quotes-free punctuation, non-ASCII, empty);
/// whitespace around a value is dropped when it is inserted, as the agent reads the header.
#[tokio::test]
async fn every_pair_of_a_full_context_arrives_intact() {
    let value = |i: usize| match i % 6 {
        0 => format!("v {i} with spaces"),
        1 => format!("a=b={i}"),
        2 => format!("caf\u{e9} \u{65e5}\u{672c} {i}"),
        3 => String::new(),
        4 => format!("x;y:{i}/z?&"),
        _ => format!("{i}"),
    };
    let mut context = Context::new();
    let mut clauses = String::new();
    for i in 0..Context::MAX_PAIRS {
        let key = if i % 7 == 0 {
            format!("k.{i}")
        } else {
            format!("k{i}")
        };
        // Padded on insert: the padding is not part of the value.
        context.insert(&key, format!("  {}\t", value(i)));
        clauses.push_str(&format!(" (eq ${key} \"{}\")", value(i)));
    }
    assert_eq!(context.validate(), Ok(()));
    assert_eq!(context.get("k1"), Some("a=b=1"));
    let doc = json!({
        "version": "1",
        "flags": {"all": {"name": "all"}},
        "values": {"all": {"_variants": [
            {"name": "every", "enabled": true, "rule": format!("(and{clauses})")},
            {"name": "not", "enabled": false}
        ]}}
    });
    let (_file, _agent, flags) = serve(&doc).await;
    let variant = |c: Context| {
        let flags = flags.clone();
        async move {
            let flag = flags.with_context(&c).flag("all").await.unwrap();
            flag.variant().map(str::to_owned)
        }
    };
    assert_eq!(variant(context.clone()).await.as_deref(), Some("every"));
    // And the rule does tell them apart: one value changed, and it no longer matches.
    let changed = context.with("k.7", "v 7 with  spaces");
    assert_eq!(variant(changed).await.as_deref(), Some("not"));
}

/// First-seen contexts reuse one kept-alive connection: each costs a request, not a connect.
#[tokio::test]
async fn new_contexts_reuse_one_kept_alive_connection() {
    let (_file, agent, flags) = serve(&operators_doc()).await;
    for tier in ["gold", "silver", "bronze", "iron", "tin"] {
        let context = Context::new().with("tier", tier);
        flags.with_context(&context).is_enabled("opEq").await;
    }
    flags.is_enabled("opEq").await;
    assert_eq!(agent.requests(), 6, "one request per context, one without");
    assert_eq!(agent.connections(), 1, "all on one connection");
}

/// A kept-alive connection that died while idle (as after a SnapStart restore, or an agent
/// dropping it without a word) fails before any answer: the request is sent again, once, on a
/// new connection, and the check gets the context's answer.
#[tokio::test]
async fn a_kept_alive_connection_that_died_is_replaced_within_the_same_refresh() {
    use std::io::{BufReader, Write as _};
    use std::sync::atomic::{AtomicUsize, Ordering};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let accepted = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&accepted);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let first = counter.fetch_add(1, Ordering::SeqCst) == 0;
            std::thread::spawn(move || {
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut answered = 0;
                loop {
                    let head = read_head(&mut reader);
                    if head.is_empty() || (first && answered == 1) {
                        // The first connection dies on its second request, unanswered.
                        return;
                    }
                    let gold = head.to_ascii_lowercase().contains("tier=gold");
                    let body = format!(r#"{{"discount": {{"enabled": {gold}}}}}"#);
                    let keep = if first { "keep-alive" } else { "close" };
                    let answer = format!(
                        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConfiguration-Version: 1\r\nContent-Length: {}\r\nConnection: {keep}\r\n\r\n{body}",
                        body.len()
                    );
                    stream.write_all(answer.as_bytes()).unwrap();
                    answered += 1;
                    if !first {
                        return;
                    }
                }
            });
        }
    });
    let flags = source(port, Duration::from_secs(60), Duration::from_secs(2));
    assert!(!flags.is_enabled("discount").await, "kept alive");
    let gold = Context::new().with("tier", "gold");
    assert!(
        flags.with_context(&gold).is_enabled("discount").await,
        "the context's answer, through a new connection"
    );
    assert!(!flags.with_context(&gold).served_now().is_stale());
    assert_eq!(accepted.load(Ordering::SeqCst), 2);
}

/// A fault in an answer's bytes (a malformed head) is the agent's: the request is not sent
/// again, whatever the connection.
#[tokio::test]
async fn a_malformed_answer_is_not_asked_again() {
    let agent = RawAgent::start(|_| b"HTTP/1.1 200 OK\r\nContent-Length: nope\r\n\r\n{}".to_vec());
    let flags = source(
        agent.port(),
        Duration::from_secs(60),
        Duration::from_secs(2),
    );
    assert!(flags.refresh().await.is_err());
    assert_eq!(agent.requests(), 1, "one connection, one request");
}
