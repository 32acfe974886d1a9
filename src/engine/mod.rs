//! The engines: each wires one sans-IO core to its browser drivers (the pump) and hands the
//! core's user-visible events to a face through one callback. Both faces stand on an engine side
//! by side: the Rust face (`src/client.rs`, `src/stream.rs`: futures, Streams, listeners) and
//! the JS face (`src/js/`: a hand-written JS class over a handful of wasm exports). Neither face
//! goes through the other.
//!
//! The pattern ([`sse::SseEngine`]): an input from a driver or a face is fed to the core under
//! one short `RefCell` borrow; the pump then drains the core's commands, timer deadline and
//! events under short borrows and runs them with **no borrow held** (driver calls, `setTimeout`,
//! the face callback), so a page that wraps a browser API, and any listener, may call back into
//! the engine. Inputs carry the connection generation they belong to; a late one is ignored by
//! the core.

pub mod socket;
#[cfg(feature = "sse")]
pub mod sse;
