#![doc = include_str!("../README.md")]

pub mod api;
pub mod auth;
pub mod client;
pub mod error;
pub mod models;
pub mod signature;
pub mod webhook;

pub use api::GithubApi;
pub use auth::{AppCredentials, AppJwtClaims, app_jwt};
pub use client::{GithubClient, GithubClientBuilder, OrgInstallation};
pub use error::GithubError;
pub use models::{
    AUDIT_LOG_READ, AuditEvent, Collaborator, CollaboratorPermission, EventActor, HookDelivery,
    Installation, MEMBERS_READ, MEMBERS_WRITE, Membership, PermissionLevel, Permissions,
    REPO_ADMINISTRATION_READ, RemovalOutcome, RepoEvent, RepoInvitation, Repository,
    RequiredPermission, User,
};
pub use signature::{SignatureError, sign_webhook_body, verify_webhook_signature};
pub use webhook::{MemberEvent, PingEvent};
