//! The JS face of `Socket` and `Channel`, wasm side: with the Rust face, the `Socket`,
//! `connect` and `Channel` exports (which make objects of the hand-written classes in
//! `socket.js`; the npm package exports the classes themselves), the six static
//! calls those classes make (`SocketEngine.open`, `act` and `call` for every action by kind,
//! the getters `num` and `text`, `channelState`) over
//! [`crate::engine::socket::SocketEngine`], and the one batched call that hands each pump's
//! events to the class (which owns the listeners, channels, Promises by call key, `for await`,
//! option checks, error objects and event payloads).
//!
//! Engines live here by id until the class lets them go (`free()`, or its
//! `FinalizationRegistry` once a socket that is closed for good is collected); the class keeps a
//! live socket's object alive itself, as a browser keeps an open `WebSocket` alive.
//!
//! [`JsSocket`] is a binding of the JS class for Rust callers (the browser tests), with the
//! class's own method names.

#[allow(unused_imports)]
use crate::prelude::*;

use alloc::rc::Rc;
use core::cell::Cell;

use wasm_bindgen::prelude::*;

use super::{set_backoff, utf16_len, Engines};
use crate::cell::global;
use crate::engine::socket::{Lent, SocketEngine};
use crate::proto::{
    auth, codec, AuthState, BadConnectionKind, CallError, CallOptions, ChannelState, Config, Event,
    ReplyTo, SessionError, State, SubscribeOptions,
};
use crate::web::storage::StoreKind;

#[wasm_bindgen(module = "/src/js/support.js")]
extern "C" {
    #[wasm_bindgen(js_name = setSocketHost)]
    fn set_host(host: SocketHost);
    /// `a[i]` of a JS array of numbers (`f64` in and out: no glue shim).
    #[wasm_bindgen(js_name = numAt)]
    fn num_at(a: &JsValue, i: f64) -> f64;
    /// `a[i]` of a JS array (no glue shim either).
    #[wasm_bindgen(js_name = valueAt)]
    fn value_at(a: &JsValue, i: f64) -> JsValue;
}

#[cfg(feature = "rust")]
#[wasm_bindgen]
extern "C" {
    type TypeError;
    #[wasm_bindgen(constructor)]
    fn new(message: &str) -> TypeError;
}

#[wasm_bindgen(module = "/src/js/socket.js")]
extern "C" {
    /// The events of one pump, encoded (see `socket.js`): one call per pump. `nums` is the
    /// `len` numbers at `at` in wasm memory, which the class copies first (a pointer, not a
    /// `&[f64]`: no `Float64Array` view helpers in the glue); `text` is a view of wasm memory
    /// for the length of the call.
    fn deliver(id: u32, at: *const f64, len: usize, text: Option<&str>);
    /// A pump of one kind-20 record (a channel message sliced out of the held frame), as
    /// numbers (all `f64`: the wasm imports the function itself, with no glue shim to convert
    /// a `u32`).
    #[wasm_bindgen(js_name = deliverMessage)]
    fn deliver_message(id: f64, cs: f64, cl: f64, ds: f64, dl: f64);

    /// The JS class `Socket` (what `import { Socket } from 'sockline'` gives).
    #[wasm_bindgen(js_name = Socket)]
    #[derive(Clone)]
    pub type JsSocket;
    #[wasm_bindgen(constructor, catch, js_class = Socket)]
    fn construct(url: JsValue, options: JsValue) -> Result<JsSocket, JsValue>;
}

