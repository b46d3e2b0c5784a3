//! A chart's dependencies: the `dependencies:` of its `Chart.yaml`, its `Chart.lock`, and whether
//! that lock is still the one `helm dependency update` would write for them.
//!
//! helm reads both files with sigs.k8s.io/yaml (YAML into JSON into Go structs), cleans
//! `Chart.yaml`'s strings, and stamps the lock with a digest of the two lists as Go's
//! `encoding/json` writes them. Everything here copies those steps, so the digest is helm's to
//! the byte: a plain number given for a text field becomes Go's text for it (`version: 1.10` is
//! `"1.1"`), field names match case-insensitively, and the JSON escapes `<`, `>` and `&`.

use std::fmt::Write as _;

use serde::de::{self, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Number, Value};

use crate::render::yaml;

/// One dependency, of `Chart.yaml` (a version range) or of `Chart.lock` (one version).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Dependency {
    pub name: String,
    /// A range in `Chart.yaml`, a version in `Chart.lock`; `None` when absent or empty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// A URL, `file://` path, `@name` or `alias:name` of a configured repository, or empty for
    /// a chart already in `charts/`.
    #[serde(default)]
    pub repository: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub condition: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    #[serde(
        default,
        rename = "import-values",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub import_values: Vec<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alias: Option<String>,
}

/// A `Chart.lock`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Lock {
    /// In `Chart.yaml`'s order, each with the version `helm dependency update` chose.
    pub dependencies: Vec<Dependency>,
    /// `sha256:<hex>` of `Chart.yaml`'s dependencies and these (see [`lock_digest`]).
    pub digest: String,
}

/// The `dependencies:` of a `Chart.yaml` (none when absent), as helm loads them: text cleaned,
/// aliases checked, no two under one name.
pub fn dependencies(chart_yaml: &str) -> Result<Vec<Dependency>, String> {
    let document = first_document(chart_yaml).map_err(|why| format!("Chart.yaml: {why}"))?;
    let list = match &document {
        Value::Null => return Ok(Vec::new()),
        Value::Object(fields) => field(fields, "dependencies"),
        _ => return Err("Chart.yaml: not a mapping".to_string()),
    };
    let entries = dependency_list(list).map_err(|why| format!("Chart.yaml: {why}"))?;
    let mut found = Vec::with_capacity(entries.len());
    for (index, entry) in entries.into_iter().enumerate() {
        let mut dependency =
            entry.map_err(|why| format!("Chart.yaml: dependency {}: {why}", index + 1))?;
        clean(&mut dependency);
        if dependency.name.is_empty() {
            return Err(format!("Chart.yaml: dependency {} has no name", index + 1));
        }
        if let Some(alias) = &dependency.alias
            && !alias
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        {
            return Err(format!(
                "Chart.yaml: dependency {:?} has an alias, {alias:?}, with characters other than \
                 letters, digits, `_` and `-`",
                dependency.name
            ));
        }
        // helm keys subcharts by alias, else name.
        let key = dependency.alias.as_deref().unwrap_or(&dependency.name);
        if found
            .iter()
            .any(|other: &Dependency| other.alias.as_deref().unwrap_or(&other.name) == key)
        {
            return Err(format!(
                "Chart.yaml: more than one dependency is named or aliased {key:?}"
            ));
        }
        found.push(dependency);
    }
    Ok(found)
}

/// A `Chart.lock`: its dependencies (as written, not cleaned) and digest.
pub fn lock(text: &str) -> Result<Lock, String> {
    let document = first_document(text).map_err(|why| format!("Chart.lock: {why}"))?;
    let fields = match &document {
        Value::Object(fields) => fields,
        Value::Null => return Err("Chart.lock: empty".to_string()),
        _ => return Err("Chart.lock: not a mapping".to_string()),
    };
    let dependencies = dependency_list(field(fields, "dependencies"))
        .and_then(|entries| {
            entries
                .into_iter()
                .enumerate()
                .map(|(index, entry)| {
                    entry.map_err(|why| format!("dependency {}: {why}", index + 1))
                })
                .collect()
        })
        .map_err(|why| format!("Chart.lock: {why}"))?;
    let digest =
        text_of(field(fields, "digest")).map_err(|why| format!("Chart.lock: digest: {why}"))?;
    Ok(Lock {
        dependencies,
        digest,
    })
}

