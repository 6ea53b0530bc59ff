//! OpenFeature flag keys: `flag` names an AppConfig flag, `flag.attribute` one of its attributes.
//!
//! AppConfig flag and attribute names match `^[a-z][a-zA-Z0-9_-]{0,63}$`: neither holds a `.`,
//! so the first `.` splits a key without ambiguity.

/// A parsed OpenFeature flag key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Key<'a> {
    /// The AppConfig flag.
    pub(crate) flag: &'a str,
    /// The attribute, for a `flag.attribute` key.
    pub(crate) attribute: Option<&'a str>,
}

impl<'a> Key<'a> {
    pub(crate) fn parse(key: &'a str) -> Self {
        match key.split_once('.') {
            Some((flag, attribute)) => Key {
                flag,
                attribute: Some(attribute),
            },
            None => Key {
                flag: key,
                attribute: None,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Key;

    #[test]
    fn a_dot_splits_flag_and_attribute() {
        assert_eq!(
            Key::parse("discountBanner.percentage"),
            Key {
                flag: "discountBanner",
                attribute: Some("percentage")
            }
        );
        assert_eq!(
            Key::parse("newCheckout"),
            Key {
                flag: "newCheckout",
                attribute: None
            }
        );
        // Only the first dot splits: the rest is an attribute name no flag can have, so it is
        // reported as not found rather than read from another attribute.
        assert_eq!(Key::parse("a.b.c").attribute, Some("b.c"));
    }
}
