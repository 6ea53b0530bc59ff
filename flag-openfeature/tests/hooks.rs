//! OpenFeature hooks around this provider's evaluations, over real HTTP to the local agent:
//! every stage runs, in order, with what the provider resolved; a `before` hook's context
//! reaches the agent. Each test names the OpenFeature specification requirements it covers.

mod common;

use std::sync::{Arc, Mutex};

use common::*;
use open_feature::{
    EvaluationContext, EvaluationDetails, EvaluationError, EvaluationOptions, EvaluationReason,
    Hook, HookContext, HookHints, Value,
};

/// Records each stage it runs, with what it saw.
#[derive(Clone, Default)]
struct Recorder {
    seen: Arc<Mutex<Vec<String>>>,
    /// A context field the `before` stage adds, if any.
    adds: Option<(&'static str, &'static str)>,
}

impl Recorder {
    fn seen(&self) -> Vec<String> {
        self.seen.lock().unwrap().clone()
    }
    fn push(&self, entry: String) {
        self.seen.lock().unwrap().push(entry);
    }
}

fn describe(details: &EvaluationDetails<Value>) -> String {
    format!(
        "{:?} {:?} {:?}",
        details.value, details.variant, details.reason
    )
}

#[open_feature::async_trait]
impl Hook for Recorder {
    async fn before<'a>(
        &self,
        context: &HookContext<'a>,
        _hints: Option<&'a HookHints>,
    ) -> Result<Option<EvaluationContext>, EvaluationError> {
        self.push(format!("before {}", context.flag_key));
        Ok(self.adds.map(|(key, value)| {
            context
                .evaluation_context
                .clone()
                .with_custom_field(key, value)
        }))
    }

    async fn after<'a>(
        &self,
        context: &HookContext<'a>,
        details: &EvaluationDetails<Value>,
        _hints: Option<&'a HookHints>,
    ) -> Result<(), EvaluationError> {
        self.push(format!("after {} {}", context.flag_key, describe(details)));
        Ok(())
    }

    async fn error<'a>(
        &self,
        context: &HookContext<'a>,
        error: &EvaluationError,
        _hints: Option<&'a HookHints>,
    ) {
        self.push(format!("error {} {}", context.flag_key, error.code));
    }

    async fn finally<'a>(
        &self,
        context: &HookContext<'a>,
        details: &EvaluationDetails<Value>,
        _hints: Option<&'a HookHints>,
    ) {
        self.push(format!(
            "finally {} {}",
            context.flag_key,
            describe(details)
        ));
    }
}

/// Requirements 4.3.2.1, 4.3.6 and 4.3.8: around a successful resolution, `before`, `after`
/// and `finally` run in that order, and `after` and `finally` see the provider's value,
/// variant and reason.
#[tokio::test]
async fn hooks_run_around_a_resolution() {
    let ((_file, agent), _api, client) = setup().await;
    let recorder = Recorder::default();
    let client = client.with_hook(recorder.clone());
    let gold = EvaluationContext::default().with_custom_field("tier", "gold");
    let value = client
        .get_int_value("discountBanner.percentage", Some(&gold), None)
        .await
        .unwrap();
    assert_eq!(value, 20);
    let seen = "Int(20) Some(\"gold\") Some(TargetingMatch)";
    assert_eq!(
        recorder.seen(),
        [
            "before discountBanner.percentage".to_owned(),
            format!("after discountBanner.percentage {seen}"),
            format!("finally discountBanner.percentage {seen}"),
        ]
    );
    agent.stop().await;
}

/// Requirements 4.3.7 and 4.3.8: a resolution error (here `FLAG_NOT_FOUND`, and
/// `TYPE_MISMATCH`) runs the `error` stage with the provider's code, then `finally`, and no
/// `after`.
#[tokio::test]
async fn error_hooks_see_the_providers_error_code() {
    let ((_file, agent), _api, client) = setup().await;
    let recorder = Recorder::default();
    let client = client.with_hook(recorder.clone());
    assert!(client
        .get_bool_value("noSuchFlag", None, None)
        .await
        .is_err());
    assert!(client
        .get_string_value("newCheckout.limit", None, None)
        .await
        .is_err());
    let seen = recorder.seen();
    assert_eq!(seen.len(), 6, "{seen:?}");
    assert_eq!(seen[0], "before noSuchFlag");
    assert_eq!(seen[1], "error noSuchFlag FLAG_NOT_FOUND");
    assert!(seen[2].starts_with("finally noSuchFlag "), "{seen:?}");
    assert_eq!(seen[4], "error newCheckout.limit TYPE_MISMATCH");
    assert!(!seen.iter().any(|s| s.starts_with("after")), "{seen:?}");
    agent.stop().await;
}

/// Requirements 4.3.2.1 and 4.3.5: the context a `before` hook returns is merged and reaches
/// the agent: the hook's `tier=gold` picks the `gold` variant. Requirement 4.4.1: invocation
/// hooks run too.
#[tokio::test]
async fn a_before_hooks_context_reaches_the_agent() {
    let ((_file, agent), _api, client) = setup().await;
    let plain = client
        .get_bool_details("discountBanner", None, None)
        .await
        .unwrap();
    assert_eq!(plain.variant.as_deref(), Some("plain"));
    assert_eq!(plain.reason, Some(EvaluationReason::Default));

    let recorder = Recorder {
        adds: Some(("tier", "gold")),
        ..Recorder::default()
    };
    let options = EvaluationOptions::default().with_hook(recorder.clone());
    let details = client
        .get_bool_details("discountBanner", None, Some(&options))
        .await
        .unwrap();
    assert_eq!(details.variant.as_deref(), Some("gold"));
    assert_eq!(details.reason, Some(EvaluationReason::TargetingMatch));
    assert_eq!(recorder.seen().len(), 3, "{:?}", recorder.seen());
    agent.stop().await;
}