// The class's members, for Rust callers (the browser tests): feature `rust`.
#[cfg(feature = "rust")]
#[wasm_bindgen(module = "/src/js/socket.js")]
extern "C" {
    #[wasm_bindgen(method, getter, js_class = Socket, js_name = id)]
    pub fn js_id(this: &JsSocket) -> JsValue;
    #[wasm_bindgen(method, getter, js_class = Socket, js_name = id)]
    pub fn id(this: &JsSocket) -> Option<String>;
    #[wasm_bindgen(method, getter, js_class = Socket)]
    pub fn state(this: &JsSocket) -> String;
    #[wasm_bindgen(method, getter, js_class = Socket, js_name = authState)]
    pub fn auth_state(this: &JsSocket) -> String;
    #[wasm_bindgen(method, getter, js_class = Socket, js_name = authToken)]
    pub fn auth_token(this: &JsSocket) -> JsValue;
    #[wasm_bindgen(method, getter, js_class = Socket, js_name = signedAuthToken)]
    pub fn js_signed_auth_token(this: &JsSocket) -> JsValue;
    #[wasm_bindgen(method, getter, js_class = Socket, js_name = signedAuthToken)]
    pub fn signed_auth_token(this: &JsSocket) -> Option<String>;
    #[wasm_bindgen(method, getter, js_class = Socket, js_name = pendingReconnect)]
    pub fn pending_reconnect(this: &JsSocket) -> bool;
    #[wasm_bindgen(method, getter, js_class = Socket, js_name = connectAttempts)]
    pub fn connect_attempts(this: &JsSocket) -> u32;
    #[wasm_bindgen(method, getter, js_class = Socket)]
    pub fn url(this: &JsSocket) -> String;
    #[wasm_bindgen(method, getter, js_class = Socket, js_name = authTokenName)]
    pub fn auth_token_name(this: &JsSocket) -> String;
    #[wasm_bindgen(method, js_class = Socket)]
    pub fn connect(this: &JsSocket);
    /// `disconnect(code, reason)` (`None`: 1000, no reason).
    #[wasm_bindgen(method, catch, js_class = Socket)]
    pub fn disconnect(
        this: &JsSocket,
        code: Option<u16>,
        reason: Option<String>,
    ) -> Result<(), JsValue>;
    #[wasm_bindgen(method, catch, js_class = Socket, js_name = disconnect)]
    pub fn js_disconnect(this: &JsSocket, code: JsValue, reason: JsValue) -> Result<(), JsValue>;
    #[wasm_bindgen(method, catch, js_class = Socket)]
    pub fn reconnect(
        this: &JsSocket,
        code: Option<u16>,
        reason: Option<String>,
    ) -> Result<(), JsValue>;
    #[wasm_bindgen(method, catch, js_class = Socket, js_name = reconnect)]
    pub fn js_reconnect(this: &JsSocket, code: JsValue, reason: JsValue) -> Result<(), JsValue>;
    #[wasm_bindgen(method, catch, js_class = Socket)]
    pub fn emit(
        this: &JsSocket,
        event: JsValue,
        data: JsValue,
        options: JsValue,
    ) -> Result<JsValue, JsValue>;
    #[wasm_bindgen(method, catch, js_class = Socket)]
    pub fn transmit(this: &JsSocket, event: JsValue, data: JsValue) -> Result<(), JsValue>;
    #[wasm_bindgen(method, catch, js_class = Socket)]
    pub fn publish(
        this: &JsSocket,
        channel: JsValue,
        data: JsValue,
        options: JsValue,
    ) -> Result<JsValue, JsValue>;
    #[wasm_bindgen(method, catch, js_class = Socket, js_name = transmitPublish)]
    pub fn transmit_publish(
        this: &JsSocket,
        channel: JsValue,
        data: JsValue,
    ) -> Result<(), JsValue>;
    #[wasm_bindgen(method, catch, js_class = Socket)]
    pub fn subscribe(
        this: &JsSocket,
        channel: JsValue,
        options: JsValue,
    ) -> Result<JsValue, JsValue>;
    #[wasm_bindgen(method, catch, js_class = Socket)]
    pub fn unsubscribe(this: &JsSocket, channel: JsValue) -> Result<(), JsValue>;
    #[wasm_bindgen(method, catch, js_class = Socket)]
    pub fn channel(this: &JsSocket, name: JsValue) -> Result<JsValue, JsValue>;
    #[wasm_bindgen(method, catch, js_class = Socket, js_name = subscriptions)]
    pub fn js_subscriptions(
        this: &JsSocket,
        include_pending: JsValue,
    ) -> Result<js_sys::Array, JsValue>;
    #[wasm_bindgen(method, catch, js_class = Socket)]
    pub fn authenticate(this: &JsSocket, token: JsValue) -> Result<js_sys::Promise, JsValue>;
    #[wasm_bindgen(method, js_class = Socket)]
    pub fn deauthenticate(this: &JsSocket) -> js_sys::Promise;
    #[wasm_bindgen(method, catch, js_class = Socket)]
    pub fn on(
        this: &JsSocket,
        name: JsValue,
        listener: JsValue,
    ) -> Result<js_sys::Function, JsValue>;
    #[wasm_bindgen(method, catch, js_class = Socket, js_name = once)]
    pub fn js_once(
        this: &JsSocket,
        name: JsValue,
        timeout_ms: JsValue,
    ) -> Result<js_sys::Promise, JsValue>;
    #[wasm_bindgen(method, js_class = Socket)]
    pub fn once(this: &JsSocket, name: String, timeout_ms: JsValue) -> js_sys::Promise;
    #[wasm_bindgen(method, catch, js_class = Socket, js_name = off)]
    pub fn js_off(this: &JsSocket, name: JsValue, listener: JsValue) -> Result<(), JsValue>;
    #[wasm_bindgen(method, js_class = Socket)]
    pub fn off(this: &JsSocket, name: JsValue, listener: JsValue);
    /// `free()`: disconnects, then lets the engine go.
    #[wasm_bindgen(method, js_class = Socket)]
    pub fn free(this: &JsSocket);
}

