//! A gzip'd tar archive (a packaged chart, an OCI artifact's layer) unpacked into memory, never
//! onto disk: regular files only, each at a relative path inside the archive; links become copies
//! of the files they name; anything that could reach outside (`..`, absolute paths, links that
//! leave, devices) is refused; and the inflated stream is capped while it is read, so a gzip bomb
//! stops at the cap.

use std::collections::BTreeMap;
use std::fmt;
use std::io::{self, Read};
use std::path::{Component, Path, PathBuf};

use flate2::read::MultiGzDecoder;
use tar::EntryType;

/// How much an archive may unpack to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Most files (and links) kept.
    pub max_files: usize,
    /// Most bytes of one file.
    pub max_file_bytes: u64,
    /// Most bytes of all files together, link copies included.
    pub max_total_bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_files: 10_000,
            max_file_bytes: 16 << 20,
            max_total_bytes: 64 << 20,
        }
    }
}

/// One regular file of the archive.
#[derive(Clone, PartialEq, Eq)]
pub struct Entry {
    /// Relative, of normal components only.
    pub path: PathBuf,
    pub bytes: Vec<u8>,
}

impl fmt::Debug for Entry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // A file's bytes may be large or secret; its size says enough.
        f.debug_struct("Entry")
            .field("path", &self.path)
            .field("bytes", &self.bytes.len())
            .finish()
    }
}

/// Why an archive was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ArchiveError {
    #[error("not a gzip'd tar archive: {0}")]
    Unreadable(String),
    #[error("entry {path}: {rule}")]
    Entry { path: String, rule: Rule },
    #[error("more than {0} files (the file count cap)")]
    TooManyFiles(usize),
    #[error("more than {0} bytes unpacked (the size cap)")]
    TooLarge(u64),
}

/// The rule one entry breaks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rule {
    Leaves,
    Absolute,
    EmptyPath,
    /// `a character device`, `a block device`, `a fifo`.
    Special(&'static str),
    /// A type tar knows but driftless does not unpack (its type byte).
    Unsupported(u8),
    TooLarge(u64),
    LinkLeaves {
        kind: LinkKind,
        target: String,
    },
    LinkDangles {
        kind: LinkKind,
        target: String,
    },
    LinkChain {
        kind: LinkKind,
        target: String,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkKind {
    Symlink,
    Hard,
}

impl fmt::Display for LinkKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            LinkKind::Symlink => "a symlink",
            LinkKind::Hard => "a hard link",
        })
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Rule::Leaves => f.write_str("a path that leaves the archive"),
            Rule::Absolute => f.write_str("an absolute path"),
            Rule::EmptyPath => f.write_str("an empty path"),
            Rule::Special(what) => f.write_str(what),
            Rule::Unsupported(byte) => write!(
                f,
                "an entry of type {:?}, which driftless does not unpack",
                char::from(*byte)
            ),
            Rule::TooLarge(cap) => write!(f, "more than {cap} bytes (the per-file cap)"),
            Rule::LinkLeaves { kind, target } => {
                write!(f, "{kind} to {target} that leaves the archive")
            }
            Rule::LinkDangles { kind, target } => {
                write!(f, "{kind} to {target}, which is no file of the archive")
            }
            Rule::LinkChain { kind, target } => write!(
                f,
                "{kind} to {target} through more than {MAX_LINK_DEPTH} links (or a loop)"
            ),
        }
    }
}

/// Links followed to reach a file, at most.
const MAX_LINK_DEPTH: usize = 16;

/// Unpacks `bytes` (a `.tgz`) into its regular files, sorted by path. A later entry for the same
/// path replaces an earlier one, as `tar x` would.
pub fn unpack_tar_gz(bytes: &[u8], limits: &Limits) -> Result<Vec<Entry>, ArchiveError> {
    // Room for each entry's header, padding and long-name header besides the files' bytes.
    let room = (limits.max_files as u64)
        .saturating_mul(1536)
        .saturating_add(1 << 20);
    let cap = limits.max_total_bytes.saturating_add(room);
    let mut archive = tar::Archive::new(Capped::new(MultiGzDecoder::new(bytes), cap));
    let read = read_nodes(&mut archive, limits);
    if archive.into_inner().over {
        // Whatever tar said, the stream was cut at the cap.
        return Err(ArchiveError::TooLarge(limits.max_total_bytes));
    }
    resolve(read?, limits)
}

