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
    AuditEvent, Collaborator, CollaboratorPermission, HookDelivery, Membership, Permissions,
    RemovalOutcome, RepoInvitation, Repository, User,
};
pub use signature::{SignatureError, sign_webhook_body, verify_webhook_signature};
pub use webhook::{MemberEvent, PingEvent};