/// The digest helm writes in `Chart.lock` (`HashReq` in its resolver): `sha256:` and the hex
/// SHA-256 of `[requested, locked]` as Go's `json.Marshal` writes two lists of its `Dependency`.
/// `requested` is `Chart.yaml`'s list as [`dependencies`] reads it (with `@name` repositories
/// already resolved to URLs), `locked` the lock's list.
pub fn lock_digest(requested: &[Dependency], locked: &[Dependency]) -> String {
    let mut json = String::from("[");
    for (index, list) in [requested, locked].into_iter().enumerate() {
        if index > 0 {
            json.push(',');
        }
        json.push('[');
        for (position, dependency) in list.iter().enumerate() {
            if position > 0 {
                json.push(',');
            }
            write_dependency(&mut json, dependency);
        }
        json.push(']');
    }
    json.push(']');
    crate::remote::sha256(json.as_bytes())
}

/// Whether `lock` is what `helm dependency update` writes for `requested`: every dependency has
/// an entry, and the digest agrees. `helm dependency build` refuses a lock that is not.
pub fn check_lock(requested: &[Dependency], lock: &Lock) -> Result<(), String> {
    let mut hashed = Vec::with_capacity(requested.len());
    for (index, dependency) in requested.iter().enumerate() {
        // helm writes the lock in Chart.yaml's order; a renamed or added entry moves that.
        let entry = lock
            .dependencies
            .get(index)
            .filter(|entry| entry.name == dependency.name)
            .or_else(|| {
                lock.dependencies
                    .iter()
                    .find(|entry| entry.name == dependency.name)
            });
        let Some(entry) = entry else {
            return Err(format!(
                "Chart.lock has no entry for the dependency {:?} of Chart.yaml: run `helm \
                 dependency update` and commit Chart.lock",
                dependency.name
            ));
        };
        let mut dependency = dependency.clone();
        // helm hashes `@name` and `alias:name` as the URL its repository list gives them, which
        // is what it wrote in the lock.
        if dependency.repository.starts_with('@') || dependency.repository.starts_with("alias:") {
            dependency.repository = entry.repository.clone();
        }
        hashed.push(dependency);
    }
    let expected = lock_digest(&hashed, &lock.dependencies);
    if expected != lock.digest {
        return Err(format!(
            "Chart.lock is out of sync with Chart.yaml (its digest is {}, Chart.yaml's \
             dependencies give {expected}): run `helm dependency update` and commit Chart.lock",
            lock.digest
        ));
    }
    Ok(())
}

/// The first YAML document, as JSON (Go's reader reads only that one).
fn first_document(text: &str) -> Result<Value, String> {
    let documents: Vec<GoYaml> = serde_saphyr::from_multiple_with_options(text, yaml::options())
        .map_err(|e| {
            let line = e.location().map(|l| l.line()).unwrap_or(1).max(1);
            format!("line {line}: {}", yaml::describe(&e))
        })?;
    Ok(documents
        .into_iter()
        .next()
        .map_or(Value::Null, |document| document.0))
}

/// YAML as sigs.k8s.io/yaml turns it into JSON: scalars typed as YAML 1.1 types them (`yes`,
/// `n`, `010`), and mapping keys that are not text become Go's text for them (`n: 1` is
/// `{"false": 1}`, `1.10: a` is `{"1.1": "a"}`).
struct GoYaml(Value);

impl<'de> Deserialize<'de> for GoYaml {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(GoYamlVisitor).map(GoYaml)
    }
}

struct GoYamlVisitor;

