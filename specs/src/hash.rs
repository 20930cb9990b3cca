//! Keccak-256, the one hash of the protocol (Solidity's `keccak256`).

use sha3::{Digest, Keccak256};

/// A 32-byte Keccak-256 digest.
pub type Hash = [u8; 32];

/// Keccak-256 of the concatenation of `parts`.
pub fn keccak(parts: &[&[u8]]) -> Hash {
    let mut hasher = Keccak256::new();
    for part in parts {
        hasher.update(part);
    }
    hasher.finalize().into()
}

/// `0x`-prefixed lowercase hex of a digest, the form used in JSON and on the command line.
pub fn to_hex(hash: &Hash) -> String {
    format!("0x{}", hex::encode(hash))
}

/// Parses `0x`-prefixed (or bare) hex of exactly 32 bytes.
pub fn from_hex(text: &str) -> Option<Hash> {
    let digits = text.strip_prefix("0x").unwrap_or(text);
    let bytes = hex::decode(digits).ok()?;
    bytes.try_into().ok()
}

/// Serde adapter writing a [`Hash`] as `0x` hex.
pub mod serde_hex {
    use super::{Hash, from_hex, to_hex};
    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    /// Serializes as `0x` hex.
    pub fn serialize<S: Serializer>(hash: &Hash, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&to_hex(hash))
    }

    /// Deserializes from `0x` hex of 32 bytes.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Hash, D::Error> {
        let text = String::deserialize(d)?;
        from_hex(&text).ok_or_else(|| D::Error::custom(format!("not a 32-byte hex hash: {text}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keccak_of_empty_matches_ethereum() {
        assert_eq!(
            to_hex(&keccak(&[])),
            "0xc5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470"
        );
    }

    #[test]
    fn parts_are_concatenated() {
        assert_eq!(keccak(&[b"ab", b"c"]), keccak(&[b"abc"]));
    }

    #[test]
    fn hex_round_trip() {
        let h = keccak(&[b"verdict"]);
        assert_eq!(from_hex(&to_hex(&h)), Some(h));
        assert_eq!(from_hex("0x1234"), None);
    }
}

/// Serde adapter writing a `u128` amount as a decimal string (JSON numbers lose
/// precision above 2^53 in most clients).
pub mod serde_u128 {
    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    /// Serializes as a decimal string.
    pub fn serialize<S: Serializer>(v: &u128, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&v.to_string())
    }

    /// Deserializes a decimal string.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<u128, D::Error> {
        String::deserialize(d)?.parse().map_err(D::Error::custom)
    }
}
