//! Every function here is gated with `feature = "gated"` and plain without it; the fallbacks are
//! public, so they are used in both builds. See `flag-macros/tests/lints.rs`.
#![deny(warnings)]
#![allow(clippy::missing_panics_doc, clippy::missing_errors_doc, clippy::missing_safety_doc)]

#[cfg(feature = "gated")]
use flag_macros::feature_flag;

/// One-line bodies (`unused_braces`).
#[cfg_attr(feature = "gated", feature_flag("lintFlag", fallback = old_one_line))]
pub fn one_line(x: u32) -> u32 { x + 1 }

pub fn old_one_line(x: u32) -> u32 { x }

/// A destructured parameter and a body ending in `return` (`unreachable_code`).
#[cfg_attr(feature = "gated", feature_flag("lintFlag", fallback = old_pair))]
pub fn ends_in_return((a, b): (u32, u32)) -> u32 {
    let sum = a + b;
    return sum * 2;
}

/// ... in `panic!`.
#[cfg_attr(feature = "gated", feature_flag("lintFlag", fallback = old_pair))]
pub fn ends_in_panic((a, b): (u32, u32)) -> u32 {
    if a > b {
        return a;
    }
    panic!("{b} too large")
}

/// ... in an if/else returning on both arms.
#[cfg_attr(feature = "gated", feature_flag("lintFlag", fallback = old_pair))]
pub fn ends_in_if_else((a, b): (u32, u32)) -> u32 {
    if a > b {
        return a;
    } else {
        return b;
    }
}

/// ... a body that is only `return` (`clippy::diverging_sub_expression`).
#[cfg_attr(feature = "gated", feature_flag("lintFlag", fallback = old_pair8))]
pub fn only_return((a, b): (u8, u8)) -> u8 {
    return a.wrapping_add(b);
}

pub fn old_pair8(pair: (u8, u8)) -> u8 {
    pair.0
}

/// ... returning from inside a loop.
#[cfg_attr(feature = "gated", feature_flag("lintFlag", fallback = old_pair))]
pub fn returns_in_a_loop((a, b): (u32, u32)) -> u32 {
    let mut n = a;
    loop {
        if n > b {
            return n;
        }
        n += 1;
    }
}

/// ... returning from match arms.
#[cfg_attr(feature = "gated", feature_flag("lintFlag", fallback = old_pair))]
pub fn returns_in_match_arms((a, b): (u32, u32)) -> u32 {
    match a.cmp(&b) {
        std::cmp::Ordering::Less => return b,
        _ => return a,
    }
}

/// ... with `?` and an early `return`.
#[cfg_attr(feature = "gated", feature_flag("lintFlag", fallback = old_parse))]
pub fn returns_with_question_mark((a, b): (&str, u32)) -> Result<u32, std::num::ParseIntError> {
    let n: u32 = a.parse()?;
    if n > b {
        return Ok(n);
    }
    return Ok(b);
}

pub fn old_parse(pair: (&str, u32)) -> Result<u32, std::num::ParseIntError> {
    Ok(pair.1)
}

pub fn old_pair(pair: (u32, u32)) -> u32 {
    pair.0
}

/// A tail expression with a temporary borrowing a destructured argument.
#[cfg_attr(feature = "gated", feature_flag("lintFlag", fallback = old_locked))]
pub fn locked((m, n): (std::sync::Mutex<u32>, u32)) -> u32 {
    *m.lock().unwrap() + n
}

pub fn old_locked(pair: (std::sync::Mutex<u32>, u32)) -> u32 {
    pair.1
}

/// `unsafe fn` with an `unsafe` fallback (`unsafe_op_in_unsafe_fn`, edition 2024) ...
#[cfg_attr(feature = "gated", feature_flag("lintFlag", fallback = old_read))]
pub unsafe fn read(p: *const u8) -> u8 {
    unsafe { *p }
}

pub unsafe fn old_read(p: *const u8) -> u8 {
    unsafe { *p.add(1) }
}

/// ... and with a safe one (`unused_unsafe`).
#[cfg_attr(feature = "gated", feature_flag("lintFlag", fallback = safe_read))]
pub unsafe fn read_safe_fallback(p: *const u8) -> u8 {
    unsafe { *p }
}

pub fn safe_read(_p: *const u8) -> u8 {
    0
}

/// Underscore parameters (`clippy::used_underscore_binding`), a `mut` one, a unit return.
#[cfg_attr(feature = "gated", feature_flag("lintFlag", fallback = old_underscore))]
pub fn underscore(_unused: u32, mut total: u32, _: u8) {
    total += 1;
    println!("{total}");
}

pub fn old_underscore(_unused: u32, total: u32, _: u8) {
    println!("{total}");
}

/// `ref mut` bindings.
#[cfg_attr(feature = "gated", feature_flag("lintFlag", fallback = old_fill))]
pub fn fill((ref mut bytes, n): (Vec<u8>, u8)) -> usize {
    bytes.push(n);
    bytes.len()
}

