//! Writing results: atomically to files, readably to people.

use anyhow::{Context, Result};
use std::io::Write;
use std::path::Path;

/// Writes `bytes` to `path` through a temporary file in the same directory and a
/// rename, so a crash or a full disk never leaves a half-written file behind.
pub(crate) fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)
        .with_context(|| format!("creating directory {}", dir.display()))?;
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy())
        .unwrap_or_default();
    let temp = dir.join(format!(".{file_name}.{}.tmp", std::process::id()));
    let write = || -> std::io::Result<()> {
        let mut file = std::fs::File::create(&temp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&temp, path)
    };
    write()
        .inspect_err(|_| {
            // Leave no partial file behind; the original error is what matters.
            let _ = std::fs::remove_file(&temp);
        })
        .with_context(|| format!("writing {}", path.display()))
}

/// Prints a JSON value on stdout.
pub(crate) fn print_json(value: &serde_json::Value) -> Result<()> {
    println!(
        "{}",
        serde_json::to_string_pretty(value).context("formatting JSON")?
    );
    Ok(())
}

/// A fraction as a percentage with two decimals.
/// `object` with the fields of `extra` added: a report's shared fields plus those of one
/// kind (a classifier's or a regressor's).
pub(crate) fn with_fields(
    mut object: serde_json::Value,
    extra: serde_json::Value,
) -> serde_json::Value {
    if let (Some(object), serde_json::Value::Object(extra)) = (object.as_object_mut(), extra) {
        object.extend(extra);
    }
    object
}

pub(crate) fn percent(fraction: f64) -> String {
    format!("{:.2}%", fraction * 100.0)
}
