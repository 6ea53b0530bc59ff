//! Why a value is what it is: OpenFeature's reason, from what the runtime knows.
//!
//! The agent's answer for a multi-variant flag names the variant it served (`_variant`), not
//! whether a rule chose it, and rule definitions never reach the function. What decides:
//!
//! * The latest refresh of the answer read failed, so it is last-known-good: `STALE` (the
//!   specification's reason for a value that may be out of date; the SDK 0.3 spells it
//!   `Other("STALE")`).
//! * A flag without `_variant` (a single-variant flag): its value is the same for every
//!   context: `STATIC`.
//! * A multi-variant flag, with the flags document given
//!   ([`with_schema`](crate::AppConfigProvider::with_schema)): its default variant is the last
//!   one, which has no rule, and variant names are unique within a flag: the default's name is
//!   `DEFAULT`, any other `TARGETING_MATCH`. Exact.
//! * Without the document, the default is taken to be what the agent serves when no context
//!   is sent: read from the context-free answer, `DEFAULT`; read from the context's own answer,
//!   the same name as the context-free answer of the same configuration version is `DEFAULT`,
//!   another `TARGETING_MATCH`, nothing to compare with `UNKNOWN`. This is exact unless a
//!   rule of the flag matches an empty context (`(not (exists key::"tier"))` does): then the
//!   reasons of that flag's default and matched variants are swapped.
//!
//! A variant chosen by a `split` rule is a `TARGETING_MATCH` too: telling `SPLIT` apart would
//! take the rule, which the agent does not send.

use flag_runtime::{Flag, Served, Snapshot};
use open_feature::EvaluationReason;

/// The reason for `flag` (named `name`), read from `served`; `context_free` is the context-free
/// answer at hand, for the comparison.
pub(crate) fn reason(
    served: &Served,
    name: &str,
    flag: &Flag,
    schema_default: Option<&str>,
    context_free: Option<&Snapshot>,
) -> EvaluationReason {
    if served.is_stale() {
        return stale();
    }
    if flag.assignment().is_some() {
        // An AppConfig experiment assigned this entity a treatment (`__c__`, `__tN__`).
        return EvaluationReason::Split;
    }
    let Some(variant) = flag.variant() else {
        return EvaluationReason::Static;
    };
    if let Some(default) = schema_default {
        return if default == variant {
            EvaluationReason::Default
        } else {
            EvaluationReason::TargetingMatch
        };
    }
    let Served::Context { snapshot, .. } = served else {
        return EvaluationReason::Default;
    };
    let default = context_free
        .filter(|base| base.version() == snapshot.version())
        .and_then(|base| base.flag(name))
        .and_then(Flag::variant);
    match default {
        Some(default) if default == variant => EvaluationReason::Default,
        Some(_) => EvaluationReason::TargetingMatch,
        None => EvaluationReason::Unknown,
    }
}

/// The specification's `STALE`: a value that may be out of date (last-known-good).
pub(crate) fn stale() -> EvaluationReason {
    EvaluationReason::Other("STALE".to_owned())
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    fn snapshot(variant: &str, version: &str) -> Arc<Snapshot> {
        let body = format!(r#"{{"banner": {{"enabled": true, "_variant": "{variant}"}}}}"#);
        Arc::new(Snapshot::parse(body.as_bytes(), Some(version)).unwrap())
    }

    fn reason_of(served: &Served, context_free: Option<&Snapshot>) -> EvaluationReason {
        let flag = served.snapshot().unwrap().flag("banner").unwrap().clone();
        reason(served, "banner", &flag, None, context_free)
    }

    #[test]
    fn a_variant_is_compared_with_the_same_versions_default() {
        let gold = Served::Context {
            snapshot: snapshot("gold", "7"),
            stale: false,
        };
        let default_v7 = snapshot("plain", "7");
        let gold_v7 = snapshot("gold", "7");
        let default_v8 = snapshot("plain", "8");
        assert_eq!(
            reason_of(&gold, Some(&default_v7)),
            EvaluationReason::TargetingMatch
        );
        // The default variant (the same name as the context-free answer's) is DEFAULT even
        // though a context was sent.
        assert_eq!(reason_of(&gold, Some(&gold_v7)), EvaluationReason::Default);
        // Another version, or no context-free answer: nothing to compare with.
        assert_eq!(
            reason_of(&gold, Some(&default_v8)),
            EvaluationReason::Unknown
        );
        assert_eq!(reason_of(&gold, None), EvaluationReason::Unknown);
        // Last-known-good wins over everything.
        let stale = Served::Context {
            snapshot: snapshot("gold", "7"),
            stale: true,
        };
        assert_eq!(reason_of(&stale, Some(&default_v7)), super::stale());
        // Read from the context-free answer: the default variant.
        let fallback = Served::ContextFree {
            snapshot: snapshot("plain", "7"),
            stale: false,
        };
        assert_eq!(reason_of(&fallback, None), EvaluationReason::Default);
    }

    #[test]
    fn with_the_schema_the_default_is_its_last_variant() {
        // A rule matching an empty context: the context-free answer serves `paid`, a rule's
        // variant, while the default (last) variant is `free`.
        let context_free = snapshot("paid", "7");
        let paid = Served::Context {
            snapshot: snapshot("paid", "7"),
            stale: false,
        };
        let free = Served::Context {
            snapshot: snapshot("free", "7"),
            stale: false,
        };
        let read = |served: &Served, schema: Option<&str>| {
            let flag = served.snapshot().unwrap().flag("banner").unwrap().clone();
            reason(served, "banner", &flag, schema, Some(&context_free))
        };
        assert_eq!(read(&paid, Some("free")), EvaluationReason::TargetingMatch);
        assert_eq!(read(&free, Some("free")), EvaluationReason::Default);
        // Without the schema, the documented guess is wrong for such a flag.
        assert_eq!(read(&paid, None), EvaluationReason::Default);
    }
}
