//! The request core: headers and auth on every call, bounded retries and rate-limit waits, `Link`
//! pagination that never leaves the configured API, and the mapping of unexpected statuses to errors.

use lambda_kit::http::{rate_limit_jitter, retry_after};
use reqwest::header::{ACCEPT, AUTHORIZATION, HeaderMap, HeaderValue, LINK, USER_AGENT};
use reqwest::{Method, Response, StatusCode};
use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;
use tracing::{debug, warn};
use url::Url;

use super::{ACCEPT_GITHUB_JSON, API_VERSION, GithubClient, OrgEntry};
use crate::error::GithubError;

/// The credential a request carries.
#[derive(Debug, Clone, Copy)]
pub(super) enum Auth {
    /// An installation token for this organisation's installation.
    Installation(OrgEntry),
    /// An App JWT.
    Jwt(u64),
}

/// Whether 5xx, timeouts and transport errors may be retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Retry {
    Safe,
    Never,
}

impl GithubClient {
    /// A GET whose 404 means "absent" (`Ok(None)`), not an error.
    pub(super) async fn get_optional<T: DeserializeOwned>(
        &self,
        op: &'static str,
        auth: Auth,
        url: Url,
    ) -> Result<Option<T>, GithubError> {
        let resp = self
            .execute(op, Method::GET, url, auth, Retry::Safe)
            .await?;
        match resp.status() {
            StatusCode::OK => decode(op, resp).await.map(Some),
            StatusCode::NOT_FOUND => Ok(None),
            _ => Err(status_error(op, resp).await),
        }
    }
    /// Sends one logical request with auth: an installation token (a 401 drops it and the call is repeated
    /// once with a fresh token) or an App JWT. Returns the response for every status the caller must
    /// interpret; errors for exhausted retries and for 401.
    pub(super) async fn execute(
        &self,
        op: &'static str,
        method: Method,
        url: Url,
        auth: Auth,
        retry: Retry,
    ) -> Result<Response, GithubError> {
        match auth {
            Auth::Jwt(app_id) => {
                let jwt = self.jwt(app_id)?;
                let resp = self
                    .send_with_retries(op, &method, &url, &jwt, retry)
                    .await?;
                if resp.status() == StatusCode::UNAUTHORIZED {
                    return Err(GithubError::Unauthorized { operation: op });
                }
                Ok(resp)
            }
            Auth::Installation(entry) => {
                let mut refreshed = false;
                loop {
                    let token = self.token_for(entry).await?;
                    let resp = self
                        .send_with_retries(op, &method, &url, &token, retry)
                        .await?;
                    if resp.status() == StatusCode::FORBIDDEN {
                        // A token carries the permissions of its mint: after the App gains a permission (or
                        // the installation is unsuspended) the next attempt must use a fresh token.
                        self.drop_token(entry.installation_id, &token).await;
                    }
                    if resp.status() != StatusCode::UNAUTHORIZED {
                        return Ok(resp);
                    }
                    self.drop_token(entry.installation_id, &token).await;
                    if refreshed {
                        return Err(GithubError::Unauthorized { operation: op });
                    }
                    refreshed = true;
                    debug!(
                        operation = op,
                        "installation token refused; refreshing once"
                    );
                }
            }
        }
    }

