//! Evidence: the HTTP exchanges a check is based on, with secrets redacted and bodies
//! truncated. Redaction happens when an exchange is recorded, so that no report, log or
//! error message can carry a secret.

use serde::Serialize;
use serde_json::Value;

/// Replaces every secret value.
pub const REDACTED: &str = "[redacted]";
/// Bodies are cut to this many bytes.
pub const BODY_LIMIT: usize = 4096;

/// Parameters (query, form, JSON members) whose values are secrets.
const SECRET_PARAMS: [&str; 10] = [
    "code",
    "code_verifier",
    "client_secret",
    "access_token",
    "id_token",
    "refresh_token",
    "client_assertion",
    "password",
    "csrf",
    "txn",
];
/// JWK members of private keys: published by mistake, they must not be published again here.
const PRIVATE_JWK_MEMBERS: [&str; 7] = ["d", "p", "q", "dp", "dq", "qi", "k"];
/// Headers whose values are secrets.
const SECRET_HEADERS: [&str; 4] = [
    "authorization",
    "cookie",
    "set-cookie",
    "proxy-authorization",
];

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Exchange {
    pub method: String,
    pub url: String,
    pub request_headers: Vec<(String, String)>,
    pub request_body: Option<String>,
    /// `None` when no response came (the error is in `error`).
    pub status: Option<u16>,
    pub response_headers: Vec<(String, String)>,
    pub response_body: Option<String>,
    pub error: Option<String>,
}

/// A URL with the secret query parameters redacted.
pub fn redact_url(raw: &str) -> String {
    let Ok(mut url) = url::Url::parse(raw) else {
        return raw.to_owned();
    };
    if url.query().is_none() {
        return raw.to_owned();
    }
    let pairs: Vec<(String, String)> = url
        .query_pairs()
        .map(|(k, v)| {
            let v = if is_secret_param(&k) {
                REDACTED.to_owned()
            } else {
                v.into_owned()
            };
            (k.into_owned(), v)
        })
        .collect();
    url.query_pairs_mut().clear().extend_pairs(pairs);
    url.to_string()
}

fn is_secret_param(name: &str) -> bool {
    SECRET_PARAMS.contains(&name)
}

pub fn redact_header(name: &str, value: &str) -> String {
    let lower = name.to_ascii_lowercase();
    if SECRET_HEADERS.contains(&lower.as_str()) {
        // Keep the scheme (`Basic`, `Bearer`): it is evidence of the method used.
        match value.split_once(' ') {
            Some((scheme, _)) if lower.ends_with("authorization") => {
                format!("{scheme} {REDACTED}")
            }
            _ => REDACTED.to_owned(),
        }
    } else if lower == "location" {
        redact_url(value)
    } else {
        value.to_owned()
    }
}

/// A body with secrets redacted: JSON members, form parameters, then truncated.
pub fn redact_body(body: &str) -> String {
    let redacted = if let Ok(mut json) = serde_json::from_str::<Value>(body) {
        redact_json(&mut json);
        json.to_string()
    } else if looks_like_form(body) {
        url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(url::form_urlencoded::parse(body.as_bytes()).map(|(k, v)| {
                let v = if is_secret_param(&k) {
                    REDACTED.to_owned()
                } else {
                    v.into_owned()
                };
                (k.into_owned(), v)
            }))
            .finish()
    } else {
        body.to_owned()
    };
    truncate(&redacted, BODY_LIMIT)
}

fn looks_like_form(body: &str) -> bool {
    !body.is_empty() && body.contains('=') && !body.contains(['<', ' ', '\n', '{'])
}

fn redact_json(value: &mut Value) {
    match value {
        Value::Object(map) => {
            for (k, v) in map.iter_mut() {
                if (is_secret_param(k) || PRIVATE_JWK_MEMBERS.contains(&k.as_str()))
                    && !v.is_object()
                    && !v.is_array()
                {
                    *v = Value::from(REDACTED);
                } else {
                    redact_json(v);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(redact_json),
        _ => {}
    }
}

pub fn truncate(text: &str, limit: usize) -> String {
    if text.len() <= limit {
        return text.to_owned();
    }
    let mut end = limit;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}… [{} bytes cut]", &text[..end], text.len() - end)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_redacted_everywhere() {
        assert_eq!(
            redact_url("https://rp.example/cb?code=abc&state=s1&iss=x"),
            "https://rp.example/cb?code=%5Bredacted%5D&state=s1&iss=x"
        );
        assert_eq!(
            redact_header("Authorization", "Basic dXNlcjpzZWNyZXQ="),
            "Basic [redacted]"
        );
        assert_eq!(redact_header("Set-Cookie", "a=b"), REDACTED);
        let form = redact_body("grant_type=authorization_code&code=c&code_verifier=v");
        assert_eq!(
            form,
            "grant_type=authorization_code&code=%5Bredacted%5D&code_verifier=%5Bredacted%5D"
        );
        let json = redact_body(
            r#"{"access_token":"t","id_token":"x","token_type":"Bearer","keys":[{"kty":"EC","d":"secret"}]}"#,
        );
        assert!(
            !json.contains("\"t\"") && !json.contains("secret"),
            "{json}"
        );
        assert!(json.contains("Bearer"));
    }

    #[test]
    fn bodies_are_truncated_on_a_char_boundary() {
        let long = "é".repeat(BODY_LIMIT);
        let cut = truncate(&long, BODY_LIMIT);
        assert!(cut.len() < long.len());
        assert!(cut.contains("bytes cut"));
    }
}
