//! `POST /github/webhook`: the decision table of the README, with the delivery bound to its org's App
//! (issue 11): a delivery is accepted only when the secret that verified it belongs to the org the payload
//! names, matched by `organization.id` (the login only as a fallback, which alerts as a rename).

use std::collections::BTreeSet;

use cls_core::envelope::{MAX_MESSAGE_BYTES, MemberEventMsg, RepositoryRef, SenderRef};
use cls_core::settings::{WebhookOrg, WebhookSettings};
use cls_core::{AccountRef, Alert, Envelope, MemberAction, OrgRef};
use github_app::webhook::{DELIVERY_HEADER, EVENT_HEADER, TARGET_ID_HEADER};
use github_app::{MemberEvent, PingEvent, SignatureError, verify_webhook_signature};
use lambda_http::http::HeaderMap;
use serde_json::{Value, json};
use tracing::Instrument;

use crate::deps::{Deps, OutgoingMessage};
use crate::handler::{COMPONENT, Reply, header_str, webhook_settings};

/// A delivery id usable as `MessageDeduplicationId`: 1–128 characters of `[A-Za-z0-9]` and punctuation.
fn valid_delivery_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 128 && id.bytes().all(|b| b.is_ascii_graphic())
}

/// The org ids whose App secrets produce `signature` over `body`. Candidates are the orgs of the App named by
/// `X-GitHub-Hook-Installation-Target-ID` when it is configured, otherwise every org. Every candidate's
/// secrets are tried (each comparison constant time), so the time taken does not reveal which matched.
fn verified_orgs(
    settings: &WebhookSettings,
    target_app: Option<u64>,
    signature: Option<&str>,
    body: &[u8],
) -> BTreeSet<u64> {
    let targeted = target_app.filter(|app| settings.orgs.iter().any(|o| o.app_id == *app));
    settings
        .orgs
        .iter()
        .filter(|o| targeted.is_none_or(|app| o.app_id == app))
        .filter(|o| verify_webhook_signature(&o.webhook_secrets, signature, body).is_ok())
        .map(|o| o.org_id)
        .collect()
}

/// How the payload's organisation was found in the settings.
#[derive(Debug, Clone, Copy)]
enum OrgMatch<'a> {
    /// Same id and login.
    Exact(&'a WebhookOrg),
    /// Same id, another login: the org was renamed (or the configured login is wrong).
    RenamedById(&'a WebhookOrg),
    /// No org with this id, but one with this login: the configured id is wrong or the login moved to
    /// another org.
    ByLoginOnly(&'a WebhookOrg),
    /// Not configured.
    Unknown,
}

fn match_org<'a>(settings: &'a WebhookSettings, org: &OrgRef) -> OrgMatch<'a> {
    match settings.org_by_id(org.id) {
        Some(o) if o.org.eq_ignore_ascii_case(&org.login) => OrgMatch::Exact(o),
        Some(o) => OrgMatch::RenamedById(o),
        None => settings
            .org_by_login(&org.login)
            .map_or(OrgMatch::Unknown, OrgMatch::ByLoginOnly),
    }
}

