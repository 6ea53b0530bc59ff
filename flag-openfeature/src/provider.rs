//! The provider: OpenFeature resolutions answered from a [`FlagSource`].

use std::collections::HashMap;
use std::sync::Arc;

use flag_runtime::{FlagSource, Served};
use open_feature::provider::{
    FeatureProvider, ProviderMetadata, ProviderStatus, ResolutionDetails,
};
use open_feature::{
    EvaluationContext, EvaluationError, EvaluationErrorCode, EvaluationResult, FlagMetadata,
    StructValue,
};

use crate::context::{to_appconfig, with_scope};
use crate::key::Key;
use crate::reason::reason;
use crate::status::{ProviderEvents, State};
use crate::value::{read, Resolvable};

/// The provider's name in its [`ProviderMetadata`].
pub const PROVIDER_NAME: &str = "AWS AppConfig";

/// The flag-metadata key of the `Configuration-Version` an answer came from.
pub const VERSION_METADATA_KEY: &str = "configurationVersion";
/// The flag-metadata key of the AppConfig experiment treatment an answer carries (`__c__`,
/// `__t1__`, ...), present only then.
pub const TREATMENT_METADATA_KEY: &str = "experimentTreatment";

/// An OpenFeature provider serving AWS AppConfig feature flags from a [`FlagSource`]: the same
/// in-process cache, refresh policy and fallbacks as its plain checks. See the
/// [crate docs](crate) for keys, contexts, reasons, errors, status and events.
///
/// Cloning is cheap; clones share the source's cache.
#[derive(Debug, Clone)]
pub struct AppConfigProvider {
    source: FlagSource,
    metadata: ProviderMetadata,
    flag_metadata: bool,
    /// Each multi-variant flag's default (last) variant, from the flags document, if given.
    defaults: Option<Arc<HashMap<String, String>>>,
}

impl AppConfigProvider {
    /// A provider on `source`; usually `flag_runtime::default_source().clone()`, the source
    /// `#[feature_flag]` checks too.
    pub fn new(source: FlagSource) -> Self {
        AppConfigProvider {
            source,
            metadata: ProviderMetadata::new(PROVIDER_NAME),
            flag_metadata: true,
            defaults: None,
        }
    }

    /// The same provider, knowing each multi-variant flag's default variant from the flags
    /// document deployed to AppConfig: reasons are then exact (`DEFAULT` for the default
    /// variant, `TARGETING_MATCH` for any other), even for a flag whose rules match an empty
    /// context. Without it, the default is taken to be what the agent serves with no context.
    ///
    /// ```no_run
    /// # fn demo(source: flag_runtime::FlagSource) -> Result<(), flag_openfeature::flag_schema::SchemaError> {
    /// use flag_openfeature::{flag_schema::Document, AppConfigProvider};
    ///
    /// // The document uploaded to AppConfig, e.g. `include_str!("../flags.json")`.
    /// let text = std::fs::read_to_string("flags.json").expect("the flags document");
    /// let document = Document::parse(&text)?;
    /// let provider = AppConfigProvider::new(source).with_schema(&document);
    /// # Ok(())
    /// # }
    /// ```
    #[must_use]
    pub fn with_schema(mut self, document: &flag_schema::Document) -> Self {
        let defaults = document
            .values
            .iter()
            .filter_map(|(key, value)| {
                let last = value.variants.as_ref()?.last()?;
                Some((key.clone(), last.name.clone()))
            })
            .collect();
        self.defaults = Some(Arc::new(defaults));
        self
    }

    /// The same provider without flag metadata in its resolutions: the `configurationVersion`
    /// entry costs a map and two strings per evaluation (about as much as the rest of the
    /// provider's work, see `docs/benchmarks.md`).
    #[must_use]
    pub fn without_flag_metadata(mut self) -> Self {
        self.flag_metadata = false;
        self
    }

    /// The flag source behind this provider.
    pub fn source(&self) -> &FlagSource {
        &self.source
    }

    /// The provider's events from now on: ready, configuration changed, stale, error.
    ///
    /// ```no_run
    /// # async fn demo(provider: &flag_openfeature::AppConfigProvider) {
    /// let mut events = provider.events();
    /// tokio::spawn(async move {
    ///     loop {
    ///         let event = events.next().await;
    ///         eprintln!("feature flags: {}", event.name());
    ///     }
    /// });
    /// # }
    /// ```
    pub fn events(&self) -> ProviderEvents {
        ProviderEvents::new(&self.source)
    }

