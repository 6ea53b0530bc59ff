//! A minimal in-memory OpenFeature provider, the SDK's baseline in the benches: OpenFeature's
//! Rust SDK (0.3) ships none.

use std::collections::HashMap;

use open_feature::provider::{FeatureProvider, ProviderMetadata, ResolutionDetails};
use open_feature::{
    EvaluationContext, EvaluationError, EvaluationErrorCode, EvaluationResult, StructValue,
};

/// OpenFeature's Rust SDK ships no in-memory provider (0.3): this is the minimal one, with the
/// values a bench reads (it ignores the context: no targeting).
pub struct InMemory {
    metadata: ProviderMetadata,
    bools: HashMap<String, bool>,
    floats: HashMap<String, f64>,
}

impl InMemory {
    /// A provider answering `bools` and `floats` by key, whatever the context.
    pub fn new(bools: &[(&str, bool)], floats: &[(&str, f64)]) -> Self {
        InMemory {
            metadata: ProviderMetadata::new("in-memory"),
            bools: bools.iter().map(|(k, v)| ((*k).to_owned(), *v)).collect(),
            floats: floats.iter().map(|(k, v)| ((*k).to_owned(), *v)).collect(),
        }
    }
}

#[open_feature::async_trait]
impl FeatureProvider for InMemory {
    fn metadata(&self) -> &ProviderMetadata {
        &self.metadata
    }
    async fn resolve_bool_value(
        &self,
        key: &str,
        _: &EvaluationContext,
    ) -> EvaluationResult<ResolutionDetails<bool>> {
        self.bools
            .get(key)
            .map(|v| ResolutionDetails::new(*v))
            .ok_or_else(not_found)
    }
    async fn resolve_int_value(
        &self,
        _: &str,
        _: &EvaluationContext,
    ) -> EvaluationResult<ResolutionDetails<i64>> {
        Err(not_found())
    }
    async fn resolve_float_value(
        &self,
        key: &str,
        _: &EvaluationContext,
    ) -> EvaluationResult<ResolutionDetails<f64>> {
        self.floats
            .get(key)
            .map(|v| ResolutionDetails::new(*v))
            .ok_or_else(not_found)
    }
    async fn resolve_string_value(
        &self,
        _: &str,
        _: &EvaluationContext,
    ) -> EvaluationResult<ResolutionDetails<String>> {
        Err(not_found())
    }
    async fn resolve_struct_value(
        &self,
        _: &str,
        _: &EvaluationContext,
    ) -> EvaluationResult<ResolutionDetails<StructValue>> {
        Err(not_found())
    }
}

fn not_found() -> EvaluationError {
    EvaluationError {
        code: EvaluationErrorCode::FlagNotFound,
        message: None,
    }
}
