//! Who is calling: installation tokens with their permissions, and App JWTs.

use super::*;

/// The permission a call needs: name, level, and the documentation page GitHub links in its 403.
#[derive(Clone, Copy)]
pub(super) struct Needs {
    permission: &'static str,
    level: &'static str,
    docs: &'static str,
}

pub(super) const MEMBERS_READ: Needs = Needs {
    permission: "members",
    level: "read",
    docs: "https://docs.github.com/rest/orgs/members#check-organization-membership-for-a-user",
};
pub(super) const MEMBERS_READ_LIST: Needs = Needs {
    permission: "members",
    level: "read",
    docs: "https://docs.github.com/rest/orgs/outside-collaborators#list-outside-collaborators-for-an-organization",
};
pub(super) const MEMBERS_WRITE: Needs = Needs {
    permission: "members",
    level: "write",
    docs: "https://docs.github.com/rest/orgs/outside-collaborators#remove-outside-collaborator-from-an-organization",
};
pub(super) const METADATA_READ: Needs = Needs {
    permission: "metadata",
    level: "read",
    docs: "https://docs.github.com/rest/collaborators/collaborators",
};
pub(super) const REPO_EVENTS_READ: Needs = Needs {
    permission: "metadata",
    level: "read",
    docs: "https://docs.github.com/rest/activity/events#list-repository-events",
};
pub(super) const ADMINISTRATION_READ: Needs = Needs {
    permission: "administration",
    level: "read",
    docs: "https://docs.github.com/rest/collaborators/invitations#list-repository-invitations",
};
/// The audit-log API needs the organisation permission "Administration" (`organization_administration`) read.
pub(super) const ORG_ADMINISTRATION_READ: Needs = Needs {
    permission: "organization_administration",
    level: "read",
    docs: "https://docs.github.com/enterprise-cloud@latest/rest/orgs/orgs#get-the-audit-log-for-an-organization",
};

pub(super) fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get("authorization")?.to_str().ok()?.trim();
    value
        .strip_prefix("Bearer ")
        .or_else(|| value.strip_prefix("bearer "))
        .or_else(|| value.strip_prefix("token "))
        .map(str::trim)
}

/// The caller's installation token (known, unexpired, of an installation that is still installed and not
/// suspended): 401 `Requires authentication` without credentials, 401 `Bad credentials` for an unknown or
/// expired token, 403 for a suspended installation.
pub(super) fn installation_auth<'w>(
    world: &'w World,
    headers: &HeaderMap,
    now: DateTime<Utc>,
) -> Result<&'w Token, Refusal> {
    let token = bearer(headers)
        .ok_or_else(|| refuse(StatusCode::UNAUTHORIZED, "Requires authentication"))?;
    let unauthorized = || refuse(StatusCode::UNAUTHORIZED, "Bad credentials");
    let info = world.tokens.get(token).ok_or_else(unauthorized)?;
    if now >= info.expires_at {
        return Err(unauthorized());
    }
    let org = world
        .orgs
        .iter()
        .find(|o| o.installation_id == info.installation_id);
    match org {
        Some(o) if !o.installed => Err(unauthorized()),
        Some(o) if o.suspended_at.is_some() => Err(refuse(
            StatusCode::FORBIDDEN,
            "This installation has been suspended",
        )),
        _ => Ok(info),
    }
}

/// The org `org` as seen by the installation token in `headers` (401 without a valid token, 404 for an
/// unknown org, 403 for another org's token), whose installation and token grant `needs`: else 403 "Resource not
/// accessible by integration" with `X-Accepted-GitHub-Permissions`, as GitHub answers an App lacking a
/// permission.
pub(super) fn permitted_org<'w>(
    world: &'w World,
    headers: &HeaderMap,
    now: DateTime<Utc>,
    org: &str,
    needs: Needs,
) -> Result<&'w Org, Refusal> {
    let token = installation_auth(world, headers, now)?;
    let org = org_for(world, token.installation_id, org)?;
    if org.grants(needs.permission, needs.level) && token.grants(needs.permission, needs.level) {
        return Ok(org);
    }
    Err(Refusal {
        status: StatusCode::FORBIDDEN,
        message: "Resource not accessible by integration".to_owned(),
        accepted: Some(format!("{}={}", needs.permission, needs.level)),
        documentation_url: needs.docs,
    })
}

/// The organisation `org`, when the token's installation is the one installed on it.
pub(super) fn org_for<'w>(
    world: &'w World,
    installation_id: u64,
    org: &str,
) -> Result<&'w Org, Refusal> {
    let org = world
        .org(org)
        .ok_or_else(|| refuse(StatusCode::NOT_FOUND, "Not Found"))?;
    if org.installation_id != installation_id {
        return Err(refuse(
            StatusCode::FORBIDDEN,
            "Resource not accessible by integration",
        ));
    }
    Ok(org)
}

#[derive(Deserialize)]
struct AppClaims {
    iat: i64,
    exp: i64,
    iss: Value,
}

/// Verifies an App JWT: RS256 signature by the App key, `iss` = App id, `exp` in the future but at most
/// 10 minutes ahead (no leeway), `iat` not in the future (60 s leeway), all against the fake clock.
pub(super) fn app_auth(
    world: &World,
    headers: &HeaderMap,
    now: DateTime<Utc>,
) -> Result<(), Refusal> {
    let reject = |why: &str| {
        tracing::debug!(reason = why, "fake github refused an app jwt");
        refuse(
            StatusCode::UNAUTHORIZED,
            "A JSON web token could not be decoded",
        )
    };
    let token = bearer(headers).ok_or_else(|| reject("no bearer token"))?;
    let mut validation = Validation::new(Algorithm::RS256);
    validation.validate_exp = false;
    validation.validate_aud = false;
    validation.required_spec_claims.clear();
    let data = jsonwebtoken::decode::<AppClaims>(token, &world.app.key, &validation)
        .map_err(|_| reject("signature or format"))?;
    let claims = data.claims;
    let iss_ok = match &claims.iss {
        Value::String(s) => s == &world.app.id.to_string(),
        Value::Number(n) => n.as_u64() == Some(world.app.id),
        _ => false,
    };
    if !iss_ok {
        return Err(reject("iss"));
    }
    let now = now.timestamp();
    if claims.exp <= now {
        return Err(refuse(
            StatusCode::UNAUTHORIZED,
            "'Expiration time' claim ('exp') must be a numeric value representing the future time at which the assertion expires",
        ));
    }
    // GitHub: `exp` "must be no more than 10 minutes into the future" (README, "App JWT").
    if claims.exp > now + 600 {
        return Err(refuse(
            StatusCode::UNAUTHORIZED,
            "'Expiration time' claim ('exp') is too far in the future",
        ));
    }
    if claims.iat > now + 60 {
        return Err(refuse(
            StatusCode::UNAUTHORIZED,
            "'Issued at' claim ('iat') must be an Integer representing the time that the assertion was issued",
        ));
    }
    Ok(())
}
