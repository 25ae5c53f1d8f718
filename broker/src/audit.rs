//! How lists go into the audit trail. An auditor's tools read each event as flat JSON: a list
//! is one string of space-separated names, as OAuth writes `scope` and `acr_values`, and never
//! Rust's `Debug` form (`["a", "b"]` quoted inside a string). Every name the broker lists
//! (attributes, provider ids, acr URNs) is a token without spaces, so the form is reversible.

use std::fmt;

/// A list of names as one audit field: `attributes = %audit::list(names)`.
pub fn list<I>(items: I) -> List
where
    I: IntoIterator,
    I::Item: AsRef<str>,
{
    let mut joined = String::new();
    for item in items {
        if !joined.is_empty() {
            joined.push(' ');
        }
        joined.push_str(item.as_ref());
    }
    List(joined)
}

/// Space-separated names (empty for none); see [`list`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct List(String);

impl fmt::Display for List {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::list;

    #[test]
    fn names_are_joined_by_single_spaces() {
        assert_eq!(
            list(["given_name", "address"]).to_string(),
            "given_name address"
        );
        assert_eq!(
            list(vec!["ab-account".to_owned()]).to_string(),
            "ab-account"
        );
        assert_eq!(list(Vec::<&str>::new()).to_string(), "");
    }
}
