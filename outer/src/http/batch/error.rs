//! What can be wrong with a batch file as a whole (as opposed to one of its rows), whichever
//! reader found it.

/// What is wrong with a batch file as a whole.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum BatchError {
    /// Not CSV or XLSX.
    #[error("the file is neither CSV (UTF-8) nor XLSX: {0}")]
    Unreadable(String),
    /// No header row.
    #[error("the file is empty; start from the template")]
    Empty,
    /// Header problems.
    #[error("the header row is wrong: {0}")]
    Header(String),
    /// The file expands beyond its limits.
    #[error("{0}")]
    TooLarge(String),
    /// Too many rows.
    #[error(
        "the file has more than {limit} data rows; split it into files of at most {limit} rows"
    )]
    TooManyRows {
        /// The limit.
        limit: usize,
    },
}
