//! The targeting rules of multi-variant flags: parsed once into a typed tree, then evaluated
//! against a request [`RuleContext`].
//!
//! A rule is one s-expression, `(operator operand ...)`, possibly over several lines:
//!
//! | operator | form |
//! |---|---|
//! | `eq ne gt gte lt lte` | `(gt $age 65)`, `(ne $tier "beta")`, `(lt $signup 2024-01)` |
//! | `and or` (two or more) `not` (one) | `(and (eq $state "Virginia") (gt $age 65))` |
//! | `begins_with ends_with contains` | `(ends_with $email "amazon.com")` |
//! | `in` | `(in $userId ["123", "456"])` |
//! | `matches` | `(matches in::$greeting pattern::"h.*y")` |
//! | `exists` | `(exists key::"country")` |
//! | `split` | `(split pct::10 by::$userId seed::"abc")` |
//!
//! Operands: strings `"..."`, 64-bit integers, floats (`1.234e-5`), W3C timestamps
//! (`2012-03-04T05:06:07-08:00`, `2024-01`), `true`/`false`, context values `$key`, and nested
//! expressions.
//!
//! Evaluation is three-valued: a comparison reading a missing key, or a value that does not
//! read as the type the operator needs, is *unknown*; `not` keeps it unknown, `and`/`or` follow
//! three-valued logic, and a rule that ends unknown does not match. What AWS leaves
//! undocumented (missing keys, typing of context strings, the regular-expression dialect, the
//! `split` hash, ...) is decided in the project's `docs/targeting-decisions.md`.
//!
//! ```
//! use flag_schema::{rule::Rule, RuleContext};
//!
//! let rule = Rule::parse(r#"(and (ends_with $email "@example.org") (gte $age 18))"#).unwrap();
//! let mut context = RuleContext::new();
//! context.insert("email", "jane@example.org");
//! context.insert("age", "42");
//! assert!(rule.matches("newCheckout", &context));
//! assert_eq!(rule.keys().collect::<Vec<_>>(), ["age", "email"]);
//!
//! // Nothing known about `country`: the negation does not match either.
//! let outside = Rule::parse(r#"(not (in $country ["CN", "RU"]))"#).unwrap();
//! assert!(!outside.matches("newCheckout", &RuleContext::new()));
//! context.insert("country", "US");
//! assert!(outside.matches("newCheckout", &context));
//!
//! let err = Rule::parse("(eq $tier)").unwrap_err();
//! assert_eq!((err.line(), err.column()), (1, 2));
//! assert_eq!(err.to_string(), "line 1, column 2: `eq` takes 2 operands, found 1");
//! ```

mod eval;
pub(crate) use eval::{bucket, BUCKETS};
mod lex;
mod parse;
mod scalar;

use std::fmt;

use crate::context::RuleContext;

/// AppConfig's maximum length of a rule, in characters (the type reference's JSON Schema).
pub const MAX_RULE_CHARS: usize = 16_384;

/// How deeply expressions and lists may nest; a deeper rule is unsupported here: an error of
/// [`Rule::parse`], a rule that never matches from [`Rule::parse_lenient`].
pub const MAX_DEPTH: usize = 64;

/// A parsed targeting rule. Parsing settles every operand's type and every operator's arity, so
/// [`Rule::matches`] cannot fail: it answers `true` or `false` for any context.
#[derive(Debug, Clone)]
pub struct Rule {
    text: String,
    root: parse::Node,
    keys: Vec<String>,
    unsupported: Option<RuleError>,
}

