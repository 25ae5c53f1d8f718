use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

use super::*;

/// Serves one connection at a fresh loopback port: reads the request head, then writes
/// `answer(base_url)`. Returns the base URL.
async fn serve_once(answer: impl FnOnce(&str) -> Vec<u8> + Send + 'static) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let bytes = answer(&base);
    tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.unwrap();
        let mut buf = [0u8; 4096];
        let _ = socket.read(&mut buf).await;
        let _ = socket.write_all(&bytes).await;
    });
    base
}

fn json_answer(content_type: &str, body: &str) -> Vec<u8> {
    format!(
        "HTTP/1.1 200 OK\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

fn document(issuer: &str) -> String {
    serde_json::json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{issuer}/authorize"),
        "token_endpoint": format!("{issuer}/token"),
        "jwks_uri": format!("{issuer}/jwks"),
        "response_types_supported": ["code"],
    })
    .to_string()
}

fn http() -> reqwest::Client {
    crate::crypto::install_provider().unwrap();
    reqwest::Client::new()
}

#[test]
fn the_document_is_beside_the_issuer() {
    assert_eq!(
        document_url("https://idp.example/realm").unwrap().as_str(),
        "https://idp.example/realm/.well-known/openid-configuration"
    );
    assert_eq!(
        document_url("https://idp.example/").unwrap().as_str(),
        "https://idp.example/.well-known/openid-configuration"
    );
    assert!(matches!(
        document_url("not a url"),
        Err(UpstreamError::Metadata(_))
    ));
}

#[tokio::test]
async fn a_document_naming_its_issuer_gives_its_endpoints() {
    let base =
        serve_once(|base| json_answer("application/json; charset=utf-8", &document(base))).await;
    let doc = fetch_document(&http(), &base).await.unwrap();
    assert_eq!(
        doc.token_endpoint.unwrap().as_str(),
        format!("{base}/token")
    );
    assert_eq!(doc.jwks_uri.as_str(), format!("{base}/jwks"));
    assert!(doc.userinfo_endpoint.is_none());
}

#[tokio::test]
async fn another_issuer_is_refused_even_by_a_trailing_slash() {
    let base =
        serve_once(|base| json_answer("application/json", &document(&format!("{base}/")))).await;
    let e = fetch_document(&http(), &base).await.unwrap_err();
    assert!(matches!(e, UpstreamError::Metadata(_)), "{e}");
    assert!(e.to_string().contains("issuer"), "{e}");
}

#[tokio::test]
async fn a_bad_status_type_or_body_is_the_providers_metadata_fault() {
    let answers: [fn(&str) -> Vec<u8>; 4] = [
        |_| b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n".to_vec(),
        |base| json_answer("text/html", &document(base)),
        |_| json_answer("application/json", "{\"issuer\": 7}"),
        |base| {
            // No jwks_uri.
            let mut doc: serde_json::Value = serde_json::from_str(&document(base)).unwrap();
            doc.as_object_mut().unwrap().remove("jwks_uri");
            json_answer("application/json", &doc.to_string())
        },
    ];
    for answer in answers {
        let base = serve_once(answer).await;
        let e = fetch_document(&http(), &base).await.unwrap_err();
        assert!(matches!(e, UpstreamError::Metadata(_)), "{e}");
    }
}

#[tokio::test]
async fn an_oversized_answer_and_a_closed_port_are_told_apart() {
    let base = serve_once(|_| {
        format!(
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
            bounded::MAX_UPSTREAM_BODY + 1
        )
        .into_bytes()
    })
    .await;
    let e = fetch_document(&http(), &base).await.unwrap_err();
    assert!(matches!(e, UpstreamError::Oversized(_)), "{e}");

    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let e = fetch_document(&http(), &format!("http://127.0.0.1:{port}"))
        .await
        .unwrap_err();
    assert!(matches!(e, UpstreamError::Unreachable(_)), "{e}");
}

#[tokio::test]
async fn a_key_set_is_read_as_json_or_jwk_set_json() {
    let key = crate::keys::testing::TestKey::generate("ES256").unwrap();
    let set = serde_json::json!({ "keys": [serde_json::Value::Object(key.public_jwk())] });
    for content_type in ["application/json", "application/jwk-set+json"] {
        let body = set.to_string();
        let base = serve_once(move |_| json_answer(content_type, &body)).await;
        let url = url::Url::parse(&format!("{base}/jwks")).unwrap();
        assert_eq!(fetch_keys(&http(), &url).await.unwrap().len(), 1);
    }
    let base = serve_once(|_| json_answer("application/json", "[]")).await;
    let url = url::Url::parse(&format!("{base}/jwks")).unwrap();
    assert!(matches!(
        fetch_keys(&http(), &url).await,
        Err(UpstreamError::Metadata(_))
    ));
}
