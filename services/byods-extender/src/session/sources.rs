//! The data sources of a session: which to handle, reading them, and extending one.

use std::future::Future;

use chrono::{DateTime, Utc};
use secrecy::{ExposeSecret, SecretString};
use secrets::fingerprint;
use serde::Serialize;
use tracing::{error, info, warn};

use super::{Session, generic_class, webex_failure, when};
use crate::config::NonceFormat;
use crate::error::{Failure, FailureClass};
use crate::webex::{DataSource, JwsClaims, UpdateDataSource, WebexError};

/// What happened to one data source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// A new token was issued and its expiry moved later.
    Extended,
    /// Outside the extension window.
    SkippedNotDue,
    /// Not active; never PUT.
    SkippedDisabled,
    /// Due, but this is a dry run.
    WouldExtend,
    /// Failed; see `errorClass`.
    Failed,
}

impl Outcome {
    /// The log/summary spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Extended => "extended",
            Self::SkippedNotDue => "skipped_not_due",
            Self::SkippedDisabled => "skipped_disabled",
            Self::WouldExtend => "would_extend",
            Self::Failed => "failed",
        }
    }
}

/// The result for one data source (an entry of the sweep summary).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DataSourceResult {
    /// Data source id.
    pub id: String,
    /// Outcome.
    pub outcome: Outcome,
    /// Expiry before this run, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<DateTime<Utc>>,
    /// Expiry after the update, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub new_expires_at: Option<DateTime<Utc>>,
    /// Fingerprint of the nonce sent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nonce_fp: Option<String>,
    /// Failure class, when failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_class: Option<String>,
    /// The Webex tracking id of the PUT when extended, of the failing response when failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tracking_id: Option<String>,
    /// A warning such as `expiry_unverified`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub warning: Option<String>,
    /// The PUT body with the nonce masked (dry runs only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub planned_body: Option<serde_json::Value>,
}

impl DataSourceResult {
    fn new(id: &str, outcome: Outcome) -> Self {
        Self {
            id: id.to_owned(),
            outcome,
            expires_at: None,
            new_expires_at: None,
            nonce_fp: None,
            error_class: None,
            tracking_id: None,
            warning: None,
            planned_body: None,
        }
    }

    pub(crate) fn failed(id: &str) -> Self {
        Self::new(id, Outcome::Failed)
    }

    /// The expiry that now applies (new if extended, else old).
    pub fn current_expiry(&self) -> Option<DateTime<Utc>> {
        self.new_expires_at.or(self.expires_at)
    }
}

/// How to treat one data source.
#[derive(Debug, Clone, Copy)]
pub struct ProcessOptions {
    /// Extend only inside the extension window (the caller resolves `BYODS_EXTEND_MODE`, `force` and
    /// the CLI's `--mode`/`--if-due` into this one flag).
    pub only_when_due: bool,
    /// No PUT.
    pub dry_run: bool,
    /// Lifetime to request (`None`: configured value, else the source's, else 1440).
    pub lifetime_minutes: Option<u32>,
}

fn new_nonce(format: NonceFormat, current: Option<&str>) -> String {
    loop {
        let nonce = match format {
            NonceFormat::Uuid => uuid::Uuid::new_v4().to_string(),
            NonceFormat::Hex32 => uuid::Uuid::new_v4().simple().to_string(),
        };
        if current != Some(nonce.as_str()) {
            return nonce;
        }
    }
}

