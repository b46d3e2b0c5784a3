//! A refusal in driftless's words. The server's own texts can be a Go struct dump of the whole
//! object (2,000 characters for a Job's template) or a typed-patch error sent as a 500, which
//! reads as a server fault worth retrying. Here a typed-patch error becomes what it is, an
//! invalid manifest naming the field (`` `.data.n` must be a string ``), and a 422 is built from
//! its causes: field paths and what is wrong with each, deduplicated, never a dump, capped.

use kube::core::Status;

/// Most characters of a reworded message.
pub const MESSAGE_LIMIT: usize = 300;
/// Longest value quoted from a cause (`"bad label"`); longer ones are dumps.
const VALUE_LIMIT: usize = 40;

/// The server's typed-patch error: sent with 500 (an upstream fix makes it 400; both are read).
const TYPED_PATCH: &str = "failed to create typed patch object";

/// A refusal reworded: its status (422 Invalid for an invalid manifest) and message.
#[derive(Debug, PartialEq, Eq)]
pub struct Reworded {
    pub code: u16,
    pub reason: String,
    pub message: String,
}

/// How an error answer reads in a report, or `None` to keep the server's words.
pub fn reword(status: &Status) -> Option<Reworded> {
    let message = match status.code {
        400 | 422 | 500 if status.message.contains(TYPED_PATCH) => typed_patch(&status.message)?,
        422 => from_causes(status).unwrap_or_else(|| capped(&[without_dumps(&status.message)])),
        _ => return None,
    };
    Some(Reworded {
        code: 422,
        reason: "Invalid".into(),
        message,
    })
}

/// `.data.n: expected string, got &value.valueUnstructured{Value:5}`, after an optional
/// `(namespace/name; /v1, Kind=ConfigMap)`, or several under `errors:`, one a line.
fn typed_patch(message: &str) -> Option<String> {
    let rest = message[message.find(TYPED_PATCH)? + TYPED_PATCH.len()..].trim_start();
    let rest = match rest.strip_prefix('(') {
        Some(named) => &named[named.find(')')? + 1..],
        None => rest,
    };
    let rest = rest.trim_start_matches([':', ' ']);
    let entries: Vec<&str> = match rest.strip_prefix("errors:") {
        Some(list) => list
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect(),
        None => vec![rest.trim()],
    };
    let mut parts = Vec::new();
    for entry in entries {
        let end = token_end(entry);
        let (path, detail) = (&entry[..end], entry[end..].trim_start_matches([':', ' ']));
        push_once(&mut parts, typed_words(path, detail));
    }
    Some(capped(&parts))
}

/// One typed-patch error in driftless's words; the value the server quotes (`got ...`) is
/// dropped: it is Go's rendering of the manifest's value, and may be a secret.
fn typed_words(path: &str, detail: &str) -> String {
    if let Some(expected) = detail.strip_prefix("expected ") {
        let expected = expected.split(", got").next().unwrap_or(expected);
        let what = match expected {
            "string" => "a string",
            "map" => "a mapping",
            "list" => "a list",
            "boolean" => "a boolean (true or false)",
            e if e.starts_with("numeric") => "a number",
            other => other,
        };
        return format!("`{path}` must be {what}");
    }
    if detail == "field not declared in schema" {
        return format!("`{path}` is not a field of this kind (not in its schema)");
    }
    if let Some(key) = detail.strip_prefix("duplicate entries for key ") {
        return format!("`{path}` lists more than one entry with the key {key}");
    }
    if let Some((index, rest)) = detail
        .strip_prefix("element ")
        .and_then(|d| d.split_once(": "))
        && let Some(key) = rest
            .split('"')
            .nth(1)
            .filter(|_| rest.contains("omits key field"))
    {
        return format!("`{path}[{index}]` must set `{key}`: it is the key of this list's entries");
    }
    let detail = detail.split(", got ").next().unwrap_or(detail);
    format!("`{path}`: {detail}")
}

/// A 422's causes: the immutable fields together (one hint for all), then every other field
/// with what is wrong with it, each once.
fn from_causes(status: &Status) -> Option<String> {
    let causes = &status.details.as_ref()?.causes;
    let (mut immutable, mut why, mut others) = (Vec::new(), None, Vec::new());
    for cause in causes {
        let text = cause_text(&cause.message);
        if ["immutable", "may not change once set"]
            .iter()
            .any(|w| text.contains(w))
        {
            push_once(&mut immutable, cause.field.clone());
            why.get_or_insert(text);
            continue;
        }
        let line = match cause.field.as_str() {
            "" => text,
            field => format!("{field}: {text}"),
        };
        // One line per field and value: the server may repeat a cause with fewer details.
        let key = |l: &String| l.split(':').take(2).collect::<String>();
        if !others.iter().any(|o| key(o) == key(&line)) {
            others.push(line);
        }
    }
    let mut parts = Vec::new();
    if let Some(why) = why {
        parts.push(format!(
            "immutable: {} ({why}); delete and recreate the object, or keep the live value",
            immutable.join(", ")
        ));
    }
    parts.extend(others);
    (!parts.is_empty()).then(|| capped(&parts))
}

