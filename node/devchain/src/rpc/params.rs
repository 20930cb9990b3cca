//! Parameter shapes that Ethereum clients send in more than one form.

use serde::{Deserialize, Deserializer};

/// A non-negative integer sent as a JSON number, a hex quantity (`"0x1f"`) or a decimal
/// string: hardhat-style dev methods see all three in the wild.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Quantity(pub(crate) u64);

impl<'de> Deserialize<'de> for Quantity {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Number(u64),
            Text(String),
        }
        match Raw::deserialize(deserializer)? {
            Raw::Number(value) => Ok(Self(value)),
            Raw::Text(text) => {
                let parsed = match text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
                    Some(hex) => u64::from_str_radix(hex, 16),
                    None => text.parse(),
                };
                parsed.map(Self).map_err(|_| {
                    serde::de::Error::custom(format!(
                        "`{text}` is not a quantity that fits in 64 bits"
                    ))
                })
            }
        }
    }
}

/// `evm_mine`'s optional argument: a timestamp, or anvil's `{ timestamp, blocks }`.
#[derive(Clone, Copy, Debug, Deserialize)]
#[serde(untagged)]
pub(crate) enum MineParam {
    Timestamp(Quantity),
    Options {
        #[serde(default)]
        timestamp: Option<Quantity>,
        #[serde(default)]
        blocks: Option<Quantity>,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities_parse_in_every_form() {
        for (json, value) in [("17", 17), ("\"0x11\"", 17), ("\"17\"", 17), ("\"0x0\"", 0)] {
            let parsed: Quantity = serde_json::from_str(json).expect(json);
            assert_eq!(parsed.0, value);
        }
        assert!(serde_json::from_str::<Quantity>("\"0xzz\"").is_err());
        assert!(serde_json::from_str::<Quantity>("-1").is_err());
    }
}
