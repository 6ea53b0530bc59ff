//! Tokens of the rule language, read one at a time (no token list is built).

use std::iter::Peekable;
use std::str::Chars;

use super::scalar::{is_float_syntax, is_int_syntax, parse_timestamp, Timestamp};
use super::{RuleError, RuleErrorKind};

/// A 1-based line and column (in characters) of the rule text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Pos {
    pub(crate) line: usize,
    pub(crate) column: usize,
}

impl Pos {
    /// A rule AppConfig refuses.
    pub(crate) fn error(self, message: impl Into<String>) -> RuleError {
        RuleError {
            line: self.line,
            column: self.column,
            message: message.into(),
            kind: RuleErrorKind::Invalid,
        }
    }

    /// A rule AppConfig may accept that this evaluator cannot run.
    pub(crate) fn unsupported(self, message: impl Into<String>) -> RuleError {
        RuleError {
            kind: RuleErrorKind::Unsupported,
            ..self.error(message)
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Tok {
    Open,
    Close,
    OpenList,
    CloseList,
    Comma,
    Str(String),
    Int(i64),
    Float(f64),
    Time(Timestamp),
    Bool(bool),
    /// `$name`
    Key(String),
    /// A bare identifier: an operator name where one is expected.
    Word(String),
    /// `name::`; the value is the next token.
    Named(String),
    End,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Token {
    pub(crate) tok: Tok,
    pub(crate) pos: Pos,
}

pub(crate) struct Lexer<'a> {
    chars: Peekable<Chars<'a>>,
    line: usize,
    column: usize,
    /// The value glued to a `name::` (as in `pct::20`), handed out next.
    pending: Option<Token>,
    /// The first construct met that this evaluator cannot run ([`Pos::unsupported`]): the
    /// parse goes on past it, so that whatever else AppConfig would refuse is still found.
    pub(crate) unsupported: Option<RuleError>,
}

impl<'a> Lexer<'a> {
    pub(crate) fn new(text: &'a str) -> Self {
        Lexer {
            chars: text.chars().peekable(),
            line: 1,
            column: 1,
            pending: None,
            unsupported: None,
        }
    }

    fn pos(&self) -> Pos {
        Pos {
            line: self.line,
            column: self.column,
        }
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.chars.next()?;
        match c {
            '\n' => {
                self.line += 1;
                self.column = 1;
            }
            // `\r\n` is one line break, counted at the `\n`.
            '\r' if self.chars.peek() == Some(&'\n') => {}
            '\r' => {
                self.line += 1;
                self.column = 1;
            }
            _ => self.column += 1,
        }
        Some(c)
    }

    pub(crate) fn next_token(&mut self) -> Result<Token, RuleError> {
        if let Some(t) = self.pending.take() {
            return Ok(t);
        }
        while self.chars.peek().is_some_and(|c| c.is_whitespace()) {
            self.bump();
        }
        let pos = self.pos();
        let Some(&c) = self.chars.peek() else {
            return Ok(Token { tok: Tok::End, pos });
        };
        let simple = match c {
            '(' => Some(Tok::Open),
            ')' => Some(Tok::Close),
            '[' => Some(Tok::OpenList),
            ']' => Some(Tok::CloseList),
            ',' => Some(Tok::Comma),
            _ => None,
        };
        if let Some(tok) = simple {
            self.bump();
            return Ok(Token { tok, pos });
        }
        if c == '"' {
            return self.string(pos);
        }
        let mut word = String::new();
        while let Some(&c) = self.chars.peek() {
            if c.is_whitespace() || matches!(c, '(' | ')' | '[' | ']' | '"' | ',') {
                break;
            }
            word.push(c);
            self.bump();
        }
        self.word(&word, pos)
    }

    /// `"..."`: `\"` is a quote and `\\` a backslash; any other backslash is kept as written, so
    /// a regular expression such as `"\d+"` needs no doubling.
    fn string(&mut self, pos: Pos) -> Result<Token, RuleError> {
        self.bump();
        let mut out = String::new();
        loop {
            match self.bump() {
                None => return Err(pos.error("unterminated string (no closing `\"`)")),
                Some('"') => {
                    return Ok(Token {
                        tok: Tok::Str(out),
                        pos,
                    })
                }
                Some('\\') => match self.chars.peek() {
                    Some(&q @ ('"' | '\\')) => {
                        out.push(q);
                        self.bump();
                    }
                    _ => out.push('\\'),
                },
                Some(c) => out.push(c),
            }
        }
    }

    fn word(&mut self, word: &str, pos: Pos) -> Result<Token, RuleError> {
        let Some(at) = word.find("::") else {
            return Ok(Token {
                tok: plain(word, pos)?,
                pos,
            });
        };
        let (name, value) = (&word[..at], &word[at + 2..]);
        if name.is_empty() || !name.bytes().all(|b| b.is_ascii_lowercase() || b == b'_') {
            return Err(pos.error(
                "a named argument is written `name::value`, with a lower-case name such as `pct`",
            ));
        }
        if !value.is_empty() {
            let value_pos = Pos {
                line: pos.line,
                column: pos.column + name.chars().count() + 2,
            };
            self.pending = Some(Token {
                tok: plain(value, value_pos)?,
                pos: value_pos,
            });
        }
        Ok(Token {
            tok: Tok::Named(name.to_owned()),
            pos,
        })
    }
}

/// A word without `::`: a literal, a `$key` or an identifier. Messages never repeat the word:
/// it may be a value someone forgot to quote.
fn plain(word: &str, pos: Pos) -> Result<Tok, RuleError> {
    if word.contains("::") {
        return Err(pos.error("a named argument's value cannot itself be named"));
    }
    match word {
        "true" => return Ok(Tok::Bool(true)),
        "false" => return Ok(Tok::Bool(false)),
        _ => {}
    }
    if let Some(key) = word.strip_prefix('$') {
        if key.is_empty()
            || !key
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
        {
            return Err(
                pos.error("a context key is `$` followed by letters, digits, `_`, `-` or `.`")
            );
        }
        return Ok(Tok::Key(key.to_owned()));
    }
    let b = word.as_bytes();
    let numeric = b.first().is_some_and(u8::is_ascii_digit)
        || (b.first() == Some(&b'-') && b.get(1).is_some_and(u8::is_ascii_digit));
    if numeric {
        if is_int_syntax(word) {
            return word
                .parse::<i64>()
                .map(Tok::Int)
                .map_err(|_| pos.error("the integer does not fit in 64 bits"));
        }
        if is_float_syntax(word) {
            return match word.parse::<f64>() {
                Ok(f) if f.is_finite() => Ok(Tok::Float(f)),
                _ => Err(pos.error("the number is out of range for a 64-bit float")),
            };
        }
        if b.len() > 4 && b[..4].iter().all(u8::is_ascii_digit) && b[4] == b'-' {
            return parse_timestamp(word, false).map(Tok::Time).ok_or_else(|| {
                pos.error(
                    "invalid timestamp (W3C date/time such as 2024-01, 2024-01-31, \
                     2024-01-31T10:00Z or 2012-03-04T05:06:07-08:00)",
                )
            });
        }
        return Err(pos.error("not a number or a timestamp"));
    }
    if b.first().is_some_and(u8::is_ascii_alphabetic)
        && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'_')
    {
        return Ok(Tok::Word(word.to_owned()));
    }
    Err(pos.error("unexpected text; strings are written in double quotes"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens(text: &str) -> Vec<(Tok, usize, usize)> {
        let mut lexer = Lexer::new(text);
        let mut out = Vec::new();
        loop {
            let t = lexer.next_token().unwrap();
            if t.tok == Tok::End {
                return out;
            }
            out.push((t.tok, t.pos.line, t.pos.column));
        }
    }

    #[test]
    fn tokens_and_positions() {
        assert_eq!(
            tokens("(split pct::20\n  by::$id seed::\"s\")"),
            vec![
                (Tok::Open, 1, 1),
                (Tok::Word("split".into()), 1, 2),
                (Tok::Named("pct".into()), 1, 8),
                (Tok::Int(20), 1, 13),
                (Tok::Named("by".into()), 2, 3),
                (Tok::Key("id".into()), 2, 7),
                (Tok::Named("seed".into()), 2, 11),
                (Tok::Str("s".into()), 2, 17),
                (Tok::Close, 2, 20),
            ]
        );
        assert_eq!(
            tokens("[\"a\\\"b\\\\\", \"\\d\"]"),
            vec![
                (Tok::OpenList, 1, 1),
                (Tok::Str("a\"b\\".into()), 1, 2),
                (Tok::Comma, 1, 10),
                (Tok::Str("\\d".into()), 1, 12),
                (Tok::CloseList, 1, 16),
            ]
        );
        assert_eq!(tokens("\r\n\r\nx"), vec![(Tok::Word("x".into()), 3, 1)]);
        assert_eq!(tokens("-7 1.5 true")[0].0, Tok::Int(-7));
        assert!(matches!(tokens("2024-01")[0].0, Tok::Time(_)));
        assert_eq!(tokens("2024")[0].0, Tok::Int(2024));
    }

    #[test]
    fn lexical_errors_have_positions() {
        let err = |text: &str| Lexer::new(text).next_token().unwrap_err();
        assert_eq!(err("\"abc").column, 1);
        assert!(err("99999999999999999999").message.contains("64 bits"));
        assert!(err("1e999").message.contains("out of range"));
        assert!(err("2024-02-30").message.contains("invalid timestamp"));
        assert!(err("$").message.contains("context key"));
        assert!(err("a@b").message.contains("double quotes"));
        assert!(err("Pct::1").message.contains("named argument"));
    }
}
