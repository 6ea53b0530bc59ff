//! Numbers and timestamps: the literal syntax of rules, and the same syntax read from context
//! values (which arrive as strings).

use std::cmp::Ordering;

/// A number operand: 64-bit integers compare exactly, anything else as `f64`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Num {
    Int(i64),
    Float(f64),
}

impl Num {
    pub(crate) fn compare(self, other: Num) -> Option<Ordering> {
        match (self, other) {
            (Num::Int(a), Num::Int(b)) => Some(a.cmp(&b)),
            (a, b) => a.as_f64().partial_cmp(&b.as_f64()),
        }
    }

    fn as_f64(self) -> f64 {
        match self {
            Num::Int(i) => i as f64,
            Num::Float(f) => f,
        }
    }
}

/// `-?[0-9]+`
pub(crate) fn is_int_syntax(s: &str) -> bool {
    let digits = s.strip_prefix('-').unwrap_or(s);
    !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
}

/// `-?[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?` with a fraction or an exponent (else it is an integer).
pub(crate) fn is_float_syntax(s: &str) -> bool {
    let b = s.strip_prefix('-').unwrap_or(s).as_bytes();
    let mut i = 0;
    let digits = |i: &mut usize| {
        let start = *i;
        while *i < b.len() && b[*i].is_ascii_digit() {
            *i += 1;
        }
        *i > start
    };
    if !digits(&mut i) {
        return false;
    }
    let mut shaped = false;
    if i < b.len() && b[i] == b'.' {
        i += 1;
        if !digits(&mut i) {
            return false;
        }
        shaped = true;
    }
    if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
        i += 1;
        if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
            i += 1;
        }
        if !digits(&mut i) {
            return false;
        }
        shaped = true;
    }
    shaped && i == b.len()
}

/// A context value read as a number: the rule literal syntax (no `+`, no spaces, no `NaN` or
/// infinity). An integer too large for 64 bits is read as a float.
pub(crate) fn parse_number(s: &str) -> Option<Num> {
    if is_int_syntax(s) {
        return Some(match s.parse::<i64>() {
            Ok(i) => Num::Int(i),
            Err(_) => Num::Float(s.parse::<f64>().ok()?),
        });
    }
    if is_float_syntax(s) {
        return s
            .parse::<f64>()
            .ok()
            .filter(|f| f.is_finite())
            .map(Num::Float);
    }
    None
}

/// `true` or `false`, in any ASCII case.
pub(crate) fn parse_bool(s: &str) -> Option<bool> {
    if s.eq_ignore_ascii_case("true") {
        Some(true)
    } else if s.eq_ignore_ascii_case("false") {
        Some(false)
    } else {
        None
    }
}

/// An instant: seconds since 1970-01-01T00:00:00Z and nanoseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Timestamp {
    secs: i64,
    nanos: u32,
}