/// What one path of the archive holds once every entry is read.
enum Node {
    File(Vec<u8>),
    Link { kind: LinkKind, target: PathBuf },
    Dir,
}

fn read_nodes<R: Read>(
    archive: &mut tar::Archive<R>,
    limits: &Limits,
) -> Result<BTreeMap<PathBuf, Node>, ArchiveError> {
    let unreadable = |e: io::Error| ArchiveError::Unreadable(e.to_string());
    let mut nodes = BTreeMap::new();
    let (mut files, mut total) = (0usize, 0u64);
    for entry in archive.entries().map_err(unreadable)? {
        let mut entry = entry.map_err(unreadable)?;
        let raw = entry.path().map_err(unreadable)?.into_owned();
        let fail = |rule| ArchiveError::Entry {
            path: raw.display().to_string(),
            rule,
        };
        let kind = entry.header().entry_type();
        let node = match kind {
            EntryType::XGlobalHeader => continue,
            EntryType::Directory => Node::Dir,
            EntryType::Regular | EntryType::Continuous | EntryType::GNUSparse => {
                let size = entry.size();
                if size > limits.max_file_bytes {
                    return Err(fail(Rule::TooLarge(limits.max_file_bytes)));
                }
                if total.saturating_add(size) > limits.max_total_bytes {
                    return Err(ArchiveError::TooLarge(limits.max_total_bytes));
                }
                let mut bytes = Vec::with_capacity(size.min(1 << 20) as usize);
                // The header's size is only a claim: read no more than it allows.
                (&mut entry)
                    .take(size)
                    .read_to_end(&mut bytes)
                    .map_err(unreadable)?;
                total += bytes.len() as u64;
                Node::File(bytes)
            }
            EntryType::Symlink | EntryType::Link => {
                let link = if kind == EntryType::Symlink {
                    LinkKind::Symlink
                } else {
                    LinkKind::Hard
                };
                let target = entry.link_name().map_err(unreadable)?.unwrap_or_default();
                Node::Link {
                    kind: link,
                    target: target.into_owned(),
                }
            }
            EntryType::Char => return Err(fail(Rule::Special("a character device"))),
            EntryType::Block => return Err(fail(Rule::Special("a block device"))),
            EntryType::Fifo => return Err(fail(Rule::Special("a fifo"))),
            other => return Err(fail(Rule::Unsupported(other.as_byte()))),
        };
        let path = match clean(&raw) {
            // `./` itself, as `tar -C dir .` writes it: the root, nothing to keep.
            Err(Rule::EmptyPath) if matches!(node, Node::Dir) => continue,
            cleaned => cleaned.map_err(fail)?,
        };
        if !matches!(node, Node::Dir) {
            files += 1;
            if files > limits.max_files {
                return Err(ArchiveError::TooManyFiles(limits.max_files));
            }
        }
        nodes.insert(path, node);
    }
    Ok(nodes)
}

/// The entry's path as normal components; `./` dropped.
fn clean(raw: &Path) -> Result<PathBuf, Rule> {
    let mut path = PathBuf::new();
    for component in raw.components() {
        match component {
            Component::Normal(part) => path.push(part),
            Component::CurDir => {}
            Component::ParentDir => return Err(Rule::Leaves),
            Component::RootDir | Component::Prefix(_) => return Err(Rule::Absolute),
        }
    }
    if path.as_os_str().is_empty() {
        return Err(Rule::EmptyPath);
    }
    Ok(path)
}

/// Files as they are; links as copies of the files they end at.
fn resolve(nodes: BTreeMap<PathBuf, Node>, limits: &Limits) -> Result<Vec<Entry>, ArchiveError> {
    let mut total: u64 = nodes
        .values()
        .map(|n| match n {
            Node::File(bytes) => bytes.len() as u64,
            _ => 0,
        })
        .sum();
    let mut out = Vec::new();
    for (path, node) in &nodes {
        let bytes = match node {
            Node::Dir => continue,
            Node::File(bytes) => bytes.clone(),
            Node::Link { kind, target } => {
                let bytes =
                    follow(&nodes, path, *kind, target).map_err(|rule| ArchiveError::Entry {
                        path: path.display().to_string(),
                        rule,
                    })?;
                // A copy costs memory like a file: many links to one big file must not blow up.
                total = total.saturating_add(bytes.len() as u64);
                if total > limits.max_total_bytes {
                    return Err(ArchiveError::TooLarge(limits.max_total_bytes));
                }
                bytes.clone()
            }
        };
        out.push(Entry {
            path: path.clone(),
            bytes,
        });
    }
    Ok(out)
}

