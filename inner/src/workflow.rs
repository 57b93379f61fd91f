//! The review workflow: which state a submission enters on import and which transitions a
//! reviewer (or a later submission) may make. Every state change anywhere in this crate is
//! decided by [`transition`]; nothing else writes a review state.

use bundle_format::records::ReviewState;

/// Every review state, with its name in the database and on the command line.
pub const STATES: [(ReviewState, &str); 10] = [
    (ReviewState::Delivered, "delivered"),
    (
        ReviewState::AwaitingProviderCheck,
        "awaiting-provider-check",
    ),
    (ReviewState::AwaitingPreApproval, "awaiting-pre-approval"),
    (
        ReviewState::AwaitingRegionalReview,
        "awaiting-regional-review",
    ),
    (ReviewState::ReturnedToProvider, "returned-to-provider"),
    (ReviewState::ReturnedToSubmitter, "returned-to-submitter"),
    (ReviewState::Approved, "approved"),
    (ReviewState::Rejected, "rejected"),
    (ReviewState::Cancelled, "cancelled"),
    (ReviewState::Withdrawn, "withdrawn"),
];

/// The state's name in the database and on the command line.
pub fn state_name(state: ReviewState) -> &'static str {
    STATES
        .iter()
        .find(|(s, _)| *s == state)
        .map_or("delivered", |(_, name)| name)
}

/// Parses a state name written by [`state_name`].
pub fn parse_state(name: &str) -> Option<ReviewState> {
    STATES.iter().find(|(_, n)| *n == name).map(|(s, _)| *s)
}

/// Whether a submission in this state is still open: it may be reviewed, replaced by a newer
/// version, or withdrawn.
pub fn is_open(state: ReviewState) -> bool {
    matches!(
        state,
        ReviewState::Delivered
            | ReviewState::AwaitingProviderCheck
            | ReviewState::AwaitingPreApproval
            | ReviewState::AwaitingRegionalReview
            | ReviewState::ReturnedToProvider
            | ReviewState::ReturnedToSubmitter
    )
}

/// Whether a reviewer may act on a submission in this state.
pub fn awaits_review(state: ReviewState) -> bool {
    matches!(
        state,
        ReviewState::AwaitingProviderCheck
            | ReviewState::AwaitingPreApproval
            | ReviewState::AwaitingRegionalReview
    )
}

/// Who a returned submission goes back to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReturnTo {
    /// The access provider that submitted it.
    Provider,
    /// The submitter.
    Submitter,
}

/// Something that changes a submission's review state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// A version arrived in an import (first or newer version of the receipt).
    Arrive,
    /// The submitter withdrew it.
    Withdraw,
    /// A reviewer passed the current stage.
    Approve,
    /// A reviewer sent it back.
    Return(ReturnTo),
    /// A reviewer rejected it.
    Reject,
}

/// Facts about a submission that decide where a transition leads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Facts {
    /// It came from the submitter directly, not through its access provider, and touches
    /// access: the provider must check it first.
    pub needs_provider_check: bool,
    /// Its content needs a pre-approval the authority must confirm.
    pub needs_pre_approval: bool,
    /// It cancels something: its final approval leads to `Cancelled`.
    pub is_cancellation: bool,
}

/// A transition the workflow does not allow.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a submission that is {from} cannot be {action}", from = state_name(*.from), action = action_name(*.action))]
pub struct Refused {
    /// The state it is in.
    pub from: ReviewState,
    /// What was attempted.
    pub action: Action,
}

fn action_name(action: Action) -> &'static str {
    match action {
        Action::Arrive => "replaced by a new version",
        Action::Withdraw => "withdrawn",
        Action::Approve => "approved",
        Action::Return(_) => "returned",
        Action::Reject => "rejected",
    }
}

/// The state a submission enters when a version of it arrives.
pub fn entry_state(facts: Facts) -> ReviewState {
    if facts.needs_provider_check {
        ReviewState::AwaitingProviderCheck
    } else if facts.needs_pre_approval {
        ReviewState::AwaitingPreApproval
    } else {
        ReviewState::AwaitingRegionalReview
    }
}

