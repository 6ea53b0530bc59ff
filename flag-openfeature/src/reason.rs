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
