use flag_macros::feature_flag;

#[feature_flag("newCheckout", fallback = old, context = ctx, context(tier = "gold"))]
fn checkout(ctx: flag_runtime::Context) -> bool {
    ctx.is_empty()
}

fn old(_ctx: flag_runtime::Context) -> bool {
    false
}

fn main() {}
