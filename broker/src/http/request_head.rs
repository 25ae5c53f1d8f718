//! Request heads are bounded here, where the refusal can say why in the caller's form.
//!
//! hyper can bound a head itself, but its refusal is a bare `431` with no body: a person whose
//! browser has piled up cookies would see a blank page, and a program an error it cannot
//! explain. So hyper's own bounds (`crate::http::server`) sit well above these, as a backstop against
//! heads no legitimate client sends, and this middleware refuses anything over
//! [`MAX_HEAD_BYTES`] or [`MAX_HEADER_LINES`] with `431 Request Header Fields Too Large` as the
//! OAuth error in JSON, the admin API's `too_large`, or the bilingual error page, closing the
//! connection like the body refusals of `crate::http::request_body`.

use axum::extract::Request;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::middleware::Next;
use axum::response::Response;

use crate::admin::auth::AdminError;

/// The largest request head (request line and headers) accepted, in bytes. The broker's
/// requests carry a few cookies and an Authorization header; 16 KiB is ample.
pub const MAX_HEAD_BYTES: usize = 16 * 1024;
/// The most header lines a request may have.
pub const MAX_HEADER_LINES: usize = 64;

/// Why a head is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Oversized {
    Bytes,
    Lines,
}

/// Heads grow past the bound in browsers that hold too many cookies for the broker's domain
/// (a parent domain shared with other services sets them too): clearing them is the way out.
const ADVICE: crate::http::pages::Advice = (
    "Your browser sent more than the broker accepts with one request, usually because it holds too many cookies for this site. Clear this site's cookies in your browser, then return to the service you came from and start again. Nothing was shared.",
    "Votre navigateur a envoyé plus de données que le courtier n'en accepte pour une demande, généralement parce qu'il conserve trop de témoins (cookies) pour ce site. Effacez les témoins de ce site dans votre navigateur, puis retournez au service d'où vous venez et recommencez. Rien n'a été communiqué.",
);

impl Oversized {
    fn description(self) -> String {
        match self {
            Self::Bytes => format!(
                "the request headers are larger than {} KiB",
                MAX_HEAD_BYTES / 1024
            ),
            Self::Lines => format!("the request has more than {MAX_HEADER_LINES} header lines"),
        }
    }
}

/// The size of the head as it came on the wire (HTTP/1.1: request line, `name: value` lines,
/// the empty line), give or take optional whitespace, which the client chose to send anyway.
fn head_bytes(method_len: usize, uri: &Uri, headers: &HeaderMap) -> usize {
    let target = uri.scheme_str().map_or(0, |s| s.len() + "://".len())
        + uri.authority().map_or(0, |a| a.as_str().len())
        + uri.path_and_query().map_or(1, |p| p.as_str().len());
    let request_line = method_len + " ".len() + target + " HTTP/1.1\r\n".len();
    let fields: usize = headers
        .iter()
        .map(|(name, value)| name.as_str().len() + ": ".len() + value.len() + "\r\n".len())
        .sum();
    request_line + fields + "\r\n".len()
}

fn check(method_len: usize, uri: &Uri, headers: &HeaderMap) -> Result<(), Oversized> {
    if headers.len() > MAX_HEADER_LINES {
        return Err(Oversized::Lines);
    }
    if head_bytes(method_len, uri, headers) > MAX_HEAD_BYTES {
        return Err(Oversized::Bytes);
    }
    Ok(())
}

/// Middleware: refuses a head over the bounds before anything else reads it.
pub async fn bounded(request: Request, next: Next) -> Response {
    let method = request.method();
    match check(method.as_str().len(), request.uri(), request.headers()) {
        Ok(()) => next.run(request).await,
        Err(oversized) => {
            tracing::info!(
                method = %method,
                path = request.uri().path(),
                status = StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE.as_u16(),
                "request head refused: {}",
                oversized.description()
            );
            crate::http::limits::refuse_and_close(
                method,
                request.uri(),
                request.headers(),
                StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
                AdminError::TooLarge,
                oversized.description(),
                Some(ADVICE),
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::{HeaderName, HeaderValue, header};

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(
                HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_str(value).unwrap(),
            );
        }
        map
    }

    #[test]
    fn the_head_is_measured_as_sent() {
        let uri: Uri = "/token?x=1".parse().unwrap();
        let h = headers(&[("host", "broker"), ("cookie", "a=b")]);
        // "POST /token?x=1 HTTP/1.1\r\n" + "host: broker\r\n" + "cookie: a=b\r\n" + "\r\n"
        assert_eq!(head_bytes(4, &uri, &h), 26 + 14 + 13 + 2);
        let absolute: Uri = "http://broker:8400/token".parse().unwrap();
        assert_eq!(
            head_bytes(3, &absolute, &HeaderMap::new()),
            "GET http://broker:8400/token HTTP/1.1\r\n\r\n".len()
        );
    }

    #[test]
    fn heads_up_to_the_bounds_pass_and_one_more_is_refused() {
        let uri: Uri = "/".parse().unwrap();
        let base = head_bytes(3, &uri, &headers(&[("x-pad", "")]));
        let fits = "p".repeat(MAX_HEAD_BYTES - base);
        assert_eq!(check(3, &uri, &headers(&[("x-pad", &fits)])), Ok(()));
        let over = "p".repeat(MAX_HEAD_BYTES - base + 1);
        assert_eq!(
            check(3, &uri, &headers(&[("x-pad", &over)])),
            Err(Oversized::Bytes)
        );
        let lines: Vec<(String, &str)> = (0..=MAX_HEADER_LINES)
            .map(|i| (format!("x-{i}"), "v"))
            .collect();
        let mut many = HeaderMap::new();
        for (name, value) in &lines[..MAX_HEADER_LINES] {
            many.append(
                HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_static(value),
            );
        }
        assert_eq!(check(3, &uri, &many), Ok(()));
        many.append("x-last", HeaderValue::from_static("v"));
        assert_eq!(check(3, &uri, &many), Err(Oversized::Lines));
    }

    #[test]
    fn a_refusal_is_in_the_callers_form_and_closes() {
        let r = crate::http::limits::refuse_and_close(
            &axum::http::Method::GET,
            &"/authorize".parse().unwrap(),
            &HeaderMap::new(),
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            AdminError::TooLarge,
            Oversized::Bytes.description(),
            Some(ADVICE),
        );
        assert_eq!(r.status(), StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE);
        assert_eq!(r.headers()[header::CONNECTION], "close");
        assert!(
            r.headers()[header::CONTENT_TYPE]
                .to_str()
                .unwrap()
                .starts_with("text/html")
        );
    }
}
