//! One line per answer: a function's answer shown generically (compact JSON, truncated) or
//! through a summary template, with the time it took.

use std::fmt;
use std::time::Duration;

use serde_json::Value;

use crate::runtime_api::Outcome;

/// A summary template: text with `{path}` placeholders, each replaced by the value at that path
/// of the answer (`/`-separated, as a JSON pointer without its leading `/`: `{discount/percentage}`,
/// `{items/0/sku}`). A string is shown as is, anything else as compact JSON, a missing value as
/// `-`. `{{` and `}}` are literal braces.
///
/// ```
/// use flag_local::Summary;
/// let summary: Summary = "{checkout} checkout, total {totalCents}".parse().unwrap();
/// let answer = serde_json::json!({"checkout": "new", "totalCents": 2805});
/// assert_eq!(summary.render(&answer), "new checkout, total 2805");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    parts: Vec<Part>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Text(String),
    /// A JSON pointer (with its leading `/`).
    Value(String),
}

/// Why a summary template is refused: where, and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SummaryError {
    /// Byte offset in the template.
    pub at: usize,
    /// What is wrong there.
    pub reason: &'static str,
}

impl fmt::Display for SummaryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (at byte {})", self.reason, self.at)
    }
}

impl std::error::Error for SummaryError {}

impl std::str::FromStr for Summary {
    type Err = SummaryError;

    fn from_str(template: &str) -> Result<Self, SummaryError> {
        let mut parts = Vec::new();
        let mut text = String::new();
        let mut chars = template.char_indices().peekable();
        while let Some((at, c)) = chars.next() {
            match c {
                '{' if chars.peek().is_some_and(|(_, next)| *next == '{') => {
                    chars.next();
                    text.push('{');
                }
                '}' if chars.peek().is_some_and(|(_, next)| *next == '}') => {
                    chars.next();
                    text.push('}');
                }
                '}' => {
                    return Err(SummaryError {
                        at,
                        reason: "`}` without `{` (write `}}` for a brace)",
                    })
                }
                '{' => {
                    let mut path = String::new();
                    let mut closed = false;
                    for (_, c) in chars.by_ref() {
                        match c {
                            '}' => {
                                closed = true;
                                break;
                            }
                            '{' => {
                                return Err(SummaryError {
                                    at,
                                    reason: "`{` inside a placeholder",
                                })
                            }
                            c => path.push(c),
                        }
                    }
                    if !closed {
                        return Err(SummaryError {
                            at,
                            reason: "`{` is not closed (write `{{` for a brace)",
                        });
                    }
                    let path = path.trim().trim_start_matches('/');
                    if path.is_empty() {
                        return Err(SummaryError {
                            at,
                            reason: "empty placeholder `{}`",
                        });
                    }
                    if !text.is_empty() {
                        parts.push(Part::Text(std::mem::take(&mut text)));
                    }
                    parts.push(Part::Value(format!("/{path}")));
                }
                c => text.push(c),
            }
        }
        if !text.is_empty() {
            parts.push(Part::Text(text));
        }
        Ok(Summary { parts })
    }
}

impl Summary {
    /// The template filled in from `answer`.
    pub fn render(&self, answer: &Value) -> String {
        let mut line = String::new();
        for part in &self.parts {
            match part {
                Part::Text(text) => line.push_str(text),
                Part::Value(pointer) => match answer.pointer(pointer) {
                    None | Some(Value::Null) => line.push('-'),
                    Some(Value::String(s)) => line.push_str(s),
                    Some(other) => line.push_str(&other.to_string()),
                },
            }
        }
        line
    }
}

/// How [`describe`] shows an answer.
#[derive(Debug, Clone)]
pub struct AnswerFormat {
    /// A template for answers that are JSON objects; others are shown as compact JSON.
    pub summary: Option<Summary>,
    /// The most characters of compact JSON (or of an error message) shown; longer is cut with `…`.
    pub width: usize,
}

impl Default for AnswerFormat {
    fn default() -> Self {
        AnswerFormat {
            summary: None,
            width: 120,
        }
    }
}