#[cfg(feature = "rust")]
impl JsSocket {
    /// `new Socket(url, options)`; throws what the class throws (`InvalidArgumentsError`).
    pub fn new(url: &str, options: JsValue) -> Result<JsSocket, JsValue> {
        install();
        JsSocket::construct(url.into(), options)
    }

    /// `subscriptions(includePending)` for Rust callers.
    pub fn subscriptions(&self, include_pending: Option<bool>) -> Vec<String> {
        let arg = include_pending.map_or(JsValue::UNDEFINED, JsValue::from);
        self.js_subscriptions(arg)
            .map(|a| a.iter().filter_map(|v| v.as_string()).collect())
            .unwrap_or_default()
    }
}

/// `connect(url, options)` for Rust callers.
#[cfg(feature = "rust")]
pub fn connect(url: &str, options: JsValue) -> Result<JsSocket, JsValue> {
    JsSocket::new(url, options)
}

/// `new Socket(url, options)` as the glue of a build with the Rust face exports it (the browser
/// tests' page): an object of the hand-written class (a function called with `new` that returns
/// an object gives `new` that object). The npm build (no `rust` feature) has no such export:
/// `./run build` re-exports the class itself (and `Channel`, `connect`) from `socket.js`, and
/// `js::start` hands the class its exports when the module is instantiated.
#[cfg(feature = "rust")]
#[wasm_bindgen(js_name = Socket, skip_typescript)]
pub fn new_socket(url: JsValue, options: JsValue) -> Result<JsSocket, JsValue> {
    install();
    JsSocket::construct(url, options)
}

/// `connect(url, options)`: the same as `new Socket(url, options)` (as [`new_socket`]).
#[cfg(feature = "rust")]
#[wasm_bindgen(js_name = connect, skip_typescript)]
pub fn js_connect(url: JsValue, options: JsValue) -> Result<JsSocket, JsValue> {
    new_socket(url, options)
}

/// `Channel` as the glue of a build with the Rust face exports it (as [`new_socket`]).
/// Channels come from `socket.channel(name)` and `socket.subscribe(name)`.
#[cfg(feature = "rust")]
#[wasm_bindgen(js_name = Channel, skip_typescript)]
pub fn channel_class() -> Result<(), JsValue> {
    Err(
        TypeError::new("Channel objects come from socket.channel(name) or socket.subscribe(name)")
            .into(),
    )
}

