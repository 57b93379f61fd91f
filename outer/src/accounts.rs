//! The manuals' account rules and the secrets behind a login: user names, passwords, e-mail
//! addresses, argon2id password hashes, e-mailed codes and session secrets.
//!
//! Hashing a password costs tens of milliseconds of CPU and 19 MiB of memory on purpose, so
//! [`hash_password`] and [`verify_password`] must run off the async runtime (the HTTP handlers
//! call them through `spawn_blocking`, a few at a time). Every check here returns a
//! [`FieldProblem`] naming the form field and saying what to do, in Chinese and English.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use rand_core::{OsRng, RngCore};
use sha2::{Digest, Sha256};

use crate::store::CodePurpose;

/// Most characters of a user name (the manuals give no maximum; this one is ours).
pub const MAX_NAME_CHARS: usize = 32;
/// Fewest characters of a user name.
pub const MIN_NAME_CHARS: usize = 2;
/// Fewest characters of a password (the manuals' rule).
pub const MIN_PASSWORD_CHARS: usize = 6;
/// Most bytes of a password: enough for any passphrase, small enough to hash cheaply.
pub const MAX_PASSWORD_BYTES: usize = 128;
/// Most bytes of an e-mail address (RFC 5321's path limit).
pub const MAX_EMAIL_BYTES: usize = 254;
/// Digits of an e-mailed code.
pub const CODE_DIGITS: usize = 6;

/// A form field that is wrong, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldProblem {
    /// The form field's name, as the page's `<input name=…>`.
    pub field: &'static str,
    /// What is wrong and what to do, in Chinese with English after it.
    pub message: String,
}

impl FieldProblem {
    /// A problem with `field`.
    pub fn new(field: &'static str, message: impl Into<String>) -> FieldProblem {
        FieldProblem {
            field,
            message: message.into(),
        }
    }
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || ('\u{4e00}'..='\u{9fff}').contains(&c)
}

/// The manuals' user-name rule: Chinese characters, Latin letters, digits and underscore.
pub fn check_user_name(name: &str) -> Result<(), FieldProblem> {
    let count = name.chars().count();
    if !(MIN_NAME_CHARS..=MAX_NAME_CHARS).contains(&count) {
        return Err(FieldProblem::new(
            "name",
            format!(
                "用户名须为 {MIN_NAME_CHARS} 至 {MAX_NAME_CHARS} 个字符 · \
                 The user name must be {MIN_NAME_CHARS} to {MAX_NAME_CHARS} characters long"
            ),
        ));
    }
    if !name.chars().all(is_name_char) {
        return Err(FieldProblem::new(
            "name",
            "用户名只能包含汉字、字母、数字和下划线 · \
             The user name may hold only Chinese characters, Latin letters, digits and underscores",
        ));
    }
    Ok(())
}

/// The manuals' password rule: at least six characters, not all digits, not the user name.
pub fn check_password(password: &str, name: &str, field: &'static str) -> Result<(), FieldProblem> {
    if password.len() > MAX_PASSWORD_BYTES {
        return Err(FieldProblem::new(
            field,
            format!(
                "密码过长，最多 {MAX_PASSWORD_BYTES} 字节 · \
                 The password is too long: at most {MAX_PASSWORD_BYTES} bytes"
            ),
        ));
    }
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(FieldProblem::new(
            field,
            format!(
                "密码至少 {MIN_PASSWORD_CHARS} 个字符 · \
                 The password must have at least {MIN_PASSWORD_CHARS} characters"
            ),
        ));
    }
    if password.chars().all(|c| c.is_ascii_digit()) {
        return Err(FieldProblem::new(
            field,
            "密码不能全为数字 · The password must not be all digits",
        ));
    }
    if password == name {
        return Err(FieldProblem::new(
            field,
            "密码不能与用户名相同 · The password must not be the user name",
        ));
    }
    Ok(())
}

/// A plausible e-mail address: one `@`, a local part, a domain with a dot, no spaces or
/// control characters, within [`MAX_EMAIL_BYTES`]. Whether it is real is what the code shows.
pub fn check_email(email: &str) -> Result<(), FieldProblem> {
    let problem = || {
        FieldProblem::new(
            "email",
            "请填写有效的电子邮件地址 · Give a valid e-mail address, such as name@example.cn",
        )
    };
    if email.is_empty() || email.len() > MAX_EMAIL_BYTES {
        return Err(problem());
    }
    let Some((local, domain)) = email.split_once('@') else {
        return Err(problem());
    };
    let bad_char = |c: char| c.is_whitespace() || c.is_control() || "<>()[],;:\"\\".contains(c);
    if local.is_empty()
        || domain.len() < 3
        || !domain.contains('.')
        || domain.starts_with('.')
        || domain.ends_with('.')
        || domain.contains('@')
        || email.chars().any(bad_char)
        || email.parse::<lettre::Address>().is_err()
    {
        return Err(problem());
    }
    Ok(())
}

