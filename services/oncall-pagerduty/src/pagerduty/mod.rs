//! The PagerDuty REST API v2 client of this service: `GET /oncalls` with paging, retries and rate limits,
//! authenticated with the key from the secret (README, "PagerDuty calls"). Used by this service only, so it
//! lives here (docs/architecture.md: a client moves to `crates/` when a second user appears).

mod client;
mod error;
mod models;

pub use client::{
    ACCEPT_V2, CallCtx, MAX_PAGES, OncallQuery, PAGE_LIMIT, PagerDutyClient, rate_limit_wait,
};
pub use error::PagerDutyError;
pub use models::{OnCall, OncallPage, Reference, User};
