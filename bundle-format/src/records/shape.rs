//! Shape limits: the path of a field a check names, the error it gives, and the small checks
//! every record type's shape check is made of.

use super::MAX_TEXT_BYTES;

/// A field that breaks a shape limit.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {problem}")]
pub struct ShapeError {
    /// Path of the field, e.g. `submission.body.websites[2].domains`.
    pub field: String,
    /// What is wrong, e.g. `300 entries, at most 256 allowed`.
    pub problem: String,
}

/// The path of a field, built on the stack as a check descends and rendered only when a limit
/// is broken, so checking a record in shape allocates nothing. Displays as
/// `submission.body.websites[0].domains[2]`; other checks of records (the import's re-check of
/// the filing rules) name fields with it too.
#[derive(Clone, Copy, Debug)]
pub enum Path<'a> {
    /// The outermost name, e.g. `submission.body`.
    Root(&'static str),
    /// A named field of the parent.
    Field(&'a Path<'a>, &'static str),
    /// An element of the parent list.
    Index(&'a Path<'a>, usize),
}

impl Path<'_> {
    /// The field `name` of this path.
    pub fn field(&self, name: &'static str) -> Path<'_> {
        Path::Field(self, name)
    }

    /// Element `i` of this path.
    pub fn index(&self, i: usize) -> Path<'_> {
        Path::Index(self, i)
    }
}

impl std::fmt::Display for Path<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Path::Root(name) => f.write_str(name),
            Path::Field(parent, name) => write!(f, "{parent}.{name}"),
            Path::Index(parent, i) => write!(f, "{parent}[{i}]"),
        }
    }
}

pub(super) fn at_most(field: &Path<'_>, len: usize, max: usize) -> Result<(), ShapeError> {
    if len > max {
        return Err(ShapeError {
            field: field.to_string(),
            problem: format!("{len} entries or bytes, at most {max} allowed"),
        });
    }
    Ok(())
}

pub(super) fn text_field(field: &Path<'_>, value: &str) -> Result<(), ShapeError> {
    at_most(field, value.len(), MAX_TEXT_BYTES)
}

pub(super) fn opt_text_field(field: &Path<'_>, value: &Option<String>) -> Result<(), ShapeError> {
    match value {
        Some(value) => text_field(field, value),
        None => Ok(()),
    }
}

pub(super) fn text_list(field: &Path<'_>, values: &[String], max: usize) -> Result<(), ShapeError> {
    at_most(field, values.len(), max)?;
    for (i, value) in values.iter().enumerate() {
        text_field(&field.index(i), value)?;
    }
    Ok(())
}