/// The cost of a password hash: argon2id with 19 MiB, two passes, one lane (the smallest of
/// the settings OWASP's password storage guidance recommends).
fn hasher() -> Argon2<'static> {
    let params = Params::new(19 * 1024, 2, 1, None).unwrap_or_default();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Hashes a password into a PHC string (`$argon2id$v=19$m=19456,t=2,p=1$…`) with a fresh salt.
/// Blocking and slow on purpose: call it off the async runtime.
pub fn hash_password(password: &str) -> Result<String, argon2::password_hash::Error> {
    let salt = SaltString::generate(&mut OsRng);
    Ok(hasher()
        .hash_password(password.as_bytes(), &salt)?
        .to_string())
}

/// A stored hash of no password anyone knows, checked when a login names no account, so that
/// a login for an unknown name takes as long as one for a known name.
pub fn decoy_hash() -> &'static str {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DECOY.get_or_init(|| {
        let mut random = [0u8; 24];
        OsRng.fill_bytes(&mut random);
        hash_password(&hex::encode(random)).unwrap_or_default()
    })
}

/// Whether `password` matches a stored PHC hash. Blocking and slow on purpose.
pub fn verify_password(password: &str, stored: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(stored) else {
        return false;
    };
    hasher()
        .verify_password(password.as_bytes(), &parsed)
        .is_ok()
}

/// A new e-mailed code: [`CODE_DIGITS`] decimal digits from the operating system's generator.
pub fn new_code() -> String {
    let mut code = String::with_capacity(CODE_DIGITS);
    while code.len() < CODE_DIGITS {
        let mut byte = [0u8; 1];
        OsRng.fill_bytes(&mut byte);
        // 250 is the largest multiple of 10 that fits a byte: no digit is likelier than another.
        if byte[0] < 250 {
            code.push(char::from(b'0' + byte[0] % 10));
        }
    }
    code
}

/// The form a code is stored in, bound to its account and purpose so that a code cannot be
/// moved from one to the other.
pub fn code_hash(account_id: i64, purpose: CodePurpose, code: &str) -> [u8; 32] {
    Sha256::new()
        .chain_update(account_id.to_le_bytes())
        .chain_update(purpose.as_str().as_bytes())
        .chain_update([0])
        .chain_update(code.trim().as_bytes())
        .finalize()
        .into()
}

/// A new random secret for a session cookie or a CSRF token: 32 bytes, hex.
pub fn new_secret() -> String {
    let mut bytes = [0u8; 32];
    OsRng.fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// The form a session's secret is stored in.
pub fn session_hash(secret: &str) -> [u8; 32] {
    Sha256::digest(secret.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_names_follow_the_manuals_rule() {
        assert!(check_user_name("张三_web2").is_ok());
        assert!(check_user_name("a").is_err());
        assert!(check_user_name("有 空格").is_err());
        assert!(check_user_name("semi;colon").is_err());
        assert!(check_user_name(&"名".repeat(MAX_NAME_CHARS + 1)).is_err());
    }

    #[test]
    fn passwords_follow_the_manuals_rule() {
        assert!(check_password("abc12", "u", "password").is_err());
        assert!(check_password("12345678", "u", "password").is_err());
        assert!(check_password("zhang_san", "zhang_san", "password").is_err());
        assert!(check_password(&"a".repeat(MAX_PASSWORD_BYTES + 1), "u", "password").is_err());
        assert!(check_password("abc123", "u", "password").is_ok());
    }

    #[test]
    fn a_hash_verifies_its_password_only_and_is_argon2id() {
        let hash = hash_password("correct horse").unwrap();
        assert!(
            hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{hash}"
        );
        assert!(verify_password("correct horse", &hash));
        assert!(!verify_password("correct horsf", &hash));
        assert!(!verify_password("correct horse", "not a hash"));
    }

    #[test]
    fn codes_are_six_digits_and_bound_to_their_account_and_purpose() {
        let code = new_code();
        assert_eq!(code.len(), CODE_DIGITS);
        assert!(code.chars().all(|c| c.is_ascii_digit()));
        let (verify, reset) = (CodePurpose::Verify, CodePurpose::Reset);
        assert_ne!(code_hash(1, verify, &code), code_hash(2, verify, &code));
        assert_ne!(code_hash(1, verify, &code), code_hash(1, reset, &code));
    }

    #[test]
    fn email_addresses_are_checked_for_shape() {
        assert!(check_email("owner@example.cn").is_ok());
        for bad in [
            "",
            "owner",
            "owner@cn",
            "a b@example.cn",
            "<x>@example.cn",
            "x@@e.cn",
        ] {
            assert!(check_email(bad).is_err(), "{bad}");
        }
    }
}
