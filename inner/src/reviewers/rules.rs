//! Who may do what: pure rules over a reviewer's role, province and service types, with no
//! database. [`crate::review`] asks [`Reviewer::may_decide`] before every decision, and account
//! management asks [`Reviewer::may_create`] and [`Reviewer::may_disable`], so the command line
//! and the review pages cannot differ.

use bundle_format::records::ReviewState;

use super::{Reviewer, Role};
use crate::workflow;

/// The service types whose content needs a pre-approval (前置审批), by their stored names; a
/// pre-approval reviewer confirms some of them. They are the names of the pre-approval items
/// too ([`crate::names::pre_approval_item`]).
pub const PRE_APPROVAL_SERVICE_TYPES: [&str; 7] = [
    "news",
    "publishing",
    "education",
    "medical",
    "drugs",
    "culture",
    "broadcasting",
];

/// Why a reviewer may not do something; the message names the reviewer and what is missing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("reviewer {reviewer} {problem}")]
pub struct NotAllowed {
    /// The reviewer as [`Reviewer::describe`] gives it.
    pub reviewer: String,
    /// What the reviewer may not do, and why.
    pub problem: String,
}

impl Reviewer {
    /// The reviewer as refusals name it: `zj-01 (authority, province 33)`.
    pub fn describe(&self) -> String {
        match (self.role, self.province) {
            (Role::Ministry, _) | (_, None) => format!("{} (ministry)", self.name),
            (Role::Authority, Some(p)) => format!("{} (authority, province {p})", self.name),
            (Role::PreApproval, Some(p)) => format!(
                "{} (pre-approval, province {p}, service types {})",
                self.name,
                self.service_types.join(",")
            ),
        }
    }

    fn refuse(&self, problem: String) -> NotAllowed {
        NotAllowed {
            reviewer: self.describe(),
            problem,
        }
    }

    /// Whether this reviewer may decide (approve, return or reject) a submission that is in
    /// `state`, of a filing of `province`, needing the pre-approvals `needed` (service type
    /// names; only looked at for the pre-approval stage).
    ///
    /// The ministry decides at every stage in every province. An authority decides the
    /// provider check and the regional review of its own province. A pre-approval reviewer
    /// decides the pre-approval stage of its own province, and only when its service types
    /// cover every pre-approval the submission needs.
    pub fn may_decide(
        &self,
        state: ReviewState,
        province: i16,
        needed: &[String],
    ) -> Result<(), NotAllowed> {
        if self.role == Role::Ministry {
            return Ok(());
        }
        if self.province != Some(province) {
            return Err(self.refuse(format!("may not act on filing of province {province}")));
        }
        let stage = workflow::state_name(state);
        match (self.role, state) {
            (
                Role::Authority,
                ReviewState::AwaitingProviderCheck | ReviewState::AwaitingRegionalReview,
            ) => Ok(()),
            (Role::Authority, ReviewState::AwaitingPreApproval) => Err(self.refuse(format!(
                "may not act at the {stage} stage: the province's pre-approval reviewers confirm \
                 pre-approvals"
            ))),
            (Role::PreApproval, ReviewState::AwaitingPreApproval) => {
                let missing: Vec<&str> = needed
                    .iter()
                    .filter(|n| !self.service_types.contains(n))
                    .map(String::as_str)
                    .collect();
                if missing.is_empty() {
                    Ok(())
                } else {
                    Err(self.refuse(format!(
                        "may not confirm the {} pre-approval of this filing",
                        missing.join(", ")
                    )))
                }
            }
            (Role::PreApproval, _) => Err(self.refuse(format!(
                "may not act at the {stage} stage: pre-approval reviewers act at the \
                 awaiting-pre-approval stage only"
            ))),
            (Role::Authority | Role::Ministry, _) => {
                Err(self.refuse(format!("may not act on a submission that is {stage}")))
            }
        }
    }

    /// Whether this reviewer may revoke (撤销) an approved filing of `province`, or one of its
    /// websites: the ministry everywhere, an authority in its own province; a pre-approval
    /// reviewer never.
    pub fn may_revoke(&self, province: i16) -> Result<(), NotAllowed> {
        match self.role {
            Role::Ministry => Ok(()),
            Role::Authority if self.province == Some(province) => Ok(()),
            Role::Authority => {
                Err(self.refuse(format!("may not revoke a filing of province {province}")))
            }
            Role::PreApproval => Err(self.refuse(
                "may not revoke filings: the province's authority or the ministry does".to_owned(),
            )),
        }
    }

