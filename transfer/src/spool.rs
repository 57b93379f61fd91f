//! Spool directories and durable file moves.
//!
//! A host keeps five directories: the **outbox** a carrier takes bundles from, the **retained**
//! outbox where the outer side keeps every published bundle until it is acknowledged, the
//! **inbox** a carrier puts bundles into, the **archive** of bundles applied (or recognised as
//! duplicates), and the **quarantine** of bundles refused, each with a `.reason.json` file beside
//! it.
//!
//! Every file is written atomically: a temporary file in the same directory, `fsync`, `rename`,
//! `fsync` of the directory. Names that start with `.` are temporary and never listed, so a
//! reader never sees a half-written bundle.
//!
//! Every file is opened for reading with [`open_regular`]: a symbolic link is never followed and
//! a FIFO or device never blocks the run (a carrier or an attacker with write access to a medium
//! can put either where a bundle is expected), and every read stops at a limit.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::{FileTypeExt as _, OpenOptionsExt as _};
use std::path::{Path, PathBuf};

use bundle_format::{BundleId, Header};

/// File name suffix of bundle files in every spool directory.
pub const BUNDLE_SUFFIX: &str = ".bundle";
/// File name suffix of the reason file beside a quarantined bundle.
pub const REASON_SUFFIX: &str = ".reason.json";
/// Most files one directory scan looks at; the rest wait for the next run.
pub const MAX_SCAN_FILES: usize = 100_000;

/// Why a spool operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SpoolError {
    /// A file or directory operation failed.
    #[error("{action} {path}: {source}")]
    Io {
        /// What was being done, e.g. `renaming`.
        action: &'static str,
        /// The path it was done to.
        path: PathBuf,
        /// The system's error.
        #[source]
        source: io::Error,
    },
    /// A file is larger than anything that could be a bundle.
    #[error("{path} is {size} bytes, more than the {max} a bundle file may have")]
    TooLarge {
        /// The file.
        path: PathBuf,
        /// Its size.
        size: u64,
        /// The limit.
        max: u64,
    },
    /// Something other than a regular file is where a file was expected.
    #[error("{path} is {kind}, not a regular file; it is not opened")]
    NotRegular {
        /// The path.
        path: PathBuf,
        /// What it is: `a symbolic link`, `a FIFO`, `a device`, …
        kind: &'static str,
    },
    /// A directory holds more files than one scan takes.
    #[error("{path} holds more than {max} entries; carry or clean some and run again")]
    TooManyFiles {
        /// The directory.
        path: PathBuf,
        /// The limit.
        max: usize,
    },
}

fn io_err<'p>(action: &'static str, path: &'p Path) -> impl FnOnce(io::Error) -> SpoolError + 'p {
    move |source| SpoolError::Io {
        action,
        path: path.to_owned(),
        source,
    }
}

/// The five spool directories of one host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Spool {
    /// Bundles waiting for a carrier.
    pub outbox: PathBuf,
    /// Published bundles kept until acknowledged (outer side) or as sent (inner side).
    pub retained: PathBuf,
    /// Bundles a carrier delivered.
    pub inbox: PathBuf,
    /// Bundles applied or recognised as duplicates.
    pub archive: PathBuf,
    /// Bundles refused, each with a reason file.
    pub quarantine: PathBuf,
}

impl Spool {
    /// The standard layout under one directory: `outbox/`, `retained/`, `inbox/`, `archive/`,
    /// `quarantine/`.
    pub fn under(dir: &Path) -> Spool {
        Spool {
            outbox: dir.join("outbox"),
            retained: dir.join("retained"),
            inbox: dir.join("inbox"),
            archive: dir.join("archive"),
            quarantine: dir.join("quarantine"),
        }
    }

    /// Creates every directory that does not exist yet.
    pub fn create_all(&self) -> Result<(), SpoolError> {
        for dir in [
            &self.outbox,
            &self.retained,
            &self.inbox,
            &self.archive,
            &self.quarantine,
        ] {
            fs::create_dir_all(dir).map_err(io_err("creating directory", dir))?;
        }
        Ok(())
    }
}

/// The file name a bundle is published under: kind, channel, epoch, zero-padded sequence and
/// part, and the start of its id, so a directory listing sorts in chain order and two different
/// bundles never share a name.
pub fn bundle_file_name(header: &Header, id: &BundleId) -> String {
    let id = id.to_string();
    format!(
        "{}-c{}-e{}-s{:012}-p{:04}-{}{}",
        header.kind,
        header.channel,
        header.epoch,
        header.sequence,
        header.part_index,
        &id[..16],
        BUNDLE_SUFFIX
    )
}