    async fn resolve<T: Resolvable>(
        &self,
        flag_key: &str,
        context: &EvaluationContext,
    ) -> EvaluationResult<ResolutionDetails<T>> {
        let key = Key::parse(flag_key);
        let context = with_scope(to_appconfig(context)?);
        let served = self.source.with_context(&context).served().await;
        // The context-free answer: what a context's variant is compared with when the schema
        // is not known; the provider's status follows it, so every evaluation keeps it fresh.
        // A stale answer's reason is `STALE` whatever it is compared with: its refresh starts in
        // the background then, so a failing agent costs one timeout per evaluation, not two.
        let context_free = match &served {
            Served::Context { stale: false, .. } if self.defaults.is_none() => {
                self.source.snapshot().await
            }
            Served::Context { .. } => self.source.snapshot_now(),
            _ => None,
        };
        let Some(snapshot) = served.snapshot() else {
            return Err(self.nothing_loaded());
        };
        let Some(flag) = snapshot.flag(key.flag) else {
            return Err(EvaluationError {
                code: EvaluationErrorCode::FlagNotFound,
                message: Some(format!(
                    "flag `{}` is not in the AppConfig configuration",
                    key.flag
                )),
            });
        };
        let value = read::<T>(key, flag)?;
        let default = self
            .defaults
            .as_ref()
            .and_then(|defaults| defaults.get(key.flag).map(String::as_str));
        let reason = reason(&served, key.flag, flag, default, context_free.as_deref());
        let mut details = ResolutionDetails {
            value,
            variant: flag.variant().map(str::to_owned),
            reason: Some(reason),
            flag_metadata: None,
        };
        if self.flag_metadata {
            let mut metadata = FlagMetadata::default();
            if let Some(version) = snapshot.version() {
                metadata = metadata.with_value(VERSION_METADATA_KEY, version);
            }
            if let Some(assignment) = flag.assignment() {
                metadata = metadata.with_value(TREATMENT_METADATA_KEY, assignment.to_string());
            }
            details.flag_metadata = (!metadata.values.is_empty()).then_some(metadata);
        }
        Ok(details)
    }

    fn nothing_loaded(&self) -> EvaluationError {
        let status = self.source.status();
        match State::of(&status) {
            State::NotReady => EvaluationError {
                code: EvaluationErrorCode::ProviderNotReady,
                message: Some("no AppConfig flags loaded yet".to_owned()),
            },
            _ => EvaluationError {
                code: EvaluationErrorCode::General("GENERAL".to_owned()),
                message: Some(match &status.last_error {
                    Some(error) => format!("no AppConfig flags could be loaded: {error}"),
                    None => "no AppConfig flags could be loaded".to_owned(),
                }),
            },
        }
    }
}

#[open_feature::async_trait]
impl FeatureProvider for AppConfigProvider {
    /// Loads the flags (one request to the agent); the outcome is the [`status`](Self::status):
    /// `READY`, else `ERROR` (or `STALE` when a shared source already held flags).
    async fn initialize(&mut self, _context: &EvaluationContext) {
        // The outcome is recorded in the source's health, which the status reads.
        let _ = self.source.refresh().await;
    }

    fn status(&self) -> ProviderStatus {
        State::of(&self.source.status()).provider_status()
    }

    fn metadata(&self) -> &ProviderMetadata {
        &self.metadata
    }

    async fn resolve_bool_value(
        &self,
        flag_key: &str,
        evaluation_context: &EvaluationContext,
    ) -> EvaluationResult<ResolutionDetails<bool>> {
        self.resolve(flag_key, evaluation_context).await
    }

    async fn resolve_int_value(
        &self,
        flag_key: &str,
        evaluation_context: &EvaluationContext,
    ) -> EvaluationResult<ResolutionDetails<i64>> {
        self.resolve(flag_key, evaluation_context).await
    }

    async fn resolve_float_value(
        &self,
        flag_key: &str,
        evaluation_context: &EvaluationContext,
    ) -> EvaluationResult<ResolutionDetails<f64>> {
        self.resolve(flag_key, evaluation_context).await
    }

    async fn resolve_string_value(
        &self,
        flag_key: &str,
        evaluation_context: &EvaluationContext,
    ) -> EvaluationResult<ResolutionDetails<String>> {
        self.resolve(flag_key, evaluation_context).await
    }

    async fn resolve_struct_value(
        &self,
        flag_key: &str,
        evaluation_context: &EvaluationContext,
    ) -> EvaluationResult<ResolutionDetails<StructValue>> {
        self.resolve(flag_key, evaluation_context).await
    }
}
