//! reqwest clients for the stand-ins and their tests. The workspace's reqwest has no crypto provider of its own
//! (docs/decisions/0019), so a client is built with an explicit rustls configuration: the ring provider and no
//! trusted roots, since a stand-in only ever talks plain HTTP on loopback.

use std::sync::Arc;

/// A reqwest builder for plain-HTTP calls on loopback (an HTTPS call fails: nothing is trusted).
pub fn client_builder() -> reqwest::ClientBuilder {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap_or_else(|error| unreachable!("ring supports TLS 1.2 and 1.3: {error}"))
        .with_root_certificates(rustls::RootCertStore::empty())
        .with_no_client_auth();
    reqwest::Client::builder().tls_backend_preconfigured(tls)
}

/// What `reqwest::Client::new()` would be: reqwest's defaults over [`client_builder`].
///
/// # Panics
///
/// As `reqwest::Client::new()`, when the client cannot be built (never with this fixed configuration).
pub fn default_client() -> reqwest::Client {
    client_builder()
        .build()
        .unwrap_or_else(|error| panic!("a reqwest client for loopback: {error}"))
}
