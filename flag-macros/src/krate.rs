//! Finding `flag-runtime` (for the expansion) and `flag-macros` (to re-apply the attribute)
//! under whatever names the user's `Cargo.toml` gives them.

use proc_macro2::{Span, TokenStream};
use proc_macro_crate::{crate_name, FoundCrate};
use quote::{format_ident, quote, ToTokens};
use syn::{Error, Path};

/// The path to `flag-runtime`: `crate = path` if given, else the dependency as named in the
/// user's `Cargo.toml` (`flags = { package = "flag-runtime", .. }` is `::flags`).
/// `by` names the macro in the error (`#[feature_flag]`, `flags!`).
pub(crate) fn runtime(given: Option<&Path>, by: &str) -> syn::Result<TokenStream> {
    if let Some(path) = given {
        return Ok(path.to_token_stream());
    }
    match crate_name("flag-runtime") {
        Ok(found) => Ok(named(found, "flag_runtime")),
        Err(proc_macro_crate::Error::CrateNotFound { .. }) => Err(Error::new(
            Span::call_site(),
            format!(
                "{by} needs the `flag-runtime` crate, which the expansion calls: add it to the \
                 `[dependencies]` of this crate's Cargo.toml (`flag-runtime = \"0.1\"`), or name it \
                 with `crate = path` if it is reachable another way"
            ),
        )),
        // No Cargo.toml to read (a build outside cargo): the conventional name.
        Err(_) => Ok(quote!(::flag_runtime)),
    }
}

/// The path to `flag-macros` itself, to put `#[feature_flag]` back on a function.
pub(crate) fn macros() -> TokenStream {
    match crate_name("flag-macros") {
        Ok(found) => named(found, "flag_macros"),
        Err(_) => quote!(::flag_macros),
    }
}

fn named(found: FoundCrate, own: &str) -> TokenStream {
    let name = match found {
        // The crate's own tests, examples and doctests see it under its own name.
        FoundCrate::Itself => own.to_owned(),
        FoundCrate::Name(name) => name,
    };
    let ident = format_ident!("{}", name);
    quote!(::#ident)
}
