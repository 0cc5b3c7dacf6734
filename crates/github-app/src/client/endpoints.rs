//! The endpoint methods, one per REST call CLS makes, and the [`GithubApi`] implementation over them.

use futures::future::BoxFuture;
use reqwest::{Method, StatusCode};

use super::transport::{Auth, Retry, status_error};
use super::{GithubClient, MAX_PAGES};
use crate::api::GithubApi;
use crate::error::GithubError;
use crate::models::{
    AuditEvent, Collaborator, CollaboratorPermission, HookDelivery, Installation, Membership,
    RemovalOutcome, RepoEvent, RepoInvitation, Repository, User,
};

impl GithubClient {
    /// See [`GithubApi::membership`].
    pub async fn check_membership(
        &self,
        org: &str,
        username: &str,
    ) -> Result<Membership, GithubError> {
        const OP: &str = "GET /orgs/{org}/members/{username}";
        let entry = self.org(org)?;
        let url = self.url(&format!("/orgs/{}/members/{}", seg(org), seg(username)));
        let resp = self
            .execute(OP, Method::GET, url, Auth::Installation(entry), Retry::Safe)
            .await?;
        match resp.status() {
            StatusCode::NO_CONTENT => Ok(Membership::Member),
            StatusCode::NOT_FOUND => Ok(Membership::NotMember),
            StatusCode::FOUND => Err(GithubError::MembershipHidden { operation: OP }),
            _ => Err(status_error(OP, resp).await),
        }
    }

    /// See [`GithubApi::user_by_id`].
    pub async fn get_user_by_id(
        &self,
        org: &str,
        account_id: u64,
    ) -> Result<Option<User>, GithubError> {
        const OP: &str = "GET /user/{account_id}";
        let entry = self.org(org)?;
        let url = self.url(&format!("/user/{account_id}"));
        self.get_optional(OP, Auth::Installation(entry), url).await
    }

    /// See [`GithubApi::remove_outside_collaborator`].
    pub async fn delete_outside_collaborator(
        &self,
        org: &str,
        username: &str,
    ) -> Result<RemovalOutcome, GithubError> {
        const OP: &str = crate::error::REMOVE_OUTSIDE_COLLABORATOR;
        let entry = self.org(org)?;
        let url = self.url(&format!(
            "/orgs/{}/outside_collaborators/{}",
            seg(org),
            seg(username)
        ));
        // DELETE is idempotent: a retry after a lost answer sees 404, which means "already gone".
        let resp = self
            .execute(
                OP,
                Method::DELETE,
                url,
                Auth::Installation(entry),
                Retry::Safe,
            )
            .await?;
        match resp.status() {
            StatusCode::NO_CONTENT | StatusCode::OK => Ok(RemovalOutcome::Removed),
            StatusCode::NOT_FOUND => Ok(RemovalOutcome::AlreadyGone),
            StatusCode::UNPROCESSABLE_ENTITY => Ok(RemovalOutcome::IsOrgMember),
            _ => Err(status_error(OP, resp).await),
        }
    }

    /// See [`GithubApi::outside_collaborators`].
    pub async fn list_outside_collaborators(&self, org: &str) -> Result<Vec<User>, GithubError> {
        const OP: &str = "GET /orgs/{org}/outside_collaborators";
        let mut url = self.url(&format!("/orgs/{}/outside_collaborators", seg(org)));
        url.query_pairs_mut()
            .append_pair("filter", "all")
            .append_pair("per_page", "100");
        self.get_all(OP, org, url, MAX_PAGES).await
    }

    /// See [`GithubApi::org_repos`].
    pub async fn list_org_repos(&self, org: &str) -> Result<Vec<Repository>, GithubError> {
        const OP: &str = "GET /orgs/{org}/repos";
        let mut url = self.url(&format!("/orgs/{}/repos", seg(org)));
        url.query_pairs_mut().append_pair("per_page", "100");
        self.get_all(OP, org, url, MAX_PAGES).await
    }

