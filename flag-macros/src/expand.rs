//! The rewrite: check the flag, then run the body or call the fallback with the same arguments.

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned, ToTokens};
use syn::spanned::Spanned;
use syn::{Error, FnArg, ItemFn, Pat, PatIdent};

use crate::parse::Args;

pub(crate) fn expand(args: Args, mut item: ItemFn) -> syn::Result<TokenStream> {
    if let Some(constness) = &item.sig.constness {
        return Err(Error::new(
            constness.span(),
            "#[feature_flag] cannot gate a `const fn`: flags are read at run time",
        ));
    }
    let flag = &args.flag;
    let name = flag.value();
    if !flag_schema::is_valid_key(&name) {
        return Err(Error::new(
            flag.span(),
            format!("`{name}` is not a valid AppConfig flag key: it must match ^[a-z][a-zA-Z0-9_-]{{0,63}}$"),
        ));
    }

    // Schema: where, whether it reads and validates, whether it knows the flag.
    let schema_path = crate::schema::locate(args.schema.as_ref().map(|s| s.value()).as_deref());
    let error_span = args.schema.as_ref().map_or(flag.span(), |s| s.span());
    let document =
        crate::schema::load(&schema_path).map_err(|message| Error::new(error_span, message))?;
    let Some(definition) = document.flag(&name) else {
        let message = match document.suggest(&name) {
            Some(close) => format!("unknown feature flag `{name}`; did you mean `{close}`?"),
            None if document.flags.is_empty() => format!(
                "unknown feature flag `{name}`: `{}` defines no flags",
                crate::schema::display(&schema_path)
            ),
            None => format!(
                "unknown feature flag `{name}`; the flags in `{}` are: {}",
                crate::schema::display(&schema_path),
                document
                    .flags
                    .keys()
                    .map(|k| format!("`{k}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        };
        return Err(Error::new(flag.span(), message));
    };

    let krate = match &args.krate {
        Some(path) => path.to_token_stream(),
        None => quote!(::flag_runtime),
    };

    // Arguments: plain identifiers are forwarded as they are; any other pattern is bound to a
    // fresh name in the signature and destructured again inside the flag-on branch only.
    // With a context, the context expression sees each of them by reference: `let name = &name;`
    // for a plain name, the pattern's names bound through a reference for a pattern.
    let mut forward = Vec::new();
    let mut rebind = Vec::new();
    let mut borrow = Vec::new();
    for (index, input) in item.sig.inputs.iter_mut().enumerate() {
        let attrs = match &*input {
            FnArg::Receiver(receiver) => &receiver.attrs,
            FnArg::Typed(typed) => &typed.attrs,
        };
        if let Some(cfg) = attrs
            .iter()
            .find(|a| a.path().is_ident("cfg") || a.path().is_ident("cfg_attr"))
        {
            return Err(Error::new_spanned(
                cfg,
                "#[feature_flag] cannot forward a parameter under `#[cfg]`: the fallback call would not match every configuration",
            ));
        }
        match input {
            FnArg::Receiver(receiver) => {
                forward.push(quote_spanned!(receiver.self_token.span=> self))
            }
            FnArg::Typed(typed) => match &*typed.pat {
                Pat::Ident(PatIdent {
                    by_ref: None,
                    subpat: None,
                    ident,
                    ..
                }) => {
                    if !ident.to_string().starts_with('_') {
                        borrow.push(quote!(let #ident = &#ident;));
                    }
                    forward.push(ident.to_token_stream());
                }
                _ => {
                    let fresh = format_ident!("__flag_arg{}", index, span = Span::mixed_site());
                    let pattern = std::mem::replace(
                        &mut *typed.pat,
                        Pat::Ident(PatIdent {
                            attrs: Vec::new(),
                            by_ref: None,
                            mutability: None,
                            ident: fresh.clone(),
                            subpat: None,
                        }),
                    );
                    if let Some(names) = crate::context::borrowing_pattern(&pattern) {
                        borrow.push(quote!(let #names = &#fresh;));
                    }
                    rebind.push(quote!(let #pattern = #fresh;));
                    forward.push(fresh.to_token_stream());
                }
            },
        }
    }

    let fallback = &args.fallback;
    let fallback_call = quote_spanned!(fallback.span()=> #fallback(#(#forward),*));
    let is_async = item.sig.asyncness.is_some();
    // Each call site keeps its last answer, valid until the snapshot changes.
    let site = format_ident!("__FEATURE_FLAG_SITE", span = Span::mixed_site());
    let site_static = quote_spanned! {flag.span()=>
        static #site: #krate::__private::Site = #krate::__private::Site::new(#flag);
    };
    let fallback_call = if is_async {
        quote_spanned!(fallback.span()=> #fallback_call.await)
    } else {
        fallback_call
    };
    let (gate, check) = match &args.context {
        None if is_async => (
            TokenStream::new(),
            quote_spanned!(flag.span()=> #krate::__private::check(&#site).await),
        ),
        None => (
            TokenStream::new(),
            quote_spanned!(flag.span()=> #krate::__private::check_now(&#site)),
        ),
        // The context is built with the arguments borrowed, checked, and dropped before either
        // path runs (a lock guard holding it is released). `&(expr)` borrows a place
        // (`self.context`) and keeps a temporary (`Context::new()...`) for the check; the
        // reference coerces to `&Context` from anything that derefs to one.
        Some(context) => {
            let expr = crate::context::expression(context, &krate);
            let at = match &context.form {
                crate::parse::ContextForm::Expr(expr) => expr.span(),
                crate::parse::ContextForm::Pairs { .. } => context.keyword,
            };
            let on = format_ident!("__feature_flag_on", span = Span::mixed_site());
            let value = format_ident!(
                "__feature_flag_context",
                span = Span::mixed_site().located_at(at)
            );
            // Typed, so that a wrong type is an error at the expression naming `Context`.
            let context_type = respan(quote!(&#krate::Context), context.keyword);
            let borrowed = quote_spanned!(at=> &(#expr));
            let check = if is_async {
                quote_spanned!(flag.span()=> #krate::__private::check_with(&#site, #value).await)
            } else {
                quote_spanned!(flag.span()=> #krate::__private::check_now_with(&#site, #value))
            };
            let gate = quote! {
                let #on = {
                    #(
                        #[allow(unused_variables)]
                        #borrow
                    )*
                    let #value: #context_type = #borrowed;
                    #check
                };
            };
            (gate, on.to_token_stream())
        }
    };
    let context_warnings = args
        .context
        .as_ref()
        .map(|context| crate::context::warnings(context, &document, &name));

    // Editing the schema must rebuild this crate: rustc records included files (and env vars
    // read through `option_env!`) in its dep-info, which cargo watches.
    let tracked_path = schema_path.display().to_string();
    let tracking = quote! {
        const _: &[u8] = ::core::include_bytes!(#tracked_path);
        const _: ::core::option::Option<&str> = ::core::option_env!("FEATURE_FLAGS_SCHEMA");
    };

    // A deprecated flag warns at the use site, on stable Rust, through `#[deprecated]`.
    let deprecation = definition.deprecation.as_ref().map(|d| {
        let when = d
            .date
            .as_deref()
            .map(|date| format!(" (removal planned {date})"))
            .unwrap_or_default();
        let note = format!(
            "feature flag `{name}` is marked deprecated in `{}`{when}",
            crate::schema::display(&schema_path)
        );
        let marker = format_ident!("deprecated_feature_flag", span = Span::mixed_site());
        let usage = format_ident!(
            "deprecated_feature_flag",
            span = flag.span().resolved_at(Span::mixed_site())
        );
        quote! {
            #[deprecated(note = #note)]
            #[allow(non_upper_case_globals, dead_code)]
            const #marker: () = ();
            let _ = #usage;
        }
    });

    let body = &item.block;
    // With destructured arguments, the body's value is taken in a `let` of its own: temporaries
    // of its tail expression (a lock guard, a `RefCell` borrow) then end before the rebound
    // arguments do, as they would have in the function as written.
    let result = format_ident!("__feature_flag_result", span = Span::mixed_site());
    let on_path = if rebind.is_empty() {
        quote!(#body)
    } else {
        quote! {
            #(#rebind)*
            let #result = #body;
            #result
        }
    };
    let new_body = quote! {
        {
            #tracking
            #deprecation
            #context_warnings
            #site_static
            #gate
            if #check {
                #on_path
            } else {
                #fallback_call
            }
        }
    };
    item.block = syn::parse2(new_body)?;
    Ok(item.into_token_stream())
}

/// `tokens` with every span set to `span`, a token of the attribute: rustc then points there.
/// Paths resolve as at the call site, as they did before.
fn respan(tokens: TokenStream, span: Span) -> TokenStream {
    tokens
        .into_iter()
        .map(|mut token| {
            if let proc_macro2::TokenTree::Group(group) = &token {
                let mut respanned =
                    proc_macro2::Group::new(group.delimiter(), respan(group.stream(), span));
                respanned.set_span(span);
                token = respanned.into();
            } else {
                token.set_span(span);
            }
            token
        })
        .collect()
}
