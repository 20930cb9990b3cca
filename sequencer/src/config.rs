//! The sequencer's configuration: a TOML file, with `VERDICT_<KEY>` environment
//! variables overriding single keys (`VERDICT_RPC_ADDR=0.0.0.0:8645`). Every key, its
//! default and its meaning is listed in [`KEYS`], which `verdict sequencer --help` prints.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::fault::{FaultMode, FaultPlan};
use serde::{Deserialize, Serialize};

use crate::batcher::BatcherConfig;
use crate::builder::BlockConfig;
use crate::deposits::DepositConfig;

/// Every key: name, default (as TOML), meaning.
pub const KEYS: &[(&str, &str, &str)] = &[
    (
        "data_dir",
        "\"verdict-data/sequencer\"",
        "where the chain database lives",
    ),
    (
        "l1_rpc",
        "\"http://127.0.0.1:8545\"",
        "the L1 JSON-RPC endpoint (http(s):// or ws(s)://)",
    ),
    (
        "deployment",
        "\"deployment.json\"",
        "the deployment file written by `verdict l1 deploy`",
    ),
    (
        "key",
        "(none; required)",
        "the sequencer's L1 key: 0x-hex, or a keystore file path",
    ),
    (
        "key_password_file",
        "(none)",
        "file holding the keystore's password (or set VERDICT_KEYSTORE_PASSWORD)",
    ),
    (
        "models",
        "[]",
        "model files to serve, e.g. [\"models/digits/digits-mlp.vdm\"]; each must be registered on L1",
    ),
    (
        "serve_registered",
        "\"all\"",
        "which models registered on L1 (before or after the start) are served besides `models`: \"all\", \"allow-list\" (those in allow_models or owned by allow_owners) or \"none\"; each within max_model_bytes and max_model_ops, its file taken from the data dir's models/ (uploads land there) or model_sources",
    ),
    (
        "allow_models",
        "[]",
        "with serve_registered = \"allow-list\": model ids (0x-hex) to serve",
    ),
    (
        "allow_owners",
        "[]",
        "with serve_registered = \"allow-list\": L1 addresses whose registered models to serve",
    ),
    (
        "max_model_bytes",
        "67108864",
        "largest model file served from the registry, fetched or uploaded (verdict_uploadModelFile)",
    ),
    (
        "max_model_ops",
        "4096",
        "most ops (graph nodes) of a model served from the registry",
    ),
    (
        "model_sources",
        "[]",
        "where registered models' files are fetched from: L2 RPC URLs (verdict_getModelFile) or HTTP directories of 0x<id>.vdm files (a URL with {id} is a template)",
    ),
    (
        "rpc_addr",
        "\"127.0.0.1:8645\"",
        "JSON-RPC (HTTP and WebSocket, /metrics, /health) listen address",
    ),
    ("block_time_ms", "1000", "longest a block stays open"),
    ("max_block_records", "1024", "most records per block"),
    (
        "max_block_bytes",
        "98304",
        "most batch-data bytes per block, header included (at most 131241: a body may have 128 KiB)",
    ),
    (
        "batch_blocks",
        "10",
        "post a batch once this many sealed blocks wait",
    ),
    (
        "batch_interval_secs",
        "30",
        "post whatever waits once this long passed since the last post",
    ),
    (
        "max_batch_bytes",
        "122880",
        "most batch-data bytes per L1 transaction (larger batches are split)",
    ),
    (
        "compress",
        "false",
        "no longer supported (must be false): batch data is uncompressed so L1 can check its headers and bodies (specs/batch.md)",
    ),
    (
        "l1_confirmations",
        "0",
        "L1 blocks a deposit must be under before it is credited",
    ),
    ("l1_poll_ms", "1000", "how often L1 is polled"),
    ("executor_threads", "1", "threads per model executor"),
    (
        "max_request_bytes",
        "1048576",
        "largest JSON-RPC request body",
    ),
    ("max_connections", "512", "most concurrent connections"),
    ("max_batch_calls", "100", "most calls in one JSON-RPC batch"),
    (
        "auto_rebond",
        "false",
        "top the bond up to the minimum from the sequencer's L1 balance at start (after a slash)",
    ),
    (
        "fault_rate",
        "0.0",
        "TESTS AND DEMOS ONLY: fraction of requests (or deposits) handled wrongly (and defended)",
    ),
    (
        "fault_mode",
        "\"output\"",
        "what a fault gets wrong: \"output\", \"intermediate\" (a wrong value mid-model), \"silent\" (wrong output, no defence); state faults: \"fee\" (fee + 1 wei), \"deposit\" (a deposit credited 1 wei more), \"withdrawal\" (a forged 1-wei withdrawal to the sequencer); data faults: \"drain\" (a posted header commits to a 100-ether withdrawal its body lacks)",
    ),
];

/// The largest `max_block_bytes`: a header and the largest body L1 accepts.
pub const MAX_BLOCK_BYTES: usize =
    verdict_specs::l2::block::HEADER_BYTES + verdict_specs::l2::batch_data::MAX_BLOCK_BODY_BYTES;

