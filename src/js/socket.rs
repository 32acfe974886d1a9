//! The JS classes `Socket` and `Channel` and the `connect()` function: a thin adapter over
//! [`crate::client`]. It parses options (throwing `InvalidArgumentsError` that names the
//! option), turns JS values into JSON text and back with the host's `JSON`, turns results into
//! Promises or `(err, data)` callbacks, and delivers events to JS listeners.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use js_sys::{Function, Promise, Reflect, JSON};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use crate::proto::table::NameTable;

use super::emitter::{install_async_iterator, AsyncQueue, Emitter};
use super::errors::{call_error, invalid_arguments, make_error, object, session_error};
use crate::client::{CallResult, Socket, SocketError, SocketEvent, SocketOptions};
use crate::proto::backoff::MAX_TIMER_MS;
use crate::proto::{auth, CallOptions, ReplyTo, SubscribeOptions};
use crate::web::storage::StoreKind;

#[wasm_bindgen(module = "/src/js/support.js")]
extern "C" {
    #[wasm_bindgen(js_name = queryString)]
    fn query_string(q: &JsValue) -> String;
    #[wasm_bindgen(catch)]
    fn stringify(v: &JsValue) -> Result<JsValue, JsValue>;
    #[wasm_bindgen(method, getter, js_name = done)]
    fn is_done(this: &AsyncQueue) -> bool;
    #[wasm_bindgen(method, js_name = isEmpty)]
    fn is_empty(this: &Emitter) -> bool;
    /// Stops an `emitJsonArray` of `emitter` in progress before its next message.
    #[wasm_bindgen(js_name = cut)]
    fn js_cut(emitter: &Emitter);
    #[wasm_bindgen(js_name = isWellFormed)]
    fn is_well_formed(s: &JsValue) -> bool;
}

/// Bound of each `for await` buffer; past it the oldest messages are dropped.
pub const ITERATOR_BUFFER: u32 = 10_000;

// ---- small conversions -------------------------------------------------------------------

/// JS value → JSON text (`None` for `undefined`); a value JSON cannot write is an error.
pub(crate) fn to_json(v: &JsValue) -> Result<Option<String>, JsValue> {
    if v.is_undefined() {
        return Ok(None);
    }
    match stringify(v) {
        Ok(s) => Ok(s.as_string()),
        Err(e) => Err(invalid_arguments(&format!(
            "The data cannot be serialised to JSON: {}",
            Reflect::get(&e, &"message".into())
                .ok()
                .and_then(|m| m.as_string())
                .unwrap_or_default()
        ))),
    }
}

/// JSON text → JS value (`undefined` for `None`).
pub(crate) fn from_json(text: Option<&str>) -> JsValue {
    match text {
        None => JsValue::UNDEFINED,
        Some(t) => JSON::parse(t).unwrap_or_else(|_| JsValue::from_str(t)),
    }
}

fn get(opts: &JsValue, key: &str) -> Option<JsValue> {
    if !opts.is_object() {
        return None;
    }
    Reflect::get(opts, &JsValue::from_str(key))
        .ok()
        .filter(|v| !v.is_undefined())
}

fn opt_bool(opts: &JsValue, key: &str) -> Result<Option<bool>, JsValue> {
    match get(opts, key) {
        None => Ok(None),
        Some(v) => v
            .as_bool()
            .map(Some)
            .ok_or_else(|| invalid_arguments(&format!("Invalid option {key}: expected a boolean"))),
    }
}

fn opt_number(
    opts: &JsValue,
    key: &str,
    min: f64,
    max: f64,
    label: &str,
) -> Result<Option<f64>, JsValue> {
    match get(opts, key) {
        None => Ok(None),
        Some(v) => match v.as_f64() {
            Some(n) if n >= min && n <= max => Ok(Some(n)),
            // (no float formatting here: it costs ~15 KB of wasm)
            _ => Err(invalid_arguments(&format!(
                "Invalid option {label}{key}: expected a number from {} to {}",
                js_number(min),
                js_number(max)
            ))),
        },
    }
}

/// A number as JS writes it (the host formats floats, so the wasm carries no float printer).
pub(crate) fn js_number(n: f64) -> String {
    js_sys::Number::from(n)
        .to_string_with_radix(10)
        .map(String::from)
        .unwrap_or_default()
}

fn opt_ms(opts: &JsValue, key: &str) -> Result<Option<f64>, JsValue> {
    opt_number(opts, key, 0.0, MAX_TIMER_MS, "")
}

fn check_options_object(opts: &JsValue, what: &str) -> Result<(), JsValue> {
    if opts.is_undefined() || opts.is_null() || opts.is_object() && !opts.is_function() {
        Ok(())
    } else {
        Err(invalid_arguments(&format!("{what} must be an object")))
    }
}

/// The options, the query string and the token store (the JS option `authStorage`).
type Parsed = (SocketOptions, Option<String>, StoreKind);