pub fn old_fill(pair: (Vec<u8>, u8)) -> usize {
    pair.0.len()
}

/// Generics, lifetimes, `impl Trait` in and out.
#[cfg_attr(feature = "gated", feature_flag("lintFlag", fallback = old_evens))]
pub fn evens<'a>(items: &'a [u32], extra: impl Into<u32>) -> impl Iterator<Item = u32> + 'a {
    let extra = extra.into();
    items.iter().map(move |n| n * 2 + extra)
}

pub fn old_evens<'a>(items: &'a [u32], _extra: impl Into<u32>) -> impl Iterator<Item = u32> + 'a {
    items.iter().copied()
}

/// Async fns, with a context.
#[cfg_attr(feature = "gated", feature_flag("discount", fallback = old_price, context(tier = tier.as_str())))]
pub async fn price(tier: String, cents: u64) -> u64 {
    cents * 9 / 10 + u64::from(tier.is_empty())
}

pub async fn old_price(_tier: String, cents: u64) -> u64 {
    cents
}

/// `#[tracing::instrument]` in both orders.
#[cfg_attr(feature = "gated", feature_flag("lintFlag", fallback = old_traced))]
#[tracing::instrument]
pub fn traced_below((a, b): (u32, u32)) -> u32 {
    a + b
}

#[tracing::instrument]
#[cfg_attr(feature = "gated", feature_flag("lintFlag", fallback = old_traced_async))]
pub async fn traced_above((a, b): (u32, u32)) -> u32 {
    a * b
}

#[must_use]
pub fn old_traced(pair: (u32, u32)) -> u32 {
    pair.0
}

pub async fn old_traced_async(pair: (u32, u32)) -> u32 {
    pair.1
}

#[derive(Default)]
pub struct Cart {
    pub items: Vec<u32>,
}

impl Cart {
    #[cfg_attr(feature = "gated", feature_flag("lintFlag", fallback = Self::old_add))]
    pub fn add(&mut self, item: u32) {
        self.items.push(item * 10);
    }

    pub fn old_add(&mut self, item: u32) {
        self.items.push(item);
    }

    #[cfg_attr(feature = "gated", feature_flag("lintFlag", fallback = Self::old_total))]
    pub async fn total(&self) -> u32 {
        self.items.iter().sum::<u32>() * 2
    }

    pub async fn old_total(&self) -> u32 {
        self.items.iter().sum()
    }
}

#[async_trait::async_trait]
pub trait Checkout {
    async fn pay(&self, cents: u64) -> u64;

    #[cfg_attr(feature = "gated", feature_flag("lintFlag", fallback = Self::pay))]
    async fn pay_twice(&self, cents: u64) -> u64 {
        cents * 2
    }
}

#[async_trait::async_trait]
impl Checkout for Cart {
    #[cfg_attr(feature = "gated", feature_flag("lintFlag", fallback = Cart::old_pay))]
    #[tracing::instrument(skip(self))]
    async fn pay(&self, cents: u64) -> u64 {
        cents + 1
    }
}

impl Cart {
    pub async fn old_pay(&self, cents: u64) -> u64 {
        cents
    }
}

/// Never called: `dead_code`, gated or not, for it and for its fallback.
#[cfg_attr(feature = "gated", feature_flag("lintFlag", fallback = old_unused))]
fn unused(x: u32) -> u32 {
    x + 1
}

fn old_unused(x: u32) -> u32 {
    x
}

/// An inner attribute at the top of the body, and a destructured parameter.
#[cfg_attr(feature = "gated", feature_flag("lintFlag", fallback = old_truncated))]
pub fn truncated((x, _): (u64, u8)) -> u32 {
    #![allow(clippy::cast_possible_truncation)]
    (x * 2) as u32
}

pub fn old_truncated(pair: (u64, u8)) -> u32 {
    u32::from(pair.1)
}

/// `unsafe fn -> impl Trait` with an `unsafe` fallback (`unsafe_op_in_unsafe_fn`).
#[cfg_attr(feature = "gated", feature_flag("lintFlag", fallback = old_raw_bytes))]
pub unsafe fn raw_bytes(p: *const u8, n: usize) -> impl Iterator<Item = u8> {
    (0..n).map(move |i| unsafe { *p.add(i) })
}

pub unsafe fn old_raw_bytes(p: *const u8, n: usize) -> impl Iterator<Item = u8> {
    let first = unsafe { *p };
    std::iter::repeat_n(first, n)
}

/// A destructured parameter followed by plain ones, one `mut` (the rebinding keeping their drop
/// order).
#[cfg_attr(feature = "gated", feature_flag("lintFlag", fallback = old_then_more))]
pub fn then_more((a, b): (u32, u32), mut c: Vec<u32>, d: u32) -> Vec<u32> {
    c.push(a + b + d);
    c
}

pub fn old_then_more(_: (u32, u32), c: Vec<u32>, _d: u32) -> Vec<u32> {
    c
}
