//! The App installation's permissions: 403 "Resource not accessible by integration" when a call needs more,
//! the installation endpoints, suspension and uninstalling, and the outside collaborators in the state.

use github_fake::GithubFake;
use serde_json::{Value, json};

use crate::support::{Running, good_jwt};

const NOT_ACCESSIBLE: &str = "Resource not accessible by integration";

impl Running {
    async fn delete(&self, path: &str, token: &str) -> reqwest::Response {
        self.http
            .delete(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
    }

    async fn patch_org(&self, org: &str, body: Value) -> u16 {
        self.http
            .patch(self.url(&format!("/__fake/orgs/{org}")))
            .json(&body)
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    }

    async fn get_jwt(&self, path: &str) -> reqwest::Response {
        self.http
            .get(self.url(path))
            .bearer_auth(good_jwt(&self.fake, self.fake.kit().now()))
            .send()
            .await
            .unwrap()
    }

    async fn state(&self) -> Value {
        self.http
            .get(self.url("/__fake/state"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }
}

async fn assert_not_accessible(resp: reqwest::Response, accepted: &str) {
    assert_eq!(resp.status(), 403);
    assert_eq!(
        resp.headers()["x-accepted-github-permissions"],
        accepted,
        "names the permission the call needs"
    );
    assert!(
        resp.headers().get("x-ratelimit-remaining").unwrap() != "0",
        "a permission 403 carries no rate-limit signs"
    );
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["message"], NOT_ACCESSIBLE);
    assert!(
        body["documentation_url"]
            .as_str()
            .unwrap()
            .starts_with("https://docs.github.com/")
    );
}

#[tokio::test]
async fn a_removal_without_members_write_is_refused_and_removes_nobody() {
    let r = Running::minimal().await;
    let token = r.token("acme").await;
    assert_eq!(
        r.patch_org("acme", json!({"permissions": {"members": "read"}}))
            .await,
        204
    );
    let resp = r
        .delete("/orgs/acme/outside_collaborators/octocat", &token)
        .await;
    assert_not_accessible(resp, "members=write").await;
    assert!(r.fake.is_outside_collaborator("acme", "octocat"));
    assert_eq!(
        r.get("/orgs/acme/members/alice", &token).await.status(),
        204,
        "members read still answers the membership check"
    );

    r.fake.set_permission("acme", "members", "write").unwrap();
    assert_eq!(
        r.delete("/orgs/acme/outside_collaborators/octocat", &token)
            .await
            .status(),
        204,
        "granted again, the same token removes"
    );
    assert!(
        r.fake
            .outside_collaborator_repos("acme", "octocat")
            .is_empty()
    );
}

#[tokio::test]
async fn removal_takes_the_user_off_every_repository_then_answers_404_and_422_for_members() {
    let r = Running::start(GithubFake::demo().unwrap()).await;
    r.fake
        .add_collaborator("acme", "gadgets", "octocat", "read")
        .unwrap();
    assert_eq!(
        r.fake.outside_collaborator_repos("acme", "octocat"),
        vec![
            ("widgets".to_owned(), "maintain".to_owned()),
            ("gadgets".to_owned(), "read".to_owned())
        ]
    );
    let token = r.token("acme").await;
    assert_eq!(
        r.delete("/orgs/acme/outside_collaborators/octocat", &token)
            .await
            .status(),
        204
    );
    let state = r.state().await;
    let acme = &state["orgs"][0];
    assert!(
        !acme["outside_collaborators"]
            .as_array()
            .unwrap()
            .contains(&json!("octocat"))
    );
    for repo in acme["repos"].as_array().unwrap() {
        assert!(
            repo["collaborators"]
                .as_array()
                .unwrap()
                .iter()
                .all(|c| c["login"] != "octocat"),
            "{repo}"
        );
    }
    assert_eq!(
        r.delete("/orgs/acme/outside_collaborators/octocat", &token)
            .await
            .status(),
        404
    );
    let member = r
        .delete("/orgs/acme/outside_collaborators/carol", &token)
        .await;
    assert_eq!(member.status(), 422);
    assert!(
        r.state().await["orgs"][0]["repos"][0]["collaborators"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["login"] == "carol"),
        "a member keeps their repository access"
    );
}

#[tokio::test]
async fn membership_reads_need_members_read() {
    let r = Running::minimal().await;
    let token = r.token("acme").await;
    r.fake.set_permission("acme", "members", "none").unwrap();
    assert_not_accessible(
        r.get("/orgs/acme/members/alice", &token).await,
        "members=read",
    )
    .await;
    assert_not_accessible(
        r.get("/orgs/acme/outside_collaborators", &token).await,
        "members=read",
    )
    .await;
    assert_eq!(
        r.get("/orgs/acme/repos", &token).await.status(),
        200,
        "metadata is still granted"
    );
}

#[tokio::test]
async fn the_audit_log_needs_organization_administration_read() {
    let r = Running::start(GithubFake::demo().unwrap()).await;
    let token = r.token("acme").await;
    assert_eq!(r.get("/orgs/acme/audit-log", &token).await.status(), 200);
    r.fake
        .set_permission("acme", "organization_administration", "none")
        .unwrap();
    assert_not_accessible(
        r.get("/orgs/acme/audit-log", &token).await,
        "organization_administration=read",
    )
    .await;
}

#[tokio::test]
async fn repository_reads_need_metadata_and_invitations_need_administration() {
    let r = Running::minimal().await;
    let token = r.token("acme").await;
    assert_eq!(
        r.put_permissions("acme", json!({"metadata": "read"})).await,
        204
    );
    assert_eq!(
        r.get("/repos/acme/widgets/collaborators", &token)
            .await
            .status(),
        200
    );
    assert_not_accessible(
        r.get("/repos/acme/widgets/invitations", &token).await,
        "administration=read",
    )
    .await;
    assert_eq!(r.put_permissions("acme", json!({})).await, 204);
    assert_not_accessible(r.get("/orgs/acme/repos", &token).await, "metadata=read").await;
    assert_eq!(r.fake.permissions("acme").unwrap().len(), 0);
    assert_eq!(
        r.put_permissions("acme", json!({"members": "sometimes"}))
            .await,
        400,
        "levels are read, write or admin"
    );
}

impl Running {
    async fn put_permissions(&self, org: &str, body: Value) -> u16 {
        self.http
            .put(self.url(&format!("/__fake/orgs/{org}/permissions")))
            .json(&body)
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    }

    async fn mint(&self, org: &str, body: Option<Value>) -> reqwest::Response {
        let id = self.fake.installation_id(org).unwrap();
        let mut req = self
            .http
            .post(self.url(&format!("/app/installations/{id}/access_tokens")))
            .bearer_auth(good_jwt(&self.fake, self.fake.kit().now()));
        if let Some(body) = body {
            req = req.json(&body);
        }
        req.send().await.unwrap()
    }
}

#[tokio::test]
async fn tokens_carry_the_installation_permissions_or_a_subset_asked_for() {
    let r = Running::minimal().await;
    let full: Value = r.mint("acme", None).await.json().await.unwrap();
    assert_eq!(
        full["permissions"],
        json!({"administration": "read", "members": "write", "metadata": "read",
               "organization_administration": "read"})
    );

    let narrow = r
        .mint("acme", Some(json!({"permissions": {"members": "read"}})))
        .await;
    assert_eq!(narrow.status(), 201);
    let narrow: Value = narrow.json().await.unwrap();
    let token = narrow["token"].as_str().unwrap();
    assert_eq!(r.get("/orgs/acme/members/alice", token).await.status(), 204);
    assert_not_accessible(
        r.delete("/orgs/acme/outside_collaborators/octocat", token)
            .await,
        "members=write",
    )
    .await;

    let too_much = r
        .mint("acme", Some(json!({"permissions": {"members": "admin"}})))
        .await;
    assert_eq!(too_much.status(), 422);
}

#[tokio::test]
async fn the_installation_endpoints_need_the_app_jwt_and_show_the_permissions() {
    let r = Running::minimal().await;
    r.fake.set_permission("acme", "members", "read").unwrap();
    let resp = r.get_jwt("/orgs/acme/installation").await;
    assert_eq!(resp.status(), 200);
    let installation: Value = resp.json().await.unwrap();
    assert_eq!(installation["id"], 14988838);
    assert_eq!(installation["account"]["login"], "acme");
    assert_eq!(installation["target_type"], "Organization");
    assert_eq!(installation["app_id"], r.fake.app_id());
    assert_eq!(installation["permissions"]["members"], "read");
    assert_eq!(installation["suspended_at"], Value::Null);

    let by_id: Value = r
        .get_jwt("/app/installations/14988838")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(by_id, installation);
    let all: Vec<Value> = r.get_jwt("/app/installations").await.json().await.unwrap();
    assert_eq!(all.len(), 1);

    assert_eq!(r.get_jwt("/orgs/initech/installation").await.status(), 404);
    assert_eq!(r.get_jwt("/app/installations/1").await.status(), 404);
    let token = r.token("acme").await;
    assert_eq!(
        r.get("/orgs/acme/installation", &token).await.status(),
        401,
        "an installation token is not an App JWT"
    );
}

#[tokio::test]
async fn a_suspended_installation_gets_no_tokens_and_its_tokens_are_refused() {
    let r = Running::minimal().await;
    let token = r.token("acme").await;
    assert_eq!(r.patch_org("acme", json!({"suspended": true})).await, 204);
    let member = r.get("/orgs/acme/members/alice", &token).await;
    assert_eq!(member.status(), 403);
    let body: Value = member.json().await.unwrap();
    assert_eq!(body["message"], "This installation has been suspended");
    assert_eq!(r.mint("acme", None).await.status(), 403);
    let installation: Value = r
        .get_jwt("/orgs/acme/installation")
        .await
        .json()
        .await
        .unwrap();
    assert!(installation["suspended_at"].is_string());

    r.fake.set_suspended("acme", false).unwrap();
    assert_eq!(
        r.get("/orgs/acme/members/alice", &token).await.status(),
        204
    );
}

#[tokio::test]
async fn an_uninstalled_app_loses_its_tokens_and_its_installation() {
    let r = Running::minimal().await;
    let token = r.token("acme").await;
    assert_eq!(r.patch_org("acme", json!({"installed": false})).await, 204);
    assert_eq!(
        r.get("/orgs/acme/members/alice", &token).await.status(),
        401
    );
    assert_eq!(r.mint("acme", None).await.status(), 404);
    assert_eq!(r.get_jwt("/orgs/acme/installation").await.status(), 404);
    r.fake.set_installed("acme", true).unwrap();
    assert_eq!(r.mint("acme", None).await.status(), 201);
}

#[tokio::test]
async fn a_call_without_credentials_requires_authentication() {
    let r = Running::minimal().await;
    let resp = r
        .http
        .delete(r.url("/orgs/acme/outside_collaborators/octocat"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["message"], "Requires authentication");
    assert!(r.fake.is_outside_collaborator("acme", "octocat"));
}

#[tokio::test]
async fn the_state_shows_permissions_and_each_outside_collaborators_access() {
    let r = Running::start(GithubFake::demo().unwrap()).await;
    r.fake
        .set_permission("globex", "organization_administration", "none")
        .unwrap();
    let state = r.state().await;
    let acme = &state["orgs"][0];
    assert_eq!(acme["installation"]["permissions"]["members"], "write");
    assert_eq!(acme["installation"]["suspended"], false);
    assert_eq!(
        acme["outside_collaborator_access"],
        json!([
            {"login": "hubot", "id": 583231, "repos": [
                {"repo": "gadgets", "full_name": "acme/gadgets", "role_name": "triage", "permission": "read"}]},
            {"login": "octocat", "id": 39652351, "repos": [
                {"repo": "widgets", "full_name": "acme/widgets", "role_name": "maintain", "permission": "write"}]},
        ])
    );
    assert_eq!(
        state["orgs"][1]["installation"]["permissions"],
        json!({"administration": "read", "members": "write", "metadata": "read"})
    );
}

#[tokio::test]
async fn a_seed_can_give_an_installation_fewer_permissions() {
    let mut seed: Value = serde_json::from_str(github_fake::MINIMAL_SEED).unwrap();
    seed["orgs"][0]["permissions"] = json!({"members": "read", "metadata": "read"});
    let r = Running::start(GithubFake::new(seed.clone()).unwrap()).await;
    let token = r.token("acme").await;
    assert_not_accessible(
        r.delete("/orgs/acme/outside_collaborators/octocat", &token)
            .await,
        "members=write",
    )
    .await;
    seed["orgs"][0]["permissions"] = json!({"members": "all of them"});
    assert!(GithubFake::new(seed).is_err());
}
