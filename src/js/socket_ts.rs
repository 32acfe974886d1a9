//! The TypeScript declarations of the hand-written `Socket` and `Channel` classes (`socket.js`)
//! and of `connect()`: wasm-bindgen cannot derive them from JS.

use wasm_bindgen::prelude::*;

#[wasm_bindgen(typescript_custom_section)]
const TS_SOCKET: &'static str = r#"
/** `connect(url, options)` is `new Socket(url, options)`. */
export function connect(url: string | URL, options?: SocketOptions): Socket;
/**
 * A SocketCluster socket (`connect(url, options)` or `new Socket(url, options)`).
 *
 * Dropping the JS object does not close the connection, as with a browser `WebSocket`: a
 * connected or reconnecting socket stays alive, with its listeners, until `disconnect()`,
 * `giveUp` or a close that is not followed by a reconnect. An explicit `free()` disconnects
 * first, then releases everything.
 */
export class Socket {
  constructor(url: string | URL, options?: SocketOptions);
  /** The server-assigned socket id, or `null` before the handshake. */
  readonly id: string | null;
  readonly state: 'connecting' | 'open' | 'closed';
  readonly authState: 'authenticated' | 'unauthenticated';
  /** The decoded payload of the signed auth token, or `null`. */
  readonly authToken: Record<string, any> | null;
  readonly signedAuthToken: string | null;
  readonly pendingReconnect: boolean;
  readonly connectAttempts: number;
  readonly url: string;
  readonly authTokenName: string;
  connect(): void;
  /**
   * Closes (default code 1000) and releases every listener and timer the socket holds in the
   * browser. Event listeners added with `on` stay, for a later `connect()`.
   */
  disconnect(code?: number, reason?: string): void;
  reconnect(code?: number, reason?: string): void;
  /** Sends `{event, data, cid}`; resolves with the answer's data. */
  emit(event: string, data?: any, options?: EmitOptions): Promise<any>;
  /** Seed-compatible form: `callback(err, data)`, exactly once. */
  emit(event: string, data: any, callback: (err: Error | null, data?: any) => void): void;
  /** Sends `{event, data}` without a `cid`; never fails. */
  transmit(event: string, data?: any): void;
  /** `#publish` with a `cid`; resolves on the server's ack. */
  publish(channel: string, data?: any, options?: EmitOptions): Promise<void>;
  publish(channel: string, data: any, callback: (err: Error | null) => void): void;
  /** `#publish` without a `cid`. */
  transmitPublish(channel: string, data?: any): void;
  /** Subscribes; the same `Channel` object for the same name while it exists. */
  subscribe(channel: string, options?: SubscribeOptions): Channel;
  unsubscribe(channel: string): void;
  /** The `Channel` object of `name` (subscribed or not). */
  channel(name: string): Channel;
  /** Names of subscribed channels (and pending ones with `includePending`). */
  subscriptions(includePending?: boolean): string[];
  /** `#authenticate` with a signed token. */
  authenticate(signedToken: string): Promise<{ isAuthenticated: boolean; authError: Error | null }>;
  /** Removes the stored token and sends `#removeAuthToken`. */
  deauthenticate(): Promise<void>;
  /** Adds a listener; returns the function that removes it. */
  on(name: SocketEventName | (string & {}), listener: (...args: any[]) => any): () => void;
  /** The first payload of the next `name` event; rejects with `TimeoutError` after `timeoutMs`. */
  once(name: SocketEventName | (string & {}), timeoutMs?: number): Promise<any>;
  /** Removes `listener` from `name`, every listener of `name`, or (no name) every listener. */
  off(name?: SocketEventName | (string & {}), listener?: (...args: any[]) => any): void;
  /** Disconnects (1000), then releases the socket; any later use throws. */
  free(): void;
}
/**
 * A channel (`socket.subscribe(name)`), with its own listeners and watchers. An explicit
 * `free()` unsubscribes first and drops the name's listeners and watchers.
 */
export class Channel implements AsyncIterable<any> {
  private constructor();
  readonly name: string;
  readonly state: 'pending' | 'subscribed' | 'unsubscribed';
  /**
   * Adds a listener for `subscribe`, `subscribeFail`, `unsubscribe`, `kickOut` or
   * `subscribeStateChange`; returns the function that removes it.
   */
  on(name: ChannelEventName, listener: (...args: any[]) => void): () => void;
  /** The first payload of the next `name` event; rejects with `TimeoutError` after `timeoutMs`. */
  once(name: ChannelEventName, timeoutMs?: number): Promise<any>;
  off(name?: ChannelEventName, listener?: (...args: any[]) => void): void;
  /** Calls `fn(data)` for every message published to the channel (survives reconnects). */
  watch(listener: (data: any) => void): void;
  /** Removes one watcher, or all of them. */
  unwatch(listener?: (data: any) => void): void;
  /** Publishes to this channel; resolves on the server's ack. */
  publish(data?: any): Promise<void>;
  transmitPublish(data?: any): void;
  unsubscribe(): void;
  /**
   * `unsubscribe()`, then the socket forgets what it keeps for the name (listeners and watchers
   * are removed, `for await` loops end), so the next `channel(name)` / `subscribe(name)` makes
   * a fresh object; any later use of this one throws.
   */
  free(): void;
  /** `for await (const data of channel)`: at most 10 000 unread messages, the oldest dropped. */
  [Symbol.asyncIterator](): AsyncIterator<any>;
}
"#;
