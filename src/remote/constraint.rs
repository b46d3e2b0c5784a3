//! Helm's version ranges, as Masterminds/semver v3 reads them: what `helm` accepts in a
//! dependency's `version:` and in `--version`.
//!
//! A constraint is alternatives separated by `||`; each alternative is terms, separated by commas
//! or spaces, that must all hold. A term is an operator (`=`, `!=`, `>`, `<`, `>=`, `=>`, `<=`,
//! `=<`, `~`, `~>`, `^`, or none) and a version whose parts may be wildcards (`x`, `X`, `*`) or
//! missing (`1.2` is `1.2.x`); `A - B` is `>= A, <= B`. A version with a prerelease only matches an
//! alternative in which some term has a prerelease too.
//!
//! The comparisons follow Masterminds' own, quirks included (`^*` takes only 0.0.0, `<=*` only
//! 0.0.x, `>*` all but 0.0.0), since a chart resolves to whatever helm picks. One departure: empty
//! text means any release, as helm's `--version ""` does, where Masterminds refuses it.

use std::cmp::Ordering;
use std::fmt;

use semver::{BuildMetadata, Prerelease, Version};

/// A parsed version range. Its [`Display`](fmt::Display) is the text it was parsed from.
#[derive(Debug, Clone, PartialEq)]
pub struct Constraint {
    text: String,
    /// Alternatives (`||`), each terms that must all hold.
    alternatives: Vec<Vec<Term>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    /// `=` or no operator: equal, or a tilde range when a part is a wildcard or missing.
    Equal,
    NotEqual,
    Greater,
    Less,
    GreaterEqual,
    LessEqual,
    Tilde,
    Caret,
}

/// One comparison. As in Masterminds, a wildcard or missing part turns into 0 in `version` and
/// is remembered in the `*_wild` flags, which the operators read.
#[derive(Debug, Clone, PartialEq)]
struct Term {
    op: Op,
    version: Version,
    /// Some part is a wildcard or missing.
    wild: bool,
    /// The minor part (and so the patch) is a wildcard or missing: `1`, `1.x`.
    minor_wild: bool,
    /// Only the patch part is a wildcard or missing: `1.2`, `1.2.x`.
    patch_wild: bool,
}

impl Constraint {
    /// Parses a constraint. Empty (or blank) text means any release, as helm's `--version ""`.
    pub fn parse(text: &str) -> Result<Constraint, String> {
        let fail = |why: String| format!("invalid version constraint {text:?}: {why}");
        if !text.is_ascii() {
            return Err(fail("only ASCII characters can appear in one".to_string()));
        }
        let alternatives = if text.bytes().all(is_space) {
            vec![vec![any_release()]]
        } else {
            text.split("||")
                .map(parse_alternative)
                .collect::<Result<Vec<_>, _>>()
                .map_err(fail)?
        };
        Ok(Constraint {
            text: text.to_string(),
            alternatives,
        })
    }

    /// Whether `version` satisfies some alternative.
    pub fn matches(&self, version: &Version) -> bool {
        self.alternatives.iter().any(|terms| {
            // Masterminds lets prereleases in for a whole alternative once any of its terms
            // names one.
            let prereleases = terms.iter().any(|term| !term.version.pre.is_empty());
            if !version.pre.is_empty() && !prereleases {
                return false;
            }
            terms.iter().all(|term| term.matches(version))
        })
    }

    /// Whether it names exactly one version: one term, `=` or no operator, no wildcard or missing
    /// part (`1.2.3`, `=v1.2.3`, `1.2.3-rc.1`).
    pub fn is_exact(&self) -> bool {
        match self.alternatives.as_slice() {
            [terms] => match terms.as_slice() {
                [term] => term.op == Op::Equal && !term.wild,
                _ => false,
            },
            _ => false,
        }
    }
}

impl fmt::Display for Constraint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// Parses a version leniently, as Masterminds' `NewVersion`: an optional `v`, one to three
/// numbers (missing ones are 0, leading zeros allowed), then an optional prerelease and build.
/// The text must be exactly that: no spaces, no fourth number.
pub fn parse_version(text: &str) -> Option<Version> {
    let mut cursor = Cursor::new(text.strip_prefix('v').unwrap_or(text));
    let mut numbers = [0u64; 3];
    for (index, number) in numbers.iter_mut().enumerate() {
        if index > 0 && !cursor.eat(b'.') {
            break;
        }
        let digits = cursor.take_while(|b| b.is_ascii_digit());
        *number = digits.parse().ok()?;
    }
    let (pre, build) = cursor.suffix().ok()?;
    if !cursor.at_end() {
        return None;
    }
    Some(Version {
        major: numbers[0],
        minor: numbers[1],
        patch: numbers[2],
        pre: prerelease(pre).ok()?,
        build: build_metadata(build).ok()?,
    })
}