impl<'de> Visitor<'de> for GoYamlVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a YAML value")
    }

    fn visit_bool<E: de::Error>(self, on: bool) -> Result<Value, E> {
        Ok(Value::Bool(on))
    }

    fn visit_i64<E: de::Error>(self, number: i64) -> Result<Value, E> {
        Ok(Value::from(number))
    }

    fn visit_u64<E: de::Error>(self, number: u64) -> Result<Value, E> {
        Ok(Value::from(number))
    }

    fn visit_f64<E: de::Error>(self, number: f64) -> Result<Value, E> {
        // Go's JSON step refuses infinities and NaN too.
        Number::from_f64(number)
            .map(Value::Number)
            .ok_or_else(|| E::custom(format!("{number} is not a number JSON can hold")))
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<Value, E> {
        Ok(Value::String(text.to_string()))
    }

    fn visit_string<E: de::Error>(self, text: String) -> Result<Value, E> {
        Ok(Value::String(text))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_some<D: serde::Deserializer<'de>>(self, inner: D) -> Result<Value, D::Error> {
        inner.deserialize_any(self)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut items: A) -> Result<Value, A::Error> {
        let mut list = Vec::new();
        while let Some(GoYaml(item)) = items.next_element()? {
            list.push(item);
        }
        Ok(Value::Array(list))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut entries: A) -> Result<Value, A::Error> {
        let mut map = Map::new();
        while let Some((GoKey(key), GoYaml(value))) = entries.next_entry()? {
            map.insert(key, value);
        }
        Ok(Value::Object(map))
    }
}

/// A mapping key as the text sigs.k8s.io/yaml makes of it.
struct GoKey(String);

impl<'de> Deserialize<'de> for GoKey {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        match deserializer.deserialize_any(GoYamlVisitor)? {
            Value::String(text) => Ok(GoKey(text)),
            Value::Bool(on) => Ok(GoKey(on.to_string())),
            Value::Number(number) if number.is_f64() => {
                Ok(GoKey(go_float32_g(number.as_f64().unwrap_or_default())))
            }
            Value::Number(number) => Ok(GoKey(number.to_string())),
            _ => Err(de::Error::custom(
                "a mapping key must be text, a number or a boolean",
            )),
        }
    }
}

/// A struct field as Go's `encoding/json` fills it: from a key equal to its name but for case;
/// of several, the last in sorted order wins, the order the YAML-to-JSON step leaves them in.
fn field<'a>(fields: &'a Map<String, Value>, name: &str) -> &'a Value {
    let mut keys: Vec<&String> = fields.keys().collect();
    keys.sort();
    let mut found = &Value::Null;
    for key in keys {
        if key.eq_ignore_ascii_case(name) {
            found = fields.get(key).unwrap_or(&Value::Null);
        }
    }
    found
}

/// A `dependencies:` value: each entry converted, or why it can't be; an error for a non-list.
fn dependency_list(value: &Value) -> Result<Vec<Result<Dependency, String>>, String> {
    match value {
        Value::Null => Ok(Vec::new()),
        Value::Array(entries) => Ok(entries.iter().map(dependency).collect()),
        _ => Err("dependencies is not a list".to_string()),
    }
}

fn dependency(value: &Value) -> Result<Dependency, String> {
    let fields = match value {
        Value::Object(fields) => fields,
        Value::Null => return Err("empty".to_string()),
        _ => return Err("not a mapping".to_string()),
    };
    let text = |name: &str| text_of(field(fields, name)).map_err(|why| format!("{name}: {why}"));
    let optional = |name: &str| text(name).map(|t| Some(t).filter(|t| !t.is_empty()));
    let tags = match field(fields, "tags") {
        Value::Null => Vec::new(),
        Value::Array(tags) => tags
            .iter()
            .map(|tag| text_of(tag).map_err(|why| format!("tags: {why}")))
            .collect::<Result<_, _>>()?,
        _ => return Err("tags is not a list".to_string()),
    };
    let enabled = match field(fields, "enabled") {
        Value::Null => None,
        Value::Bool(on) => Some(*on),
        _ => return Err("enabled is not true or false".to_string()),
    };
    let import_values = match field(fields, "import-values") {
        Value::Null => Vec::new(),
        Value::Array(values) => values.clone(),
        _ => return Err("import-values is not a list".to_string()),
    };
    Ok(Dependency {
        name: text("name")?,
        version: optional("version")?,
        repository: text("repository")?,
        condition: optional("condition")?,
        tags,
        enabled,
        import_values,
        alias: optional("alias")?,
    })
}

