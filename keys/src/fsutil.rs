//! Atomic file writes: temp file in the same directory, fsync, rename (or link), fsync the
//! directory. A crash at any instant leaves either the old file or the whole new one.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

/// What to do when the destination already exists.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Existing {
    /// Replace it atomically (keysets: a new version replaces the old file).
    Replace,
    /// Refuse with `io::ErrorKind::AlreadyExists` (key files: losing a key is not recoverable).
    Refuse,
}

/// Writes `contents` to `path` with permission bits `mode`, atomically.
pub(crate) fn write_atomic(
    path: &Path,
    contents: &[u8],
    mode: u32,
    existing: Existing,
) -> io::Result<()> {
    let dir = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let file_name = path.file_name().ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            "the path has no file name to write to",
        )
    })?;
    if existing == Existing::Refuse && fs::symlink_metadata(path).is_ok() {
        return Err(io::Error::new(
            io::ErrorKind::AlreadyExists,
            "the file already exists",
        ));
    }

    let (temp_path, mut temp) = create_temp(&dir, file_name, mode)?;
    let written = (|| {
        temp.write_all(contents)?;
        temp.sync_all()?;
        drop(temp);
        match existing {
            Existing::Replace => fs::rename(&temp_path, path),
            // A hard link fails if the destination exists, which makes "create only if absent"
            // atomic even against another writer racing us.
            Existing::Refuse => match fs::hard_link(&temp_path, path) {
                Ok(()) => fs::remove_file(&temp_path),
                Err(error) if error.kind() == io::ErrorKind::AlreadyExists => Err(error),
                // Some file systems (FAT on removable media) have no hard links; fall back to a
                // rename after the existence check above.
                Err(_) => fs::rename(&temp_path, path),
            },
        }
    })();
    if let Err(error) = written {
        let _ = fs::remove_file(&temp_path);
        return Err(error);
    }
    File::open(&dir)?.sync_all()
}

fn create_temp(dir: &Path, file_name: &std::ffi::OsStr, mode: u32) -> io::Result<(PathBuf, File)> {
    let mut attempt = 0u32;
    loop {
        let mut nonce = [0u8; 8];
        rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut nonce);
        let mut name = std::ffi::OsString::from(".");
        name.push(file_name);
        name.push(format!(".tmp-{}", hex::encode(nonce)));
        let temp_path = dir.join(name);
        match OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .open(&temp_path)
        {
            Ok(file) => {
                // The umask may have taken bits away; set exactly what was asked for.
                file.set_permissions(std::os::unix::fs::PermissionsExt::from_mode(mode))?;
                return Ok((temp_path, file));
            }
            Err(error) if error.kind() == io::ErrorKind::AlreadyExists && attempt < 8 => {
                attempt += 1;
            }
            Err(error) => return Err(error),
        }
    }
}
