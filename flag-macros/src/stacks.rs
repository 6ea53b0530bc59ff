//! Other attribute macros' output that `#[feature_flag]` expands over, recognised by shape the
//! way `tracing-attributes` recognises `async-trait`'s: the gate then goes where the user's
//! body went, inside what the other macro wrapped around it.

use proc_macro2::{Delimiter, Group, TokenStream, TokenTree};
use quote::quote;
use syn::{Attribute, Expr, Stmt};

/// `#[instrument]` or `#[tracing::instrument]` among the attributes: the index of the first.
///
/// By its last path segment only: a macro sees the path as written, not what it resolves to, so
/// `use tracing::instrument as traced;` then `#[traced]` is not recognised (no proc macro can
/// resolve a `use`). Such an attribute below the gate still expands, after it, on the gated
/// function: it spans both paths, with the gate's names for destructured parameters. Written
/// above `#[feature_flag]`, or by its own name, it is exact.
pub(crate) fn instrument_attribute(attrs: &[Attribute]) -> Option<usize> {
    attrs.iter().position(|attr| {
        attr.path()
            .segments
            .last()
            .is_some_and(|segment| segment.ident == "instrument")
    })
}

/// A body `#[tracing::instrument]` generated (it was above `#[feature_flag]`, so it expanded
/// first): the span is set up around `{ fake-return-edge { user's block } }`, or, in an
/// `#[async_trait]` method, around the async block's `{ .. }`. Returns the body with that
/// block replaced by `replace(block)`, or `None` for any other body.
pub(crate) fn replace_instrumented_block(
    body: &Group,
    replace: &mut dyn FnMut(&Group) -> Group,
) -> Option<Group> {
    let stream = replace_in(body.stream(), replace)?;
    let mut group = Group::new(body.delimiter(), stream);
    group.set_span(body.span());
    Some(group)
}

fn replace_in(
    stream: TokenStream,
    replace: &mut dyn FnMut(&Group) -> Group,
) -> Option<TokenStream> {
    let mut tokens: Vec<TokenTree> = stream.into_iter().collect();
    for index in 0..tokens.len() {
        let TokenTree::Group(group) = &tokens[index] else {
            continue;
        };
        // `let <future> = async move { .. };` with `<future>.await` as the body's last `else`
        // branch: how `#[instrument]` wraps the async block of an `#[async_trait]` method (no
        // fake return edge there). Recognised by that shape, not by tracing-attributes' private
        // name for the binding.
        let is_instrumented_future = index >= 5
            && matches!(
                &tokens[index - 5..index],
                [TokenTree::Ident(l), TokenTree::Ident(name), TokenTree::Punct(eq), TokenTree::Ident(kw), TokenTree::Ident(mv)]
                    if l == "let"
                        && eq.as_char() == '='
                        && kw == "async"
                        && mv == "move"
                        && awaited_in_last_else(&tokens, name)
            )
            && instrumented_block(group).is_none();
        if is_instrumented_future && group.delimiter() == Delimiter::Brace {
            // With `err` or `ret`, the future is `async move { match async move { fake-return-edge
            // { user } }.await { .. } }`: the gate goes in the user's block, so that the fallback's
            // result is logged too. Without a fake return edge inside (async-trait), the whole
            // block is the user's.
            let replaced = match replace_in(group.stream(), replace) {
                Some(stream) => {
                    let mut new = Group::new(Delimiter::Brace, stream);
                    new.set_span(group.span());
                    new
                }
                None => replace(group),
            };
            tokens[index] = replaced.into();
            return Some(tokens.into_iter().collect());
        }
        let replaced = if let Some(user) = instrumented_block(group) {
            // `{ fake-return-edge { user } }`: replace `{ user }`, the last group.
            let mut inner: Vec<TokenTree> = group.stream().into_iter().collect();
            inner.pop();
            inner.push(replace(&user).into());
            inner.into_iter().collect()
        } else {
            match replace_in(group.stream(), replace) {
                Some(stream) => stream,
                None => continue,
            }
        };
        let mut new = Group::new(group.delimiter(), replaced);
        new.set_span(group.span());
        tokens[index] = new.into();
        return Some(tokens.into_iter().collect());
    }
    None
}