/// `Invalid value: <value>: <detail>` and its kin, with the value only when it is short: a
/// struct, a list or a map printed by Go is dropped. Only the first line: a Forbidden pod
/// update is followed by a diff of the whole spec.
fn cause_text(message: &str) -> String {
    let line = message.lines().next().unwrap_or_default().trim();
    for (prefix, word) in VALUE_PREFIXES {
        let Some(rest) = line.strip_prefix(prefix) else {
            continue;
        };
        let end = token_end(rest);
        let (value, detail) = (&rest[..end], rest[end..].trim_start_matches([':', ' ']));
        return match (short(value), detail) {
            (Some(v), "") => format!("{word} {v}"),
            (Some(v), d) => format!("{word} {v}: {d}"),
            (None, "") => word.to_string(),
            (None, d) => d.to_string(),
        };
    }
    let mut chars = line.chars();
    chars.next().map_or_else(String::new, |first| {
        first.to_lowercase().chain(chars).collect()
    })
}

const VALUE_PREFIXES: [(&str, &str); 4] = [
    ("Invalid value: ", "invalid value"),
    ("Unsupported value: ", "unsupported value"),
    ("Duplicate value: ", "duplicate value"),
    ("Not found: ", "not found"),
];

/// A message without causes, its values dropped where they are dumps.
fn without_dumps(message: &str) -> String {
    let mut out = String::new();
    let mut rest = message;
    while let Some(at) = rest.find("Invalid value: ") {
        let after = &rest[at + "Invalid value: ".len()..];
        let end = token_end(after);
        out.push_str(&rest[..at]);
        match short(&after[..end]) {
            Some(value) => out.push_str(&format!("invalid value {value}")),
            None => out.push_str("invalid value"),
        }
        rest = &after[end..];
    }
    out.push_str(rest);
    out
}

/// Where the token at the start of `text` ends: at the first `: ` outside quotes and brackets
/// (a Go value `core.PodTemplateSpec{...}`, a field path `.a[name="x: y"].b`), or at the end.
fn token_end(text: &str) -> usize {
    let (mut depth, mut quoted, mut escaped) = (0i32, false, false);
    for (i, c) in text.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            '{' | '[' | '(' if !quoted => depth += 1,
            '}' | ']' | ')' if !quoted => depth -= 1,
            ':' if !quoted && depth <= 0 && text[i..].starts_with(": ") => return i,
            _ => {}
        }
    }
    text.len()
}

/// A value worth quoting: a short string or number, not a dump.
fn short(value: &str) -> Option<&str> {
    let scalar = (value.starts_with('"') && value.ends_with('"') && value.len() > 1)
        || value.parse::<f64>().is_ok();
    (scalar && value.chars().count() <= VALUE_LIMIT).then_some(value)
}

fn push_once(list: &mut Vec<String>, item: String) {
    if !list.contains(&item) {
        list.push(item);
    }
}

/// At most [`MESSAGE_LIMIT`] characters: whole parts while they fit, then how many are left.
fn capped(parts: &[String]) -> String {
    let mut out = String::new();
    for (i, part) in parts.iter().enumerate() {
        let sep = if i == 0 { "" } else { "; " };
        let more = match parts.len() - i - 1 {
            0 => String::new(),
            left => format!("; and {left} more"),
        };
        let length = out.chars().count() + sep.len() + part.chars().count() + more.len();
        if length <= MESSAGE_LIMIT {
            out.push_str(sep);
            out.push_str(part);
        } else if i == 0 {
            let mut cut: String = part.chars().take(MESSAGE_LIMIT - 3 - more.len()).collect();
            // Never half a quoted value: a half of a secret is not masked as the whole is.
            if cut.matches('"').count() % 2 == 1
                && let Some(open) = cut.rfind('"')
            {
                cut.truncate(open);
            }
            return format!("{cut}...{more}");
        } else {
            return format!("{out}; and {} more", parts.len() - i);
        }
    }
    out
}

#[cfg(test)]
mod tests;