/// Hands the exports to `socket.js` before its first object is made. Idempotent.
pub fn install() {
    global!(
        static DONE: Cell<bool> = Cell::new(false);
    );
    if !DONE.with(|d| d.replace(true)) {
        crate::js::init_once();
        crate::web::share_memory(); // (for `deliver`'s numbers)
        set_host(SocketHost);
    }
}

global! {
    /// Engines by id (see the module docs).
    static SOCKETS: Engines<SocketEngine> = Engines::new();
}

fn engine(id: u32) -> Option<Rc<SocketEngine>> {
    SOCKETS.with(|s| s.get(id))
}

/// Runs `f` on the engine of `id` (none: nothing happens). The table is not borrowed while `f`
/// runs.
fn with(id: u32, f: impl FnOnce(&SocketEngine)) {
    if let Some(e) = engine(id) {
        f(&e);
    }
}

fn read<T>(id: u32, absent: T, f: impl FnOnce(&SocketEngine) -> T) -> T {
    match engine(id) {
        Some(e) => f(&e),
        None => absent,
    }
}

/// A call's options from the class: NaN is absent (plain numbers cross without `Option` pairs).
fn call_options(ack_timeout: f64, retries: f64) -> CallOptions {
    CallOptions {
        ack_timeout: (!ack_timeout.is_nan()).then_some(ack_timeout),
        retries: if retries.is_nan() { 0 } else { retries as u32 },
    }
}

/// The exports the JS class calls (static methods; see `socket.js`). Arguments were checked
/// by the class.
#[wasm_bindgen(js_name = SocketEngine, skip_typescript)]
pub struct SocketHost;

#[wasm_bindgen(js_class = SocketEngine)]
impl SocketHost {
    /// Makes an engine (not connected) for a normalised `url` keeping its token under
    /// `token_name` (both from the class): its id, or the name of a backoff option out of
    /// range.
    ///
    /// `flags` holds two bits an option (given, value): `autoReconnect` (bit 0),
    /// `pingTimeoutDisabled` (2), `autoSubscribeOnConnect` (4); a number that is NaN is
    /// absent (plain numbers: no `Option` pairs in the shim).
    ///
    /// `args` (a JS array, read by index: one argument where two strings and fourteen values
    /// made the glue convert each) holds `url`, `token_name`, `flags`, `ackTimeout`,
    /// `connectTimeout`, `protocolVersion`, `outboxLimit`, `maxPayload`, the five backoff
    /// numbers, `maxAttempts`, the storage kind and the custom store object.
    pub fn open(args: JsValue) -> JsValue {
        let n = |i: u8| num_at(&args, f64::from(i));
        let text = |i: u8| {
            value_at(&args, f64::from(i))
                .as_string()
                .unwrap_or_default()
        };
        let (url, token_name, flags) = (text(0), text(1), n(2) as u32);
        let (ack_timeout, connect_timeout, protocol_version) = (n(3), n(4), n(5));
        let (outbox_limit, max_payload) = (n(6), n(7));
        let (initial_delay, multiplier, max_delay, jitter, randomness, max_attempts) =
            (n(8), n(9), n(10), n(11), n(12), n(13));
        let storage_kind = n(14) as u8;
        let storage = value_at(&args, 15.0);
        let mut c = Config {
            url,
            ..Config::default()
        };
        let opt = |v: f64| (!v.is_nan()).then_some(v);
        for (field, bit) in [
            (&mut c.auto_reconnect, 0),
            (&mut c.ping_timeout_disabled, 2),
            (&mut c.auto_subscribe_on_connect, 4),
        ] {
            if flags >> bit & 1 == 1 {
                *field = flags >> (bit + 1) & 1 == 1;
            }
        }
        set_backoff(
            &mut c.backoff,
            [
                opt(initial_delay),
                opt(multiplier),
                opt(max_delay),
                opt(jitter),
                opt(randomness),
            ],
            opt(max_attempts),
        );
        for (field, v) in [
            (&mut c.ack_timeout, ack_timeout),
            (&mut c.connect_timeout, connect_timeout),
        ] {
            if let Some(v) = opt(v) {
                *field = v;
            }
        }
        if let Some(v) = opt(protocol_version) {
            c.protocol_version = v as u8;
        }
        if let Some(v) = opt(outbox_limit) {
            c.outbox_limit = v as usize;
        }
        if let Some(v) = opt(max_payload) {
            c.max_payload = v as usize;
        }
        if let Err(what) = c.backoff.validate() {
            return JsValue::from_str(what);
        }
        let store = match storage_kind {
            1 => StoreKind::Session,
            2 => StoreKind::Memory,
            3 => StoreKind::Custom(storage),
            _ => StoreKind::Local,
        };
        let id = SOCKETS.with(Engines::next_id);
        let engine = SocketEngine::new(
            c,
            token_name,
            store,
            Box::new(move |evs, lent| sink(id, evs, lent)),
        );
        SOCKETS.with(|s| s.insert(id, engine));
        JsValue::from(id)
    }