/// Whether the stream ends in `else { <future>.await }`: the instrumented future is awaited
/// (uninstrumented) when its span is disabled.
fn awaited_in_last_else(tokens: &[TokenTree], future: &proc_macro2::Ident) -> bool {
    let [.., TokenTree::Ident(kw), TokenTree::Group(branch)] = tokens else {
        return false;
    };
    let inner: Vec<TokenTree> = branch.stream().into_iter().collect();
    kw == "else"
        && branch.delimiter() == Delimiter::Brace
        && matches!(
            inner.as_slice(),
            [TokenTree::Ident(f), TokenTree::Punct(dot), TokenTree::Ident(aw)]
                if f == future && dot.as_char() == '.' && aw == "await"
        )
}

/// `{ #[allow(..)] if false { let x: T = loop {}; return x; } { user } }` (tracing-attributes
/// since 0.1.2x: a "fake return edge" that gives the block the function's return type): the
/// user's block `{ user }`. Recognised by that shape, `if false { let <name>: <type> = loop {};
/// return <name>; }`, not by the name tracing-attributes gives the binding (private, free to
/// change in any release).
fn instrumented_block(group: &Group) -> Option<Group> {
    if group.delimiter() != Delimiter::Brace {
        return None;
    }
    let tokens: Vec<TokenTree> = group.stream().into_iter().collect();
    let is_fake_return_edge = tokens.windows(3).any(|w| match w {
        [TokenTree::Ident(i), TokenTree::Ident(f), TokenTree::Group(g)] => {
            i == "if" && f == "false" && is_fake_return(g)
        }
        _ => false,
    });
    if !is_fake_return_edge {
        return None;
    }
    match tokens.last()? {
        TokenTree::Group(user) if user.delimiter() == Delimiter::Brace => Some(user.clone()),
        _ => None,
    }
}

