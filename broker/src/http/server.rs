//! Serving a router over TCP, in plain HTTP/1.1 or behind TLS terminated here, with the
//! transport limits the broker relies on.
//!
//! One accept loop serves both, so the limits cannot drift apart: a request head larger than
//! [`HARD_HEAD_BYTES`] or with more than hyper's 100 header lines is answered a bare
//! `431 Request Header Fields Too Large` by hyper itself (the router refuses heads over the
//! broker's own, lower bounds with a 431 that says why: `crate::http::request_head`); a head not
//! complete within [`HEADER_READ_TIMEOUT`] closes the connection, so slow clients (slowloris)
//! cannot hold connections open by trickling bytes; a TLS handshake gets [`HANDSHAKE_TIMEOUT`].
//! A connection that fails (a refused handshake, a reset) is logged at debug and never stops
//! the server. At most `max_connections` connections are served at once (`[limits]
//! max_connections`): beyond, new ones wait in the kernel's accept queue until one closes, so a
//! flood of connections cannot grow the broker's memory without bound (each may pin up to
//! [`MAX_BUF_BYTES`] of buffer). Graceful shutdown: when
//! `shutdown` completes, the listener is closed and the requests in flight finish first.
//!
//! TLS is rustls with the aws-lc-rs provider, TLS 1.2 and 1.3 only (TLS 1.0 and 1.1 are refused with
//! a `protocol_version` alert), ALPN `http/1.1`, and every response over TLS carries
//! [`HSTS`]: a browser that reached the broker once over https never tries plain http again.

use std::fmt;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::http::{HeaderValue, header};
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::{GracefulShutdown, Watcher};
use hyper_util::service::TowerToHyperService;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio_rustls::TlsAcceptor;
use tower_http::set_header::SetResponseHeaderLayer;

/// The largest request head hyper parses, in bytes: a backstop twice the broker's own bound
/// ([`crate::http::request_head::MAX_HEAD_BYTES`]), so that a head between the two still gets an
/// answer that explains itself. It bounds the memory a connection can pin before a handler runs.
pub const HARD_HEAD_BYTES: usize = 2 * crate::http::request_head::MAX_HEAD_BYTES;
/// The largest read buffer of a connection (hyper's default is about 400 KiB). Bodies are
/// bounded separately (413 above 64 KiB, in the router).
pub const MAX_BUF_BYTES: usize = 64 * 1024;
/// How long a client has to send a complete request head, counted from the moment the server
/// starts waiting for it (so it also closes keep-alive connections idle for this long).
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a client has to complete the TLS handshake.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// `Strict-Transport-Security` on every response served over TLS: two years, subdomains too.
pub const HSTS: &str = "max-age=63072000; includeSubDomains";
/// After an accept error that is not about one connection (e.g. out of file descriptors),
/// wait this long before accepting again instead of spinning.
const ACCEPT_BACKOFF: Duration = Duration::from_secs(1);

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TlsError {
    #[error("cannot read the TLS certificate chain {0}: {1}")]
    Certificate(PathBuf, rustls::pki_types::pem::Error),
    #[error("the TLS certificate file {0} holds no certificate")]
    NoCertificate(PathBuf),
    #[error("cannot read the TLS private key {0}: {1}")]
    Key(PathBuf, rustls::pki_types::pem::Error),
    #[error("the TLS certificate chain and key are not usable together: {0}")]
    Config(#[from] rustls::Error),
}

/// TLS termination: a certificate chain and its private key, ready to accept connections.
#[derive(Clone)]
pub struct Tls {
    acceptor: TlsAcceptor,
}

impl fmt::Debug for Tls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tls").finish_non_exhaustive()
    }
}

impl Tls {
    /// Reads a PEM certificate chain (leaf first) and a PEM private key (PKCS#8, SEC1 or
    /// PKCS#1), and checks that the key matches the leaf.
    pub fn from_pem_files(cert: &Path, key: &Path) -> Result<Self, TlsError> {
        let chain = CertificateDer::pem_file_iter(cert)
            .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
            .map_err(|e| TlsError::Certificate(cert.to_owned(), e))?;
        if chain.is_empty() {
            return Err(TlsError::NoCertificate(cert.to_owned()));
        }
        let key_der =
            PrivateKeyDer::from_pem_file(key).map_err(|e| TlsError::Key(key.to_owned(), e))?;
        Self::new(chain, key_der)
    }

