//! Request bodies are read whole, within a size and a time bound, before any handler runs.
//!
//! hyper bounds the request head (size and time, `crate::http::server`) but not the body. A client
//! that declares a body and then sends it a byte at a time would hold a connection and a task
//! for as long as it liked: the slow-POST form of slowloris. The broker's bodies are small
//! forms and JSON documents that every handler reads whole anyway, so reading them here first
//! costs nothing and gives one place that refuses them:
//! - 413 when the body is larger than [`BODY_LIMIT`] (declared or sent);
//! - 408 when the whole body has not arrived within `[limits] body_timeout_ms` of the head;
//! - 400 when the client breaks off or sends a malformed chunk.
//!
//! Each refusal is the OAuth error in JSON for a program, the admin API's error for the admin
//! API, and the bilingual error page for a person's browser, and closes the connection: the
//! rest of the body may still be on its way and must not be read as the next request.

use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::Response;
use http_body_util::{BodyExt, LengthLimitError, Limited};

use crate::admin::auth::AdminError;
use crate::app::Broker;

/// Bodies larger than this are refused: no form or document of the protocol needs more.
pub const BODY_LIMIT: usize = 64 * 1024;

/// Why a body was not read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Unread {
    TooLarge,
    TooSlow(Duration),
    Broken,
}

impl Unread {
    fn status(self) -> StatusCode {
        match self {
            Self::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::TooSlow(_) => StatusCode::REQUEST_TIMEOUT,
            Self::Broken => StatusCode::BAD_REQUEST,
        }
    }

    fn description(self) -> String {
        match self {
            Self::TooLarge => format!("the request body is larger than {} KiB", BODY_LIMIT / 1024),
            Self::TooSlow(limit) => format!(
                "the request body did not arrive within {} ms",
                limit.as_millis()
            ),
            Self::Broken => "the request body could not be read".to_owned(),
        }
    }

    /// What a person can do about it: a slow connection is worth checking; a body too large
    /// or broken is nothing a person did, and gets the general message.
    fn advice(self) -> Option<crate::http::pages::Advice> {
        match self {
            Self::TooSlow(_) => Some((
                "Your browser took too long to send the form, so it was stopped. Nothing was shared. Check your connection, then return to the service you came from and start again.",
                "Votre navigateur a mis trop de temps à envoyer le formulaire; l'envoi a donc été interrompu. Rien n'a été communiqué. Vérifiez votre connexion, puis retournez au service d'où vous venez et recommencez.",
            )),
            Self::TooLarge | Self::Broken => None,
        }
    }

    /// The answer in the form the caller reads.
    fn refuse(self, parts: &Parts) -> Response {
        let admin = match self {
            Self::TooLarge => AdminError::TooLarge,
            Self::TooSlow(_) => AdminError::Timeout,
            Self::Broken => AdminError::Invalid,
        };
        crate::http::limits::refuse_and_close(
            &parts.method,
            &parts.uri,
            &parts.headers,
            self.status(),
            admin,
            self.description(),
            self.advice(),
        )
    }
}

/// Reads `body` whole: at most [`BODY_LIMIT`] bytes, all of them within `within`.
async fn read(body: Body, within: Duration) -> Result<Body, Unread> {
    match tokio::time::timeout(within, Limited::new(body, BODY_LIMIT).collect()).await {
        Err(_) => Err(Unread::TooSlow(within)),
        Ok(Err(e)) if e.is::<LengthLimitError>() => Err(Unread::TooLarge),
        Ok(Err(_)) => Err(Unread::Broken),
        Ok(Ok(collected)) => Ok(Body::from(collected.to_bytes())),
    }
}

/// Middleware: hands handlers a body already read whole, or refuses the request.
pub async fn read_whole(State(broker): State<Broker>, request: Request, next: Next) -> Response {
    let (parts, body) = request.into_parts();
    // hyper's hint is the declared Content-Length when there is one.
    let hint = http_body::Body::size_hint(&body);
    // Most requests (every GET) have no body: nothing to wait for.
    if hint.exact() == Some(0) {
        return next.run(Request::from_parts(parts, body)).await;
    }
    if hint.lower() > BODY_LIMIT as u64 {
        return Unread::TooLarge.refuse(&parts);
    }
    let within = Duration::from_millis(broker.limits.body_timeout_ms.max(1));
    match read(body, within).await {
        Ok(body) => next.run(Request::from_parts(parts, body)).await,
        Err(unread) => {
            tracing::info!(
                method = %parts.method,
                path = parts.uri.path(),
                status = unread.status().as_u16(),
                "request body refused: {}",
                unread.description()
            );
            unread.refuse(&parts)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Bytes;
    use axum::http::header;
    use futures_util::{StreamExt as _, stream};

    const SOON: Duration = Duration::from_millis(200);

    #[tokio::test]
    async fn reads_up_to_the_limit_and_refuses_a_byte_more() {
        let whole = read(Body::from(vec![b'a'; BODY_LIMIT]), SOON)
            .await
            .unwrap();
        let bytes = whole.collect().await.unwrap().to_bytes();
        assert_eq!(bytes.len(), BODY_LIMIT);
        // Sent in pieces without a declared length (chunked): counted as it comes.
        let pieces =
            (0..=BODY_LIMIT / 1024).map(|_| Ok::<_, std::io::Error>(Bytes::from(vec![b'a'; 1024])));
        let streamed = Body::from_stream(stream::iter(pieces));
        assert_eq!(read(streamed, SOON).await.unwrap_err(), Unread::TooLarge);
    }

    #[tokio::test]
    async fn a_body_that_never_ends_is_refused_once_its_time_is_up() {
        let first = stream::once(async { Ok::<_, std::io::Error>(Bytes::from_static(b"code=")) });
        let trickle = Body::from_stream(first.chain(stream::pending()));
        let started = tokio::time::Instant::now();
        assert_eq!(
            read(trickle, SOON).await.unwrap_err(),
            Unread::TooSlow(SOON)
        );
        assert!(started.elapsed() >= SOON);
    }

    #[tokio::test]
    async fn a_broken_body_is_a_bad_request() {
        let broken = stream::once(async { Err::<Bytes, _>(std::io::Error::other("reset")) });
        assert_eq!(
            read(Body::from_stream(broken), SOON).await.unwrap_err(),
            Unread::Broken
        );
    }

    #[test]
    fn refusals_say_what_and_close_the_connection() {
        let (parts, ()) = Request::post("/token").body(()).unwrap().into_parts();
        let r = Unread::TooSlow(SOON).refuse(&parts);
        assert_eq!(r.status(), StatusCode::REQUEST_TIMEOUT);
        assert_eq!(r.headers()[header::CONNECTION], "close");
        assert_eq!(r.headers()[header::CONTENT_TYPE], "application/json");
        let (parts, ()) = Request::post("/admin/providers")
            .body(())
            .unwrap()
            .into_parts();
        assert_eq!(
            Unread::TooLarge.refuse(&parts).status(),
            StatusCode::PAYLOAD_TOO_LARGE
        );
        let (parts, ()) = Request::post("/consent").body(()).unwrap().into_parts();
        let page = Unread::TooLarge.refuse(&parts);
        assert_eq!(page.status(), StatusCode::PAYLOAD_TOO_LARGE);
        assert!(
            page.headers()[header::CONTENT_TYPE]
                .to_str()
                .unwrap()
                .starts_with("text/html")
        );
    }
}
