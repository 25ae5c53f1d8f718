//! The transport: TLS termination in the broker (TLS 1.2 and 1.3 only, HSTS), hyper's limits on
//! request heads, the body limit, and the upstream client's CA bundle. Real TCP on 127.0.0.1,
//! certificates generated at test time.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use broker::app::{Broker, BrokerParts};
use broker::http::server::{HSTS, Tls};
use broker::keys::KeySet;
use broker::oidc::client_auth::ClientKeyCache;
use broker::oidc::client_auth::assertion::AssertionError;
use broker::secrets::SecretResolver;
use broker::store::MemoryStore;
use broker::upstream::{AuthorizationRequest, UpstreamClient, UpstreamError};
use rustls::pki_types::{CertificateDer, ServerName};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use trust_framework::{ClientKeys, Registry};

const EXAMPLE: &str = include_str!("../../fixtures/pan-canada-2026.toml");

/// A plain client, with the process's TLS provider installed first.
fn http() -> reqwest::Client {
    e2e::rp::http()
}

/// A certificate and its key, as PEM files in a temporary directory.
struct Pem {
    _dir: tempfile::TempDir,
    cert: PathBuf,
    key: PathBuf,
    der: CertificateDer<'static>,
}

fn write_pem(cert: &rcgen::Certificate, key: &rcgen::KeyPair) -> Pem {
    let dir = tempfile::tempdir().unwrap();
    let cert_path = dir.path().join("cert.pem");
    let key_path = dir.path().join("key.pem");
    std::fs::write(&cert_path, cert.pem()).unwrap();
    std::fs::write(&key_path, key.serialize_pem()).unwrap();
    Pem {
        _dir: dir,
        cert: cert_path,
        key: key_path,
        der: cert.der().clone(),
    }
}

/// A self-signed certificate for 127.0.0.1 (not a CA: rustls refuses a CA as end entity).
fn self_signed() -> Pem {
    let rcgen::CertifiedKey { cert, signing_key } =
        rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])
            .unwrap();
    write_pem(&cert, &signing_key)
}

async fn broker(issuer: &str) -> Broker {
    Broker::new(BrokerParts {
        record: Default::default(),
        issuer: issuer.to_owned(),
        registry: Registry::from_toml(EXAMPLE).unwrap(),
        keys: KeySet::generate().unwrap(),
        store: Arc::new(MemoryStore::new()),
        secrets: SecretResolver::default(),
        pairwise_secret: b"pairwise-test-secret".to_vec(),
        upstream_timeout: Duration::from_secs(5),
        records: broker::records::Records::in_memory().await.unwrap(),
        registry_version: 0,
        log: None,
        admins: Vec::new(),
        limits: Default::default(),
        clock: Arc::new(broker::clock::FixedClock::at(crate::common::NOW)),
        sessions: Default::default(),
        operator: Default::default(),
    })
    .unwrap()
}

