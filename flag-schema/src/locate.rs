//! Where a value sits in the document's text, for messages: serde_json's `Value` keeps no
//! positions, so the (already validated) text is scanned again along one path.

/// One step of a path: an object member or an array item.
pub(crate) enum Step<'a> {
    Key(&'a str),
    Index(usize),
}

/// The 1-based line and column (in characters) where the value at `path` starts. Where a key
/// appears twice the last one counts, as in the parsed document. `None` if the text does not
/// have that shape.
pub(crate) fn position(text: &str, path: &[Step<'_>]) -> Option<(usize, usize)> {
    let b = text.as_bytes();
    let mut at = skip_ws(b, 0);
    for step in path {
        at = match step {
            Step::Key(key) => member(text, at, key)?,
            Step::Index(i) => item(b, at, *i)?,
        };
    }
    let before = text.get(..at)?;
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    Some((line, before[line_start..].chars().count() + 1))
}

fn skip_ws(b: &[u8], mut i: usize) -> usize {
    while i < b.len() && matches!(b[i], b' ' | b'\t' | b'\n' | b'\r') {
        i += 1;
    }
    i
}

/// Past the string starting at `i` (a `"`).
fn skip_string(b: &[u8], mut i: usize) -> Option<usize> {
    i += 1;
    while i < b.len() {
        match b[i] {
            b'\\' => i += 2,
            b'"' => return Some(i + 1),
            _ => i += 1,
        }
    }
    None
}

/// Past the value starting at `i`, without recursion.
fn skip_value(b: &[u8], i: usize) -> Option<usize> {
    match b.get(i)? {
        b'"' => skip_string(b, i),
        b'{' | b'[' => {
            let mut depth = 0usize;
            let mut j = i;
            while j < b.len() {
                match b[j] {
                    b'"' => {
                        j = skip_string(b, j)?;
                        continue;
                    }
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth -= 1;
                        if depth == 0 {
                            return Some(j + 1);
                        }
                    }
                    _ => {}
                }
                j += 1;
            }
            None
        }
        _ => {
            let mut j = i;
            while j < b.len() && !matches!(b[j], b',' | b'}' | b']' | b' ' | b'\t' | b'\n' | b'\r')
            {
                j += 1;
            }
            Some(j)
        }
    }
}

/// The start of member `key`'s value in the object starting at `i`.
fn member(text: &str, i: usize, key: &str) -> Option<usize> {
    let b = text.as_bytes();
    if b.get(i) != Some(&b'{') {
        return None;
    }
    let mut found = None;
    let mut j = skip_ws(b, i + 1);
    while b.get(j) == Some(&b'"') {
        let end = skip_string(b, j)?;
        let raw = text.get(j + 1..end - 1)?;
        let same = if raw.contains('\\') {
            serde_json::from_str::<String>(text.get(j..end)?).ok()? == key
        } else {
            raw == key
        };
        j = skip_ws(b, end);
        if b.get(j) != Some(&b':') {
            return None;
        }
        j = skip_ws(b, j + 1);
        if same {
            found = Some(j);
        }
        j = skip_ws(b, skip_value(b, j)?);
        if b.get(j) == Some(&b',') {
            j = skip_ws(b, j + 1);
        }
    }
    found
}

/// The start of item `index` of the array starting at `i`.
fn item(b: &[u8], i: usize, index: usize) -> Option<usize> {
    if b.get(i) != Some(&b'[') {
        return None;
    }
    let mut j = skip_ws(b, i + 1);
    for _ in 0..index {
        j = skip_ws(b, skip_value(b, j)?);
        if b.get(j) != Some(&b',') {
            return None;
        }
        j = skip_ws(b, j + 1);
    }
    (j < b.len() && b[j] != b']').then_some(j)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_values_along_a_path() {
        let text = "{\"values\": {\"a\\u0062\": {\"x\": [1, {\"y\": [2]}],\n  \"_variants\": [\n    {\"rule\": \"r1\"},\n    {\"name\": \"é\", \"rule\": \"(r2)\"}]}}}";
        let at = |path: &[Step]| position(text, path);
        assert_eq!(
            at(&[
                Step::Key("values"),
                Step::Key("ab"),
                Step::Key("_variants"),
                Step::Index(1),
                Step::Key("rule")
            ]),
            Some((4, 27))
        );
        assert_eq!(
            at(&[
                Step::Key("values"),
                Step::Key("ab"),
                Step::Key("_variants"),
                Step::Index(0),
                Step::Key("rule")
            ]),
            Some((3, 14))
        );
        assert_eq!(
            at(&[
                Step::Key("values"),
                Step::Key("ab"),
                Step::Key("_variants"),
                Step::Index(2)
            ]),
            None
        );
        assert_eq!(at(&[Step::Key("nope")]), None);
        // The last of duplicate keys, as serde_json keeps it.
        assert_eq!(
            position("{\"k\": 1, \"k\": 2}", &[Step::Key("k")]),
            Some((1, 15))
        );
    }
}
