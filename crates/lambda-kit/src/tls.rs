//! The TLS trust of the outbound clients, set up without reading or parsing the machine's certificate store
//! (ADR 0018). Loading the system roots (a bundle file and a directory of a few hundred files, every
//! certificate parsed) was nine tenths of a function's start-up work, and it happened once per client: the
//! shared HTTP client, the AWS SDK's client and any client built with other timeouts.
//!
//! - [`client_config`]: the rustls configuration every `reqwest` client of [`crate::http`] uses: the Mozilla
//!   root program compiled in (`webpki-roots`, trust anchors that need no parsing), the ring provider,
//!   HTTP/1.1. Built once per process and shared.
//! - [`aws_client_config`]: the rustls configuration of the AWS SDK's HTTP client ([`crate::aws_http`]),
//!   trusting the Amazon Trust Services roots that AWS service endpoints chain to (five certificates,
//!   `amazon-trust-services.pem`) instead of the system store. Built once per process and shared.

use std::sync::{Arc, LazyLock};

use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject as _;

/// The roots AWS endpoints chain to: Amazon Root CA 1–4 and Starfield Services Root Certificate Authority G2
/// (the cross-signing root), as published by Amazon Trust Services.
const AMAZON_TRUST_SERVICES: &[u8] = include_bytes!("amazon-trust-services.pem");

static CLIENT_CONFIG: LazyLock<rustls::ClientConfig> = LazyLock::new(|| {
    http_1_1(rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    })
});

/// A client configuration trusting `roots`, with the ring provider (the one provider of the workspace, ADR 0019),
/// speaking HTTP/1.1.
fn http_1_1(roots: rustls::RootCertStore) -> rustls::ClientConfig {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        // The ring provider supports every safe default version; an error here is a build mistake.
        .unwrap_or_else(|error| unreachable!("ring supports TLS 1.2 and 1.3: {error}"))
        .with_root_certificates(roots)
        .with_no_client_auth();
    // The shared reqwest client speaks HTTP/1.1 only (no `http2` feature).
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    config
}

/// The rustls client configuration of every HTTP client built by [`crate::http`] (a cheap clone of the one
/// built on first use).
pub fn client_config() -> rustls::ClientConfig {
    CLIENT_CONFIG.clone()
}

static AWS_CLIENT_CONFIG: LazyLock<rustls::ClientConfig> = LazyLock::new(|| {
    let mut roots = rustls::RootCertStore::empty();
    let certificates = CertificateDer::pem_slice_iter(AMAZON_TRUST_SERVICES).flatten();
    // The five roots are a file of this crate, checked by its tests; none is skipped.
    roots.add_parsable_certificates(certificates);
    http_1_1(roots)
});

/// The rustls client configuration of the AWS SDK's HTTP client ([`crate::aws_http`]): the Amazon Trust Services
/// roots only (a cheap clone of the one built on first use).
pub fn aws_client_config() -> rustls::ClientConfig {
    AWS_CLIENT_CONFIG.clone()
}

#[cfg(test)]
mod tests {
    use sha2::{Digest as _, Sha256};

    use super::*;

    fn amazon_roots() -> Vec<CertificateDer<'static>> {
        CertificateDer::pem_slice_iter(AMAZON_TRUST_SERVICES)
            .collect::<Result<_, _>>()
            .unwrap()
    }

    #[test]
    fn the_shared_configuration_speaks_http_1_1_only() {
        assert_eq!(client_config().alpn_protocols, vec![b"http/1.1".to_vec()]);
    }

    #[test]
    fn the_aws_roots_are_the_five_published_amazon_trust_services_roots() {
        // SHA-256 of each certificate's DER, as Amazon Trust Services publishes them (Amazon Root CA 1–4, then
        // Starfield Services Root Certificate Authority – G2).
        let published = [
            "8ecde6884f3d87b1125ba31ac3fcb13d7016de7f57cc904fe1cb97c6ae98196e",
            "1ba5b2aa8c65401a82960118f80bec4f62304d83cec4713a19c39c011ea46db4",
            "18ce6cfe7bf14e60b2e347b8dfe868cb31d02ebb3ada271569f50343b46db3a4",
            "e35d28419ed02025cfa69038cd623962458da5c695fbdea3c22b0bfb25897092",
            "568d6905a2c88708a4b3025190edcfedb1974a606a13c6e5290fcb2ae63edab5",
        ];
        let fingerprints: Vec<String> = amazon_roots()
            .iter()
            .map(|der| hex::encode(Sha256::digest(der.as_ref())))
            .collect();
        assert_eq!(fingerprints, published);
    }

    #[test]
    fn the_aws_roots_are_trust_anchors_of_the_compiled_in_root_program_too() {
        let mut store = rustls::RootCertStore::empty();
        assert_eq!(store.add_parsable_certificates(amazon_roots()), (5, 0));
        for anchor in &store.roots {
            assert!(
                webpki_roots::TLS_SERVER_ROOTS
                    .iter()
                    .any(|known| known.subject == anchor.subject
                        && known.subject_public_key_info == anchor.subject_public_key_info),
                "{:?} is not in webpki-roots",
                anchor.subject
            );
        }
    }
}