/// A running broker; dropping `stop` (or sending on it) shuts it down gracefully.
struct Running {
    addr: SocketAddr,
    stop: oneshot::Sender<()>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Running {
    /// Asks for a graceful shutdown and checks that the server ends soon after.
    async fn shut_down(self) {
        let _ = self.stop.send(());
        tokio::time::timeout(Duration::from_secs(5), self.task)
            .await
            .expect("the server did not stop after its shutdown signal")
            .unwrap()
            .unwrap();
    }
}

async fn start(tls: Option<Tls>) -> Running {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let scheme = if tls.is_some() { "https" } else { "http" };
    let broker = broker(&format!("{scheme}://{addr}")).await;
    let (stop, rx) = oneshot::channel::<()>();
    let shutdown = async {
        let _ = rx.await;
    };
    let task = tokio::spawn(async move {
        match tls {
            Some(tls) => broker::app::run_tls(listener, broker, tls, shutdown).await,
            None => broker::app::run(listener, broker, shutdown).await,
        }
    });
    Running { addr, stop, task }
}

fn client_config(
    root: &CertificateDer<'static>,
    version: &'static rustls::SupportedProtocolVersion,
) -> rustls::ClientConfig {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(root.clone()).unwrap();
    let mut config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_protocol_versions(&[version])
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    config
}

/// `GET path` over TLS with one protocol version; returns the negotiated version, the ALPN
/// protocol and the raw response.
async fn tls_get(
    addr: SocketAddr,
    root: &CertificateDer<'static>,
    version: &'static rustls::SupportedProtocolVersion,
    path: &str,
) -> (rustls::ProtocolVersion, Option<Vec<u8>>, String) {
    let connector = tokio_rustls::TlsConnector::from(Arc::new(client_config(root, version)));
    let tcp = TcpStream::connect(addr).await.unwrap();
    let name = ServerName::try_from("127.0.0.1".to_owned()).unwrap();
    let mut tls = connector.connect(name, tcp).await.unwrap();
    let (_, conn) = tls.get_ref();
    let negotiated = conn.protocol_version().unwrap();
    let alpn = conn.alpn_protocol().map(<[u8]>::to_vec);
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    tls.write_all(request.as_bytes()).await.unwrap();
    let mut response = Vec::new();
    // The server closes after the response; an EOF without close_notify is fine here.
    let _ = tokio::time::timeout(Duration::from_secs(5), tls.read_to_end(&mut response))
        .await
        .unwrap();
    (
        negotiated,
        alpn,
        String::from_utf8_lossy(&response).into_owned(),
    )
}

fn header<'a>(response: &'a str, name: &str) -> Option<&'a str> {
    let head = response.split("\r\n\r\n").next()?;
    head.lines().skip(1).find_map(|line| {
        let (n, v) = line.split_once(':')?;
        n.eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

fn tls_server(pem: &Pem) -> Tls {
    Tls::from_pem_files(&pem.cert, &pem.key).unwrap()
}

#[tokio::test]
async fn tls13_and_tls12_clients_are_served_with_hsts() {
    let pem = self_signed();
    let running = start(Some(tls_server(&pem))).await;
    for (version, expected) in [
        (&rustls::version::TLS13, rustls::ProtocolVersion::TLSv1_3),
        (&rustls::version::TLS12, rustls::ProtocolVersion::TLSv1_2),
    ] {
        let (negotiated, alpn, response) =
            tls_get(running.addr, &pem.der, version, "/healthz").await;
        assert_eq!(negotiated, expected);
        assert_eq!(alpn.as_deref(), Some(&b"http/1.1"[..]));
        assert!(
            response.starts_with("HTTP/1.1 200"),
            "{expected:?}: {response}"
        );
        assert_eq!(header(&response, "strict-transport-security"), Some(HSTS));
    }
    // Also on a 404 and on a page: every response over TLS.
    let (_, _, response) =
        tls_get(running.addr, &pem.der, &rustls::version::TLS13, "/nowhere").await;
    assert!(response.starts_with("HTTP/1.1 404"), "{response}");
    assert_eq!(header(&response, "strict-transport-security"), Some(HSTS));
    running.shut_down().await;
}

/// A TLS 1.1 ClientHello as an old client sends it: record version 0x0301, client_version
/// 0x0302, TLS 1.0/1.1 cipher suites, no supported_versions extension. `signature_algorithms`
/// (a TLS 1.2 extension, which TLS 1.1 clients do not send) makes rustls reach its version check.
fn tls11_client_hello(signature_algorithms: bool) -> Vec<u8> {
    let mut body = vec![0x03, 0x02]; // client_version TLS 1.1
    body.extend((0u8..32).map(|i| i.wrapping_mul(37))); // random
    body.push(0); // session_id: empty
    let suites: [u16; 6] = [0xc014, 0xc013, 0xc00a, 0xc009, 0x0035, 0x002f];
    body.extend(u16::try_from(suites.len() * 2).unwrap().to_be_bytes());
    for s in suites {
        body.extend(s.to_be_bytes());
    }
    body.extend([1, 0]); // compression: null only
    // Extensions: supported_groups (secp256r1, secp384r1) and ec_point_formats (uncompressed).
    let mut extensions: Vec<u8> = [
        &[0x00, 0x0a, 0x00, 0x06, 0x00, 0x04, 0x00, 0x17, 0x00, 0x18][..],
        &[0x00, 0x0b, 0x00, 0x02, 0x01, 0x00][..],
    ]
    .concat();
    if signature_algorithms {
        // ecdsa_secp256r1_sha256, rsa_pkcs1_sha256
        extensions.extend([0x00, 0x0d, 0x00, 0x06, 0x00, 0x04, 0x04, 0x03, 0x04, 0x01]);
    }
    body.extend(u16::try_from(extensions.len()).unwrap().to_be_bytes());
    body.extend(extensions);
    let mut handshake = vec![0x01]; // client_hello
    handshake.extend(&u32::try_from(body.len()).unwrap().to_be_bytes()[1..]);
    handshake.extend(body);
    let mut record = vec![0x16, 0x03, 0x01]; // handshake record, version TLS 1.0
    record.extend(u16::try_from(handshake.len()).unwrap().to_be_bytes());
    record.extend(handshake);
    record
}

#[tokio::test]
async fn tls11_client_is_refused_and_the_server_goes_on() {
    let pem = self_signed();
    let running = start(Some(tls_server(&pem))).await;
    // Without signature_algorithms rustls stops at that (handshake_failure, 40); with it, at
    // the version (protocol_version, 70). Either way a fatal alert and no handshake.
    for (signature_algorithms, expected) in [(false, [40, 70]), (true, [70, 70])] {
        let mut tcp = TcpStream::connect(running.addr).await.unwrap();
        tcp.write_all(&tls11_client_hello(signature_algorithms))
            .await
            .unwrap();
        let mut answer = Vec::new();
        let _ = tokio::time::timeout(Duration::from_secs(5), tcp.read_to_end(&mut answer))
            .await
            .expect("the server neither answered nor closed");
        if !answer.is_empty() {
            // An alert record: type 21, version, length 2, then level (2: fatal), description.
            assert_eq!(answer[0], 21, "not an alert: {answer:02x?}");
            assert!(answer.len() >= 7, "{answer:02x?}");
            assert_eq!(answer[5], 2, "not fatal: {answer:02x?}");
            assert!(
                expected.contains(&answer[6]),
                "alert {} instead of {expected:?}",
                answer[6]
            );
        }
    }
    let (_, _, response) =
        tls_get(running.addr, &pem.der, &rustls::version::TLS13, "/healthz").await;
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    running.shut_down().await;
}

#[tokio::test]
async fn plain_http_has_no_hsts_and_refuses_oversized_heads_and_bodies() {
    let running = start(None).await;
    let base = format!("http://{}", running.addr);
    let http = http();

    let r = http.get(format!("{base}/healthz")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.headers().get("strict-transport-security").is_none());

    // 20 KiB of header: refused before any handler, with 431.
    let r = http
        .get(format!("{base}/healthz"))
        .header("x-padding", "a".repeat(20 * 1024))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 431);

    // More than 64 header lines, each small.
    let mut request = http.get(format!("{base}/healthz"));
    for i in 0..70 {
        request = request.header(format!("x-h{i}"), "1");
    }
    assert_eq!(request.send().await.unwrap().status(), 431);

    // A 70 KiB body to /token: 413 from the body limit.
    let r = http
        .post(format!("{base}/token"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!(
            "grant_type=authorization_code&code={}",
            "a".repeat(70 * 1024)
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413);

    let r = http.get(format!("{base}/healthz")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    running.shut_down().await;
}

#[tokio::test]
async fn a_slow_client_does_not_block_others() {
    // A client that opens a connection and sends half a request head: the server goes on
    // serving others (the header read timeout then closes it, after 10 s, not waited for here).
    let running = start(None).await;
    let mut slow = TcpStream::connect(running.addr).await.unwrap();
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    let r = http()
        .get(format!("http://{}/healthz", running.addr))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    drop(slow);
    running.shut_down().await;
}

/// A private CA and a leaf for 127.0.0.1 signed by it.
struct PrivateCa {
    ca: Pem,
    leaf: Pem,
}

fn private_ca() -> PrivateCa {
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "test deployment CA");
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca_params.key_usages = vec![
        rcgen::KeyUsagePurpose::KeyCertSign,
        rcgen::KeyUsagePurpose::DigitalSignature,
    ];
    let ca_cert = ca_params.self_signed(&ca_key).unwrap();
    let issuer = rcgen::Issuer::new(ca_params, &ca_key);
    let leaf_key = rcgen::KeyPair::generate().unwrap();
    let leaf_params = rcgen::CertificateParams::new(vec!["127.0.0.1".to_owned()]).unwrap();
    let leaf_cert = leaf_params.signed_by(&leaf_key, &issuer).unwrap();
    PrivateCa {
        ca: write_pem(&ca_cert, &ca_key),
        leaf: write_pem(&leaf_cert, &leaf_key),
    }
}

/// Serves a demo provider playing `ab-account` over https with `pem`; returns the registry
/// entry pointing at it.
async fn https_provider(pem: &Pem) -> (trust_framework::IdentityProvider, oneshot::Sender<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let issuer = format!("https://{}", listener.local_addr().unwrap());
    let registry = Registry::from_toml(
        &EXAMPLE.replace("\"http://127.0.0.1:8411\"", &format!("\"{issuer}\"")),
    )
    .unwrap();
    let provider = registry.provider("ab-account").unwrap().clone();
    let config = demo::provider::ProviderConfig::for_registry_provider(
        &provider,
        issuer,
        demo::provider::ClientConfig {
            client_id: provider.client_id.clone(),
            client_secret: "secret".into(),
            redirect_uris: vec!["https://broker.example/callback".into()],
        },
        None,
    );
    let router = demo::provider::router(config).unwrap();
    let tls = Tls::from_pem_files(&pem.cert, &pem.key).unwrap();
    let (stop, rx) = oneshot::channel::<()>();
    tokio::spawn(broker::http::server::serve(
        listener,
        router,
        Some(tls),
        64,
        async {
            let _ = rx.await;
        },
    ));
    (provider, stop)
}

fn authorization_request() -> AuthorizationRequest {
    AuthorizationRequest {
        redirect_uri: "https://broker.example/callback".into(),
        state: "state".into(),
        nonce: "nonce".into(),
        pkce_verifier: "v".repeat(43),
        scopes: vec!["openid".into()],
        ..AuthorizationRequest::default()
    }
}

#[tokio::test]
async fn upstream_trusts_a_ca_bundle_and_nothing_else() {
    let pki = private_ca();
    let (provider, _stop) = https_provider(&pki.leaf).await;
    let timeout = Duration::from_secs(5);

    let trusting = UpstreamClient::with_ca_bundle(timeout, &pki.ca.cert).unwrap();
    let url = trusting
        .authorization_url(&provider, &authorization_request())
        .await
        .unwrap();
    assert!(
        url.as_str().starts_with(&provider.issuer),
        "{url} is not at {}",
        provider.issuer
    );

    let default = UpstreamClient::new(timeout).unwrap();
    match default
        .authorization_url(&provider, &authorization_request())
        .await
    {
        Err(UpstreamError::Unreachable(message)) => {
            assert!(message.to_lowercase().contains("certificate"), "{message}")
        }
        other => panic!("expected an untrusted certificate, got {other:?}"),
    }

    // A relying party's jwks_uri is fetched by the same client: trusted with the bundle (the
    // fetch succeeds, then the junk assertion fails on its signature), not without it.
    let jwks_uri = ClientKeys::JwksUri(format!("{}/jwks", provider.issuer).parse().unwrap());
    let assertion = "eyJhbGciOiJFUzI1NiJ9.e30.c2ln";
    let with_bundle = ClientKeyCache::new(trusting.http().clone());
    match with_bundle.verify("rp", &jwks_uri, assertion).await {
        Err(AssertionError::Keys(message)) => panic!("the bundle was not trusted: {message}"),
        Err(_) => {}
        Ok(claims) => panic!("a junk assertion verified: {claims:?}"),
    }
    let without = ClientKeyCache::new(default.http().clone());
    match without.verify("rp", &jwks_uri, assertion).await {
        Err(AssertionError::Keys(_)) => {}
        other => panic!("expected the jwks_uri's certificate refused, got {other:?}"),
    }
}

#[test]
fn unusable_tls_files_and_ca_bundles_are_refused_at_start() {
    let a = self_signed();
    let b = self_signed();
    // A key that is not the certificate's.
    assert!(Tls::from_pem_files(&a.cert, &b.key).is_err());
    // A key file given as the certificate (no certificate in it).
    assert!(Tls::from_pem_files(&a.key, &a.key).is_err());
    assert!(Tls::from_pem_files(Path::new("/nonexistent/cert.pem"), &a.key).is_err());
    // A CA bundle without a certificate.
    let timeout = Duration::from_secs(1);
    assert!(matches!(
        UpstreamClient::with_ca_bundle(timeout, &a.key),
        Err(UpstreamError::Configuration(_))
    ));
    assert!(matches!(
        UpstreamClient::with_ca_bundle(timeout, Path::new("/nonexistent/ca.pem")),
        Err(UpstreamError::Configuration(_))
    ));
}