/// A YAML scalar for a Go string field: sigs.k8s.io/yaml turns a number or boolean into text as
/// go-yaml prints it (a float as float32 `%g`: `1.10` is `1.1`, `2.0` is `2`); null leaves it
/// empty.
fn text_of(value: &Value) -> Result<String, String> {
    match value {
        Value::Null => Ok(String::new()),
        Value::String(text) => Ok(text.clone()),
        Value::Bool(on) => Ok(on.to_string()),
        Value::Number(number) if number.is_f64() => {
            Ok(go_float32_g(number.as_f64().unwrap_or_default()))
        }
        Value::Number(number) => Ok(number.to_string()),
        Value::Array(_) | Value::Object(_) => Err("not a single value".to_string()),
    }
}

/// What helm's loader does to `Chart.yaml`'s strings: whitespace becomes a space, and
/// characters that do not print are dropped.
fn clean(dependency: &mut Dependency) {
    let fix = |text: &mut String| *text = sanitize(text);
    fix(&mut dependency.name);
    fix(&mut dependency.repository);
    for text in dependency
        .version
        .iter_mut()
        .chain(dependency.condition.iter_mut())
    {
        fix(text);
    }
    dependency.tags.iter_mut().for_each(fix);
    // Emptiness is decided after cleaning, as Go's `omitempty` sees the cleaned text.
    dependency.version = dependency.version.take().filter(|t| !t.is_empty());
    dependency.condition = dependency.condition.take().filter(|t| !t.is_empty());
}

/// Go's `unicode.IsSpace` to a space, else keep what `unicode.IsPrint` keeps: drops controls,
/// format characters and private use (unassigned code points, which Go also drops, are kept).
fn sanitize(text: &str) -> String {
    text.chars()
        .filter_map(|c| {
            if c.is_whitespace() {
                Some(' ')
            } else if c.is_control() || is_format(c) || is_private_use(c) {
                None
            } else {
                Some(c)
            }
        })
        .collect()
}

/// Unicode's format characters (category Cf).
fn is_format(c: char) -> bool {
    matches!(
        u32::from(c),
        0xAD | 0x600..=0x605
            | 0x61C
            | 0x6DD
            | 0x70F
            | 0x890..=0x891
            | 0x8E2
            | 0x180E
            | 0x200B..=0x200F
            | 0x202A..=0x202E
            | 0x2060..=0x2064
            | 0x2066..=0x206F
            | 0xFEFF
            | 0xFFF9..=0xFFFB
            | 0x110BD
            | 0x110CD
            | 0x13430..=0x1343F
            | 0x1BCA0..=0x1BCA3
            | 0x1D173..=0x1D17A
            | 0xE0001
            | 0xE0020..=0xE007F
    )
}

fn is_private_use(c: char) -> bool {
    matches!(u32::from(c), 0xE000..=0xF8FF | 0xF0000..=0xFFFFD | 0x100000..=0x10FFFD)
}

/// One dependency as Go's `json.Marshal` writes helm's struct: its fields in declaration order,
/// the `omitempty` ones left out when empty (and `enabled` when false).
fn write_dependency(out: &mut String, dependency: &Dependency) {
    out.push_str("{\"name\":");
    write_string(out, &dependency.name);
    if let Some(version) = dependency.version.as_deref().filter(|v| !v.is_empty()) {
        out.push_str(",\"version\":");
        write_string(out, version);
    }
    out.push_str(",\"repository\":");
    write_string(out, &dependency.repository);
    if let Some(condition) = dependency.condition.as_deref().filter(|c| !c.is_empty()) {
        out.push_str(",\"condition\":");
        write_string(out, condition);
    }
    if !dependency.tags.is_empty() {
        out.push_str(",\"tags\":[");
        for (index, tag) in dependency.tags.iter().enumerate() {
            if index > 0 {
                out.push(',');
            }
            write_string(out, tag);
        }
        out.push(']');
    }
    if dependency.enabled == Some(true) {
        out.push_str(",\"enabled\":true");
    }
    if !dependency.import_values.is_empty() {
        out.push_str(",\"import-values\":");
        write_value(out, &Value::Array(dependency.import_values.clone()));
    }
    if let Some(alias) = dependency.alias.as_deref().filter(|a| !a.is_empty()) {
        out.push_str(",\"alias\":");
        write_string(out, alias);
    }
    out.push('}');
}

