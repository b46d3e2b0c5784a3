//! The README matches the binary: every `driftless` command it shows parses (flags that do not
//! apply included), those that need no cluster run on the repository's own example, and its
//! agent config passes `--check`.

use driftless::cli::{ArgsError, Cli};

use crate::support::{self, Workspace};

fn readme() -> String {
    std::fs::read_to_string(support::repo_root().join("README.md")).unwrap()
}

/// The fenced code blocks: (language, text).
fn code_blocks(text: &str) -> Vec<(String, String)> {
    let mut blocks = Vec::new();
    let mut open: Option<(String, String)> = None;
    for line in text.lines() {
        match (&mut open, line.strip_prefix("```")) {
            (None, Some(lang)) => open = Some((lang.trim().to_string(), String::new())),
            (Some(_), Some(_)) => blocks.extend(open.take()),
            (Some((_, body)), None) => {
                body.push_str(line);
                body.push('\n');
            }
            (None, None) => {}
        }
    }
    blocks
}

/// The `driftless` commands of the `sh` blocks (every line is a command), and of the `text`
/// blocks (transcripts: a command follows `$ `; the rest is output), continuations joined.
fn commands(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    for (lang, body) in code_blocks(text) {
        let prompt = match lang.as_str() {
            "sh" => "",
            "text" => "$ ",
            _ => continue,
        };
        let joined = body.replace("\\\n", " ");
        for line in joined.lines() {
            if let Some(command) = line.trim_start().strip_prefix(prompt)
                && command.starts_with("driftless ")
            {
                found.push(command.to_string());
            }
        }
    }
    found
}

/// What the README's shell variables stand for here.
fn variable(name: &str) -> String {
    match name {
        "PWD" => support::repo_root().to_string_lossy().into_owned(),
        "RUNNER_TEMP" => "/tmp/runner".into(),
        "RUN_URL" => "https://ci.example.com/run/1".into(),
        other => panic!("the README uses ${other}: say here what it stands for"),
    }
}

/// A command line split as sh splits it (quotes, backslashes, `$VAR`, comments), up to the
/// first redirection or pipe.
fn words(command: &str) -> Vec<String> {
    let mut words = Vec::new();
    let (mut word, mut started) = (String::new(), false);
    let (mut single, mut double) = (false, false);
    let mut chars = command.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\'' if !double => single = !single,
            '"' if !single => double = !double,
            '\\' if !single => word.extend(chars.next()),
            '$' if !single => {
                let braced = chars.next_if_eq(&'{').is_some();
                let mut name = String::new();
                while let Some(c) = chars.next_if(|c| c.is_ascii_alphanumeric() || *c == '_') {
                    name.push(c);
                }
                if braced {
                    assert_eq!(chars.next(), Some('}'), "{command}");
                }
                word.push_str(&variable(&name));
            }
            c if single || double => word.push(c),
            '#' if !started => break,
            '>' | '|' | '<' | ';' | '&' => break,
            c if c.is_whitespace() => {
                if started {
                    words.push(std::mem::take(&mut word));
                }
                started = false;
                continue;
            }
            c => word.push(c),
        }
        started = true;
    }
    if started {
        words.push(word);
    }
    words
}

#[test]
fn the_readme_is_read_as_a_shell_reads_it() {
    assert_eq!(
        words(r#"driftless diff --source "file://$PWD" -o 'a b' x\ y  # a comment"#),
        [
            "driftless",
            "diff",
            "--source",
            &format!("file://{}", support::repo_root().display()),
            "-o",
            "a b",
            "x y"
        ]
    );
    assert_eq!(
        words("driftless render --source d > out.yaml"),
        ["driftless", "render", "--source", "d"]
    );
    let text = "```sh\ndriftless a \\\n  --b c  # d\nkubectl x\n```\n```text\ndriftless sync of x\n$ driftless lint\n```\n";
    assert_eq!(
        commands(text),
        ["driftless a    --b c  # d", "driftless lint"]
    );
}

#[test]
fn every_driftless_command_in_the_readme_parses() {
    let commands = commands(&readme());
    assert!(commands.len() >= 15, "{commands:#?}");
    for command in &commands {
        match Cli::parse_checked_from(words(command)) {
            Ok(_) => {}
            Err(ArgsError::Clap(e)) if !e.use_stderr() => {} // --version, --help
            Err(ArgsError::Clap(e)) => panic!("{command}\n{}", e.render()),
            Err(e) => panic!("{command}\n{e}"),
        }
    }
}

/// The README's placeholder directories, as paths of this repository.
fn real_path(word: &str) -> Option<&'static str> {
    match word {
        "./manifests" | "./main-checkout" => Some("examples/platform-repo"),
        _ => None,
    }
}

