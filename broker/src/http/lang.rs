//! Which official language to speak to a person: an explicit `lang` switch, then the
//! relying party's `ui_locales`, then `Accept-Language`, then English.

use axum::http::HeaderMap;
use trust_framework::Lang;

/// The language a page's `lang` parameter names, if it names one this broker speaks.
pub fn explicit(lang: Option<&str>) -> Option<Lang> {
    lang.and_then(|l| Lang::negotiate([l]))
}

pub fn negotiate(explicit: Option<&str>, ui_locales: Option<&str>, headers: &HeaderMap) -> Lang {
    let accept = headers
        .get(axum::http::header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    explicit
        .and_then(|l| Lang::negotiate([l]))
        .or_else(|| ui_locales.and_then(|u| Lang::negotiate(u.split_whitespace())))
        .or_else(|| Lang::negotiate(accept.split(',')))
        .unwrap_or_default()
}

/// The same page in the other language: the path and query the person reached, with `lang`
/// set to the other one.
pub fn same_page_other_lang(path_and_query: &str, lang: Lang) -> String {
    let (path, query) = path_and_query
        .split_once('?')
        .unwrap_or((path_and_query, ""));
    let mut pairs: Vec<(String, String)> = url::form_urlencoded::parse(query.as_bytes())
        .filter(|(k, _)| k != "lang")
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    pairs.push(("lang".into(), lang.other().code().into()));
    let query: String = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish();
    format!("{path}?{query}")
}
