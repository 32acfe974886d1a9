//! The Server-Sent Events core, sans-IO: the event-stream parser and the reconnect/last-id policy.
//!
//! Owns the rules of `EventStream` that do not need a browser: [`parser`] turns bytes into
//! events (the `fetch` transport feeds it; the `eventsource` transport lets the browser parse),
//! and [`policy`] decides reconnect delays, giving up, the `fetch` status policy and which event
//! ids were already delivered. No `web_sys`, no clock, no RNG: `now` and random numbers are
//! parameters, so every rule runs under `cargo test` on virtual time.
//!
//! Bounds: one event's data (and any one line) is capped at [`MAX_EVENT_BYTES`] = 1 MiB; the
//! last [`policy::RECENT_IDS`] = 1024 delivered ids are remembered for de-duplication.

pub mod parser;
pub mod policy;

pub use parser::{Event, Output, Parser, MAX_EVENT_BYTES};
pub use policy::{FailKind, Next, Policy, Response};

#[cfg(test)]
mod tests;
