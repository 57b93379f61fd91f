//! What became of one inbox file, and of one keyset a run received: named states, not strings.
//! Their names (`applied`, `installed`…) are what `--json` reports and operators read.

use std::fmt;

/// What became of one bundle file an `import`, `apply` or `replay` run found.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum FileResult {
    /// Verified, judged and applied in one transaction, then archived.
    Applied,
    /// Applied before (a replay or resend): nothing changed, archived.
    Duplicate,
    /// Refused with a reason and moved to quarantine; nothing of it was applied. A report
    /// starts here, so that nothing counts as applied until the run has applied it.
    #[default]
    Quarantined,
}

impl FileResult {
    /// The name reports and `--json` use.
    pub fn as_str(self) -> &'static str {
        match self {
            FileResult::Applied => "applied",
            FileResult::Duplicate => "duplicate",
            FileResult::Quarantined => "quarantined",
        }
    }
}

/// Shows a state by the name reports use, and compares it with a name (`result == "applied"`).
macro_rules! named_state {
    ($state:ty) => {
        impl fmt::Display for $state {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl PartialEq<&str> for $state {
            fn eq(&self, name: &&str) -> bool {
                self.as_str() == *name
            }
        }
    };
}

named_state!(FileResult);

/// What receiving (or publishing) a keyset version did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum KeysetResult {
    /// The next version: verified against the current one and installed.
    Installed,
    /// A version this host trusts already: nothing changed.
    AlreadyTrusted,
}

impl KeysetResult {
    /// The name reports, `--json` and the audit line use.
    pub fn as_str(self) -> &'static str {
        match self {
            KeysetResult::Installed => "installed",
            KeysetResult::AlreadyTrusted => "already-trusted",
        }
    }
}

named_state!(KeysetResult);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_name_results_as_operators_read_them() {
        for (result, name) in [
            (FileResult::Applied, "applied"),
            (FileResult::Duplicate, "duplicate"),
            (FileResult::Quarantined, "quarantined"),
        ] {
            assert_eq!(serde_json::to_value(result).unwrap(), name);
            assert_eq!(result, name);
        }
        for (result, name) in [
            (KeysetResult::Installed, "installed"),
            (KeysetResult::AlreadyTrusted, "already-trusted"),
        ] {
            assert_eq!(serde_json::to_value(result).unwrap(), name);
            assert_eq!(result.to_string(), name);
        }
    }
}
