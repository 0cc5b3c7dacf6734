//! The AWS SDK's HTTP client over `reqwest` (ADR 0019): the SDK sends its requests through the same HTTP stack as
//! every other outbound client (reqwest, hyper, rustls), instead of a second hyper client of its own with HTTP/2
//! and its own TLS glue. Only the trust differs: SDK requests trust the Amazon Trust Services roots of
//! [`crate::tls::aws_client_config`] (ADR 0018).
//!
//! The SDK asks its HTTP client for a connector per distinct timeout setting (connect and read timeout, from
//! the SDK configuration's `TimeoutConfig`); each is a `reqwest::Client` with exactly those timeouts, built once
//! and reused. The SDK's operation and attempt timeouts stay with the SDK's orchestrator, which wraps every
//! call. Redirects are not followed (an AWS endpoint's redirect is an answer for the SDK to read).

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient,
    SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::body::SdkBody;

/// The SDK's HTTP client of every deployed function: reqwest with the Amazon Trust Services roots.
pub fn aws_http_client() -> SharedHttpClient {
    aws_http_client_with(crate::tls::aws_client_config())
}

/// An SDK HTTP client over reqwest with the given rustls configuration (the tests give it a test root).
pub fn aws_http_client_with(tls: rustls::ClientConfig) -> SharedHttpClient {
    SharedHttpClient::new(ReqwestHttpClient {
        tls,
        connectors: Mutex::default(),
    })
}

/// `loader` with [`aws_http_client`] as the HTTP client of every SDK client and credentials provider it builds.
pub fn with_aws_http_client(loader: aws_config::ConfigLoader) -> aws_config::ConfigLoader {
    loader.http_client(aws_http_client())
}

/// The timeouts a connector is built for: connect, read.
type Timeouts = (Option<Duration>, Option<Duration>);

struct ReqwestHttpClient {
    tls: rustls::ClientConfig,
    connectors: Mutex<HashMap<Timeouts, SharedHttpConnector>>,
}

impl fmt::Debug for ReqwestHttpClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReqwestHttpClient").finish_non_exhaustive()
    }
}

impl HttpClient for ReqwestHttpClient {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        _components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        let timeouts = (settings.connect_timeout(), settings.read_timeout());
        let mut connectors = self
            .connectors
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        connectors
            .entry(timeouts)
            .or_insert_with(|| SharedHttpConnector::new(ReqwestConnector::new(&self.tls, timeouts)))
            .clone()
    }
}

/// One reqwest client with one pair of timeouts. A client that could not be built answers every call with
/// the reason (building only fails on an unusable TLS configuration, a programming error).
struct ReqwestConnector {
    client: Result<reqwest::Client, Arc<str>>,
}

impl fmt::Debug for ReqwestConnector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReqwestConnector").finish_non_exhaustive()
    }
}

impl ReqwestConnector {
    fn new(tls: &rustls::ClientConfig, (connect, read): Timeouts) -> Self {
        let mut builder = crate::http::client_builder()
            .redirect(reqwest::redirect::Policy::none())
            .tls_backend_preconfigured(tls.clone());
        if let Some(timeout) = connect {
            builder = builder.connect_timeout(timeout);
        }
        if let Some(timeout) = read {
            builder = builder.read_timeout(timeout);
        }
        Self {
            client: builder
                .build()
                .map_err(|error| Arc::from(crate::error::chain(&error))),
        }
    }
}

impl HttpConnector for ReqwestConnector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let client = self.client.clone();
        HttpConnectorFuture::new(async move {
            let client =
                client.map_err(|reason| ConnectorError::other(reason.to_string().into(), None))?;
            let request = request
                .try_into_http1x()
                .map_err(|error| ConnectorError::user(error.into()))?
                .map(request_body);
            let request = reqwest::Request::try_from(request)
                .map_err(|error| ConnectorError::user(error.into()))?;
            let response = client.execute(request).await.map_err(connector_error)?;
            let response =
                http::Response::<reqwest::Body>::from(response).map(SdkBody::from_body_1_x);
            HttpResponse::try_from(response)
                .map_err(|error| ConnectorError::other(error.into(), None))
        })
    }
}

/// An SDK body as a reqwest body: bytes in memory stay a sized, reusable body; a stream is streamed.
fn request_body(body: SdkBody) -> reqwest::Body {
    match body.bytes() {
        Some(bytes) => reqwest::Body::from(bytes.to_vec()),
        None => reqwest::Body::wrap(body),
    }
}

/// A reqwest failure in the SDK's terms, which its retry strategy reads: a timeout, an I/O failure (connect,
/// send, or the body cut off: transient), or anything else.
fn connector_error(error: reqwest::Error) -> ConnectorError {
    if error.is_timeout() {
        ConnectorError::timeout(error.into())
    } else if error.is_connect() || error.is_request() || error.is_body() {
        ConnectorError::io(error.into())
    } else {
        ConnectorError::other(error.into(), None)
    }
}