/// Whether `name` is a bundle file a scan should pick up (not a temporary or reason file).
pub fn is_bundle_name(name: &str) -> bool {
    !name.starts_with('.') && name.ends_with(BUNDLE_SUFFIX)
}

/// Bundle files in `dir`, sorted by name. Temporary files (leading `.`) are skipped.
pub fn list_bundles(dir: &Path) -> Result<Vec<PathBuf>, SpoolError> {
    let mut found = Vec::new();
    for entry in fs::read_dir(dir).map_err(io_err("listing", dir))? {
        let entry = entry.map_err(io_err("listing", dir))?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if !is_bundle_name(name) {
            continue;
        }
        let kind = entry.file_type().map_err(io_err("listing", dir))?;
        if !kind.is_file() {
            continue;
        }
        if found.len() >= MAX_SCAN_FILES {
            return Err(SpoolError::TooManyFiles {
                path: dir.to_owned(),
                max: MAX_SCAN_FILES,
            });
        }
        found.push(entry.path());
    }
    found.sort();
    Ok(found)
}

/// Opens `path` for reading if it is a regular file, and refuses anything else without being
/// stopped by it: a symbolic link is not followed (`O_NOFOLLOW`), and the open never waits
/// (`O_NONBLOCK`, which a FIFO without a writer would otherwise block on), so a FIFO or device
/// is opened, seen for what it is by `fstat` and refused before anything is read from it.
pub fn open_regular(path: &Path) -> Result<File, SpoolError> {
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path)
        .map_err(|source| {
            if source.raw_os_error() == Some(libc::ELOOP) {
                SpoolError::NotRegular {
                    path: path.to_owned(),
                    kind: "a symbolic link",
                }
            } else {
                io_err("opening", path)(source)
            }
        })?;
    let kind = file
        .metadata()
        .map_err(io_err("reading metadata of", path))?
        .file_type();
    if !kind.is_file() {
        return Err(SpoolError::NotRegular {
            path: path.to_owned(),
            kind: describe(kind),
        });
    }
    // O_NONBLOCK changes nothing for a regular file's reads, so it can stay set.
    Ok(file)
}

/// What a directory entry that is not a regular file is, for messages.
pub fn describe(kind: fs::FileType) -> &'static str {
    if kind.is_file() {
        "a regular file"
    } else if kind.is_symlink() {
        "a symbolic link"
    } else if kind.is_fifo() {
        "a FIFO"
    } else if kind.is_block_device() || kind.is_char_device() {
        "a device"
    } else if kind.is_socket() {
        "a socket"
    } else if kind.is_dir() {
        "a directory"
    } else {
        "not a file"
    }
}

/// Reads a whole regular file ([`open_regular`]), refusing one larger than `max` bytes before
/// reading it.
pub fn read_bounded(path: &Path, max: u64) -> Result<Vec<u8>, SpoolError> {
    let file = open_regular(path)?;
    let size = file
        .metadata()
        .map_err(io_err("reading metadata of", path))?
        .len();
    if size > max {
        return Err(SpoolError::TooLarge {
            path: path.to_owned(),
            size,
            max,
        });
    }
    let mut bytes = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
    // Read one byte more than allowed so a file that grew since the check is caught.
    file.take(max.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(io_err("reading", path))?;
    if bytes.len() as u64 > max {
        return Err(SpoolError::TooLarge {
            path: path.to_owned(),
            size: bytes.len() as u64,
            max,
        });
    }
    Ok(bytes)
}

/// Flushes a directory's entries to disk (after a rename or unlink in it).
pub fn sync_dir(dir: &Path) -> Result<(), SpoolError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io_err("syncing directory", dir))
}

/// Writes `dir/name` atomically: `write` fills a temporary file in `dir`, which is synced,
/// renamed over `name` and followed by a sync of `dir`. Returns the final path.
pub fn write_atomic(
    dir: &Path,
    name: &str,
    write: impl FnOnce(&mut File) -> io::Result<()>,
) -> Result<PathBuf, SpoolError> {
    let target = dir.join(name);
    let mut temp = tempfile::Builder::new()
        .prefix(".tmp-")
        .tempfile_in(dir)
        .map_err(io_err("creating a temporary file in", dir))?;
    write(temp.as_file_mut()).map_err(io_err("writing", temp.path()))?;
    temp.as_file()
        .sync_all()
        .map_err(io_err("syncing", &target))?;
    crate::failpoint::hit("spool.before-rename");
    temp.persist(&target).map_err(|e| SpoolError::Io {
        action: "renaming into place",
        path: target.clone(),
        source: e.error,
    })?;
    crate::failpoint::hit("spool.after-rename");
    sync_dir(dir)?;
    Ok(target)
}

