//! age X25519 identity files: the secret a receiving side decrypts bundles with when its keyset
//! names recipients (see [`crate::keyset`]). The file format is the one `age-keygen` writes and
//! `age -d -i` reads: `#` comment lines and one `AGE-SECRET-KEY-1…` line per identity, so
//! identities made here work with the stock tool and the other way round.

use std::fmt::Write as _;
use std::io::Read as _;
use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};
use std::str::FromStr as _;

use age::secrecy::ExposeSecret as _;
use age::x25519::{Identity, Recipient};

use crate::fsutil::{self, Existing};

/// The largest identity file read, in bytes.
pub const MAX_IDENTITY_FILE_BYTES: u64 = 64 * 1024;
/// The most identities one file may hold (a host keeps its old identity beside the new one
/// while bundles encrypted to the old one may still arrive).
pub const MAX_IDENTITIES: usize = 16;

/// Why an identity file could not be read or written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IdentityFileError {
    /// The file could not be opened or read.
    #[error("age identity file {file}: cannot read it")]
    Read {
        /// The file.
        file: PathBuf,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// The file could not be written.
    #[error("age identity file {file}: cannot write it")]
    Write {
        /// The file.
        file: PathBuf,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// Group or others may read the file.
    #[error(
        "age identity file {file}: mode {mode:04o} lets group or others read it; \
         run `chmod 600` on it"
    )]
    Readable {
        /// The file.
        file: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// Something in the file is not what `age-keygen` writes.
    #[error("age identity file {file}, line {line}: {problem}")]
    Malformed {
        /// The file.
        file: PathBuf,
        /// The 1-based line.
        line: usize,
        /// What is wrong.
        problem: String,
    },
}

/// Reads the identities of an `age-keygen` file: at least one, at most [`MAX_IDENTITIES`],
/// from a file no larger than [`MAX_IDENTITY_FILE_BYTES`] that only its owner may read.
pub fn read_identity_file(path: &Path) -> Result<Vec<Identity>, IdentityFileError> {
    let read = |source| IdentityFileError::Read {
        file: path.to_path_buf(),
        source,
    };
    let file = std::fs::File::open(path).map_err(read)?;
    let mode = file.metadata().map_err(read)?.mode() & 0o7777;
    if mode & 0o077 != 0 {
        return Err(IdentityFileError::Readable {
            file: path.to_path_buf(),
            mode,
        });
    }
    let mut bytes = Vec::new();
    file.take(MAX_IDENTITY_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(read)?;
    let malformed = |line: usize, problem: String| IdentityFileError::Malformed {
        file: path.to_path_buf(),
        line,
        problem,
    };
    if bytes.len() as u64 > MAX_IDENTITY_FILE_BYTES {
        return Err(malformed(
            0,
            format!("the file is larger than {MAX_IDENTITY_FILE_BYTES} bytes"),
        ));
    }
    let text =
        String::from_utf8(bytes).map_err(|_| malformed(0, "the file is not text".to_owned()))?;
    let mut identities = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let line_number = index + 1;
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if identities.len() == MAX_IDENTITIES {
            return Err(malformed(
                line_number,
                format!("more than {MAX_IDENTITIES} identities"),
            ));
        }
        let identity = Identity::from_str(line).map_err(|e| {
            malformed(
                line_number,
                format!("not an age X25519 identity (`AGE-SECRET-KEY-1…`): {e}"),
            )
        })?;
        identities.push(identity);
    }
    if identities.is_empty() {
        return Err(malformed(0, "the file holds no identity".to_owned()));
    }
    Ok(identities)
}

/// Writes a new identity to `path` (mode 0600, never over an existing file) in the format
/// `age-keygen` writes, with `created` (RFC 3339) in its comment; returns its recipient.
pub fn write_new_identity(path: &Path, created: &str) -> Result<Recipient, IdentityFileError> {
    let identity = Identity::generate();
    let recipient = identity.to_public();
    let mut text = String::new();
    // Writing into a String cannot fail.
    let _ = writeln!(text, "# created: {created}");
    let _ = writeln!(text, "# public key: {recipient}");
    text.push_str(identity.to_string().expose_secret());
    text.push('\n');
    fsutil::write_atomic(path, text.as_bytes(), 0o600, Existing::Refuse).map_err(|source| {
        IdentityFileError::Write {
            file: path.to_path_buf(),
            source,
        }
    })?;
    Ok(recipient)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_written_identity_reads_back_and_matches_its_recipient() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("inner.age");
        let recipient = write_new_identity(&path, "2027-01-01T00:00:00Z").unwrap();
        let identities = read_identity_file(&path).unwrap();
        assert_eq!(identities.len(), 1);
        assert_eq!(identities[0].to_public(), recipient);
        assert!(write_new_identity(&path, "2027-01-01T00:00:00Z").is_err());
    }

    #[test]
    fn an_identity_file_others_can_read_is_refused() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("inner.age");
        write_new_identity(&path, "now").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let Err(err) = read_identity_file(&path) else {
            panic!("the file was accepted")
        };
        assert!(err.to_string().contains("chmod 600"), "{err}");
    }

    #[test]
    fn a_line_that_is_not_an_identity_is_named() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("inner.age");
        std::fs::write(&path, "# comment\nAGE-SECRET-KEY-1NOTAKEY\n").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        let Err(err) = read_identity_file(&path) else {
            panic!("the file was accepted")
        };
        assert!(err.to_string().contains("line 2"), "{err}");
    }
}