/// One line for an invocation's outcome, ending with the time it took: `{"ok":true}  [1.3 ms]`,
/// `error (EmptyCart): the cart is empty  [0.6 ms]`. Line breaks (in an error message, a string
/// a summary shows) become spaces.
pub fn describe(outcome: &Outcome, took: Duration, format: &AnswerFormat) -> String {
    let ms = took.as_secs_f64() * 1000.0;
    let text = match outcome {
        Outcome::Error {
            error_type,
            message,
        } => format!(
            "error ({}): {}",
            truncate(error_type, format.width),
            truncate(message, format.width)
        ),
        Outcome::Response(answer) => match (&format.summary, answer) {
            (Some(summary), Value::Object(_)) => summary.render(answer),
            _ => truncate(&answer.to_string(), format.width),
        },
    };
    let text = text.replace("\r\n", " ").replace(['\n', '\r'], " ");
    format!("{text}  [{ms:.1} ms]")
}

/// `text` cut to at most `width` characters, `…` marking a cut.
fn truncate(text: &str, width: usize) -> String {
    match text.char_indices().nth(width) {
        None => text.to_owned(),
        Some(_) => {
            let keep = width.saturating_sub(1);
            let end = text.char_indices().nth(keep).map_or(text.len(), |(i, _)| i);
            format!("{}…", &text[..end])
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn placeholders_are_json_pointers_and_braces_escape() {
        let summary: Summary = "{a} {b/c} {{x}} {/d/0} {missing} {n}".parse().unwrap();
        let answer = json!({"a": "text", "b": {"c": [1, 2]}, "d": [true], "n": null});
        assert_eq!(summary.render(&answer), "text [1,2] {x} true - -");
    }

    #[test]
    fn bad_templates_say_where() {
        for (template, at, reason) in [
            ("total {totalCents", 6, "not closed"),
            ("a } b", 2, "without `{`"),
            ("{}", 0, "empty placeholder"),
            ("{a{b}}", 0, "inside a placeholder"),
        ] {
            let err = template.parse::<Summary>().unwrap_err();
            assert_eq!(err.at, at, "{template}: {err}");
            assert!(err.reason.contains(reason), "{template}: {err}");
        }
    }

    #[test]
    fn answers_are_compact_json_cut_to_the_width_with_the_time() {
        let format = AnswerFormat {
            summary: None,
            width: 12,
        };
        let took = Duration::from_micros(1250);
        let short = Outcome::Response(json!({"ok": true}));
        assert_eq!(describe(&short, took, &format), r#"{"ok":true}  [1.2 ms]"#);
        let long = Outcome::Response(json!({"message": "héllo wörld, a long answer"}));
        assert_eq!(describe(&long, took, &format), "{\"message\":…  [1.2 ms]");
        let error = Outcome::Error {
            error_type: "EmptyCart".into(),
            message: "the cart is empty".into(),
        };
        assert_eq!(
            describe(&error, took, &format),
            "error (EmptyCart): the cart is…  [1.2 ms]"
        );
    }

    #[test]
    fn line_breaks_become_spaces() {
        let format = AnswerFormat {
            summary: Some("{a} and {b}".parse().unwrap()),
            width: 120,
        };
        let took = Duration::from_millis(1);
        let error = Outcome::Error {
            error_type: "Multi\nLine".into(),
            message: "first\r\nsecond\nthird\r".into(),
        };
        assert_eq!(
            describe(&error, took, &format),
            "error (Multi Line): first second third   [1.0 ms]"
        );
        let object = Outcome::Response(json!({"a": "one\ntwo", "b": "three"}));
        assert_eq!(
            describe(&object, took, &format),
            "one two and three  [1.0 ms]"
        );
    }

    #[test]
    fn a_summary_applies_to_objects_only() {
        let format = AnswerFormat {
            summary: Some("{checkout} checkout".parse().unwrap()),
            width: 40,
        };
        let took = Duration::from_millis(2);
        let object = Outcome::Response(json!({"checkout": "new"}));
        assert_eq!(describe(&object, took, &format), "new checkout  [2.0 ms]");
        let string = Outcome::Response(json!("plain"));
        assert_eq!(describe(&string, took, &format), "\"plain\"  [2.0 ms]");
    }
}