/// Copies the regular file `source` to `dir/name` durably (atomic write as in
/// [`write_atomic`]), refusing a source larger than a bundle file may be.
pub fn copy_durable(source: &Path, dir: &Path, name: &str) -> Result<PathBuf, SpoolError> {
    let max = bundle_format::bundle::MAX_FILE_BYTES as u64;
    let input = open_regular(source)?;
    let mut copied = 0;
    let written = write_atomic(dir, name, |out| {
        copied = io::copy(&mut input.take(max.saturating_add(1)), out)?;
        if copied > max {
            // Nothing is renamed into place: the temporary file goes with the error.
            return Err(io::ErrorKind::FileTooLarge.into());
        }
        Ok(())
    });
    match written {
        Err(SpoolError::Io { source: e, .. }) if e.kind() == io::ErrorKind::FileTooLarge => {
            Err(SpoolError::TooLarge {
                path: source.to_owned(),
                size: copied,
                max,
            })
        }
        other => other,
    }
}

/// Moves `source` into `dir` under `name` durably, never losing it: a rename when both are on
/// one file system, otherwise a durable copy followed by removal of the source.
pub fn move_durable(source: &Path, dir: &Path, name: &str) -> Result<PathBuf, SpoolError> {
    let target = dir.join(name);
    crate::failpoint::hit("spool.before-rename");
    match fs::rename(source, &target) {
        Ok(()) => {
            crate::failpoint::hit("spool.after-rename");
            sync_dir(dir)?;
            if let Some(parent) = source.parent() {
                sync_dir(parent)?;
            }
            Ok(target)
        }
        Err(e) if e.kind() == io::ErrorKind::CrossesDevices => {
            let target = copy_durable(source, dir, name)?;
            remove_durable(source)?;
            Ok(target)
        }
        Err(source_err) => Err(SpoolError::Io {
            action: "moving",
            path: source.to_owned(),
            source: source_err,
        }),
    }
}

/// Removes a file and syncs its directory.
pub fn remove_durable(path: &Path) -> Result<(), SpoolError> {
    fs::remove_file(path).map_err(io_err("removing", path))?;
    if let Some(parent) = path.parent() {
        sync_dir(parent)?;
    }
    Ok(())
}

/// Removes the files `names` of `dir` (a name already gone is fine), then syncs `dir` once.
pub fn remove_all_durable<'a>(
    dir: &Path,
    names: impl IntoIterator<Item = &'a str>,
) -> Result<(), SpoolError> {
    for name in names {
        let path = dir.join(name);
        match fs::remove_file(&path) {
            Err(error) if error.kind() != io::ErrorKind::NotFound => {
                return Err(io_err("removing", &path)(error));
            }
            _ => {}
        }
    }
    sync_dir(dir)
}

/// Whether `path` names a directory entry of any kind (a dangling symbolic link included).
fn taken(path: &Path) -> bool {
    fs::symlink_metadata(path).is_ok()
}

/// A name in `dir` that is not taken yet by any entry (a symbolic link, followed or not, takes
/// its name): `name` itself, or `name` with `.1`, `.2`… inserted before the bundle suffix.
pub fn free_name(dir: &Path, name: &str) -> String {
    if !taken(&dir.join(name)) {
        return name.to_owned();
    }
    let stem = name.strip_suffix(BUNDLE_SUFFIX).unwrap_or(name);
    let mut n = 1u32;
    loop {
        let candidate = format!("{stem}.{n}{BUNDLE_SUFFIX}");
        if !taken(&dir.join(&candidate)) {
            return candidate;
        }
        n = n.saturating_add(1);
    }
}

/// Why a bundle was quarantined, written as JSON beside it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct QuarantineReason {
    /// The file name the bundle had when it was refused.
    pub original_name: String,
    /// A stable short code, e.g. `envelope.bad-signature` or `chain.fork`.
    pub code: String,
    /// The full explanation.
    pub reason: String,
    /// When it was quarantined, Unix seconds.
    pub at: i64,
    /// The bundle id, if the file was complete enough to compute it.
    pub bundle_id: Option<String>,
    /// The channel its header names, if it parsed (unverified).
    pub channel: Option<u32>,
    /// The sequence number its header names, if it parsed (unverified).
    pub sequence: Option<u64>,
    /// For `record.breaks-filing-rule`: the first record and field that break a filing rule.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filing_rule: Option<crate::recheck::FilingRuleBreach>,
}

