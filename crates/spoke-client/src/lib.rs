#![doc = include_str!("../README.md")]

mod api;
mod client;
mod deadline;
mod error;
mod key;
mod lenient;
pub mod models;
pub mod paging;
pub mod query;

pub use api::{Matcher, SpokeApi, SpokeResult};
pub use client::{
    DEFAULT_ATTEMPT_TIMEOUT, DEFAULT_BASE_URL, DEFAULT_USER_AGENT, ROUTES, RateLimitStatus,
    SpokeClient, SpokeClientBuilder,
};
pub use deadline::with_deadline;
pub use error::{BodyExcerpt, BuildError, ErrorContext, SpokeError};
pub use key::{BuildClient, KeyError, KeyReadError, KeySource, RotatingSpoke};
pub use lambda_kit::http::RetryPolicy;
pub use models::*;
pub use query::{RequestQuery, RequestTypeQuery, TagQuery, TeamQuery, UserQuery};

#[cfg(test)]
mod provenance {
    use sha2::{Digest, Sha256};

    #[test]
    fn the_vendored_openapi_file_is_unchanged() {
        let vendored = include_bytes!("../openapi/atspoke-openapi.yaml");
        let digest = hex::encode(Sha256::digest(vendored));
        assert_eq!(
            digest, "c8ea9b8e1099352536363244c0cd6befe3e5dbd36699cf189091164250e5324c",
            "openapi/atspoke-openapi.yaml was edited; restore it or update PROVENANCE.md"
        );
    }
}
