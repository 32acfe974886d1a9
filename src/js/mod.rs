//! The JS face: the hand-written JS classes (`Socket`, `Channel` in `socket.js`; `EventStream`
//! in `event_stream.js`; shared helpers in `support.js`) over the engines of [`crate::engine`],
//! through a few static wasm exports and one batched call per pump; and the TypeScript
//! declarations wasm-bindgen cannot derive. It does not go through the Rust face.

#[allow(unused_imports)]
use crate::prelude::*;

#[cfg(feature = "sse")]
pub mod event_stream;
pub mod socket;
mod socket_ts;

use core::cell::Cell;

use crate::cell::RefCell;
use alloc::rc::Rc;

use crate::proto::backoff::BackoffConfig;

/// The engines of one kind by the id their JS object holds (`SocketEngine`, `SseEngine`). The
/// table is only borrowed to find, add or take out an entry, never while an engine runs.
pub(crate) struct Engines<E> {
    list: RefCell<Vec<(u32, Rc<E>)>>,
    next: Cell<u32>,
}

impl<E> Engines<E> {
    pub(crate) const fn new() -> Self {
        Engines {
            list: RefCell::new(Vec::new()),
            next: Cell::new(1),
        }
    }

    /// A fresh id (never 0), for the engine about to be added (its sink needs the id first).
    pub(crate) fn next_id(&self) -> u32 {
        let id = self.next.get();
        self.next.set(id.wrapping_add(1).max(1));
        id
    }

    pub(crate) fn insert(&self, id: u32, engine: Rc<E>) {
        self.list.borrow_mut().push((id, engine));
    }

    pub(crate) fn get(&self, id: u32) -> Option<Rc<E>> {
        self.list
            .borrow()
            .iter()
            .find(|(i, _)| *i == id)
            .map(|(_, e)| e.clone())
    }

    /// Forgets the engine of `id`; it is dropped (its browser objects released) after the
    /// borrow ends.
    pub(crate) fn remove(&self, id: u32) {
        let released = {
            let mut list = self.list.borrow_mut();
            list.iter()
                .position(|(i, _)| *i == id)
                .map(|i| list.swap_remove(i))
        };
        drop(released);
    }
}

/// Sets the backoff fields the class passed (`None`: the default stays): `initialDelay`,
/// `multiplier`, `maxDelay`, `jitter`, `randomness`, then `maxAttempts` (checked by the class:
/// Infinity or a whole number in 1..=u32::MAX).
pub(crate) fn set_backoff(
    b: &mut BackoffConfig,
    numbers: [Option<f64>; 5],
    max_attempts: Option<f64>,
) {
    let fields = [
        &mut b.initial_delay,
        &mut b.multiplier,
        &mut b.max_delay,
        &mut b.jitter,
        &mut b.randomness,
    ];
    for (field, v) in fields.into_iter().zip(numbers) {
        if let Some(v) = v {
            *field = v;
        }
    }
    if let Some(m) = max_attempts {
        b.max_attempts = (m != f64::INFINITY).then_some(m as u32);
    }
}

/// UTF-16 length of `s` (what JS slices by): one unit per scalar, two for a 4-byte one (counted
/// from the bytes, not by decoding). Both faces' batches use it.
pub(crate) fn utf16_len(s: &str) -> f64 {
    if s.is_ascii() {
        return s.len() as f64; // (checked a word at a time)
    }
    let mut n = 0;
    for &b in s.as_bytes() {
        n += usize::from(b & 0xC0 != 0x80) + usize::from(b >= 0xF0);
    }
    n as f64
}

/// The npm build (no Rust face): hands the JS classes their exports when the module is
/// instantiated (`init()`), as the package exports the classes themselves (`./run build`). A
/// build with the Rust face has no start function of its own (an app's would clash with it):
/// its constructors install on first use.
#[cfg(not(feature = "rust"))]
#[wasm_bindgen::prelude::wasm_bindgen(start, private)]
fn start() {
    socket::install();
    #[cfg(feature = "sse")]
    event_stream::install();
}

/// Installs the panic hook once in debug builds (panics are bugs: there they are logged with their
/// message and a stack). Release builds leave it out (1.2 KB gzipped): a panic there aborts as a
/// `RuntimeError: unreachable` with the wasm stack, and the message is not printed.
pub(crate) fn init_once() {
    #[cfg(all(debug_assertions, feature = "rust"))]
    {
        use std::sync::Once;
        static ONCE: Once = Once::new();
        ONCE.call_once(console_error_panic_hook::set_once);
    }
}

#[wasm_bindgen::prelude::wasm_bindgen(typescript_custom_section)]
const TS_TYPES: &'static str = r#"
export type SocketEventName =
  | 'connecting' | 'connect' | 'connectAbort' | 'disconnect' | 'close' | 'reconnecting'
  | 'giveUp' | 'error' | 'authenticate' | 'deauthenticate' | 'authStateChange'
  | 'subscribe' | 'subscribeFail' | 'unsubscribe' | 'subscribeStateChange' | 'kickOut' | 'raw';
export type ChannelEventName =
  | 'subscribe' | 'subscribeFail' | 'unsubscribe' | 'kickOut' | 'subscribeStateChange';
export interface BackoffOptions {
  initialDelay?: number; multiplier?: number; maxDelay?: number;
  jitter?: number; randomness?: number; maxAttempts?: number;
}
export interface TokenStorage {
  loadToken(name: string): string | null | Promise<string | null>;
  saveToken(name: string, token: string): void | Promise<void>;
  removeToken(name: string): void | Promise<void>;
}
export interface SocketOptions {
  autoConnect?: boolean; autoReconnect?: boolean; autoReconnectOptions?: BackoffOptions;
  ackTimeout?: number; connectTimeout?: number; pingTimeoutDisabled?: boolean;
  protocolVersion?: 1 | 2; query?: Record<string, string | string[]> | string;
  autoSubscribeOnConnect?: boolean; authTokenName?: string;
  authStorage?: 'local' | 'session' | 'memory' | TokenStorage; outboxLimit?: number;
  /** Largest inbound frame in UTF-8 bytes (default 16 MiB); a bigger one closes with 1009. */
  maxPayload?: number;
}
export interface SubscribeOptions { waitForAuth?: boolean; data?: any; priority?: number; }
export interface EmitOptions { ackTimeout?: number; retries?: number; }
"#;
