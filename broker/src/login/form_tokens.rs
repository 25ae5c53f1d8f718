//! Anti-CSRF tokens for the consent form, computed instead of stored: an HMAC of the pending
//! decision's `txn` and the hash of the browser-binding cookie, under a key derived from the
//! broker's secret.
//!
//! A post is checked before anything is read from the store, so a forged one (another site's
//! form, a post from another browser, a guessed token) is refused without a round trip and
//! without consuming the person's pending decision. Binding the token to the browser's cookie
//! keeps what a stored token checked together with the cookie: a token lifted from the page is
//! of no use in another browser. Replicas that share the broker's secret (they must, for
//! pairwise subjects) accept each other's tokens.

use aws_lc_rs::hmac;
use subtle::ConstantTimeEq;

/// The label under which the token key is derived from the broker's secret: the key signs
/// nothing else, and the secret's other use (pairwise subjects) never sees this label.
const KEY_LABEL: &[u8] = b"pan-canadian-broker/form-tokens/v1";

pub struct FormTokens {
    key: hmac::Key,
}

impl std::fmt::Debug for FormTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FormTokens(***)")
    }
}

impl FormTokens {
    /// `secret` is the broker's pairwise secret; the key is derived from it (HMAC-SHA256 of
    /// [`KEY_LABEL`]).
    pub fn new(secret: &[u8]) -> Self {
        let derived = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, secret), KEY_LABEL);
        Self {
            key: hmac::Key::new(hmac::HMAC_SHA256, derived.as_ref()),
        }
    }

    /// The consent form's token for pending decision `txn` in the browser whose binding cookie
    /// hashes to `browser`.
    pub fn consent(&self, txn: &str, browser: &str) -> String {
        self.token("consent", txn, browser)
    }

    /// Whether `posted` is the consent token of `txn` for the browser that sent `cookie` (the
    /// binding cookie's value, if any). Constant-time.
    pub fn consent_matches(&self, txn: &str, cookie: Option<&str>, posted: &str) -> bool {
        self.matches("consent", txn, cookie, posted)
    }

    /// The sign-out confirmation's token for session `sid` in the browser whose binding cookie
    /// hashes to `browser`.
    pub fn sign_out(&self, sid: &str, browser: &str) -> String {
        self.token("sign-out", sid, browser)
    }

    /// Whether `posted` is the sign-out token of `sid` for the browser that sent `cookie`.
    /// Constant-time.
    pub fn sign_out_matches(&self, sid: &str, cookie: Option<&str>, posted: &str) -> bool {
        self.matches("sign-out", sid, cookie, posted)
    }

    /// A form of the person's record (`crate::record`) for `key` (the record session's id, or
    /// a fixed word before there is one) in the browser whose binding cookie hashes to
    /// `browser`.
    pub fn record(&self, key: &str, browser: &str) -> String {
        self.token("record", key, browser)
    }

    /// Whether `posted` is the record form token of `key` for the browser that sent `cookie`.
    /// Constant-time.
    pub fn record_matches(&self, key: &str, cookie: Option<&str>, posted: &str) -> bool {
        self.matches("record", key, cookie, posted)
    }

    /// A form's token: the HMAC of what the form is for, the key of what it decides, and the
    /// browser.
    fn token(&self, form: &str, key: &str, browser: &str) -> String {
        crate::oidc::pairwise::fields_mac(&self.key, &[form, key, browser])
    }

    fn matches(&self, form: &str, key: &str, cookie: Option<&str>, posted: &str) -> bool {
        let Some(cookie) = cookie else {
            return false;
        };
        let expected = self.token(form, key, &crate::http::browser::hash(cookie));
        expected.as_bytes().ct_eq(posted.as_bytes()).into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::browser::hash;

    #[test]
    fn a_token_holds_for_its_decision_in_its_browser_only() {
        let tokens = FormTokens::new(b"broker secret");
        let cookie = "c".repeat(43);
        let token = tokens.consent("txn-1", &hash(&cookie));
        assert_eq!(token.len(), 43);
        assert!(tokens.consent_matches("txn-1", Some(&cookie), &token));
        // Another decision, another browser, no cookie, a forged or altered token.
        assert!(!tokens.consent_matches("txn-2", Some(&cookie), &token));
        assert!(!tokens.consent_matches("txn-1", Some(&"d".repeat(43)), &token));
        assert!(!tokens.consent_matches("txn-1", None, &token));
        assert!(!tokens.consent_matches("txn-1", Some(&cookie), "forged"));
        assert!(!tokens.consent_matches("txn-1", Some(&cookie), &token[..42]));
        // Another broker secret: other tokens, and not the pairwise HMAC of the same fields.
        let other = FormTokens::new(b"another secret");
        assert!(!other.consent_matches("txn-1", Some(&cookie), &token));
        let pairwise = crate::oidc::pairwise::PairwiseSubjects::new(b"broker secret");
        assert_ne!(pairwise.subject("consent", "txn-1", &hash(&cookie)), token);
        // Field boundaries matter.
        assert_ne!(tokens.consent("ab", "c"), tokens.consent("a", "bc"));
    }

    /// Replicas of different versions must accept each other's tokens.
    #[test]
    fn a_fixed_input_gives_the_token_it_always_gave() {
        let tokens = FormTokens::new(b"broker secret");
        let browser = hash(&"c".repeat(43));
        assert_eq!(browser, "DEnYkjBpb_PAMcpaEopOEh41ib-HLBf6BEh-0MwkXSE");
        assert_eq!(
            tokens.consent("txn-1", &browser),
            "Q0hGuk1Q62XcWKBP4EoSJfNpjIy6jsFUMQ4l4bjWuhc"
        );
    }
}