    /// `what` 0 connects, 1 deauthenticates, 2 forgets the engine of `id` (its browser objects
    /// are released with it). (One export for the argument-less calls: each export costs a
    /// shim.)
    pub fn act(id: u32, what: u8) {
        match what {
            0 => with(id, |e| e.connect()),
            1 => with(id, |e| e.deauthenticate()),
            _ => SOCKETS.with(|s| s.remove(id)),
        }
    }

    /// A call settled under `key`: `kind` 0 emits `name`, 1 publishes to channel `name`, 2
    /// authenticates with the token `name` (no data or options); or without an answer (no
    /// options; `key`, `a` as said): 3 transmits event `name`, 4 publishes to channel `name`, 5
    /// unsubscribes from channel `name`, 6 subscribes to it (`key` 1: waitForAuth; `a`: the
    /// priority; `json`: the data), 7 answers the server invoke `name` of connection `key` (`a`
    /// 1: with the error `json`, else with the data `json`), 8 disconnects with code `key` and
    /// reason `name`, 9 reconnects so. (One export: each export costs a shim.)
    #[allow(clippy::too_many_arguments)]
    pub fn call(id: u32, kind: u8, key: f64, name: String, json: Option<String>, a: f64, b: f64) {
        let key = key as u64;
        with(id, |e| match kind {
            0 => e.emit(key, &name, json, call_options(a, b)),
            1 => e.publish(key, &name, json.as_deref(), call_options(a, b)),
            2 => e.authenticate(key, &name),
            3 => e.transmit(&name, json),
            4 => e.transmit_publish(&name, json.as_deref()),
            5 => e.unsubscribe(&name),
            6 => e.subscribe(
                &name,
                SubscribeOptions {
                    wait_for_auth: key == 1,
                    data: json,
                    priority: a,
                },
            ),
            7 => {
                let result = if a == 1.0 {
                    Err(json.unwrap_or_else(|| "null".into()))
                } else {
                    Ok(json)
                };
                e.respond(
                    &ReplyTo {
                        gen: key,
                        rid: name,
                    },
                    result,
                )
            }
            8 => e.disconnect(key as u16, &name),
            _ => e.reconnect(key as u16, &name),
        });
    }

    /// A number about the socket: `what` 0 its state (0 connecting, 1 open, 2 closed), 1 its
    /// auth state (1 authenticated, 0 not), 2 whether a reconnect is pending (1/0), 3 its
    /// connect attempts. (One export for the class's getters: each export costs a shim.)
    pub fn num(id: u32, what: u8) -> f64 {
        read(id, 0.0, |e| {
            let s = e.session();
            f64::from(match what {
                0 => match s.state() {
                    State::Connecting => 0,
                    State::Open => 1,
                    State::Closed => 2,
                },
                1 => u32::from(s.auth_state() == AuthState::Authenticated),
                2 => u32::from(s.pending_reconnect()),
                _ => s.connect_attempts(),
            })
        })
    }

