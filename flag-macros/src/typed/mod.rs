//! `flags!(pub mod flags)`: typed access to every flag of the schema, generated from it.
//!
//! * [`parse`]: the macro's input.
//! * [`names`]: the Rust names of keys (case conversion, keywords, collisions).
//! * [`generate`]: the module: a static per flag, a struct of its attributes, an enum of its
//!   variants.

mod generate;
pub(crate) mod names;
mod parse;

use proc_macro2::TokenStream;

/// Expands `flags!(...)`; every error is a `compile_error!` at the user's tokens.
pub(crate) fn expand(input: TokenStream) -> TokenStream {
    let result = syn::parse2::<parse::Input>(input).and_then(|input| {
        let path = crate::schema::locate(input.schema.as_ref().map(|s| s.value()).as_deref());
        let at = input
            .schema
            .as_ref()
            .map_or(input.name.span(), syn::LitStr::span);
        // A schema that cannot be used: its error once per build (the first macro to meet it),
        // and the module generated from what could be read, so that uses of its flags do not
        // each add an error of their own.
        let (document, fault) = match crate::schema::load(&path) {
            Ok(document) => (document, None),
            Err(fault) => {
                let read = fault.recovered.clone().unwrap_or_else(|| {
                    let empty = flag_schema::Document::recover(r#"{"version": "1"}"#);
                    std::sync::Arc::new(empty.expect("an empty document reads"))
                });
                let error = fault.error(at).map(|e| e.into_compile_error());
                (read, Some(error))
            }
        };
        let faulted = fault.is_some();
        let warnings = match fault {
            None => crate::schema::warnings(&document, None, &path, at),
            Some(error) => error.unwrap_or_default(),
        };
        let experiments_at = input.experiments.as_ref().map_or(at, syn::LitStr::span);
        let experiments = crate::schema::experiments(
            input
                .experiments
                .as_ref()
                .map(syn::LitStr::value)
                .as_deref(),
            &path,
            &document,
        );
        let experiments = match experiments {
            Ok(experiments) => experiments,
            // Against a schema read in part, the experiments' errors would follow from its fault.
            Err(_) if faulted => None,
            Err(message) => return Err(syn::Error::new(experiments_at, message)),
        };
        let experiment_warnings = experiments.as_ref().map(|(file, experiments)| {
            let shown = crate::schema::display(file);
            experiments
                .warnings
                .iter()
                .map(|w| {
                    let warning = crate::context::warning(
                        "feature_flags_experiments_warning",
                        &format!("{shown}: {w}"),
                        experiments_at,
                    );
                    quote::quote!(const _: () = #warning;)
                })
                .collect::<TokenStream>()
        });
        generate::module(&input, &document, &path, experiments.as_ref())
            .map(|module| quote::quote!(#warnings #experiment_warnings #module))
    });
    result.unwrap_or_else(syn::Error::into_compile_error)
}
