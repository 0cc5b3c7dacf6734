//! The App endpoints: the App itself, installations, installation tokens and webhook deliveries.

use super::auth::*;
use super::*;

pub(super) async fn get_app(State(s): State<Shared>, headers: HeaderMap) -> Response {
    let world = s.world();
    if let Err(r) = app_auth(&world, &headers, s.kit.now()) {
        return r.into_response();
    }
    Json(json!({"id": world.app.id, "slug": world.app.slug, "name": world.app.slug}))
        .into_response()
}

#[derive(Deserialize, Default)]
struct TokenRequest {
    /// A subset of the installation's permissions for this token.
    #[serde(default)]
    permissions: Option<BTreeMap<String, String>>,
}

pub(super) async fn create_token(
    State(s): State<Shared>,
    Path(installation_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Refusal> {
    let now = s.kit.now();
    let mut world = s.world();
    app_auth(&world, &headers, now)?;
    let Ok(installation_id) = installation_id.parse::<u64>() else {
        return Ok(not_found());
    };
    let Some(org) = world
        .orgs
        .iter()
        .find(|o| o.installation_id == installation_id && o.installed)
    else {
        return Ok(not_found());
    };
    if org.suspended_at.is_some() {
        return Ok(error(
            StatusCode::FORBIDDEN,
            "This installation has been suspended",
        ));
    }
    let request: TokenRequest = if body.iter().all(u8::is_ascii_whitespace) {
        TokenRequest::default()
    } else {
        match serde_json::from_slice(&body) {
            Ok(r) => r,
            Err(_) => return Ok(error(StatusCode::BAD_REQUEST, "Problems parsing JSON")),
        }
    };
    let permissions = match request.permissions {
        None => org.permissions.clone(),
        Some(asked) => {
            let granted = asked
                .iter()
                .all(|(name, level)| access_rank(level) > 0 && org.grants(name, level));
            if !granted {
                return Ok(error(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "The permissions requested are not granted to this installation.",
                ));
            }
            asked
        }
    };
    // New-format tokens are longer than 40 characters; clients must treat them as opaque.
    let suffix: String = rand::rng()
        .sample_iter(&Alphanumeric)
        .take(52)
        .map(char::from)
        .collect();
    let token = format!("ghs_{suffix}");
    let expires_at = now + chrono::Duration::seconds(world.app.token_ttl_secs);
    world.tokens.insert(
        token.clone(),
        Token {
            installation_id,
            expires_at,
            permissions: permissions.clone(),
        },
    );
    world.tokens_issued += 1;
    Ok((
        StatusCode::CREATED,
        Json(json!({
            "token": token,
            "expires_at": expires_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            "permissions": permissions,
            "repository_selection": "all",
        })),
    )
        .into_response())
}

/// `GET /orgs/{org}/installation` (App JWT): the App's installation on `org`; 404 when it is not installed.
pub(super) async fn org_installation(
    State(s): State<Shared>,
    Path(org): Path<String>,
    headers: HeaderMap,
) -> Response {
    let world = s.world();
    if let Err(r) = app_auth(&world, &headers, s.kit.now()) {
        return r.into_response();
    }
    match world.org(&org).filter(|o| o.installed) {
        Some(o) => Json(o.installation_json(&world.app)).into_response(),
        None => not_found(),
    }
}

/// `GET /app/installations/{installation_id}` (App JWT).
pub(super) async fn installation_by_id(
    State(s): State<Shared>,
    Path(installation_id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let world = s.world();
    if let Err(r) = app_auth(&world, &headers, s.kit.now()) {
        return r.into_response();
    }
    let found = installation_id.parse::<u64>().ok().and_then(|id| {
        world
            .orgs
            .iter()
            .find(|o| o.installation_id == id && o.installed)
    });
    match found {
        Some(o) => Json(o.installation_json(&world.app)).into_response(),
        None => not_found(),
    }
}

/// `GET /app/installations` (App JWT), paginated.
pub(super) async fn list_installations(
    State(s): State<Shared>,
    Query(query): Query<HashMap<String, String>>,
    uri: OriginalUri,
    headers: HeaderMap,
) -> Response {
    let world = s.world();
    if let Err(r) = app_auth(&world, &headers, s.kit.now()) {
        return r.into_response();
    }
    let items = world
        .orgs
        .iter()
        .filter(|o| o.installed)
        .map(|o| o.installation_json(&world.app))
        .collect();
    paginate(items, &query, &uri, &headers)
}

pub(super) async fn list_deliveries(
    State(s): State<Shared>,
    Query(query): Query<HashMap<String, String>>,
    uri: OriginalUri,
    headers: HeaderMap,
) -> Response {
    let world = s.world();
    if let Err(r) = app_auth(&world, &headers, s.kit.now()) {
        return r.into_response();
    }
    let items: Vec<Value> = world
        .deliveries
        .iter()
        .rev()
        .map(crate::state::Delivery::json)
        .collect();
    paginate(items, &query, &uri, &headers)
}

pub(super) async fn redeliver(
    State(s): State<Shared>,
    Path(delivery_id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let original = {
        let world = s.world();
        if let Err(r) = app_auth(&world, &headers, s.kit.now()) {
            return r.into_response();
        }
        let Ok(id) = delivery_id.parse::<u64>() else {
            return not_found();
        };
        match world.deliveries.iter().find(|d| d.id == id) {
            Some(d) => d.clone(),
            None => return not_found(),
        }
    };
    // GitHub answers 202 and redelivers asynchronously; the fake redelivers before answering so that tests
    // observe the result deterministically.
    let sent = crate::webhooks::deliver(
        &s,
        &original.url,
        &original.event,
        &original.guid,
        original.body.clone(),
        None,
        true,
    )
    .await;
    if let Err(e) = sent {
        return error(StatusCode::UNPROCESSABLE_ENTITY, &e);
    }
    (StatusCode::ACCEPTED, Json(json!({}))).into_response()
}