impl Rule {
    /// Parses `text`, which may span several lines.
    ///
    /// ```
    /// use flag_schema::rule::Rule;
    ///
    /// assert!(Rule::parse("(or\n  (eq $country \"DE\")\n  (exists key::\"beta\"))").is_ok());
    /// let err = Rule::parse("(or\n  (eq $country \"DE\")\n  (exist key::\"beta\"))").unwrap_err();
    /// assert_eq!((err.line(), err.column()), (3, 4));
    /// assert!(err.message().contains("did you mean `exists`?"));
    /// ```
    pub fn parse(text: &str) -> Result<Rule, RuleError> {
        match Rule::parse_lenient(text)? {
            Rule {
                unsupported: Some(e),
                ..
            } => Err(e),
            rule => Ok(rule),
        }
    }

    /// [`parse`](Self::parse), except that a rule AppConfig may accept but this evaluator
    /// cannot run ([`RuleErrorKind::Unsupported`]) becomes a rule that never matches, which
    /// says why through [`unsupported`](Self::unsupported): one such rule must not take down
    /// a whole document. A rule AppConfig refuses is still an error.
    ///
    /// ```
    /// use flag_schema::{rule::Rule, RuleContext};
    ///
    /// let rule = Rule::parse_lenient(r#"(matches in::$name pattern::"^(?!admin)")"#).unwrap();
    /// assert!(rule.unsupported().unwrap().message().contains("look-around"));
    /// assert!(!rule.matches("newCheckout", &RuleContext::from_headers(["name=jane"]).unwrap()));
    /// assert!(Rule::parse_lenient("(eq $tier)").is_err());
    /// ```
    pub fn parse_lenient(text: &str) -> Result<Rule, RuleError> {
        let chars = text.chars().count();
        if chars > MAX_RULE_CHARS {
            return Err(RuleError {
                line: 1,
                column: 1,
                message: format!(
                    "the rule has {chars} characters; AppConfig allows at most {MAX_RULE_CHARS}"
                ),
                kind: RuleErrorKind::Invalid,
            });
        }
        let (root, unsupported) = parse::rule(text)?;
        let root = match unsupported {
            Some(_) => parse::Node::Const(false),
            None => root,
        };
        let mut keys = Vec::new();
        collect_keys(&root, &mut keys);
        keys.sort_unstable();
        keys.dedup();
        Ok(Rule {
            text: text.to_owned(),
            root,
            keys,
            unsupported,
        })
    }

    /// Why this rule never matches, if it is one this evaluator cannot run
    /// ([`parse_lenient`](Self::parse_lenient)).
    pub fn unsupported(&self) -> Option<&RuleError> {
        self.unsupported.as_ref()
    }

    /// Whether the rule holds for `context`. `flag_key` is the hash domain of a `split` written
    /// without `seed::`.
    ///
    /// ```
    /// use flag_schema::{rule::Rule, RuleContext};
    ///
    /// let rule = Rule::parse(r#"(in $plan ["pro", "team"])"#).unwrap();
    /// let context = RuleContext::from_headers(["plan=team, region=eu"]).unwrap();
    /// assert!(rule.matches("newCheckout", &context));
    /// assert!(!rule.matches("newCheckout", &flag_schema::RuleContext::new()));
    /// ```
    pub fn matches(&self, flag_key: &str, context: &RuleContext) -> bool {
        eval::eval(&self.root, flag_key, context) == Some(true)
    }