fn parse_socket_options(options: &JsValue) -> Result<Parsed, JsValue> {
    check_options_object(options, "options")?;
    let mut o = SocketOptions::default();
    let c = &mut o.config;
    if let Some(v) = opt_bool(options, "autoConnect")? {
        o.auto_connect = v;
    }
    if let Some(v) = opt_bool(options, "autoReconnect")? {
        c.auto_reconnect = v;
    }
    if let Some(v) = opt_ms(options, "ackTimeout")? {
        c.ack_timeout = v;
    }
    if let Some(v) = opt_ms(options, "connectTimeout")? {
        c.connect_timeout = v;
    }
    if let Some(v) = opt_bool(options, "pingTimeoutDisabled")? {
        c.ping_timeout_disabled = v;
    }
    if let Some(v) = opt_bool(options, "autoSubscribeOnConnect")? {
        c.auto_subscribe_on_connect = v;
    }
    match get(options, "protocolVersion").map(|v| v.as_f64()) {
        None => {}
        Some(Some(v)) if v == 1.0 || v == 2.0 => c.protocol_version = v as u8,
        Some(_) => {
            return Err(invalid_arguments(
                "Invalid option protocolVersion: expected 1 or 2",
            ))
        }
    }
    match get(options, "outboxLimit").map(|v| v.as_f64()) {
        None => {}
        Some(Some(v)) if (1.0..=1.0e7).contains(&v) && v.fract() == 0.0 => {
            c.outbox_limit = v as usize
        }
        Some(_) => {
            return Err(invalid_arguments(
                "Invalid option outboxLimit: expected a whole number from 1 to 10000000",
            ))
        }
    }
    match get(options, "maxPayload").map(|v| v.as_f64()) {
        None => {}
        Some(Some(v)) if (1.0..=4_294_967_295.0).contains(&v) && v.fract() == 0.0 => {
            c.max_payload = v as usize
        }
        Some(_) => {
            return Err(invalid_arguments(
                "Invalid option maxPayload: expected a whole number of bytes from 1 to 4294967295",
            ))
        }
    }
    if let Some(r) = get(options, "autoReconnectOptions") {
        if !r.is_object() {
            return Err(invalid_arguments(
                "Invalid option autoReconnectOptions: expected an object",
            ));
        }
        let b = &mut c.backoff;
        let p = "autoReconnectOptions.";
        if let Some(v) = opt_number(&r, "initialDelay", 0.0, MAX_TIMER_MS, p)? {
            b.initial_delay = v;
        }
        if let Some(v) = opt_number(&r, "multiplier", 1.0, 1000.0, p)? {
            b.multiplier = v;
        }
        if let Some(v) = opt_number(&r, "maxDelay", 0.0, MAX_TIMER_MS, p)? {
            b.max_delay = v;
        }
        if let Some(v) = opt_number(&r, "jitter", 0.0, 1.0, p)? {
            b.jitter = v;
        }
        if let Some(v) = opt_number(&r, "randomness", 0.0, MAX_TIMER_MS, p)? {
            b.randomness = v;
        }
        match get(&r, "maxAttempts").map(|v| v.as_f64()) {
            None => {}
            Some(Some(v)) if v == f64::INFINITY => b.max_attempts = None,
            Some(Some(v)) if v >= 1.0 && v.fract() == 0.0 && v <= u32::MAX as f64 => {
                b.max_attempts = Some(v as u32)
            }
            Some(_) => {
                return Err(invalid_arguments(
                    "Invalid option autoReconnectOptions.maxAttempts: expected a whole number >= 1 or Infinity",
                ))
            }
        }
        b.validate()
            .map_err(|o| invalid_arguments(&format!("Invalid option {o}")))?;
    }
    if let Some(v) = get(options, "authTokenName") {
        o.auth_token_name =
            Some(v.as_string().ok_or_else(|| {
                invalid_arguments("Invalid option authTokenName: expected a string")
            })?);
    }
    let mut storage = StoreKind::Local;
    if let Some(v) = get(options, "authStorage") {
        storage = match v.as_string().as_deref() {
            Some("local") => StoreKind::Local,
            Some("session") => StoreKind::Session,
            Some("memory") => StoreKind::Memory,
            Some(_) => return Err(invalid_arguments(
                "Invalid option authStorage: expected 'local', 'session', 'memory' or an object",
            )),
            None => {
                let ok = v.is_object()
                    && ["loadToken", "saveToken", "removeToken"]
                        .iter()
                        .all(|m| get(&v, m).is_some_and(|f| f.is_function()));
                if !ok {
                    return Err(invalid_arguments(
                        "Invalid option authStorage: an object needs loadToken, saveToken and removeToken functions",
                    ));
                }
                StoreKind::Custom(v)
            }
        };
    }
    let query = match get(options, "query") {
        None => None,
        Some(q) if q.is_string() || (q.is_object() && !q.is_function()) => Some(query_string(&q)),
        Some(_) => {
            return Err(invalid_arguments(
                "Invalid option query: expected an object or a string",
            ))
        }
    };
    Ok((o, query, storage))
}

fn call_options(v: &JsValue) -> Result<CallOptions, JsValue> {
    check_options_object(v, "The emit options")?;
    let mut o = CallOptions::default();
    if let Some(t) = opt_ms(v, "ackTimeout")? {
        o.ack_timeout = Some(t);
    }
    if let Some(r) = opt_number(v, "retries", 0.0, 1000.0, "")? {
        o.retries = r as u32;
    }
    Ok(o)
}

/// A channel or event name. Names with lone surrogates are refused: they would reach the wire
/// (and the channel map) as U+FFFD and collide with the name that really has U+FFFD.
fn name_arg(v: &JsValue, what: &str) -> Result<String, JsValue> {
    let s = v
        .as_string()
        .ok_or_else(|| invalid_arguments(&format!("The {what} must be a string")))?;
    // (the host is asked only when the text may hold a U+FFFD: its UTF-8 starts with 0xEF)
    if s.as_bytes().contains(&0xEF) && !is_well_formed(v) {
        let mut m = String::from("The ");
        m.push_str(what);
        m.push_str(" must be well-formed Unicode (no lone surrogates)");
        return Err(invalid_arguments(&m));
    }
    Ok(s)
}

/// An event name for `on`/`once`/`off` (any string).
fn listener_name(v: &JsValue) -> Result<String, JsValue> {
    v.as_string()
        .ok_or_else(|| invalid_arguments("The event name must be a string"))
}

/// `off(name?, listener?)`: a name that is a string (or absent), a listener that is a function
/// (or absent).
fn check_off(name: &JsValue, listener: &JsValue) -> Result<(), JsValue> {
    if !(name.is_undefined() || name.is_null() || name.is_string()) {
        return Err(invalid_arguments("The event name must be a string"));
    }
    if !(listener.is_undefined() || listener.is_null() || listener.is_function()) {
        return Err(invalid_arguments("The listener must be a function"));
    }
    Ok(())
}

/// The `url` argument: a string, or a `URL` (anything with a string `href`).
fn url_arg(url: &JsValue) -> Result<String, JsValue> {
    if let Some(s) = url.as_string() {
        return Ok(s);
    }
    if url.is_object() {
        if let Some(h) = Reflect::get(url, &"href".into())
            .ok()
            .and_then(|h| h.as_string())
        {
            return Ok(h);
        }
    }
    Err(invalid_arguments("The url must be a string or a URL"))
}

/// A Promise plus the settler that resolves it with a call result.
fn promise_for(map: fn(Option<String>) -> JsValue) -> (Promise, impl FnOnce(CallResult)) {
    let mut slot: Option<(Function, Function)> = None;
    let p = Promise::new(&mut |res, rej| slot = Some((res, rej)));
    let (res, rej) = slot.expect("Promise executor runs synchronously");
    let settle = move |r: CallResult| {
        let _ = match r {
            Ok(d) => res.call1(&JsValue::NULL, &map(d)),
            Err(e) => rej.call1(&JsValue::NULL, &call_error(&e)),
        };
    };
    (p, settle)
}

fn data_value(d: Option<String>) -> JsValue {
    from_json(d.as_deref())
}

fn void_value(_: Option<String>) -> JsValue {
    JsValue::UNDEFINED
}

/// `(err, data)` callback, called once.
fn callback_settler(cb: Function, map: fn(Option<String>) -> JsValue) -> impl FnOnce(CallResult) {
    move |r: CallResult| {
        let _ = match r {
            Ok(d) => cb.call2(&JsValue::NULL, &JsValue::NULL, &map(d)),
            Err(e) => cb.call1(&JsValue::NULL, &call_error(&e)),
        };
    }
}