/// Moves `path` into the quarantine directory with its reason file written first, so a
/// quarantined bundle never lacks its reason. Returns the bundle's new path.
pub fn quarantine(
    quarantine_dir: &Path,
    path: &Path,
    reason: &QuarantineReason,
) -> Result<PathBuf, SpoolError> {
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("unnamed.bundle");
    let name = if name.ends_with(BUNDLE_SUFFIX) {
        name.to_owned()
    } else {
        format!("{name}{BUNDLE_SUFFIX}")
    };
    let name = free_name(quarantine_dir, &name);
    let json = serde_json::to_vec_pretty(reason).unwrap_or_default();
    write_atomic(quarantine_dir, &format!("{name}{REASON_SUFFIX}"), |f| {
        f.write_all(&json)?;
        f.write_all(b"\n")
    })?;
    move_durable(path, quarantine_dir, &name)
}

/// How much one spool directory holds: its regular files (temporary and reason files
/// included; links, FIFOs and subdirectories not counted, nothing followed) and the disk space
/// they take, in bytes of allocated blocks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct DiskUse {
    /// Regular files.
    pub files: u64,
    /// Bytes of disk they take (a sparse file counts what it really uses).
    pub bytes: u64,
}

/// The [`DiskUse`] of `dir`.
pub fn disk_use(dir: &Path) -> Result<DiskUse, SpoolError> {
    use std::os::unix::fs::MetadataExt as _;
    let mut used = DiskUse::default();
    for entry in fs::read_dir(dir).map_err(io_err("listing", dir))? {
        let entry = entry.map_err(io_err("listing", dir))?;
        // DirEntry::metadata does not follow a symbolic link.
        let Ok(found) = entry.metadata() else {
            continue; // removed since it was listed
        };
        if found.is_file() {
            used.files += 1;
            used.bytes = used
                .bytes
                .saturating_add(found.blocks().saturating_mul(512));
        }
    }
    Ok(used)
}

impl Spool {
    /// Each directory that exists, by its role (`outbox`, `retained`, `inbox`, `archive`,
    /// `quarantine`), with its [`DiskUse`].
    pub fn disk_use(&self) -> Result<Vec<(&'static str, DiskUse)>, SpoolError> {
        let mut used = Vec::new();
        for (role, dir) in [
            ("outbox", &self.outbox),
            ("retained", &self.retained),
            ("inbox", &self.inbox),
            ("archive", &self.archive),
            ("quarantine", &self.quarantine),
        ] {
            if dir.is_dir() {
                used.push((role, disk_use(dir)?));
            }
        }
        Ok(used)
    }
}

/// Reads the reason file beside a quarantined bundle, if there is one.
pub fn read_reason(bundle_path: &Path) -> Option<QuarantineReason> {
    let mut reason_path = bundle_path.as_os_str().to_owned();
    reason_path.push(REASON_SUFFIX);
    let bytes = read_bounded(Path::new(&reason_path), 1024 * 1024).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// Whether `path` is a regular file holding exactly `bytes`; reads no more than that (and
/// nothing through a symbolic link, from a FIFO or from a device).
pub fn holds_bytes(path: &Path, bytes: &[u8]) -> bool {
    read_bounded(path, bytes.len() as u64).is_ok_and(|existing| existing == bytes)
}

/// Writes a bundle file into `dir` atomically, unless a regular file with that name and the
/// same bytes is there already. Returns its path.
pub fn publish_bytes(dir: &Path, name: &str, bytes: &[u8]) -> Result<PathBuf, SpoolError> {
    let target = dir.join(name);
    if holds_bytes(&target, bytes) {
        return Ok(target);
    }
    write_atomic(dir, name, |f| f.write_all(bytes))
}

/// Finds a bundle to replay: `what` is a path to a file, or (at least 8 hex digits of) a bundle
/// id looked up in the archive and quarantine directories, by file name and by the bundle id
/// in quarantine reason files. Returns every match.
pub fn find_for_replay(spool: &Spool, what: &str) -> Result<Vec<PathBuf>, SpoolError> {
    let as_path = Path::new(what);
    if as_path.is_file() {
        return Ok(vec![as_path.to_owned()]);
    }
    let wanted = what.to_ascii_lowercase();
    if wanted.len() < 8 || !wanted.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Ok(Vec::new());
    }
    let mut found = Vec::new();
    for dir in [&spool.archive, &spool.quarantine] {
        if !dir.is_dir() {
            continue;
        }
        for path in list_bundles(dir)? {
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            // Names carry the first 16 hex digits of the id after the last '-'.
            let short = &wanted[..wanted.len().min(16)];
            let by_name = name.contains(&format!("-{short}"));
            let by_reason = read_reason(&path)
                .and_then(|r| r.bundle_id)
                .is_some_and(|id| id.starts_with(&wanted));
            if by_name || by_reason {
                found.push(path);
            }
        }
    }
    Ok(found)
}