    /// The server configuration: aws-lc-rs, TLS 1.3 and 1.2 only, ALPN `http/1.1` (the only
    /// protocol served).
    pub fn new(
        chain: Vec<CertificateDer<'static>>,
        key: PrivateKeyDer<'static>,
    ) -> Result<Self, TlsError> {
        let mut config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::aws_lc_rs::default_provider(),
        ))
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])?
        .with_no_client_auth()
        .with_single_cert(chain, key)?;
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Self {
            acceptor: TlsAcceptor::from(Arc::new(config)),
        })
    }
}

/// The HTTP/1.1 connection settings shared by plain and TLS serving.
fn http1_builder() -> http1::Builder {
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT)
        // hyper's default header-line bound (100) is kept: it lives on the stack, where setting
        // one puts the lines on the heap for every request. The router's bound is 64.
        .max_header_size(HARD_HEAD_BYTES)
        .max_buf_size(MAX_BUF_BYTES);
    builder
}

/// Accept errors about one connection only; anything else (file descriptors exhausted) is
/// worth a log line and a pause.
fn is_connection_error(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    )
}

/// Serves `router` on `listener` until `shutdown` completes, then lets the requests in flight
/// finish. With `tls`, every connection is TLS and every response carries [`HSTS`]. At most
/// `max_connections` (at least 1) are open at once.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    tls: Option<Tls>,
    max_connections: usize,
    shutdown: impl Future<Output = ()>,
) -> io::Result<()> {
    let router = match tls {
        Some(_) => router.layer(SetResponseHeaderLayer::overriding(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static(HSTS),
        )),
        None => router,
    };
    let builder = Arc::new(http1_builder());
    let graceful = GracefulShutdown::new();
    let slots = Arc::new(Semaphore::new(max_connections.max(1)));
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        // A slot first: at the bound, connections wait in the accept queue.
        let slot = tokio::select! {
            slot = slots.clone().acquire_owned() => match slot {
                Ok(slot) => slot,
                Err(_) => break,
            },
            () = &mut shutdown => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) if is_connection_error(&e) => continue,
                Err(e) => {
                    tracing::error!(error = %e, "accept failed");
                    tokio::time::sleep(ACCEPT_BACKOFF).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        // Responses are written whole; waiting for more bytes to coalesce only adds latency.
        let _ = stream.set_nodelay(true);
        // Taken before the handshake, so that a shutdown waits for it (it is bounded).
        let watcher = graceful.watcher();
        let served = connection(
            stream,
            peer,
            tls.clone(),
            builder.clone(),
            router.clone(),
            watcher,
        );
        let open = crate::metrics::connection_opened();
        tokio::spawn(async move {
            served.await;
            drop(open);
            drop(slot);
        });
    }
    drop(listener);
    graceful.shutdown().await;
    Ok(())
}

/// One connection: the TLS handshake if any, then HTTP/1.1 until either side closes.
async fn connection(
    stream: TcpStream,
    peer: SocketAddr,
    tls: Option<Tls>,
    builder: Arc<http1::Builder>,
    router: Router,
    watcher: Watcher,
) {
    // The peer address, for the per-address rate limit (`crate::http::limits`).
    let service = TowerToHyperService::new(tower_http::add_extension::AddExtension::new(
        router,
        axum::extract::ConnectInfo(peer),
    ));
    let served = match tls {
        None => {
            watcher
                .watch(builder.serve_connection(TokioIo::new(stream), service))
                .await
        }
        Some(tls) => {
            match tokio::time::timeout(HANDSHAKE_TIMEOUT, tls.acceptor.accept(stream)).await {
                Ok(Ok(stream)) => {
                    watcher
                        .watch(builder.serve_connection(TokioIo::new(stream), service))
                        .await
                }
                Ok(Err(e)) => {
                    tracing::debug!(%peer, error = %e, "TLS handshake failed");
                    return;
                }
                Err(_) => {
                    tracing::debug!(%peer, "TLS handshake timed out");
                    return;
                }
            }
        }
    };
    if let Err(e) = served {
        tracing::debug!(%peer, error = %e, "connection closed with an error");
    }
}