/// Handles a GitHub delivery whose raw body is within the size cap.
pub(crate) async fn delivery(headers: &HeaderMap, body: &[u8], deps: &Deps) -> Reply {
    let signature = header_str(headers, github_app::signature::SIGNATURE_HEADER);
    // Rule 3: header missing or not `sha256=` + 64 hex — decided before any secret is read.
    if let Err(SignatureError::Missing | SignatureError::Malformed) =
        verify_webhook_signature(&[], signature, b"")
    {
        deps.count("WebhookRejected", &[("reason", "bad_signature_header")]);
        tracing::warn!(
            outcome = "rejected",
            reason = "bad_signature_header",
            "webhook refused"
        );
        return Reply::error(401, "bad_signature");
    }
    let settings = match webhook_settings(deps).await {
        Ok(settings) => settings,
        Err(reply) => return reply,
    };
    // Rule 4: the App named by X-GitHub-Hook-Installation-Target-ID, else every configured secret.
    let target: Option<u64> = header_str(headers, TARGET_ID_HEADER).and_then(|v| v.parse().ok());
    let verified = verified_orgs(&settings, target, signature, body);
    if verified.is_empty() {
        deps.count("WebhookRejected", &[("reason", "bad_signature")]);
        tracing::warn!(
            outcome = "rejected",
            reason = "bad_signature",
            "webhook refused"
        );
        return Reply::error(401, "bad_signature");
    }
    // Rule 5.
    let (Some(event_name), Some(delivery_id)) = (
        header_str(headers, EVENT_HEADER),
        header_str(headers, DELIVERY_HEADER),
    ) else {
        tracing::warn!(
            outcome = "rejected",
            reason = "missing_headers",
            "webhook without event or delivery header"
        );
        return Reply::error(400, "missing_event_or_delivery_header");
    };
    if !valid_delivery_id(delivery_id) {
        return Reply::error(400, "bad_delivery_header");
    }
    let span = tracing::info_span!("delivery", delivery_id = %delivery_id, event = %event_name);
    let delivery = Delivery {
        event_name,
        delivery_id,
        body,
        settings: &settings,
        verified: &verified,
    };
    deliver(&delivery, deps).instrument(span).await
}

/// A delivery whose signature matched the secrets of the orgs in `verified`.
struct Delivery<'a> {
    event_name: &'a str,
    delivery_id: &'a str,
    body: &'a [u8],
    settings: &'a WebhookSettings,
    verified: &'a BTreeSet<u64>,
}

