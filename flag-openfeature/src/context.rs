//! The OpenFeature evaluation context as an AppConfig [`Context`].

use flag_runtime::Context;
use open_feature::{
    EvaluationContext, EvaluationContextFieldValue, EvaluationError, EvaluationErrorCode,
};
use time::format_description::well_known::Rfc3339;

/// The context key the OpenFeature targeting key is sent under (besides the `Entity-Id`), for
/// rules such as `(split pct::10 by::$targetingKey)`. It replaces a custom field of that name.
pub const TARGETING_KEY: &str = "targetingKey";

/// The AppConfig context of an OpenFeature evaluation context: each custom field is a
/// `Context: key=value` pair (booleans, integers and floats as written, strings as they are,
/// date-times in RFC 3339), and the targeting key is the `Entity-Id` and the pair
/// [`TARGETING_KEY`] (the pair only when it is a valid context value: no `,`, at most 1024
/// bytes). A structure field, or a field the agent cannot be sent (see
/// [`Context::validate`]), is `INVALID_CONTEXT`; the message names the key, never the value.
pub fn to_appconfig(context: &EvaluationContext) -> Result<Context, EvaluationError> {
    let mut out = Context::new();
    for (key, value) in &context.custom_fields {
        if key == TARGETING_KEY && context.targeting_key.is_some() {
            continue;
        }
        match value {
            EvaluationContextFieldValue::Bool(b) => out.insert(key, *b),
            EvaluationContextFieldValue::Int(i) => out.insert(key, *i),
            EvaluationContextFieldValue::Float(f) => out.insert(key, *f),
            EvaluationContextFieldValue::String(s) => out.insert(key, s.as_str()),
            EvaluationContextFieldValue::DateTime(t) => {
                let text = t.format(&Rfc3339).map_err(|_| {
                    invalid(format!(
                        "context field `{key}` is a date-time RFC 3339 cannot represent (a year outside \
                         0000 to 9999, or an offset with seconds)"
                    ))
                })?;
                out.insert(key, text)
            }
            EvaluationContextFieldValue::Struct(_) => {
                return Err(invalid(format!(
                    "context field `{key}` is a structure; AppConfig context values are strings, \
                     numbers and booleans"
                )))
            }
        }
    }
    if let Some(id) = &context.targeting_key {
        // The pair only when it can be sent: the `Entity-Id` takes what a context value cannot
        // (`Doe, John`, up to 2048 bytes), and a rule on `$targetingKey` then sees no value.
        if Context::new()
            .with(TARGETING_KEY, id.as_str())
            .validate()
            .is_ok()
        {
            out.insert(TARGETING_KEY, id.as_str());
        }
        out = out.with_entity_id(id.as_str());
    }
    out.validate().map_err(|error| invalid(error.to_string()))?;
    Ok(out)
}

/// `context` with the keys it lacks taken from the [invocation scope](flag_runtime::Scope)
/// the evaluation runs in (pairs, and the `Entity-Id` when it has none); as it is outside a
/// scope. The scope's context is the OpenFeature *transaction context*, ranked below every
/// other context the SDK merged (see the crate docs).
pub(crate) fn with_scope(mut context: Context) -> Context {
    let Some(scope) = flag_runtime::Scope::current() else {
        return context;
    };
    let scoped = scope.context();
    for (key, value) in scoped.pairs() {
        if context.get(key).is_none() {
            context.insert(key, value);
        }
    }
    if let (None, Some(id)) = (context.entity_id(), scoped.entity_id()) {
        context = context.with_entity_id(id);
    }
    context
}

fn invalid(message: String) -> EvaluationError {
    EvaluationError {
        code: EvaluationErrorCode::InvalidContext,
        message: Some(message),
    }
}
