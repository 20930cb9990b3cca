//! Loading the local signing key: a hex private key, or an encrypted JSON keystore.

use super::L1Error;
use alloy::signers::local::PrivateKeySigner;
use std::path::Path;

/// Environment variable holding a keystore's password when none is given otherwise.
pub const KEYSTORE_PASSWORD_ENV: &str = "VERDICT_KEYSTORE_PASSWORD";

/// Loads a signer from `key`: a 32-byte private key in hex (with or without `0x`), or
/// the path of an encrypted JSON keystore (Web3 Secret Storage, as geth and cast write
/// them) whose password is `password` or, failing that, `$VERDICT_KEYSTORE_PASSWORD`.
pub fn load_signer(key: &str, password: Option<&str>) -> Result<PrivateKeySigner, L1Error> {
    let key = key.trim();
    let path = Path::new(key);
    if path.is_file() {
        let password = match password {
            Some(p) => p.to_string(),
            None => std::env::var(KEYSTORE_PASSWORD_ENV).map_err(|_| {
                L1Error::Key(format!(
                    "{} is a keystore; give its password (--password-file or ${KEYSTORE_PASSWORD_ENV})",
                    path.display()
                ))
            })?,
        };
        return PrivateKeySigner::decrypt_keystore(path, password)
            .map_err(|e| L1Error::Key(format!("keystore {}: {e}", path.display())));
    }
    let digits = key.strip_prefix("0x").unwrap_or(key);
    if digits.len() != 64 || !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(L1Error::Key(
            "expected a 32-byte hex private key or the path of a keystore file".to_string(),
        ));
    }
    digits
        .parse::<PrivateKeySigner>()
        .map_err(|e| L1Error::Key(format!("not a valid secp256k1 private key: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    // Anvil's first dev key (the well-known test mnemonic), public knowledge.
    const DEV_KEY: &str = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";

    #[test]
    fn a_hex_key_loads_with_or_without_prefix() {
        let a = load_signer(DEV_KEY, None).expect("key");
        let b = load_signer(&DEV_KEY[2..], None).expect("key");
        assert_eq!(a.address(), b.address());
        assert_eq!(
            a.address().to_string(),
            "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
        );
    }

    #[test]
    fn bad_keys_are_explained() {
        for bad in ["", "0x12", "zz", &"0".repeat(64)] {
            let error = load_signer(bad, None).expect_err(bad).to_string();
            assert!(error.contains("key"), "{error}");
        }
    }

    #[test]
    fn a_keystore_needs_its_password() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut rng = rand08::thread_rng();
        let (signer, name) =
            PrivateKeySigner::new_keystore(dir.path(), &mut rng, "secret", None).expect("keystore");
        let path = dir.path().join(name);
        let loaded = load_signer(path.to_str().expect("utf-8"), Some("secret")).expect("loads");
        assert_eq!(loaded.address(), signer.address());
        assert!(load_signer(path.to_str().expect("utf-8"), Some("wrong")).is_err());
    }
}