    /// Whether this reviewer may see the filings of `province` (on the review page): the
    /// ministry sees every province, every other reviewer its own.
    pub fn may_see(&self, province: i16) -> Result<(), NotAllowed> {
        if self.role == Role::Ministry || self.province == Some(province) {
            Ok(())
        } else {
            Err(self.refuse(format!("may not see filing of province {province}")))
        }
    }

    /// Whether this reviewer may create an account of `role` for `province`. The ministry
    /// creates any account; an authority creates pre-approval reviewers of its own province.
    pub fn may_create(&self, role: Role, province: Option<i16>) -> Result<(), NotAllowed> {
        match (self.role, role) {
            (Role::Ministry, _) => Ok(()),
            (Role::Authority, Role::PreApproval) if province == self.province => Ok(()),
            (Role::Authority, Role::PreApproval) => Err(self.refuse(format!(
                "may not create a pre-approval reviewer for province {}",
                province.map_or_else(|| "(none)".to_owned(), |p| p.to_string())
            ))),
            (Role::Authority, other) => Err(self.refuse(format!(
                "may not create {} accounts: only the ministry does",
                other.name()
            ))),
            (Role::PreApproval, _) => Err(self.refuse("may not create accounts".to_owned())),
        }
    }

    /// Whether this reviewer may disable the account `target` (of `role` and `province`). The
    /// ministry disables any account but its own; an authority disables the pre-approval
    /// reviewers of its province.
    pub fn may_disable(
        &self,
        target: &str,
        role: Role,
        province: Option<i16>,
    ) -> Result<(), NotAllowed> {
        if target == self.name {
            return Err(self.refuse("may not disable its own account".to_owned()));
        }
        match self.role {
            Role::Ministry => Ok(()),
            Role::Authority if role == Role::PreApproval && province == self.province => Ok(()),
            _ => Err(self.refuse(format!("may not disable account {target}"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ReviewState as S;

    fn reviewer(role: Role, province: Option<i16>, service_types: &[&str]) -> Reviewer {
        Reviewer {
            account_id: 1,
            name: "zj-01".to_owned(),
            role,
            province,
            service_types: service_types.iter().map(|s| (*s).to_owned()).collect(),
        }
    }

    #[test]
    fn the_refusal_names_the_reviewer_its_province_and_the_filings() {
        let zhejiang = reviewer(Role::Authority, Some(33), &[]);
        let refused = zhejiang
            .may_decide(S::AwaitingRegionalReview, 11, &[])
            .unwrap_err();
        assert_eq!(
            refused.to_string(),
            "reviewer zj-01 (authority, province 33) may not act on filing of province 11"
        );
    }

    #[test]
    fn each_role_acts_at_its_own_stages() {
        let ministry = reviewer(Role::Ministry, None, &[]);
        let authority = reviewer(Role::Authority, Some(33), &[]);
        let medical = reviewer(Role::PreApproval, Some(33), &["medical", "drugs"]);
        let needs = vec!["medical".to_owned()];
        for state in [
            S::AwaitingProviderCheck,
            S::AwaitingPreApproval,
            S::AwaitingRegionalReview,
        ] {
            assert!(ministry.may_decide(state, 11, &needs).is_ok());
            assert_eq!(
                authority.may_decide(state, 33, &needs).is_ok(),
                state != S::AwaitingPreApproval
            );
            assert_eq!(
                medical.may_decide(state, 33, &needs).is_ok(),
                state == S::AwaitingPreApproval
            );
        }
    }

    #[test]
    fn a_pre_approval_reviewer_confirms_only_its_own_service_types() {
        let medical = reviewer(Role::PreApproval, Some(33), &["medical"]);
        let needs = vec!["medical".to_owned(), "news".to_owned()];
        let refused = medical
            .may_decide(S::AwaitingPreApproval, 33, &needs)
            .unwrap_err();
        assert!(
            refused
                .to_string()
                .ends_with("may not confirm the news pre-approval of this filing"),
            "{refused}"
        );
    }

    #[test]
    fn an_authority_creates_pre_approval_reviewers_of_its_province_only() {
        let authority = reviewer(Role::Authority, Some(33), &[]);
        assert!(authority.may_create(Role::PreApproval, Some(33)).is_ok());
        assert!(authority.may_create(Role::PreApproval, Some(11)).is_err());
        assert!(authority.may_create(Role::Authority, Some(33)).is_err());
        assert!(authority.may_create(Role::Ministry, None).is_err());
        let medical = reviewer(Role::PreApproval, Some(33), &["medical"]);
        assert!(medical.may_create(Role::PreApproval, Some(33)).is_err());
    }
}