fn decoded_token(token: Option<&str>) -> JsValue {
    token
        .and_then(|t| auth::decode_payload(t).ok())
        .map_or(JsValue::NULL, |p| from_json(Some(&p)))
}

// ---- channels ----------------------------------------------------------------------------

/// The JS-side state of one channel: its object, listeners, watchers and `for await` queues.
#[derive(Clone)]
struct ChannelSlot {
    js: JsValue,
    emitter: Emitter,
    /// In an `Rc` so the message path clones no JS handle (each costs a wasm↔JS call).
    watchers: Rc<Emitter>,
    queues: Rc<RefCell<Vec<AsyncQueue>>>,
    /// Bumped when the page unsubscribes the channel or disconnects: messages already in the
    /// batch are not delivered after that.
    cut: Rc<Cell<u32>>,
}

/// Drops the ended `for await` queues of `slot` (the `is_done` calls into JS run with no borrow
/// held); true when none is left.
fn prune_queues(slot: &ChannelSlot) -> bool {
    let all = std::mem::take(&mut *slot.queues.borrow_mut());
    let live: Vec<AsyncQueue> = all.into_iter().filter(|q| !q.is_done()).collect();
    let mut qs = slot.queues.borrow_mut();
    let added = std::mem::replace(&mut *qs, live); // any queue added meanwhile stays, after
    qs.extend(added);
    qs.is_empty()
}

/// Ends the `for await` loops over `slot` (no borrow is held: ending one resolves its waiter).
fn end_loops(slot: &ChannelSlot) {
    let qs: Vec<AsyncQueue> = slot.queues.borrow_mut().drain(..).collect();
    for q in qs {
        q.end();
    }
}

/// Stops delivery of `slot`'s batched messages (the page unsubscribed or disconnected).
fn cut(slot: &ChannelSlot) {
    slot.cut.set(slot.cut.get().wrapping_add(1));
    js_cut(&slot.watchers);
}

type Slots = Rc<RefCell<NameTable<ChannelSlot>>>;

/// Channel messages waiting to be handed to JS together: runs of consecutive messages of one
/// channel, each run's data already written as the text of one JSON array.
type Batch = RefCell<Vec<Run>>;

struct Run {
    channel: String,
    /// `[d1,d2,…` (closed when delivered).
    json: String,
    count: u32,
    /// Positions of messages without data (`undefined`, written as `null`).
    undefined: Vec<u32>,
    /// The channel's `cut` counter when the run began: the run is dropped if it moved.
    cut: u32,
}

impl Run {
    fn push(&mut self, data: Option<&str>) {
        if self.count > 0 {
            self.json.push(',');
        }
        match data {
            Some(d) => self.json.push_str(d),
            None => {
                self.json.push_str("null");
                self.undefined.push(self.count);
            }
        }
        self.count += 1;
    }
}

/// The first capacity of a run's text: room for more small messages of the frame, but exactly
/// one large message (wasm memory never shrinks: a 64 MiB message must not reserve 256 MiB).
fn run_capacity(first: usize) -> usize {
    if first < 16 * 1024 {
        first * 4 + 2
    } else {
        first + 2
    }
}

/// Queues one channel message into the batch (the data is copied once, into the run's text).
fn batch_push(batch: &Batch, slots: &Slots, channel: &str, data: Option<&str>) {
    let mut runs = batch.borrow_mut();
    match runs.last_mut() {
        Some(run) if run.channel == channel => run.push(data),
        _ => {
            let cut = slots.borrow().get(channel).map_or(0, |s| s.cut.get());
            let mut run = Run {
                channel: channel.to_string(),
                json: String::with_capacity(run_capacity(data.map_or(4, str::len))),
                count: 0,
                undefined: Vec::new(),
                cut,
            };
            run.json.push('[');
            run.push(data);
            runs.push(run);
        }
    }
}

/// A channel (`socket.subscribe(name)`), with its own listeners and watchers. An explicit
/// `free()` unsubscribes first and drops the name's listeners and watchers.
#[wasm_bindgen(js_name = Channel)]
pub struct JsChannel {
    name: String,
    socket: std::rc::Weak<crate::client::InnerHandle>,
    slots: std::rc::Weak<RefCell<NameTable<ChannelSlot>>>,
    /// This object's listeners; see [`JsChannel::live`].
    slot: RefCell<ChannelSlot>,
}

/// A new `Channel` object for `name` over `contents` (listeners, watchers, queues), as the slot
/// to keep in the socket's map.
fn wrap_slot(
    slots: &Slots,
    socket: std::rc::Weak<crate::client::InnerHandle>,
    name: &str,
    contents: ChannelSlot,
) -> ChannelSlot {
    let ch = JsChannel {
        name: name.to_string(),
        socket,
        slots: Rc::downgrade(slots),
        slot: RefCell::new(contents.clone()),
    };
    let js: JsValue = ch.into();
    install_async_iterator(&js);
    ChannelSlot { js, ..contents }
}

const WATCH: &str = "message";

#[wasm_bindgen(js_class = Channel)]
impl JsChannel {
    #[wasm_bindgen(getter)]
    pub fn name(&self) -> String {
        self.name.clone()
    }