async fn deliver(delivery: &Delivery<'_>, deps: &Deps) -> Reply {
    let Delivery {
        event_name,
        delivery_id,
        body,
        ..
    } = *delivery;
    // Rule 6.
    if event_name == "ping" {
        let ping: PingEvent = serde_json::from_slice(body).unwrap_or_default();
        tracing::info!(hook_id = ?ping.hook_id, app_id = ?ping.app_id(), outcome = "ignored", "ping");
        deps.count("WebhookReceived", &[("event", "ping")]);
        return Reply::ignored("ping");
    }
    // Rule 7.
    let Ok(value) = serde_json::from_slice::<Value>(body) else {
        deps.count("WebhookRejected", &[("reason", "malformed_json")]);
        tracing::warn!(
            outcome = "rejected",
            reason = "malformed_json",
            "body is not JSON"
        );
        return Reply::error(400, "malformed_json");
    };
    // Rule 8.
    if event_name != "member" {
        deps.count("WebhookReceived", &[("event", "other")]);
        tracing::info!(outcome = "ignored", reason = "event", "event not handled");
        return Reply::ignored("event");
    }
    let Ok(member_event) = serde_json::from_value::<MemberEvent>(value) else {
        deps.count("WebhookRejected", &[("reason", "malformed_payload")]);
        tracing::warn!(
            outcome = "rejected",
            reason = "malformed_payload",
            "member payload has the wrong shape"
        );
        return Reply::error(400, "malformed_payload");
    };
    // Rule 9.
    let Some(action) = MemberAction::parse(&member_event.action) else {
        deps.count(
            "WebhookReceived",
            &[("event", "member"), ("action", "other")],
        );
        tracing::info!(
            outcome = "ignored",
            reason = "action",
            "member action not handled"
        );
        return Reply::ignored("action");
    };
    deps.count(
        "WebhookReceived",
        &[("event", "member"), ("action", action.as_str())],
    );
    // Rule 10.
    let Some(envelope) = trim(&member_event, action, delivery_id, deps) else {
        deps.count("WebhookRejected", &[("reason", "missing_fields")]);
        tracing::info!(
            outcome = "ignored",
            reason = "missing_fields",
            "no organisation or required ids"
        );
        return Reply::ignored("missing_fields");
    };
    // Rule 11, matched by id (issue 11), and bound to the App that signed the delivery.
    let org = match match_org(delivery.settings, &envelope.org) {
        OrgMatch::Unknown => {
            deps.count("UnknownOrg", &[]);
            tracing::warn!(org = %envelope.org.login, org_id = envelope.org.id, outcome = "ignored", reason = "unknown_org", "organisation not configured");
            return Reply::ignored("unknown_org");
        }
        OrgMatch::Exact(org) => org,
        OrgMatch::RenamedById(org) => {
            report_rename(org, &envelope, "id", delivery_id, deps).await;
            org
        }
        OrgMatch::ByLoginOnly(org) => {
            report_rename(org, &envelope, "login", delivery_id, deps).await;
            org
        }
    };
    if !delivery.verified.contains(&org.org_id) {
        // Signed by another configured App: that App's secret must not speak for this org.
        deps.count("WebhookRejected", &[("reason", "wrong_app_secret")]);
        tracing::warn!(org = %org.org, org_id = org.org_id, outcome = "rejected", reason = "wrong_app_secret", "delivery signed by a secret of another org's App");
        let alert = Alert::new(
            &deps.config.cls.stage,
            COMPONENT,
            "WrongAppSecret",
            format!(
                "a member delivery for org id {} was signed with another configured App's webhook secret and refused",
                org.org_id
            ),
        )
        .subject(&org.org, &envelope.collaborator.login)
        .key(delivery_id)
        .class("Permanent");
        deps.alerts.alert(&alert).await;
        return Reply::error(401, "bad_signature");
    }
    // Rule 12.
    let message = OutgoingMessage {
        group_id: envelope.group_id(),
        dedup_id: envelope.dedup_id(),
        body: envelope.to_json(),
    };
    if message.body.len() > MAX_MESSAGE_BYTES {
        tracing::error!(
            outcome = "rejected",
            reason = "envelope_too_large",
            "trimmed envelope over 256 KiB"
        );
        let alert = Alert::new(
            &deps.config.cls.stage,
            COMPONENT,
            "EnvelopeTooLarge",
            "trimmed envelope over 256 KiB",
        )
        .subject(&envelope.org.login, &envelope.collaborator.login)
        .key(delivery_id)
        .class("Permanent");
        deps.alerts.alert(&alert).await;
        return Reply::error(413, "envelope_too_large");
    }
    // Rule 13: on a failure GitHub shows a failed delivery that can be redelivered (`cls-admin redeliver`).
    crate::handler::enqueue(
        deps,
        &message,
        crate::handler::Enqueue {
            kind: "member_event",
            subject: (&envelope.org.login, &envelope.collaborator.login),
            key: delivery_id,
            queued: "enqueued",
            consequence: "GitHub shows the delivery as failed: redeliver it",
        },
        Reply::new(202, json!({"status": "queued", "delivery": delivery_id})),
    )
    .await
}

/// Metric `OrgRenamed{matched_by}` and one IT alert: the configured login (matched by id) or id (matched by
/// login) no longer fits the payload's organisation; the settings need updating.
async fn report_rename(
    org: &WebhookOrg,
    envelope: &Envelope,
    matched_by: &str,
    delivery_id: &str,
    deps: &Deps,
) {
    deps.count("OrgRenamed", &[("matched_by", matched_by)]);
    tracing::warn!(configured_org = %org.org, configured_org_id = org.org_id, org = %envelope.org.login, org_id = envelope.org.id, matched_by = %matched_by, outcome = "org_renamed", "payload organisation differs from the configured one");
    let alert = Alert::new(
        &deps.config.cls.stage,
        COMPONENT,
        "OrgRenamed",
        format!(
            "configured org {} (id {}) matched a delivery for {} (id {}) by {matched_by}; update cls/webhook and cls/github",
            org.org, org.org_id, envelope.org.login, envelope.org.id
        ),
    )
    .subject(&envelope.org.login, &envelope.collaborator.login)
    .key(delivery_id)
    .class("Permanent");
    deps.alerts.alert(&alert).await;
}

