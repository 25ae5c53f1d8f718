//! `/authorize` (GET and POST): the service's authorization request starts a login.
//!
//! The request is parsed and checked by [`AuthorizeRequest::parse`] (pages for errors until
//! the client and its redirect URI are known good, redirects to the service after), then
//! [`login::start`] makes the login's first transition.

use axum::extract::{RawForm, RawQuery, State};
use axum::http::{HeaderMap, Uri, header};
use axum::response::Response;
use trust_framework::Lang;

use super::error::OAuthError;
use super::params::Params;
use crate::app::Broker;
use crate::http::{browser, lang};
use crate::login::endpoints::respond;
use crate::login::{self, AuthorizeRequest, Failure, Origin};

pub async fn get(
    State(broker): State<Broker>,
    uri: Uri,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let pairs = url::form_urlencoded::parse(query.as_deref().unwrap_or("").as_bytes())
        .into_owned()
        .collect();
    let here = uri
        .path_and_query()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_default();
    authorize(broker, pairs, headers, here).await
}

pub async fn post(
    State(broker): State<Broker>,
    headers: HeaderMap,
    RawForm(body): RawForm,
) -> Response {
    let pairs: Vec<(String, String)> = url::form_urlencoded::parse(&body).into_owned().collect();
    // A POSTed request cannot be repeated by a link; the language switch restarts as a GET.
    let query: String = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs.iter())
        .finish();
    authorize(broker, pairs, headers, format!("/authorize?{query}")).await
}

async fn authorize(
    broker: Broker,
    pairs: Vec<(String, String)>,
    headers: HeaderMap,
    here: String,
) -> Response {
    let (lang, switch) = language(&pairs, &headers, &here);
    match begin(&broker, pairs, &headers, lang).await {
        Ok(response) => response,
        Err(failure) => failure.into_response(&broker, switch),
    }
}

/// The person's language (an explicit `lang`, the service's `ui_locales`, the browser's
/// `Accept-Language`) and the link to the same request in the other language, for the pages.
pub(crate) fn language(
    pairs: &[(String, String)],
    headers: &HeaderMap,
    here: &str,
) -> (Lang, String) {
    let param = |name: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let lang = lang::negotiate(param("lang"), param("ui_locales"), headers);
    (lang, lang::same_page_other_lang(here, lang))
}

async fn begin(
    broker: &Broker,
    pairs: Vec<(String, String)>,
    headers: &HeaderMap,
    lang: Lang,
) -> Result<Response, Failure> {
    let page = |e: OAuthError| Failure::page(lang, e);
    let params = Params::from_pairs(pairs).map_err(|e| page(OAuthError::invalid_request(e)))?;
    let (params, origin) = if params.has("request_uri") {
        let pushed = super::par::take(broker, &params).await.map_err(page)?;
        (pushed, Origin::Pushed)
    } else {
        (params, Origin::Browser)
    };
    let registry = broker.fresh_registry().await;
    let request = AuthorizeRequest::parse(&registry, &params, lang, origin)?;
    // The login is bound to this browser by a cookie of its own (login CSRF, RFC 9700 4.7).
    let existing = browser::cookie(headers);
    let cookie = existing.clone().unwrap_or_else(browser::random_token);
    let remembered = browser::remembered_provider(headers);
    let now = broker.now();
    let session = crate::session::Session::of_browser(broker, headers, now)
        .await
        .map_err(|e| page(OAuthError::from_store(&e)))?;
    let login = login::start(
        broker,
        &registry,
        request,
        lang,
        browser::hash(&cookie),
        remembered.as_deref(),
        session,
        now,
    )
    .await?;
    let mut response = respond(broker, login);
    if existing.is_none()
        && let Some(v) = browser::set_cookie(&cookie, broker.secure_cookies)
    {
        response.headers_mut().append(header::SET_COOKIE, v);
    }
    Ok(response)
}
