//! `assert_contains!` and `assert_not_contains!`: a failed check names the needle and prints the
//! whole haystack, so the log shows what was said instead of what was expected.
//!
//! ```ignore
//! assert_contains!(run.stderr, "nothing applied");
//! assert_contains!(run.stdout, format!("at {commit}"), "the report names the commit");
//! assert_contains!(run.stderr, ["locked by ci-job-42", "--lock-timeout"]);
//! assert_not_contains!(run.all_output(), token, "the token never prints");
//! ```
//! Text is searched for a substring, a list (`Vec<String>`, `[&str; N]`) for an element.

use std::fmt::{self, Display};

/// Every needle is in the haystack (`[a, b]` for several); an optional context message follows.
macro_rules! assert_contains {
    ($($args:tt)+) => {
        contains_check!(true, $($args)+)
    };
}

/// No needle is in the haystack (`[a, b]` for several); an optional context message follows.
macro_rules! assert_not_contains {
    ($($args:tt)+) => {
        contains_check!(false, $($args)+)
    };
}

macro_rules! contains_check {
    (@ $present:expr, $haystack:expr, [$($needle:expr),+], $context:expr) => {
        $crate::support::asserts::check(
            &$haystack,
            stringify!($haystack),
            &[$(&$needle as &dyn ::std::fmt::Display),+],
            $present,
            $context,
        )
    };
    ($present:expr, $haystack:expr, [$($needle:expr),+ $(,)?] $(,)?) => {
        contains_check!(@ $present, $haystack, [$($needle),+], None)
    };
    ($present:expr, $haystack:expr, [$($needle:expr),+ $(,)?], $($context:tt)+) => {
        contains_check!(@ $present, $haystack, [$($needle),+], Some(format!($($context)+)))
    };
    ($present:expr, $haystack:expr, $needle:expr $(,)?) => {
        contains_check!(@ $present, $haystack, [$needle], None)
    };
    ($present:expr, $haystack:expr, $needle:expr, $($context:tt)+) => {
        contains_check!(@ $present, $haystack, [$needle], Some(format!($($context)+)))
    };
}

/// What `contains` searches: text for a substring, a list for an equal element.
pub trait Haystack {
    fn has(&self, needle: &str) -> bool;
    /// The haystack as a failure prints it.
    fn show(&self) -> String;
}

impl Haystack for str {
    fn has(&self, needle: &str) -> bool {
        self.contains(needle)
    }
    fn show(&self) -> String {
        self.to_string()
    }
}

impl Haystack for String {
    fn has(&self, needle: &str) -> bool {
        self.as_str().has(needle)
    }
    fn show(&self) -> String {
        self.clone()
    }
}

/// Lists: an element equal to the needle, not a substring of one.
macro_rules! list_haystack {
    ($([$($generics:tt)*] $list:ty),+ $(,)?) => {$(
        impl<$($generics)*> Haystack for $list {
            fn has(&self, needle: &str) -> bool {
                self.iter().any(|item| item.as_ref() == needle)
            }
            fn show(&self) -> String {
                self.iter().map(|item| format!("{:?}\n", item.as_ref())).collect()
            }
        }
    )+};
}

list_haystack!(
    [T: AsRef<str>] [T],
    [T: AsRef<str>] Vec<T>,
    [T: AsRef<str>, const N: usize] [T; N],
    [T: AsRef<str>] std::collections::BTreeSet<T>,
);

impl<H: Haystack + ?Sized> Haystack for &H {
    fn has(&self, needle: &str) -> bool {
        (**self).has(needle)
    }
    fn show(&self) -> String {
        (**self).show()
    }
}

/// Panics, naming the needles found (or missing) and printing the haystack, unless each
/// needle's presence is `present`.
#[track_caller]
pub fn check(
    haystack: &(impl Haystack + ?Sized),
    name: &str,
    needles: &[&dyn Display],
    present: bool,
    context: Option<String>,
) {
    let wrong: Vec<String> = needles
        .iter()
        .map(|needle| needle.to_string())
        .filter(|needle| haystack.has(needle) != present)
        .collect();
    if wrong.is_empty() {
        return;
    }
    panic!(
        "{}",
        Failure {
            name,
            wrong: &wrong,
            present,
            context,
            haystack: haystack.show()
        }
    );
}

struct Failure<'a> {
    name: &'a str,
    wrong: &'a [String],
    present: bool,
    context: Option<String>,
    haystack: String,
}

impl Display for Failure<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let verb = if self.present {
            "does not contain"
        } else {
            "contains (and must not)"
        };
        for needle in self.wrong {
            writeln!(f, "`{}` {verb} {needle:?}", self.name)?;
        }
        if let Some(context) = &self.context {
            writeln!(f, "  ({context})")?;
        }
        write!(f, "--- `{}` ---\n{}", self.name, self.haystack)?;
        if !self.haystack.ends_with('\n') {
            writeln!(f)?;
        }
        write!(f, "--- end of `{}` ---", self.name)
    }
}

#[test]
fn a_failure_names_what_is_missing_and_prints_the_haystack() {
    let stderr = "error: nothing applied\n".to_string();
    assert_contains!(stderr, "nothing applied");
    assert_not_contains!(stderr, ["app.yaml:", ','], "at {}", 3);
    assert_contains!(vec!["a", "bc"], "bc");
    assert_not_contains!(["a", "bc"], "b", "an element, not a substring");
    let failure = std::panic::catch_unwind(|| {
        assert_contains!(stderr, ["nothing applied", "app.yaml:", 'x'], "at {}", 3)
    })
    .unwrap_err();
    assert_eq!(
        failure.downcast_ref::<String>().unwrap(),
        "`stderr` does not contain \"app.yaml:\"\n`stderr` does not contain \"x\"\n  (at 3)\n\
         --- `stderr` ---\nerror: nothing applied\n--- end of `stderr` ---"
    );
}