/// A W3C date/time (<https://www.w3.org/TR/NOTE-datetime>): `YYYY`, `YYYY-MM`, `YYYY-MM-DD`,
/// `YYYY-MM-DDThh:mmTZD`, `YYYY-MM-DDThh:mm:ssTZD` or `YYYY-MM-DDThh:mm:ss.sTZD`, where TZD is
/// `Z` or `+hh:mm`/`-hh:mm`. A partial date is the first instant of its period, in UTC.
/// `year_only` admits `YYYY` (in a rule a bare `2024` is an integer).
pub(crate) fn parse_timestamp(s: &str, year_only: bool) -> Option<Timestamp> {
    let b = s.as_bytes();
    let num = |from: usize, len: usize| -> Option<u32> {
        let part = b.get(from..from + len)?;
        part.iter().all(u8::is_ascii_digit).then(|| {
            part.iter()
                .fold(0u32, |acc, d| acc * 10 + u32::from(d - b'0'))
        })
    };
    let year = num(0, 4)?;
    let (month, day) = match b.len() {
        4 if year_only => (1, 1),
        7 if b[4] == b'-' => (num(5, 2)?, 1),
        n if n >= 10 && b[4] == b'-' && b[7] == b'-' => (num(5, 2)?, num(8, 2)?),
        _ => return None,
    };
    if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
        return None;
    }
    let days = days_from_civil(i64::from(year), month, day);
    if b.len() <= 10 {
        return Some(Timestamp {
            secs: days * 86_400,
            nanos: 0,
        });
    }
    if b[10] != b'T' || b.get(13) != Some(&b':') {
        return None;
    }
    let (hour, minute) = (num(11, 2)?, num(14, 2)?);
    let mut i = 16;
    let mut second = 0;
    let mut nanos = 0u32;
    if b.get(i) == Some(&b':') {
        second = num(17, 2)?;
        i = 19;
        if b.get(i) == Some(&b'.') {
            i += 1;
            let start = i;
            while b.get(i).is_some_and(u8::is_ascii_digit) {
                if i - start < 9 {
                    nanos = nanos * 10 + u32::from(b[i] - b'0');
                }
                i += 1;
            }
            if i == start {
                return None;
            }
            for _ in (i - start)..9 {
                nanos *= 10;
            }
        }
    }
    if hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    let offset = match b.get(i..)? {
        [b'Z'] => 0,
        [sign @ (b'+' | b'-'), _, _, b':', _, _] => {
            let (h, m) = (num(i + 1, 2)?, num(i + 4, 2)?);
            if h > 23 || m > 59 {
                return None;
            }
            let minutes = i64::from(h * 60 + m);
            if *sign == b'+' {
                minutes
            } else {
                -minutes
            }
        }
        _ => return None,
    };
    let secs = days * 86_400 + i64::from(hour * 3600 + minute * 60 + second) - offset * 60;
    Some(Timestamp { secs, nanos })
}

fn days_in_month(year: u32, month: u32) -> u32 {
    match month {
        2 if year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400)) => {
            29
        }
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's `days_from_civil`).
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = i64::from((month + 9) % 12);
    let doy = (153 * mp + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> Timestamp {
        parse_timestamp(s, true).unwrap_or_else(|| panic!("{s} parses"))
    }

    #[test]
    fn w3c_forms_and_zones() {
        assert_eq!(ts("1970-01-01T00:00Z").secs, 0);
        assert_eq!(ts("1970"), ts("1970-01-01T00:00:00Z"));
        assert_eq!(ts("2024-01"), ts("2024-01-01T00:00:00.000Z"));
        assert_eq!(ts("2012-03-04T05:06:07-08:00"), ts("2012-03-04T13:06:07Z"));
        assert_eq!(ts("2000-03-01").secs, 951_868_800);
        assert!(ts("2024-02-29T23:59:59.999999999Z") < ts("2024-03-01"));
        assert_eq!(ts("2024-01-01T00:00:00.5Z").nanos, 500_000_000);
        for bad in [
            "2023-02-29",
            "2024-13",
            "2024-1",
            "2024-01-01T10:00",
            "2024-01-01T24:00Z",
            "2024-01-01 10:00Z",
            "2024-01-01T10:00:00.Z",
            "2024-01-01T10:00+0100",
            "20240101",
            "",
        ] {
            assert_eq!(parse_timestamp(bad, true), None, "{bad}");
        }
        assert_eq!(parse_timestamp("2024", false), None);
    }

    #[test]
    fn numbers() {
        assert_eq!(parse_number("42"), Some(Num::Int(42)));
        assert_eq!(parse_number("-7"), Some(Num::Int(-7)));
        assert_eq!(parse_number("1.234e-5"), Some(Num::Float(1.234e-5)));
        assert_eq!(parse_number("1E3"), Some(Num::Float(1000.0)));
        assert_eq!(parse_number("99999999999999999999"), Some(Num::Float(1e20)));
        for bad in [
            "", "-", "+1", " 1", "1.", ".5", "1e", "NaN", "inf", "1e999", "0x10",
        ] {
            assert_eq!(parse_number(bad), None, "{bad}");
        }
        assert_eq!(
            Num::Int(i64::MAX).compare(Num::Int(i64::MAX - 1)),
            Some(Ordering::Greater)
        );
        assert_eq!(Num::Int(5).compare(Num::Float(5.0)), Some(Ordering::Equal));
    }
}
