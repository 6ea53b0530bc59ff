//! `#[feature_flag("name", fallback = path, context = expr, schema = "file", crate = path)]`

use proc_macro2::Span;
use syn::ext::IdentExt;
use syn::parse::{Parse, ParseStream};
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::{Error, Expr, ExprPath, Ident, LitStr, Path, Token};

pub(crate) struct Args {
    /// The flag name, as the user wrote it (errors point here).
    pub flag: LitStr,
    /// `flags::NEW_CHECKOUT`: a static of a `flags!` module naming the flag (its key is found
    /// by the static's name; `flag` then holds that name until resolved).
    pub flag_static: Option<Path>,
    /// What runs when the flag is off, called with the same arguments.
    pub fallback: ExprPath,
    /// `schema = "path"`: the flags document, relative to `CARGO_MANIFEST_DIR`.
    pub schema: Option<LitStr>,
    /// `crate = path`: where flag-runtime is, for renamed dependencies.
    pub krate: Option<Path>,
    /// `context = expr` or `context(key = value, ...)`: the evaluation context of the check.
    pub context: Option<ContextArg>,
}

/// The `context` argument.
pub(crate) struct ContextArg {
    /// The `context` keyword: warnings about the context point here.
    pub keyword: Span,
    pub form: ContextForm,
}

pub(crate) enum ContextForm {
    /// `context = expr`: any expression of a type that derefs to `Context`.
    Expr(Expr),
    /// `context(key = value, ..., entity_id = value)`: literal keys.
    Pairs {
        pairs: Vec<ContextPair>,
        entity_id: Option<Expr>,
    },
}

/// `key = value` in `context(...)`; the key is an identifier or a string literal.
pub(crate) struct ContextPair {
    pub key: String,
    pub span: Span,
    pub value: Expr,
}

/// One `key = value` (or `"key" = value`) of `context(...)`, as written.
struct RawPair {
    key: String,
    quoted: bool,
    span: Span,
    value: Expr,
}

impl Parse for RawPair {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let (key, quoted, span) = if input.peek(LitStr) {
            let lit: LitStr = input.parse()?;
            (lit.value(), true, lit.span())
        } else if input.peek(Ident::peek_any) {
            let ident = Ident::parse_any(input)?;
            (ident.unraw().to_string(), false, ident.span())
        } else {
            return Err(input.error(CONTEXT_USAGE));
        };
        input.parse::<Token![=]>().map_err(|_| {
            Error::new(
                span,
                format!("expected `{key} = value`: the context takes `key = value` pairs, e.g. `context(tier = order.tier.as_str())`"),
            )
        })?;
        let value = input.parse()?;
        Ok(RawPair {
            key,
            quoted,
            span,
            value,
        })
    }
}

const CONTEXT_USAGE: &str = "expected `key = value` pairs, e.g. `context(tier = order.tier.as_str(), customerId = order.customer_id, entity_id = order.customer_id)`";

fn parse_pairs(input: ParseStream<'_>) -> syn::Result<ContextForm> {
    let content;
    let parens = syn::parenthesized!(content in input);
    let raw = Punctuated::<RawPair, Token![,]>::parse_terminated(&content)?;
    if raw.is_empty() {
        return Err(Error::new(parens.span.join(), CONTEXT_USAGE));
    }
    let mut pairs: Vec<ContextPair> = Vec::new();
    let mut entity_id: Option<Expr> = None;
    for pair in raw {
        if !pair.quoted && pair.key == "entity_id" {
            if entity_id.is_some() {
                return Err(Error::new(pair.span, "duplicate `entity_id`"));
            }
            entity_id = Some(pair.value);
            continue;
        }
        if !flag_schema::is_valid_context_key(&pair.key) {
            return Err(Error::new(
                pair.span,
                format!(
                    "`{}` is not a valid context key: it must be 1 to 64 ASCII letters, digits, `_`, `-` or `.`",
                    pair.key
                ),
            ));
        }
        if pairs.iter().any(|p| p.key == pair.key) {
            return Err(Error::new(
                pair.span,
                format!("duplicate context key `{}`", pair.key),
            ));
        }
        pairs.push(ContextPair {
            key: pair.key,
            span: pair.span,
            value: pair.value,
        });
    }
    Ok(ContextForm::Pairs { pairs, entity_id })
}

const USAGE: &str = "expected `#[feature_flag(\"flagName\", fallback = other_fn)]`";

/// `flags::NEW_CHECKOUT`: a path whose last segment is in SCREAMING_SNAKE_CASE.
fn typed_flag_path(expr: &Expr) -> Option<&Path> {
    let Expr::Path(ExprPath {
        qself: None, path, ..
    }) = expr
    else {
        return None;
    };
    let last = path.segments.last()?;
    let name = last.ident.to_string();
    let shouty = last.arguments.is_none()
        && name.starts_with(|c: char| c.is_ascii_uppercase())
        && name
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
    shouty.then_some(path)
}

