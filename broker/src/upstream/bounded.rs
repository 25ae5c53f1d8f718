//! Answers from providers (discovery, JWKS, token, userinfo) and from relying parties'
//! `jwks_uri`, read with a bound on their size. The client's timeout bounds how long an answer
//! may take, not how large it grows in that time: on a fast link a provider that streams
//! without end would fill the broker's memory within a few seconds. reqwest reads whole bodies;
//! this reads chunk by chunk and stops at the bound.

/// The largest answer read from a provider. Discovery documents, key sets and token responses
/// are a few kilobytes; this leaves a large margin and still bounds memory per call.
pub const MAX_UPSTREAM_BODY: usize = 256 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum BoundedError {
    #[error(transparent)]
    Transport(#[from] reqwest::Error),
    #[error("the answer is larger than {0} bytes")]
    TooLarge(usize),
}

impl BoundedError {
    /// Whether `e`, or an error it was caused by, is an answer over the bound: a provider's
    /// fault, not a network one.
    pub fn too_large_in(e: &(dyn std::error::Error + 'static)) -> bool {
        let mut next = Some(e);
        while let Some(e) = next {
            // An error may keep it boxed.
            let this = e
                .downcast_ref::<BoundedError>()
                .or_else(|| e.downcast_ref::<Box<BoundedError>>().map(|b| &**b));
            if matches!(this, Some(BoundedError::TooLarge(_))) {
                return true;
            }
            next = e.source();
        }
        false
    }
}

/// Reads `response`'s body, refusing it once it passes `max` bytes (at once when its
/// `Content-Length` says so).
pub async fn read_body(
    mut response: reqwest::Response,
    max: usize,
) -> Result<Vec<u8>, BoundedError> {
    let declared = response.content_length();
    if declared.is_some_and(|l| l > max as u64) {
        return Err(BoundedError::TooLarge(max));
    }
    let mut body = Vec::with_capacity(declared.map_or(0, |l| l as usize));
    while let Some(chunk) = response.chunk().await? {
        if body.len() + chunk.len() > max {
            return Err(BoundedError::TooLarge(max));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

#[cfg(test)]
mod tests {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

    use super::*;

    /// Serves one connection: reads the request head, then writes `head` and `chunks` of
    /// `chunk_len` bytes each, chunked when `head` does not give a length.
    async fn serve_once(head: &'static str, chunks: usize, chunk_len: usize) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/", listener.local_addr().unwrap());
        tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.unwrap();
            let mut buf = [0u8; 4096];
            let _ = socket.read(&mut buf).await;
            if socket.write_all(head.as_bytes()).await.is_err() {
                return;
            }
            let chunked = !head.contains("content-length");
            let data = vec![b'x'; chunk_len];
            for _ in 0..chunks {
                let write = if chunked {
                    let mut framed = format!("{chunk_len:x}\r\n").into_bytes();
                    framed.extend_from_slice(&data);
                    framed.extend_from_slice(b"\r\n");
                    socket.write_all(&framed).await
                } else {
                    socket.write_all(&data).await
                };
                // The reader may stop early: that is what is tested.
                if write.is_err() {
                    return;
                }
            }
            if chunked {
                let _ = socket.write_all(b"0\r\n\r\n").await;
            }
        });
        url
    }

    async fn get(url: &str) -> reqwest::Response {
        crate::crypto::install_provider().unwrap();
        reqwest::Client::new().get(url).send().await.unwrap()
    }

    #[tokio::test]
    async fn an_answer_within_the_bound_is_read_whole() {
        let url = serve_once(
            "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n",
            4,
            1000,
        )
        .await;
        let body = read_body(get(&url).await, 4000).await.unwrap();
        assert_eq!(body.len(), 4000);
    }

    #[tokio::test]
    async fn a_stream_past_the_bound_is_cut_off() {
        // 64 MiB offered, without a length: refused after the first few kilobytes.
        let url = serve_once(
            "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n",
            4096,
            16 * 1024,
        )
        .await;
        let e = read_body(get(&url).await, MAX_UPSTREAM_BODY)
            .await
            .unwrap_err();
        assert!(
            matches!(e, BoundedError::TooLarge(MAX_UPSTREAM_BODY)),
            "{e}"
        );
        assert!(BoundedError::too_large_in(&e));
    }

    #[tokio::test]
    async fn a_declared_length_past_the_bound_is_refused_before_reading() {
        let url = serve_once("HTTP/1.1 200 OK\r\ncontent-length: 1000000\r\n\r\n", 0, 0).await;
        let e = read_body(get(&url).await, MAX_UPSTREAM_BODY)
            .await
            .unwrap_err();
        assert!(matches!(e, BoundedError::TooLarge(_)), "{e}");
    }

    /// The bound is named as such through a box and through a chain of sources, and nothing
    /// else is taken for it.
    #[test]
    fn the_bound_is_an_error_that_can_be_named() {
        let boxed: Box<BoundedError> = Box::new(BoundedError::TooLarge(MAX_UPSTREAM_BODY));
        assert!(BoundedError::too_large_in(&boxed));
        #[derive(Debug, thiserror::Error)]
        #[error("the call failed")]
        struct Wrapped(#[source] BoundedError);
        assert!(BoundedError::too_large_in(&Wrapped(
            BoundedError::TooLarge(1)
        )));
        let plain = std::io::Error::other("refused");
        assert!(!BoundedError::too_large_in(&plain));
    }
}
