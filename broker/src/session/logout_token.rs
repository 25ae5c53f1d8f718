//! The logout token a service receives when a session it was part of ends (OpenID Connect
//! Back-Channel Logout 1.0 section 2.4): signed like its ID tokens, typed `logout+jwt`.

use serde_json::{Map, Value, json};
use time::OffsetDateTime;

use crate::http::browser::random_token;

/// The event member that makes a JWT a logout token.
pub const EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";
/// The `typ` of logout tokens (Back-Channel Logout 1.0 section 2.4, RFC 8725 3.11).
pub const TYP: &str = "logout+jwt";
/// A logout token is accepted for two minutes: it is delivered within seconds, and a retry
/// signs a new one.
pub const LIFETIME: i64 = 120;

/// The claims of a logout token for `client_id` about session `sid`, whose subject there is
/// `subject`. Never a `nonce` (section 2.4: it would let it pass for an ID token).
pub fn claims(
    issuer: &str,
    client_id: &str,
    subject: &str,
    sid: &str,
    now: OffsetDateTime,
) -> Map<String, Value> {
    let iat = now.unix_timestamp();
    let value = json!({
        "iss": issuer,
        "aud": client_id,
        "iat": iat,
        "exp": iat + LIFETIME,
        "jti": random_token(),
        "sub": subject,
        "sid": sid,
        "events": { EVENT: {} },
    });
    match value {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_logout_token_names_the_session_and_has_no_nonce() {
        let now = OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap();
        let c = claims("https://broker.example", "rp", "pairwise", "sid-1", now);
        assert_eq!(c["aud"], "rp");
        assert_eq!(c["sid"], "sid-1");
        assert_eq!(c["sub"], "pairwise");
        assert_eq!(c["exp"].as_i64(), Some(1_800_000_000 + LIFETIME));
        assert!(c["events"][EVENT].is_object());
        assert!(!c.contains_key("nonce"));
        let again = claims("https://broker.example", "rp", "pairwise", "sid-1", now);
        assert_ne!(c["jti"], again["jti"], "each token has its own jti");
    }
}