    /// The context keys the rule reads (`$key` operands and `exists key::`), sorted, each once.
    ///
    /// ```
    /// use flag_schema::rule::Rule;
    ///
    /// let rule = Rule::parse(r#"(or (exists key::"beta") (split pct::5 by::$userId))"#).unwrap();
    /// assert_eq!(rule.keys().collect::<Vec<_>>(), ["beta", "userId"]);
    /// ```
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.keys.iter().map(String::as_str)
    }

    /// Each context key the rule reads, with the type its comparisons read it as: a key
    /// compared with a constant takes the constant's type; a key tested as text
    /// (`begins_with`, `ends_with`, `contains`, `matches`) is text; a key read with no type
    /// (`exists`, `split`, compared with another key) or with two types is [`KeyKind::Any`].
    ///
    /// ```
    /// use flag_schema::rule::{KeyKind, Rule};
    ///
    /// let rule = Rule::parse(r#"(and (gte $age 18) (in $tier ["gold" "silver"]) (exists key::"beta"))"#).unwrap();
    /// assert_eq!(
    ///     rule.key_kinds().into_iter().collect::<Vec<_>>(),
    ///     [("age", KeyKind::Number), ("beta", KeyKind::Any), ("tier", KeyKind::Text)]
    /// );
    /// ```
    pub fn key_kinds(&self) -> std::collections::BTreeMap<&str, KeyKind> {
        use parse::{Lit, Node, Operand};
        fn lit(l: &Lit) -> KeyKind {
            match l {
                Lit::Str(_) => KeyKind::Text,
                Lit::Int(_) | Lit::Float(_) => KeyKind::Number,
                Lit::Time(_) => KeyKind::Timestamp,
                Lit::Bool(_) => KeyKind::Boolean,
            }
        }
        fn walk<'a>(node: &'a Node, out: &mut std::collections::BTreeMap<&'a str, KeyKind>) {
            let mut add = |key: &'a str, kind: KeyKind| {
                out.entry(key)
                    .and_modify(|k| *k = k.merge(kind))
                    .or_insert(kind);
            };
            let kind_of = |o: &Operand| match o {
                Operand::Lit(l) => lit(l),
                Operand::Expr(_) => KeyKind::Boolean,
                Operand::Key(_) => KeyKind::Any,
            };
            match node {
                Node::Const(_) => {}
                Node::Compare(_, a, b) => {
                    if let Operand::Key(k) = a {
                        add(k, kind_of(b));
                    }
                    if let Operand::Key(k) = b {
                        add(k, kind_of(a));
                    }
                    for o in [a, b] {
                        if let Operand::Expr(e) = o {
                            walk(e, out);
                        }
                    }
                }
                Node::Text(_, a, b) => {
                    for o in [a, b] {
                        if let Operand::Key(k) = o {
                            add(k, KeyKind::Text);
                        }
                    }
                }
                Node::In(a, items) => {
                    if let Operand::Key(k) = a {
                        let kind = items
                            .iter()
                            .map(lit)
                            .reduce(KeyKind::merge)
                            .unwrap_or(KeyKind::Any);
                        add(k, kind);
                    }
                }
                Node::Matches(a, _) => {
                    if let Operand::Key(k) = a {
                        add(k, KeyKind::Text);
                    }
                }
                Node::And(nodes) | Node::Or(nodes) => {
                    for n in nodes {
                        walk(n, out);
                    }
                }
                Node::Not(n) => walk(n, out),
                Node::Exists(k) => add(k, KeyKind::Any),
                Node::Split(s) => add(&s.by, KeyKind::Any),
            }
        }
        let mut out = std::collections::BTreeMap::new();
        walk(&self.root, &mut out);
        out
    }

    /// Whether the rule uses `ne`, which AWS lists for audience rules but not for variant rules.
    pub(crate) fn uses_ne(&self) -> bool {
        fn walk(node: &parse::Node) -> bool {
            use parse::{Node, Operand};
            let operand = |o: &Operand| matches!(o, Operand::Expr(e) if walk(e));
            match node {
                Node::Compare(cmp, a, b) => *cmp == parse::Cmp::Ne || operand(a) || operand(b),
                Node::Text(_, a, b) => operand(a) || operand(b),
                Node::And(nodes) | Node::Or(nodes) => nodes.iter().any(walk),
                Node::Not(n) => walk(n),
                Node::In(a, _) | Node::Matches(a, _) => operand(a),
                Node::Const(_) | Node::Exists(_) | Node::Split(_) => false,
            }
        }
        walk(&self.root)
    }

    /// The rule's text, as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

/// Two rules are equal when their texts are.
impl PartialEq for Rule {
    fn eq(&self, other: &Self) -> bool {
        self.text == other.text
    }
}

