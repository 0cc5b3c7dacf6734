#![doc = include_str!("../README.md")]

pub mod activity;
pub mod alert;
pub mod alerter;
pub mod button;
pub mod config;
pub mod dates;
pub mod envelope;
pub mod identity;
pub mod lookup;
pub mod member;
pub mod messages;
pub mod metrics;
pub mod queue;
pub mod reminder;
pub mod review;
pub mod settings;
pub mod ticket;
pub mod wiring;

pub use activity::{ActivityError, ActivityIndex, ActivitySource, ActivitySourceKind, Subject};
pub use alert::Alert;
pub use alerter::{Alerter, SlackAlerter};
pub use envelope::{
    AccountRef, AdminExtendMsg, Envelope, EnvelopeError, ImportMsg, ImportRepo, ImportSource, Kind,
    MemberAction, MemberEventMsg, OrgRef, Payload,
};
pub use lookup::{FoundTicket, LookupSettings, TicketLookup, find_ticket};
pub use member::{MemberContext, MemberDecision, apply_member_event};
pub use queue::{EnqueueError, OutgoingMessage, QueueSender, SqsQueueSender};
pub use review::{Activity, ReviewAction, ReviewConfig, review};
pub use ticket::{Access, ClsState, FieldIds, FieldKey, RemovalReason, RepoGrant, TicketFields};
