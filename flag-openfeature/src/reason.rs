//! Why a value is what it is: OpenFeature's reason, from what the runtime knows.
//!
//! The agent's answer for a multi-variant flag names the variant it served (`_variant`), not
//! whether a rule chose it, and rule definitions never reach the function. What decides:
//!
//! * The latest refresh of the answer read failed, so it is last-known-good: `CACHED`.
//! * A flag without `_variant` (a single-variant flag): its value is the same for every
//!   context: `STATIC`.
//! * A multi-variant flag read from the context-free answer (an empty context, or the
//!   context's own answer could not be loaded): the agent serves the default variant when no
//!   context is sent: `DEFAULT`.
//! * A multi-variant flag read from the context's own answer: compared with the variant the
//!   context-free answer of the same configuration version serves, which is the default
//!   variant. Variant names are unique within a flag and the default (last) variant has no
//!   rule, so the same name means no rule matched (`DEFAULT`) and another name means a rule
//!   chose it (`TARGETING_MATCH`). Without a context-free answer of the same version to
//!   compare with: `UNKNOWN`.
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
    context_free: Option<&Snapshot>,
) -> EvaluationReason {
    if served.is_stale() {
        return EvaluationReason::Cached;
    }
    let Some(variant) = flag.variant() else {
        return EvaluationReason::Static;
    };
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
        reason(served, "banner", &flag, context_free)
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
        assert_eq!(
            reason_of(&stale, Some(&default_v7)),
            EvaluationReason::Cached
        );
        // Read from the context-free answer: the default variant.
        let fallback = Served::ContextFree {
            snapshot: snapshot("plain", "7"),
            stale: false,
        };
        assert_eq!(reason_of(&fallback, None), EvaluationReason::Default);
    }
}
