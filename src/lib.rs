//! sockline: a browser realtime client SDK — SocketCluster over `WebSocket` and Server-Sent
//! Events over `EventSource`/`fetch` — compiled to WebAssembly, for Rust front ends (Leptos,
//! Yew, Dioxus, plain wasm-bindgen) and, through its npm package, for JavaScript.
//!
//! Everything a Rust app names is at the crate root: [`Socket`], [`Channel`], [`EventStream`],
//! their options, events and one [`Error`] (feature `rust`, on by default; the npm build leaves
//! it out, and its JS face stands on the engines alone). Payloads are your serde types (feature
//! `serde`, on by default); the `*_text` methods take JSON text instead. `EventStream` and the
//! [`sse`] core are feature `sse` (on by default); without it the crate is SocketCluster only.
//!
//! # Quick start
//!
//! (Compiled as a doc test for wasm32: `cargo test --doc --target wasm32-unknown-unknown`.)
//!
#![cfg_attr(target_arch = "wasm32", doc = "```no_run")]
#![cfg_attr(not(target_arch = "wasm32"), doc = "```ignore")]
//! use futures::StreamExt;
//! use serde::{Deserialize, Serialize};
//! use sockline::{Error, EventStream, EventStreamOptions, Socket, SocketOptions, SubscribeOptions};
//!
//! #[derive(Serialize, Deserialize)]
//! struct Greeting {
//!     hello: String,
//! }
//!
//! async fn run() -> Result<(), Error> {
//!     let socket = Socket::new("ws://localhost:8000/socketcluster/", SocketOptions::default())?;
//!     socket.connected().await?;
//!
//!     // A call with typed request and answer.
//!     let echo: Greeting = socket.emit("echo", &Greeting { hello: "world".into() }).await?;
//!     assert_eq!(echo.hello, "world");
//!
//!     // A channel as a Stream of typed messages.
//!     let news = socket.subscribe("news", SubscribeOptions::default());
//!     news.subscribed().await?;
//!     news.publish(&Greeting { hello: "everyone".into() }).await?;
//!     let mut messages = news.messages::<Greeting>();
//!     while let Some(message) = messages.next().await {
//!         println!("news: {}", message?.hello);
//!     }
//!
//!     // Answer a procedure the server invokes.
//!     socket.on_invoke("greet", |who: String| async move { Ok(Greeting { hello: who }) });
//!
//!     // Server-Sent Events that resume from the last event id.
//!     let mut ticks = EventStream::new("/ticks", EventStreamOptions::default())?;
//!     while let Some(event) = ticks.next().await {
//!         let tick: u64 = event.json()?;
//!         println!("tick {tick}");
//!     }
//!     Ok(())
//! }
//! ```
//!
//! # Layers
//!
//! Data flows one way, top to bottom:
//! - [`proto`]: the SocketCluster core, sans-IO (no clock, no RNG, no `web_sys`).
//! - [`sse`]: the Server-Sent Events core, sans-IO.
//! - `web`: thin browser drivers (WebSocket, EventSource, fetch, timers, page events, storage).
//! - `engine`: wires a core to its drivers (the pump) and hands events to a face.
//! - the Rust face (futures and Streams: `client.rs`, `stream.rs`, `error.rs`,
//!   `auth_storage.rs`; feature `rust`): private modules, everything they define is at the
//!   crate root.
//! - `js`: the JS face: wasm-bindgen exports and hand-written JS modules.
//! - `cell` (under the wasm code): its `RefCell`, whose borrow conflicts trap, and `global!`,
//!   single-thread statics.
//!
//! Rules every layer keeps:
//! - **No `RefCell` borrow is held across a call into JS**: a browser API (`fetch`,
//!   `new EventSource`, `WebSocket.prototype.send`, `addEventListener`, `setTimeout`,
//!   `Date.now`, and every `Drop` that closes, aborts or clears one) or user code (listeners,
//!   `getHeaders`, token storage objects, callbacks). A page may wrap any of those globals and
//!   call back into the SDK from inside. A transition takes its borrow, releases it, then makes
//!   the calls (see `engine/sse.rs`); the socket reads the clock before borrowing, takes browser
//!   objects out of their cells to use or drop them, and lets a nested call only queue work for
//!   the pump that is running (see `engine/socket.rs`).
//! - Nothing a page passes or a server sends may trap the wasm: wrongly typed arguments throw
//!   `InvalidArgumentsError`, bad input becomes an error value or event.
//! - Every queue is bounded; no `Closure::forget`.
#![deny(missing_docs)]
// The npm build (talc, no Rust API) links no std: std's panic handler alone kept core's
// formatting machinery (`fmt::write`, the panic payloads and hook) in the wasm; a panic (a bug:
// none is reachable from input) traps there instead (see `panic` below).
#![cfg_attr(
    all(
        target_arch = "wasm32",
        feature = "talc",
        not(feature = "rust"),
        not(target_feature = "atomics")
    ),
    no_std
)]