/// Which registered models a sequencer serves (besides its `models` files).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ServeRegistered {
    /// Every registered model within the size and op bounds.
    All,
    /// Those in `allow_models` or owned by one of `allow_owners`.
    AllowList,
    /// None: only the `models` files.
    None,
}

/// The parsed configuration.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct SequencerConfig {
    pub data_dir: PathBuf,
    pub l1_rpc: String,
    pub deployment: PathBuf,
    pub key: Option<String>,
    pub key_password_file: Option<PathBuf>,
    pub models: Vec<PathBuf>,
    pub serve_registered: ServeRegistered,
    pub allow_models: Vec<alloy::primitives::B256>,
    pub allow_owners: Vec<alloy::primitives::Address>,
    pub max_model_bytes: u64,
    pub max_model_ops: u32,
    pub model_sources: Vec<String>,
    pub rpc_addr: SocketAddr,
    pub block_time_ms: u64,
    pub max_block_records: usize,
    pub max_block_bytes: usize,
    pub batch_blocks: u64,
    pub batch_interval_secs: u64,
    pub max_batch_bytes: usize,
    pub compress: bool,
    pub l1_confirmations: u64,
    pub l1_poll_ms: u64,
    pub executor_threads: usize,
    pub max_request_bytes: u32,
    pub max_connections: u32,
    pub max_batch_calls: u32,
    pub auto_rebond: bool,
    pub fault_rate: f64,
    pub fault_mode: FaultMode,
}

