//! `#[feature_flag("name", fallback = path, schema = "file", crate = path)]`

use syn::parse::{Parse, ParseStream};
use syn::spanned::Spanned;
use syn::{Error, Expr, ExprPath, LitStr, Path, Token};

pub(crate) struct Args {
    /// The flag name, as the user wrote it (errors point here).
    pub flag: LitStr,
    /// What runs when the flag is off, called with the same arguments.
    pub fallback: ExprPath,
    /// `schema = "path"`: the flags document, relative to `CARGO_MANIFEST_DIR`.
    pub schema: Option<LitStr>,
    /// `crate = path`: where flag-runtime is, for renamed dependencies.
    pub krate: Option<Path>,
}

const USAGE: &str = "expected `#[feature_flag(\"flagName\", fallback = other_fn)]`";

impl Parse for Args {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        if input.is_empty() {
            return Err(Error::new(
                proc_macro2::Span::call_site(),
                format!("missing the flag name: {USAGE}"),
            ));
        }
        let flag = if input.peek(LitStr) {
            input.parse::<LitStr>()?
        } else {
            let found: Expr = input.parse()?;
            return Err(Error::new(
                found.span(),
                "the flag name must be a string literal, e.g. `#[feature_flag(\"newCheckout\", fallback = old_checkout)]`",
            ));
        };
        let mut fallback: Option<ExprPath> = None;
        let mut schema: Option<LitStr> = None;
        let mut krate: Option<Path> = None;
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
                        "expected `fallback = ...`, `schema = \"...\"` or `crate = ...`",
                    )
                })?;
                (ident.to_string(), ident.span())
            };
            let duplicate = || Error::new(span, format!("duplicate argument `{key}`"));
            input.parse::<Token![=]>()?;
            match key.as_str() {
                "fallback" => {
                    if fallback.is_some() {
                        return Err(duplicate());
                    }
                    let expr: Expr = input.parse()?;
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
                            "unknown argument `{key}`; expected `fallback`, `schema` or `crate`"
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
            fallback,
            schema,
            krate,
        })
    }
}