/// The queue envelope (cls-core README, "Queue messages"), or `None` when the organisation or a required id is missing.
fn trim(
    event: &MemberEvent,
    action: MemberAction,
    delivery_id: &str,
    deps: &Deps,
) -> Option<Envelope> {
    let org = event.organization.as_ref()?;
    let member = event.member.as_ref()?;
    let repo = event.repository.as_ref()?;
    let org = OrgRef {
        id: org.id?,
        login: org.login.clone().filter(|l| !l.is_empty())?,
    };
    let collaborator = AccountRef {
        id: member.id?,
        login: member.login.clone().filter(|l| !l.is_empty())?,
    };
    let repository = RepositoryRef {
        id: repo.id?,
        full_name: repo.full_name.clone().filter(|n| !n.is_empty())?,
        private: repo.private,
    };
    let sender = event.sender.as_ref().and_then(|s| {
        Some(SenderRef {
            id: s.id?,
            login: s.login.clone()?,
            kind: s.kind.clone(),
        })
    });
    let msg = MemberEventMsg {
        delivery_id: delivery_id.to_owned(),
        event: "member".into(),
        action,
        installation_id: event.installation.as_ref().and_then(|i| i.id),
        repository,
        sender,
        permission: event.permission().map(str::to_owned),
        role_name: event.role_name().map(str::to_owned),
        previous_permission: event.previous_permission().map(str::to_owned),
        member_email: member.email.clone().filter(|e| !e.is_empty()),
    };
    Some(Envelope::member_event(
        deps.clock.now(),
        org,
        collaborator,
        msg,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::SecretString;

    #[test]
    fn delivery_ids_must_fit_a_deduplication_id() {
        assert!(valid_delivery_id("72d3162e-cc78-11e3-81ab-4c9367dc0958"));
        assert!(!valid_delivery_id(""));
        assert!(!valid_delivery_id("a b"));
        assert!(!valid_delivery_id(&"x".repeat(129)));
    }

    fn settings() -> WebhookSettings {
        let org = |name: &str, id: u64, app: u64, secret: &str| WebhookOrg {
            org: name.into(),
            org_id: id,
            app_id: app,
            webhook_secrets: vec![SecretString::from(secret.to_owned())],
        };
        WebhookSettings {
            orgs: vec![
                org("acme", 1, 10, "acme-app"),
                org("beta", 2, 20, "beta-app"),
                org("gamma", 3, 10, "acme-app"),
            ],
            slack_signing_secrets: vec![],
        }
    }

    #[test]
    fn a_signature_verifies_only_the_orgs_of_the_app_whose_secret_made_it() {
        let s = settings();
        let sign = |secret: &str| {
            github_app::sign_webhook_body(&SecretString::from(secret.to_owned()), b"{}")
        };
        let acme = sign("acme-app");
        assert_eq!(
            verified_orgs(&s, None, Some(&acme), b"{}"),
            BTreeSet::from([1, 3])
        );
        assert_eq!(
            verified_orgs(&s, None, Some(&sign("beta-app")), b"{}"),
            BTreeSet::from([2])
        );
        assert!(verified_orgs(&s, Some(20), Some(&acme), b"{}").is_empty());
        assert_eq!(
            verified_orgs(&s, Some(999), Some(&acme), b"{}"),
            BTreeSet::from([1, 3]),
            "an unknown target App falls back to every secret"
        );
        assert!(verified_orgs(&s, None, Some(&sign("other")), b"{}").is_empty());
    }

    #[test]
    fn orgs_match_by_id_first_and_by_login_as_a_fallback() {
        let s = settings();
        let org = |id: u64, login: &str| OrgRef {
            id,
            login: login.into(),
        };
        assert!(matches!(match_org(&s, &org(1, "ACME")), OrgMatch::Exact(o) if o.org_id == 1));
        assert!(
            matches!(match_org(&s, &org(1, "acme-renamed")), OrgMatch::RenamedById(o) if o.org == "acme")
        );
        assert!(
            matches!(match_org(&s, &org(77, "beta")), OrgMatch::ByLoginOnly(o) if o.org_id == 2)
        );
        assert!(matches!(
            match_org(&s, &org(77, "nobody")),
            OrgMatch::Unknown
        ));
    }
}
