//! The Webex client module (README, "Webex client"): models, typed errors and [`WebexClient`], which
//! applies the HTTP policy. The sweep and the CLI call it; tests run it against webex-fake over HTTP.

mod client;
mod error;
mod models;

pub use client::{CallCtx, WebexClient};
pub use error::WebexError;
pub(crate) use error::sanitise;
pub use models::{
    ClientCredentials, CodeGrant, DataSource, JwsClaims, MintRequest, TokenResponse,
    UpdateDataSource, Updated,
};