/// A value as Go writes what it decoded from JSON into `any`: numbers are float64, object keys
/// sorted.
fn write_value(out: &mut String, value: &Value) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(on) => out.push_str(if *on { "true" } else { "false" }),
        Value::Number(number) => out.push_str(&go_float64_json(number)),
        Value::String(text) => write_string(out, text),
        Value::Array(items) => {
            out.push('[');
            for (index, item) in items.iter().enumerate() {
                if index > 0 {
                    out.push(',');
                }
                write_value(out, item);
            }
            out.push(']');
        }
        Value::Object(fields) => {
            let mut keys: Vec<&String> = fields.keys().collect();
            keys.sort();
            out.push('{');
            for (index, key) in keys.into_iter().enumerate() {
                if index > 0 {
                    out.push(',');
                }
                write_string(out, key);
                out.push(':');
                write_value(out, fields.get(key).unwrap_or(&Value::Null));
            }
            out.push('}');
        }
    }
}

/// A JSON string as Go's `json.Marshal` escapes it: HTML's `<`, `>`, `&` and the line and
/// paragraph separators as `\u` escapes too.
fn write_string(out: &mut String, text: &str) {
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '<' | '>' | '&' | '\u{2028}' | '\u{2029}' | '\0'..='\u{1f}' => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            _ => out.push(c),
        }
    }
    out.push('"');
}

/// A number as Go's `encoding/json` writes a float64: shortest digits, in exponent form only
/// below 1e-6 or from 1e21 on (`1e+21`, `1e-7`).
fn go_float64_json(number: &Number) -> String {
    let value = number.as_f64().unwrap_or_default();
    let magnitude = value.abs();
    if magnitude != 0.0 && !(1e-6..1e21).contains(&magnitude) {
        let text = format!("{value:e}");
        match text.split_once('e') {
            Some((mantissa, exponent)) if !exponent.starts_with('-') => {
                format!("{mantissa}e+{exponent}")
            }
            _ => text,
        }
    } else {
        format!("{value}")
    }
}

/// Go's `strconv.FormatFloat(value, 'g', -1, 32)`: the shortest digits that read back as the
/// same float32, in exponent form (two exponent digits at least) when the exponent is below -4
/// or 6 and up.
fn go_float32_g(value: f64) -> String {
    // Narrowing is the point: go-yaml prints floats at float32 precision.
    #[allow(clippy::cast_possible_truncation)]
    let narrow = value as f32;
    if narrow == 0.0 {
        return if narrow.is_sign_negative() { "-0" } else { "0" }.to_string();
    }
    if narrow.is_nan() {
        return "NaN".to_string();
    }
    if narrow.is_infinite() {
        return if narrow < 0.0 { "-Inf" } else { "+Inf" }.to_string();
    }
    let scientific = format!("{:e}", narrow.abs());
    let (mantissa, exponent) = scientific.split_once('e').unwrap_or((&scientific, "0"));
    let exponent: i32 = exponent.parse().unwrap_or(0);
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let sign = if narrow < 0.0 { "-" } else { "" };
    if !(-4..6).contains(&exponent) {
        let (first, rest) = digits.split_at(1);
        let point = if rest.is_empty() { "" } else { "." };
        let exponent_sign = if exponent < 0 { '-' } else { '+' };
        return format!(
            "{sign}{first}{point}{rest}e{exponent_sign}{:02}",
            exponent.abs()
        );
    }
    // Fixed form: the digits around the point at `exponent + 1`.
    let point = exponent + 1;
    let text = if point <= 0 {
        format!("0.{}{digits}", "0".repeat(point.unsigned_abs() as usize))
    } else {
        let point = point.unsigned_abs() as usize;
        if digits.len() <= point {
            format!("{digits}{}", "0".repeat(point - digits.len()))
        } else {
            format!("{}.{}", &digits[..point], &digits[point..])
        }
    };
    format!("{sign}{text}")
}

#[cfg(test)]
mod tests;
