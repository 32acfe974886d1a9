//! The Server-Sent Events core, sans-IO: the event-stream parser and the reconnect/last-id policy.
//!
//! Owns the rules of `EventStream` that do not need a browser: [`parser`] turns bytes into
//! events (the `fetch` transport feeds it; the `eventsource` transport lets the browser parse),
//! [`policy`] decides reconnect delays, giving up, the `fetch` status policy and which event
//! ids were already delivered, and [`session`] runs the whole lifecycle of one stream over them
//! (`handle_*(input, now)` → `poll_*()`, like `proto::Session`). No `web_sys`, no clock, no RNG: `now` and random numbers are
//! parameters, so every rule runs under `cargo test` on virtual time.
//!
//! Bounds: one event's data (and any one line) is capped at [`MAX_EVENT_BYTES`] = 1 MiB; the
//! last [`policy::RECENT_IDS`] = 1024 delivered ids are remembered for de-duplication.

pub mod parser;
pub mod policy;
pub mod session;

pub use parser::{Event, Output, Parser, MAX_EVENT_BYTES};
pub use policy::{FailKind, Next, Policy, Response};
pub use session::{Command, Config, Session};

#[cfg(test)]
mod session_tests;
#[cfg(test)]
mod tests;