    /// `'pending' | 'subscribed' | 'unsubscribed'`.
    #[wasm_bindgen(
        getter,
        unchecked_return_type = "'pending' | 'subscribed' | 'unsubscribed'"
    )]
    pub fn state(&self) -> String {
        self.sock()
            .map_or("unsubscribed", |s| s.channel(&self.name).state().as_str())
            .to_string()
    }

    fn sock(&self) -> Option<Socket> {
        Socket::from_handle(&self.socket)
    }

    /// The listeners to use now. The socket drops a channel's slot once the channel is gone and
    /// nobody listens, but this object may still be held: it then joins the slot the socket has
    /// for its name now, or puts its own back, so that what is added to it is heard.
    fn live(&self) -> ChannelSlot {
        let mine = self.slot.borrow().clone();
        let Some(map) = self.slots.upgrade() else {
            return mine;
        };
        let current = map.borrow().get(&self.name).cloned();
        match current {
            Some(cur) if Rc::ptr_eq(&cur.queues, &mine.queues) => mine,
            Some(cur) => {
                *self.slot.borrow_mut() = cur.clone();
                cur
            }
            None => {
                let slot = wrap_slot(&map, self.socket.clone(), &self.name, mine.clone());
                map.borrow_mut().insert(self.name.clone(), slot);
                mine
            }
        }
    }

    /// Adds a listener for `subscribe`, `subscribeFail`, `unsubscribe`, `kickOut` or
    /// `subscribeStateChange`; returns the function that removes it.
    #[wasm_bindgen(unchecked_return_type = "() => void")]
    pub fn on(
        &self,
        #[wasm_bindgen(unchecked_param_type = "ChannelEventName")] name: JsValue,
        #[wasm_bindgen(unchecked_param_type = "(...args: any[]) => void")] listener: JsValue,
    ) -> Result<Function, JsValue> {
        self.live().emitter.on(&name, &listener)
    }

    #[wasm_bindgen(js_name = once, unchecked_return_type = "Promise<any>", skip_typescript)]
    pub fn js_once(
        &self,
        #[wasm_bindgen(unchecked_param_type = "ChannelEventName")] name: JsValue,
        #[wasm_bindgen(js_name = timeoutMs, unchecked_param_type = "number | undefined")]
        timeout_ms: JsValue,
    ) -> Result<Promise, JsValue> {
        Ok(self
            .live()
            .emitter
            .once(&listener_name(&name)?, &timeout_ms))
    }

    #[wasm_bindgen(js_name = off, skip_typescript)]
    pub fn js_off(
        &self,
        #[wasm_bindgen(unchecked_param_type = "ChannelEventName | undefined")] name: JsValue,
        #[wasm_bindgen(unchecked_param_type = "((...args: any[]) => void) | undefined")]
        listener: JsValue,
    ) -> Result<(), JsValue> {
        check_off(&name, &listener)?;
        self.off(name, listener);
        Ok(())
    }

    /// Calls `fn(data)` for every message published to the channel (survives reconnects).
    pub fn watch(
        &self,
        #[wasm_bindgen(unchecked_param_type = "(data: any) => void")] listener: JsValue,
    ) -> Result<(), JsValue> {
        self.live()
            .watchers
            .on(&WATCH.into(), &listener)
            .map(|_| ())
    }

    /// Removes one watcher, or all of them.
    #[wasm_bindgen(js_name = unwatch, skip_typescript)]
    pub fn js_unwatch(
        &self,
        #[wasm_bindgen(unchecked_param_type = "((data: any) => void) | undefined")]
        listener: JsValue,
    ) -> Result<(), JsValue> {
        check_off(&JsValue::UNDEFINED, &listener)?;
        self.unwatch(listener);
        Ok(())
    }

    /// Publishes to this channel; resolves on the server's ack.
    #[wasm_bindgen(unchecked_return_type = "Promise<void>", skip_typescript)]
    pub fn publish(&self, data: JsValue) -> Result<Promise, JsValue> {
        let sock = self
            .sock()
            .ok_or_else(|| invalid_arguments("The socket is gone"))?;
        let (p, settle) = promise_for(void_value);
        match to_json(&data) {
            Ok(d) => sock.publish_with(&self.name, d.as_deref(), CallOptions::default(), settle),
            Err(e) => return Ok(Promise::reject(&e)),
        }
        Ok(p)
    }

    #[wasm_bindgen(js_name = transmitPublish, skip_typescript)]
    pub fn transmit_publish(&self, data: JsValue) -> Result<(), JsValue> {
        let d = to_json(&data)?;
        if let Some(s) = self.sock() {
            s.transmit_publish(&self.name, d.as_deref());
        }
        Ok(())
    }

    pub fn unsubscribe(&self) {
        cut(&self.live());
        if let Some(s) = self.sock() {
            s.unsubscribe(&self.name);
        }
    }

    /// What an explicit `free()` does before releasing the object: `unsubscribe()`, then the
    /// socket forgets what it keeps for the name (listeners and watchers are removed, `for await`
    /// loops end), so the next `channel(name)` / `subscribe(name)` makes a fresh object.
    #[wasm_bindgen(js_name = "__close", skip_typescript)]
    pub fn close_for_free(&self) {
        if let Some(s) = self.sock() {
            s.unsubscribe(&self.name);
        }
        // (the slot this object joined, if the socket still has it: see `live`)
        let Some(s) = self
            .slots
            .upgrade()
            .and_then(|map| map.borrow_mut().remove(&self.name))
        else {
            return;
        };
        cut(&s);
        s.emitter.off(&JsValue::UNDEFINED, &JsValue::UNDEFINED);
        s.watchers.off(&JsValue::UNDEFINED, &JsValue::UNDEFINED);
        end_loops(&s);
    }

    /// Used by `[Symbol.asyncIterator]`: a bounded queue of this channel's messages.
    #[wasm_bindgen(js_name = "__iterator", skip_typescript)]
    pub fn iterator(&self) -> AsyncQueue {
        let q = AsyncQueue::new(ITERATOR_BUFFER, &JsValue::UNDEFINED);
        let slot = self.live();
        prune_queues(&slot);
        slot.queues.borrow_mut().push(q.clone());
        q
    }
}

impl JsChannel {
    /// `once(name, timeoutMs)` for Rust callers.
    pub fn once(&self, name: String, timeout_ms: JsValue) -> Promise {
        self.live().emitter.once(&name, &timeout_ms)
    }

    /// `off(name, listener)` for Rust callers.
    pub fn off(&self, name: JsValue, listener: JsValue) {
        self.live().emitter.off(&name, &listener)
    }

    /// `unwatch(listener)` for Rust callers.
    pub fn unwatch(&self, listener: JsValue) {
        self.live().watchers.off(&WATCH.into(), &listener)
    }
}

// ---- socket ------------------------------------------------------------------------------

/// A SocketCluster socket (`connect(url, options)` or `new Socket(url, options)`).
#[wasm_bindgen(js_name = Socket)]
///
/// Dropping the JS object does not close the connection, as with a browser `WebSocket`: a
/// connected or reconnecting socket stays alive, with its listeners, until `disconnect()`,
/// `giveUp` or a close that is not followed by a reconnect. An explicit `free()` disconnects
/// first, then releases everything.
pub struct JsSocket {
    socket: Socket,
    emitter: Emitter,
    slots: Slots,
    /// Bumped when the page disconnects or reconnects: an event already taken from the core
    /// when a watcher of the batch before it disconnected is not delivered.
    gate: Rc<Cell<u32>>,
}

/// `connect(url, options)`: the same as `new Socket(url, options)`.
#[wasm_bindgen(js_name = connect, skip_typescript)]
pub fn js_connect(
    #[wasm_bindgen(unchecked_param_type = "string | URL")] url: JsValue,
    #[wasm_bindgen(unchecked_param_type = "SocketOptions | undefined")] options: JsValue,
) -> Result<JsSocket, JsValue> {
    JsSocket::new(&url_arg(&url)?, options)
}

/// `connect(url, options)` for Rust callers.
pub fn connect(url: &str, options: JsValue) -> Result<JsSocket, JsValue> {
    JsSocket::new(url, options)
}

thread_local! {
    static FREE_PATCHED: Cell<bool> = const { Cell::new(false) };
}

#[wasm_bindgen(js_class = Socket)]
impl JsSocket {
    #[wasm_bindgen(constructor)]
    pub fn js_new(
        #[wasm_bindgen(unchecked_param_type = "string | URL")] url: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "SocketOptions")] options: JsValue,
    ) -> Result<JsSocket, JsValue> {
        JsSocket::build(&url_arg(&url)?, options)
    }

