//! Server-rendered, bilingual pages with a strict Content-Security-Policy and no script.
//!
//! Every interpolated value goes through [`escape`]; page bodies are built by the callers from
//! escaped pieces only.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// The language of a page: `?lang=fr` or `?lang=en`, English by default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum Lang {
    #[default]
    En,
    Fr,
}

impl Lang {
    /// From a `lang` parameter; anything but `fr` means English.
    pub(crate) fn from_param(value: Option<&str>) -> Self {
        match value {
            Some(v)
                if v.eq_ignore_ascii_case("fr") || v.to_ascii_lowercase().starts_with("fr-") =>
            {
                Self::Fr
            }
            _ => Self::En,
        }
    }

    /// From OIDC `ui_locales` (space-separated BCP 47 tags): the first English or French tag.
    pub(crate) fn from_ui_locales(value: Option<&str>) -> Option<Self> {
        value?.split_ascii_whitespace().find_map(|tag| {
            let primary = tag.split('-').next().unwrap_or_default();
            if primary.eq_ignore_ascii_case("fr") {
                Some(Self::Fr)
            } else if primary.eq_ignore_ascii_case("en") {
                Some(Self::En)
            } else {
                None
            }
        })
    }

    pub(crate) fn code(self) -> &'static str {
        match self {
            Self::En => "en",
            Self::Fr => "fr",
        }
    }

    pub(crate) fn other(self) -> Self {
        match self {
            Self::En => Self::Fr,
            Self::Fr => Self::En,
        }
    }

    /// Picks the text in this language.
    pub(crate) fn pick<'a>(self, en: &'a str, fr: &'a str) -> &'a str {
        match self {
            Self::En => en,
            Self::Fr => fr,
        }
    }
}

/// Escapes text for HTML content and quoted attribute values.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// `path?params&lang=xx`, percent-encoded (not yet HTML-escaped).
pub(crate) fn href(path: &str, params: &[(&str, &str)], lang: Lang) -> String {
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    for (name, value) in params {
        query.append_pair(name, value);
    }
    query.append_pair("lang", lang.code());
    format!("{path}?{}", query.finish())
}

/// Where the page's forms may lead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FormAction {
    /// `form-action 'self'`: the forms stay on this site.
    SelfOnly,
    /// The page's form starts an OAuth redirect chain through other sites (to the broker, to an
    /// upstream provider, back to a service). Chrome and Safari apply `form-action` to every
    /// redirect of that chain, whose later hops this page cannot know (w3c/webappsec-csp#8), so
    /// such pages allow any http(s) destination; every other scheme stays refused.
    RedirectChain,
}

pub(crate) struct Page<'a> {
    pub lang: Lang,
    /// The site's name, shown in the header (plain text).
    pub site: &'a str,
    /// The page's heading and title (plain text).
    pub title: &'a str,
    /// The page's content, HTML built from escaped pieces.
    pub body: String,
    /// The same page in the other language (a URL, not yet escaped).
    pub switch_href: String,
    pub form_action: FormAction,
}

/// `GET /style.css`: the only stylesheet (`style-src 'self'`): the broker's own, on the GC
/// Design System, so that the type and the colours do not change at every hop of a login.
pub(crate) async fn stylesheet() -> Response {
    let mut response = broker::http::design_system::stylesheet().await;
    response.headers_mut().insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}

/// `GET /static/fonts/{file}`: the fonts the stylesheet names.
pub(crate) async fn font(path: axum::extract::Path<String>) -> Response {
    broker::http::design_system::font(path).await
}

fn csp(form_action: FormAction) -> &'static str {
    match form_action {
        FormAction::SelfOnly => {
            "default-src 'none'; style-src 'self'; font-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
        }
        FormAction::RedirectChain => {
            "default-src 'none'; style-src 'self'; font-src 'self'; img-src 'self'; form-action 'self' http: https:; frame-ancestors 'none'; base-uri 'none'"
        }
    }
}

/// Renders a page with its security headers.
pub(crate) fn render(status: StatusCode, page: Page<'_>) -> Response {
    let lang = page.lang;
    let other = lang.other();
    let html = format!(
        "<!doctype html>\n<html lang=\"{code}\">\n<head>\n<meta charset=\"utf-8\">\n\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
<title>{title} – {site}</title>\n<link rel=\"stylesheet\" href=\"/style.css\">\n</head>\n<body>\n\
<a class=\"skip\" href=\"#main\">{skip}</a>\n\
<header class=\"gc-header\"><div class=\"bar\"><p class=\"operator site\"><span>{site}</span></p>\
<nav class=\"lang-toggle\" aria-label=\"{nav}\"><a href=\"{switch}\" lang=\"{other_code}\" hreflang=\"{other_code}\">{other_name}</a></nav></div></header>\n\
<main id=\"main\">\n<h1>{title}</h1>\n{body}\n</main>\n\
<footer class=\"gc-footer\"><div class=\"sub\"><div class=\"inner\"><p>{footer}</p></div></div></footer>\n</body>\n</html>\n",
        code = lang.code(),
        title = escape(page.title),
        site = escape(page.site),
        nav = lang.pick("Language", "Langue"),
        skip = lang.pick("Skip to main content", "Passer au contenu principal"),
        switch = escape(&page.switch_href),
        other_code = other.code(),
        other_name = other.pick("English", "Français"),
        body = page.body,
        footer = lang.pick(
            "Demonstration only: every person shown here is fictional.",
            "Démonstration seulement\u{a0}: toutes les personnes présentées ici sont fictives."
        ),
    );
    let mut response = (status, html).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(csp(page.form_action)),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_covers_markup_and_quotes() {
        assert_eq!(
            escape("<a href=\"x\">O'Neil & co</a>"),
            "&lt;a href=&quot;x&quot;&gt;O&#39;Neil &amp; co&lt;/a&gt;"
        );
    }

    #[test]
    fn language_from_parameters() {
        assert_eq!(Lang::from_param(None), Lang::En);
        assert_eq!(Lang::from_param(Some("fr")), Lang::Fr);
        assert_eq!(Lang::from_param(Some("fr-CA")), Lang::Fr);
        assert_eq!(Lang::from_param(Some("de")), Lang::En);
        assert_eq!(Lang::from_ui_locales(Some("de fr-CA en")), Some(Lang::Fr));
        assert_eq!(Lang::from_ui_locales(Some("de")), None);
    }

    #[test]
    fn href_encodes_parameters() {
        assert_eq!(
            href("/login", &[("pending", "a b&c")], Lang::Fr),
            "/login?pending=a+b%26c&lang=fr"
        );
    }
}
