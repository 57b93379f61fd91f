//! Passwords of reviewer accounts: the rules a new one must meet, and Argon2id hashing in the
//! PHC string format (salt and cost stored with the hash, so a later change of cost still
//! verifies the old hashes).

use std::sync::OnceLock;

use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier as _, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};

/// Fewest characters a reviewer's password has.
pub const MIN_PASSWORD_CHARS: usize = 8;
/// Most bytes a reviewer's password has (longer input is refused before it is hashed).
pub const MAX_PASSWORD_BYTES: usize = 256;

/// Argon2id with 19 MiB of memory, two passes and one lane: the cost OWASP's password storage
/// guide gives for Argon2id. About 30 ms on one core of the appliance.
fn hasher() -> Argon2<'static> {
    let params = Params::new(19 * 1024, 2, 1, None).unwrap_or_default();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Why a new password is refused.
pub fn check_new(name: &str, password: &str) -> Result<(), String> {
    if password.len() > MAX_PASSWORD_BYTES {
        return Err(format!(
            "the password is {} bytes long; at most {MAX_PASSWORD_BYTES} are allowed",
            password.len()
        ));
    }
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(format!(
            "the password must have at least {MIN_PASSWORD_CHARS} characters"
        ));
    }
    if password.chars().all(|c| c.is_ascii_digit()) {
        return Err("the password must not be digits only".to_owned());
    }
    if password.eq_ignore_ascii_case(name) {
        return Err("the password must not be the account name".to_owned());
    }
    if password.chars().any(char::is_control) {
        return Err("the password must not contain control characters".to_owned());
    }
    Ok(())
}

/// The PHC string of `password` under a new random salt.
pub fn hash(password: &str) -> Result<String, String> {
    let salt = SaltString::generate(&mut rand_core::OsRng);
    hasher()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| format!("hashing the password: {e}"))
}

/// Whether `password` matches the stored PHC string. A stored string that does not parse
/// matches nothing.
pub fn verify(password: &str, stored: &str) -> bool {
    if password.len() > MAX_PASSWORD_BYTES {
        return false;
    }
    PasswordHash::new(stored)
        .map(|parsed| {
            hasher()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false)
}

/// Verifies `password` against a hash of nothing anyone knows: a login with an unknown name
/// takes as long as one with a known name, so the time does not tell which names exist.
pub fn verify_nothing(password: &str) {
    static DUMMY: OnceLock<String> = OnceLock::new();
    let dummy = DUMMY.get_or_init(|| hash("no account has this password").unwrap_or_default());
    let _ = verify(password, dummy);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_verifies_its_password_and_no_other() {
        let stored = hash("zhejiang-2026").unwrap();
        assert!(
            stored.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{stored}"
        );
        assert!(verify("zhejiang-2026", &stored));
        assert!(!verify("zhejiang-2027", &stored));
        assert!(!verify("zhejiang-2026", "not a hash"));
    }

    #[test]
    fn weak_passwords_are_refused_with_the_rule() {
        assert!(
            check_new("zj-01", "short1")
                .unwrap_err()
                .contains("at least 8")
        );
        assert!(
            check_new("zj-01", "12345678")
                .unwrap_err()
                .contains("digits only")
        );
        assert!(
            check_new("zhejiang01", "ZHEJIANG01")
                .unwrap_err()
                .contains("account name")
        );
        assert!(
            check_new("zj-01", &"x".repeat(300))
                .unwrap_err()
                .contains("at most 256")
        );
        assert!(check_new("zj-01", "浙江审核员密码").is_err());
        assert!(check_new("zj-01", "浙江审核员的密码2026").is_ok());
    }
}
