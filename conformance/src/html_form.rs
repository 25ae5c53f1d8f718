//! A minimal reader of HTML forms: enough to find the broker's consent form (a POST form with
//! buttons `name="decision"`) and submit one decision, as a person would.

/// A form: its action, its hidden inputs, its checkboxes (name and value, unticked), and the
/// `decision` buttons' values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Form {
    pub action: String,
    pub hidden: Vec<(String, String)>,
    pub checkboxes: Vec<(String, String)>,
    pub decisions: Vec<String>,
}

fn attr(tag: &str, name: &str) -> Option<String> {
    for quote in ['"', '\''] {
        let marker = format!("{name}={quote}");
        let mut from = 0;
        while let Some(pos) = tag[from..].find(&marker) {
            let start = from + pos;
            // The attribute name must stand alone (not the end of `data-name=`).
            let standalone = start == 0
                || tag[..start]
                    .chars()
                    .next_back()
                    .is_some_and(char::is_whitespace);
            let value_start = start + marker.len();
            if standalone {
                let end = tag[value_start..].find(quote)? + value_start;
                return Some(unescape(&tag[value_start..end]));
            }
            from = value_start;
        }
    }
    None
}

fn unescape(text: &str) -> String {
    text.replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&#x27;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// The tags named `name` in `html`, each as its text between `<` and `>`.
fn tags<'a>(html: &'a str, name: &str) -> Vec<&'a str> {
    let open = format!("<{name}");
    let mut out = Vec::new();
    let mut rest = html;
    while let Some(pos) = rest.find(&open) {
        let after = &rest[pos + open.len()..];
        if !after.starts_with(|c: char| c.is_whitespace() || c == '>') {
            rest = after;
            continue;
        }
        let end = after.find('>').unwrap_or(after.len());
        out.push(&after[..end]);
        rest = &after[end..];
    }
    out
}

/// The first form that has `decision` buttons.
pub(crate) fn consent_form(html: &str) -> Option<Form> {
    for (i, _) in html.match_indices("<form") {
        let body = &html[i..];
        let end = body.find("</form>").unwrap_or(body.len());
        let form = &body[..end];
        let open = tags(form, "form").into_iter().next()?;
        let decisions: Vec<String> = tags(form, "button")
            .into_iter()
            .chain(tags(form, "input"))
            .filter(|t| attr(t, "name").as_deref() == Some("decision"))
            .filter_map(|t| attr(t, "value"))
            .collect();
        if decisions.is_empty() {
            continue;
        }
        let hidden = tags(form, "input")
            .into_iter()
            .filter(|t| attr(t, "type").as_deref() == Some("hidden"))
            .filter_map(|t| Some((attr(t, "name")?, attr(t, "value").unwrap_or_default())))
            .collect();
        // HTML's default value of a checkbox is "on".
        let checkboxes = tags(form, "input")
            .into_iter()
            .filter(|t| attr(t, "type").as_deref() == Some("checkbox"))
            .filter_map(|t| {
                Some((
                    attr(t, "name")?,
                    attr(t, "value").unwrap_or_else(|| "on".into()),
                ))
            })
            .collect();
        return Some(Form {
            action: attr(open, "action").unwrap_or_default(),
            hidden,
            checkboxes,
            decisions,
        });
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_consent_form() {
        let html = r#"<form method="get" action="/lang"><button name="lang" value="fr">FR</button></form>
<form method="post" action="/consent"><input type="hidden" name="txn" value="t&amp;1">
<input type="hidden" name="csrf" value="c">
<p><input type="checkbox" id="remember" name="remember" value="1"> <label for="remember">Remember</label></p>
<button type="submit" name="decision" value="allow">Yes</button>
<button type="submit" name="decision" value="deny">No</button></form>"#;
        let form = consent_form(html).unwrap();
        assert_eq!(form.action, "/consent");
        assert_eq!(
            form.hidden,
            vec![("txn".into(), "t&1".into()), ("csrf".into(), "c".into())]
        );
        assert_eq!(form.checkboxes, vec![("remember".into(), "1".into())]);
        assert_eq!(form.decisions, vec!["allow", "deny"]);
        assert!(consent_form("<form action=\"/x\"><button>go</button></form>").is_none());
    }
}