    /// One request with headers and a fixed credential, with bounded retries of timeouts, transport
    /// errors and 5xx (when `retry` allows) and bounded rate-limit waits.
    pub(super) async fn send_with_retries(
        &self,
        op: &'static str,
        method: &Method,
        url: &Url,
        credential: &SecretString,
        retry: Retry,
    ) -> Result<Response, GithubError> {
        let policy = self.inner.retry;
        let mut attempt: u32 = 0;
        loop {
            attempt += 1;
            let mut bearer =
                HeaderValue::from_str(&format!("Bearer {}", credential.expose_secret()))
                    .map_err(|_| GithubError::Unauthorized { operation: op })?;
            bearer.set_sensitive(true);
            let result = self
                .inner
                .http
                .request(method.clone(), url.clone())
                .header(ACCEPT, ACCEPT_GITHUB_JSON)
                .header("x-github-api-version", API_VERSION)
                .header(USER_AGENT, self.inner.user_agent.clone())
                .header(AUTHORIZATION, bearer)
                .send()
                .await;
            let resp = match result {
                Ok(resp) => resp,
                Err(e) => {
                    let timeout = e.is_timeout();
                    warn!(
                        operation = op,
                        attempt,
                        timeout,
                        upstream = "github",
                        "GitHub request failed"
                    );
                    if retry == Retry::Safe && policy.may_retry(attempt) {
                        tokio::time::sleep(policy.backoff(attempt)).await;
                        continue;
                    }
                    return Err(if timeout {
                        GithubError::Timeout { operation: op }
                    } else {
                        GithubError::Transport {
                            operation: op,
                            source: e.without_url(),
                        }
                    });
                }
            };
            let status = resp.status();
            debug!(
                operation = op,
                http_status = status.as_u16(),
                attempt,
                upstream = "github",
                "GitHub answered"
            );

            if is_rate_limited(status, resp.headers()) {
                let wait = retry_after(resp.headers(), self.inner.clock.now());
                let bounded = wait.unwrap_or_else(|| policy.backoff(attempt));
                warn!(
                    operation = op,
                    http_status = status.as_u16(),
                    attempt,
                    wait_ms = u64::try_from(bounded.as_millis()).unwrap_or(u64::MAX),
                    upstream = "github",
                    "GitHub rate limit"
                );
                // A rate-limited request was not processed, so even a POST may be repeated.
                if policy.may_retry(attempt) && bounded <= policy.max_rate_limit_wait {
                    tokio::time::sleep(bounded + rate_limit_jitter()).await;
                    continue;
                }
                return Err(GithubError::RateLimited {
                    operation: op,
                    retry_after: wait,
                });
            }

            if status.is_server_error() && retry == Retry::Safe && policy.may_retry(attempt) {
                tokio::time::sleep(policy.backoff(attempt)).await;
                continue;
            }
            return Ok(resp);
        }
    }

    pub(super) async fn get_all<T: DeserializeOwned>(
        &self,
        op: &'static str,
        org: &str,
        first: Url,
        max_pages: u32,
    ) -> Result<Vec<T>, GithubError> {
        let entry = self.org(org)?;
        self.paginate(op, first, Auth::Installation(entry), max_pages)
            .await
    }

    pub(super) async fn paginate<T: DeserializeOwned>(
        &self,
        op: &'static str,
        first: Url,
        auth: Auth,
        max_pages: u32,
    ) -> Result<Vec<T>, GithubError> {
        let mut items = Vec::new();
        let mut next = Some(first);
        let mut pages = 0;
        while let Some(url) = next.take() {
            if pages >= max_pages {
                break;
            }
            pages += 1;
            let resp = self
                .execute(op, Method::GET, url, auth, Retry::Safe)
                .await?;
            if resp.status() != StatusCode::OK {
                return Err(status_error(op, resp).await);
            }
            next = match next_link(resp.headers()) {
                Some(link) => Some(self.checked_link(op, &link)?),
                None => None,
            };
            let page: Vec<T> = decode(op, resp).await?;
            items.extend(page);
        }
        Ok(items)
    }

    /// A `Link` target must stay on the configured API (same scheme, host, port and path prefix), so that a
    /// token is never sent elsewhere.
    fn checked_link(&self, op: &'static str, link: &str) -> Result<Url, GithubError> {
        let url = Url::parse(link).map_err(|_| GithubError::Pagination {
            operation: op,
            reason: "not a URL",
        })?;
        let base = &self.inner.base;
        let same_origin = url.scheme() == base.scheme()
            && url.host_str() == base.host_str()
            && url.port_or_known_default() == base.port_or_known_default()
            && url.path().starts_with(base.path().trim_end_matches('/'));
        if same_origin {
            Ok(url)
        } else {
            Err(GithubError::Pagination {
                operation: op,
                reason: "link leaves the configured API",
            })
        }
    }
}