    /// See [`GithubApi::repo_outside_collaborators`].
    pub async fn list_repo_outside_collaborators(
        &self,
        org: &str,
        repo: &str,
    ) -> Result<Vec<Collaborator>, GithubError> {
        const OP: &str = "GET /repos/{owner}/{repo}/collaborators";
        let mut url = self.url(&format!("/repos/{}/{}/collaborators", seg(org), seg(repo)));
        url.query_pairs_mut()
            .append_pair("affiliation", "outside")
            .append_pair("per_page", "100");
        self.get_all(OP, org, url, MAX_PAGES).await
    }

    /// See [`GithubApi::repo_invitations`].
    pub async fn list_repo_invitations(
        &self,
        org: &str,
        repo: &str,
    ) -> Result<Vec<RepoInvitation>, GithubError> {
        const OP: &str = "GET /repos/{owner}/{repo}/invitations";
        let mut url = self.url(&format!("/repos/{}/{}/invitations", seg(org), seg(repo)));
        url.query_pairs_mut().append_pair("per_page", "100");
        self.get_all(OP, org, url, MAX_PAGES).await
    }

    /// See [`GithubApi::collaborator_permission`].
    pub async fn get_collaborator_permission(
        &self,
        org: &str,
        repo: &str,
        username: &str,
    ) -> Result<Option<CollaboratorPermission>, GithubError> {
        const OP: &str = "GET /repos/{owner}/{repo}/collaborators/{username}/permission";
        let entry = self.org(org)?;
        let url = self.url(&format!(
            "/repos/{}/{}/collaborators/{}/permission",
            seg(org),
            seg(repo),
            seg(username)
        ));
        self.get_optional(OP, Auth::Installation(entry), url).await
    }

    /// See [`GithubApi::repo_events`].
    pub async fn list_repo_events(
        &self,
        org: &str,
        repo: &str,
        max_pages: u32,
    ) -> Result<Option<Vec<RepoEvent>>, GithubError> {
        const OP: &str = "GET /repos/{owner}/{repo}/events";
        let mut url = self.url(&format!("/repos/{}/{}/events", seg(org), seg(repo)));
        url.query_pairs_mut().append_pair("per_page", "100");
        match self.get_all(OP, org, url, max_pages).await {
            Ok(events) => Ok(Some(events)),
            Err(GithubError::NotFound { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// See [`GithubApi::audit_log`].
    pub async fn query_audit_log(
        &self,
        org: &str,
        phrase: &str,
        max_pages: u32,
    ) -> Result<Option<Vec<AuditEvent>>, GithubError> {
        const OP: &str = crate::error::AUDIT_LOG;
        let mut url = self.url(&format!("/orgs/{}/audit-log", seg(org)));
        url.query_pairs_mut()
            .append_pair("phrase", phrase)
            .append_pair("include", "all")
            .append_pair("order", "desc")
            .append_pair("per_page", "100");
        match self.get_all(OP, org, url, max_pages).await {
            Ok(events) => Ok(Some(events)),
            Err(GithubError::NotFound { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// See [`GithubApi::hook_deliveries`].
    pub async fn list_hook_deliveries(
        &self,
        org: &str,
        max_pages: u32,
    ) -> Result<Vec<HookDelivery>, GithubError> {
        const OP: &str = "GET /app/hook/deliveries";
        let entry = self.org(org)?;
        let mut url = self.url("/app/hook/deliveries");
        url.query_pairs_mut().append_pair("per_page", "100");
        self.paginate(OP, url, Auth::Jwt(entry.app_id), max_pages)
            .await
    }

    /// See [`GithubApi::redeliver`].
    pub async fn redeliver_delivery(&self, org: &str, delivery_id: u64) -> Result<(), GithubError> {
        const OP: &str = "POST /app/hook/deliveries/{delivery_id}/attempts";
        let entry = self.org(org)?;
        let url = self.url(&format!("/app/hook/deliveries/{delivery_id}/attempts"));
        let resp = self
            .execute(OP, Method::POST, url, Auth::Jwt(entry.app_id), Retry::Never)
            .await?;
        if resp.status().is_success() {
            Ok(())
        } else {
            Err(status_error(OP, resp).await)
        }
    }

    /// See [`GithubApi::installation`].
    pub async fn get_org_installation(
        &self,
        org: &str,
    ) -> Result<Option<Installation>, GithubError> {
        const OP: &str = "GET /orgs/{org}/installation";
        let entry = self.org(org)?;
        let url = self.url(&format!("/orgs/{}/installation", seg(org)));
        self.get_optional(OP, Auth::Jwt(entry.app_id), url).await
    }
}

impl GithubApi for GithubClient {
    fn installation<'a>(
        &'a self,
        org: &'a str,
    ) -> BoxFuture<'a, Result<Option<Installation>, GithubError>> {
        Box::pin(self.get_org_installation(org))
    }

    fn membership<'a>(
        &'a self,
        org: &'a str,
        username: &'a str,
    ) -> BoxFuture<'a, Result<Membership, GithubError>> {
        Box::pin(self.check_membership(org, username))
    }

    fn user_by_id<'a>(
        &'a self,
        org: &'a str,
        account_id: u64,
    ) -> BoxFuture<'a, Result<Option<User>, GithubError>> {
        Box::pin(self.get_user_by_id(org, account_id))
    }

    fn remove_outside_collaborator<'a>(
        &'a self,
        org: &'a str,
        username: &'a str,
    ) -> BoxFuture<'a, Result<RemovalOutcome, GithubError>> {
        Box::pin(self.delete_outside_collaborator(org, username))
    }

