//! The Webex client module (README, "Webex client"): models, typed errors, the HTTP policy, and the
//! [`WebexApi`] trait the sweep and the CLI depend on.

mod client;
mod error;
mod models;

use futures::future::BoxFuture;
use secrecy::SecretString;
use url::Url;

pub use client::{CallCtx, WebexClient};
pub use error::WebexError;
pub(crate) use error::sanitise;
pub use models::{
    ClientCredentials, CodeGrant, DataSource, JwsClaims, MintRequest, TokenResponse,
    UpdateDataSource, Updated,
};

/// The Webex operations BYODS uses. Object-safe, so `Deps` holds an `Arc<dyn WebexApi>`.
pub trait WebexApi: Send + Sync {
    /// The API base URL (e.g. `https://webexapis.com/v1`).
    fn base_url(&self) -> &Url;

    /// `POST /access_token` with `grant_type=refresh_token`.
    fn refresh_access_token<'a>(
        &'a self,
        ctx: &'a CallCtx,
        client: &'a ClientCredentials,
        refresh_token: &'a SecretString,
    ) -> BoxFuture<'a, Result<TokenResponse, WebexError>>;

    /// `POST /access_token` with `grant_type=authorization_code` and a PKCE verifier.
    fn exchange_code<'a>(
        &'a self,
        ctx: &'a CallCtx,
        client: &'a ClientCredentials,
        grant: &'a CodeGrant,
    ) -> BoxFuture<'a, Result<TokenResponse, WebexError>>;

    /// `POST /applications/{appId}/token` with the integration's bearer token.
    fn mint_service_app_token<'a>(
        &'a self,
        ctx: &'a CallCtx,
        app_id: &'a str,
        integration_token: &'a SecretString,
        request: &'a MintRequest,
    ) -> BoxFuture<'a, Result<TokenResponse, WebexError>>;

    /// `GET /dataSources`, following `Link: rel="next"`: every listed item, also one without an id.
    fn list_data_sources<'a>(
        &'a self,
        ctx: &'a CallCtx,
        token: &'a SecretString,
    ) -> BoxFuture<'a, Result<Vec<DataSource>, WebexError>>;

    /// `GET /dataSources/{id}`.
    fn get_data_source<'a>(
        &'a self,
        ctx: &'a CallCtx,
        token: &'a SecretString,
        id: &'a str,
    ) -> BoxFuture<'a, Result<DataSource, WebexError>>;

    /// `PUT /dataSources/{id}`.
    fn update_data_source<'a>(
        &'a self,
        ctx: &'a CallCtx,
        token: &'a SecretString,
        id: &'a str,
        body: &'a UpdateDataSource,
    ) -> BoxFuture<'a, Result<Updated, WebexError>>;
}
