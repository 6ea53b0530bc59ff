/// Whether `key` is a flag or attribute key AppConfig accepts: `^[a-z][a-zA-Z0-9_-]{0,63}$`.
///
/// ```
/// assert!(flag_schema::is_valid_key("newCheckout"));
/// assert!(!flag_schema::is_valid_key("NewCheckout"));
/// assert!(!flag_schema::is_valid_key("new.checkout"));
/// ```
pub fn is_valid_key(key: &str) -> bool {
    let bytes = key.as_bytes();
    matches!(bytes.first(), Some(b'a'..=b'z'))
        && bytes.len() <= 64
        && bytes[1..]
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || *b == b'_' || *b == b'-')
}

/// Whether `key` is a context key flag-runtime sends and a rule's `$key` can name: 1 to 64
/// ASCII letters, digits, `_`, `-` or `.`. The one definition the macro's `context(..)` check
/// and the runtime's `Context::validate` share.
///
/// ```
/// assert!(flag_schema::is_valid_context_key("customer.tier-2"));
/// assert!(!flag_schema::is_valid_context_key("user:id"));
/// assert!(!flag_schema::is_valid_context_key(""));
/// assert!(!flag_schema::is_valid_context_key(&"k".repeat(65)));
/// ```
pub fn is_valid_context_key(key: &str) -> bool {
    !key.is_empty()
        && key.len() <= 64
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
}

/// The candidate closest to `wanted`, if one is close enough to be a plausible typo.
///
/// Closeness is the Damerau–Levenshtein distance (a swap of two neighbours counts once),
/// compared case-insensitively; "close enough" is at most a third of the longer name's length
/// (and at least one edit).
///
/// ```
/// let flags = ["newCheckout", "discountBanner"];
/// assert_eq!(flag_schema::suggest("newChekout", flags), Some("newCheckout"));
/// assert_eq!(flag_schema::suggest("banana", flags), None);
/// ```
pub fn suggest<'a>(wanted: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let wanted_lower = wanted.to_ascii_lowercase();
    candidates
        .into_iter()
        .map(|c| (distance(&wanted_lower, &c.to_ascii_lowercase()), c))
        .filter(|(d, c)| *d != usize::MAX && *d <= (wanted.len().max(c.len()) / 3).max(1))
        .min_by_key(|(d, c)| (*d, *c))
        .map(|(_, c)| c)
}

/// Names longer than this are never "close" to anything: valid keys have at most 64 characters,
/// and the distance costs time proportional to the product of the lengths.
const MAX_COMPARED: usize = 128;

/// Optimal string alignment distance over bytes (names are ASCII), in three rolling rows.
fn distance(a: &str, b: &str) -> usize {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() > MAX_COMPARED || b.len() > MAX_COMPARED {
        return usize::MAX;
    }
    let mut before: Vec<usize> = vec![0; b.len() + 1];
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    let mut current: Vec<usize> = vec![0; b.len() + 1];
    for i in 1..=a.len() {
        current[0] = i;
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (previous[j] + 1)
                .min(current[j - 1] + 1)
                .min(previous[j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(before[j - 2] + 1);
            }
            current[j] = best;
        }
        std::mem::swap(&mut before, &mut previous);
        std::mem::swap(&mut previous, &mut current);
    }
    previous[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_follow_appconfig_pattern() {
        assert!(is_valid_key("a"));
        assert!(is_valid_key("a_b-C9"));
        assert!(is_valid_key(&"a".repeat(64)));
        assert!(!is_valid_key(&"a".repeat(65)));
        assert!(!is_valid_key(""));
        assert!(!is_valid_key("9lives"));
        assert!(!is_valid_key("_private"));
        assert!(!is_valid_key("with space"));
        assert!(!is_valid_key("ünïcode"));
    }

    #[test]
    fn distance_counts_transpositions_once() {
        assert_eq!(distance("newcheckout", "newchekcout"), 1);
        assert_eq!(distance("abc", "abc"), 0);
        assert_eq!(distance("", "abc"), 3);
        assert_eq!(distance("kitten", "sitting"), 3);
        assert_eq!(distance("ab", "ba"), 1);
        assert_eq!(distance("abc", ""), 3);
        // Found by the fuzzer: two 400-byte names once cost a 1.3 MB matrix.
        assert_eq!(distance(&"[".repeat(400), &"[".repeat(399)), usize::MAX);
    }

    #[test]
    fn suggestion_needs_to_be_close() {
        let flags = ["newCheckout", "newCheckoutV2", "banner"];
        assert_eq!(suggest("newcheckout", flags), Some("newCheckout"));
        assert_eq!(suggest("baner", flags), Some("banner"));
        assert_eq!(suggest("zzz", flags), None);
    }
}