impl Eq for Rule {}

fn collect_keys(node: &parse::Node, out: &mut Vec<String>) {
    use parse::{Node, Operand};
    let operand = |o: &Operand, out: &mut Vec<String>| match o {
        Operand::Key(k) => out.push(k.clone()),
        Operand::Expr(e) => collect_keys(e, out),
        Operand::Lit(_) => {}
    };
    match node {
        Node::Const(_) => {}
        Node::Compare(_, a, b) | Node::Text(_, a, b) => {
            operand(a, out);
            operand(b, out);
        }
        Node::And(nodes) | Node::Or(nodes) => nodes.iter().for_each(|n| collect_keys(n, out)),
        Node::Not(n) => collect_keys(n, out),
        Node::In(a, _) | Node::Matches(a, _) => operand(a, out),
        Node::Exists(k) => out.push(k.clone()),
        Node::Split(s) => out.push(s.by.clone()),
    }
}

/// Why a rule does not parse: where (1-based line and column, in characters, within the rule
/// text) and what. The message names operators, arguments and positions, never a constant
/// written in the rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleError {
    line: usize,
    column: usize,
    message: String,
    kind: RuleErrorKind,
}

/// How the rules read a context key: the type of the constants it is compared with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum KeyKind {
    /// Compared with strings, or tested as text.
    Text,
    /// Compared with numbers.
    Number,
    /// Compared with `true`/`false` or a nested expression.
    Boolean,
    /// Compared with W3C timestamps.
    Timestamp,
    /// Read with no type (`exists`, `split`, against another key) or with several.
    Any,
}

impl KeyKind {
    /// The kind of a key read both ways: the same, else [`KeyKind::Any`].
    pub fn merge(self, other: KeyKind) -> KeyKind {
        if self == other {
            self
        } else {
            KeyKind::Any
        }
    }
}

/// Whether AppConfig refuses a rule, or may accept what this evaluator cannot run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RuleErrorKind {
    /// Not a rule in AppConfig's language (syntax, unknown operator, wrong operands).
    Invalid,
    /// Possibly valid for AppConfig, beyond this evaluator: a regular expression with
    /// look-around, backreferences or Unicode classes (regex-lite's dialect), or nesting deeper
    /// than [`MAX_DEPTH`]. [`Rule::parse_lenient`] makes such a rule never match.
    Unsupported,
}

impl RuleError {
    /// Whether AppConfig refuses the rule or this evaluator cannot run it.
    pub fn kind(&self) -> RuleErrorKind {
        self.kind
    }

    /// 1-based line within the rule.
    pub fn line(&self) -> usize {
        self.line
    }

    /// 1-based column within the line, in characters.
    pub fn column(&self) -> usize {
        self.column
    }

    /// What is wrong there.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for RuleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "line {}, column {}: {}",
            self.line, self.column, self.message
        )
    }
}

impl std::error::Error for RuleError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_buckets_are_uniform_and_fixed() {
        // Pinned: a change of hash or formula moves every user to another bucket.
        let domain = eval::domain_seed("abc");
        assert_eq!(
            [eval::bucket(domain, "user-1"), eval::bucket(domain, "")],
            [985_790, 35_625]
        );
        // The formula of docs/targeting-decisions.md, spelled out.
        let h = xxhash_rust::xxh3::xxh3_64_with_seed(
            b"user-1",
            xxhash_rust::xxh3::xxh3_64(b"seed:abc"),
        );
        assert_eq!(
            (h as f64 / 2f64.powi(64) * 1_000_000.0).floor() as u32,
            985_790
        );
        let mut counts = [0u32; 10];
        for i in 0..100_000 {
            counts[(eval::bucket(domain, &format!("user-{i}")) / 100_000) as usize] += 1;
        }
        for c in counts {
            assert!((9_500..=10_500).contains(&c), "{counts:?}");
        }
    }
}
