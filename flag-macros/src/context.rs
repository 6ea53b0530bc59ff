//! `context = ...`: the evaluation context of the check, and what the schema says about it.

use std::collections::BTreeSet;

use proc_macro2::{Ident, Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{Expr, Lit, LitStr, Pat};

use crate::parse::{ContextArg, ContextForm};

/// The expression building the context, with the function's parameters in scope (by reference).
pub(crate) fn expression(arg: &ContextArg, krate: &TokenStream) -> TokenStream {
    match &arg.form {
        ContextForm::Expr(expr) => quote!(#expr),
        ContextForm::Pairs { pairs, entity_id } => {
            let new = quote_spanned!(arg.keyword=> #krate::Context::new());
            // Each value is borrowed like the context is (`tier = order.tier` does not move the
            // field); `&T` is a `ContextValue` whenever `T` is. Spanned at the value, so a value
            // that is not a `ContextValue` is an error there.
            let pairs = pairs.iter().map(|pair| {
                let key = LitStr::new(&pair.key, pair.span);
                let value = &pair.value;
                quote_spanned!(value.span()=> .with(#key, &(#value)))
            });
            // Any `Display` value: a string, a number.
            let entity_id = entity_id.iter().map(|value| {
                quote_spanned!(value.span()=> .with_entity_id(::std::string::ToString::to_string(&(#value))))
            });
            quote!(#new #(#pairs)* #(#entity_id)*)
        }
    }
}

/// The context's keys, when they are all written as literals.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct LiteralKeys {
    pub pairs: BTreeSet<String>,
    pub entity_id: bool,
}

/// The literal keys of `context(key = value, ...)`, or of `context = Context::new().with("key",
/// value)...` (a builder chain from `Context::new()` or `Context::default()` through `.with`
/// with string literal keys and `.entity_id`). `None` when the keys are only known at run time.
pub(crate) fn literal_keys(arg: &ContextArg) -> Option<LiteralKeys> {
    match &arg.form {
        ContextForm::Pairs { pairs, entity_id } => Some(LiteralKeys {
            pairs: pairs.iter().map(|p| p.key.clone()).collect(),
            entity_id: entity_id.is_some(),
        }),
        ContextForm::Expr(expr) => chain_keys(expr),
    }
}

fn chain_keys(mut expr: &Expr) -> Option<LiteralKeys> {
    let mut keys = LiteralKeys::default();
    loop {
        match expr {
            Expr::Paren(e) => expr = &e.expr,
            Expr::Group(e) => expr = &e.expr,
            Expr::Reference(e) if e.mutability.is_none() => expr = &e.expr,
            Expr::MethodCall(call) if call.turbofish.is_none() => {
                match (call.method.to_string().as_str(), call.args.len()) {
                    ("with", 2) => match &call.args[0] {
                        Expr::Lit(syn::ExprLit {
                            lit: Lit::Str(key), ..
                        }) => {
                            keys.pairs.insert(key.value());
                        }
                        _ => return None,
                    },
                    ("with_entity_id", 1) => keys.entity_id = true,
                    _ => return None,
                }
                expr = &call.receiver;
            }
            Expr::Call(call) if call.args.is_empty() => {
                let Expr::Path(path) = &*call.func else {
                    return None;
                };
                let mut segments = path.path.segments.iter().rev();
                let (Some(function), Some(ty)) = (segments.next(), segments.next()) else {
                    return None;
                };
                let root = path.qself.is_none()
                    && ty.ident == "Context"
                    && ty.arguments.is_none()
                    && function.arguments.is_none()
                    && (function.ident == "new" || function.ident == "default");
                return root.then_some(keys);
            }
            _ => return None,
        }
    }
}

/// The warnings about the context, as `#[deprecated]` uses at the `context` keyword (stable
/// Rust has no other way for a proc macro to warn):
///
/// * a flag without variants: the context changes nothing (unless the context is literally
///   an entity id only, which still pins the entity during a gradual deployment);
/// * with literal keys, each `$key` the flag's variant rules read that the context never
///   supplies, with the supplied key it may be a misspelling of.
pub(crate) fn warnings(
    arg: &ContextArg,
    document: &flag_schema::Document,
    flag: &str,
) -> TokenStream {
    let keys = literal_keys(arg);
    if !document.has_variants(flag) {
        if keys
            .as_ref()
            .is_some_and(|k| k.entity_id && k.pairs.is_empty())
        {
            return TokenStream::new();
        }
        return warning(
            "context_changes_nothing",
            &format!("feature flag `{flag}` has no variants: the context changes nothing"),
            arg.keyword,
        );
    }
    let Some(keys) = keys else {
        return TokenStream::new();
    };
    let read = document.variant_keys(flag);
    let unread: Vec<&str> = keys
        .pairs
        .iter()
        .filter(|k| !read.contains(*k))
        .map(String::as_str)
        .collect();
    read.iter()
        .filter(|key| !keys.pairs.contains(*key))
        .map(|key| {
            let hint = flag_schema::suggest(key, unread.iter().copied())
                .map(|close| format!(" (it has `{close}`, which no rule reads)"))
                .unwrap_or_default();
            warning(
                "context_key_missing",
                &format!(
                    "feature flag `{flag}`: its variant rules read `${key}`, which this context never supplies{hint}"
                ),
                arg.keyword,
            )
        })
        .collect()
}

/// A warning with `note`, at `at`: a block to put where an expression goes. Stable Rust gives
/// proc macros one way to warn, `#[deprecated]`; on a local `macro_rules!` it reads
/// "use of deprecated macro `name`: note", with no item path, and `#[allow(deprecated)]` at
/// the use silences it.
pub(crate) fn warning(name: &str, note: &str, at: Span) -> TokenStream {
    let marker = format_ident!("{}", name, span = Span::mixed_site());
    let usage = Ident::new(name, at.resolved_at(Span::mixed_site()));
    quote! {
        {
            #[deprecated(note = #note)]
            macro_rules! #marker { () => {}; }
            #usage!();
        }
    }
}

/// `pattern` with every binding made a plain name (no `mut`, no `ref`) and every `&` pattern
/// removed: matched against a reference to the argument, default binding modes bind every
/// name by reference, so the context expression sees the names without moving anything.
/// `None` when the pattern binds nothing.
pub(crate) fn borrowing_pattern(pattern: &Pat) -> Option<Pat> {
    let mut pattern = pattern.clone();
    strip(&mut pattern).then_some(pattern)
}

/// Whether `pattern` has a `ref mut` binding: the argument it destructures must then be bound
/// `mut` (as a parameter pattern borrows the argument it matches).
pub(crate) fn binds_ref_mut(pattern: &Pat) -> bool {
    match pattern {
        Pat::Ident(p) => {
            (p.by_ref.is_some() && p.mutability.is_some())
                || p.subpat.as_ref().is_some_and(|(_, sub)| binds_ref_mut(sub))
        }
        Pat::Reference(r) => binds_ref_mut(&r.pat),
        Pat::Tuple(p) => p.elems.iter().any(binds_ref_mut),
        Pat::TupleStruct(p) => p.elems.iter().any(binds_ref_mut),
        Pat::Slice(p) => p.elems.iter().any(binds_ref_mut),
        Pat::Or(p) => p.cases.iter().any(binds_ref_mut),
        Pat::Struct(p) => p.fields.iter().any(|f| binds_ref_mut(&f.pat)),
        Pat::Paren(p) => binds_ref_mut(&p.pat),
        Pat::Type(p) => binds_ref_mut(&p.pat),
        _ => false,
    }
}

/// Strips binding modes and `&` patterns in place; whether the pattern binds a name.
fn strip(pattern: &mut Pat) -> bool {
    match pattern {
        Pat::Ident(p) => {
            p.by_ref = None;
            p.mutability = None;
            if let Some((_, sub)) = &mut p.subpat {
                strip(sub);
            }
            true
        }
        Pat::Reference(r) => {
            let binds = strip(&mut r.pat);
            let inner = std::mem::replace(&mut *r.pat, Pat::Verbatim(TokenStream::new()));
            *pattern = inner;
            binds
        }
        Pat::Tuple(p) => p.elems.iter_mut().fold(false, |b, p| strip(p) | b),
        Pat::TupleStruct(p) => p.elems.iter_mut().fold(false, |b, p| strip(p) | b),
        Pat::Slice(p) => p.elems.iter_mut().fold(false, |b, p| strip(p) | b),
        Pat::Or(p) => p.cases.iter_mut().fold(false, |b, p| strip(p) | b),
        Pat::Struct(p) => p
            .fields
            .iter_mut()
            .fold(false, |b, f| strip(&mut f.pat) | b),
        Pat::Paren(p) => strip(&mut p.pat),
        Pat::Type(p) => strip(&mut p.pat),
        Pat::Wild(_)
        | Pat::Rest(_)
        | Pat::Path(_)
        | Pat::Lit(_)
        | Pat::Range(_)
        | Pat::Const(_) => false,
        // A macro or anything newer: taken as written.
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(expr: &str) -> Option<LiteralKeys> {
        chain_keys(&syn::parse_str(expr).unwrap())
    }

    #[test]
    fn builder_chains_have_literal_keys() {
        let k = keys(
            r#"&flag_runtime::Context::new().with("tier", t).with("id", 1).with_entity_id(x)"#,
        )
        .unwrap();
        assert_eq!(k.pairs.into_iter().collect::<Vec<_>>(), ["id", "tier"]);
        assert!(k.entity_id);
        assert_eq!(keys("Context::default()"), Some(LiteralKeys::default()));
        assert_eq!(keys(r#"Context::new().with(KEY, 1)"#), None);
        assert_eq!(keys(r#"ctx.with("a", 1)"#), None);
        assert_eq!(keys(r#"Context::new().with("a", 1).clone()"#), None);
        assert_eq!(keys(r#"Other::new().with("a", 1)"#), None);
        assert_eq!(keys("request.context"), None);
    }

    #[test]
    fn borrowing_patterns_bind_plain_names() {
        use syn::parse::Parser;
        let pattern = |text: &str| {
            let pat = Pat::parse_single.parse_str(text).unwrap();
            borrowing_pattern(&pat).map(|p| quote!(#p).to_string())
        };
        assert_eq!(
            pattern("(mut a, ref b, &c, &mut d)").as_deref(),
            Some("(a , b , c , d)")
        );
        assert_eq!(
            pattern("Pair { mut left, right: ref r, .. }").as_deref(),
            Some("Pair { left , right : r , .. }")
        );
        assert_eq!(pattern("(_, [_, ..])"), None);
        assert_eq!(pattern("x @ (a, _)").as_deref(), Some("x @ (a , _)"));
    }
}
