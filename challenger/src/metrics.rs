//! The challenger's Prometheus metrics (rendered by whatever serves `/metrics`).

/// Records re-executed and compared.
pub const RECORDS_CHECKED_TOTAL: &str = "verdict_challenger_records_checked_total";
/// Records skipped, by `reason` (`unknown_model`, `window_closed`).
pub const RECORDS_SKIPPED_TOTAL: &str = "verdict_challenger_records_skipped_total";
/// Records whose posted output differs from the re-execution.
pub const MISMATCHES_TOTAL: &str = "verdict_challenger_mismatches_total";
/// Posted batches whose data is not a valid batch for its header.
pub const INVALID_BATCHES_TOTAL: &str = "verdict_challenger_invalid_batches_total";
/// Batches reverted by a data fault proof of this challenger (a block's body did not
/// back its header).
pub const DATA_FAULTS_PROVEN_TOTAL: &str = "verdict_challenger_data_faults_proven_total";
/// Batches read from L1.
pub const BATCHES_TOTAL: &str = "verdict_challenger_batches_total";
/// Games opened.
pub const GAMES_OPENED_TOTAL: &str = "verdict_challenger_games_opened_total";
/// Games ended, by `outcome` (`won`, `lost`, `abandoned`).
pub const GAMES_ENDED_TOTAL: &str = "verdict_challenger_games_ended_total";
/// Games running now.
pub const GAMES_OPEN: &str = "verdict_challenger_games_open";
/// Wei locked in running games.
pub const BONDS_AT_STAKE_WEI: &str = "verdict_challenger_bonds_at_stake_wei";
/// L1 gas the challenger's transactions used.
pub const L1_GAS_SPENT_TOTAL: &str = "verdict_challenger_l1_gas_spent_total";
/// The L1 block the challenger has read batches up to.
pub const L1_CURSOR: &str = "verdict_challenger_l1_cursor";

/// Models named by posted records that the challenger has not been able to obtain (no
/// file given, no source that serves bytes of that id): records nobody here can check.
pub const MODELS_UNOBTAINABLE: &str = "verdict_challenger_models_unobtainable";
/// Model files fetched from a source, by `source`.
pub const MODELS_FETCHED_TOTAL: &str = "verdict_challenger_models_fetched_total";

/// Label: why a record was skipped, or how a game ended.
pub const LABEL_REASON: &str = "reason";
/// Label: how a game ended.
pub const LABEL_OUTCOME: &str = "outcome";
