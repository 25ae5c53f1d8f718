//! Which of a person's claims a request asked for, under this provider's claim names, and which
//! acr a sign-in carries.

use serde_json::{Map, Value};

use super::{AuthRequest, Person, Provider};

/// The canonical claims each scope stands for (OpenID Connect Core 5.4).
fn scope_claims(scope: &str) -> &'static [&'static str] {
    match scope {
        "profile" => &[
            "name",
            "given_name",
            "family_name",
            "middle_name",
            "nickname",
            "preferred_username",
            "gender",
            "birthdate",
            "zoneinfo",
            "locale",
            "updated_at",
        ],
        "email" => &["email", "email_verified"],
        "address" => &["address"],
        "phone" => &["phone_number", "phone_number_verified"],
        _ => &[],
    }
}

/// Whether the `claims` request parameter names `claim` in its `id_token` or `userinfo` member.
fn in_claims_parameter(claims: Option<&Value>, claim: &str) -> bool {
    let Some(claims) = claims else { return false };
    ["id_token", "userinfo"].iter().any(|member| {
        claims
            .get(member)
            .and_then(Value::as_object)
            .is_some_and(|m| m.contains_key(claim))
    })
}

/// The person's requested claims, under this provider's claim names: those the scopes stand for
/// and those the `claims` parameter names (with this provider's names).
pub(super) fn requested(
    provider: &Provider,
    person: &Person,
    request: &AuthRequest,
) -> Map<String, Value> {
    let mut out = Map::new();
    for (canonical, value) in &person.claims {
        let name = provider.claim_name(canonical);
        let by_scope = request
            .scopes
            .iter()
            .any(|s| scope_claims(s).contains(&canonical.as_str()));
        if by_scope || in_claims_parameter(request.claims.as_ref(), name) {
            out.insert(name.to_owned(), value.clone());
        }
    }
    out
}

/// The acr of a sign-in: the first of the request's `acr_values` (or else of the `claims`
/// parameter's `id_token.acr.values`) that the provider supports, else its weakest.
pub(super) fn choose_acr(
    supported: &[String],
    acr_values: Option<&str>,
    claims: Option<&Value>,
) -> Option<String> {
    let from_claims: Vec<&str> = claims
        .and_then(|c| c.pointer("/id_token/acr"))
        .and_then(|acr| {
            acr.get("values")
                .and_then(Value::as_array)
                .map(|v| v.iter().filter_map(Value::as_str).collect())
                .or_else(|| acr.get("value").and_then(Value::as_str).map(|v| vec![v]))
        })
        .unwrap_or_default();
    let wanted: Vec<&str> = match acr_values {
        Some(values) => values.split_ascii_whitespace().collect(),
        None => from_claims,
    };
    wanted
        .into_iter()
        .find(|w| supported.iter().any(|s| s == w))
        .map(str::to_owned)
        .or_else(|| supported.first().cloned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn levels() -> Vec<String> {
        vec!["basic".into(), "verified".into(), "mfa".into()]
    }

    #[test]
    fn acr_is_the_first_supported_requested_value_else_the_weakest() {
        assert_eq!(
            choose_acr(&levels(), Some("unknown mfa verified"), None).as_deref(),
            Some("mfa")
        );
        assert_eq!(
            choose_acr(&levels(), Some("unknown"), None).as_deref(),
            Some("basic")
        );
        assert_eq!(choose_acr(&levels(), None, None).as_deref(), Some("basic"));
        let claims =
            json!({ "id_token": { "acr": { "essential": true, "values": ["verified"] } } });
        assert_eq!(
            choose_acr(&levels(), None, Some(&claims)).as_deref(),
            Some("verified")
        );
        assert_eq!(choose_acr(&[], Some("mfa"), None), None);
    }

    #[test]
    fn claims_parameter_members_count() {
        let claims = json!({ "userinfo": { "prenom": null }, "id_token": { "langue": { "essential": true } } });
        assert!(in_claims_parameter(Some(&claims), "prenom"));
        assert!(in_claims_parameter(Some(&claims), "langue"));
        assert!(!in_claims_parameter(Some(&claims), "email"));
        assert!(!in_claims_parameter(None, "email"));
    }
}