/// The one place review transitions are decided. `from` is `None` for a receipt not seen
/// before.
pub fn transition(
    from: Option<ReviewState>,
    action: Action,
    facts: Facts,
) -> Result<ReviewState, Refused> {
    use ReviewState as S;
    let refused = |from| Refused { from, action };
    match (from, action) {
        (None, Action::Arrive) => Ok(entry_state(facts)),
        (None, _) => Err(refused(S::Delivered)),
        (Some(state), Action::Arrive) if is_open(state) => Ok(entry_state(facts)),
        (Some(state), Action::Withdraw) if is_open(state) => Ok(S::Withdrawn),
        (Some(S::AwaitingProviderCheck), Action::Approve) => Ok(if facts.needs_pre_approval {
            S::AwaitingPreApproval
        } else {
            S::AwaitingRegionalReview
        }),
        (Some(S::AwaitingPreApproval), Action::Approve) => Ok(S::AwaitingRegionalReview),
        (Some(S::AwaitingRegionalReview), Action::Approve) => Ok(if facts.is_cancellation {
            S::Cancelled
        } else {
            S::Approved
        }),
        // The provider's own check cannot return a submission to the provider.
        (Some(S::AwaitingProviderCheck), Action::Return(_)) => Ok(S::ReturnedToSubmitter),
        (Some(state), Action::Return(ReturnTo::Provider)) if awaits_review(state) => {
            Ok(S::ReturnedToProvider)
        }
        (Some(state), Action::Return(ReturnTo::Submitter)) if awaits_review(state) => {
            Ok(S::ReturnedToSubmitter)
        }
        (Some(state), Action::Reject) if awaits_review(state) => Ok(S::Rejected),
        (Some(state), _) => Err(refused(state)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ReviewState as S;

    const PLAIN: Facts = Facts {
        needs_provider_check: false,
        needs_pre_approval: false,
        is_cancellation: false,
    };

    #[test]
    fn state_names_round_trip() {
        for (state, name) in STATES {
            assert_eq!(parse_state(name), Some(state));
            assert_eq!(state_name(state), name);
        }
    }

    #[test]
    fn a_direct_submission_with_news_goes_through_every_stage() {
        let facts = Facts {
            needs_provider_check: true,
            needs_pre_approval: true,
            ..PLAIN
        };
        let s = transition(None, Action::Arrive, facts).unwrap();
        assert_eq!(s, S::AwaitingProviderCheck);
        let s = transition(Some(s), Action::Approve, facts).unwrap();
        assert_eq!(s, S::AwaitingPreApproval);
        let s = transition(Some(s), Action::Approve, facts).unwrap();
        assert_eq!(s, S::AwaitingRegionalReview);
        assert_eq!(
            transition(Some(s), Action::Approve, facts).unwrap(),
            S::Approved
        );
    }

    #[test]
    fn decided_submissions_cannot_change_again() {
        for state in [S::Approved, S::Rejected, S::Cancelled, S::Withdrawn] {
            for action in [
                Action::Arrive,
                Action::Withdraw,
                Action::Approve,
                Action::Reject,
            ] {
                assert_eq!(
                    transition(Some(state), action, PLAIN),
                    Err(Refused {
                        from: state,
                        action
                    })
                );
            }
        }
    }

    #[test]
    fn returned_submission_waits_for_a_new_version_not_a_reviewer() {
        for state in [S::ReturnedToProvider, S::ReturnedToSubmitter] {
            assert!(transition(Some(state), Action::Approve, PLAIN).is_err());
            assert_eq!(
                transition(Some(state), Action::Arrive, PLAIN).unwrap(),
                S::AwaitingRegionalReview
            );
        }
    }

    #[test]
    fn approving_a_cancellation_cancels() {
        let facts = Facts {
            is_cancellation: true,
            ..PLAIN
        };
        assert_eq!(
            transition(Some(S::AwaitingRegionalReview), Action::Approve, facts).unwrap(),
            S::Cancelled
        );
    }
}
