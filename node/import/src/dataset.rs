//! Labelled datasets in the project's CSV format.
//!
//! One row per example: the float input features in order, then the target as the last
//! column: the integer class label for a classifier, the real value for a regressor. No header. Blank lines are skipped. Every command that takes
//! `--calibration`, `--test` or `--dataset` reads this format.

use std::path::Path;
use thiserror::Error;

/// Why a dataset could not be read.
#[derive(Debug, Error)]
pub enum DatasetError {
    /// The file could not be read.
    #[error("reading {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// A cell is not a number.
    #[error("line {line}, column {column}: {text:?} is not a number")]
    NotANumber {
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// The cell.
        text: String,
    },
    /// A feature is NaN or infinite.
    #[error("line {line}, column {column}: feature is not finite")]
    NotFinite {
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
    },
    /// The target is not a finite number.
    #[error("line {line}: target {text:?} is not a finite number")]
    BadLabel {
        /// 1-based line.
        line: usize,
        /// The cell.
        text: String,
    },
    /// A classifier's target is not an integer class label.
    #[error(
        "row {row}: target {value} is not an integer class label (is this a regression dataset?)"
    )]
    NotAClass {
        /// 1-based row (blank lines not counted).
        row: usize,
        /// The target.
        value: f64,
    },
    /// Rows disagree on the number of columns.
    #[error("line {line}: {actual} columns, but the first row has {expected}")]
    Ragged {
        /// 1-based line.
        line: usize,
        /// Columns of the first row.
        expected: usize,
        /// Columns of this row.
        actual: usize,
    },
    /// A row has no feature (only a label).
    #[error("line {line}: a row needs at least one feature and a label")]
    TooFewColumns {
        /// 1-based line.
        line: usize,
    },
    /// No rows at all.
    #[error("the dataset has no rows")]
    Empty,
}

/// Examples with their targets.
#[derive(Clone, Debug, PartialEq)]
pub struct Dataset {
    /// One feature vector per row.
    pub features: Vec<Vec<f64>>,
    /// One target per row: a class label (an integer) or a real value.
    pub targets: Vec<f64>,
}

impl Dataset {
    /// Number of rows.
    pub fn len(&self) -> usize {
        self.targets.len()
    }
    /// Whether there are no rows.
    pub fn is_empty(&self) -> bool {
        self.targets.is_empty()
    }
    /// The targets as class labels; fails on the first that is not an integer.
    pub fn labels(&self) -> Result<Vec<i64>, DatasetError> {
        self.targets
            .iter()
            .enumerate()
            .map(|(i, &value)| {
                (value.fract() == 0.0 && value.abs() < 9.0e15)
                    .then_some(value as i64)
                    .ok_or(DatasetError::NotAClass { row: i + 1, value })
            })
            .collect()
    }
    /// Features per row.
    pub fn feature_count(&self) -> usize {
        self.features.first().map_or(0, Vec::len)
    }

    /// Reads a CSV file.
    pub fn load(path: &Path) -> Result<Self, DatasetError> {
        let text = std::fs::read_to_string(path).map_err(|source| DatasetError::Io {
            path: path.display().to_string(),
            source,
        })?;
        Self::parse(&text)
    }

    /// Parses CSV text.
    pub fn parse(text: &str) -> Result<Self, DatasetError> {
        let mut features = Vec::new();
        let mut targets = Vec::new();
        let mut width = None;
        for (i, raw) in text.lines().enumerate() {
            let line = i + 1;
            let row = raw.trim();
            if row.is_empty() {
                continue;
            }
            let cells: Vec<&str> = row.split(',').map(str::trim).collect();
            if cells.len() < 2 {
                return Err(DatasetError::TooFewColumns { line });
            }
            let expected = *width.get_or_insert(cells.len());
            if cells.len() != expected {
                return Err(DatasetError::Ragged {
                    line,
                    expected,
                    actual: cells.len(),
                });
            }
            let (label_cell, feature_cells) = cells.split_last().expect("at least two cells");
            let row_features = feature_cells
                .iter()
                .enumerate()
                .map(|(c, text)| {
                    let column = c + 1;
                    let value: f64 = text.parse().map_err(|_| DatasetError::NotANumber {
                        line,
                        column,
                        text: (*text).to_string(),
                    })?;
                    if value.is_finite() {
                        Ok(value)
                    } else {
                        Err(DatasetError::NotFinite { line, column })
                    }
                })
                .collect::<Result<Vec<f64>, _>>()?;
            targets.push(
                label_cell
                    .parse::<f64>()
                    .ok()
                    .filter(|v| v.is_finite())
                    .ok_or_else(|| DatasetError::BadLabel {
                        line,
                        text: (*label_cell).to_string(),
                    })?,
            );
            features.push(row_features);
        }
        if targets.is_empty() {
            return Err(DatasetError::Empty);
        }
        Ok(Self { features, targets })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_rows_and_labels() {
        let d = Dataset::parse("0.5,1,3\n\n-2,0.25,7.0\n").expect("valid");
        assert_eq!(d.features, vec![vec![0.5, 1.0], vec![-2.0, 0.25]]);
        assert_eq!(d.labels().expect("integers"), vec![3, 7]);
        assert_eq!(d.feature_count(), 2);
    }

    #[test]
    fn errors_name_the_line_and_column() {
        let e = Dataset::parse("1,2,3\n1,x,3\n").unwrap_err().to_string();
        assert_eq!(e, "line 2, column 2: \"x\" is not a number");
        assert!(
            Dataset::parse("1,2,3\n1,2\n")
                .unwrap_err()
                .to_string()
                .contains("line 2")
        );
        let fractional = Dataset::parse("1,2,3.5\n").expect("a regression target");
        assert_eq!(fractional.targets, vec![3.5]);
        assert!(
            fractional
                .labels()
                .unwrap_err()
                .to_string()
                .contains("row 1: target 3.5 is not an integer class label")
        );
        assert!(Dataset::parse("1,2,x\n").is_err());
        assert!(Dataset::parse("1,nan,3\n").is_err());
        assert!(Dataset::parse("").is_err());
        assert!(Dataset::parse("5\n").is_err());
    }
}
