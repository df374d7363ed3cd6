//! The fake's REST API over TLS as `discord.com`, for the tests that run serenity with its
//! own ratelimiter on. serenity only limits requests it sends to `https://discord.com`
//! itself (with a custom API base it switches the ratelimiter off), so those tests point the
//! bot's HTTP client at this listener (DNS override) and trust the test CA below.
//!
//! `certs/ca.pem` is a throwaway CA made for these tests (its key was deleted after signing
//! `certs/discord.com.pem`); trust it nowhere else.

use std::sync::Arc;

use axum::Router;
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// The CA that signed the fake's `discord.com` certificate (PEM).
pub const TEST_CA_PEM: &str = include_str!("../certs/ca.pem");
const CERT_PEM: &str = include_str!("../certs/discord.com.pem");
const KEY_PEM: &str = include_str!("../certs/discord.com.key");

fn acceptor() -> TlsAcceptor {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(CERT_PEM.as_bytes())
        .collect::<Result<_, _>>()
        .expect("the test certificate parses");
    let key = PrivateKeyDer::from_pem_slice(KEY_PEM.as_bytes()).expect("the test key parses");
    let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
    let config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("TLS versions")
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .expect("the test certificate and key match");
    TlsAcceptor::from(Arc::new(config))
}

/// Serves `router` over TLS on `listener` until the runtime stops.
pub(crate) async fn serve(listener: tokio::net::TcpListener, router: Router) {
    let acceptor = acceptor();
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let acceptor = acceptor.clone();
        let service = TowerToHyperService::new(router.clone());
        tokio::spawn(async move {
            let Ok(tls) = acceptor.accept(stream).await else {
                return;
            };
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(tls), service)
                .await;
        });
    }
}
