#![doc = include_str!("../README.md")]

mod control;
mod faults;
pub mod http;
mod journal;
mod kit;
pub mod moto;
mod seeded;
mod serve;
pub mod testing;

pub use control::{FakeState, fake_app};
pub use faults::{ActiveFault, FaultRule};
pub use http::{client_builder, default_client};
pub use journal::{JournalEntry, fingerprint};
pub use kit::{FakeKit, RateLimitConfig};
pub use seeded::{SeededState, SeededStore};
pub use serve::{RunningServer, ServeError, serve, serve_ephemeral};
