//! sockline: a browser realtime client SDK — SocketCluster over `WebSocket` and Server-Sent
//! Events over `EventSource`/`fetch` — compiled to WebAssembly.
//!
//! Layers (data flows one way, top to bottom):
//! - [`proto`]: the SocketCluster core, sans-IO (no clock, no RNG, no `web_sys`).
//! - [`sse`]: the Server-Sent Events core, sans-IO.
//! - `web`: thin browser drivers (WebSocket, EventSource, fetch, timers, page events, storage).
//! - `engine`: wires a core to its drivers (the pump) and hands events to a face.
//! - `client`, `stream`: the Rust face (futures and Streams).
//! - `js`: the JS face: wasm-bindgen exports and hand-written JS modules.
//!
//! Rules every layer keeps:
//! - **No `RefCell` borrow is held across a call into JS**: a browser API (`fetch`,
//!   `new EventSource`, `WebSocket.prototype.send`, `addEventListener`, `setTimeout`,
//!   `Date.now`, and every `Drop` that closes, aborts or clears one) or user code (listeners,
//!   `getHeaders`, token storage objects, callbacks). A page may wrap any of those globals and
//!   call back into the SDK from inside. A transition takes its borrow, releases it, then makes
//!   the calls (see `stream.rs`); the socket reads the clock before borrowing, takes browser
//!   objects out of their cells to use or drop them, and lets a nested call only queue work for
//!   the pump that is running (see `client.rs`).
//! - Nothing a page passes or a server sends may trap the wasm: wrongly typed arguments throw
//!   `InvalidArgumentsError`, bad input becomes an error value or event.
//! - Every queue is bounded; no `Closure::forget`.

pub mod proto;
pub mod sse;

#[cfg(target_arch = "wasm32")]
pub mod web;

/// The engines: a core wired to its drivers, under both faces.
#[cfg(target_arch = "wasm32")]
pub mod engine;

#[cfg(target_arch = "wasm32")]
pub mod client;

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

/// The global allocator of the wasm: talc, smaller than std's dlmalloc (feature `talc`, on by
/// default; a Rust app with its own `#[global_allocator]` turns it off).
#[cfg(all(
    feature = "talc",
    target_family = "wasm",
    not(target_feature = "atomics")
))]
#[global_allocator]
static TALC: talc::wasm::WasmDynamicTalc = talc::wasm::new_wasm_dynamic_allocator();
