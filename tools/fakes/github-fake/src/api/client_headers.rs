//! The request headers GitHub requires of every REST call (README, "Request headers"): a `User-Agent` (403
//! without one, as GitHub's edge answers) and a supported `X-GitHub-Api-Version` (400 otherwise).

use axum::extract::Request;
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::error;

/// The REST API versions GitHub's "API Versions" page lists as supported.
const SUPPORTED_API_VERSIONS: &[&str] = &["2022-11-28"];

/// The text GitHub's documentation shows for a request without a `User-Agent`.
const NO_USER_AGENT: &str = "Request forbidden by administrative rules. Please make sure your request has a User-Agent header.";

/// Refuses a call without a `User-Agent` (403, an HTML answer as GitHub's edge gives) or without a supported
/// `X-GitHub-Api-Version` (400, a GitHub error body), before authentication.
pub(super) async fn require_client_headers(req: Request, next: Next) -> Response {
    if text(req.headers(), header::USER_AGENT.as_str()).is_none() {
        return (
            StatusCode::FORBIDDEN,
            [(header::CONTENT_TYPE, "text/html")],
            NO_USER_AGENT,
        )
            .into_response();
    }
    match text(req.headers(), "x-github-api-version") {
        Some(v) if SUPPORTED_API_VERSIONS.contains(&v) => next.run(req).await,
        Some(v) => error(
            StatusCode::BAD_REQUEST,
            &format!("Unsupported 'X-GitHub-Api-Version': '{v}'"),
        ),
        None => error(
            StatusCode::BAD_REQUEST,
            "X-GitHub-Api-Version is required by this fake (GitHub would use 2022-11-28)",
        ),
    }
}

/// A header's value, trimmed, when present and not blank.
fn text<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
}
