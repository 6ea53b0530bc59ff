//! The rewrite: check the flag, then run the body or call the fallback with the same arguments.

use proc_macro2::{Delimiter, Group, Span, TokenStream, TokenTree};
use quote::{format_ident, quote, quote_spanned, ToTokens};
use std::path::PathBuf;
use std::sync::Arc;
use syn::spanned::Spanned;

use flag_schema::Document;
use syn::{Error, FnArg, Pat, PatIdent, ReturnType, Type, TypeParamBound};

use crate::item::ItemFn;
use crate::parse::Args;
use crate::stacks;

/// The whole attribute: `args` and the item as the compiler gave them.
pub(crate) fn attribute(args: TokenStream, item: TokenStream) -> TokenStream {
    let result = syn::parse2::<ItemFn>(item.clone()).and_then(|function| {
        // `#[tracing::instrument]` below the gate: put it above, so that it expands first, sees
        // the signature as written and wraps both paths; the gate then finds its body inside.
        if let Some(index) = stacks::instrument_attribute(&function.attrs) {
            let mut function = function;
            let instrument = function.attrs.remove(index);
            let macros = crate::krate::macros();
            return Ok(quote! {
                #instrument
                #[#macros::feature_flag(#args)]
                #function
            });
        }
        let args = syn::parse2::<Args>(args)?;
        expand(args, function)
    });
    match result {
        Ok(tokens) => tokens,
        // Keep the item as written next to the error, so one mistake does not cascade into
        // "cannot find function" errors everywhere it is called.
        Err(error) => {
            let error = error.to_compile_error();
            quote!(#error #item)
        }
    }
}

pub(crate) fn expand(args: Args, item: ItemFn) -> syn::Result<TokenStream> {
    if let Some(constness) = &item.sig.constness {
        return Err(Error::new(
            constness.span(),
            "#[feature_flag] cannot gate a `const fn`: flags are read at run time",
        ));
    }
    let mut args = args;
    // A schema fault another macro of this build reported: the item as written, no second error.
    let Some((document, schema_path)) = resolve(&mut args)? else {
        return Ok(item.into_token_stream());
    };
    let flag = &args.flag;
    let name = flag.value();
    let definition = &document.flags[&name];

    let krate = crate::krate::runtime(args.krate.as_ref(), "#[feature_flag]")?;

    // What the body is: the user's, or one another attribute macro generated around it.
    let async_trait = if item.sig.asyncness.is_none() && stacks::async_trait_signature(&item.sig) {
        stacks::async_trait_block(&item.body)
    } else {
        None
    };
    // An `async fn` of an `#[async_trait]` trait or impl is a sync fn returning
    // `Pin<Box<dyn Future>>` by now: the gate goes inside its async block, and awaits the check
    // and the fallback like a native `async fn`.
    let is_async = item.sig.asyncness.is_some() || async_trait.is_some();

    // The function as written, for rustdoc: it then shows the signature the user wrote.
    let original = item.to_token_stream();
    let mut item = item;

    let Parameters {
        forward,
        rebind,
        borrow,
        lend,
    } = parameters(&mut item.sig, async_trait.is_some())?;

    // The fallback's path, as the macro's tokens where the user wrote it: errors point there,
    // and no lint takes the call for the user's code (`Cart::old` in `impl Cart`).
    let fallback = &respan_at(args.fallback.to_token_stream(), Span::call_site());
    let mut fallback_call = quote_spanned!(fallback.span()=> #fallback(#(#forward),*));
    if is_async {
        fallback_call = quote_spanned!(fallback.span()=> #fallback_call.await);
    }
    // An `unsafe fn -> impl Trait` calls its (maybe unsafe) fallback in an `unsafe` block too.
    if item.sig.unsafety.is_some() && impl_trait_either(&item.sig.output).unwrap_or(false) {
        let value = format_ident!("__feature_flag_fallback", span = Span::mixed_site());
        fallback_call = quote!({
            #[allow(unused_unsafe)]
            let #value = unsafe { #fallback_call };
            #value
        });
    }
    let Check {
        site_static,
        gate,
        check,
    } = check(&args, is_async, &krate, &borrow);
    let schema_warnings =
        crate::schema::warnings(&document, Some(&name), &schema_path, flag.span());
    let context_warnings = args
        .context
        .as_ref()
        .map(|context| crate::context::warnings(context, &document, &name));

    let tracking = crate::schema::tracking(&schema_path);

    // A deprecated flag warns at the use site, on stable Rust, through `#[deprecated]`.
    let deprecation = definition.deprecation.as_ref().map(|d| {
        let note = crate::schema::deprecation_note(&name, d, &schema_path);
        crate::context::warning("deprecated_feature_flag", &note, flag.span())
    });

    // `-> impl Future`, `-> impl Iterator`, ...: the two paths are two types, carried by
    // `Either`, which implements those traits when both sides do.
    let either = impl_trait_either(&item.sig.output)?;
    let is_unsafe = item.sig.unsafety.is_some();

    // `flags::NEW_CHECKOUT` must name a typed flag: a misspelled path is rustc's error there.
    let static_check = args.flag_static.as_ref().map(|path| {
        quote_spanned! {path.span()=>
            #krate::__private::flag_static(&#path);
        }
    });

    // The gated block, put where the user's body `on` was.
    let mut gated = |on: &Group| -> Group {
        // `#![allow(..)]` at the top of the body applies to the whole function: it stays first.
        let (inner_attributes, on) = split_inner_attributes(on);
        let on = &on;
        // Destructured arguments are destructured in the flag-on path only. The body's value
        // is taken in a `let` of its own: temporaries of its tail expression (a lock guard, a
        // `RefCell` borrow) then end before the rebound arguments do, as they would have in
        // the function as written. It is returned from a statement of its own that may be
        // unreachable (a body ending in `return` or `panic!`) without that being the user's
        // code; the body itself keeps the user's lint levels.
        let on_path = if rebind.is_empty() {
            on.to_token_stream()
        } else if !has_tail(on) {
            // No tail expression (the body ends in `return ...;`, or gives `()`): no tail
            // temporaries to end first, and a `let` of a diverging block would be clippy's
            // `diverging_sub_expression` in code the user did not write.
            quote!({
                #(#rebind)*
                #on
            })
        } else {
            let result = format_ident!("__feature_flag_result", span = Span::mixed_site());
            quote!({
                #(#rebind)*
                let #result = #on;
                #[allow(unreachable_code)]
                return #result;
            })
        };
        let (on_path, off_path) = match either {
            true if is_async => (
                quote!({ #krate::__private::Either::Left(async move #on_path.await) }),
                quote!({ #krate::__private::Either::Right(#fallback_call) }),
            ),
            true => (
                quote!({ #krate::__private::Either::Left(#krate::__private::call_once(move || #on_path)) }),
                quote!({ #krate::__private::Either::Right(#fallback_call) }),
            ),
            // An `unsafe fn` calls its (maybe unsafe) fallback in an `unsafe` block, as
            // edition 2024 asks; a safe fallback makes that block unused.
            // (The statement covers the fallback call only, not the user's body.)
            false if is_unsafe => (
                on_path,
                quote!({
                    #[allow(unused_unsafe, unreachable_code)]
                    return unsafe { #fallback_call };
                }),
            ),
            false => (on_path, quote!({ #fallback_call })),
        };
        let mut block = Group::new(
            Delimiter::Brace,
            quote! {
                #inner_attributes
                #tracking
                #site_static
                #deprecation
                #context_warnings
                #schema_warnings
                #static_check
                #gate
                if #check #on_path else #off_path
            },
        );
        // The braces of the user's body: what rustc's `dead_code` and clippy look at to tell
        // the user's function from generated code.
        block.set_span(on.span());
        block
    };

    // `#[instrument]` first: its span wraps both paths (in an `#[async_trait]` method too).
    let body = if let Some(body) = stacks::replace_instrumented_block(&item.body, &mut gated) {
        // `#[instrument]` expanded first: its span set-up names the signature's parameters, so
        // the names a destructuring pattern binds are lent to it from the fresh argument.
        let stream = body.stream();
        let borrowed = lend.iter();
        let mut group = Group::new(
            Delimiter::Brace,
            quote! {
                #(
                    #[allow(unused_variables)]
                    #borrowed
                )*
                #stream
            },
        );
        group.set_span(body.span());
        group
    } else if let Some((block, async_trait)) = &async_trait {
        async_trait.with_block(gated(block).stream())
    } else {
        gated(&item.body)
    };
    item.body = body;
    Ok(quote! {
        #[cfg(doc)]
        #original
        #[cfg(not(doc))]
        #item
    })
}

/// The body's leading inner attributes (`#![allow(..)]`), and the body without them.
fn split_inner_attributes(body: &Group) -> (TokenStream, Group) {
    let tokens: Vec<TokenTree> = body.stream().into_iter().collect();
    let mut end = 0;
    while let [TokenTree::Punct(hash), TokenTree::Punct(bang), TokenTree::Group(attr), ..] =
        &tokens[end..]
    {
        if hash.as_char() != '#' || bang.as_char() != '!' || attr.delimiter() != Delimiter::Bracket
        {
            break;
        }
        end += 3;
    }
    if end == 0 {
        return (TokenStream::new(), body.clone());
    }
    let mut rest = Group::new(Delimiter::Brace, tokens[end..].iter().cloned().collect());
    rest.set_span(body.span());
    (tokens[..end].iter().cloned().collect(), rest)
}

/// Whether both paths are carried by `Either`: the return type is `impl Trait` with only traits
/// `Either` implements when both of its sides do. An error at the return type for closures
/// (`impl Fn..`), which no either-type carries and whose two paths can never be one type.
fn impl_trait_either(output: &ReturnType) -> syn::Result<bool> {
    const EITHER: &[&str] = &[
        "Future",
        "Iterator",
        "DoubleEndedIterator",
        "ExactSizeIterator",
        "FusedIterator",
        "Extend",
        "Display",
        "Debug",
        "Error",
        "Read",
        "Write",
        "BufRead",
        "Seek",
        "AsRef",
        "AsMut",
        "Deref",
        "DerefMut",
        "Clone",
        "Copy",
        "PartialEq",
        "Eq",
        "PartialOrd",
        "Ord",
        "Hash",
        "Send",
        "Sync",
        "Unpin",
    ];
    let ReturnType::Type(_, ty) = output else {
        return Ok(false);
    };
    let Type::ImplTrait(impl_trait) = &**ty else {
        return Ok(false);
    };
    let trait_name = |bound: &TypeParamBound| match bound {
        TypeParamBound::Trait(t) => t.path.segments.last().map(|s| s.ident.to_string()),
        _ => None,
    };
    if impl_trait
        .bounds
        .iter()
        .filter_map(trait_name)
        .any(|name| matches!(name.as_str(), "Fn" | "FnMut" | "FnOnce"))
    {
        let written = |tokens: TokenStream| {
            tokens
                .to_string()
                .replace(" (", "(")
                .replace("( ", "(")
                .replace(" )", ")")
        };
        let bounds = written(impl_trait.bounds.to_token_stream());
        return Err(Error::new_spanned(
            ty,
            format!(
                "#[feature_flag] cannot return `impl {bounds}`: the body's closure and the fallback's are two types, \
                 and no either-type calls one or the other; return `Box<dyn {bounds}>` from both"
            ),
        ));
    }
    Ok(impl_trait.bounds.iter().all(|bound| match bound {
        TypeParamBound::Lifetime(_) | TypeParamBound::PreciseCapture(_) => true,
        bound => trait_name(bound).is_some_and(|name| EITHER.contains(&name.as_str())),
    }))
}

/// `tokens` resolved as at `resolution`, each where it was written.
fn respan_at(tokens: TokenStream, resolution: Span) -> TokenStream {
    tokens
        .into_iter()
        .map(|mut token| {
            if let proc_macro2::TokenTree::Group(group) = &token {
                let mut respanned = proc_macro2::Group::new(
                    group.delimiter(),
                    respan_at(group.stream(), resolution),
                );
                respanned.set_span(resolution.located_at(group.span()));
                token = respanned.into();
            } else {
                token.set_span(resolution.located_at(token.span()));
            }
            token
        })
        .collect()
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

/// Whether the body `block` ends in a tail expression (a value), as far as it parses; a body
/// that does not parse counts as having one (the form that is right for any body).
fn has_tail(block: &Group) -> bool {
    match syn::parse2::<syn::Block>(block.to_token_stream()) {
        Ok(block) => matches!(block.stmts.last(), Some(syn::Stmt::Expr(_, None))),
        Err(_) => true,
    }
}

/// The flag against the schema: the schema located and loaded, a `flags!` static turned into
/// its key (in `args`), the key checked to be valid and defined; the schema and its path.
/// `None` when the schema cannot be used and another macro of this build said so already.
fn resolve(args: &mut Args) -> syn::Result<Option<(Arc<Document>, PathBuf)>> {
    // Schema: where, whether it reads and validates, whether it knows the flag.
    let schema_path = crate::schema::locate(args.schema.as_ref().map(|s| s.value()).as_deref());
    let error_span = args.schema.as_ref().map_or(args.flag.span(), |s| s.span());
    let document = match crate::schema::load(&schema_path) {
        Ok(document) => document,
        Err(fault) => return fault.error(error_span).map_or(Ok(None), Err),
    };

    // `flags::NEW_CHECKOUT`: the key whose static that is; the path itself is checked to be a
    // typed flag in the expansion.
    if let Some(path) = &args.flag_static {
        let constant = args.flag.value();
        let Some(key) = document
            .flags
            .keys()
            .find(|key| crate::typed::names::constant(key) == constant)
        else {
            return Err(Error::new_spanned(
                path,
                format!(
                    "no flag in `{}` has the static `{constant}`: a `flags!` static is its key in SCREAMING_SNAKE_CASE",
                    crate::schema::display(&schema_path)
                ),
            ));
        };
        args.flag = syn::LitStr::new(key, args.flag.span());
    }
    let flag = &args.flag;
    let name = flag.value();
    if !flag_schema::is_valid_key(&name) {
        // `NewCheckout` for `newCheckout`: the schema's flag that differs in case only, or is
        // close.
        let hint = document
            .flags
            .keys()
            .find(|key| key.eq_ignore_ascii_case(&name))
            .cloned()
            .or_else(|| document.suggest(&name).map(str::to_owned))
            .map(|close| format!("; did you mean `{close}`?"))
            .unwrap_or_default();
        return Err(Error::new(
            flag.span(),
            format!("`{name}` is not a valid AppConfig flag key: it must match ^[a-z][a-zA-Z0-9_-]{{0,63}}${hint}"),
        ));
    }
    if document.flag(&name).is_none() {
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
    }
    Ok(Some((document, schema_path)))
}

/// How the gate passes the parameters on, with the signature changed to match.
struct Parameters {
    /// The arguments of the fallback call.
    forward: Vec<TokenStream>,
    /// The flag-on path's rebinding of destructured (and later) parameters.
    rebind: Vec<TokenStream>,
    /// Each name a parameter binds, by reference, for the context expression.
    borrow: Vec<TokenStream>,
    /// The names destructuring patterns bind, lent to `#[instrument]`'s span set-up.
    lend: Vec<TokenStream>,
}

/// The parameters of `sig`: plain identifiers are forwarded as they are; any other pattern is
/// bound to a fresh name in `sig` and destructured again inside the flag-on path only.
/// `async_trait`: the function is an `#[async_trait]` one, whose names keep their hygiene.
fn parameters(sig: &mut syn::Signature, async_trait: bool) -> syn::Result<Parameters> {
    // Arguments: plain identifiers are forwarded as they are; any other pattern is bound to a
    // fresh name in the signature and destructured again inside the flag-on branch only.
    // With a context, the context expression sees each of them by reference: `let name = &name;`
    // for a plain name, the pattern's names bound through a reference for a pattern.
    let mut forward = Vec::new();
    let mut rebind = Vec::new();
    let mut borrow = Vec::new();
    // The names destructuring patterns bind, lent to `#[instrument]`'s span set-up.
    let mut lend = Vec::new();
    // Parameters rebound `mut` in the flag-on path: the signature's binding loses its `mut`.
    let mut unmut = Vec::new();
    for (index, input) in sig.inputs.iter_mut().enumerate() {
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
                forward.push(quote_spanned!(receiver.self_token.span=> self));
            }
            FnArg::Typed(typed) => match &*typed.pat {
                Pat::Ident(PatIdent {
                    by_ref: None,
                    subpat: None,
                    ident,
                    mutability,
                    ..
                }) => {
                    // After a destructured parameter, moved into the flag-on path too, so that
                    // the parameters drop in the order the function as written drops them
                    // (last first), not the destructured ones before this one.
                    if !rebind.is_empty() {
                        rebind.push(quote! {
                            #[allow(clippy::redundant_locals)]
                            let #mutability #ident = #ident;
                        });
                        if mutability.is_some() {
                            unmut.push(index);
                        }
                    }
                    if !ident.to_string().starts_with('_') {
                        borrow.push(quote!(let #ident = &#ident;));
                    }
                    // `_unused` is forwarded with a span of the expansion: passing it on is the
                    // macro's doing, not a use of an underscore binding by the user. (Only
                    // there: a name keeps its own hygiene, e.g. async-trait's `__arg0`.)
                    let name = ident.to_string();
                    let mut forwarded = ident.clone();
                    if !async_trait && name.starts_with('_') && !name.starts_with("__") {
                        forwarded.set_span(Span::call_site().located_at(ident.span()));
                    }
                    forward.push(forwarded.to_token_stream());
                }
                _ => {
                    let fresh = format_ident!("__flag_arg{}", index, span = Span::mixed_site());
                    // `(ref mut v, n)` borrows the argument mutably when destructured.
                    let mutability =
                        crate::context::binds_ref_mut(&typed.pat).then(<syn::Token![mut]>::default);
                    let pattern = std::mem::replace(
                        &mut *typed.pat,
                        Pat::Ident(PatIdent {
                            attrs: Vec::new(),
                            by_ref: None,
                            mutability,
                            ident: fresh.clone(),
                            subpat: None,
                        }),
                    );
                    if let Some(names) = crate::context::borrowing_pattern(&pattern) {
                        borrow.push(quote!(let #names = &#fresh;));
                        lend.push(quote!(let #names = &#fresh;));
                    }
                    rebind.push(quote!(let #pattern = #fresh;));
                    forward.push(fresh.to_token_stream());
                }
            },
        }
    }

    for index in unmut {
        if let Some(FnArg::Typed(typed)) = sig.inputs.iter_mut().nth(index) {
            if let Pat::Ident(ident) = &mut *typed.pat {
                ident.mutability = None;
            }
        }
    }

    Ok(Parameters {
        forward,
        rebind,
        borrow,
        lend,
    })
}

/// The gate's check of its flag.
struct Check {
    /// The call site's memo.
    site_static: TokenStream,
    /// Statements before the check: the context built, checked, and dropped (none without one).
    gate: TokenStream,
    /// The condition: whether the flag is on.
    check: TokenStream,
}

/// The check of `args.flag` (for `args.context` when given, which sees the parameters through
/// `borrow`), awaited in an async function.
fn check(args: &Args, is_async: bool, krate: &TokenStream, borrow: &[TokenStream]) -> Check {
    let flag = &args.flag;
    // Each call site keeps its last answer, valid until the snapshot changes.
    let site = format_ident!("__FEATURE_FLAG_SITE", span = Span::mixed_site());
    let site_static = quote_spanned! {flag.span()=>
        static #site: #krate::__private::Site = #krate::__private::Site::new(#flag);
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
            let expr = crate::context::expression(context, krate);
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
    Check {
        site_static,
        gate,
        check,
    }
}