/// Removes the reason file beside a bundle that left the quarantine, if there is one.
pub fn remove_reason(bundle_path: &Path) -> Result<(), SpoolError> {
    let mut reason_path = bundle_path.as_os_str().to_owned();
    reason_path.push(REASON_SUFFIX);
    let reason_path = PathBuf::from(reason_path);
    if reason_path.exists() {
        remove_durable(&reason_path)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_write_leaves_no_temporary_file_and_replaces_the_target() {
        let dir = tempfile::tempdir().unwrap();
        write_atomic(dir.path(), "a.bundle", |f| f.write_all(b"one")).unwrap();
        write_atomic(dir.path(), "a.bundle", |f| f.write_all(b"two")).unwrap();
        let names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert_eq!(names, vec!["a.bundle".to_owned()]);
        assert_eq!(fs::read(dir.path().join("a.bundle")).unwrap(), b"two");
    }

    #[test]
    fn listing_skips_temporary_and_reason_files() {
        let dir = tempfile::tempdir().unwrap();
        for name in [
            "b.bundle",
            "a.bundle",
            ".tmp-x",
            "a.bundle.reason.json",
            "notes.txt",
        ] {
            fs::write(dir.path().join(name), b"x").unwrap();
        }
        let listed: Vec<_> = list_bundles(dir.path())
            .unwrap()
            .into_iter()
            .map(|p| p.file_name().unwrap().to_str().unwrap().to_owned())
            .collect();
        assert_eq!(listed, vec!["a.bundle", "b.bundle"]);
    }

    #[test]
    fn quarantined_bundle_has_its_reason_beside_it_and_names_never_collide() {
        let dir = tempfile::tempdir().unwrap();
        let q = dir.path().join("q");
        fs::create_dir(&q).unwrap();
        let reason = QuarantineReason {
            original_name: "x.bundle".into(),
            code: "envelope.bad-signature".into(),
            reason: "signature does not verify".into(),
            at: 1,
            bundle_id: None,
            channel: Some(1),
            sequence: Some(2),
            filing_rule: None,
        };
        let mut placed = Vec::new();
        for _ in 0..2 {
            let source = dir.path().join("x.bundle");
            fs::write(&source, b"bytes").unwrap();
            placed.push(quarantine(&q, &source, &reason).unwrap());
            assert!(!source.exists());
        }
        assert_ne!(placed[0], placed[1]);
        for path in &placed {
            assert_eq!(read_reason(path).unwrap(), reason);
        }
    }

    #[test]
    fn only_regular_files_are_opened_and_nothing_blocks() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("a.bundle");
        fs::write(&file, b"bundle").unwrap();
        let link = dir.path().join("link.bundle");
        std::os::unix::fs::symlink(&file, &link).unwrap();
        let fifo = dir.path().join("fifo.bundle");
        let made = std::process::Command::new("mkfifo").arg(&fifo).status();
        assert!(
            made.is_ok_and(|s| s.success()),
            "cannot run mkfifo; install the Debian package coreutils"
        );
        assert_eq!(read_bounded(&file, 100).unwrap(), b"bundle");
        for (path, kind) in [
            (link.as_path(), "a symbolic link"),
            (fifo.as_path(), "a FIFO"),
            (Path::new("/dev/zero"), "a device"),
        ] {
            match read_bounded(path, 100) {
                Err(SpoolError::NotRegular { kind: found, .. }) => assert_eq!(found, kind),
                other => panic!("{}: {other:?}", path.display()),
            }
        }
        let out = dir.path().join("out");
        fs::create_dir(&out).unwrap();
        assert!(matches!(
            copy_durable(&fifo, &out, "copy.bundle"),
            Err(SpoolError::NotRegular { .. })
        ));
        assert!(!holds_bytes(&link, b"bundle"), "a link is not followed");
    }

    #[test]
    fn oversized_file_is_refused_before_reading() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big.bundle");
        fs::write(&path, vec![0u8; 100]).unwrap();
        assert!(matches!(
            read_bounded(&path, 99),
            Err(SpoolError::TooLarge { size: 100, .. })
        ));
        assert_eq!(read_bounded(&path, 100).unwrap().len(), 100);
    }
}