    /// What an explicit `free()` does before releasing the object: disconnects (1000).
    #[wasm_bindgen(js_name = "__close", skip_typescript)]
    pub fn close_for_free(&self) {
        let _ = self.disconnect(None, None);
    }
}

impl JsSocket {
    fn build(url: &str, options: JsValue) -> Result<JsSocket, JsValue> {
        super::init_once();
        let (mut opts, query, storage) = parse_socket_options(&options)?;
        let auto_connect = opts.auto_connect;
        opts.auto_connect = false;
        let socket = Socket::with_store(url, query.as_deref(), opts, storage)
            .map_err(|m| invalid_arguments(&m))?;
        let emitter = Emitter::new();
        let slots: Slots = Rc::new(RefCell::new(NameTable::new()));

        let handle = socket.handle();
        // Owned by the event handler (and so by the socket), so `res` keeps working for as long
        // as server invokes can arrive.
        let respond = Rc::new(Closure::<dyn Fn(f64, JsValue, bool, JsValue)>::new(
            move |gen: f64, rid: JsValue, is_error: bool, json: JsValue| {
                if let (Some(s), Some(rid)) = (Socket::from_handle(&handle), rid.as_string()) {
                    let to = ReplyTo {
                        gen: gen as u64,
                        rid,
                    };
                    let text = json.as_string();
                    s.respond(
                        &to,
                        if is_error {
                            Err(text.unwrap_or_else(|| "null".into()))
                        } else {
                            Ok(text)
                        },
                    );
                }
            },
        ));
        let (em, sl, h) = (emitter.clone(), slots.clone(), socket.handle());
        let batch: Rc<Batch> = Rc::default();
        let b = batch.clone();
        let gate: Rc<Cell<u32>> = Rc::default();
        let g = gate.clone();
        socket.on_event(move |ev| {
            if let SocketEvent::Publish { channel, data } = ev {
                // Channel messages of one frame go to JS together (see `deliver_batch`).
                batch_push(&b, &sl, channel, data.as_deref());
                return;
            }
            let before = g.get();
            deliver_batch(&sl, &b);
            let cut_off = g.get() != before
                && matches!(ev, SocketEvent::ServerEvent { .. } | SocketEvent::Raw(_));
            if !cut_off {
                let respond_fn: &Function = (*respond).as_ref().unchecked_ref();
                dispatch(&em, &sl, &h, respond_fn, ev);
            }
            keep_alive_while_active(&h, ev);
        });
        let sl = slots.clone();
        socket.on_idle(move || deliver_batch(&sl, &batch));
        let js = JsSocket {
            socket,
            emitter,
            slots,
            gate,
        };
        super::close_on_free_once(&FREE_PATCHED, || {
            JsSocket {
                socket: js.socket.clone(),
                emitter: js.emitter.clone(),
                slots: js.slots.clone(),
                gate: js.gate.clone(),
            }
            .into()
        });
        if auto_connect {
            js.socket.connect();
        }
        Ok(js)
    }
}

#[wasm_bindgen(js_class = Socket)]
impl JsSocket {
    /// The server-assigned socket id, or `null` before the handshake.
    #[wasm_bindgen(getter, js_name = id, unchecked_return_type = "string | null")]
    pub fn js_id(&self) -> JsValue {
        self.socket
            .id()
            .map_or(JsValue::NULL, |s| JsValue::from_str(&s))
    }

    #[wasm_bindgen(getter, unchecked_return_type = "'connecting' | 'open' | 'closed'")]
    pub fn state(&self) -> String {
        self.socket.state().as_str().to_string()
    }

    #[wasm_bindgen(getter, js_name = authState, unchecked_return_type = "'authenticated' | 'unauthenticated'")]
    pub fn auth_state(&self) -> String {
        self.socket.auth_state().as_str().to_string()
    }

    /// The decoded payload of the signed auth token, or `null`.
    #[wasm_bindgen(getter, js_name = authToken, unchecked_return_type = "Record<string, any> | null")]
    pub fn auth_token(&self) -> JsValue {
        decoded_token(self.socket.signed_auth_token().as_deref())
    }

    #[wasm_bindgen(getter, js_name = signedAuthToken, unchecked_return_type = "string | null")]
    pub fn js_signed_auth_token(&self) -> JsValue {
        self.socket
            .signed_auth_token()
            .map_or(JsValue::NULL, |s| JsValue::from_str(&s))
    }

    #[wasm_bindgen(getter, js_name = pendingReconnect)]
    pub fn pending_reconnect(&self) -> bool {
        self.socket.pending_reconnect()
    }

    #[wasm_bindgen(getter, js_name = connectAttempts)]
    pub fn connect_attempts(&self) -> u32 {
        self.socket.connect_attempts()
    }

    #[wasm_bindgen(getter)]
    pub fn url(&self) -> String {
        self.socket.url()
    }

    #[wasm_bindgen(getter, js_name = authTokenName)]
    pub fn auth_token_name(&self) -> String {
        self.socket.auth_token_name()
    }

    pub fn connect(&self) {
        self.socket.connect();
    }

    /// Closes (default code 1000) and releases every listener and timer the socket holds in the
    /// browser. Event listeners added with `on` stay, for a later `connect()`.
    #[wasm_bindgen(js_name = disconnect, skip_typescript)]
    pub fn js_disconnect(&self, code: JsValue, reason: JsValue) -> Result<(), JsValue> {
        let (code, reason) = close_args(&code, &reason)?;
        self.disconnect(Some(code), reason)
    }

    #[wasm_bindgen(js_name = reconnect, skip_typescript)]
    pub fn js_reconnect(&self, code: JsValue, reason: JsValue) -> Result<(), JsValue> {
        let (code, reason) = close_args(&code, &reason)?;
        self.reconnect(Some(code), reason)
    }

