#![doc = include_str!("../README.md")]

pub mod activity;
pub mod alert;
pub mod button;
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

pub use activity::{ActivityError, ActivityIndex, ActivitySource, ActivitySourceKind, Subject};
pub use alert::Alert;
pub use envelope::{
    AccountRef, AdminExtendMsg, Envelope, EnvelopeError, ImportMsg, ImportRepo, ImportSource, Kind,
    MemberAction, MemberEventMsg, OrgRef, Payload,
};
pub use lookup::{FoundTicket, LookupSettings, TicketLookup, find_ticket};
pub use member::{MemberContext, MemberDecision, apply_member_event};
pub use queue::{EnqueueError, OutgoingMessage, QueueSender};
pub use review::{Activity, ReviewAction, ReviewConfig, review};
pub use ticket::{Access, ClsState, FieldIds, FieldKey, RemovalReason, RepoGrant, TicketFields};
