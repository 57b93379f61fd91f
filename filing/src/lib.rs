//! The filing manuals' rules, written once: what a filing's fields must be (provinces, check
//! characters of certificate numbers, domains and IP ranges, names, phones, addresses, filing
//! numbers), what a website's name and services commit it to, and which rules a signed record
//! must still meet when the inner side imports it.
//!
//! The outer intake calls the field rules while it turns a submitter's request into a record
//! (each returns the normalised value or the [`Rule`] broken, with a stable code); the import
//! re-checks every record of a bundle with [`check()`]; the inner side uses the same province
//! table, filing-number format and duplicate-domain rule. A rule changes here, with its test
//! beside it, and nowhere else.
//!
//! This crate is pure: no I/O, no clock, no database. What depends on stored data (a domain
//! already filed by another subject, an unknown filing number) is judged by the side that holds
//! the data.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod arrival;
pub mod certificate;
pub mod check;
pub mod domain;
pub mod electronic_certificate;
pub mod ip;
pub mod number;
pub mod password;
pub mod person;
pub mod privacy;
pub mod provider_check;
pub mod province;
pub mod scan;
pub mod text;
pub mod url;
pub mod website;

pub use certificate::{
    ORGANIZATION_CODE_WEIGHTS, PERSON_CERTIFICATE_TYPES, RESIDENT_ID_CHECK, RESIDENT_ID_WEIGHTS,
    USCC_CHARSET, USCC_WEIGHTS, certificate_number, certificate_types_for, organization_code,
    resident_id, resident_id_check_char, unified_social_credit_code, uscc_check_char,
};
pub use check::{Problem, check, check_each};
pub use domain::{MAX_DOMAIN_LEN, domain, domain_ascii, looks_like_domain};
pub use ip::{MAX_V4_RANGE, MAX_V6_RANGE, ip_range, parsed_ip_range};
pub use number::{RECEIPT_ALPHABET, filing_number, receipt_id};
pub use person::{MAX_EMAIL_LEN, email, mobile_phone, office_phone, person_name};
pub use province::{PROVINCES, province_prefix, region_code, region_code_number};
pub use text::{address, required_text};
pub use url::home_url;
pub use website::{COMPANY_WORDS, NAME_PRE_APPROVAL_WORDS, PUBLIC_AFFAIRS_WORDS};

/// A rule a value breaks: a stable code and a message for people.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rule {
    /// Stable code, e.g. `resident_id.check_digit`.
    pub code: &'static str,
    /// What is wrong.
    pub message: String,
}

/// The code of the rule `result` broke, failing the test if it broke none.
#[cfg(test)]
pub(crate) fn broken<T: std::fmt::Debug>(result: Result<T, Rule>) -> &'static str {
    result.unwrap_err().code
}

pub(crate) fn rule(code: &'static str, message: impl Into<String>) -> Rule {
    Rule {
        code,
        message: message.into(),
    }
}
