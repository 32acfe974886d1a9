//! The JS face: the hand-written JS classes (`Socket`, `Channel` in `socket.js`; `EventStream`
//! in `event_stream.js`; shared helpers in `support.js`) over the engines of [`crate::engine`],
//! through a few static wasm exports and one batched call per pump; and the TypeScript
//! declarations wasm-bindgen cannot derive. It does not go through the Rust face.

pub mod event_stream;
pub mod socket;
mod socket_ts;

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
"#;
