//! `flags!`: typed access to every flag of your `flags.json` (AppConfig's feature-flag document);
//! `#[feature_flag]`: gate a function on one of them. Names, attributes and types are checked
//! against the file at compile time.
//!
//! ```
//! use flag_macros::feature_flag;
//!
//! // One static per flag of flags.json (beside Cargo.toml), a struct of its attributes:
//! flag_macros::flags!(pub mod flags,
//! #   schema = "tests/flags.json",
//! );
//!
//! #[feature_flag(
//!     flags::NEW_CHECKOUT, // or the flag's key: "newCheckout"
//!     fallback = old_checkout,
//! #   schema = "tests/flags.json",
//! )]
//! async fn checkout(items: u32) -> String {
//!     format!("new checkout of {items}") // runs when `newCheckout` is on
//! }
//!
//! async fn old_checkout(items: u32) -> String {
//!     format!("old checkout of {items}") // runs when it is off, or nothing is known about it
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! // In a test, force the flag without any agent:
//! let _flags = flag_runtime::Overrides::new().enable("newCheckout").apply();
//! assert!(flags::NEW_CHECKOUT.is_enabled_now());
//! assert_eq!(checkout(2).await, "new checkout of 2");
//! # }
//! ```
//!
//! The function keeps its signature, attributes, docs and visibility. Its body runs when the
//! flag is on; when it is off, the fallback is called with the same arguments (and awaited, for
//! an `async fn`). The flag is read from `flag-runtime`'s process-wide default source:
//! an `async fn` awaits the bounded async check, a sync `fn` uses the never-waiting check.
//!
//! # Arguments
//!
//! * `"flagName"` (first, required): the flag key, checked at compile time.
//! * `fallback = path` (required): a function with the same parameters and return type. For a
//!   method, `Self::old` (or any path) is called as `Self::old(self, args...)`.
//! * `context = expr` or `context(key = value, ...)`: check the flag for an evaluation context,
//!   see [Targeting](#targeting).
//! * `schema = "path"`: the flags schema, relative to the crate's `Cargo.toml`.
//! * `crate = path`: where `flag-runtime` is. Rarely needed: the runtime is found under the
//!   name the crate's `Cargo.toml` gives it (a renamed dependency too), and a missing one is an
//!   error naming the dependency to add.
//!
//! # Compile-time checks
//!
//! The flags schema is AppConfig's feature-flag document (the file uploaded to AppConfig:
//! `version`, `flags`, `values`). It is found at `schema = "..."`, else at
//! `$FEATURE_FLAGS_SCHEMA`, else at `flags.json` beside the crate's `Cargo.toml`, and is read
//! and validated once per compiler process. Cargo rebuilds the crate when the file (or the
//! variable) changes.
//!
//! * A name AppConfig would refuse (`^[a-z][a-zA-Z0-9_-]{0,63}$`) is an error at the literal.
//! * An unknown flag is an error at the literal: ``unknown feature flag `newChekout`; did you
//!   mean `newCheckout`?``, or the list of the schema's flags when nothing is close.
//! * A missing, unreadable or invalid schema (bad JSON with line and column, `version` not
//!   `"1"`, a value for an undefined flag, a value breaking its constraint) is an error naming
//!   the file.
//! * A flag marked `_deprecation` in the schema warns at the use site.
//! * A context the flag cannot use warns at `context`, see [Targeting](#targeting).
//! * A variant rule AppConfig may accept but this project cannot run (a regular expression
//!   with look-around, backreferences or `\p{..}`, nesting deeper than 64) warns at the flag,
//!   as does `ne` in a variant rule (AWS lists it for audience rules only); `flags!` warns
//!   about every flag's rules at the module name. Such a variant never matches locally.
//!
//! # Patterns and receivers
//!
//! Each argument is bound once and moved to whichever path runs; destructuring patterns such as
//! `LambdaEvent { payload, context }: LambdaEvent<Request>` or `(a, b): (u8, u8)` are taken
//! whole and destructured inside the flag-on path only (a `context` sees their names by
//! reference).
//!
//! # Targeting
//!
//! AppConfig's multi-variant flags (`_variants` in the schema) pick a variant per request by
//! evaluating their rules against an evaluation context, a `flag_runtime::Context` of
//! `key = value` pairs and an optional entity id. `context` says which context the gate checks,
//! built from the function's arguments:
//!
//! ```
//! use flag_macros::feature_flag;
//! use flag_runtime::Context;
//!
//! pub struct Order {
//!     tier: String,
//!     customer_id: u64,
//!     cents: u64,
//! }
//!
//! // `discount` is on for the gold tier (`(eq $tier "gold")`) and for customers 7 and 42
//! // (`(in $customerId [7 42])`).
//! #[feature_flag(
//!     "discount",
//!     fallback = full_price,
//!     context(tier = order.tier, customerId = order.customer_id, entity_id = order.customer_id),
//!     schema = "tests/targeting.json"
//! )]
//! async fn price(order: Order) -> u64 {
//!     order.cents * 9 / 10 // `order` was borrowed by the context, not moved
//! }
//!
//! async fn full_price(order: Order) -> u64 {
//!     order.cents
//! }
//!
//! pub struct Session {
//!     context: Context,
//! }
//!
//! impl Session {
//!     // Any expression giving a `Context`, or something that derefs to one.
//!     #[feature_flag(
//!         "discount",
//!         fallback = Self::plain_banner,
//!         context = self.context,
//!         schema = "tests/targeting.json"
//!     )]
//!     fn banner(&self) -> &'static str {
//!         "10% off today"
//!     }
//!
//!     fn plain_banner(&self) -> &'static str {
//!         "welcome"
//!     }
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let order = || Order { tier: "gold".into(), customer_id: 1, cents: 1000 };
//! // Without an agent nothing is known about the flag: the fallback runs.
//! assert_eq!(price(order()).await, 1000);
//! // Overrides force a flag whatever the context:
//! let _flags = flag_runtime::Overrides::new().enable("discount").apply();
//! assert_eq!(price(order()).await, 900);
//! let session = Session { context: Context::new().with("tier", "silver") };
//! assert_eq!(session.banner(), "10% off today");
//! # }
//! ```
//!
//! The two forms:
//!
//! * `context(key = value, ..., entity_id = value)`: the pairs, with literal keys. A key is an
//!   identifier or, when it is not one, a string literal (`"user.tier" = ...`); keys are 1 to 64
//!   ASCII letters, digits, `_`, `-` or `.` (what flag-runtime sends and a rule's `$key` names).
//!   Each value is borrowed (`tier = order.tier` does not move the `String`) and must be a
//!   `flag_runtime::ContextValue`: a string, an integer, a float, a `bool`, or a reference to
//!   one. `entity_id = value` (the bare identifier; a pair named so is written
//!   `"entity_id" = ...`) sets the `Entity-Id`, which keeps an entity on one configuration
//!   version during a gradual deployment, from any `Display` value.
//! * `context = expr`: an expression of type `Context`, `&Context`, or anything that derefs to
//!   a `Context` (`Box`, `Rc` or `Arc` of one, a `MutexGuard<Context>`). It is taken as
//!   `&(expr)` and coerced to `&Context`: a place such as `self.context` or
//!   `request.context` is borrowed, not moved; any other type is an error at the expression
//!   (``expected `&Context`, found `&u64` ``).
//!
//! The context is evaluated before the check, with the function's parameters in scope *by
//! reference*: a parameter `order: Order` is an `&Order` there (`order.tier.as_str()`,
//! `order.customer_id`, `*count > 3`; a parameter named `_like_this` is left as it is, unused
//! by convention), and the names of a destructured parameter
//! (`(tier, id): (String, u64)`, `LambdaEvent { payload, context }: LambdaEvent<Value>`) are
//! references into it. `self` is the receiver as declared (with a by-value `self`, borrow its
//! fields: `self.tier.as_str()`). Nothing can be moved out of an argument (that is rustc's
//! ``cannot move out of `order.tier` which is behind a shared reference`` at the expression),
//! so the same arguments then go to the body or to the fallback. The context, and a lock guard
//! holding it, is dropped as soon as the check is done, before either runs. In an `async fn`
//! the expression may `.await` (`context = load_context(*id).await`).
//!
//! An `async fn` awaits the check for that context (the agent is asked once per distinct context
//! and TTL window); a sync `fn` never waits: a context it sees for the first time is answered
//! context-free while its own answer loads in the background. Test overrides apply whatever the
//! context.
//!
//! ## What the schema says about a context
//!
//! These are warnings (through `#[deprecated]`, the only warning a proc macro has on stable
//! Rust, so they read "use of deprecated constant"), at `context`:
//!
//! * A context on a flag without variants: ``feature flag `newCheckout` has no variants: the
//!   context changes nothing``. A literal context of only `entity_id = ...` does not warn: the
//!   entity id still matters during a gradual deployment.
//! * When the keys are literal, each `$key` the flag's variant rules read and the context never
//!   supplies: ``feature flag `discount`: its variant rules read `$customerId`, which this
//!   context never supplies``, followed by `` (it has `customerID`, which no rule reads)`` when a
//!   supplied key is that close. Without the key, every operator reading it is unknown, so no
//!   variant rule reading it matches (its negations included) for any call of the function
//!   (`docs/targeting-decisions.md`). The keys are literal in `context(...)`, and in
//!   `context = Context::new().with("key", value)...`: a chain of `.with` with string literal keys
//!   (and `.with_entity_id`) from `Context::new()` or `Context::default()`. Other expressions are
//!   only known at run time and not checked.
//! * A supplied key that no rule reads is fine: one request context is commonly shared by
//!   several flags, and rules change without a rebuild. A misspelt key still warns, as the key
//!   the rules read and do not get.
//!
//! `#[allow(deprecated)]` on the function silences them.
//!
//! # Typed flags
//!
//! [`flags!`] generates a module from the same schema: a `static` per flag (a
//! `flag_runtime::TypedFlag`, named after the key in SCREAMING_SNAKE_CASE), and for a flag with
//! attributes or variants a struct of its value (the key in UpperCamelCase, a field per
//! attribute in snake_case) and an enum of its variants. Misspelling a flag or an attribute, or
//! reading one as the wrong type, is then a plain rustc error. `#[feature_flag]` takes such a
//! static in place of the key: `#[feature_flag(flags::NEW_CHECKOUT, fallback = old_checkout)]`.
//!
//! It also generates `context()`, a typed evaluation context (`TypedContext`): one method per
//! context key some variant rule reads (in snake_case), taking the type the rules compare the key
//! with (`&str` for text and W3C timestamps, any number, `bool`; any value for a key read
//! without a type, as by `exists` or `split`), and `with_entity_id`. A misspelt key, or one no
//! rule reads, is a rustc error. It derefs to `flag_runtime::Context` and converts into one, so
//! it goes wherever one does: `with_context(&flags::context().tier("gold"))`, a gate's
//! `context = flags::context().tier(&order.tier)`, `flag_runtime::scope(..)`, a Lambda layer's
//! `.context(..)`.
//!
//! ```
//! flag_macros::flags!(pub mod flags, schema = "tests/typed.json");
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let context = flags::context().tier("gold"); // typed by the rules: `$tier` is text
//! // No agent here: every flag is off, and `get` is `None`.
//! assert!(!flags::NEW_CHECKOUT.is_enabled_now());
//! assert_eq!(flags::TIERED_BANNER.with_context(&context).get().await, None);
//!
//! // Overrides by key or through the statics, with typed values:
//! let _flags = flag_runtime::Overrides::new()
//!     .enable(&flags::NEW_CHECKOUT)
//!     .value(
//!         &flags::TIERED_BANNER,
//!         flags::TieredBanner { percentage: 20.0, variant: Some(flags::TieredBannerVariant::Gold) },
//!     )
//!     .apply();
//! assert!(flags::NEW_CHECKOUT.is_enabled().await);
//! let banner = flags::TIERED_BANNER.with_context(&context).get().await.unwrap();
//! assert_eq!((banner.percentage, banner.variant.map(|v| v.name())), (20.0, Some("gold")));
//! # }
//! ```
//!
//! | schema | Rust |
//! |---|---|
//! | `number`, `string`, `boolean` | `f64`, `String`, `bool` |
//! | `array` of numbers, of strings | `Vec<f64>`, `Vec<String>` |
//! | no `constraints` | any JSON value (`serde_json::Value`) |
//! | `required` / not | the plain type / `Option<_>` |
//! | `_variants` | an enum `<Flag>Variant`, and a `variant: Option<_>` field |
//! | `name`, `description` | the static's docs |
//! | `_deprecation` | `#[deprecated]` on the static |
//!
//! Keys that collide after case conversion (`newCheckout` and `new_checkout`, two attributes
//! `maxItems` and `max_items`, an attribute named `variant` on a multi-variant flag) are a
//! compile error at the `flags!` call naming both, as is a schema that does not validate.
//! Keywords become raw identifiers (`r#type`). The generated code passes `#![deny(warnings)]`
//! and clippy's pedantic group.
//!
//! # `impl Trait` in return position
//!
//! The body and the fallback may return two types (two closures, two async blocks) behind
//! `-> impl Trait` when an either-type carries the traits: `Future`, `Iterator`,
//! `DoubleEndedIterator`, `ExactSizeIterator`, `FusedIterator`, `Extend`, `Display`, `Debug`,
//! `Error`, `Read`, `Write`, `BufRead`, `Seek`, `AsRef`, `AsMut`, `Deref`, `DerefMut`, `Clone`,
//! `Copy`, `PartialEq`, `Eq`, `PartialOrd`, `Ord`, `Hash`, with `Send`, `Sync`, `Unpin` and
//! lifetimes.
//!
//! ```
//! use flag_macros::feature_flag;
//!
//! #[feature_flag("newCheckout", fallback = old_ids, schema = "tests/flags.json")]
//! fn ids(limit: u32) -> impl Iterator<Item = u32> {
//!     (0..limit).filter(|n| n % 2 == 0)
//! }
//!
//! fn old_ids(limit: u32) -> impl Iterator<Item = u32> {
//!     (0..limit).map(|n| n * 10)
//! }
//!
//! assert_eq!(ids(3).collect::<Vec<_>>(), [0, 10, 20]);
//! ```
//!
//! `impl Fn(..)` is an error at the return type (no either-type calls one closure or the other:
//! return a `Box<dyn Fn(..)>` from both). With any other trait, both paths return one type.
//!
//! # With other attributes
//!
//! * `#[tracing::instrument]`, above or below the gate: one span around both paths, with the
//!   parameters named as written (the parts of a destructured one). Below the gate, the gate
//!   moves it above itself; above, the gate goes inside the span.
//! * `#[async_trait]` on a trait or an impl: a gated `async fn` (a default method too) takes any
//!   async fallback, an inherent `async fn` or another async-trait method, and awaits the check
//!   like a native `async fn`.
//! * `macro_rules!`: the flag as `$name:literal` or `$name:expr`, the fallback as `$f:path` or
//!   `$f:expr`.
//! * No rustc or clippy lint fires in the generated code (`-D warnings`, clippy pedantic and
//!   nursery, edition 2024); an unused gated function is still `dead_code`; rustdoc shows the
//!   function as written.
#![forbid(unsafe_code)]

