//! Lint findings in text and Markdown, for `driftless lint` and for every diff and sync report.

use std::fmt::Write as _;
use std::io;

use crate::lint::{Change, Finding, LintReport};

/// `[added]`, `[fixed]` or nothing.
fn mark(f: &Finding) -> String {
    f.change
        .map_or(String::new(), |c| format!(" [{}]", c.label()))
}

/// A summary line, then each active or fixed finding (what, where, the fix), then the
/// suppressed ones with their reasons; written finding by finding.
pub fn write_text(lint: &LintReport, out: &mut dyn io::Write) -> io::Result<()> {
    writeln!(out, "lint: {}", lint.summary())?;
    for f in lint.findings.iter().filter(|f| f.suppressed.is_none()) {
        let severity = match f.change {
            Some(Change::Fixed) => "fixed".to_string(),
            _ => f.severity.label().to_ascii_uppercase(),
        };
        writeln!(
            out,
            "  {severity:<8} {:<19} {} ({}){}",
            f.check.id(),
            f.object,
            f.origin,
            mark(f)
        )?;
        writeln!(out, "           {}: {}", f.path, f.message)?;
        if f.change != Some(Change::Fixed) {
            writeln!(out, "           fix: {}", f.fix())?;
        }
    }
    for f in lint.findings.iter().filter(|f| f.suppressed.is_some()) {
        writeln!(
            out,
            "  suppressed {} {} ({}): {}",
            f.check.id(),
            f.object,
            f.origin,
            f.suppressed.as_deref().unwrap_or_default()
        )?;
    }
    Ok(())
}

/// Text made safe for a Markdown table cell.
pub fn cell(text: &str) -> String {
    text.replace('|', "\\|")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace(['\n', '\r'], " ")
}

const HEADER: &str =
    "| severity | check | object | where | finding | fix |\n|---|---|---|---|---|---|\n";

/// Against a base, a first column says what the change did.
const COMPARED_HEADER: &str =
    "| | severity | check | object | where | finding | fix |\n|---|---|---|---|---|---|---|\n";

fn row(f: &Finding, compared: bool) -> String {
    let icon = match f.change {
        Some(Change::Added) => "| 🆕 added ",
        Some(Change::Fixed) => "| ✅ fixed ",
        None if compared => "| ",
        None => "",
    };
    format!(
        "{icon}| {} | `{}` | `{}` | `{}` | {} | {} |\n",
        f.severity,
        f.check.id(),
        cell(&f.object.to_string()),
        cell(&f.origin.to_string()),
        cell(&format!("`{}`: {}", f.path, f.message)),
        if f.change == Some(Change::Fixed) {
            String::new()
        } else {
            cell(f.fix())
        }
    )
}

/// The findings as a Markdown section of at most `max` characters (as many rows as fit, worst
/// first); returns it and how many findings it left out.
pub fn markdown(lint: &LintReport, max: usize) -> (String, usize) {
    let mut out = format!("\n#### Lint: {}\n\n", cell(&lint.summary()));
    let shown: Vec<&Finding> = lint
        .findings
        .iter()
        .filter(|f| f.suppressed.is_none())
        .collect();
    let suppressed: Vec<&Finding> = lint
        .findings
        .iter()
        .filter(|f| f.suppressed.is_some())
        .collect();
    let mut left_out = 0;
    let header = if lint.compared {
        COMPARED_HEADER
    } else {
        HEADER
    };
    let mut table = String::from(header);
    for f in &shown {
        let line = row(f, lint.compared);
        if out.len() + table.len() + line.len() > max {
            left_out += 1;
        } else {
            table.push_str(&line);
        }
    }
    if table.len() > header.len() {
        out.push_str(&table);
    }
    if !suppressed.is_empty() {
        let mut block = format!(
            "\n<details><summary>{} suppressed</summary>\n\n",
            suppressed.len()
        );
        for f in &suppressed {
            let _ = writeln!(
                block,
                "- `{}` on `{}` (`{}`): {}",
                f.check.id(),
                cell(&f.object.to_string()),
                cell(&f.origin.to_string()),
                cell(f.suppressed.as_deref().unwrap_or_default())
            );
        }
        block.push_str("\n</details>\n");
        if out.len() + block.len() <= max {
            out.push_str(&block);
        } else {
            left_out += suppressed.len();
        }
    }
    (out, left_out)
}