/// Builds the PUT body from the GET and, where fields are missing, the token's claims (never invented).
pub fn build_update(
    ds: &DataSource,
    claims: Option<&JwsClaims>,
    lifetime_minutes: Option<u32>,
    nonce: String,
) -> Result<UpdateDataSource, Vec<&'static str>> {
    let pick = |top: &Option<String>, claim: Option<&Option<String>>| {
        top.clone()
            .filter(|s| !s.is_empty())
            .or_else(|| claim.and_then(|c| c.clone()).filter(|s| !s.is_empty()))
    };
    let audience = pick(&ds.audience, claims.map(|c| &c.aud));
    let subject = pick(&ds.subject, claims.map(|c| &c.sub));
    let url = pick(&ds.url, claims.map(|c| &c.url));
    let schema_id = pick(&ds.schema_id, claims.map(|c| &c.schema_uuid));
    let mut missing = Vec::new();
    for (name, v) in [
        ("audience", &audience),
        ("subject", &subject),
        ("url", &url),
        ("schemaId", &schema_id),
    ] {
        if v.is_none() {
            missing.push(name);
        }
    }
    if !missing.is_empty() {
        return Err(missing);
    }
    let current = ds
        .token_lifetime_minutes
        .filter(|m| (1.0..=1440.0).contains(m))
        .map(|m| m.round() as u32);
    Ok(UpdateDataSource {
        schema_id: schema_id.unwrap_or_default(),
        url: url.unwrap_or_default(),
        audience: audience.unwrap_or_default(),
        subject: subject.unwrap_or_default(),
        nonce,
        token_lifetime_minutes: lifetime_minutes.or(current).unwrap_or(1440),
        status: "active".to_owned(),
    })
}

/// The expiry of a data source's token: `tokenExpiryTime`, else the JWS `exp`.
pub fn data_source_expiry(ds: &DataSource) -> Option<DateTime<Utc>> {
    ds.token_expiry().or_else(|| {
        ds.jws_token
            .as_ref()
            .and_then(|t| JwsClaims::decode(t.expose_secret()))
            .and_then(|c| c.expiry())
    })
}

/// A failed read or update of one data source: 404 is `DataSourceNotFound` here (and only here), another
/// 4xx `WebexRejected`.
fn data_source_failure(what: &str, e: &WebexError) -> Failure {
    let class = match e {
        WebexError::Api { status: 404, .. } => FailureClass::DataSourceNotFound,
        WebexError::Api { .. } => FailureClass::WebexRejected,
        other => generic_class(other),
    };
    webex_failure(class, what, e)
}

