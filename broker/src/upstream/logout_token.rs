//! A provider's logout token (OpenID Connect Back-Channel Logout 1.0 section 2.6), validated
//! as strictly as its ID tokens, without I/O: the signature against the provider's key set,
//! then `iss` byte for byte, `aud` the broker's client id alone, `iat` bounded both ways, `exp`
//! when present, a `jti`, the back-channel logout event, no `nonce`, and `sid` or `sub`. An
//! explicit `typ` other than `logout+jwt` is refused (RFC 8725 3.11).

use serde_json::{Map, Value};

use super::signature::{self, ProviderKeys};
use super::validation::{IdTokenError, numeric_date, only_audience, payload};
use super::{MAX_IAT_AGE, MAX_IAT_SKEW};

const EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";

/// What a provider's logout token must say.
#[derive(Debug, Clone, Copy)]
pub struct ExpectedLogout<'a> {
    pub issuer: &'a str,
    pub client_id: &'a str,
    pub now: time::OffsetDateTime,
}

/// A verified logout token: which of the provider's sessions, or which subject, ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderLogout {
    pub jti: String,
    pub sid: Option<String>,
    pub sub: Option<String>,
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LogoutTokenError {
    #[error(transparent)]
    Token(#[from] IdTokenError),
    #[error("typ {0:?} is not logout+jwt")]
    Type(String),
    #[error("it has no back-channel logout event")]
    NoEvent,
    #[error("it carries a nonce, which a logout token never does")]
    Nonce,
    #[error("it names neither a session (sid) nor a subject (sub)")]
    NoSessionOrSubject,
}

impl LogoutTokenError {
    pub fn is_no_matching_key(&self) -> bool {
        matches!(self, Self::Token(e) if e.is_no_matching_key())
    }
}

/// The `iss` a token claims, unverified: only to know whose keys to verify it with.
pub fn claimed_issuer(jwt: &str) -> Option<String> {
    payload(jwt)
        .ok()?
        .get("iss")
        .and_then(Value::as_str)
        .map(str::to_owned)
}

pub fn verify(
    jwt: &str,
    keys: &ProviderKeys,
    expected: &ExpectedLogout<'_>,
) -> Result<ProviderLogout, LogoutTokenError> {
    if let Ok(header) = crate::jose::header(jwt)
        && let Some(typ) = header.typ
        && !typ.eq_ignore_ascii_case("logout+jwt")
        && !typ.eq_ignore_ascii_case("application/logout+jwt")
    {
        return Err(LogoutTokenError::Type(typ));
    }
    signature::verify(jwt, keys).map_err(IdTokenError::from)?;
    let claims = payload(jwt)?;
    check(&claims, expected)
}

fn check(
    claims: &Map<String, Value>,
    expected: &ExpectedLogout<'_>,
) -> Result<ProviderLogout, LogoutTokenError> {
    let text = |name: &str| {
        claims
            .get(name)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
    };
    let issuer = text("iss").ok_or(IdTokenError::Missing("iss"))?;
    if issuer != expected.issuer {
        return Err(IdTokenError::Issuer {
            found: issuer.to_owned(),
            expected: expected.issuer.to_owned(),
        }
        .into());
    }
    only_audience(claims, expected.client_id)?;
    let now = expected.now.unix_timestamp();
    let iat = claims
        .get("iat")
        .and_then(numeric_date)
        .ok_or(IdTokenError::Missing("iat"))?;
    let skew = i64::try_from(MAX_IAT_SKEW.as_secs()).unwrap_or(i64::MAX);
    let age = i64::try_from(MAX_IAT_AGE.as_secs()).unwrap_or(i64::MAX);
    if iat > now.saturating_add(skew) {
        return Err(IdTokenError::IssuedInFuture { iat }.into());
    }
    if iat < now.saturating_sub(age) {
        return Err(IdTokenError::IssuedTooLongAgo { iat }.into());
    }
    if let Some(exp) = claims.get("exp") {
        let exp = numeric_date(exp).ok_or(IdTokenError::Missing("exp"))?;
        if exp <= now {
            return Err(IdTokenError::Expired { exp }.into());
        }
    }
    let jti = text("jti").ok_or(IdTokenError::Missing("jti"))?;
    let event = claims
        .get("events")
        .and_then(Value::as_object)
        .and_then(|e| e.get(EVENT));
    if !event.is_some_and(Value::is_object) {
        return Err(LogoutTokenError::NoEvent);
    }
    if claims.contains_key("nonce") {
        return Err(LogoutTokenError::Nonce);
    }
    let sid = text("sid").map(str::to_owned);
    let sub = text("sub").map(str::to_owned);
    if sid.is_none() && sub.is_none() {
        return Err(LogoutTokenError::NoSessionOrSubject);
    }
    Ok(ProviderLogout {
        jti: jti.to_owned(),
        sid,
        sub,
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const NOW: i64 = 1_800_000_000;

    fn expected() -> ExpectedLogout<'static> {
        ExpectedLogout {
            issuer: "https://idp.example",
            client_id: "broker",
            now: time::OffsetDateTime::from_unix_timestamp(NOW).unwrap(),
        }
    }

    fn good() -> Map<String, Value> {
        match json!({
            "iss": "https://idp.example", "aud": "broker", "iat": NOW, "jti": "j1",
            "sid": "s1", "events": { EVENT: {} },
        }) {
            Value::Object(m) => m,
            _ => unreachable!(),
        }
    }

    #[test]
    fn a_good_token_names_the_session() {
        let found = check(&good(), &expected()).unwrap();
        assert_eq!(found.sid.as_deref(), Some("s1"));
        assert_eq!(found.jti, "j1");
    }

    type Change = Box<dyn Fn(&mut Map<String, Value>)>;

    #[test]
    fn every_rule_refuses() {
        let bad: Vec<(&str, Change)> = vec![
            (
                "foreign issuer",
                Box::new(|c| {
                    c.insert("iss".into(), json!("https://other.example"));
                }),
            ),
            (
                "other audience",
                Box::new(|c| {
                    c.insert("aud".into(), json!("someone"));
                }),
            ),
            (
                "shared audience",
                Box::new(|c| {
                    c.insert("aud".into(), json!(["broker", "x"]));
                }),
            ),
            (
                "old",
                Box::new(|c| {
                    c.insert("iat".into(), json!(NOW - 3600));
                }),
            ),
            (
                "future",
                Box::new(|c| {
                    c.insert("iat".into(), json!(NOW + 3600));
                }),
            ),
            (
                "expired",
                Box::new(|c| {
                    c.insert("exp".into(), json!(NOW - 1));
                }),
            ),
            (
                "no jti",
                Box::new(|c| {
                    c.remove("jti");
                }),
            ),
            (
                "no event",
                Box::new(|c| {
                    c.insert("events".into(), json!({}));
                }),
            ),
            (
                "event not an object",
                Box::new(|c| {
                    c.insert("events".into(), json!({ EVENT: "x" }));
                }),
            ),
            (
                "nonce",
                Box::new(|c| {
                    c.insert("nonce".into(), json!("n"));
                }),
            ),
            (
                "neither sid nor sub",
                Box::new(|c| {
                    c.remove("sid");
                }),
            ),
        ];
        for (what, change) in bad {
            let mut c = good();
            change(&mut c);
            assert!(check(&c, &expected()).is_err(), "{what} was accepted");
        }
    }
}
