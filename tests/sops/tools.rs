//! The real tools, run in a test's own folder: keys from `age-keygen`, files encrypted and
//! decrypted by `sops` 3.11.0 (both pinned by `scripts/sops-tools`), and the comparison of
//! driftless's plaintext with what `sops -d` prints.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use driftless::render::sops::{self, Keys, SopsError};
use serde_json::Value;

use crate::support::{self, Run};

/// The folder holding `sops`, `age` and `age-keygen`, installed on first use.
fn dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| support::tools_dir("scripts/sops-tools"))
}

/// An age key made by `age-keygen`: its file, public key and secret line.
pub struct AgeKey {
    pub file: PathBuf,
    pub recipient: String,
    pub secret: String,
}

impl AgeKey {
    pub fn keys(&self) -> Keys {
        Keys::read(std::slice::from_ref(&self.file)).expect("read the key file")
    }
}

/// A test's folder, where files are written, encrypted and decrypted.
pub struct Lab {
    dir: tempfile::TempDir,
}

impl Lab {
    pub fn new() -> Lab {
        Lab {
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn keygen(&self, name: &str) -> AgeKey {
        let file = self.path().join(format!("{name}.txt"));
        let out = Command::new(dir().join("age-keygen"))
            .arg("-o")
            .arg(&file)
            .output()
            .expect("run age-keygen");
        Run::from_output(out).succeeded("age-keygen");
        let text = std::fs::read_to_string(&file).expect("read the key file");
        let line = |prefix: &str| {
            let found = text.lines().find_map(|l| l.strip_prefix(prefix));
            found.expect("age-keygen's line").trim().to_string()
        };
        AgeKey {
            recipient: line("# public key: "),
            secret: format!("AGE-SECRET-KEY-{}", line("AGE-SECRET-KEY-")),
            file,
        }
    }

    /// One key file holding the keys of `keys`, as a key of its own.
    pub fn key_file(&self, name: &str, keys: &[&AgeKey]) -> AgeKey {
        let file = self.path().join(format!("{name}.txt"));
        let texts: Vec<String> = keys
            .iter()
            .map(|k| std::fs::read_to_string(&k.file).expect("read a key file"))
            .collect();
        std::fs::write(&file, texts.concat()).expect("write the key file");
        let joined =
            |f: fn(&AgeKey) -> &str| keys.iter().map(|k| f(k)).collect::<Vec<_>>().join(",");
        AgeKey {
            file,
            recipient: joined(|k| &k.recipient),
            secret: joined(|k| &k.secret),
        }
    }

    /// `sops ARGS` in the folder, with `key` (if any) to decrypt; must succeed: its stdout.
    pub fn sops(&self, args: &[&str], key: Option<&AgeKey>) -> String {
        let run = self.sops_run(args, key);
        run.succeeded(format!("sops {}", args.join(" ")))
    }

    /// `sops ARGS` in the folder, with `key` (if any) to decrypt.
    pub fn sops_run(&self, args: &[&str], key: Option<&AgeKey>) -> Run {
        let mut command = Command::new(dir().join("sops"));
        command
            .args(args)
            .current_dir(self.path())
            // Only the keys the test gives: none from the user's config or environment.
            .env("XDG_CONFIG_HOME", self.path())
            .env("HOME", self.path())
            .env_remove("SOPS_AGE_KEY")
            .env_remove("SOPS_AGE_KEY_CMD")
            .env_remove("SOPS_AGE_KEY_FILE");
        if let Some(key) = key {
            command.env("SOPS_AGE_KEY_FILE", &key.file);
        }
        Run::from_output(command.output().expect("run sops"))
    }

    /// Writes `plain` as `name` and encrypts it in place for `recipients`; the encrypted text.
    pub fn encrypt(
        &self,
        name: &str,
        plain: &str,
        recipients: &[&AgeKey],
        extra: &[&str],
    ) -> String {
        std::fs::write(self.path().join(name), plain).expect("write the plaintext");
        let recipients: Vec<&str> = recipients.iter().map(|k| k.recipient.as_str()).collect();
        let recipients = recipients.join(",");
        let mut args = vec!["--encrypt", "--in-place", "--age", &recipients];
        args.extend_from_slice(extra);
        args.push(name);
        self.sops(&args, None);
        self.read(name)
    }

    pub fn read(&self, name: &str) -> String {
        std::fs::read_to_string(self.path().join(name)).expect("read the file")
    }

    pub fn write(&self, name: &str, text: &str) {
        std::fs::write(self.path().join(name), text).expect("write the file");
    }

    /// What `sops -d` prints for `name`, parsed as driftless parses plain files.
    pub fn sops_plaintext(&self, name: &str, key: &AgeKey) -> Vec<Value> {
        let printed = self.sops(&["--decrypt", name], Some(key));
        let docs = driftless::render::yaml::parse_file(&printed, is_json(name));
        docs.expect("sops -d prints YAML or JSON")
            .into_iter()
            .map(|d| d.value)
            .collect()
    }

    /// driftless decrypts `name` to exactly what `sops -d` prints; its plaintext.
    pub fn decrypts_as_sops_does(&self, name: &str, key: &AgeKey) -> sops::Plain {
        let text = self.read(name);
        assert!(
            sops::is_encrypted(&text, is_json(name)),
            "{name} reads as encrypted"
        );
        let plain = sops::decrypt(&text, is_json(name), &key.keys())
            .unwrap_or_else(|e| panic!("driftless decrypts {name}: {e}\n{text}"));
        let theirs = self.sops_plaintext(name, key);
        assert!(
            same(
                &Value::from(plain.documents.clone()),
                &Value::from(theirs.clone())
            ),
            "driftless's plaintext of {name}\n{:#}\nis not sops's\n{:#}",
            Value::from(plain.documents.clone()),
            Value::from(theirs)
        );
        plain
    }
}

pub fn is_json(name: &str) -> bool {
    name.ends_with(".json")
}

/// Equal values, numbers by value (SOPS prints a whole float as an integer, `1e+06` as a float).
fn same(ours: &Value, theirs: &Value) -> bool {
    match (ours, theirs) {
        (Value::Number(a), Value::Number(b)) => a.as_f64() == b.as_f64(),
        (Value::Array(a), Value::Array(b)) => {
            a.len() == b.len() && a.iter().zip(b).all(|(x, y)| same(x, y))
        }
        (Value::Object(a), Value::Object(b)) => {
            a.len() == b.len() && a.iter().all(|(k, v)| b.get(k).is_some_and(|w| same(v, w)))
        }
        _ => ours == theirs,
    }
}

impl Lab {
    /// driftless refuses `text` (and so does `sops -d`) with `key` (or none): the error names
    /// `line` and `why`, and holds none of `secrets`.
    pub fn refused(
        &self,
        text: &str,
        json: bool,
        key: Option<&AgeKey>,
        (line, why): (Option<usize>, &str),
        secrets: &[&str],
    ) -> SopsError {
        let keys = key.map_or_else(|| Keys::read(&[]).expect("no keys"), AgeKey::keys);
        let err = match sops::decrypt(text, json, &keys) {
            Ok(_) => panic!("decrypted, though it should be refused for {why:?}:\n{text}"),
            Err(e) => e,
        };
        eprintln!("refused: {err}");
        assert_contains!(err.reason, why);
        assert_eq!(err.line, line, "the line of: {err}");
        let shown = format!("{err} {err:?}");
        for secret in secrets {
            assert_not_contains!(
                shown,
                secret,
                "an error never holds a key or a plaintext value"
            );
        }
        let name = if json { "refused.json" } else { "refused.yaml" };
        self.write(name, text);
        let run = self.sops_run(&["--decrypt", name], key);
        assert_ne!(run.code, 0, "sops -d refuses it too: {}", run.stdout);
        err
    }
}

/// The 1-based line of the first line of `text` containing `needle`.
pub fn line_of(text: &str, needle: &str) -> usize {
    let found = text.lines().position(|l| l.contains(needle));
    found.unwrap_or_else(|| panic!("no {needle:?} in\n{text}")) + 1
}
