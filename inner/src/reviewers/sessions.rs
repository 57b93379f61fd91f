//! Sessions of the review page: after one login the browser carries a random token instead of
//! the password. Only the token's SHA-256 is stored. A session lasts at most
//! [`SESSION_SECONDS`] and ends after [`IDLE_SECONDS`] without a request; each use reads the
//! account again, so a disabled account's sessions end at once.

use postgres::GenericClient;
use rand_core::RngCore as _;
use sha2::{Digest as _, Sha256};

use super::{AuthError, Reviewer, auth_db, current};

/// Longest a session lasts, however busy.
pub const SESSION_SECONDS: i64 = 8 * 3600;
/// A session unused this long ends.
pub const IDLE_SECONDS: i64 = 30 * 60;
/// Length of a session token: 32 random bytes, hex.
pub const TOKEN_CHARS: usize = 64;

fn digest(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

/// Starts a session for `reviewer` (just authenticated) and returns its token. Sessions that
/// ended are deleted on the way.
pub fn start_session(
    client: &mut impl GenericClient,
    reviewer: &Reviewer,
    now: i64,
) -> Result<String, AuthError> {
    let mut bytes = [0u8; 32];
    rand_core::OsRng.fill_bytes(&mut bytes);
    let token = hex::encode(bytes);
    client
        .execute(
            "DELETE FROM reviewer_sessions WHERE expires_at <= $1 OR last_seen <= $2",
            &[&now, &(now - IDLE_SECONDS)],
        )
        .map_err(auth_db("deleting ended sessions"))?;
    client
        .execute(
            "INSERT INTO reviewer_sessions (token_sha256, account_id, created_at, last_seen,
                                            expires_at)
             VALUES ($1, $2, $3, $3, $4)",
            &[
                &digest(&token),
                &reviewer.account_id,
                &now,
                &(now + SESSION_SECONDS),
            ],
        )
        .map_err(auth_db("starting a session"))?;
    Ok(token)
}

/// The reviewer whose live session `token` is, as the account is now; the session's idle
/// clock starts again. A token that is unknown, ended, or of a disabled account is
/// [`AuthError::SessionEnded`].
pub fn session(
    client: &mut impl GenericClient,
    token: &str,
    now: i64,
) -> Result<Reviewer, AuthError> {
    if token.len() != TOKEN_CHARS || !token.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(AuthError::SessionEnded);
    }
    let row = client
        .query_opt(
            "UPDATE reviewer_sessions SET last_seen = $2
             WHERE token_sha256 = $1 AND expires_at > $2 AND last_seen > $3
             RETURNING account_id",
            &[&digest(token), &now, &(now - IDLE_SECONDS)],
        )
        .map_err(auth_db("reading the session"))?
        .ok_or(AuthError::SessionEnded)?;
    current(client, row.get(0))
        .map_err(auth_db("reading the session's account"))?
        .ok_or(AuthError::SessionEnded)
}

/// Ends the session `token` (signing out). Ending one that has ended already is no error.
pub fn end_session(client: &mut impl GenericClient, token: &str) -> Result<(), AuthError> {
    client
        .execute(
            "DELETE FROM reviewer_sessions WHERE token_sha256 = $1",
            &[&digest(token)],
        )
        .map_err(auth_db("ending the session"))?;
    Ok(())
}
