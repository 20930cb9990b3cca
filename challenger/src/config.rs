//! The challenger's configuration: a TOML file (`--config`), with command-line flags
//! overriding single keys. Every key is listed in [`KEYS`].

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// Every key: name, default (as TOML), meaning.
pub const KEYS: &[(&str, &str, &str)] = &[
    (
        "l1_rpc",
        "\"http://127.0.0.1:8545\"",
        "the L1 JSON-RPC endpoint",
    ),
    (
        "deployment",
        "\"deployment.json\"",
        "the deployment file written by `verdict l1 deploy`",
    ),
    (
        "key",
        "(none; required)",
        "the challenger's L1 key (0x-hex); it pays gas and bonds",
    ),
    (
        "data_dir",
        "\"verdict-data/challenger\"",
        "where the secret, the L1 cursor and the games are kept",
    ),
    (
        "sample_rate",
        "1.0",
        "probability of checking each record (1 = every record); see specs/economics.md",
    ),
    (
        "models",
        "[]",
        "model files to check records of (records of other models are skipped and counted)",
    ),
    (
        "model_sources",
        "[]",
        "L2 RPC URLs to fetch a model's file from when a posted record names a model this challenger lacks; the bytes are checked against the model id and cached in data_dir/models",
    ),
    ("l1_poll_ms", "1000", "how often L1 is polled"),
    (
        "metrics_addr",
        "(none)",
        "listen address for GET /metrics and /health, e.g. \"127.0.0.1:9646\"",
    ),
    (
        "lie",
        "false",
        "TESTS AND DEMOS ONLY: challenge records found right (and lose the bond)",
    ),
];

/// The parsed configuration.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct ChallengerConfig {
    pub l1_rpc: String,
    pub deployment: PathBuf,
    pub key: Option<String>,
    pub data_dir: PathBuf,
    pub sample_rate: f64,
    pub models: Vec<PathBuf>,
    pub model_sources: Vec<String>,
    pub l1_poll_ms: u64,
    pub metrics_addr: Option<SocketAddr>,
    pub lie: bool,
}

impl Default for ChallengerConfig {
    fn default() -> Self {
        Self {
            l1_rpc: "http://127.0.0.1:8545".into(),
            deployment: PathBuf::from("deployment.json"),
            key: None,
            data_dir: PathBuf::from("verdict-data/challenger"),
            sample_rate: 1.0,
            models: Vec::new(),
            model_sources: Vec::new(),
            l1_poll_ms: 1000,
            metrics_addr: None,
            lie: false,
        }
    }
}

/// Why a configuration cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file cannot be read.
    #[error("reading {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The file is not valid TOML for this configuration.
    #[error("{path}: {message}")]
    Parse { path: PathBuf, message: String },
    /// A value is out of range.
    #[error("{key}: {message}")]
    Invalid { key: &'static str, message: String },
}

impl ChallengerConfig {
    /// Reads `path`, or the defaults without one.
    pub fn load(path: Option<&Path>) -> Result<Self, ConfigError> {
        let Some(path) = path else {
            return Ok(Self::default());
        };
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        toml::from_str(&text).map_err(|e| ConfigError::Parse {
            path: path.to_path_buf(),
            message: e.to_string(),
        })
    }

    /// Checks ranges.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if !(0.0..=1.0).contains(&self.sample_rate) {
            return Err(ConfigError::Invalid {
                key: "sample_rate",
                message: format!("{} is not a probability in [0, 1]", self.sample_rate),
            });
        }
        if self.l1_poll_ms == 0 {
            return Err(ConfigError::Invalid {
                key: "l1_poll_ms",
                message: "must be at least 1".into(),
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_is_documented_and_bad_values_are_named() {
        let defaults = toml::Table::try_from(ChallengerConfig::default()).expect("serializes");
        for field in defaults.keys() {
            assert!(KEYS.iter().any(|(k, _, _)| k == field), "{field}");
        }
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("c.toml");
        std::fs::write(&path, "sample_rate = 1.5\n").expect("write");
        let config = ChallengerConfig::load(Some(&path)).expect("parses");
        let e = config.validate().expect_err("out of range");
        assert!(e.to_string().contains("sample_rate"), "{e}");
        std::fs::write(&path, "sample_rte = 0.5\n").expect("write");
        let e = ChallengerConfig::load(Some(&path)).expect_err("unknown key");
        assert!(e.to_string().contains("sample_rte"), "{e}");
    }
}