    /// A text about the socket: `what` 0 its id, 1 its signed token, 2 that token's payload
    /// (JSON text), 3 its url, 4 its token's storage key, 5 the names of its subscribed
    /// channels and 6 those of its subscribed and pending ones, as the text of a JSON array
    /// (one string crosses, not an array of them: no array glue). `None` when it has none.
    pub fn text(id: u32, what: u8) -> Option<String> {
        read(id, None, |e| {
            let s = e.session();
            match what {
                0 => s.id().map(str::to_string),
                1 => s.signed_token().map(str::to_string),
                2 => s.signed_token().and_then(|t| auth::decode_payload(t).ok()),
                3 => Some(s.config().url.clone()),
                4 => Some(e.token_name().to_string()),
                _ => {
                    let mut t = String::from("[");
                    for (i, name) in s.subscriptions(what == 6).iter().enumerate() {
                        if i > 0 {
                            t.push(',');
                        }
                        t.push_str(&codec::quote(name));
                    }
                    t.push(']');
                    Some(t)
                }
            }
        })
    }

    /// 0 pending, 1 subscribed, 2 unsubscribed (the session has no entry for a channel in
    /// that state: below 2, the channel exists).
    #[wasm_bindgen(js_name = channelState)]
    pub fn channel_state(id: u32, name: String) -> u8 {
        read(id, 2, |e| match e.session().channel_state(&name) {
            ChannelState::Pending => 0,
            ChannelState::Subscribed => 1,
            ChannelState::Unsubscribed => 2,
        })
    }
}

// ---- the batch -----------------------------------------------------------------------------

/// The records and their text (see the table in `socket.js`).
struct Batch<'a> {
    nums: Vec<f64>,
    text: String,
    /// The open channel run.
    run: Option<Run<'a>>,
}

/// A run of channel messages being written: its header's fields are filled in when it closes
/// (no indexing into `nums`: an index's panic path keeps core's integer formatting).
struct Run<'a> {
    /// Its record's index in `nums`.
    at: usize,
    channel: &'a str,
    count: f64,
    /// The byte offset of its `[` in the text.
    start: usize,
    /// How many of its messages have no data.
    undef: f64,
}

impl<'a> Batch<'a> {
    /// Appends `s`; its length.
    fn put(&mut self, s: &str) -> f64 {
        push(&mut self.text, s);
        utf16_len(s)
    }

    /// Appends `s`, or -1 for none.
    fn opt(&mut self, s: Option<&str>) -> f64 {
        s.map_or(-1.0, |s| self.put(s))
    }

    fn record(&mut self, kind: u8, fields: &[f64]) {
        self.close_run();
        self.nums.push(f64::from(kind));
        self.nums.extend_from_slice(fields);
    }

    fn record_str(&mut self, kind: u8, s: &str) {
        let n = self.put_after_close(s);
        self.record(kind, &[n]);
    }

    /// Closes an open run first (its text must end before the next string starts).
    fn put_after_close(&mut self, s: &str) -> f64 {
        self.close_run();
        self.put(s)
    }

    /// Ends the open run's JSON array and writes its length.
    fn close_run(&mut self) {
        if let Some(r) = self.run.take() {
            push(&mut self.text, "]");
            let len = utf16_len(self.text.get(r.start..).unwrap_or(""));
            // nums[at..]: 15, chanLen, count, arrLen, nUndef, then the undefined ones' indices
            if let Some([_, _, count, arr, undef]) = self.nums.get_mut(r.at..r.at + 5) {
                (*count, *arr, *undef) = (r.count, len, r.undef);
            }
        }
    }

    fn publish(&mut self, channel: &'a str, data: Option<&str>) {
        let same = matches!(&self.run, Some(r) if r.channel == channel);
        if !same {
            self.close_run();
            let at = self.nums.len();
            let chan = self.put(channel);
            self.nums.extend_from_slice(&[15.0, chan, 0.0, 0.0, 0.0]);
            let start = self.text.len();
            push(&mut self.text, "[");
            self.run = Some(Run {
                at,
                channel,
                count: 0.0,
                start,
                undef: 0.0,
            });
        }
        let Some(r) = self.run.as_mut() else { return };
        if r.count > 0.0 {
            push(&mut self.text, ",");
        }
        match data {
            Some(d) => push(&mut self.text, d),
            None => {
                push(&mut self.text, "null");
                r.undef += 1.0;
                self.nums.push(r.count);
            }
        }
        r.count += 1.0;
    }