    /// `emit(event, data?, {ackTimeout?, retries?}?)` → Promise of the answer's data, or
    /// `emit(event, data, callback)` → `callback(err, data)` once.
    #[wasm_bindgen(unchecked_return_type = "Promise<any> | undefined", skip_typescript)]
    pub fn emit(
        &self,
        event: JsValue,
        data: JsValue,
        #[wasm_bindgen(
            unchecked_param_type = "EmitOptions | ((err: Error | null, data?: any) => void) | undefined"
        )]
        options: JsValue,
    ) -> Result<JsValue, JsValue> {
        let event = name_arg(&event, "event name")?;
        if let Some(cb) = options.dyn_ref::<Function>() {
            let settle = callback_settler(cb.clone(), data_value);
            match to_json(&data) {
                Ok(d) => self
                    .socket
                    .emit_with(&event, d, CallOptions::default(), settle),
                Err(e) => {
                    let _ = cb.call1(&JsValue::NULL, &e);
                }
            }
            return Ok(JsValue::UNDEFINED);
        }
        let opts = call_options(&options)?;
        let (p, settle) = promise_for(data_value);
        match to_json(&data) {
            Ok(d) => self.socket.emit_with(&event, d, opts, settle),
            Err(e) => return Ok(Promise::reject(&e).into()),
        }
        Ok(p.into())
    }

    /// Sends `{event, data}` without a `cid`; never fails.
    #[wasm_bindgen(skip_typescript)]
    pub fn transmit(&self, event: JsValue, data: JsValue) -> Result<(), JsValue> {
        let event = name_arg(&event, "event name")?;
        let d = to_json(&data)?;
        self.socket.transmit(&event, d);
        Ok(())
    }

    /// `publish(channel, data?)` → Promise resolved on the server's ack, or
    /// `publish(channel, data, callback)`.
    #[wasm_bindgen(unchecked_return_type = "Promise<void> | undefined", skip_typescript)]
    pub fn publish(
        &self,
        channel: JsValue,
        data: JsValue,
        #[wasm_bindgen(
            unchecked_param_type = "EmitOptions | ((err: Error | null) => void) | undefined"
        )]
        options: JsValue,
    ) -> Result<JsValue, JsValue> {
        let channel = name_arg(&channel, "channel name")?;
        if let Some(cb) = options.dyn_ref::<Function>() {
            let settle = callback_settler(cb.clone(), void_value);
            match to_json(&data) {
                Ok(d) => {
                    self.socket
                        .publish_with(&channel, d.as_deref(), CallOptions::default(), settle)
                }
                Err(e) => {
                    let _ = cb.call1(&JsValue::NULL, &e);
                }
            }
            return Ok(JsValue::UNDEFINED);
        }
        let opts = call_options(&options)?;
        let (p, settle) = promise_for(void_value);
        match to_json(&data) {
            Ok(d) => self
                .socket
                .publish_with(&channel, d.as_deref(), opts, settle),
            Err(e) => return Ok(Promise::reject(&e).into()),
        }
        Ok(p.into())
    }

    #[wasm_bindgen(js_name = transmitPublish, skip_typescript)]
    pub fn transmit_publish(&self, channel: JsValue, data: JsValue) -> Result<(), JsValue> {
        let channel = name_arg(&channel, "channel name")?;
        let d = to_json(&data)?;
        self.socket.transmit_publish(&channel, d.as_deref());
        Ok(())
    }

    /// Subscribes; the same `Channel` object for the same name while it exists.
    #[wasm_bindgen(unchecked_return_type = "Channel", skip_typescript)]
    pub fn subscribe(
        &self,
        channel: JsValue,
        #[wasm_bindgen(unchecked_param_type = "SubscribeOptions | undefined")] options: JsValue,
    ) -> Result<JsValue, JsValue> {
        let name = name_arg(&channel, "channel name")?;
        check_options_object(&options, "The subscribe options")?;
        let mut o = SubscribeOptions::default();
        if let Some(v) = opt_bool(&options, "waitForAuth")? {
            o.wait_for_auth = v;
        }
        if let Some(v) = get(&options, "priority") {
            o.priority = v
                .as_f64()
                .filter(|p| p.is_finite())
                .ok_or_else(|| invalid_arguments("Invalid option priority: expected a number"))?;
        }
        if let Some(v) = get(&options, "data") {
            o.data = to_json(&v)?;
        }
        let js = self.slot(&name).js;
        self.socket.subscribe(&name, o);
        Ok(js)
    }

    #[wasm_bindgen(skip_typescript)]
    pub fn unsubscribe(&self, channel: JsValue) -> Result<(), JsValue> {
        let name = name_arg(&channel, "channel name")?;
        let slot = self.slots.borrow().get(&name).cloned();
        if let Some(slot) = slot {
            cut(&slot);
        }
        self.socket.unsubscribe(&name);
        Ok(())
    }

    /// The `Channel` object of `name` (subscribed or not).
    #[wasm_bindgen(unchecked_return_type = "Channel", skip_typescript)]
    pub fn channel(&self, name: JsValue) -> Result<JsValue, JsValue> {
        let name = name_arg(&name, "channel name")?;
        Ok(self.slot(&name).js)
    }

    /// Names of subscribed channels (and pending ones with `includePending`).
    #[wasm_bindgen(js_name = subscriptions, skip_typescript)]
    pub fn js_subscriptions(
        &self,
        #[wasm_bindgen(js_name = includePending)] include_pending: JsValue,
    ) -> Result<Vec<String>, JsValue> {
        if include_pending.is_undefined() || include_pending.is_null() {
            return Ok(self.subscriptions(None));
        }
        let b = include_pending
            .as_bool()
            .ok_or_else(|| invalid_arguments("includePending must be a boolean"))?;
        Ok(self.subscriptions(Some(b)))
    }

    /// `#authenticate` with a signed token → `{isAuthenticated, authError}`.
    #[wasm_bindgen(
        unchecked_return_type = "Promise<{isAuthenticated: boolean, authError: Error | null}>",
        skip_typescript
    )]
    pub fn authenticate(&self, token: JsValue) -> Result<Promise, JsValue> {
        let token = name_arg(&token, "signed token")?;
        let (p, settle) = promise_for(|d| {
            let v = from_json(d.as_deref());
            let is_auth = get(&v, "isAuthenticated").and_then(|b| b.as_bool()) == Some(true);
            let err = get(&v, "authError")
                .filter(|e| !e.is_null())
                .map_or(JsValue::NULL, |e| {
                    let text = JSON::stringify(&e)
                        .ok()
                        .and_then(|s| s.as_string())
                        .unwrap_or_default();
                    super::errors::hydrate_error(&text).into()
                });
            object(&[("isAuthenticated", is_auth.into()), ("authError", err)])
        });
        self.socket.authenticate_with(&token, settle);
        Ok(p)
    }

    /// Removes the stored token and sends `#removeAuthToken`.
    #[wasm_bindgen(unchecked_return_type = "Promise<void>")]
    pub fn deauthenticate(&self) -> Promise {
        self.socket.deauthenticate();
        Promise::resolve(&JsValue::UNDEFINED)
    }

    /// Adds a listener; returns the function that removes it.
    #[wasm_bindgen(unchecked_return_type = "() => void")]
    pub fn on(
        &self,
        #[wasm_bindgen(unchecked_param_type = "SocketEventName | (string & {})")] name: JsValue,
        #[wasm_bindgen(unchecked_param_type = "(...args: any[]) => any")] listener: JsValue,
    ) -> Result<Function, JsValue> {
        self.emitter.on(&name, &listener)
    }

    /// The first payload of the next `name` event; rejects with `TimeoutError` after `timeoutMs`.
    #[wasm_bindgen(js_name = once, unchecked_return_type = "Promise<any>", skip_typescript)]
    pub fn js_once(
        &self,
        #[wasm_bindgen(unchecked_param_type = "SocketEventName | (string & {})")] name: JsValue,
        #[wasm_bindgen(js_name = timeoutMs, unchecked_param_type = "number | undefined")]
        timeout_ms: JsValue,
    ) -> Result<Promise, JsValue> {
        Ok(self.emitter.once(&listener_name(&name)?, &timeout_ms))
    }

    #[wasm_bindgen(js_name = off, skip_typescript)]
    pub fn js_off(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string | undefined")] name: JsValue,
        #[wasm_bindgen(unchecked_param_type = "((...args: any[]) => any) | undefined")]
        listener: JsValue,
    ) -> Result<(), JsValue> {
        check_off(&name, &listener)?;
        self.off(name, listener);
        Ok(())
    }
}

