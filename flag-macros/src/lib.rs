//! `#[feature_flag]`: gate a function on an AWS AppConfig feature flag.
//!
//! ```
//! use flag_macros::feature_flag;
//!
//! #[feature_flag("newCheckout", fallback = old_checkout, schema = "tests/flags.json")]
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
//! * `schema = "path"`: the flags schema, relative to the crate's `Cargo.toml`.
//! * `crate = path`: where `flag-runtime` is, if the dependency is renamed.
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
//!
//! # Patterns and receivers
//!
//! Each argument is bound once and moved to whichever path runs; destructuring patterns such as
//! `LambdaEvent { payload, context }: LambdaEvent<Request>` or `(a, b): (u8, u8)` are taken
//! whole and destructured inside the flag-on path only.
//!
//! # `impl Trait` in return position
//!
//! Both paths are one expression, so they must return the same concrete type: a body and a
//! fallback each returning their own `impl Trait` are two different types. Return the concrete
//! type (or a `Box<dyn Trait>`) from the fallback.
#![forbid(unsafe_code)]

mod expand;
mod parse;
mod schema;

use proc_macro::TokenStream;

/// Runs the function's body when the flag is on, and `fallback(same arguments)` when it is off.
/// See the [crate docs](crate).
#[proc_macro_attribute]
pub fn feature_flag(args: TokenStream, item: TokenStream) -> TokenStream {
    let original = proc_macro2::TokenStream::from(item.clone());
    let result = syn::parse::<parse::Args>(args).and_then(|args| {
        let function = syn::parse::<syn::ItemFn>(item).map_err(|e| {
            syn::Error::new(
                e.span(),
                "#[feature_flag] goes on a function with a body (a free fn or a method)",
            )
        })?;
        expand::expand(args, function)
    });
    match result {
        Ok(tokens) => tokens.into(),
        // Keep the item as written next to the error, so one mistake does not cascade into
        // "cannot find function" errors everywhere it is called.
        Err(error) => {
            let error = error.to_compile_error();
            quote::quote!(#error #original).into()
        }
    }
}