/// The bytes of the file a link ends at, through at most [`MAX_LINK_DEPTH`] links. `kind` and
/// `target` are the first link's, for the message.
fn follow<'a>(
    nodes: &'a BTreeMap<PathBuf, Node>,
    start: &Path,
    kind: LinkKind,
    target: &Path,
) -> Result<&'a Vec<u8>, Rule> {
    let shown = || target.display().to_string();
    let mut at = start.to_path_buf();
    for _ in 0..=MAX_LINK_DEPTH {
        match nodes.get(&at) {
            Some(Node::File(bytes)) => return Ok(bytes),
            Some(Node::Link {
                kind: hop,
                target: to,
            }) => {
                // A symlink is relative to its folder; a hard link to the archive's root.
                let base = match hop {
                    LinkKind::Symlink => at.parent().unwrap_or(Path::new("")),
                    LinkKind::Hard => Path::new(""),
                };
                at = join(base, to).ok_or_else(|| Rule::LinkLeaves {
                    kind,
                    target: shown(),
                })?;
            }
            Some(Node::Dir) | None => {
                return Err(Rule::LinkDangles {
                    kind,
                    target: shown(),
                });
            }
        }
    }
    Err(Rule::LinkChain {
        kind,
        target: shown(),
    })
}

/// `base` joined with a link target, `..` applied; `None` when it climbs out or is absolute.
fn join(base: &Path, target: &Path) -> Option<PathBuf> {
    let mut path = base.to_path_buf();
    for component in target.components() {
        match component {
            Component::Normal(part) => path.push(part),
            Component::CurDir => {}
            Component::ParentDir => {
                if !path.pop() {
                    return None;
                }
            }
            Component::RootDir | Component::Prefix(_) => return None,
        }
    }
    Some(path)
}

/// A reader that fails once more than `cap` bytes came through, and remembers that it did.
struct Capped<R> {
    inner: R,
    left: u64,
    over: bool,
}

impl<R> Capped<R> {
    fn new(inner: R, cap: u64) -> Self {
        Capped {
            inner,
            left: cap,
            over: false,
        }
    }
}