impl JsSocket {
    /// Creates the socket (the constructor and `connect()` after reading `url`).
    pub fn new(url: &str, options: JsValue) -> Result<JsSocket, JsValue> {
        Self::build(url, options)
    }

    /// `disconnect(code, reason)` for Rust callers (`None`: 1000, no reason).
    pub fn disconnect(&self, code: Option<u16>, reason: Option<String>) -> Result<(), JsValue> {
        let code = close_code(code)?;
        self.cut_all();
        self.socket
            .disconnect(code, reason.as_deref().unwrap_or(""));
        super::let_go(self.socket.handle().as_ptr() as usize);
        Ok(())
    }

    /// `reconnect(code, reason)` for Rust callers.
    pub fn reconnect(&self, code: Option<u16>, reason: Option<String>) -> Result<(), JsValue> {
        let code = close_code(code)?;
        self.cut_all();
        self.socket.reconnect(code, reason.as_deref().unwrap_or(""));
        Ok(())
    }

    /// Nothing already taken from the core for the current frame is delivered after this.
    fn cut_all(&self) {
        self.gate.set(self.gate.get().wrapping_add(1));
        // (`cut` only sets a counter on our own emitter object: no page code runs)
        for (_, s) in self.slots.borrow().iter() {
            cut(s);
        }
    }

    /// `subscriptions(includePending)` for Rust callers.
    pub fn subscriptions(&self, include_pending: Option<bool>) -> Vec<String> {
        self.socket.subscriptions(include_pending.unwrap_or(false))
    }

    /// `once(name, timeoutMs)` for Rust callers.
    pub fn once(&self, name: String, timeout_ms: JsValue) -> Promise {
        self.emitter.once(&name, &timeout_ms)
    }

    /// `off(name, listener)` for Rust callers.
    pub fn off(&self, name: JsValue, listener: JsValue) {
        self.emitter.off(&name, &listener)
    }

    fn slot(&self, name: &str) -> ChannelSlot {
        if let Some(s) = self.slots.borrow().get(name) {
            return s.clone();
        }
        let slot_base = ChannelSlot {
            js: JsValue::UNDEFINED,
            emitter: Emitter::new(),
            watchers: Rc::new(Emitter::new()),
            queues: Rc::new(RefCell::new(Vec::new())),
            cut: Rc::new(Cell::new(0)),
        };
        let slot = wrap_slot(&self.slots, self.socket.handle(), name, slot_base);
        self.slots
            .borrow_mut()
            .insert(name.to_string(), slot.clone());
        slot
    }

    /// The server socket id (Rust-side view of the `id` property).
    pub fn id(&self) -> Option<String> {
        self.socket.id()
    }

    /// The signed token (Rust-side view of the `signedAuthToken` property).
    pub fn signed_auth_token(&self) -> Option<String> {
        self.socket.signed_auth_token()
    }

    /// The Rust socket behind this object.
    pub fn rust(&self) -> &Socket {
        &self.socket
    }
}

/// Keeps an active socket alive (see [`JsSocket`]); lets it go once it is closed for good.
fn keep_alive_while_active(h: &std::rc::Weak<crate::client::InnerHandle>, ev: &SocketEvent) {
    let key = h.as_ptr() as usize;
    match ev {
        SocketEvent::Connecting => {
            if let Some(s) = Socket::from_handle(h) {
                super::keep_alive(key, Box::new(s));
            }
        }
        SocketEvent::Close { .. } | SocketEvent::GiveUp { .. }
            if Socket::from_handle(h).is_none_or(|s| !s.pending_reconnect()) =>
        {
            super::let_go(key);
        }
        _ => {}
    }
}

fn close_code(code: Option<u16>) -> Result<u16, JsValue> {
    match code {
        None => Ok(1000),
        Some(c) if c == 1000 || (3000..=4999).contains(&c) => Ok(c),
        Some(c) => Err(invalid_arguments(&format!(
            "Invalid close code {c}: use 1000 or 3000-4999"
        ))),
    }
}

/// `(code?, reason?)` of `disconnect`/`reconnect` as JS passes them: a whole number 1000 or
/// 3000–4999 (absent: 1000), and a string reason (absent: none).
fn close_args(code: &JsValue, reason: &JsValue) -> Result<(u16, Option<String>), JsValue> {
    let code = if code.is_undefined() || code.is_null() {
        1000
    } else {
        match code.as_f64() {
            Some(c) if c == 1000.0 || ((3000.0..=4999.0).contains(&c) && c.fract() == 0.0) => {
                c as u16
            }
            _ => {
                return Err(invalid_arguments(
                    "Invalid close code: use 1000 or a whole number from 3000 to 4999",
                ))
            }
        }
    };
    let reason = if reason.is_undefined() || reason.is_null() {
        None
    } else {
        Some(
            reason
                .as_string()
                .ok_or_else(|| invalid_arguments("The close reason must be a string"))?,
        )
    };
    Ok((code, reason))
}

/// `{code, reason}`; `reason` is `undefined` when there is none (as in socketcluster-client).
fn close_payload(code: u16, reason: &str) -> JsValue {
    let reason = if reason.is_empty() {
        JsValue::UNDEFINED
    } else {
        reason.into()
    };
    object(&[("code", code.into()), ("reason", reason)])
}

/// Removes a channel's JS state once the core no longer has the channel and nobody listens.
fn maybe_drop_slot(slots: &Slots, h: &std::rc::Weak<crate::client::InnerHandle>, name: &str) {
    let gone = Socket::from_handle(h).is_none_or(|s| !s.has_channel(name));
    if !gone {
        return;
    }
    // The checks call into JS (`is_done`, `is_empty`): made on a clone, with no borrow held.
    let slot = slots.borrow().get(name).cloned();
    let Some(slot) = slot else { return };
    if prune_queues(&slot) && slot.watchers.is_empty() && slot.emitter.is_empty() {
        let removed = slots.borrow_mut().remove(name);
        drop(removed); // outside the borrow: dropping releases JS handles
    }
}

