//! Crash-safe writes of private files.
//!
//! A file is written to a temporary sibling created with mode 0600, flushed to disk, renamed over
//! the target and the directory is flushed too: at every instant the target is either the old
//! file or the new one, never a mix and never missing.
//!
//! Temp files are never swept here: a sibling temp file may belong to another process that is
//! writing at this moment. A caller that serialises its writers (the vault, under its lock)
//! removes the leftovers of killed writers with [`remove_stale_temps`].
use std::fs::{self, File, OpenOptions};
use std::io::{Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use crate::{Error, Result};

/// Replaces (or creates) `path` with `bytes`, atomically, mode 0600.
pub fn write_private(path: &Path, bytes: &[u8]) -> Result<()> {
    write_private_verified(path, bytes, |_| Ok(()))
}

/// Like [`write_private`], but `verify` is given the bytes read back from the temp file (after
/// they reached the disk) and the rename happens only if it accepts them: a write that would
/// not read back as intended never replaces the old file.
pub fn write_private_verified(
    path: &Path,
    bytes: &[u8],
    verify: impl FnOnce(&[u8]) -> Result<()>,
) -> Result<()> {
    let tmp = write_temp(path, bytes)?;
    if let Err(e) = read_back(&tmp, bytes.len()).and_then(|b| verify(b.as_slice())) {
        let _ = fs::remove_file(&tmp);
        return Err(e);
    }
    if let Err(e) = fs::rename(&tmp, path) {
        let _ = fs::remove_file(&tmp);
        return Err(Error::io(format!("cannot replace {}", path.display()), e));
    }
    sync_dir(path)
}

/// Creates `path` with `bytes`, atomically, mode 0600; fails if `path` already exists (even if
/// another process creates it at the same moment: the final step is a hard link, which never
/// replaces).
pub fn create_private(path: &Path, bytes: &[u8]) -> Result<()> {
    create_private_verified(path, bytes, |_| Ok(()))
}

/// Like [`create_private`], with the read-back check of [`write_private_verified`].
pub fn create_private_verified(
    path: &Path,
    bytes: &[u8],
    verify: impl FnOnce(&[u8]) -> Result<()>,
) -> Result<()> {
    let tmp = write_temp(path, bytes)?;
    if let Err(e) = read_back(&tmp, bytes.len()).and_then(|b| verify(b.as_slice())) {
        let _ = fs::remove_file(&tmp);
        return Err(e);
    }
    let linked = fs::hard_link(&tmp, path);
    let _ = fs::remove_file(&tmp);
    match linked {
        Ok(()) => sync_dir(path),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Err(Error::io(
            format!("{} already exists; not overwritten", path.display()),
            e,
        )),
        Err(e) => Err(Error::io(format!("cannot create {}", path.display()), e)),
    }
}

/// Makes a directory (and parents) readable by the owner only.
pub fn create_private_dir(dir: &Path) -> Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|e| Error::io(format!("cannot create {}", dir.display()), e))
}

fn temp_path(path: &Path) -> Result<PathBuf> {
    let name = path.file_name().ok_or_else(|| {
        Error::io(
            "bad path",
            std::io::Error::other(path.display().to_string()),
        )
    })?;
    let mut nonce = [0u8; 8];
    getrandom::fill(&mut nonce)
        .map_err(|e| Error::io("random", std::io::Error::other(e.to_string())))?;
    let tmp_name = format!(".{}.tmp-{}", name.to_string_lossy(), hex::encode(nonce));
    Ok(path.with_file_name(tmp_name))
}

/// Reads a file into memory, refusing one larger than `limit` bytes without reading more than
/// one byte past it (a FIFO or `/dev/zero` cannot exhaust memory).
pub fn read_limited(path: &Path, limit: u64) -> std::io::Result<Vec<u8>> {
    let file = File::open(path)?;
    let mut out = Vec::new();
    file.take(limit + 1).read_to_end(&mut out)?;
    if out.len() as u64 > limit {
        return Err(std::io::Error::new(
            std::io::ErrorKind::FileTooLarge,
            format!("larger than {limit} bytes"),
        ));
    }
    Ok(out)
}

fn read_back(tmp: &Path, len: usize) -> Result<Vec<u8>> {
    read_limited(tmp, len as u64)
        .map_err(|e| Error::io(format!("cannot read back {}", tmp.display()), e))
}

fn write_temp(path: &Path, bytes: &[u8]) -> Result<PathBuf> {
    let tmp = temp_path(path)?;
    let result = (|| {
        let mut f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()
    })();
    if let Err(e) = result {
        let _ = fs::remove_file(&tmp);
        return Err(Error::io(format!("cannot write {}", tmp.display()), e));
    }
    Ok(tmp)
}

/// Temp files left by a writer that was killed hold nothing the real file does not (they are
/// encrypted the same way); remove them so they do not pile up. Only for a caller that holds a
/// lock excluding every other writer of `path`: otherwise a live writer's temp file would be
/// removed under it.
pub fn remove_stale_temps(path: &Path) {
    let Some(name) = path.file_name() else { return };
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let prefix = format!(".{}.tmp-", name.to_string_lossy());
    if let Ok(entries) = fs::read_dir(dir) {
        for entry in entries.flatten() {
            if entry.file_name().to_string_lossy().starts_with(&prefix) {
                let _ = fs::remove_file(entry.path());
            }
        }
    }
}

fn sync_dir(path: &Path) -> Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| Error::io(format!("cannot sync {}", dir.display()), e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn writes_are_0600_and_create_never_overwrites() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("secret");
        create_private(&p, b"one").unwrap();
        assert_eq!(
            fs::metadata(&p).unwrap().permissions().mode() & 0o777,
            0o600
        );
        assert!(create_private(&p, b"two").is_err());
        assert_eq!(fs::read(&p).unwrap(), b"one");
        write_private(&p, b"three").unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"three");
        assert_eq!(
            fs::metadata(&p).unwrap().permissions().mode() & 0o777,
            0o600
        );
        // no temp files left behind
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn a_write_leaves_other_writers_temp_files_alone() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("secret");
        let live = dir.path().join(".secret.tmp-0011223344556677");
        fs::write(&live, b"another process is writing this").unwrap();
        write_private(&p, b"one").unwrap();
        assert!(live.exists(), "a concurrent writer's temp file was removed");
        remove_stale_temps(&p);
        assert!(!live.exists());
        assert_eq!(fs::read(&p).unwrap(), b"one");
    }

    #[test]
    fn a_rejected_read_back_leaves_the_old_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("secret");
        write_private(&p, b"old").unwrap();
        let r = write_private_verified(&p, b"new", |b| {
            assert_eq!(b, b"new");
            Err(Error::Derivation("no".into()))
        });
        assert!(r.is_err());
        assert_eq!(fs::read(&p).unwrap(), b"old");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn read_limited_refuses_an_endless_file() {
        let e = read_limited(Path::new("/dev/zero"), 1024).unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::FileTooLarge);
    }
}