/// The highest of `versions` that parses (see [`parse_version`]) and matches, as given. Of
/// versions that differ only in build metadata, the first wins.
pub fn newest<'a>(
    constraint: &Constraint,
    versions: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let mut best: Option<(&'a str, Version)> = None;
    for text in versions {
        let Some(version) = parse_version(text) else {
            continue;
        };
        if !constraint.matches(&version) {
            continue;
        }
        let higher = match &best {
            Some((_, current)) => version.cmp_precedence(current) == Ordering::Greater,
            None => true,
        };
        if higher {
            best = Some((text, version));
        }
    }
    best.map(|(text, _)| text)
}

/// `*`: every release.
fn any_release() -> Term {
    Term {
        op: Op::Equal,
        version: Version::new(0, 0, 0),
        wild: true,
        minor_wild: false,
        patch_wild: false,
    }
}

/// One `||` alternative: terms separated by spaces or a comma; `A - B` ranges among them.
fn parse_alternative(text: &str) -> Result<Vec<Term>, String> {
    let mut cursor = Cursor::new(text);
    cursor.skip_spaces();
    if cursor.at_end() {
        return Err("an alternative between `||` is empty".to_string());
    }
    let mut terms = Vec::new();
    // Masterminds rewrites `A - B` by text into `>= A, <= B`, swallowing the spaces before it: a
    // range after a plain term needs a comma between them, or helm refuses the result.
    let mut after_plain_term_without_comma = false;
    loop {
        let start = cursor.position;
        let op = cursor.operator();
        if op.is_some() {
            cursor.skip_spaces();
        }
        let low = cursor.version_pattern()?;
        let mut range = false;
        // Only a bare version starts a range; `>=1 - 2` is refused below, as helm does.
        let high = if op.is_none() {
            cursor.range_end()?
        } else {
            None
        };
        match (op, high) {
            (Some(op), _) => terms.push(low.term(op)?),
            (None, Some(high)) => {
                if after_plain_term_without_comma {
                    return Err(format!(
                        "the range {:?} must be separated from the term before it by a comma",
                        cursor.since(start)
                    ));
                }
                terms.push(low.term(Op::GreaterEqual)?);
                terms.push(high.term(Op::LessEqual)?);
                range = true;
            }
            (None, None) => terms.push(low.term(Op::Equal)?),
        }
        let spaced = cursor.skip_spaces();
        if cursor.at_end() {
            return Ok(terms);
        }
        if cursor.eat(b',') {
            cursor.skip_spaces();
            if cursor.at_end() {
                return Err("a comma must be followed by another term".to_string());
            }
            after_plain_term_without_comma = false;
        } else if spaced {
            after_plain_term_without_comma = !range;
        } else {
            return Err(format!(
                "unexpected {:?} after {:?}",
                cursor.rest(),
                cursor.since(start).trim_end()
            ));
        }
    }
}

/// A version as a constraint writes it, before it becomes a [`Term`].
struct Pattern<'a> {
    text: &'a str,
    /// Each of major, minor, patch: a number, `None` for a wildcard; absent when missing.
    parts: Vec<Option<u64>>,
    pre: &'a str,
    build: &'a str,
}

impl Pattern<'_> {
    fn term(&self, op: Op) -> Result<Term, String> {
        let pre = prerelease(self.pre).map_err(|why| format!("{:?}: {why}", self.text))?;
        // The first wildcard or missing part zeroes it and everything after it (a build is
        // dropped then, as Masterminds does).
        let wild_at = self
            .parts
            .iter()
            .position(Option::is_none)
            .unwrap_or(self.parts.len());
        let part = |index: usize| match self.parts.get(index) {
            Some(Some(number)) if index < wild_at => *number,
            _ => 0,
        };
        let build = if wild_at >= 3 {
            build_metadata(self.build).map_err(|why| format!("{:?}: {why}", self.text))?
        } else {
            BuildMetadata::EMPTY
        };
        Ok(Term {
            op,
            version: Version {
                major: part(0),
                minor: part(1),
                patch: part(2),
                pre,
                build,
            },
            wild: wild_at < 3,
            minor_wild: wild_at == 1,
            patch_wild: wild_at == 2,
        })
    }
}