    fn outside_collaborators<'a>(
        &'a self,
        org: &'a str,
    ) -> BoxFuture<'a, Result<Vec<User>, GithubError>> {
        Box::pin(self.list_outside_collaborators(org))
    }

    fn org_repos<'a>(
        &'a self,
        org: &'a str,
    ) -> BoxFuture<'a, Result<Vec<Repository>, GithubError>> {
        Box::pin(self.list_org_repos(org))
    }

    fn repo_outside_collaborators<'a>(
        &'a self,
        org: &'a str,
        repo: &'a str,
    ) -> BoxFuture<'a, Result<Vec<Collaborator>, GithubError>> {
        Box::pin(self.list_repo_outside_collaborators(org, repo))
    }

    fn repo_invitations<'a>(
        &'a self,
        org: &'a str,
        repo: &'a str,
    ) -> BoxFuture<'a, Result<Vec<RepoInvitation>, GithubError>> {
        Box::pin(self.list_repo_invitations(org, repo))
    }

    fn collaborator_permission<'a>(
        &'a self,
        org: &'a str,
        repo: &'a str,
        username: &'a str,
    ) -> BoxFuture<'a, Result<Option<CollaboratorPermission>, GithubError>> {
        Box::pin(self.get_collaborator_permission(org, repo, username))
    }

    fn audit_log<'a>(
        &'a self,
        org: &'a str,
        phrase: &'a str,
        max_pages: u32,
    ) -> BoxFuture<'a, Result<Option<Vec<AuditEvent>>, GithubError>> {
        Box::pin(self.query_audit_log(org, phrase, max_pages))
    }

    fn repo_events<'a>(
        &'a self,
        org: &'a str,
        repo: &'a str,
        max_pages: u32,
    ) -> BoxFuture<'a, Result<Option<Vec<RepoEvent>>, GithubError>> {
        Box::pin(self.list_repo_events(org, repo, max_pages))
    }

    fn hook_deliveries<'a>(
        &'a self,
        org: &'a str,
        max_pages: u32,
    ) -> BoxFuture<'a, Result<Vec<HookDelivery>, GithubError>> {
        Box::pin(self.list_hook_deliveries(org, max_pages))
    }

    fn redeliver<'a>(
        &'a self,
        org: &'a str,
        delivery_id: u64,
    ) -> BoxFuture<'a, Result<(), GithubError>> {
        Box::pin(self.redeliver_delivery(org, delivery_id))
    }
}

/// One path segment, percent-encoded.
fn seg(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes())
        .collect::<String>()
        .replace('+', "%20")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_segments_are_percent_encoded() {
        assert_eq!(seg("octo cat/x"), "octo%20cat%2Fx");
        assert_eq!(seg("octocat"), "octocat");
    }
}