impl Parse for Args {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        if input.is_empty() {
            return Err(Error::new(
                proc_macro2::Span::call_site(),
                format!("missing the flag name: {USAGE}"),
            ));
        }
        let mut flag_static = None;
        let flag = if input.peek(LitStr) {
            input.parse::<LitStr>()?
        } else {
            let mut found: Expr = input.parse()?;
            // `$name:literal` or `$name:expr` from a `macro_rules!`: an invisible group.
            while let Expr::Group(syn::ExprGroup { expr: inner, .. }) = found {
                found = *inner;
            }
            if let Expr::Lit(syn::ExprLit {
                lit: syn::Lit::Str(name),
                ..
            }) = found
            {
                name
            } else if let Some(path) = typed_flag_path(&found) {
                let last = &path.segments.last().expect("a path has a segment").ident;
                flag_static = Some(path.clone());
                LitStr::new(&last.to_string(), path.span())
            } else {
                return Err(Error::new(
                found.span(),
                "the flag name must be a string literal or a `flags!` static, e.g. `#[feature_flag(\"newCheckout\", fallback = old_checkout)]` or `#[feature_flag(flags::NEW_CHECKOUT, fallback = old_checkout)]`",
            ));
            }
        };
        let mut fallback: Option<ExprPath> = None;
        let mut schema: Option<LitStr> = None;
        let mut krate: Option<Path> = None;
        let mut context: Option<ContextArg> = None;
        while !input.is_empty() {
            input.parse::<Token![,]>()?;
            if input.is_empty() {
                break;
            }
            let (key, span) = if input.peek(Token![crate]) {
                let token = input.parse::<Token![crate]>()?;
                ("crate".to_owned(), token.span)
            } else {
                let ident: syn::Ident = input.parse().map_err(|e| {
                    Error::new(
                        e.span(),
                        "expected `fallback = ...`, `context = ...`, `schema = \"...\"` or `crate = ...`",
                    )
                })?;
                (ident.to_string(), ident.span())
            };
            let duplicate = || Error::new(span, format!("duplicate argument `{key}`"));
            if key == "context" {
                if context.is_some() {
                    return Err(duplicate());
                }
                let form = if input.peek(syn::token::Paren) {
                    parse_pairs(input)?
                } else {
                    input.parse::<Token![=]>().map_err(|e| {
                        Error::new(
                            e.span(),
                            "expected `context = expr` or `context(key = value, ...)`",
                        )
                    })?;
                    ContextForm::Expr(input.parse()?)
                };
                context = Some(ContextArg {
                    keyword: span,
                    form,
                });
                continue;
            }
            input.parse::<Token![=]>()?;
            match key.as_str() {
                "fallback" => {
                    if fallback.is_some() {
                        return Err(duplicate());
                    }
                    let mut expr: Expr = input.parse()?;
                    // `$f:path` or `$f:expr` from a `macro_rules!` arrives in an invisible
                    // group; `(path)` is a path too.
                    while let Expr::Group(syn::ExprGroup { expr: inner, .. })
                    | Expr::Paren(syn::ExprParen { expr: inner, .. }) = expr
                    {
                        expr = *inner;
                    }
                    match expr {
                        Expr::Path(path) => fallback = Some(path),
                        other => {
                            return Err(Error::new(
                                other.span(),
                                "`fallback` takes the path of a function, e.g. `old_checkout` or `Self::old_checkout`",
                            ))
                        }
                    }
                }
                "schema" => {
                    if schema.is_some() {
                        return Err(duplicate());
                    }
                    schema = Some(input.parse().map_err(|e| {
                        Error::new(
                            e.span(),
                            "`schema` takes a string literal path, e.g. `schema = \"flags.json\"`",
                        )
                    })?);
                }
                "crate" => {
                    if krate.is_some() {
                        return Err(duplicate());
                    }
                    krate = Some(Path::parse_mod_style(input)?);
                }
                _ => {
                    return Err(Error::new(
                        span,
                        format!(
                            "unknown argument `{key}`; expected `fallback`, `context`, `schema` or `crate`"
                        ),
                    ))
                }
            }
        }
        let fallback = fallback.ok_or_else(|| {
            Error::new(
                flag.span(),
                format!(
                    "missing `fallback = ...`: the function to call when `{}` is off, e.g. `#[feature_flag(\"{}\", fallback = old_path)]`",
                    flag.value(),
                    flag.value()
                ),
            )
        })?;
        Ok(Args {
            flag,
            flag_static,
            fallback,
            schema,
            krate,
            context,
        })
    }
}