    fn close_fields(&mut self, kind: u8, code: u16, reason: &str) {
        let n = self.put_after_close(reason);
        self.record(kind, &[f64::from(code), n]);
    }

    fn session_error(&mut self, e: &SessionError) {
        self.close_run();
        match e {
            SessionError::Protocol { code, message } => {
                let n = self.put(message);
                self.record(5, &[0.0, f64::from(*code), n]);
            }
            SessionError::Handshake(json) => {
                let n = self.put(json);
                self.record(5, &[1.0, n]);
            }
            SessionError::BadAuthToken(why) => {
                let n = self.put(why.as_str());
                self.record(5, &[2.0, n]);
            }
            SessionError::OutboxFull { limit } => self.record(5, &[3.0, *limit as f64]),
            SessionError::Storage(m) => {
                let n = self.put(m);
                self.record(5, &[4.0, n]);
            }
        }
    }

    fn settle(&mut self, key: u64, result: &Result<Option<String>, CallError>) {
        self.close_run();
        let key = key as f64;
        match result {
            Ok(d) => {
                let n = self.opt(d.as_deref());
                self.record(19, &[key, 1.0, n]);
            }
            Err(CallError::Timeout { event }) => {
                let n = self.put(event);
                self.record(19, &[key, 0.0, 0.0, n]);
            }
            Err(CallError::BadConnection {
                kind,
                code,
                reason,
                event,
            }) => {
                let kind = match kind {
                    BadConnectionKind::Closed => 0.0,
                    BadConnectionKind::Disconnect => 1.0,
                    BadConnectionKind::ConnectAbort => 2.0,
                };
                let r = self.put(reason);
                let ev = self.put(event);
                self.record(19, &[key, 0.0, 1.0, kind, f64::from(*code), r, ev]);
            }
            Err(CallError::OutboxFull { limit }) => {
                self.record(19, &[key, 0.0, 2.0, *limit as f64]);
            }
            Err(CallError::Server(json)) => {
                let n = self.put(json);
                self.record(19, &[key, 0.0, 3.0, n]);
            }
            Err(CallError::InvalidArguments(m)) => {
                let n = self.put(m);
                self.record(19, &[key, 0.0, 4.0, n]);
            }
        }
    }
}

fn channel_state_num(s: ChannelState) -> f64 {
    match s {
        ChannelState::Pending => 0.0,
        ChannelState::Subscribed => 1.0,
        ChannelState::Unsubscribed => 2.0,
    }
}

fn auth_num(s: AuthState) -> f64 {
    f64::from(u8::from(s == AuthState::Authenticated))
}

/// Appends `s` to `t`, growing it by what it needs plus at most 1 MiB (wasm memory never
/// shrinks: a 64 MiB message must not reserve 128 MiB by doubling).
fn push(t: &mut String, s: &str) {
    if t.capacity() - t.len() < s.len() {
        t.reserve_exact(s.len() + t.len().min(1 << 20) + 16);
    }
    t.push_str(s);
}

/// Whether `ev` is a channel message for `channel`.
fn publishes_to(ev: Option<&Event>, channel: &str) -> bool {
    matches!(ev, Some(Event::Publish { channel: c, .. }) if c == channel)
}

