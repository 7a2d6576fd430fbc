//! Secret keys kept as files in the data dir.
//!
//! A key file holds raw random bytes, is created with mode 0600 on first use, and is never
//! rewritten: losing it invalidates every token (signing key) or stored secret (encryption key)
//! made with it.

use std::fs::{self, OpenOptions};
use std::io::{self, Read, Write};
use std::path::Path;

use rand::RngCore;
use zeroize::Zeroizing;

/// Reads the key at `path`, or creates it with `len` random bytes if it does not exist yet.
pub fn load_or_create(path: &Path, len: usize) -> io::Result<Zeroizing<Vec<u8>>> {
    match read(path, len) {
        Ok(key) => return Ok(key),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir)?;
    }
    let mut key = Zeroizing::new(vec![0u8; len]);
    rand::rngs::OsRng.fill_bytes(&mut key);
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    match options.open(path) {
        Ok(mut file) => {
            file.write_all(&key)?;
            file.sync_all()?;
            Ok(key)
        }
        // Another process made it first: use theirs.
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => read(path, len),
        Err(e) => Err(e),
    }
}

fn read(path: &Path, len: usize) -> io::Result<Zeroizing<Vec<u8>>> {
    let mut key = Zeroizing::new(Vec::with_capacity(len));
    fs::File::open(path)?.read_to_end(&mut key)?;
    if key.len() != len {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!(
                "key file {} holds {} bytes, expected {len}",
                path.display(),
                key.len()
            ),
        ));
    }
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn creates_once_then_reads() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys/token.key");
        let first = load_or_create(&path, 32).unwrap();
        let second = load_or_create(&path, 32).unwrap();
        assert_eq!(*first, *second);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        assert!(
            load_or_create(&path, 16).is_err(),
            "wrong length is refused"
        );
    }
}

/// Reads a 32-byte master key written as 64 hex digits or as base64 (surrounding white space is
/// ignored), as given in `STARKEEP_MASTER_KEY` or a master key file.
pub fn parse_master_key(text: &str) -> Result<Zeroizing<Vec<u8>>, String> {
    use base64::Engine;
    let text = text.trim();
    let bytes = if text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit()) {
        hex::decode(text).map_err(|e| e.to_string())?
    } else {
        base64::engine::general_purpose::STANDARD
            .decode(text)
            .map_err(|_| "the master key must be 64 hex digits or base64 of 32 bytes".to_owned())?
    };
    if bytes.len() != 32 {
        return Err(format!(
            "the master key must be 32 bytes (64 hex digits); it is {} bytes",
            bytes.len()
        ));
    }
    Ok(Zeroizing::new(bytes))
}

#[cfg(test)]
mod master_key_tests {
    use super::*;

    #[test]
    fn hex_and_base64_forms() {
        let hex_form = "00".repeat(31) + "ff";
        assert_eq!(parse_master_key(&hex_form).unwrap()[31], 0xff);
        let b64 = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAP8=";
        assert_eq!(parse_master_key(&format!(" {b64}\n")).unwrap()[31], 0xff);
        assert!(parse_master_key("abcd").is_err());
        assert!(parse_master_key(&"0".repeat(62)).is_err());
        assert!(parse_master_key("").is_err());
    }
}
