//! What a submission asks for, as one type with the name the store keeps in `receipts.kind`.
//! The import writes the kind and the review reads it back; both go through
//! [`SubmissionKind::name`] and [`SubmissionKind::parse`], so the spelling lives here alone
//! (the schema's check constraint on `receipts.kind` lists the same names).

use bundle_format::records::{CancellationScope, Change, Submission};

/// What a submission asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SubmissionKind {
    NewFiling,
    ChangeSubject,
    ChangeWebsite,
    ChangeAccess,
    AddedWebsite,
    CancelSubject,
    CancelWebsite,
    CancelAccess,
    Withdrawal,
    /// An access provider's check of another receipt (an instruction, not a case of its own:
    /// it gets no `receipts` row, only its version row).
    ProviderCheck,
}

impl SubmissionKind {
    /// Every kind, for parsing.
    const ALL: [SubmissionKind; 10] = [
        SubmissionKind::NewFiling,
        SubmissionKind::ChangeSubject,
        SubmissionKind::ChangeWebsite,
        SubmissionKind::ChangeAccess,
        SubmissionKind::AddedWebsite,
        SubmissionKind::CancelSubject,
        SubmissionKind::CancelWebsite,
        SubmissionKind::CancelAccess,
        SubmissionKind::Withdrawal,
        SubmissionKind::ProviderCheck,
    ];

    /// The kind of a submission body.
    pub(crate) fn of(body: &Submission) -> SubmissionKind {
        match body {
            Submission::NewFiling(_) | Submission::NewFilingWithScans { .. } => {
                SubmissionKind::NewFiling
            }
            Submission::Change { change, .. } | Submission::ChangeWithScans { change, .. } => {
                match change {
                    Change::Subject(_) => SubmissionKind::ChangeSubject,
                    Change::Website { .. } => SubmissionKind::ChangeWebsite,
                    Change::Access { .. } => SubmissionKind::ChangeAccess,
                    Change::AddedWebsite(_) => SubmissionKind::AddedWebsite,
                }
            }
            Submission::Cancellation { scope, .. } => match scope {
                CancellationScope::Subject => SubmissionKind::CancelSubject,
                CancellationScope::Website => SubmissionKind::CancelWebsite,
                CancellationScope::Access => SubmissionKind::CancelAccess,
            },
            Submission::Withdrawal { .. } => SubmissionKind::Withdrawal,
            Submission::ProviderCheck { .. } => SubmissionKind::ProviderCheck,
        }
    }

    /// The name stored in `receipts.kind` (and `stage_versions.kind` during an import).
    pub(crate) fn name(self) -> &'static str {
        match self {
            SubmissionKind::NewFiling => "new-filing",
            SubmissionKind::ChangeSubject => "change-subject",
            SubmissionKind::ChangeWebsite => "change-website",
            SubmissionKind::ChangeAccess => "change-access",
            SubmissionKind::AddedWebsite => "added-website",
            SubmissionKind::CancelSubject => "cancel-subject",
            SubmissionKind::CancelWebsite => "cancel-website",
            SubmissionKind::CancelAccess => "cancel-access",
            SubmissionKind::Withdrawal => "withdrawal",
            SubmissionKind::ProviderCheck => "provider-check",
        }
    }

    /// Parses a name written by [`SubmissionKind::name`].
    pub(crate) fn parse(name: &str) -> Option<SubmissionKind> {
        Self::ALL.into_iter().find(|kind| kind.name() == name)
    }

    /// Whether approving a submission of this kind cancels something.
    pub(crate) fn is_cancellation(self) -> bool {
        matches!(
            self,
            SubmissionKind::CancelSubject
                | SubmissionKind::CancelWebsite
                | SubmissionKind::CancelAccess
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_parses_back_to_its_kind() {
        for kind in SubmissionKind::ALL {
            assert_eq!(SubmissionKind::parse(kind.name()), Some(kind));
        }
        assert_eq!(SubmissionKind::parse("cancel-everything"), None);
    }

    #[test]
    fn cancellations_are_the_kinds_named_cancel() {
        // The store's names and this predicate must agree: the review once decided
        // cancellations by the "cancel-" prefix of the stored name.
        for kind in SubmissionKind::ALL {
            assert_eq!(kind.is_cancellation(), kind.name().starts_with("cancel-"));
        }
    }
}
