//! The wasm-bindgen adapter: the JS classes (`Socket`, `Channel`, `EventStream`) over the Rust
//! API in [`crate::client`], JS helpers in `support.js`, and the TypeScript declarations that
//! wasm-bindgen cannot derive.

pub mod emitter;
pub mod errors;
pub mod event_stream;
pub mod socket;

use std::any::Any;
use std::cell::RefCell;

thread_local! {
    /// Objects kept alive while they are connected or reconnecting, like a browser keeps an open
    /// `WebSocket`/`EventSource` alive: a page that drops its last reference to a live socket or
    /// stream keeps receiving events until it is closed.
    static LIVE: RefCell<Vec<(usize, Box<dyn Any>)>> = const { RefCell::new(Vec::new()) };
}

/// Keeps `value` alive under `key` until [`let_go`] (idempotent).
pub(crate) fn keep_alive(key: usize, value: Box<dyn Any>) {
    LIVE.with(|l| {
        let mut l = l.borrow_mut();
        if !l.iter().any(|(k, _)| *k == key) {
            l.push((key, value));
        }
    });
}

/// Releases what [`keep_alive`] kept under `key`.
pub(crate) fn let_go(key: usize) {
    let released = LIVE.with(|l| {
        let mut l = l.borrow_mut();
        l.iter()
            .position(|(k, _)| *k == key)
            .map(|i| l.swap_remove(i))
    });
    drop(released); // outside the borrow: dropping may run other destructors
}

#[wasm_bindgen::prelude::wasm_bindgen(module = "/src/js/support.js")]
extern "C" {
    #[wasm_bindgen(js_name = closeOnFree)]
    fn close_on_free(probe: wasm_bindgen::JsValue);
}

/// Makes an explicit `free()` on a class close the object (its `__close()` method) before
/// releasing it, once per class: `probe` makes a throwaway object of the class to reach its
/// prototype. Garbage collection (the finalizer) still closes nothing: see [`keep_alive`].
pub(crate) fn close_on_free_once(
    done: &'static std::thread::LocalKey<std::cell::Cell<bool>>,
    probe: impl FnOnce() -> wasm_bindgen::JsValue,
) {
    if !done.with(|d| d.replace(true)) {
        close_on_free(probe());
    }
}

/// Installs the panic hook once in debug builds (panics are bugs: there they are logged with their
/// message and a stack). Release builds leave it out (1.2 KB gzipped): a panic there aborts as a
/// `RuntimeError: unreachable` with the wasm stack, and the message is not printed.
pub(crate) fn init_once() {
    #[cfg(debug_assertions)]
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
/** `connect(url, options)` is `new Socket(url, options)`. */
export function connect(url: string | URL, options?: SocketOptions): Socket;
export interface Socket {
  emit(event: string, data?: any, options?: EmitOptions): Promise<any>;
  emit(event: string, data: any, callback: (err: Error | null, data?: any) => void): void;
  transmit(event: string, data?: any): void;
  publish(channel: string, data?: any, options?: EmitOptions): Promise<void>;
  publish(channel: string, data: any, callback: (err: Error | null) => void): void;
  transmitPublish(channel: string, data?: any): void;
  subscribe(channel: string, options?: SubscribeOptions): Channel;
  unsubscribe(channel: string): void;
  channel(name: string): Channel;
  subscriptions(includePending?: boolean): string[];
  authenticate(signedToken: string): Promise<{ isAuthenticated: boolean; authError: Error | null }>;
  disconnect(code?: number, reason?: string): void;
  reconnect(code?: number, reason?: string): void;
  once(name: SocketEventName | (string & {}), timeoutMs?: number): Promise<any>;
  off(name?: SocketEventName | (string & {}), listener?: (...args: any[]) => any): void;
}
export interface Channel extends AsyncIterable<any> {
  publish(data?: any): Promise<void>;
  transmitPublish(data?: any): void;
  once(name: ChannelEventName, timeoutMs?: number): Promise<any>;
  off(name?: ChannelEventName, listener?: (...args: any[]) => void): void;
  unwatch(listener?: (data: any) => void): void;
}
"#;
