//! Rule text to a typed tree, checked once: operand kinds, arities and named arguments are
//! settled here so that evaluation cannot fail.

use regex_lite::{Regex, RegexBuilder};

use super::lex::{Lexer, Pos, Tok, Token};
use super::scalar::Timestamp;
use super::{RuleError, RuleErrorKind, MAX_DEPTH};

/// Compiled size limit of a `matches` pattern (regex-lite's default is 10 MiB).
const MAX_REGEX_BYTES: usize = 256 * 1024;

#[derive(Debug, Clone)]
pub(crate) enum Node {
    Const(bool),
    Compare(Cmp, Operand, Operand),
    And(Vec<Node>),
    Or(Vec<Node>),
    Not(Box<Node>),
    Text(TextOp, Operand, Operand),
    In(Operand, Vec<Lit>),
    Matches(Operand, Regex),
    Exists(String),
    Split(Split),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Cmp {
    Eq,
    Ne,
    Gt,
    Gte,
    Lt,
    Lte,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TextOp {
    BeginsWith,
    EndsWith,
    Contains,
}

#[derive(Debug, Clone)]
pub(crate) enum Operand {
    Lit(Lit),
    Key(String),
    /// A nested expression, read as a boolean.
    Expr(Box<Node>),
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Lit {
    Str(String),
    Int(i64),
    Float(f64),
    Time(Timestamp),
    Bool(bool),
}

#[derive(Debug, Clone)]
pub(crate) struct Split {
    /// Matches when the value's bucket (0..1_000_000) is below this: `pct` × 10 000, rounded.
    pub(crate) threshold: u32,
    /// The context key hashed.
    pub(crate) by: String,
    /// The hash domain's seed when `seed::` is given (else the flag key's, at evaluation).
    pub(crate) seed: Option<u64>,
}

pub(crate) const OPERATORS: [&str; 16] = [
    "eq",
    "ne",
    "gt",
    "gte",
    "lt",
    "lte",
    "and",
    "or",
    "not",
    "begins_with",
    "ends_with",
    "contains",
    "in",
    "matches",
    "exists",
    "split",
];

/// One argument as written, before the operator gives it a meaning.
enum Item {
    Lit(Lit),
    Key(String),
    Expr(Node),
    List(Vec<Lit>),
}

struct Arg {
    name: Option<String>,
    item: Item,
    pos: Pos,
}

/// The rule's tree, and the first construct in it this evaluator cannot run (in its place the
/// tree holds `false`), if any; an error for what AppConfig refuses, wherever it is.
pub(crate) fn rule(text: &str) -> Result<(Node, Option<RuleError>), RuleError> {
    let mut lexer = Lexer::new(text);
    let first = lexer.next_token()?;
    let root = match first.tok {
        Tok::Open => expression(&mut lexer, first.pos, 1)?,
        Tok::End => return Err(first.pos.error("the rule is empty")),
        _ => {
            return Err(first
                .pos
                .error("a rule is one expression in parentheses, such as (eq $tier \"beta\")"))
        }
    };
    let rest = lexer.next_token()?;
    if rest.tok != Tok::End {
        return Err(rest.pos.error(
            "unexpected text after the rule's expression (combine expressions with `and` or `or`)",
        ));
    }
    Ok((root, lexer.unsupported))
}

/// After `(` at `open`, nested `depth` levels deep (the rule's own expression is level 1).
fn expression(lexer: &mut Lexer<'_>, open: Pos, depth: usize) -> Result<Node, RuleError> {
    let head = lexer.next_token()?;
    let op = match head.tok {
        Tok::Word(w) => match OPERATORS.iter().find(|o| **o == w) {
            Some(op) => *op,
            None => {
                let hint = crate::names::suggest(&w, OPERATORS)
                    .map(|s| format!("; did you mean `{s}`?"))
                    .unwrap_or_default();
                return Err(head.pos.error(format!(
                    "unknown operator (expected one of {}){hint}",
                    OPERATORS.join(", ")
                )));
            }
        },
        Tok::Close => return Err(open.error("empty expression `()`: an operator comes first")),
        Tok::End => return Err(open.error("unclosed `(`")),
        _ => return Err(head.pos.error("expected an operator after `(`")),
    };
    let mut args = Vec::new();
    loop {
        let t = lexer.next_token()?;
        match t.tok {
            Tok::Close => break,
            Tok::End => return Err(open.error("unclosed `(`")),
            Tok::Named(name) => {
                let value = lexer.next_token()?;
                if matches!(
                    value.tok,
                    Tok::Close | Tok::End | Tok::Comma | Tok::Named(_)
                ) {
                    return Err(t.pos.error(format!("`{name}::` has no value")));
                }
                let item = item(lexer, value, depth)?;
                args.push(Arg {
                    name: Some(name),
                    item,
                    pos: t.pos,
                });
            }
            _ => {
                let pos = t.pos;
                let item = item(lexer, t, depth)?;
                args.push(Arg {
                    name: None,
                    item,
                    pos,
                });
            }
        }
    }
    match build(op, head.pos, args) {
        Err(e) if e.kind() == RuleErrorKind::Unsupported => {
            lexer.unsupported.get_or_insert(e);
            Ok(Node::Const(false))
        }
        built => built,
    }
}

fn item(lexer: &mut Lexer<'_>, t: Token, depth: usize) -> Result<Item, RuleError> {
    Ok(match t.tok {
        Tok::Open | Tok::OpenList if depth >= MAX_DEPTH => {
            let error = t.pos.unsupported(format!(
                "nested more than {MAX_DEPTH} levels deep, which this evaluator does not run"
            ));
            lexer.unsupported.get_or_insert(error);
            let list = t.tok == Tok::OpenList;
            skip_nested(lexer, t.pos)?;
            if list {
                Item::List(Vec::new())
            } else {
                Item::Expr(Node::Const(false))
            }
        }
        Tok::Open => Item::Expr(expression(lexer, t.pos, depth + 1)?),
        Tok::OpenList => Item::List(list(lexer, t.pos)?),
        Tok::Str(s) => Item::Lit(Lit::Str(s)),
        Tok::Int(i) => Item::Lit(Lit::Int(i)),
        Tok::Float(f) => Item::Lit(Lit::Float(f)),
        Tok::Time(ts) => Item::Lit(Lit::Time(ts)),
        Tok::Bool(b) => Item::Lit(Lit::Bool(b)),
        Tok::Key(k) => Item::Key(k),
        Tok::Word(w) if OPERATORS.contains(&w.as_str()) => {
            return Err(t.pos.error(format!(
                "`{w}` is an operator: write it in its own parentheses, `({w} ...)`"
            )))
        }
        Tok::Word(_) => {
            return Err(t
                .pos
                .error("unexpected word; strings are written in double quotes"))
        }
        Tok::CloseList => return Err(t.pos.error("unexpected `]`")),
        Tok::Comma => {
            return Err(t
                .pos
                .error("unexpected `,` (commas only separate list items)"))
        }
        Tok::Close | Tok::End | Tok::Named(_) => return Err(t.pos.error("expected a value")),
    })
}

/// Past the tokens up to the bracket closing the one at `open`, however deep, without
/// recursion: the lexer still refuses what does not lex, and an unclosed bracket.
fn skip_nested(lexer: &mut Lexer<'_>, open: Pos) -> Result<(), RuleError> {
    let mut depth = 1usize;
    while depth > 0 {
        match lexer.next_token()?.tok {
            Tok::Open | Tok::OpenList => depth += 1,
            Tok::Close | Tok::CloseList => depth -= 1,
            Tok::End => return Err(open.error("unclosed `(`")),
            _ => {}
        }
    }
    Ok(())
}

/// After `[`: literals, separated by whitespace or single commas.
fn list(lexer: &mut Lexer<'_>, open: Pos) -> Result<Vec<Lit>, RuleError> {
    let mut items = Vec::new();
    let mut after_comma = false;
    loop {
        let t = lexer.next_token()?;
        let lit = match t.tok {
            Tok::CloseList if !after_comma => break,
            Tok::End => return Err(open.error("unclosed `[`")),
            Tok::Comma if !items.is_empty() && !after_comma => {
                after_comma = true;
                continue;
            }
            Tok::Str(s) => Lit::Str(s),
            Tok::Int(i) => Lit::Int(i),
            Tok::Float(f) => Lit::Float(f),
            Tok::Time(ts) => Lit::Time(ts),
            Tok::Bool(b) => Lit::Bool(b),
            Tok::Key(_) => {
                return Err(t
                    .pos
                    .error("a list holds constants (strings, numbers, timestamps, booleans), not context values"))
            }
            _ => return Err(t.pos.error("expected a list item (a string, number, timestamp or boolean)")),
        };
        after_comma = false;
        items.push(lit);
    }
    items.shrink_to_fit();
    Ok(items)
}

fn build(op: &'static str, at: Pos, args: Vec<Arg>) -> Result<Node, RuleError> {
    match op {
        "eq" | "ne" | "gt" | "gte" | "lt" | "lte" => {
            let [a, b] = positional::<2>(op, at, args)?;
            let cmp = match op {
                "eq" => Cmp::Eq,
                "ne" => Cmp::Ne,
                "gt" => Cmp::Gt,
                "gte" => Cmp::Gte,
                "lt" => Cmp::Lt,
                _ => Cmp::Lte,
            };
            let (a, b) = (operand(op, a)?, operand(op, b)?);
            if !matches!(cmp, Cmp::Eq | Cmp::Ne) {
                for (o, pos) in [&a, &b] {
                    if matches!(o, Operand::Lit(Lit::Bool(_)) | Operand::Expr(_)) {
                        return Err(pos.error(format!(
                            "`{op}` orders numbers, timestamps and strings; a boolean has no order"
                        )));
                    }
                }
            }
            Ok(Node::Compare(cmp, a.0, b.0))
        }
        "and" | "or" => {
            no_named(op, &args)?;
            if args.len() < 2 {
                return Err(at.error(format!(
                    "`{op}` takes two or more expressions, found {}",
                    args.len()
                )));
            }
            let mut nodes = args
                .into_iter()
                .map(|a| boolean(op, a))
                .collect::<Result<Vec<_>, _>>()?;
            nodes.shrink_to_fit();
            Ok(if op == "and" {
                Node::And(nodes)
            } else {
                Node::Or(nodes)
            })
        }
        "not" => {
            let [a] = positional::<1>(op, at, args)?;
            Ok(Node::Not(Box::new(boolean(op, a)?)))
        }
        "begins_with" | "ends_with" | "contains" => {
            let [a, b] = positional::<2>(op, at, args)?;
            let text = match op {
                "begins_with" => TextOp::BeginsWith,
                "ends_with" => TextOp::EndsWith,
                _ => TextOp::Contains,
            };
            Ok(Node::Text(text, string_like(op, a)?, string_like(op, b)?))
        }
        "in" => {
            let [a, b] = positional::<2>(op, at, args)?;
            let subject = match a.item {
                Item::Lit(l) => Operand::Lit(l),
                Item::Key(k) => Operand::Key(k),
                _ => {
                    return Err(a.pos.error(
                        "`in` tests a context value or a constant: (in $key [\"a\", \"b\"])",
                    ))
                }
            };
            match b.item {
                Item::List(items) => Ok(Node::In(subject, items)),
                _ => Err(b
                    .pos
                    .error("`in` takes a list as its second operand: (in $key [\"a\", \"b\"])")),
            }
        }
        "matches" => {
            let [subject, pattern] = named(op, args, ["in", "pattern"])?;
            let (Some(subject), Some(pattern)) = (subject, pattern) else {
                return Err(at.error(
                    "`matches` needs `in::` and `pattern::`: (matches in::$key pattern::\"^a.*z$\")",
                ));
            };
            let subject = string_like(op, subject)?;
            let Item::Lit(Lit::Str(re)) = pattern.item else {
                return Err(pattern.pos.error("`pattern::` takes a string"));
            };
            let regex = RegexBuilder::new(&re)
                .size_limit(MAX_REGEX_BYTES)
                .nest_limit(MAX_DEPTH as u32)
                .build()
                .map_err(|e| regex_error(pattern.pos, &re, &e))?;
            Ok(Node::Matches(subject, regex))
        }
        "exists" => {
            let [key] = named(op, args, ["key"])?;
            match key.map(|k| (k.item, k.pos)) {
                Some((Item::Lit(Lit::Str(k)), _)) if !k.is_empty() => Ok(Node::Exists(k)),
                Some((_, pos)) => Err(pos.error("`key::` takes a non-empty string")),
                None => Err(at.error("`exists` needs `key::`: (exists key::\"country\")")),
            }
        }
        "split" => {
            let [pct, by, seed] = named(op, args, ["pct", "by", "seed"])?;
            let Some(pct) = pct else {
                return Err(at.error("`split` needs `pct::` (0 to 100)"));
            };
            let percent = match pct.item {
                Item::Lit(Lit::Int(i)) => i as f64,
                Item::Lit(Lit::Float(f)) => f,
                _ => return Err(pct.pos.error("`pct::` takes a number from 0 to 100")),
            };
            if !(0.0..=100.0).contains(&percent) {
                return Err(pct.pos.error("`pct::` must be from 0 to 100"));
            }
            let by = match by.map(|b| (b.item, b.pos)) {
                Some((Item::Key(k), _)) => k,
                Some((_, pos)) => {
                    return Err(pos.error("`by::` takes a context value such as $userId"))
                }
                None => {
                    return Err(
                        at.error("`split` needs `by::`, the context value hashed (by::$userId)")
                    )
                }
            };
            let seed = match seed.map(|s| (s.item, s.pos)) {
                None => None,
                Some((Item::Lit(Lit::Str(s)), _)) => Some(super::eval::domain_seed(&s)),
                Some((Item::Lit(Lit::Int(i)), _)) => Some(super::eval::domain_seed(&i.to_string())),
                Some((_, pos)) => return Err(pos.error("`seed::` takes a string")),
            };
            Ok(Node::Split(Split {
                threshold: (percent * 10_000.0).round() as u32,
                by,
                seed,
            }))
        }
        _ => Err(at.error("unknown operator")),
    }
}

fn no_named(op: &str, args: &[Arg]) -> Result<(), RuleError> {
    match args.iter().find(|a| a.name.is_some()) {
        Some(a) => Err(a.pos.error(format!("`{op}` takes no named arguments"))),
        None => Ok(()),
    }
}

fn positional<const N: usize>(op: &str, at: Pos, args: Vec<Arg>) -> Result<[Arg; N], RuleError> {
    no_named(op, &args)?;
    let found = args.len();
    <[Arg; N]>::try_from(args).map_err(|_| {
        let what = if N == 1 { "operand" } else { "operands" };
        at.error(format!("`{op}` takes {N} {what}, found {found}"))
    })
}

/// Named arguments `names` in any order, each at most once; no positional ones.
fn named<const N: usize>(
    op: &str,
    args: Vec<Arg>,
    names: [&str; N],
) -> Result<[Option<Arg>; N], RuleError> {
    let mut out: [Option<Arg>; N] = std::array::from_fn(|_| None);
    let allowed = names.map(|n| format!("{n}::")).join(", ");
    for arg in args {
        let Some(name) = arg.name.as_deref() else {
            return Err(arg
                .pos
                .error(format!("`{op}` takes named arguments only ({allowed})")));
        };
        let Some(i) = names.iter().position(|n| *n == name) else {
            return Err(arg.pos.error(format!(
                "`{op}` takes {allowed}; this named argument is unknown"
            )));
        };
        if out[i].is_some() {
            return Err(arg.pos.error(format!("`{name}::` is given twice")));
        }
        out[i] = Some(arg);
    }
    Ok(out)
}

/// A comparison operand: a constant, a context value or a nested expression (a boolean).
fn operand(op: &str, arg: Arg) -> Result<(Operand, Pos), RuleError> {
    let o = match arg.item {
        Item::Lit(l) => Operand::Lit(l),
        Item::Key(k) => Operand::Key(k),
        Item::Expr(e) => Operand::Expr(Box::new(e)),
        Item::List(_) => {
            return Err(arg
                .pos
                .error(format!("`{op}` does not take a list (lists are for `in`)")))
        }
    };
    Ok((o, arg.pos))
}

/// An operand of `and`, `or`, `not`: an expression or `true`/`false`.
fn boolean(op: &str, arg: Arg) -> Result<Node, RuleError> {
    match arg.item {
        Item::Expr(e) => Ok(e),
        Item::Lit(Lit::Bool(b)) => Ok(Node::Const(b)),
        Item::Key(_) => Err(arg.pos.error(format!(
            "`{op}` combines expressions; compare a context value first, such as (eq $key true)"
        ))),
        _ => Err(arg
            .pos
            .error(format!("`{op}` combines expressions (or true/false)"))),
    }
}

/// An operand of the string operators: a string or a context value.
fn string_like(op: &str, arg: Arg) -> Result<Operand, RuleError> {
    match arg.item {
        Item::Lit(Lit::Str(s)) => Ok(Operand::Lit(Lit::Str(s))),
        Item::Key(k) => Ok(Operand::Key(k)),
        _ => Err(arg
            .pos
            .error(format!("`{op}` takes strings and context values"))),
    }
}

/// Syntax of the dialects AWS may run (it names none; Java's, PCRE's, .NET's and JavaScript's
/// have these) that regex-lite refuses, with what it is called.
const OTHER_DIALECTS: [(&str, &str); 15] = [
    ("(?>", "atomic groups"),
    ("*+", "possessive quantifiers"),
    ("++", "possessive quantifiers"),
    ("?+", "possessive quantifiers"),
    ("}+", "possessive quantifiers"),
    ("(?(", "conditionals"),
    ("(?|", "branch reset groups"),
    ("(?#", "inline comments"),
    ("\\Q", "quoting with `\\Q..\\E`"),
    ("\\Z", "`\\Z`"),
    ("\\G", "`\\G`"),
    ("\\h", "`\\h`"),
    ("\\R", "`\\R`"),
    ("\\K", "`\\K`"),
    ("\\k", "named backreferences"),
];

/// A pattern regex-lite refuses: unsupported when the pattern may be valid elsewhere (a feature
/// regex-lite lacks: look-around, backreferences, Unicode classes, another dialect's syntax; or
/// one of its limits), invalid otherwise. regex-lite's messages name the feature, never the
/// pattern's text; so do these.
fn regex_error(at: Pos, pattern: &str, e: &regex_lite::Error) -> RuleError {
    let message = e.to_string();
    let beyond = [
        "not supported",
        "unsupported",
        "too much nesting",
        "too many",
        "exhausted",
        "limit",
    ];
    if beyond.iter().any(|b| message.contains(b)) {
        return at.unsupported(format!(
            "a regular expression this evaluator (regex-lite) does not run: {message}"
        ));
    }
    if let Some((_, feature)) = OTHER_DIALECTS.iter().find(|(s, _)| pattern.contains(s)) {
        return at.unsupported(format!(
            "a regular expression this evaluator (regex-lite) does not run: {feature} (another \
             dialect's syntax)"
        ));
    }
    at.error(format!("invalid regular expression: {message}"))
}