/// `{ let <name>: <type> = loop {}; return <name>; }`: a block that only diverges, typed as the
/// function's return.
fn is_fake_return(block: &Group) -> bool {
    let Ok(block) = syn::parse2::<syn::Block>(quote!(#block)) else {
        return false;
    };
    let [Stmt::Local(local), Stmt::Expr(Expr::Return(ret), _)] = block.stmts.as_slice() else {
        return false;
    };
    let syn::Pat::Type(typed) = &local.pat else {
        return false;
    };
    let syn::Pat::Ident(bound) = &*typed.pat else {
        return false;
    };
    let loops = local
        .init
        .as_ref()
        .is_some_and(|init| matches!(&*init.expr, Expr::Loop(l) if l.body.stmts.is_empty()));
    let returns_it = matches!(
        ret.expr.as_deref(),
        Some(Expr::Path(p)) if p.path.is_ident(&bound.ident)
    );
    loops && returns_it
}

/// Whether the signature is one `#[async_trait]` generated: it always adds the lifetime
/// `'async_trait`. (A plain fn returning `Box::pin(async move { .. })`, a tower `Service::call`,
/// is not: its gate decides at call time, before the future exists.)
pub(crate) fn async_trait_signature(sig: &syn::Signature) -> bool {
    sig.generics
        .lifetimes()
        .any(|def| def.lifetime.ident == "async_trait")
}

/// A body `#[async_trait]` generated for an `async fn` of a trait or its impl:
/// `{ Box::pin(async move { .. }) }`. Returns the async block's `{ .. }` and a function putting
/// a new block in its place.
pub(crate) fn async_trait_block(body: &Group) -> Option<(Group, AsyncTraitBody)> {
    let block: syn::Block = syn::parse2(quote!(#body)).ok()?;
    let [Stmt::Expr(Expr::Call(call), None)] = block.stmts.as_slice() else {
        return None;
    };
    let Expr::Path(func) = &*call.func else {
        return None;
    };
    let mut segments = func.path.segments.iter().rev();
    let is_pin = matches!(
        (segments.next(), segments.next()),
        (Some(pin), Some(boxed)) if pin.ident == "pin" && boxed.ident == "Box"
    );
    if !is_pin || call.args.len() != 1 {
        return None;
    }
    let Some(Expr::Async(async_block)) = call.args.first() else {
        return None;
    };
    async_block.capture?;
    // The async block's tokens, as a group (its braces keep their span).
    let inner = body.stream().into_iter().find_map(|t| match t {
        TokenTree::Group(g) if g.delimiter() == Delimiter::Parenthesis => Some(g),
        _ => None,
    })?;
    let block = inner.stream().into_iter().find_map(|t| match t {
        TokenTree::Group(g) if g.delimiter() == Delimiter::Brace => Some(g),
        _ => None,
    })?;
    Some((
        block,
        AsyncTraitBody {
            outer: body.clone(),
        },
    ))
}

/// `{ Box::pin(async move <block>) }`, to be rebuilt around a new block.
pub(crate) struct AsyncTraitBody {
    outer: Group,
}

impl AsyncTraitBody {
    /// The body with the async block's `{ .. }` replaced by `block`.
    pub(crate) fn with_block(&self, block: TokenStream) -> Group {
        let mut block = Some(block);
        let stream = self
            .outer
            .stream()
            .into_iter()
            .map(|token| match token {
                TokenTree::Group(paren) if paren.delimiter() == Delimiter::Parenthesis => {
                    let stream = paren
                        .stream()
                        .into_iter()
                        .map(|t| match t {
                            TokenTree::Group(g) if g.delimiter() == Delimiter::Brace => {
                                let mut new =
                                    Group::new(Delimiter::Brace, block.take().unwrap_or_default());
                                new.set_span(g.span());
                                TokenTree::Group(new)
                            }
                            other => other,
                        })
                        .collect();
                    let mut new = Group::new(Delimiter::Parenthesis, stream);
                    new.set_span(paren.span());
                    TokenTree::Group(new)
                }
                other => other,
            })
            .collect();
        let mut group = Group::new(Delimiter::Brace, stream);
        group.set_span(self.outer.span());
        group
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(tokens: TokenStream) -> Group {
        match syn::parse2::<TokenTree>(quote!({ #tokens })).unwrap() {
            TokenTree::Group(group) => group,
            _ => unreachable!(),
        }
    }

    fn replaced(tokens: TokenStream) -> Option<String> {
        replace_instrumented_block(&body(tokens), &mut |_| {
            Group::new(Delimiter::Brace, quote!(GATED))
        })
        .map(|g| g.stream().to_string())
    }

    #[test]
    fn instrumented_bodies() {
        // Sync: `{ fake-return-edge { user } }` after the span set-up.
        let sync = replaced(quote! {
            let __tracing_attr_span;
            { #[allow(unreachable_code)] if false { let __tracing_attr_fake_return: u32 = loop {}; return __tracing_attr_fake_return; } { user() } }
        })
        .unwrap();
        assert!(
            sync.contains("{ GATED }") && !sync.contains("user"),
            "{sync}"
        );
        // An async-trait method's future, as tracing-attributes 0.1.31 writes it, and with the
        // binding renamed (recognised by shape, not by name).
        for name in [quote!(__tracing_instrument_future), quote!(renamed)] {
            let future = replaced(quote! {
                Box::pin(async move {
                    let __tracing_attr_span = span();
                    let #name = async move { user() };
                    if !__tracing_attr_span.is_disabled() {
                        ::tracing::Instrument::instrument(#name, __tracing_attr_span).await
                    } else {
                        #name.await
                    }
                })
            })
            .unwrap();
            assert!(
                future.contains("async move { GATED }") && !future.contains("user"),
                "{future}"
            );
        }
        // The user's own future, awaited some other way, is not mistaken for it.
        assert_eq!(
            replaced(quote!(Box::pin(async move {
                let f = async move { user() };
                f.await
            }))),
            None
        );
        assert_eq!(
            replaced(quote!(Box::pin(async move {
                let f = async move { user() };
                if c {
                    f.await
                } else {
                    other.await
                }
            }))),
            None
        );
        // Anything else, including a body that merely names tracing's variables.
        assert_eq!(replaced(quote!(if false { user() } { user() })), None);
        assert_eq!(
            replaced(quote!(let __tracing_instrument_future = make(); { user() })),
            None
        );
    }

    #[test]
    fn async_trait_bodies() {
        let (block, rebuilt) =
            async_trait_block(&body(quote!(Box::pin(async move { user() })))).unwrap();
        assert_eq!(block.stream().to_string(), "user ()");
        assert_eq!(
            rebuilt.with_block(quote!(GATED)).stream().to_string(),
            "Box :: pin (async move { GATED })"
        );
        assert!(async_trait_block(&body(quote!(Box::pin(async { user() })))).is_none());
        assert!(async_trait_block(&body(quote!(other(async move { user() })))).is_none());
        assert!(async_trait_block(&body(quote!(let x = 1; Box::pin(async move { x })))).is_none());
    }
}
