#![doc = include_str!("../README.md")]

pub mod aws_http;
pub mod clock;
pub mod config;
pub mod error;
pub mod http;
pub mod leak;
pub mod metrics;
pub mod redact;
pub mod service;
pub mod tls;
pub mod tracing_init;

pub use clock::{Clock, FixedClock, SystemClock};
pub use config::{ConfigError, ConfigReader, env_lookup};
pub use error::{Classify, ErrorClass};
pub use leak::{Leak, LeakCheck, LeakGuard};
pub use metrics::{Emf, MemorySink, MetricSink, StdoutSink};
pub use service::{Invocation, Platform, aws_sdk_config, local_sdk_config, serve};
pub use tracing_init::{init_tracing, invocation_span};
