//! The gated function as written, its body kept as tokens.
//!
//! Only the attributes, visibility and signature are parsed. The body is carried through as the
//! user's tokens, as `tokio::main` and `tracing::instrument` do: a syntax error inside it is then
//! reported by rustc where it is, not as a failure of the macro.

use proc_macro2::{Delimiter, Group, TokenStream, TokenTree};
use quote::{ToTokens, TokenStreamExt};
use syn::parse::{Parse, ParseStream};
use syn::{Attribute, Error, Signature, Token, Visibility};

pub(crate) struct ItemFn {
    pub attrs: Vec<Attribute>,
    pub vis: Visibility,
    pub sig: Signature,
    /// The `{ ... }` of the body, as written.
    pub body: Group,
}

const NOT_A_FUNCTION: &str =
    "#[feature_flag] goes on a function with a body (a free fn or a method)";

impl Parse for ItemFn {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let attrs = input.call(Attribute::parse_outer)?;
        let vis: Visibility = input.parse()?;
        let sig: Signature = input
            .parse()
            .map_err(|e| Error::new(e.span(), NOT_A_FUNCTION))?;
        if input.peek(Token![;]) {
            return Err(Error::new(
                input.span(),
                "#[feature_flag] needs the function's body: a trait method without a default has nothing to gate",
            ));
        }
        let body = match input.parse::<TokenTree>() {
            Ok(TokenTree::Group(group)) if group.delimiter() == Delimiter::Brace => group,
            Ok(other) => return Err(Error::new(other.span(), NOT_A_FUNCTION)),
            Err(e) => return Err(Error::new(e.span(), NOT_A_FUNCTION)),
        };
        if !input.is_empty() {
            return Err(input.error(NOT_A_FUNCTION));
        }
        Ok(ItemFn {
            attrs,
            vis,
            sig,
            body,
        })
    }
}

impl ToTokens for ItemFn {
    fn to_tokens(&self, tokens: &mut TokenStream) {
        tokens.append_all(&self.attrs);
        self.vis.to_tokens(tokens);
        self.sig.to_tokens(tokens);
        self.body.to_tokens(tokens);
    }
}