/// A 429, or a 403 with `x-ratelimit-remaining: 0` or a `retry-after` header.
fn is_rate_limited(status: StatusCode, headers: &HeaderMap) -> bool {
    if status == StatusCode::TOO_MANY_REQUESTS {
        return true;
    }
    if status != StatusCode::FORBIDDEN {
        return false;
    }
    let remaining_zero = headers
        .get("x-ratelimit-remaining")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim() == "0");
    remaining_zero || headers.contains_key("retry-after")
}

/// The `rel="next"` target of the `Link` header(s), if any.
fn next_link(headers: &HeaderMap) -> Option<String> {
    for value in headers.get_all(LINK) {
        let Ok(value) = value.to_str() else { continue };
        for part in value.split(',') {
            let mut pieces = part.split(';');
            let target = pieces.next()?.trim();
            let is_next = pieces.any(|p| {
                let p = p.trim().replace(' ', "");
                p == "rel=\"next\"" || p == "rel=next"
            });
            if is_next {
                return target
                    .strip_prefix('<')
                    .and_then(|t| t.strip_suffix('>'))
                    .map(str::to_owned);
            }
        }
    }
    None
}

pub(super) async fn decode<T: DeserializeOwned>(
    op: &'static str,
    resp: Response,
) -> Result<T, GithubError> {
    let bytes = resp.bytes().await.map_err(|e| GithubError::Transport {
        operation: op,
        source: e.without_url(),
    })?;
    serde_json::from_slice(&bytes).map_err(|source| GithubError::Decode {
        operation: op,
        source,
    })
}

/// Maps a status the caller did not expect to an error, keeping GitHub's short `message`.
pub(super) async fn status_error(op: &'static str, resp: Response) -> GithubError {
    let status = resp.status();
    let message = resp.json::<serde_json::Value>().await.ok().and_then(|v| {
        v.get("message")
            .and_then(|m| m.as_str())
            .map(|m| m.chars().take(200).collect())
    });
    match status {
        StatusCode::UNAUTHORIZED => GithubError::Unauthorized { operation: op },
        StatusCode::FORBIDDEN => GithubError::Forbidden {
            operation: op,
            message,
        },
        StatusCode::NOT_FOUND => GithubError::NotFound { operation: op },
        _ => GithubError::Api {
            operation: op,
            status: status.as_u16(),
            message,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn finds_the_next_link_among_several_relations() {
        let h = headers(&[(
            "link",
            r#"<https://api.github.com/x?page=3>; rel="next", <https://api.github.com/x?page=9>; rel="last""#,
        )]);
        assert_eq!(
            next_link(&h).as_deref(),
            Some("https://api.github.com/x?page=3")
        );
        let h = headers(&[("link", r#"<https://api.github.com/x?page=1>; rel="prev""#)]);
        assert_eq!(next_link(&h), None);
        assert_eq!(next_link(&HeaderMap::new()), None);
    }

    #[test]
    fn only_403_and_429_with_limit_signs_are_rate_limits() {
        let zero = headers(&[("x-ratelimit-remaining", "0")]);
        let some = headers(&[("x-ratelimit-remaining", "12")]);
        let after = headers(&[("retry-after", "5")]);
        assert!(is_rate_limited(StatusCode::FORBIDDEN, &zero));
        assert!(is_rate_limited(StatusCode::TOO_MANY_REQUESTS, &after));
        assert!(is_rate_limited(StatusCode::FORBIDDEN, &after));
        assert!(!is_rate_limited(StatusCode::FORBIDDEN, &some));
        assert!(is_rate_limited(
            StatusCode::TOO_MANY_REQUESTS,
            &HeaderMap::new()
        ));
        assert!(!is_rate_limited(StatusCode::FORBIDDEN, &HeaderMap::new()));
        assert!(!is_rate_limited(StatusCode::INTERNAL_SERVER_ERROR, &zero));
    }
}