/// Delivers queued channel messages in order: each run of messages for one channel is handed to
/// JS as one JSON array (one wasm→JS call and one `JSON.parse` for the run, as a raw WebSocket
/// client would do per frame).
///
/// A watcher may unsubscribe or disconnect: the rest of its channel's messages (or of all
/// of them) are then not delivered (the `cut` counters, read before any run is delivered; JS
/// checks its own counter between the messages of a run).
fn deliver_batch(slots: &Slots, batch: &Batch) {
    let runs = std::mem::take(&mut *batch.borrow_mut());
    for mut run in runs {
        let target = slots
            .borrow()
            .get(run.channel.as_str())
            .filter(|s| s.cut.get() == run.cut)
            .map(|s| (s.watchers.clone(), s.queues.clone()));
        let Some((watchers, queues)) = target else {
            continue;
        };
        run.json.push(']');
        let values = watchers.emit_json_array(WATCH, &run.json, run.undefined);
        if queues.borrow().is_empty() {
            continue;
        }
        // (pushing resolves a `for await` waiter: no borrow is held across it)
        let qs: Vec<AsyncQueue> = queues.borrow().clone();
        for q in qs.iter() {
            for v in values.iter() {
                q.push(&v);
            }
        }
    }
}

fn dispatch(
    em: &Emitter,
    slots: &Slots,
    h: &std::rc::Weak<crate::client::InnerHandle>,
    respond: &Function,
    ev: &SocketEvent,
) {
    let u = JsValue::UNDEFINED;
    let slot = |name: &str| slots.borrow().get(name).cloned();
    match ev {
        SocketEvent::Connecting => {
            em.emit("connecting", &u, &u);
        }
        SocketEvent::Connect {
            id,
            ping_timeout,
            is_authenticated,
            auth_error,
        } => {
            let mut pairs = vec![
                ("id", JsValue::from_str(id)),
                ("pingTimeout", JsValue::from(*ping_timeout)),
                ("isAuthenticated", JsValue::from(*is_authenticated)),
            ];
            if let Some(e) = auth_error {
                pairs.push(("authError", super::errors::hydrate_error(e).into()));
            }
            em.emit("connect", &object(&pairs), &u);
        }
        SocketEvent::ConnectAbort { code, reason } => {
            em.emit("connectAbort", &close_payload(*code, reason), &u);
        }
        SocketEvent::Disconnect { code, reason } => {
            em.emit("disconnect", &close_payload(*code, reason), &u);
        }
        SocketEvent::Close { code, reason } => {
            em.emit("close", &close_payload(*code, reason), &u);
        }
        SocketEvent::Error(e) => {
            let err = match e {
                SocketError::Session(s) => session_error(s),
                SocketError::Storage(m) => make_error("StorageError", m).into(),
            };
            em.emit("error", &err, &u);
        }
        SocketEvent::Raw(t) => {
            em.emit("raw", &JsValue::from_str(t), &u);
        }
        SocketEvent::Reconnecting { attempt, delay } => {
            em.emit(
                "reconnecting",
                &object(&[("attempt", (*attempt).into()), ("delay", (*delay).into())]),
                &u,
            );
        }
        SocketEvent::GiveUp { attempts } => {
            em.emit("giveUp", &object(&[("attempts", (*attempts).into())]), &u);
        }
        SocketEvent::ServerEvent { event, data, reply } => {
            let data = from_json(data.as_deref());
            match reply {
                Some(r) => {
                    let to = r.reply_to();
                    em.server_event(
                        event,
                        &data,
                        to.gen as f64,
                        &JsValue::from_str(&to.rid),
                        respond,
                    );
                }
                None => {
                    em.server_event(event, &data, 0.0, &u, respond);
                }
            }
        }
        SocketEvent::Subscribe(c) => {
            let name = JsValue::from_str(c);
            em.emit("subscribe", &name, &u);
            if let Some(s) = slot(c) {
                s.emitter.emit("subscribe", &name, &u);
            }
        }
        SocketEvent::SubscribeFail { channel, error } => {
            let err: JsValue = super::errors::hydrate_error(error).into();
            let name = JsValue::from_str(channel);
            em.emit("subscribeFail", &err, &name);
            if let Some(s) = slot(channel) {
                s.emitter.emit("subscribeFail", &err, &name);
                // The channel is gone: `for await` loops over it end, as on unsubscribe.
                if !Socket::from_handle(h).is_some_and(|s| s.has_channel(channel)) {
                    end_loops(&s);
                }
            }
            maybe_drop_slot(slots, h, channel);
        }
        SocketEvent::Unsubscribe(c) => {
            let name = JsValue::from_str(c);
            em.emit("unsubscribe", &name, &u);
            if let Some(s) = slot(c) {
                s.emitter.emit("unsubscribe", &name, &u);
                if Socket::from_handle(h).is_none_or(|s| !s.has_channel(c)) {
                    end_loops(&s);
                }
            }
            maybe_drop_slot(slots, h, c);
        }
        SocketEvent::SubscribeStateChange { channel, old, new } => {
            let payload = object(&[
                ("channel", JsValue::from_str(channel)),
                ("oldState", old.as_str().into()),
                ("newState", new.as_str().into()),
            ]);
            em.emit("subscribeStateChange", &payload, &u);
            if let Some(s) = slot(channel) {
                s.emitter.emit("subscribeStateChange", &payload, &u);
            }
        }
        SocketEvent::KickOut { channel, message } => {
            let msg = from_json(message.as_deref());
            let name = JsValue::from_str(channel);
            em.emit(
                "kickOut",
                &object(&[("channel", name.clone()), ("message", msg.clone())]),
                &u,
            );
            if let Some(s) = slot(channel) {
                s.emitter.emit("kickOut", &msg, &name);
            }
        }
        // Channel messages never get here: they are batched (`batch_push`, `deliver_batch`).
        SocketEvent::Publish { .. } => {}
        SocketEvent::Authenticate { signed_token } => {
            em.emit(
                "authenticate",
                &object(&[
                    ("signedAuthToken", JsValue::from_str(signed_token)),
                    ("authToken", decoded_token(Some(signed_token))),
                ]),
                &u,
            );
        }
        SocketEvent::Deauthenticate { old_signed_token } => {
            em.emit(
                "deauthenticate",
                &object(&[
                    (
                        "oldSignedAuthToken",
                        old_signed_token
                            .as_deref()
                            .map_or(JsValue::NULL, JsValue::from_str),
                    ),
                    ("oldAuthToken", decoded_token(old_signed_token.as_deref())),
                ]),
                &u,
            );
        }
        SocketEvent::AuthStateChange { old, new } => {
            em.emit(
                "authStateChange",
                &object(&[
                    ("oldAuthState", old.as_str().into()),
                    ("newAuthState", new.as_str().into()),
                ]),
                &u,
            );
        }
    }
}
