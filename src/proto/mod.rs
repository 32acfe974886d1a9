//! The SocketCluster protocol core, sans-IO: frame codec, connection session state machine,
//! backoff, outbox, channels, auth token decoding and error values.
//!
//! Nothing here touches `web_sys`, reads a clock or draws random numbers: `now` (ms) and random
//! numbers are inputs, so every rule is testable natively on virtual time.

pub mod auth;
pub mod backoff;
pub mod codec;
pub mod error;
pub mod session;
pub mod table;

pub use backoff::BackoffConfig;
pub use error::{BadConnectionKind, CallError};
pub use session::{
    AuthState, CallId, CallOptions, ChannelState, Command, Config, Event, Output, ReplyTo, Session,
    SessionError, Span, State, SubscribeOptions,
};
