//! Plain YAML timestamps as SOPS reads them: Go's YAML library turns an unquoted `2024-01-01`
//! (or `2024-1-2 10:00:00.5`, `2024-01-01T10:00:00+02:00`) into a time, which SOPS hashes and
//! prints in RFC 3339 (`2024-01-01T00:00:00Z`). The layouts and range checks are Go's
//! (`time.Parse` with the four layouts of yaml.v3's `allowedTimestampFormats`).

/// The RFC 3339 text Go prints for a plain scalar its YAML reader takes for a timestamp; None
/// for anything else.
pub(super) fn go_timestamp(text: &str) -> Option<String> {
    let b = text.as_bytes();
    // Go's quick check: four digits, then `-`.
    if b.len() < 5 || !b[..4].iter().all(u8::is_ascii_digit) || b[4] != b'-' {
        return None;
    }
    let year: u32 = text[..4].parse().ok()?;
    let mut rest = &text[5..];
    let month = number(&mut rest)?;
    rest = rest.strip_prefix('-')?;
    let day = number(&mut rest)?;
    if !(1..=12).contains(&month) || day < 1 || day > days_in(year, month) {
        return None;
    }
    let date = format!("{year:04}-{month:02}-{day:02}");
    let Some(separator) = rest.chars().next() else {
        return Some(format!("{date}T00:00:00Z"));
    };
    rest = &rest[1..];
    let (hour, minute, second) = clock(&mut rest)?;
    let fraction = fraction(&mut rest);
    let zone = match separator {
        'T' | 't' => zone(&mut rest)?,
        // Space separated: no zone, UTC.
        ' ' => "Z".to_string(),
        _ => return None,
    };
    rest.is_empty()
        .then(|| format!("{date}T{hour:02}:{minute:02}:{second:02}{fraction}{zone}"))
}

/// One or two digits (Go's layout fields `1`, `2`, `15`, `4`, `5`).
fn number(rest: &mut &str) -> Option<u32> {
    let digits = rest.bytes().take(2).take_while(u8::is_ascii_digit).count();
    let value = rest.get(..digits).filter(|d| !d.is_empty())?.parse().ok()?;
    *rest = &rest[digits..];
    Some(value)
}

/// `h:m:s`, each one or two digits, in range.
fn clock(rest: &mut &str) -> Option<(u32, u32, u32)> {
    let hour = number(rest)?;
    *rest = rest.strip_prefix(':')?;
    let minute = number(rest)?;
    *rest = rest.strip_prefix(':')?;
    let second = number(rest)?;
    (hour < 24 && minute < 60 && second < 60).then_some((hour, minute, second))
}

/// Optional fractional seconds (`.5`, `,25`), as Go prints them: nanoseconds, trailing zeros
/// cut, nothing when zero.
fn fraction(rest: &mut &str) -> String {
    let b = rest.as_bytes();
    if b.len() < 2 || !matches!(b[0], b'.' | b',') || !b[1].is_ascii_digit() {
        return String::new();
    }
    let digits = rest[1..].bytes().take_while(u8::is_ascii_digit).count();
    let mut nanos: String = rest[1..1 + digits].chars().take(9).collect();
    *rest = &rest[1 + digits..];
    while nanos.len() < 9 {
        nanos.push('0');
    }
    let trimmed = nanos.trim_end_matches('0');
    if trimmed.is_empty() {
        String::new()
    } else {
        format!(".{trimmed}")
    }
}

/// `Z` or `±hh:mm`, printed `Z` when the offset is zero.
fn zone(rest: &mut &str) -> Option<String> {
    if let Some(after) = rest.strip_prefix('Z') {
        *rest = after;
        return Some("Z".into());
    }
    let b = rest.as_bytes();
    if b.len() < 6 || !matches!(b[0], b'+' | b'-') || b[3] != b':' {
        return None;
    }
    let two = |s: &str| {
        s.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| s.parse::<u32>().ok())?
    };
    let (hours, minutes) = (two(&rest[1..3])?, two(&rest[4..6])?);
    if hours > 24 || minutes > 60 {
        return None;
    }
    let zone = if hours == 0 && minutes == 0 {
        "Z".to_string()
    } else {
        rest[..6].to_string()
    };
    *rest = &rest[6..];
    Some(zone)
}

fn days_in(year: u32, month: u32) -> u32 {
    match month {
        2 if year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400)) => {
            29
        }
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_print_as_go_prints_them() {
        let cases = [
            ("2024-01-01", "2024-01-01T00:00:00Z"),
            ("2024-1-2", "2024-01-02T00:00:00Z"),
            ("2024-01-01T10:20:30Z", "2024-01-01T10:20:30Z"),
            ("2024-01-01t1:2:3Z", "2024-01-01T01:02:03Z"),
            ("2024-01-01T10:20:30.500Z", "2024-01-01T10:20:30.5Z"),
            ("2024-01-01T10:20:30,000Z", "2024-01-01T10:20:30Z"),
            (
                "2024-01-01T10:20:30.1234567891Z",
                "2024-01-01T10:20:30.123456789Z",
            ),
            ("2024-01-01T10:20:30+02:00", "2024-01-01T10:20:30+02:00"),
            ("2024-01-01T10:20:30-00:00", "2024-01-01T10:20:30Z"),
            ("2024-01-01 10:20:30", "2024-01-01T10:20:30Z"),
            ("2024-02-29", "2024-02-29T00:00:00Z"),
        ];
        for (yaml, go) in cases {
            assert_eq!(go_timestamp(yaml).as_deref(), Some(go), "{yaml}");
        }
    }

    #[test]
    fn anything_else_stays_text() {
        for text in [
            "2023-02-29",
            "2024-13-01",
            "2024-01-01T24:00:00Z",
            "2024-01-01T10:20:30",
            "2024-01-01 10:20:30Z",
            "2024-01-01T10:20:30+0200",
            "2024-01-01x",
            "20240-01-01",
            "v2024-01-01",
            "2024-001-01",
            "12345",
        ] {
            assert_eq!(go_timestamp(text), None, "{text}");
        }
    }
}
