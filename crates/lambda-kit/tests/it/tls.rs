//! The outbound clients' trust (ADR 0018): neither the shared `reqwest` client nor the AWS SDK's HTTPS client
//! reads the machine's certificate store.
//!
//! The proof runs in a child process of this test binary whose certificate store, as every reader of it sees
//! it (`SSL_CERT_FILE`, `SSL_CERT_DIR`), is one test root that signed the loopback server's certificate. A
//! client that read the machine's store would trust that server; ours must refuse it as an unknown issuer,
//! while a client given that root explicitly connects (so the refusal is the trust, not a broken server).

use std::io::{Read as _, Write as _};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;

use aws_sdk_secretsmanager::error::SdkError;
use lambda_kit::error::chain;
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// The child test, by its full name in this binary.
const CHILD: &str = "tls::in_a_process_whose_certificate_store_is_the_test_root";

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/tls")
        .join(name)
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// A TLS server on 127.0.0.1 presenting `localhost.pem` (signed by `store/test-root.pem`), answering every
/// request it can read with `200 {}`; returns its port.
fn spawn_tls_server() -> u16 {
    let chain: Vec<CertificateDer<'static>> =
        CertificateDer::pem_file_iter(fixture("localhost.pem"))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
    let key = PrivateKeyDer::from_pem_file(fixture("localhost.key")).unwrap();
    let config = rustls::ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .unwrap();
    let config = Arc::new(config);
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for socket in listener.incoming() {
            let Ok(socket) = socket else { return };
            let config = Arc::clone(&config);
            std::thread::spawn(move || {
                let connection = rustls::ServerConnection::new(config).unwrap();
                let mut stream = rustls::StreamOwned::new(connection, socket);
                let mut request = Vec::new();
                let mut buf = [0u8; 4096];
                // A client that refuses the certificate ends the handshake; the read then fails.
                while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                    match stream.read(&mut buf) {
                        Ok(0) | Err(_) => return,
                        Ok(n) => request.extend_from_slice(&buf[..n]),
                    }
                }
                let body = "{}";
                let response = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/x-amz-json-1.1\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = stream.write_all(response.as_bytes());
                stream.conn.send_close_notify();
                let _ = stream.flush();
            });
        }
    });
    port
}

/// A client configuration trusting the test root alone.
fn trusting_config() -> rustls::ClientConfig {
    let mut roots = rustls::RootCertStore::empty();
    let root = CertificateDer::from_pem_file(fixture("store/test-root.pem")).unwrap();
    roots.add(root).unwrap();
    rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth()
}

/// A Secrets Manager client for `url` over `http`, with static credentials.
fn secrets_client(
    url: &str,
    http: aws_smithy_runtime_api::client::http::SharedHttpClient,
) -> aws_sdk_secretsmanager::Client {
    let config = aws_sdk_secretsmanager::Config::builder()
        .behavior_version(aws_sdk_secretsmanager::config::BehaviorVersion::latest())
        .region(aws_sdk_secretsmanager::config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_secretsmanager::config::Credentials::new(
            "testing", "testing", None, None, "test",
        ))
        .endpoint_url(url)
        .http_client(http)
        .build();
    aws_sdk_secretsmanager::Client::from_conf(config)
}

/// Whether an error chain says the server's certificate was refused for its issuer.
fn is_unknown_issuer(chain: &str) -> bool {
    chain.contains("UnknownIssuer")
}

#[test]
fn the_clients_do_not_trust_the_machines_certificate_store() {
    let store = fixture("store");
    let output = Command::new(std::env::current_exe().unwrap())
        .args([
            CHILD,
            "--exact",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("SSL_CERT_FILE", store.join("test-root.pem"))
        .env("SSL_CERT_DIR", &store)
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_CONFIG_FILE", store.join("no-such-file"))
        .env("AWS_SHARED_CREDENTIALS_FILE", store.join("no-such-file"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success() && stdout.contains("1 passed"),
        "the child test failed or did not run:\n{stdout}\n{stderr}"
    );
}

#[tokio::test]
#[ignore = "run by the_clients_do_not_trust_the_machines_certificate_store, in a process whose store is the test root"]
async fn in_a_process_whose_certificate_store_is_the_test_root() {
    let port = spawn_tls_server();
    let url = format!("https://localhost:{port}/");

    // The server works: a client given the test root explicitly connects, through reqwest and through the SDK's
    // HTTP client of `lambda_kit::aws_http`.
    let trusting = trusting_config();
    let response = lambda_kit::http::client_builder()
        .tls_backend_preconfigured(trusting.clone())
        .build()
        .unwrap()
        .get(&url)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let answer = secrets_client(&url, lambda_kit::aws_http::aws_http_client_with(trusting))
        .get_secret_value()
        .secret_id("any")
        .send()
        .await;
    assert!(
        !matches!(answer, Err(SdkError::DispatchFailure(_))),
        "the SDK over reqwest, given the test root, must reach the server: {}",
        chain(&answer.unwrap_err())
    );

    // The process's certificate store is the test root: reqwest's own default (the platform verifier, which
    // reads the store) trusts the server. reqwest has no crypto provider of its own (ADR 0019); this child
    // process installs one for it.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let machine = reqwest::Client::builder().build().unwrap();
    let response = machine.get(&url).send().await;
    assert!(
        response.is_ok(),
        "a client reading the machine's store must trust the server here: {}",
        chain(&response.unwrap_err())
    );

    // The shared client refuses it: it trusts the compiled-in roots only.
    let shared = lambda_kit::http::http_client("lambda-kit-test/0.0.0").unwrap();
    let error = shared.get(&url).send().await.unwrap_err();
    assert!(is_unknown_issuer(&chain(&error)), "{}", chain(&error));

    // The HTTPS client of `aws_sdk_config` refuses it: it trusts the Amazon Trust Services roots only.
    let sdk = lambda_kit::aws_sdk_config(Some(&url)).await;
    let secrets = aws_sdk_secretsmanager::Client::new(&sdk);
    let error = secrets
        .get_secret_value()
        .secret_id("any")
        .send()
        .await
        .unwrap_err();
    assert!(
        matches!(error, SdkError::DispatchFailure(_)),
        "{}",
        chain(&error)
    );
    assert!(is_unknown_issuer(&chain(&error)), "{}", chain(&error));
}
