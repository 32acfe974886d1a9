//! The wasm-bindgen adapter: the JS classes (`Socket`, `Channel`, `EventStream`) over the Rust
//! API in [`crate::client`], JS helpers in `support.js`, and the TypeScript declarations that
//! wasm-bindgen cannot derive.

pub mod emitter;
pub mod errors;
pub mod event_stream;
pub mod socket;

/// Installs the panic hook once (panics are bugs: they are logged with a stack, never silent).
pub(crate) fn init_once() {
    use std::sync::Once;
    static ONCE: Once = Once::new();
    ONCE.call_once(console_error_panic_hook::set_once);
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
}
export interface EmitOptions { ackTimeout?: number; retries?: number; }
export interface SubscribeOptions { waitForAuth?: boolean; data?: any; priority?: number; }
export interface Channel extends AsyncIterable<any> {}
"#;
