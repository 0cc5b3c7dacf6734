#![doc = include_str!("../README.md")]

pub mod alerter;
pub mod clients;
pub mod config;
pub mod load;
pub mod queue;

pub use alerter::{AlertUrl, Alerter, SlackAlerter, to_it_alert};
pub use clients::{
    AlertSource, ClientFactory, ClsSettings, RawSecrets, Reloader, SpokeKey, StartupError,
    decode_github, decode_identity, decode_spoke, installation,
};
pub use config::{ApiUrls, ClsConfig, PRODUCTION, is_production};
pub use load::{
    SettingsLoadError, legacy_alert_settings, load_alert_settings, load_webhook_settings,
};
pub use queue::SqsQueueSender;