mod context;
mod expand;
mod item;
mod krate;
mod parse;
mod schema;
mod stacks;
mod typed;

use proc_macro::TokenStream;

/// Runs the function's body when the flag is on, and `fallback(same arguments)` when it is off.
/// See the [crate docs](crate).
#[proc_macro_attribute]
pub fn feature_flag(args: TokenStream, item: TokenStream) -> TokenStream {
    expand::attribute(args.into(), item.into()).into()
}

/// Generates a module of typed flags from the schema: one `static` per flag (the key in
/// SCREAMING_SNAKE_CASE), a struct of each flag's attributes (the key in UpperCamelCase, a
/// field per attribute in snake_case) and an enum of each multi-variant flag's variants.
///
/// ```
/// flag_macros::flags!(pub mod flags, schema = "tests/typed.json");
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// # let _flags = flag_runtime::Overrides::new()
/// #     .enable(&flags::NEW_CHECKOUT)
/// #     .value(&flags::DISCOUNT_BANNER, flags::DiscountBanner { percentage: 20.0, message: None })
/// #     .apply();
/// if flags::NEW_CHECKOUT.is_enabled_now() {
///     // sync, never waits
/// }
/// if flags::NEW_CHECKOUT.is_enabled().await {
///     // async, bounded by the timeout
/// }
/// if let Some(banner) = flags::DISCOUNT_BANNER.get().await {
///     let pct: f64 = banner.percentage; // a required number
///     let msg: Option<String> = banner.message; // an optional string
/// #   assert_eq!((pct, msg), (20.0, None));
/// }
/// # }
/// ```
///
/// See the [crate docs](crate#typed-flags).
#[proc_macro]
pub fn flags(input: TokenStream) -> TokenStream {
    typed::expand(input.into()).into()
}