#[test]
fn the_readme_commands_that_need_no_cluster_run_on_the_example() {
    let mut ran = Vec::new();
    for command in commands(&readme()) {
        let words = words(&command);
        let offline = words.iter().any(|w| w == "--base-source" || w == "--base");
        let runs = match words[1].as_str() {
            "render" | "lint" => true,
            "diff" => offline,
            _ => false,
        };
        // Sources elsewhere (a GitHub repository) are only parsed.
        let sources: Vec<&String> = words
            .windows(2)
            .filter(|pair| pair[0] == "--source" || pair[0] == "--base-source")
            .map(|pair| &pair[1])
            .collect();
        if !runs || sources.iter().any(|s| real_path(s).is_none()) {
            continue;
        }
        let args: Vec<&str> = words[1..]
            .iter()
            .map(|w| real_path(w).unwrap_or(w))
            .collect();
        // The reader's own age key opens their Secrets; the example's is the demo key.
        let key = support::repo_root().join(support::DEMO_AGE_KEY);
        let key = key.to_string_lossy();
        let run = support::offline_with_env(&args, &[("SOPS_AGE_KEY_FILE", &key)]);
        assert_eq!(run.code, 0, "{command}\n{}", run.stderr);
        assert_not_contains!(run.stderr, "error", "{command}");
        ran.push(words[1].clone());
    }
    ran.sort();
    assert_eq!(
        ran,
        ["diff", "lint", "render"],
        "the README's offline commands"
    );
}

/// The README's agent config, and its line for `key`.
fn agent_config() -> String {
    let readme = readme();
    let from = readme.find("**The config file**").unwrap();
    let (_, yaml) = code_blocks(&readme[from..]).into_iter().next().unwrap();
    assert_contains!(yaml, "kind: AgentConfig");
    yaml
}

#[test]
fn the_readme_agent_config_passes_check_and_check_names_the_wrong_line() {
    let ws = Workspace::new();
    let check = |text: &str| {
        ws.write("agent.yaml", text);
        let config = ws.file("agent.yaml").to_string_lossy().into_owned();
        support::offline(&["agent", "--config", &config, "--check"])
    };
    let yaml = agent_config();
    let valid = check(&yaml);
    assert_eq!(valid.code, 0, "{yaml}\n{}", valid.stderr);
    assert_contains!(valid.stderr, "valid (1 sync set)");
    for (from, to, error) in [
        (
            "    selfHeal: false",
            "    selfheal: false",
            "unknown key `selfheal`",
        ),
        (
            "    interval: 60s",
            "    interval: 60x",
            "interval: invalid duration",
        ),
        (
            "  - name: platform",
            "  - name: Platform",
            "invalid sync set name",
        ),
        (
            "      fetchTimeout: 2m",
            "      fetchTimeout: soon",
            "fetchTimeout: invalid duration",
        ),
    ] {
        let at = yaml
            .find(from)
            .unwrap_or_else(|| panic!("the README has no {from:?}"));
        let line = yaml[..at].lines().count() + 1;
        let run = check(&yaml.replacen(from, to, 1));
        assert_eq!(run.code, 2, "{}", run.stderr);
        assert_contains!(
            run.stderr,
            [format!("agent.yaml:{line}: "), error],
            "{to} is on line {line}"
        );
    }
}
