//! `flags!(#[attrs] vis mod name, schema = "file", experiments = "file", crate = path)`

use syn::parse::{Parse, ParseStream};
use syn::{Attribute, Error, Ident, LitStr, Path, Token, Visibility};

pub(crate) struct Input {
    /// Outer attributes of the module as written (its docs, `#[allow(...)]`, `#[cfg(...)]`).
    pub attrs: Vec<Attribute>,
    pub vis: Visibility,
    /// The module's name: errors about the schema as a whole point here.
    pub name: Ident,
    /// `schema = "path"`, relative to the crate's `Cargo.toml`.
    pub schema: Option<LitStr>,
    /// `experiments = "path"`, relative to the crate's `Cargo.toml`.
    pub experiments: Option<LitStr>,
    /// `crate = path`: where flag-runtime is, for a renamed dependency.
    pub krate: Option<Path>,
}

impl Parse for Input {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let attrs = input.call(Attribute::parse_outer)?;
        let vis: Visibility = input.parse()?;
        input.parse::<Token![mod]>().map_err(|e| {
            Error::new(
                e.span(),
                "expected `mod name`: flags!(pub mod flags) generates a module of typed flags",
            )
        })?;
        let name: Ident = input.parse()?;
        let mut schema = None;
        let mut experiments = None;
        let mut krate = None;
        while !input.is_empty() {
            input.parse::<Token![,]>()?;
            if input.is_empty() {
                break;
            }
            let key = if input.peek(Token![crate]) {
                let token: Token![crate] = input.parse()?;
                Ident::new("crate", token.span)
            } else {
                input.parse::<Ident>()?
            };
            input.parse::<Token![=]>()?;
            match key.to_string().as_str() {
                "schema" if schema.is_none() => schema = Some(input.parse()?),
                "experiments" if experiments.is_none() => experiments = Some(input.parse()?),
                "crate" if krate.is_none() => krate = Some(input.parse()?),
                "schema" | "experiments" | "crate" => {
                    return Err(Error::new(key.span(), format!("`{key}` is given twice")))
                }
                _ => {
                    return Err(Error::new(
                        key.span(),
                        format!(
                        "unknown argument `{key}`: expected `schema = \"path\"`, `experiments = \"path\"` or `crate = path`"
                    ),
                    ))
                }
            }
        }
        Ok(Input {
            attrs,
            vis,
            name,
            schema,
            experiments,
            krate,
        })
    }
}