impl Term {
    fn matches(&self, version: &Version) -> bool {
        let order = version.cmp_precedence(&self.version);
        let own = &self.version;
        match self.op {
            Op::Equal if self.wild => self.tilde(version, order),
            Op::Equal => order == Ordering::Equal,
            Op::NotEqual => self.not_equal(version, order),
            Op::Greater => self.greater(version, order),
            Op::Less => order == Ordering::Less,
            Op::GreaterEqual => order != Ordering::Less,
            Op::LessEqual => {
                if !self.wild {
                    order != Ordering::Greater
                } else {
                    // `<=1.2` takes all of 1.2.x; `<=1` all of 1.x.
                    version.major < own.major
                        || version.major == own.major
                            && (version.minor <= own.minor || self.minor_wild)
                }
            }
            Op::Tilde => self.tilde(version, order),
            Op::Caret => self.caret(version, order),
        }
    }

    /// `>1.2` wants 1.3.0 or more, `>1` 2.0.0 or more.
    fn greater(&self, version: &Version, order: Ordering) -> bool {
        let own = &self.version;
        if !self.wild {
            return order == Ordering::Greater;
        }
        if version.major != own.major {
            return version.major > own.major;
        }
        if self.minor_wild {
            return false;
        }
        if self.patch_wild {
            return version.minor > own.minor;
        }
        order == Ordering::Greater
    }

    /// `~1.2.3` is `>=1.2.3 <1.3.0`, `~1` is `>=1.0.0 <2.0.0`, `~0.0.0` (and `~*`) any.
    fn tilde(&self, version: &Version, order: Ordering) -> bool {
        let own = &self.version;
        if order == Ordering::Less {
            return false;
        }
        if own.major == 0
            && own.minor == 0
            && own.patch == 0
            && !self.minor_wild
            && !self.patch_wild
        {
            return true;
        }
        version.major == own.major && (version.minor == own.minor || self.minor_wild)
    }

    /// `^1.2.3` is `>=1.2.3 <2.0.0`, `^0.2.3` is `>=0.2.3 <0.3.0`, `^0.0.3` is `>=0.0.3 <0.0.4`.
    fn caret(&self, version: &Version, order: Ordering) -> bool {
        let own = &self.version;
        if order == Ordering::Less {
            return false;
        }
        if own.major > 0 || self.minor_wild {
            return version.major == own.major;
        }
        if version.major > 0 {
            return false;
        }
        if own.minor > 0 || self.patch_wild {
            return version.minor == own.minor;
        }
        version.minor == 0 && version.patch == own.patch
    }

    /// `!=1.2` excludes all of 1.2.x, `!=1` all of 1.x.
    fn not_equal(&self, version: &Version, order: Ordering) -> bool {
        let own = &self.version;
        if self.wild {
            if version.major != own.major {
                return true;
            }
            if self.minor_wild {
                return false;
            }
            if version.minor != own.minor {
                return true;
            }
            if self.patch_wild {
                // Within the excluded minor only a different prerelease gets through.
                return version.pre != own.pre;
            }
            if version.patch != own.patch {
                return true;
            }
        }
        order != Ordering::Equal
    }
}

fn prerelease(text: &str) -> Result<Prerelease, String> {
    if text.is_empty() {
        return Ok(Prerelease::EMPTY);
    }
    Prerelease::new(text).map_err(|why| format!("prerelease {text:?}: {why}"))
}

fn build_metadata(text: &str) -> Result<BuildMetadata, String> {
    if text.is_empty() {
        return Ok(BuildMetadata::EMPTY);
    }
    BuildMetadata::new(text).map_err(|why| format!("build metadata {text:?}: {why}"))
}

/// Go's `\s`, which is what Masterminds' patterns allow between terms.
fn is_space(byte: u8) -> bool {
    matches!(byte, b' ' | b'\t' | b'\n' | b'\r' | b'\x0c')
}

fn is_identifier(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'.'
}

/// A position in a text; it only ever steps over ASCII.
struct Cursor<'a> {
    text: &'a str,
    position: usize,
}

