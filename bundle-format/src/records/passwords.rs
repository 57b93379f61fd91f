//! The filing password (备案密码) on its way out (wire version 5, SPEC.md §6.3): approval issues
//! it beside the certificate, the inner side keeps only its salted hash, and this record carries
//! the password itself, once, to the intake node whose channel created the receipt approved, so
//! that the filing's owner can read it there once. With the filing number it lets anyone download
//! the certificate without an account, as the filing manuals describe.

use bincode::{Decode, Encode};

use super::{Path, ShapeError, at_most, text_field};

/// Most bytes of a filing password as it travels (the format the inner side issues is 19:
/// four groups of four characters joined by `-`; the limit leaves room for another format
/// without a new wire version).
pub const MAX_FILING_PASSWORD_BYTES: usize = 64;

/// A filing's password, issued when its certificate is first issued. The outer side stores
/// its own salted hash of it, keeps the password itself only until the owner of `receipt` has
/// seen it once, and never logs it.
///
/// `Debug` does not show the password, so that no log line or error message can carry it.
#[derive(Clone, PartialEq, Eq, Encode, Decode)]
pub struct FilingPassword {
    /// The subject's filing number the password opens, e.g. `京ICP备2026000001号`.
    pub filing_number: String,
    /// The receipt whose approval issued it: its owner is the one who sees it, and its
    /// channel is the one the record travels on.
    pub receipt: String,
    /// When it was issued, Unix seconds. A receiver keeps the newest it has applied.
    pub issued_at: i64,
    /// The password as the owner types it.
    pub password: String,
}

impl std::fmt::Debug for FilingPassword {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FilingPassword")
            .field("filing_number", &self.filing_number)
            .field("receipt", &self.receipt)
            .field("issued_at", &self.issued_at)
            .field("password", &"<hidden>")
            .finish()
    }
}

impl FilingPassword {
    /// The shape limits of SPEC.md §6.4.
    pub(super) fn check(&self) -> Result<(), ShapeError> {
        let root = Path::Root("filing_password");
        text_field(&root.field("filing_number"), &self.filing_number)?;
        text_field(&root.field("receipt"), &self.receipt)?;
        let password = root.field("password");
        at_most(&password, self.password.len(), MAX_FILING_PASSWORD_BYTES)?;
        if self.password.is_empty() {
            return Err(ShapeError {
                field: password.to_string(),
                problem: "is empty".into(),
            });
        }
        Ok(())
    }
}
