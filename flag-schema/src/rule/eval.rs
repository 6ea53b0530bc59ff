//! Evaluating a parsed rule against a context, in three-valued logic. Total: every input gives
//! `true`, `false` or unknown.

use std::cmp::Ordering;

use xxhash_rust::xxh3::{xxh3_64, xxh3_64_with_seed};

use super::parse::{Cmp, Lit, Node, Operand, TextOp};
use super::scalar::{parse_bool, parse_number, parse_timestamp, Num, Timestamp};
use crate::context::RuleContext;

/// `split` buckets per hash domain: `pct` has a resolution of 0.0001 %.
pub(crate) const BUCKETS: u64 = 1_000_000;

/// Three-valued: `None` is *unknown*, what a comparison is when an operand reads a missing
/// context key or a context value that cannot be read as the type the operator needs. `not` of
/// unknown is unknown; in `and` false wins, in `or` true wins; a rule that ends unknown does not
/// match. So a request that says nothing about a key never lands in a variant that excludes
/// some values of it.
pub(crate) fn eval(node: &Node, flag: &str, ctx: &RuleContext) -> Option<bool> {
    match node {
        Node::Const(b) => Some(*b),
        Node::Compare(cmp, a, b) => {
            let o = compare(&value(a, flag, ctx)?, &value(b, flag, ctx)?)?;
            Some(holds(*cmp, o))
        }
        Node::And(nodes) => fold(nodes, flag, ctx, false),
        Node::Or(nodes) => fold(nodes, flag, ctx, true),
        Node::Not(n) => eval(n, flag, ctx).map(|b| !b),
        Node::Text(op, a, b) => {
            let (a, b) = (text(a, ctx)?, text(b, ctx)?);
            Some(match op {
                TextOp::BeginsWith => a.starts_with(b),
                TextOp::EndsWith => a.ends_with(b),
                TextOp::Contains => a.contains(b),
            })
        }
        Node::In(subject, items) => {
            let subject = value(subject, flag, ctx)?;
            let mut comparable = false;
            for item in items {
                match compare(&subject, &V::Lit(item)) {
                    Some(Ordering::Equal) => return Some(true),
                    Some(_) => comparable = true,
                    None => {}
                }
            }
            // Unknown when the value reads as none of the list's types (`abc` against numbers).
            (comparable || items.is_empty()).then_some(false)
        }
        Node::Matches(subject, re) => text(subject, ctx).map(|s| re.is_match(s)),
        Node::Exists(key) => Some(ctx.get(key).is_some()),
        Node::Split(split) => ctx.get(&split.by).map(|v| {
            let domain = split.seed.unwrap_or_else(|| flag_seed(flag));
            bucket(domain, v) < split.threshold
        }),
    }
}

/// `and` (`wins` false) or `or` (`wins` true): `wins` if any operand is, else unknown if any
/// operand is, else the other value.
fn fold(nodes: &[Node], flag: &str, ctx: &RuleContext, wins: bool) -> Option<bool> {
    let mut unknown = false;
    for node in nodes {
        match eval(node, flag, ctx) {
            Some(b) if b == wins => return Some(wins),
            Some(_) => {}
            None => unknown = true,
        }
    }
    (!unknown).then_some(!wins)
}

/// The hash domain of a `split` with `seed::` (shared by every flag using that seed).
pub(crate) fn domain_seed(seed: &str) -> u64 {
    xxh3_64(format!("seed:{seed}").as_bytes())
}

/// The hash domain of a `split` without a seed: its flag's own.
fn flag_seed(flag: &str) -> u64 {
    xxh3_64(format!("flag:{flag}").as_bytes())
}

/// `floor(xxh3_64_with_seed(value, domain) × 1 000 000 / 2^64)`: uniform over 0..1_000_000.
pub(crate) fn bucket(domain: u64, value: &str) -> u32 {
    let h = xxh3_64_with_seed(value.as_bytes(), domain);
    ((u128::from(h) * u128::from(BUCKETS)) >> 64) as u32
}