impl<'a> Cursor<'a> {
    fn new(text: &'a str) -> Self {
        Cursor { text, position: 0 }
    }

    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.position).copied()
    }

    fn at_end(&self) -> bool {
        self.position >= self.text.len()
    }

    fn rest(&self) -> &'a str {
        self.text.get(self.position..).unwrap_or("")
    }

    fn since(&self, start: usize) -> &'a str {
        self.text.get(start..self.position).unwrap_or("")
    }

    fn eat(&mut self, byte: u8) -> bool {
        let found = self.peek() == Some(byte);
        if found {
            self.position += 1;
        }
        found
    }

    fn take_while(&mut self, keep: impl Fn(u8) -> bool) -> &'a str {
        let start = self.position;
        while self.peek().is_some_and(&keep) {
            self.position += 1;
        }
        self.since(start)
    }

    /// Skips spaces; whether there were any.
    fn skip_spaces(&mut self) -> bool {
        !self.take_while(is_space).is_empty()
    }

    fn operator(&mut self) -> Option<Op> {
        const OPERATORS: [(&str, Op); 11] = [
            ("!=", Op::NotEqual),
            (">=", Op::GreaterEqual),
            ("=>", Op::GreaterEqual),
            ("<=", Op::LessEqual),
            ("=<", Op::LessEqual),
            ("~>", Op::Tilde),
            ("=", Op::Equal),
            (">", Op::Greater),
            ("<", Op::Less),
            ("~", Op::Tilde),
            ("^", Op::Caret),
        ];
        let rest = self.rest();
        let (token, op) = OPERATORS
            .iter()
            .find(|(token, _)| rest.starts_with(token))?;
        self.position += token.len();
        Some(*op)
    }

    /// `-pre` and `+build` after the numbers, either or both; each without its sign.
    fn suffix(&mut self) -> Result<(&'a str, &'a str), String> {
        let mut identifiers = |sign: u8, what: &str| {
            if !self.eat(sign) {
                return Ok("");
            }
            let text = self.take_while(is_identifier);
            if text.is_empty() || text.split('.').any(str::is_empty) {
                return Err(format!("{what} {text:?} has an empty identifier"));
            }
            Ok(text)
        };
        let pre = identifiers(b'-', "prerelease")?;
        let build = identifiers(b'+', "build metadata")?;
        Ok((pre, build))
    }

    /// A version in a constraint: `v`, up to three parts (numbers or `x`, `X`, `*`), a
    /// prerelease, a build.
    fn version_pattern(&mut self) -> Result<Pattern<'a>, String> {
        let start = self.position;
        self.eat(b'v');
        let mut parts = Vec::new();
        while parts.len() < 3 && (parts.is_empty() || self.eat(b'.')) {
            let part = self.take_while(|b| b.is_ascii_digit() || matches!(b, b'x' | b'X' | b'*'));
            parts.push(match part {
                "x" | "X" | "*" => None,
                _ if !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit()) => Some(
                    part.parse::<u64>()
                        .map_err(|_| format!("{part:?} is too large"))?,
                ),
                _ if part.is_empty() && parts.is_empty() => {
                    let found = self.rest().split(is_space_char).next().unwrap_or("");
                    return Err(if found.is_empty() {
                        "a version is missing".to_string()
                    } else {
                        format!("expected a version, found {found:?}")
                    });
                }
                _ => {
                    return Err(format!("{:?} is not a version", self.since(start)));
                }
            });
        }
        if parts.len() == 3 && self.peek() == Some(b'.') {
            let end = self.rest().split(is_space_char).next().unwrap_or("");
            return Err(format!(
                "{:?} has more than three parts",
                format!("{}{end}", self.since(start))
            ));
        }
        let (pre, build) = self.suffix()?;
        Ok(Pattern {
            text: self.since(start),
            parts,
            pre,
            build,
        })
    }

    /// After a version: ` - high` (spaces required around the hyphen) makes it a range.
    fn range_end(&mut self) -> Result<Option<Pattern<'a>>, String> {
        let start = self.position;
        if self.skip_spaces() && self.eat(b'-') && self.skip_spaces() {
            let ahead = self.rest().as_bytes().first().copied();
            if ahead.is_some_and(|b| b.is_ascii_digit() || matches!(b, b'v' | b'x' | b'X' | b'*')) {
                return self.version_pattern().map(Some);
            }
            return Err(format!(
                "the range {:?} has no upper version",
                self.text.trim()
            ));
        }
        self.position = start;
        Ok(None)
    }
}

fn is_space_char(c: char) -> bool {
    u8::try_from(c).is_ok_and(is_space)
}

#[cfg(test)]
mod tests;
