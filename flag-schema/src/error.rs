use std::fmt;

/// Why a feature-flag document was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SchemaError {
    /// The text is not JSON. `line` and `column` are 1-based, as editors count.
    Syntax {
        /// 1-based line of the error.
        line: usize,
        /// 1-based column of the error.
        column: usize,
        /// What the JSON parser expected or found.
        message: String,
    },
    /// The JSON breaks one or more of AppConfig's rules for feature-flag documents.
    Invalid(Vec<Problem>),
}

/// One broken rule: where (`flags.newCheckout.attributes.limit`) and what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Dotted path to the offending value, from the document's root.
    pub path: String,
    /// What is wrong there: the rule and the JSON kind found, never the offending value.
    pub message: String,
}

impl SchemaError {
    /// The individual problems (one for a syntax error).
    pub fn problems(&self) -> Vec<Problem> {
        match self {
            SchemaError::Syntax { .. } => vec![Problem {
                path: String::new(),
                message: self.to_string(),
            }],
            SchemaError::Invalid(problems) => problems.clone(),
        }
    }
}

impl fmt::Display for SchemaError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SchemaError::Syntax {
                line,
                column,
                message,
            } => write!(f, "invalid JSON at line {line}, column {column}: {message}"),
            SchemaError::Invalid(problems) => {
                if let [only] = problems.as_slice() {
                    return write!(f, "{only}");
                }
                write!(f, "{} problems:", problems.len())?;
                for problem in problems {
                    write!(f, "\n  - {problem}")?;
                }
                Ok(())
            }
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "`{}`: {}", self.path, self.message)
        }
    }
}

impl std::error::Error for SchemaError {}
