//! The organisation-scoped operations CLS needs, as an object-safe trait (`Arc<dyn GithubApi>`).

use futures::future::BoxFuture;

use crate::error::GithubError;
use crate::models::{
    AuditEvent, Collaborator, CollaboratorPermission, HookDelivery, Installation, Membership,
    RemovalOutcome, RepoEvent, RepoInvitation, Repository, User,
};

/// The GitHub operations CLS performs. Every call names the organisation, which selects the App
/// installation (and so the token). `repo` is the repository name inside that organisation.
///
/// Implemented by [`crate::GithubClient`]; services depend on this trait so that tests can substitute a
/// hand-written fake.
pub trait GithubApi: Send + Sync {
    /// `GET /orgs/{org}/members/{username}`: 204 → `Member`, 404 → `NotMember`, 302 →
    /// [`GithubError::MembershipHidden`] (retryable).
    fn membership<'a>(
        &'a self,
        org: &'a str,
        username: &'a str,
    ) -> BoxFuture<'a, Result<Membership, GithubError>>;

    /// `GET /user/{account_id}`: the current login of an account; `None` when the account was deleted (404).
    fn user_by_id<'a>(
        &'a self,
        org: &'a str,
        account_id: u64,
    ) -> BoxFuture<'a, Result<Option<User>, GithubError>>;

    /// `DELETE /orgs/{org}/outside_collaborators/{username}`: 204 removed, 404 already gone, 422 an org
    /// member; 403 without rate-limit signs → [`GithubError::Forbidden`].
    fn remove_outside_collaborator<'a>(
        &'a self,
        org: &'a str,
        username: &'a str,
    ) -> BoxFuture<'a, Result<RemovalOutcome, GithubError>>;

    /// `GET /orgs/{org}/outside_collaborators?filter=all&per_page=100`, every page.
    fn outside_collaborators<'a>(
        &'a self,
        org: &'a str,
    ) -> BoxFuture<'a, Result<Vec<User>, GithubError>>;

    /// `GET /orgs/{org}/repos?per_page=100`, every page.
    fn org_repos<'a>(&'a self, org: &'a str)
    -> BoxFuture<'a, Result<Vec<Repository>, GithubError>>;

    /// `GET /repos/{org}/{repo}/collaborators?affiliation=outside&per_page=100`, every page.
    fn repo_outside_collaborators<'a>(
        &'a self,
        org: &'a str,
        repo: &'a str,
    ) -> BoxFuture<'a, Result<Vec<Collaborator>, GithubError>>;

    /// `GET /repos/{org}/{repo}/invitations?per_page=100`, every page.
    fn repo_invitations<'a>(
        &'a self,
        org: &'a str,
        repo: &'a str,
    ) -> BoxFuture<'a, Result<Vec<RepoInvitation>, GithubError>>;

    /// `GET /repos/{org}/{repo}/collaborators/{username}/permission`; `None` on 404.
    fn collaborator_permission<'a>(
        &'a self,
        org: &'a str,
        repo: &'a str,
        username: &'a str,
    ) -> BoxFuture<'a, Result<Option<CollaboratorPermission>, GithubError>>;

    /// `GET /orgs/{org}/audit-log?phrase=…&include=all&order=desc&per_page=100`, following `Link` for at
    /// most `max_pages` pages. `None` when the organisation has no audit-log API (404: not Enterprise
    /// Cloud); 403 (missing "Administration: read") is [`GithubError::Forbidden`].
    fn audit_log<'a>(
        &'a self,
        org: &'a str,
        phrase: &'a str,
        max_pages: u32,
    ) -> BoxFuture<'a, Result<Option<Vec<AuditEvent>>, GithubError>>;

    /// `GET /repos/{org}/{repo}/events?per_page=100`, following `Link` for at most `max_pages` pages (newest
    /// first; GitHub keeps 30 days / 300 events). `None` when the repository does not exist (404).
    fn repo_events<'a>(
        &'a self,
        org: &'a str,
        repo: &'a str,
        max_pages: u32,
    ) -> BoxFuture<'a, Result<Option<Vec<RepoEvent>>, GithubError>>;

    /// `GET /app/hook/deliveries?per_page=100` with the JWT of the App installed on `org`, following
    /// `Link` for at most `max_pages` pages (newest first).
    fn hook_deliveries<'a>(
        &'a self,
        org: &'a str,
        max_pages: u32,
    ) -> BoxFuture<'a, Result<Vec<HookDelivery>, GithubError>>;

    /// `POST /app/hook/deliveries/{delivery_id}/attempts` (202) with the JWT of the App installed on `org`.
    /// Not retried blindly (it is not idempotent).
    fn redeliver<'a>(
        &'a self,
        org: &'a str,
        delivery_id: u64,
    ) -> BoxFuture<'a, Result<(), GithubError>>;

    /// `GET /orgs/{org}/installation` with the JWT of the App configured for `org`: the installation with its
    /// `permissions` and `suspended_at` (for `cls-admin doctor`: compare with [`crate::MEMBERS_WRITE`] and
    /// [`crate::AUDIT_LOG_READ`] via [`Installation::missing`]). `None` when the App is not installed on the
    /// organisation (404).
    ///
    /// The default implementation answers [`GithubError::Config`], so that hand-written test fakes need not
    /// implement it; [`crate::GithubClient`] does.
    fn installation<'a>(
        &'a self,
        org: &'a str,
    ) -> BoxFuture<'a, Result<Option<Installation>, GithubError>> {
        Box::pin(async move {
            Err(GithubError::Config(format!(
                "this GithubApi cannot look up the installation of {org}"
            )))
        })
    }
}
