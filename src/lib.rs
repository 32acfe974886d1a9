//! sockline: a browser realtime client SDK — SocketCluster over `WebSocket` and Server-Sent
//! Events over `EventSource`/`fetch` — compiled to WebAssembly.
//!
//! Layers (data flows one way, top to bottom):
//! - [`proto`]: the SocketCluster core, sans-IO (no clock, no RNG, no `web_sys`).
//! - [`sse`]: the Server-Sent Events core, sans-IO.
//! - `web`: thin browser drivers (WebSocket, EventSource, fetch, timers, page events, storage).
//! - `client`: the Rust API (futures and Streams).
//! - `js`: the wasm-bindgen adapter that JavaScript imports.

pub mod proto;
pub mod sse;

#[cfg(target_arch = "wasm32")]
pub mod web;

#[cfg(target_arch = "wasm32")]
pub mod client;

/// The Rust `EventStream` (Server-Sent Events).
#[cfg(target_arch = "wasm32")]
pub mod stream;

/// The wasm-bindgen adapter (public so browser tests can drive the JS classes).
#[cfg(target_arch = "wasm32")]
#[doc(hidden)]
pub mod js;

#[cfg(target_arch = "wasm32")]
pub use client::{Channel, Socket};
#[cfg(target_arch = "wasm32")]
pub use stream::EventStream;