fn holds(cmp: Cmp, o: Ordering) -> bool {
    match cmp {
        Cmp::Eq => o == Ordering::Equal,
        Cmp::Ne => o != Ordering::Equal,
        Cmp::Gt => o == Ordering::Greater,
        Cmp::Gte => o != Ordering::Less,
        Cmp::Lt => o == Ordering::Less,
        Cmp::Lte => o != Ordering::Greater,
    }
}

/// An operand's value; `None` (unknown) when it reads a context key that is missing, or is an
/// expression whose value is unknown.
enum V<'a> {
    Context(&'a str),
    Lit(&'a Lit),
    Bool(bool),
}

fn value<'a>(o: &'a Operand, flag: &str, ctx: &'a RuleContext) -> Option<V<'a>> {
    match o {
        Operand::Lit(l) => Some(V::Lit(l)),
        Operand::Key(k) => ctx.get(k).map(V::Context),
        Operand::Expr(e) => eval(e, flag, ctx).map(V::Bool),
    }
}

fn text<'a>(o: &'a Operand, ctx: &'a RuleContext) -> Option<&'a str> {
    match o {
        Operand::Lit(Lit::Str(s)) => Some(s),
        Operand::Key(k) => ctx.get(k),
        _ => None,
    }
}

/// A value of a known type.
enum T<'a> {
    Str(&'a str),
    Num(Num),
    Time(Timestamp),
    Bool(bool),
}

fn typed<'a>(v: &V<'a>) -> T<'a> {
    match v {
        V::Context(s) => T::Str(s),
        V::Bool(b) => T::Bool(*b),
        V::Lit(Lit::Str(s)) => T::Str(s),
        V::Lit(Lit::Int(i)) => T::Num(Num::Int(*i)),
        V::Lit(Lit::Float(f)) => T::Num(Num::Float(*f)),
        V::Lit(Lit::Time(t)) => T::Time(*t),
        V::Lit(Lit::Bool(b)) => T::Bool(*b),
    }
}

/// A context string read as the type of the other operand; `None` when it does not parse.
fn coerce<'a>(s: &'a str, like: &T<'_>) -> Option<T<'a>> {
    match like {
        T::Str(_) => Some(T::Str(s)),
        T::Num(_) => parse_number(s).map(T::Num),
        T::Time(_) => parse_timestamp(s, true).map(T::Time),
        T::Bool(_) => parse_bool(s).map(T::Bool),
    }
}

fn same_type(a: &T<'_>, b: &T<'_>) -> Option<Ordering> {
    match (a, b) {
        (T::Str(x), T::Str(y)) => Some(x.cmp(y)),
        (T::Num(x), T::Num(y)) => x.compare(*y),
        (T::Time(x), T::Time(y)) => Some(x.cmp(y)),
        (T::Bool(x), T::Bool(y)) => Some(x.cmp(y)),
        _ => None,
    }
}

/// `None` when the two cannot be compared (different types, or a context string that does not
/// read as the other operand's type): the comparison is then unknown.
fn compare(a: &V<'_>, b: &V<'_>) -> Option<Ordering> {
    match (a, b) {
        (V::Context(x), V::Context(y)) => Some(contexts(x, y)),
        (V::Context(x), other) => {
            let other = typed(other);
            same_type(&coerce(x, &other)?, &other)
        }
        (other, V::Context(y)) => {
            let other = typed(other);
            same_type(&other, &coerce(y, &other)?)
        }
        (x, y) => same_type(&typed(x), &typed(y)),
    }
}

/// Two context values: as numbers when both read as numbers, else as timestamps when both read
/// as timestamps, else as strings.
fn contexts(x: &str, y: &str) -> Ordering {
    if let (Some(a), Some(b)) = (parse_number(x), parse_number(y)) {
        if let Some(o) = a.compare(b) {
            return o;
        }
    }
    if let (Some(a), Some(b)) = (parse_timestamp(x, true), parse_timestamp(y, true)) {
        return a.cmp(&b);
    }
    x.cmp(y)
}
