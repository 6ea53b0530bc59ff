//! The tower layer that makes every Lambda invocation an [invocation scope](crate::scope).
//!
//! ```no_run
//! use flag_runtime::lambda::FlagsLayer;
//! use flag_runtime::Context;
//! use lambda_runtime::{service_fn, Error, LambdaEvent};
//!
//! #[derive(serde::Deserialize)]
//! struct Order {
//!     tier: String,
//!     customer: String,
//! }
//!
//! async fn handler(event: LambdaEvent<Order>) -> Result<String, Error> {
//!     // Every check in here reads the answers pinned for this invocation's context.
//!     let new = flag_runtime::default_source().is_enabled("newCheckout").await;
//!     Ok(if new { "new" } else { "old" }.to_owned())
//! }
//!
//! # async fn run() -> Result<(), Error> {
//! let layer = FlagsLayer::new().context(|event: &LambdaEvent<Order>| {
//!     Context::new()
//!         .with("tier", event.payload.tier.as_str())
//!         .with_entity_id(&event.payload.customer)
//! });
//! lambda_runtime::run(
//!     lambda_runtime::tower::ServiceBuilder::new()
//!         .layer(layer)
//!         .service(service_fn(handler)),
//! )
//! .await
//! # }
//! ```

use std::future::Future;
use std::pin::Pin;
use std::task::{Context as TaskContext, Poll};

use lambda_runtime::tower::{Layer, Service};
use lambda_runtime::LambdaEvent;

use crate::context::Context;
use crate::source::{default_source, FlagSource};

/// A tower [`Layer`] that runs each invocation of the service below it as an invocation scope
/// ([`FlagSource::scope`]): fresh at its start, one configuration version and one evaluation
/// context throughout.
///
/// Its service is `Clone` when the inner one is, and its future `Send + 'static`, so it works
/// under `lambda_runtime::run` and `lambda_runtime::run_concurrent` (Lambda Managed
/// Instances: each concurrent invocation keeps its own scope). The inner service must be
/// `Clone + Send + 'static` (`service_fn` of a function or of a closure that clones its
/// captures is): it is called inside the scope, so that what it does before its future runs
/// reads the invocation's answers too.
#[derive(Debug, Clone)]
pub struct FlagsLayer<C = NoContext> {
    source: Option<FlagSource>,
    context: C,
}

/// The context of a [`FlagsLayer`] without [`context`](FlagsLayer::context): empty.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoContext;

/// How a [`FlagsLayer`] builds an invocation's [`Context`] from its event: implemented by
/// `Fn(&LambdaEvent<T>) -> Context` closures and by [`NoContext`].
pub trait MakeContext<T> {
    /// The evaluation context (and Entity-Id) of the invocation of `event`.
    fn make_context(&self, event: &LambdaEvent<T>) -> Context;
}

impl<T> MakeContext<T> for NoContext {
    fn make_context(&self, _: &LambdaEvent<T>) -> Context {
        Context::new()
    }
}

impl<T, R: Into<Context>, F: Fn(&LambdaEvent<T>) -> R> MakeContext<T> for F {
    fn make_context(&self, event: &LambdaEvent<T>) -> Context {
        self(event).into()
    }
}

impl FlagsLayer {
    /// A layer over the [default source](crate::default_source), with an empty context.
    pub fn new() -> Self {
        FlagsLayer {
            source: None,
            context: NoContext,
        }
    }
}

impl Default for FlagsLayer {
    fn default() -> Self {
        Self::new()
    }
}

impl<C> FlagsLayer<C> {
    /// Builds each invocation's evaluation context (pairs and Entity-Id) from its event: a
    /// [`Context`], or anything that converts into one, such as the typed context of
    /// `flags!` (`flags::context()`).
    pub fn context<T, R, F>(self, context: F) -> FlagsLayer<F>
    where
        R: Into<Context>,
        F: Fn(&LambdaEvent<T>) -> R,
    {
        FlagsLayer {
            source: self.source,
            context,
        }
    }

    /// Names the flags under an AppConfig experiment, so that each invocation's Entity-Id is
    /// served its treatment: `flags::experiments()` of the `flags!` module (see
    /// [`FlagSource::add_experiments`]).
    pub fn experiments(self, flags: &[&str]) -> Self {
        self.source
            .as_ref()
            .unwrap_or_else(|| default_source())
            .add_experiments(flags.iter().copied());
        self
    }

    /// Scopes `source` instead of the default source.
    pub fn source(self, source: FlagSource) -> Self {
        FlagsLayer {
            source: Some(source),
            ..self
        }
    }
}

impl<S, C: Clone> Layer<S> for FlagsLayer<C> {
    type Service = FlagsService<S, C>;

    fn layer(&self, inner: S) -> Self::Service {
        FlagsService {
            inner,
            source: self.source.clone(),
            context: self.context.clone(),
        }
    }
}

/// The service of a [`FlagsLayer`]: the inner service, each call in an invocation scope.
#[derive(Debug, Clone)]
pub struct FlagsService<S, C = NoContext> {
    inner: S,
    source: Option<FlagSource>,
    context: C,
}

impl<S, C, T> Service<LambdaEvent<T>> for FlagsService<S, C>
where
    S: Service<LambdaEvent<T>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    C: MakeContext<T>,
    T: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<S::Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut TaskContext<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, event: LambdaEvent<T>) -> Self::Future {
        let context = self.context.make_context(&event);
        // The inner service is called inside the scope (what it does before its future runs
        // reads the pins too): the one made ready takes the call, a clone stays for the next.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let source = self.source.as_ref().unwrap_or_else(|| default_source());
        Box::pin(source.scope(context, async move { inner.call(event).await }))
    }
}
