//! Who is asking: bearer tokens checked against the store (with a short cache so that each
//! request does not cost a database read), the per-token rate limit, and [`Auth::require`] for
//! what each kind of account may do.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;

use super::{AppError, AppState};
use crate::store::{AccountKind, Principal};

/// How long a checked token is trusted without asking the store again. Revoking a token or
/// disabling an account (from the CLI, another process) takes effect within this time.
pub const TOKEN_CACHE_TTL: std::time::Duration = std::time::Duration::from_secs(2);
/// Most tokens remembered at once; the cache is emptied when it is full.
pub const TOKEN_CACHE_ENTRIES: usize = 10_000;

/// Valid tokens seen recently, by hash, so that each request does not cost a database read.
/// Only valid tokens are remembered, so random guesses cannot fill it.
#[derive(Default)]
pub(super) struct TokenCache {
    entries: Mutex<HashMap<[u8; 32], (Principal, Instant)>>,
}

impl TokenCache {
    fn get(&self, hash: &[u8; 32]) -> Option<Principal> {
        let entries = self.entries.lock().ok()?;
        let (principal, checked) = entries.get(hash)?;
        (checked.elapsed() < TOKEN_CACHE_TTL).then(|| principal.clone())
    }

    fn put(&self, hash: [u8; 32], principal: Principal) {
        if let Ok(mut entries) = self.entries.lock() {
            if entries.len() >= TOKEN_CACHE_ENTRIES {
                entries.clear();
            }
            entries.insert(hash, (principal, Instant::now()));
        }
    }
}

/// Per-token token buckets.
pub(super) struct RateLimiter {
    per_second: f64,
    burst: f64,
    buckets: Mutex<HashMap<i64, (f64, Instant)>>,
}

impl RateLimiter {
    pub(super) fn new(per_minute: u32, burst: u32) -> RateLimiter {
        RateLimiter {
            per_second: f64::from(per_minute) / 60.0,
            burst: f64::from(burst.max(1)),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one request from the token's bucket; when it is empty, the whole seconds until
    /// it holds one again (at least 1).
    fn allow(&self, token_id: i64) -> Result<(), u64> {
        let Ok(mut buckets) = self.buckets.lock() else {
            return Ok(());
        };
        let now = Instant::now();
        let (tokens, last) = buckets.entry(token_id).or_insert((self.burst, now));
        let refill = now.duration_since(*last).as_secs_f64() * self.per_second;
        *tokens = (*tokens + refill).min(self.burst);
        *last = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            Ok(())
        } else {
            // per_second is at least 1/60 (config checks rate_per_minute >= 1), so this is at
            // most a minute.
            let wait = ((1.0 - *tokens) / self.per_second).ceil();
            #[expect(
                clippy::cast_possible_truncation,
                clippy::cast_sign_loss,
                reason = "wait is between 0 and 60"
            )]
            Err((wait as u64).max(1))
        }
    }
}

/// The account behind a valid bearer token, after the per-token rate limit.
#[derive(Clone, Debug)]
pub struct Auth(pub Principal);

impl FromRequestParts<AppState> for Auth {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Auth, AppError> {
        let header = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .ok_or(AppError::Unauthorized)?;
        let basic = header.strip_prefix("Basic ").and_then(basic_password);
        let secret = header
            .strip_prefix("Bearer ")
            .map(str::trim)
            .or(basic.as_deref())
            .filter(|s| !s.is_empty() && s.len() <= 256)
            .ok_or(AppError::Unauthorized)?;
        let hash = crate::store::token_hash(secret);
        let principal = match state.tokens.get(&hash) {
            Some(principal) => principal,
            None => {
                let principal = state
                    .store
                    .authenticate(secret)
                    .await?
                    .ok_or(AppError::Unauthorized)?;
                state.tokens.put(hash, principal.clone());
                principal
            }
        };
        if let Err(retry_after_secs) = state.rate.allow(principal.token_id) {
            return Err(AppError::RateLimited { retry_after_secs });
        }
        Ok(Auth(principal))
    }
}

/// The password of HTTP Basic credentials (`base64(user:password)`), which a browser sends for
/// a page such as `/ops`: the password is the token, the user name is not looked at.
fn basic_password(encoded: &str) -> Option<String> {
    use base64::Engine as _;
    let encoded = encoded.trim();
    if encoded.len() > 512 {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (_user, password) = text.split_once(':')?;
    Some(password.to_owned())
}

impl Auth {
    pub(crate) fn require(&self, kinds: &[AccountKind], what: &str) -> Result<(), AppError> {
        if kinds.contains(&self.0.kind) {
            Ok(())
        } else {
            Err(AppError::Forbidden(format!(
                "a {} token may not {what}",
                self.0.kind
            )))
        }
    }
}