/// Encodes the events of one pump and hands them to the class in one call. A channel message
/// alone in its run whose frame `support.js` still holds (`lent.held`) goes as the offsets of
/// its name and data in that frame (kind 20): no text to copy out, and one small `JSON.parse`.
/// Longer runs stay one JSON array (one parse of the run beats a parse per message), their data
/// copied once, out of the frame (`lent`) into the batch text.
fn sink(id: u32, events: &[Event], lent: Option<Lent<'_>>) {
    let live = lent.filter(|l| l.held).map(|l| l.frame);
    // (the common pump, one message sliced out of the frame: no records, no allocation)
    if let [Event::Publish { span: Some(sp), .. }] = events {
        if live == Some(sp.frame) {
            let f = f64::from;
            let (c, d) = (sp.channel, sp.data);
            return deliver_message(f(id), f(c.0), f(c.1), f(d.0), f(d.1));
        }
    }
    let mut b = Batch {
        nums: Vec::with_capacity(events.len() * 3 + 4),
        // (room for a pump of short events at once; `push` grows it)
        text: String::with_capacity(events.len() * 64),
        run: None,
    };
    for (i, ev) in events.iter().enumerate() {
        match ev {
            Event::Publish {
                channel,
                span: Some(sp),
                ..
            } if live == Some(sp.frame)
                && !matches!(&b.run, Some(r) if r.channel == *channel)
                && !publishes_to(events.get(i + 1), channel) =>
            {
                let (c, d) = (sp.channel, sp.data);
                let f = f64::from;
                b.record(20, &[f(c.0), f(c.1), f(d.0), f(d.1)]);
            }
            Event::Publish {
                channel,
                data,
                span,
            } => b.publish(channel, Lent::data(lent, data, *span)),
            Event::Connecting => b.record(0, &[]),
            Event::Connect {
                id,
                ping_timeout,
                is_authenticated,
                auth_error,
            } => {
                b.close_run();
                let i = b.put(id);
                let a = b.opt(auth_error.as_deref());
                b.record(
                    1,
                    &[f64::from(u8::from(*is_authenticated)), *ping_timeout, i, a],
                );
            }
            Event::ConnectAbort { code, reason } => b.close_fields(2, *code, reason),
            Event::Disconnect { code, reason } => b.close_fields(3, *code, reason),
            Event::Closed { code, reason } => b.close_fields(4, *code, reason),
            Event::Error(e) => b.session_error(e),
            Event::Raw(t) => b.record_str(6, t),
            Event::Reconnecting { attempt, delay } => b.record(7, &[f64::from(*attempt), *delay]),
            Event::GiveUp { attempts } => b.record(8, &[f64::from(*attempts)]),
            Event::ServerEvent { event, data, reply } => {
                b.close_run();
                let e = b.put(event);
                let d = b.opt(data.as_deref());
                let gen = reply.as_ref().map_or(0.0, |r| r.gen as f64);
                let r = b.opt(reply.as_ref().map(|r| r.rid.as_str()));
                b.record(9, &[e, d, gen, r]);
            }
            Event::Subscribe(c) => b.record_str(10, c),
            Event::SubscribeFail { channel, error } => {
                b.close_run();
                let c = b.put(channel);
                let e = b.put(error);
                b.record(11, &[c, e]);
            }
            Event::Unsubscribe(c) => b.record_str(12, c),
            Event::SubscribeStateChange { channel, old, new } => {
                let c = b.put_after_close(channel);
                b.record(13, &[c, channel_state_num(*old), channel_state_num(*new)]);
            }
            Event::KickOut { channel, message } => {
                b.close_run();
                let c = b.put(channel);
                let m = b.opt(message.as_deref());
                b.record(14, &[c, m]);
            }
            Event::Authenticate { signed_token } => {
                b.close_run();
                let t = b.put(signed_token);
                let payload = auth::decode_payload(signed_token).ok();
                let p = b.opt(payload.as_deref());
                b.record(16, &[t, p]);
            }
            Event::Deauthenticate { old_signed_token } => {
                b.close_run();
                let old = old_signed_token.as_deref();
                let t = b.opt(old);
                let payload = old.and_then(|t| auth::decode_payload(t).ok());
                let p = b.opt(payload.as_deref());
                b.record(17, &[t, p]);
            }
            Event::AuthStateChange { old, new } => b.record(18, &[auth_num(*old), auth_num(*new)]),
            Event::Settle { id: key, result } => b.settle(*key, result),
        }
    }
    b.close_run();
    let text = (!b.text.is_empty()).then_some(b.text.as_str());
    deliver(id, b.nums.as_ptr(), b.nums.len(), text);
}