impl Session<'_> {
    /// Step 5: the data sources to handle: the given ids, else the configured ones, else all listed.
    pub async fn data_source_ids(
        &self,
        requested: Option<&[String]>,
    ) -> Result<Vec<String>, Failure> {
        if let Some(ids) = requested.filter(|i| !i.is_empty()) {
            return Ok(ids.to_vec());
        }
        if !self.deps.config.data_source_ids.is_empty() {
            return Ok(self.deps.config.data_source_ids.clone());
        }
        let list = self.list_data_sources().await?;
        let listed = list.len();
        let ids: Vec<String> = list
            .into_iter()
            .filter_map(|d| d.id.filter(|i| !i.is_empty()))
            .collect();
        if ids.len() < listed {
            // A source Webex lists without an id cannot be extended: that is a failure, not "nothing to do".
            let failure = Failure::new(
                FailureClass::DataSourceInvalid,
                format!(
                    "the listing holds {} data source(s) without an id",
                    listed - ids.len()
                ),
            );
            error!(
                event = "data_source_without_id",
                error_class = "DataSourceInvalid",
                count = listed - ids.len(),
                "listed data sources without an id cannot be extended"
            );
            self.record_failure(failure);
        }
        Ok(ids)
    }

    /// Calls Webex with the service-app token; on 401 renews the token once and calls again.
    async fn with_service_token<T, F, Fut>(&self, call: F) -> Result<Result<T, WebexError>, Failure>
    where
        F: Fn(SecretString) -> Fut,
        Fut: Future<Output = Result<T, WebexError>>,
    {
        let token = self.service_token().await?;
        match call(token.clone()).await {
            Err(e) if e.is_status(401) => {
                let token = self.renew_service_token(&token).await?;
                Ok(call(token).await)
            }
            other => Ok(other),
        }
    }

    /// `GET /dataSources` with the service-app token (one renewal on 401). Every listed item, with or
    /// without an id.
    pub async fn list_data_sources(&self) -> Result<Vec<DataSource>, Failure> {
        let webex = &self.deps.webex;
        self.with_service_token(
            |token| async move { webex.list_data_sources(&self.ctx, &token).await },
        )
        .await?
        .map_err(|e| webex_failure(generic_class(&e), "listing data sources failed", &e))
    }

    /// `GET /dataSources/{id}` with the service-app token (one renewal on 401).
    pub async fn get_data_source(&self, id: &str) -> Result<DataSource, Failure> {
        let webex = &self.deps.webex;
        self.with_service_token(|token| async move {
            webex.get_data_source(&self.ctx, &token, id).await
        })
        .await?
        .map_err(|e| data_source_failure("reading the data source failed", &e).for_data_source(id))
    }

    /// The expiry a data source shows when read again, for a PUT answer without `tokenExpiryTime` and
    /// `jwsToken` (the shape of the OpenAPI's example): its `tokenExpiryTime`, else the new token's `exp`.
    /// `None` when the read fails too: the update stands, unverified.
    async fn expiry_after_update(&self, id: &str) -> Option<DateTime<Utc>> {
        match self.get_data_source(id).await {
            Ok(read) => data_source_expiry(&read),
            Err(failure) => {
                warn!(
                    event = "data_source_reread_failed",
                    data_source_id = id,
                    error_class = failure.class.as_str(),
                    http_status = failure.http_status.unwrap_or(0),
                    "the data source could not be read again after its update"
                );
                None
            }
        }
    }

    /// Step 6 for one data source. Failures are recorded and returned as a `failed` result; they never stop
    /// the other sources.
    pub async fn process(&self, id: &str, opts: ProcessOptions) -> DataSourceResult {
        let started = std::time::Instant::now();
        let result = match self.try_process(id, opts).await {
            Ok(r) => r,
            Err((failure, expires_at)) => {
                let failure = if failure.data_source_id.is_some() {
                    failure
                } else {
                    failure.for_data_source(id)
                };
                error!(
                    event = "data_source_failed",
                    data_source_id = id,
                    outcome = "failed",
                    error_class = failure.class.as_str(),
                    http_status = failure.http_status.unwrap_or(0),
                    webex_tracking_id = failure.tracking_id.as_deref().unwrap_or(""),
                    error = %failure.message,
                    "data source failed"
                );
                let mut r = DataSourceResult::new(id, Outcome::Failed);
                r.expires_at = expires_at;
                r.error_class = Some(failure.class.as_str().to_owned());
                r.tracking_id = failure.tracking_id.clone();
                self.record_failure(failure);
                return r;
            }
        };
        let now = self.now();
        let minutes_left = result.current_expiry().map(|e| (e - now).num_minutes());
        let duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        match result.outcome {
            Outcome::Extended => info!(
                event = "data_source_extended",
                data_source_id = id,
                outcome = "extended",
                expires_at = %when(result.expires_at),
                new_expires_at = %when(result.new_expires_at),
                minutes_left,
                nonce_fp = result.nonce_fp.as_deref().unwrap_or(""),
                webex_tracking_id = result.tracking_id.as_deref().unwrap_or(""),
                warning = result.warning.as_deref().unwrap_or(""),
                duration_ms,
                "data source extended"
            ),
            outcome => info!(
                event = "data_source_skipped",
                data_source_id = id,
                outcome = outcome.as_str(),
                expires_at = %when(result.expires_at),
                minutes_left,
                duration_ms,
                "data source not extended"
            ),
        }
        result
    }

    async fn try_process(
        &self,
        id: &str,
        opts: ProcessOptions,
    ) -> Result<DataSourceResult, (Failure, Option<DateTime<Utc>>)> {
        let ds = self.get_data_source(id).await.map_err(|f| (f, None))?;
        let now = self.now();
        let claims = ds
            .jws_token
            .as_ref()
            .and_then(|t| JwsClaims::decode(t.expose_secret()));
        let expires_at = data_source_expiry(&ds);
        if !ds.is_active() {
            let mut r = DataSourceResult::new(id, Outcome::SkippedDisabled);
            r.expires_at = expires_at;
            return Ok(r);
        }
        let window = self.deps.config.extend_window;
        if opts.only_when_due && expires_at.is_some_and(|e| e - now > window) {
            let mut r = DataSourceResult::new(id, Outcome::SkippedNotDue);
            r.expires_at = expires_at;
            return Ok(r);
        }
        let nonce = new_nonce(self.deps.config.nonce_format, ds.nonce.as_deref());
        let lifetime = opts
            .lifetime_minutes
            .or(self.deps.config.token_lifetime_minutes);
        let body = build_update(&ds, claims.as_ref(), lifetime, nonce).map_err(|missing| {
            (
                Failure::new(
                    FailureClass::DataSourceInvalid,
                    format!("cannot build the update: missing {}", missing.join(", ")),
                ),
                expires_at,
            )
        })?;
        let nonce_fp = fingerprint(&body.nonce);
        if opts.dry_run {
            let mut r = DataSourceResult::new(id, Outcome::WouldExtend);
            r.expires_at = expires_at;
            r.nonce_fp = Some(nonce_fp);
            r.planned_body = Some(body.masked_json());
            return Ok(r);
        }
        let webex = &self.deps.webex;
        let body = &body;
        let updated = self
            .with_service_token(|token| async move {
                webex.update_data_source(&self.ctx, &token, id, body).await
            })
            .await
            .map_err(|f| (f, expires_at))?
            .map_err(|e| {
                (
                    data_source_failure("updating the data source failed", &e),
                    expires_at,
                )
            })?;
        let tracking_id = updated.tracking_id;
        let new_expires_at = match data_source_expiry(&updated.data_source) {
            Some(new) => Some(new),
            None => self.expiry_after_update(id).await,
        };
        let mut r = DataSourceResult::new(id, Outcome::Extended);
        r.expires_at = expires_at;
        r.new_expires_at = new_expires_at;
        r.nonce_fp = Some(nonce_fp);
        r.tracking_id = Some(tracking_id);
        match (expires_at, new_expires_at) {
            (Some(old), Some(new)) if new <= old => {
                return Err((
                    Failure::new(
                        FailureClass::ExtensionNotEffective,
                        format!("the update did not move the expiry (still {new})"),
                    ),
                    expires_at,
                ));
            }
            (_, None) => r.warning = Some("expiry_unverified".to_owned()),
            _ => {}
        }
        Ok(r)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ds() -> DataSource {
        DataSource {
            id: Some("ds-1".into()),
            status: Some("active".into()),
            schema_id: Some("schema".into()),
            url: Some("https://dap.example.com/ds1".into()),
            audience: Some("aud".into()),
            subject: Some("sub".into()),
            nonce: Some("old".into()),
            token_lifetime_minutes: Some(60.0),
            ..DataSource::default()
        }
    }

    #[test]
    fn the_update_keeps_the_fields_and_uses_the_configured_lifetime() {
        let body = build_update(&ds(), None, Some(1440), "n".into()).unwrap();
        assert_eq!(body.audience, "aud");
        assert_eq!(body.token_lifetime_minutes, 1440);
        assert_eq!(body.status, "active");
        let body = build_update(&ds(), None, None, "n".into()).unwrap();
        assert_eq!(body.token_lifetime_minutes, 60);
    }

    #[test]
    fn missing_fields_fall_back_to_claims_and_are_never_invented() {
        let mut d = ds();
        d.audience = None;
        d.subject = None;
        let claims = JwsClaims {
            aud: Some("claim-aud".into()),
            sub: Some("claim-sub".into()),
            ..JwsClaims::default()
        };
        let body = build_update(&d, Some(&claims), None, "n".into()).unwrap();
        assert_eq!(body.audience, "claim-aud");
        assert_eq!(body.subject, "claim-sub");
        assert_eq!(
            build_update(&d, None, None, "n".into()).unwrap_err(),
            vec!["audience", "subject"]
        );
    }

    #[test]
    fn a_fresh_nonce_differs_from_the_current_one() {
        let n = new_nonce(NonceFormat::Uuid, Some("x"));
        assert_eq!(n.len(), 36);
        let h = new_nonce(NonceFormat::Hex32, None);
        assert_eq!(h.len(), 32);
        assert!(h.chars().all(|c| c.is_ascii_hexdigit()));
    }
}