impl<R: Read> Read for Capped<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.over {
            return Err(io::Error::other("over the size cap"));
        }
        // One byte past the cap tells "exactly at the cap" from "over it".
        let want = buf
            .len()
            .min(usize::try_from(self.left.saturating_add(1)).unwrap_or(usize::MAX));
        let n = self.inner.read(&mut buf[..want])?;
        if n as u64 > self.left {
            // Hand over what fits; the next read fails.
            self.over = true;
            if self.left == 0 {
                return Err(io::Error::other("over the size cap"));
            }
            let fits = self.left as usize;
            self.left = 0;
            return Ok(fits);
        }
        self.left -= n as u64;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use flate2::Compression;
    use flate2::write::GzEncoder;
    use tar::{Builder, Header};

    use super::*;

    type Tar = Builder<Vec<u8>>;

    fn gzip(bytes: &[u8]) -> Vec<u8> {
        let mut gz = GzEncoder::new(Vec::new(), Compression::default());
        gz.write_all(bytes).unwrap();
        gz.finish().unwrap()
    }

    fn tgz(build: impl FnOnce(&mut Tar)) -> Vec<u8> {
        let mut tar = Builder::new(Vec::new());
        build(&mut tar);
        gzip(&tar.into_inner().unwrap())
    }

    fn header(kind: EntryType, size: u64) -> Header {
        let mut h = Header::new_gnu();
        h.set_entry_type(kind);
        h.set_size(size);
        h.set_mode(0o644);
        h
    }

    fn file(tar: &mut Tar, path: &str, data: &[u8]) {
        let mut h = header(EntryType::Regular, data.len() as u64);
        tar.append_data(&mut h, path, data).unwrap();
    }

    fn dir(tar: &mut Tar, path: &str) {
        let mut h = header(EntryType::Directory, 0);
        tar.append_data(&mut h, path, io::empty()).unwrap();
    }

    fn link(tar: &mut Tar, kind: EntryType, path: &str, target: &str) {
        let mut h = header(kind, 0);
        tar.append_link(&mut h, path, target).unwrap();
    }

    /// An entry whose name the builder would refuse (`..`, absolute), written straight in.
    fn raw(tar: &mut Tar, kind: EntryType, name: &str, data: &[u8]) {
        let mut h = header(kind, data.len() as u64);
        h.as_old_mut().name[..name.len()].copy_from_slice(name.as_bytes());
        h.set_cksum();
        tar.append(&h, data).unwrap();
    }

    fn unpack(bytes: &[u8]) -> Result<Vec<(String, String)>, String> {
        unpack_with(bytes, &Limits::default())
    }

    fn unpack_with(bytes: &[u8], limits: &Limits) -> Result<Vec<(String, String)>, String> {
        let entries = unpack_tar_gz(bytes, limits).map_err(|e| e.to_string())?;
        Ok(entries
            .into_iter()
            .map(|e| {
                let text = String::from_utf8_lossy(&e.bytes).into_owned();
                (e.path.display().to_string(), text)
            })
            .collect())
    }

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(p, t)| (p.to_string(), t.to_string()))
            .collect()
    }

    #[test]
    fn keeps_files_sorted_skips_folders_and_strips_dot_slash() {
        let bytes = tgz(|t| {
            dir(t, "./");
            dir(t, "chart/");
            file(t, "chart/values.yaml", b"a: 1");
            file(t, "./chart/Chart.yaml", b"name: c");
            dir(t, "chart/templates");
            file(t, "chart/templates/cm.yaml", b"kind: ConfigMap");
        });
        let want = [
            ("chart/Chart.yaml", "name: c"),
            ("chart/templates/cm.yaml", "kind: ConfigMap"),
            ("chart/values.yaml", "a: 1"),
        ];
        assert_eq!(unpack(&bytes).unwrap(), pairs(&want));
    }

    #[test]
    fn a_later_entry_replaces_an_earlier_one() {
        let bytes = tgz(|t| {
            file(t, "a", b"first");
            file(t, "./a", b"second");
        });
        assert_eq!(unpack(&bytes).unwrap(), pairs(&[("a", "second")]));
    }

    #[test]
    fn long_paths_come_through() {
        let long = format!("chart/{}/file.yaml", "deep".repeat(40));
        assert!(long.len() > 100);
        let bytes = tgz(|t| file(t, &long, b"x"));
        assert_eq!(unpack(&bytes).unwrap(), pairs(&[(&long, "x")]));
    }

    #[test]
    fn links_inside_become_copies() {
        let bytes = tgz(|t| {
            file(t, "c/values.yaml", b"v");
            link(t, EntryType::Link, "c/hard.yaml", "c/values.yaml");
            link(t, EntryType::Symlink, "c/sub/soft.yaml", "../values.yaml");
            // A chain: a symlink to the symlink.
            link(t, EntryType::Symlink, "c/chain.yaml", "sub/soft.yaml");
        });
        let want = [
            ("c/chain.yaml", "v"),
            ("c/hard.yaml", "v"),
            ("c/sub/soft.yaml", "v"),
            ("c/values.yaml", "v"),
        ];
        assert_eq!(unpack(&bytes).unwrap(), pairs(&want));
    }

    #[test]
    fn refusals_name_the_entry_and_the_rule() {
        type Build = fn(&mut Tar);
        let cases: [(Build, &str); 9] = [
            (
                |t| raw(t, EntryType::Regular, "../x", b"x"),
                "entry ../x: a path that leaves the archive",
            ),
            (
                |t| raw(t, EntryType::Regular, "a/../../x", b"x"),
                "entry a/../../x: a path that leaves the archive",
            ),
            (
                |t| raw(t, EntryType::Regular, "/etc/passwd", b"x"),
                "entry /etc/passwd: an absolute path",
            ),
            (
                |t| link(t, EntryType::Symlink, "a/link", "../../etc"),
                "entry a/link: a symlink to ../../etc that leaves the archive",
            ),
            (
                |t| link(t, EntryType::Symlink, "a/link", "/etc/passwd"),
                "entry a/link: a symlink to /etc/passwd that leaves the archive",
            ),
            (
                |t| link(t, EntryType::Link, "a/hard", "../x"),
                "entry a/hard: a hard link to ../x that leaves the archive",
            ),
            (
                |t| link(t, EntryType::Symlink, "a/link", "gone"),
                "entry a/link: a symlink to gone, which is no file of the archive",
            ),
            (
                |t| raw(t, EntryType::Char, "dev/null", b""),
                "entry dev/null: a character device",
            ),
            (
                |t| raw(t, EntryType::Fifo, "pipe", b""),
                "entry pipe: a fifo",
            ),
        ];
        for (build, want) in cases {
            assert_eq!(unpack(&tgz(build)).unwrap_err(), want);
        }
    }

    #[test]
    fn links_to_folders_and_loops_are_refused() {
        let to_dir = tgz(|t| {
            dir(t, "d");
            link(t, EntryType::Symlink, "l", "d");
        });
        let err = unpack(&to_dir).unwrap_err();
        assert_eq!(
            err,
            "entry l: a symlink to d, which is no file of the archive"
        );
        let looped = tgz(|t| {
            link(t, EntryType::Symlink, "a", "b");
            link(t, EntryType::Symlink, "b", "a");
        });
        let err = unpack(&looped).unwrap_err();
        assert_eq!(
            err,
            "entry a: a symlink to b through more than 16 links (or a loop)"
        );
    }

    #[test]
    fn caps_files_bytes_and_link_copies() {
        let limits = Limits {
            max_files: 2,
            max_file_bytes: 10,
            max_total_bytes: 25,
        };
        let three = tgz(|t| ["a", "b", "c"].iter().for_each(|p| file(t, p, b"x")));
        let err = unpack_with(&three, &limits).unwrap_err();
        assert_eq!(err, "more than 2 files (the file count cap)");
        let big = tgz(|t| file(t, "big", &[b'x'; 11]));
        let err = unpack_with(&big, &limits).unwrap_err();
        assert_eq!(err, "entry big: more than 10 bytes (the per-file cap)");
        let total = tgz(|t| {
            file(t, "a", &[b'x'; 10]);
            file(t, "b", &[b'x'; 10]);
        });
        assert!(unpack_with(&total, &limits).is_ok());
        // Each copy of a 10-byte file counts: 20 + 10 > 25.
        let copies = tgz(|t| {
            file(t, "a", &[b'x'; 10]);
            link(t, EntryType::Link, "b", "a");
        });
        assert!(unpack_with(&copies, &limits).is_ok());
        let more = tgz(|t| {
            file(t, "a", &[b'x'; 10]);
            file(t, "b", &[b'x'; 10]);
            link(t, EntryType::Link, "c", "a");
        });
        let limits = Limits {
            max_files: 3,
            ..limits
        };
        let err = unpack_with(&more, &limits).unwrap_err();
        assert_eq!(err, "more than 25 bytes unpacked (the size cap)");
    }

    #[test]
    fn a_gzip_bomb_stops_at_the_cap() {
        // The same folder entry over and over: no file, no byte counted, only the stream grows.
        let mut tar = Builder::new(Vec::new());
        dir(&mut tar, "d/");
        // Its header alone: no end-of-archive marker, so a reader goes on to the next copy.
        let block = tar.get_ref()[..512].to_vec();
        let member = gzip(&block.repeat(2048)); // 1 MiB inflated
        let bomb = member.repeat(1024); // 1 GiB inflated
        assert!(bomb.len() < 16 << 20, "{}", bomb.len());
        let limits = Limits {
            max_files: 10,
            max_file_bytes: 1 << 20,
            max_total_bytes: 1 << 20,
        };
        let err = unpack_with(&bomb, &limits).unwrap_err();
        assert_eq!(err, "more than 1048576 bytes unpacked (the size cap)");
    }

    #[test]
    fn the_cap_stops_reading_right_after_it() {
        let mut capped = Capped::new(io::repeat(0), 10_000);
        let mut sink = Vec::new();
        let err = capped.read_to_end(&mut sink).unwrap_err();
        assert_eq!(err.to_string(), "over the size cap");
        assert_eq!(sink.len(), 10_000);
        assert!(capped.over);
    }

    #[test]
    fn garbage_is_not_an_archive() {
        let err = unpack(b"not gzip at all").unwrap_err();
        assert!(err.starts_with("not a gzip'd tar archive: "), "{err}");
        let err = unpack(&gzip(b"not a tar")).unwrap_err();
        assert!(err.starts_with("not a gzip'd tar archive: "), "{err}");
    }
}