impl Default for SequencerConfig {
    fn default() -> Self {
        let block = BlockConfig::default();
        let batch = BatcherConfig::default();
        Self {
            data_dir: PathBuf::from("verdict-data/sequencer"),
            l1_rpc: "http://127.0.0.1:8545".into(),
            deployment: PathBuf::from("deployment.json"),
            key: None,
            key_password_file: None,
            models: Vec::new(),
            serve_registered: ServeRegistered::All,
            allow_models: Vec::new(),
            allow_owners: Vec::new(),
            max_model_bytes: 64 << 20,
            max_model_ops: 4096,
            model_sources: Vec::new(),
            rpc_addr: SocketAddr::from(([127, 0, 0, 1], 8645)),
            block_time_ms: block.block_time.as_millis() as u64,
            max_block_records: block.max_block_records,
            max_block_bytes: block.max_block_bytes,
            batch_blocks: batch.batch_blocks,
            batch_interval_secs: batch.batch_interval.as_secs(),
            max_batch_bytes: batch.max_batch_bytes,
            compress: false,
            l1_confirmations: 0,
            l1_poll_ms: 1000,
            executor_threads: 1,
            max_request_bytes: 1 << 20,
            max_connections: 512,
            max_batch_calls: 100,
            auto_rebond: false,
            fault_rate: 0.0,
            fault_mode: FaultMode::Output,
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
    /// The TOML is malformed, has an unknown key or a value of the wrong type.
    #[error("{origin}: {message}")]
    Parse { origin: String, message: String },
    /// A value is out of range.
    #[error("{key}: {message}")]
    Invalid { key: &'static str, message: String },
}

impl SequencerConfig {
    /// Reads `path` (if given), then applies `VERDICT_*` overrides from `env`.
    pub fn load(
        path: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, ConfigError> {
        let (text, origin) = match path {
            Some(path) => (
                std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
                    path: path.to_path_buf(),
                    source,
                })?,
                path.display().to_string(),
            ),
            None => (String::new(), "(defaults)".to_string()),
        };
        let mut table: toml::Table = toml::from_str(&text).map_err(|e| ConfigError::Parse {
            origin: origin.clone(),
            message: e.to_string(),
        })?;
        for (name, value) in env {
            let Some(key) = name.strip_prefix("VERDICT_") else {
                continue;
            };
            let key = key.to_ascii_lowercase();
            if !KEYS.iter().any(|(k, _, _)| *k == key) {
                continue; // other VERDICT_* variables belong to other commands
            }
            table.insert(key, env_value(&value));
        }
        let config: Self = table
            .try_into()
            .map_err(|e: toml::de::Error| ConfigError::Parse {
                origin,
                message: e.to_string(),
            })?;
        config.validate()?;
        Ok(config)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let positive = |key: &'static str, v: u64| {
            if v == 0 {
                Err(ConfigError::Invalid {
                    key,
                    message: "must be at least 1".into(),
                })
            } else {
                Ok(())
            }
        };
        positive("block_time_ms", self.block_time_ms)?;
        positive("max_block_records", self.max_block_records as u64)?;
        positive("batch_blocks", self.batch_blocks)?;
        positive("executor_threads", self.executor_threads as u64)?;
        positive("max_model_bytes", self.max_model_bytes)?;
        positive("max_model_ops", u64::from(self.max_model_ops))?;
        if !(0.0..=1.0).contains(&self.fault_rate) {
            return Err(ConfigError::Invalid {
                key: "fault_rate",
                message: format!("{} is not a fraction in [0, 1]", self.fault_rate),
            });
        }
        if self.compress {
            return Err(ConfigError::Invalid {
                key: "compress",
                message: "batch data is no longer compressed: L1 reads its block headers and a data fault proof re-reads a block's body, which compressed data would not allow (specs/batch.md); remove the key or set it to false".into(),
            });
        }
        if self.max_block_bytes > MAX_BLOCK_BYTES
            || self.max_block_bytes <= verdict_specs::l2::block::HEADER_BYTES
        {
            return Err(ConfigError::Invalid {
                key: "max_block_bytes",
                message: format!(
                    "{} is outside {}..={MAX_BLOCK_BYTES}: a block's body may have at most {} bytes (the largest a data fault proof re-reads on L1)",
                    self.max_block_bytes,
                    verdict_specs::l2::block::HEADER_BYTES + 1,
                    verdict_specs::l2::batch_data::MAX_BLOCK_BODY_BYTES
                ),
            });
        }
        let one_block = verdict_specs::l2::batch_data::PREFIX_BYTES + 4 + self.max_block_bytes;
        if self.max_batch_bytes < one_block {
            return Err(ConfigError::Invalid {
                key: "max_batch_bytes",
                message: format!(
                    "{} is too small for one block of up to {} bytes (max_block_bytes): at least {one_block}",
                    self.max_batch_bytes, self.max_block_bytes
                ),
            });
        }
        Ok(())
    }

    /// Block settings.
    pub fn block(&self) -> BlockConfig {
        BlockConfig {
            block_time: Duration::from_millis(self.block_time_ms),
            max_block_records: self.max_block_records,
            max_block_bytes: self.max_block_bytes,
            faults: self.faults(),
            ..BlockConfig::default()
        }
    }

    /// The fault plan, when faults are on.
    pub fn faults(&self) -> Option<FaultPlan> {
        (self.fault_rate > 0.0).then_some(FaultPlan {
            rate: self.fault_rate,
            mode: self.fault_mode,
        })
    }

    /// Batcher settings.
    pub fn batcher(&self) -> BatcherConfig {
        BatcherConfig {
            batch_blocks: self.batch_blocks,
            batch_interval: Duration::from_secs(self.batch_interval_secs),
            max_batch_bytes: self.max_batch_bytes,
            poll: Duration::from_millis(self.l1_poll_ms),
            faults: self.faults().filter(|plan| plan.mode.is_data_fault()),
        }
    }

    /// Deposit follower settings.
    pub fn deposits(&self) -> DepositConfig {
        DepositConfig {
            confirmations: self.l1_confirmations,
            poll: Duration::from_millis(self.l1_poll_ms),
        }
    }
}

/// An environment value as TOML: integers and booleans as such, arrays when written as
/// `[..]`, anything else a string.
fn env_value(text: &str) -> toml::Value {
    if let Ok(v) = text.parse::<i64>() {
        return toml::Value::Integer(v);
    }
    if let Ok(v) = text.parse::<bool>() {
        return toml::Value::Boolean(v);
    }
    if text.starts_with('[')
        && let Ok(table) = toml::from_str::<toml::Table>(&format!("v = {text}"))
        && let Some(v) = table.get("v")
    {
        return v.clone();
    }
    toml::Value::String(text.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn the_environment_overrides_the_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("s.toml");
        std::fs::write(&path, "batch_blocks = 3\nrpc_addr = \"127.0.0.1:1\"\n").expect("write");
        let config = SequencerConfig::load(
            Some(&path),
            env(&[
                ("VERDICT_RPC_ADDR", "0.0.0.0:9"),
                ("VERDICT_COMPRESS", "false"),
                ("VERDICT_MODELS", "[\"a.vdm\"]"),
                ("VERDICT_OTHER", "x"),
            ]),
        )
        .expect("loads");
        assert_eq!(config.batch_blocks, 3);
        assert_eq!(config.rpc_addr.port(), 9);
        assert!(!config.compress);
        assert_eq!(config.models, vec![PathBuf::from("a.vdm")]);
    }

    #[test]
    fn unknown_keys_and_bad_values_are_named() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("s.toml");
        std::fs::write(&path, "batch_blokcs = 3\n").expect("write");
        let e = SequencerConfig::load(Some(&path), env(&[])).expect_err("unknown key");
        assert!(e.to_string().contains("batch_blokcs"), "{e}");
        let e =
            SequencerConfig::load(None, env(&[("VERDICT_BATCH_BLOCKS", "0")])).expect_err("zero");
        assert!(e.to_string().contains("batch_blocks"), "{e}");
    }

    #[test]
    fn every_key_is_documented_and_every_documented_key_parses() {
        let defaults = toml::Table::try_from(SequencerConfig::default()).expect("serializes");
        for field in defaults.keys() {
            assert!(
                KEYS.iter().any(|(k, _, _)| k == field),
                "{field} is not in KEYS"
            );
        }
        for (key, default, _) in KEYS {
            if default.starts_with('(') {
                continue;
            }
            let parsed: Result<SequencerConfig, _> =
                toml::from_str(&format!("{key} = {default}\n"));
            assert!(parsed.is_ok(), "{key}: {parsed:?}");
        }
    }
}