extern crate alloc;

/// What std's prelude gives, for the modules that build without std too (the npm build).
#[allow(unused_imports)]
mod prelude {
    pub use alloc::borrow::ToOwned;
    pub use alloc::boxed::Box;
    pub use alloc::string::{String, ToString};
    pub use alloc::vec;
    pub use alloc::vec::Vec;
}

/// The panic handler of the no-std npm build: a panic is a bug (none is reachable from input);
/// it traps, as a panic of a release build with std did (`RuntimeError: unreachable`).
#[cfg(all(
    target_arch = "wasm32",
    feature = "talc",
    not(feature = "rust"),
    not(target_feature = "atomics")
))]
#[panic_handler]
fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
    core::arch::wasm32::unreachable()
}

pub mod proto;
#[cfg(feature = "sse")]
pub mod sse;

/// Browser drivers (WebSocket, EventSource, fetch, page events, storage); internal.
#[cfg(target_arch = "wasm32")]
#[doc(hidden)]
#[allow(missing_docs)]
pub mod web;

// The engines: a core wired to its drivers, under both faces (internal).
#[cfg(target_arch = "wasm32")]
#[doc(hidden)]
#[allow(missing_docs)]
pub mod engine;

#[cfg(all(target_arch = "wasm32", feature = "rust"))]
mod auth_storage;
#[cfg(target_arch = "wasm32")]
mod cell;
#[cfg(all(target_arch = "wasm32", feature = "rust"))]
mod client;
#[cfg(all(target_arch = "wasm32", feature = "rust"))]
mod error;
#[cfg(all(target_arch = "wasm32", feature = "rust", feature = "sse"))]
mod stream;

/// The wasm-bindgen adapter (public so browser tests can drive the JS classes).
#[cfg(target_arch = "wasm32")]
#[doc(hidden)]
#[allow(missing_docs)]
pub mod js;

#[cfg(all(target_arch = "wasm32", feature = "rust"))]
pub use auth_storage::AuthStorage;
#[cfg(all(target_arch = "wasm32", feature = "token-storage"))]
pub use auth_storage::{TokenLoad, TokenStorage};
#[cfg(all(target_arch = "wasm32", feature = "serde"))]
pub use client::MESSAGES_BUFFER;
#[cfg(all(target_arch = "wasm32", feature = "rust"))]
pub use client::{
    normalize_url, CallResult, Channel, EventsStream, HandlerId, Responder, Socket, SocketEvent,
    SocketOptions,
};
#[cfg(all(target_arch = "wasm32", feature = "rust"))]
pub use error::{ConfigError, Error};
pub use proto::{
    AuthState, BackoffConfig, BadConnectionKind, CallOptions, ChannelState, Config, ReplyTo, State,
    SubscribeOptions,
};
#[cfg(all(target_arch = "wasm32", feature = "rust", feature = "sse"))]
pub use stream::{
    CloseReason, ErrorKind, EventStream, EventStreamOptions, GetHeaders, ListenerId, MessageEvent,
    NextMessage, ReadyState, StreamError, StreamEvent, Transport, STREAM_BUFFER,
};

/// The global allocator of the wasm: talc, smaller than std's dlmalloc (feature `talc`, on by
/// default; a Rust app with its own `#[global_allocator]` turns it off).
#[cfg(all(
    feature = "talc",
    target_family = "wasm",
    not(target_feature = "atomics")
))]
#[global_allocator]
static TALC: talc::wasm::WasmDynamicTalc = talc::wasm::new_wasm_dynamic_allocator();

/// The README's Rust quick start, compiled as a doc test (for wasm32, where the API exists).
#[cfg(all(doctest, target_arch = "wasm32", feature = "rust"))]
#[doc = include_str!("../README.md")]
struct ReadmeQuickStart;
