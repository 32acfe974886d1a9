//! The SocketCluster connection state machine, sans-IO.
//!
//! Owns: connection phases and generations, the handshake, ping/pong liveness, the pending-ack
//! table and the bounded outbox, retries, the close-code reconnect policy with its backoff
//! schedule, channels and their (re)subscription, and the auth state.
//!
//! Inputs are `handle_*` calls and user calls, each given `now` (ms, wall clock). Outputs are
//! drained with [`Session::poll_output`], one ordered queue of [`Output::Command`]s for the
//! driver ([`Command`]: frames to send, sockets to open or close, tokens to load, store or
//! remove) and [`Output::Event`]s for the user ([`Event`]: lifecycle and channel events,
//! server events, settled calls), and [`Session::poll_timeout`] (the one deadline the driver
//! must arm a timer for). It never reads a clock, never draws its own randomness (the RNG is
//! seeded by the caller), and never touches `web_sys`.

#[allow(unused_imports)]
use crate::prelude::*;

use alloc::borrow::Cow;
use alloc::collections::VecDeque;

use super::auth;
use super::backoff::{BackoffConfig, XorShift};
use super::codec::{self, Frame, Packet};
use super::error::{close_reason, BadConnectionKind, CallError};
use super::table::{desc_then_asc, heapsort, take_at, NameTable};

/// Session options (the JS `options`, already validated).
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// The full WebSocket URL, query included.
    pub url: String,
    /// Time a call waits for its answer, ms (`ackTimeout`, default 10 000).
    pub ack_timeout: f64,
    /// Time a connection attempt may take up to the handshake answer, ms (`connectTimeout`, default 20 000).
    pub connect_timeout: f64,
    /// Never close for a missing ping (`pingTimeoutDisabled`).
    pub ping_timeout_disabled: bool,
    /// 1 (`#1`/`#2` pings) or 2 (empty frames), as the server (`protocolVersion`).
    pub protocol_version: u8,
    /// Reconnect after a lost connection (`autoReconnect`, default true).
    pub auto_reconnect: bool,
    /// Reconnect delays (`autoReconnectOptions`).
    pub backoff: BackoffConfig,
    /// Subscribe the pending channels on every connect (`autoSubscribeOnConnect`).
    pub auto_subscribe_on_connect: bool,
    /// Calls and transmits that may wait for the connection (`outboxLimit`, default 1000).
    pub outbox_limit: usize,
    /// Largest inbound frame, in UTF-8 bytes (`maxPayload`): a bigger one closes the connection
    /// with 1009 and the socket reconnects.
    pub max_payload: usize,
}

/// Default of [`Config::max_payload`]: 16 MiB.
pub const DEFAULT_MAX_PAYLOAD: usize = 16 * 1024 * 1024;

impl Default for Config {
    fn default() -> Self {
        Config {
            url: String::new(),
            ack_timeout: 10_000.0,
            connect_timeout: 20_000.0,
            ping_timeout_disabled: false,
            protocol_version: 2,
            auto_reconnect: true,
            backoff: BackoffConfig::default(),
            auto_subscribe_on_connect: true,
            outbox_limit: 1000,
            max_payload: DEFAULT_MAX_PAYLOAD,
        }
    }
}

/// Identifies one emit/publish/authenticate call across its retries.
pub type CallId = u64;

/// `socket.state`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// Connecting (or waiting to reconnect).
    Connecting,
    /// The handshake completed.
    Open,
    /// Closed.
    Closed,
}

impl State {
    /// The JS text (`connecting`, `open`, `closed`).
    pub fn as_str(self) -> &'static str {
        match self {
            State::Connecting => "connecting",
            State::Open => "open",
            State::Closed => "closed",
        }
    }
}

/// `socket.authState`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthState {
    /// The server accepted a signed token.
    Authenticated,
    /// No accepted token.
    Unauthenticated,
}

impl AuthState {
    /// The JS text (`authenticated`, `unauthenticated`).
    pub fn as_str(self) -> &'static str {
        match self {
            AuthState::Authenticated => "authenticated",
            AuthState::Unauthenticated => "unauthenticated",
        }
    }
}

/// `channel.state`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChannelState {
    /// Waiting for the connection or the server's answer.
    Pending,
    /// The server accepted the subscription.
    Subscribed,
    /// Not subscribed.
    Unsubscribed,
}

impl ChannelState {
    /// The JS text (`pending`, `subscribed`, `unsubscribed`).
    pub fn as_str(self) -> &'static str {
        match self {
            ChannelState::Pending => "pending",
            ChannelState::Subscribed => "subscribed",
            ChannelState::Unsubscribed => "unsubscribed",
        }
    }
}

/// Options of `subscribe`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SubscribeOptions {
    /// Subscribe only once the socket is authenticated (`waitForAuth`).
    pub wait_for_auth: bool,
    /// JSON text sent as the `#subscribe` data's `data` field.
    pub data: Option<String>,
    /// Order of the `#subscribe` frames on connect (higher first).
    pub priority: f64,
}

/// Options of one emit/publish.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct CallOptions {
    /// This call's `ackTimeout` instead of the socket's, ms.
    pub ack_timeout: Option<f64>,
    /// How often the call is sent again after a lost connection.
    pub retries: u32,
}

/// Where the answer to a server invoke goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplyTo {
    /// The connection generation the invoke arrived on.
    pub gen: u64,
    /// The exact text of the invoke's `cid`.
    pub rid: String,
}

/// Errors reported through the `error` event.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum SessionError {
    /// The connection closed with a code other than 1000/1001 (`SocketProtocolError`).
    Protocol {
        /// The close code.
        code: u16,
        /// The close reason, or sc-errors' text for the code.
        message: String,
    },
    /// The server refused the handshake: its error's JSON text.
    Handshake(String),
    /// An auth token that cannot be decoded.
    BadAuthToken(auth::JwtError),
    /// A transmit was dropped because the outbox was full.
    OutboxFull {
        /// The `outboxLimit`.
        limit: usize,
    },
    /// The token store failed (reported by the driver; the token is kept in memory meanwhile):
    /// the store's message (`StorageError`).
    Storage(String),
}

/// One output of the session, in order: a [`Command`] for the driver or an [`Event`] for the
/// user. The order between them matters: the engine hands the events before a command to the
/// face before it runs that command (a `connecting` listener that disconnects opens no socket).
#[derive(Debug, Clone, PartialEq)]
pub enum Output {
    /// Something the driver must do.
    Command(Command),
    /// Something the user sees.
    Event(Event),
}

/// What the driver must do to the browser or the token store.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Command {
    /// Open a WebSocket for generation `gen`.
    Open {
        /// The connection generation.
        gen: u64,
        /// The WebSocket URL.
        url: String,
    },
    /// The socket of `gen` is open at the transport level: load the auth token and call
    /// [`Session::handle_token`].
    LoadToken {
        /// The connection generation.
        gen: u64,
    },
    /// Send a text frame on the socket of `gen`.
    Send {
        /// The connection generation.
        gen: u64,
        /// The frame.
        text: String,
    },
    /// Close the socket of `gen` (the session already considers it closed).
    Close {
        /// The connection generation.
        gen: u64,
        /// The close code.
        code: u16,
        /// The close reason.
        reason: String,
    },
    /// Store the signed token.
    SaveToken(String),
    /// Remove the stored token.
    RemoveToken,
}

/// Byte ranges, `(start, len)`, of a channel message's name (without its quotes) and data in
/// the text of the frame numbered `frame` (see [`Session::frames`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Span {
    /// The frame's number.
    pub frame: u32,
    /// The channel name.
    pub channel: (u32, u32),
    /// The message's JSON text.
    pub data: (u32, u32),
}

impl Span {
    /// The data's text in `frame`, the text of the frame numbered [`Span::frame`].
    pub fn data_in(self, frame: &str) -> Option<&str> {
        let (at, len) = (self.data.0 as usize, self.data.1 as usize);
        frame.get(at..at + len)
    }
}

/// A user-visible event (what the faces turn into listener calls and settled calls).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Event {
    /// `connecting`.
    Connecting,
    /// `connect`: the handshake completed.
    Connect {
        /// The socket id the server gave.
        id: String,
        /// The server's `pingTimeout`, ms.
        ping_timeout: f64,
        /// Whether the server accepted the token sent.
        is_authenticated: bool,
        /// JSON text of `authError` when present.
        auth_error: Option<String>,
    },
    /// `connectAbort`: an attempt closed before the handshake completed.
    ConnectAbort {
        /// The close code.
        code: u16,
        /// The close reason.
        reason: String,
    },
    /// `disconnect`: an open connection closed.
    Disconnect {
        /// The close code.
        code: u16,
        /// The close reason.
        reason: String,
    },
    /// `close`: after every `connectAbort` and `disconnect`.
    Closed {
        /// The close code.
        code: u16,
        /// The close reason.
        reason: String,
    },
    /// `error`.
    Error(SessionError),
    /// A frame (or batch element) that is not a packet.
    Raw(String),
    /// `reconnecting`: a reconnect is scheduled.
    Reconnecting {
        /// Its number since the last open (1-based).
        attempt: u32,
        /// Its delay, ms.
        delay: f64,
    },
    /// `giveUp`: `maxAttempts` reconnects failed.
    GiveUp {
        /// How many were made.
        attempts: u32,
    },
    /// A server transmit (`reply: None`) or invoke.
    ServerEvent {
        /// The event name.
        event: String,
        /// Its data's JSON text.
        data: Option<String>,
        /// Where the answer goes, for an invoke.
        reply: Option<ReplyTo>,
    },
    /// A call settles, exactly once.
    Settle {
        /// The call.
        id: CallId,
        /// The answer's data JSON text, or why it failed.
        result: Result<Option<String>, CallError>,
    },
    /// `subscribe`: the server accepted the channel.
    Subscribe(String),
    /// The server refused a subscription: its error's JSON text.
    SubscribeFail {
        /// The channel.
        channel: String,
        /// The server's error, JSON text.
        error: String,
    },
    /// `unsubscribe` (also when a lost connection sends a channel back to pending).
    Unsubscribe(String),
    /// `subscribeStateChange`.
    SubscribeStateChange {
        /// The channel.
        channel: String,
        /// The state before.
        old: ChannelState,
        /// The state now.
        new: ChannelState,
    },
    /// `kickOut`: the server removed the socket from a channel.
    KickOut {
        /// The channel.
        channel: String,
        /// The server's message.
        message: Option<String>,
    },
    /// A channel message for a channel in the map.
    Publish {
        /// The channel.
        channel: String,
        /// The message's JSON text (`None`: no data, or, from
        /// [`Session::handle_text_lending`], the data left in the frame at `span`).
        data: Option<String>,
        /// Where the channel name and the data sit in the frame they came in (`None` when the
        /// name has escapes or there is no data): a face that still holds that frame's text
        /// can slice them out of it instead of copying them out of Rust.
        span: Option<Span>,
    },
    /// `authenticate`: the server issued or accepted a token.
    Authenticate {
        /// The signed token.
        signed_token: String,
    },
    /// `deauthenticate`: the token was removed.
    Deauthenticate {
        /// The token before, if any.
        old_signed_token: Option<String>,
    },
    /// `authStateChange`.
    AuthStateChange {
        /// The state before.
        old: AuthState,
        /// The state now.
        new: AuthState,
    },
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Phase {
    /// No socket.
    Idle,
    /// WebSocket opening.
    Opening {
        deadline: f64,
    },
    /// WebSocket open, waiting for the driver to load the token.
    AwaitToken {
        deadline: f64,
    },
    /// `#handshake` sent.
    Handshaking {
        cid: u64,
        deadline: f64,
    },
    Open {
        ping_deadline: f64,
    },
}

#[derive(Debug, Clone)]
struct Call {
    id: CallId,
    /// The `cid` it went out with (0 until sent; the pending-ack table is sorted by it).
    cid: u64,
    /// Wire event (`#publish` for publishes).
    event: String,
    data: Option<String>,
    /// `false` for transmits.
    expects_ack: bool,
    deadline: f64,
    ack_timeout: f64,
    retries: u32,
}

#[derive(Debug, Clone)]
struct ChannelEntry {
    state: ChannelState,
    opts: SubscribeOptions,
    seq: u64,
    in_flight: Option<u64>,
}

/// Removes the call sent with `cid` from `list` (sorted by cid: cids go out increasing; answers
/// usually come in order, so it is found near the front).
fn take_sent(list: &mut VecDeque<Call>, cid: u64) -> Option<Call> {
    // (the answer to the oldest call first: no search)
    if list.front()?.cid == cid {
        return list.pop_front();
    }
    let pos = list.binary_search_by(|c| c.cid.cmp(&cid)).ok()?;
    take_at(list, pos)
}

/// `t` becomes the earlier of `t` and `v`.
fn earlier(t: &mut Option<f64>, v: f64) {
    *t = Some(t.map_or(v, |x| x.min(v)));
}

/// `t` becomes the earliest of `t` and the deadlines in `list` (over its two slices: no
/// `VecDeque` iterator code in the wasm).
fn earliest_call(list: &VecDeque<Call>, t: &mut Option<f64>) {
    let (a, b) = list.as_slices();
    for part in [a, b] {
        for c in part {
            earlier(t, c.deadline);
        }
    }
}

/// Most calls that wait for their answer at once (the pending-ack table's bound). Calls made
/// while it is full wait in the outbox (bounded by `outboxLimit`) and go out, in order, as
/// answers come in.
pub const MAX_IN_FLIGHT: usize = 10_000;

/// Reserved local event names: a server event with one of these names goes to `raw`.
pub const RESERVED_EVENTS: &[&str] = &[
    "connecting",
    "connect",
    "connectAbort",
    "disconnect",
    "close",
    "error",
    "raw",
    "reconnecting",
    "giveUp",
    "authenticate",
    "deauthenticate",
    "authStateChange",
    "subscribe",
    "subscribeFail",
    "unsubscribe",
    "subscribeStateChange",
    "kickOut",
];

/// The connection state machine. See the module docs.
#[derive(Debug)]
pub struct Session {
    cfg: Config,
    rng: XorShift,
    phase: Phase,
    gen: u64,
    next_cid: u64,
    next_call: CallId,
    next_seq: u64,
    id: Option<String>,
    ping_timeout: f64,
    reconnect_at: Option<f64>,
    /// Reconnects scheduled since the last successful handshake (`connectAttempts`).
    scheduled: u32,
    /// Failed connection attempts since the last successful handshake.
    failed: u32,
    last_close: (u16, String),
    /// Calls sent and waiting for their answer, in `cid` (send) order (the same queue type as
    /// the outbox: one set of `VecDeque` code in the wasm).
    pending: VecDeque<Call>,
    outbox: VecDeque<Call>,
    channels: NameTable<ChannelEntry>,
    /// The `#subscribe`s in flight, in cid order (answers come in order: taken at the front):
    /// `Call`s holding the channel name as their `event` (the element type of the pending-ack
    /// table: one set of `VecDeque` code in the wasm).
    sub_in_flight: VecDeque<Call>,
    auth_state: AuthState,
    signed_token: Option<String>,
    /// The token sent with the current handshake.
    handshake_token: Option<String>,
    out: VecDeque<Output>,
    /// Text frames handled (wrapping): the number of the frame being handled.
    frames: u32,
    /// The address range of the text being handled, for [`Span`]s (none between calls).
    frame: Option<(usize, usize)>,
    /// While [`Session::handle_text_lending`] runs: channel messages leave their data in the
    /// frame.
    lend: bool,
}

impl Session {
    /// A new, closed session. `seed` feeds the backoff jitter.
    pub fn new(cfg: Config, seed: u64) -> Self {
        Session {
            ping_timeout: cfg.connect_timeout,
            cfg,
            rng: XorShift::new(seed),
            phase: Phase::Idle,
            gen: 0,
            next_cid: 1,
            next_call: 1,
            next_seq: 0,
            id: None,
            reconnect_at: None,
            scheduled: 0,
            failed: 0,
            last_close: (1000, close_reason(1000).to_string()),
            pending: VecDeque::new(),
            outbox: VecDeque::new(),
            channels: NameTable::new(),
            sub_in_flight: VecDeque::new(),
            auth_state: AuthState::Unauthenticated,
            signed_token: None,
            handshake_token: None,
            out: VecDeque::new(),
            frames: 0,
            frame: None,
            lend: false,
        }
    }

    // ---- accessors ------------------------------------------------------------------------

    /// How many text frames [`Session::handle_text`] was given (wrapping): during a call and
    /// after it, the number of its frame, which the [`Span`]s of its events carry.
    pub fn frames(&self) -> u32 {
        self.frames
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.cfg
    }
    /// `connecting`, `open` or `closed`.
    pub fn state(&self) -> State {
        match self.phase {
            Phase::Idle => State::Closed,
            Phase::Open { .. } => State::Open,
            _ => State::Connecting,
        }
    }
    /// The socket id of the open connection.
    pub fn id(&self) -> Option<&str> {
        self.id.as_deref()
    }
    /// The current connection generation (every attempt has its own).
    pub fn generation(&self) -> u64 {
        self.gen
    }
    /// Whether a reconnect is scheduled.
    pub fn pending_reconnect(&self) -> bool {
        self.reconnect_at.is_some()
    }
    /// Reconnects scheduled since the last open.
    pub fn connect_attempts(&self) -> u32 {
        self.scheduled
    }
    /// Whether the server accepted a token.
    pub fn auth_state(&self) -> AuthState {
        self.auth_state
    }
    /// The accepted signed token.
    pub fn signed_token(&self) -> Option<&str> {
        self.signed_token.as_deref()
    }
    /// Number of calls and transmits waiting in the outbox.
    pub fn outbox_len(&self) -> usize {
        self.outbox.len()
    }
    /// Number of calls sent and waiting for their answer.
    pub fn in_flight(&self) -> usize {
        self.pending.len()
    }
    /// The state of the channel `name`.
    pub fn channel_state(&self, name: &str) -> ChannelState {
        self.channels
            .get(name)
            .map_or(ChannelState::Unsubscribed, |c| c.state)
    }
    /// Whether the channel exists (pending or subscribed).
    pub fn has_channel(&self, name: &str) -> bool {
        self.channels.contains_key(name)
    }
    /// Channel names, subscribed ones only unless `include_pending`.
    pub fn subscriptions(&self, include_pending: bool) -> Vec<String> {
        if include_pending {
            self.channel_names(|_| true, false)
        } else {
            self.channel_names(|c| c.state == ChannelState::Subscribed, false)
        }
    }

    /// The names of the channels `keep` selects, in subscription order, or by descending
    /// `priority` first (`by_priority`). One function (a `fn` pointer, one sort) for every
    /// ordered list of names.
    fn channel_names(&self, keep: fn(&ChannelEntry) -> bool, by_priority: bool) -> Vec<String> {
        // (plain loops: each iterator adaptor chain is a monomorph of its own in the wasm)
        let mut v: Vec<(f64, u64, &String)> = Vec::new();
        for (n, c) in self.channels.iter() {
            if keep(c) {
                v.push((if by_priority { c.opts.priority } else { 0.0 }, c.seq, n));
            }
        }
        heapsort(&mut v, |a, b| desc_then_asc((a.0, a.1), (b.0, b.1)));
        let mut names = Vec::with_capacity(v.len());
        for (_, _, n) in v {
            names.push(n.clone());
        }
        names
    }

    // ---- outputs --------------------------------------------------------------------------

    /// The next output to act on, in order: a driver [`Command`] or a user-visible [`Event`].
    pub fn poll_output(&mut self) -> Option<Output> {
        self.out.pop_front()
    }

    // (never inlined: each call site would wrap and copy the output into the queue itself)
    #[inline(never)]
    fn command(&mut self, c: Command) {
        self.out.push_back(Output::Command(c));
    }

    #[inline(never)]
    fn event(&mut self, e: Event) {
        self.out.push_back(Output::Event(e));
    }

    /// The earliest deadline at which [`Session::handle_timeout`] must be called.
    pub fn poll_timeout(&self) -> Option<f64> {
        let mut t: Option<f64> = None;
        match self.phase {
            Phase::Opening { deadline }
            | Phase::AwaitToken { deadline }
            | Phase::Handshaking { deadline, .. } => earlier(&mut t, deadline),
            Phase::Open { ping_deadline } if !self.cfg.ping_timeout_disabled => {
                earlier(&mut t, ping_deadline)
            }
            _ => {}
        }
        if let Some(r) = self.reconnect_at {
            earlier(&mut t, r);
        }
        earliest_call(&self.pending, &mut t);
        earliest_call(&self.outbox, &mut t);
        t
    }

    // ---- user calls -----------------------------------------------------------------------

    /// Starts connecting unless already connecting or open. Cancels a pending reconnect and
    /// starts the attempt count afresh.
    pub fn connect(&mut self, now: f64) {
        if self.phase != Phase::Idle {
            return;
        }
        self.reconnect_at = None;
        self.scheduled = 0;
        self.failed = 0;
        self.start_attempt(now);
    }

    /// Closes the connection with `code` and cancels any pending reconnect. Calls still queued
    /// or in flight reject with `BadConnectionError`. Server events and channel messages not
    /// delivered yet (the rest of a frame, when called from a listener) are dropped.
    pub fn disconnect(&mut self, code: u16, reason: &str, now: f64) {
        self.reconnect_at = None;
        self.drop_undelivered(None);
        if self.phase == Phase::Idle {
            self.last_close = (code, reason.to_string());
            self.reject_outbox(BadConnectionKind::Closed, code, reason);
            return;
        }
        self.command(Command::Close {
            gen: self.gen,
            code,
            reason: reason.to_string(),
        });
        self.on_closed(code, reason.to_string(), true, now);
    }

    /// Closes (if connected) and connects again at once.
    /// Calls still queued (never sent) are kept for the new connection; calls in flight are
    /// settled as by `disconnect`.
    pub fn reconnect(&mut self, code: u16, reason: &str, now: f64) {
        let mut queued = core::mem::take(&mut self.outbox);
        self.disconnect(code, reason, now);
        self.connect(now);
        while let Some(call) = queued.pop_back() {
            self.outbox.push_front(call);
        }
    }

    /// An emit (`expects_ack`) or transmit of `event` with JSON text `data`.
    pub fn emit(
        &mut self,
        event: &str,
        data: Option<String>,
        expects_ack: bool,
        opts: CallOptions,
        now: f64,
    ) -> Result<CallId, CallError> {
        self.check_liveness(now);
        let ack_timeout = opts.ack_timeout.unwrap_or(self.cfg.ack_timeout);
        let id = self.next_call;
        self.next_call += 1;
        let call = Call {
            id,
            cid: 0,
            event: event.to_string(),
            data,
            expects_ack,
            deadline: now + ack_timeout,
            ack_timeout,
            retries: if expects_ack { opts.retries } else { 0 },
        };
        match self.phase {
            Phase::Open { .. } if self.outbox.is_empty() && self.has_room(&call) => {
                self.send_call(call);
                Ok(id)
            }
            Phase::Idle if self.reconnect_at.is_none() => {
                let (code, reason) = self.last_close.clone();
                Err(CallError::BadConnection {
                    kind: BadConnectionKind::Closed,
                    code,
                    reason,
                    event: event.to_string(),
                })
            }
            _ => {
                if self.outbox.len() >= self.cfg.outbox_limit {
                    return Err(CallError::OutboxFull {
                        limit: self.cfg.outbox_limit,
                    });
                }
                self.outbox.push_back(call);
                Ok(id)
            }
        }
    }

    /// Gives the call `id`, the last one [`Session::emit`] (or `publish`, `authenticate`) made,
    /// the id `key` instead: its [`Event::Settle`] carries `key`. For an engine whose face keys
    /// its calls itself (no table from one id to the other); the session only reports call ids,
    /// so they need not follow its own numbering. Returns whether the call was found (it is
    /// the last one sent or queued until the next call is made).
    pub fn rekey(&mut self, id: CallId, key: CallId) -> bool {
        for sent in [true, false] {
            if let Some(c) = self.calls(sent).back_mut().filter(|c| c.id == id) {
                c.id = key;
                return true;
            }
        }
        false
    }

    /// A transmit: never fails; dropped while closed for good, or (with an `error` event) when
    /// the outbox is full.
    pub fn transmit(&mut self, event: &str, data: Option<String>, now: f64) {
        match self.emit(event, data, false, CallOptions::default(), now) {
            Ok(_) => {}
            Err(CallError::OutboxFull { limit }) => {
                self.event(Event::Error(SessionError::OutboxFull { limit }))
            }
            Err(_) => {}
        }
    }

    /// `publish(channel, data)`: `#publish` with a `cid`.
    pub fn publish(
        &mut self,
        channel: &str,
        data: Option<&str>,
        opts: CallOptions,
        now: f64,
    ) -> Result<CallId, CallError> {
        let body = codec::encode_publish_data(channel, data);
        self.emit("#publish", Some(body), true, opts, now)
    }

    /// `transmitPublish(channel, data)`: `#publish` without a `cid`.
    pub fn transmit_publish(&mut self, channel: &str, data: Option<&str>, now: f64) {
        let body = codec::encode_publish_data(channel, data);
        self.transmit("#publish", Some(body), now);
    }

    /// `authenticate(signedToken)`: settles with the JSON text of `{isAuthenticated, authError}`.
    pub fn authenticate(&mut self, token: &str, now: f64) -> Result<CallId, CallError> {
        self.emit(
            "#authenticate",
            Some(codec::quote(token)),
            true,
            CallOptions::default(),
            now,
        )
    }

    /// `deauthenticate()`: removes the token locally and tells the server.
    pub fn deauthenticate(&mut self, now: f64) {
        self.command(Command::RemoveToken);
        match self.phase {
            Phase::Open { .. } => self.transmit("#removeAuthToken", None, now),
            // A handshake in flight carries the old token: its reply must not authenticate
            // again, and the server is told once the handshake is through (queued transmit).
            Phase::AwaitToken { .. } | Phase::Handshaking { .. } => {
                self.handshake_token = None;
                self.transmit("#removeAuthToken", None, now);
            }
            _ => {}
        }
        self.set_unauthenticated();
    }

    /// Sets the token the next handshake will carry (e.g. loaded from storage) without changing
    /// the auth state.
    pub fn set_stored_token(&mut self, token: Option<String>) {
        self.signed_token = token;
    }

    /// `subscribe(name, opts)`. Returns `false` when the channel already exists (unchanged).
    pub fn subscribe(&mut self, name: &str, opts: SubscribeOptions) -> bool {
        if self.channels.contains_key(name) {
            return false;
        }
        let seq = self.next_seq;
        self.next_seq += 1;
        self.channels.insert(
            name.to_string(),
            ChannelEntry {
                state: ChannelState::Pending,
                opts,
                seq,
                in_flight: None,
            },
        );
        self.try_subscribe(name);
        true
    }

    /// `unsubscribe(name)`: removes the channel at once; sends `#unsubscribe` only while open.
    /// Its messages not delivered yet (the rest of a frame) are dropped.
    pub fn unsubscribe(&mut self, name: &str, now: f64) {
        let Some(entry) = self.channels.remove(name) else {
            return;
        };
        self.drop_undelivered(Some(name));
        if let Some(cid) = entry.in_flight {
            self.forget_subscribe(cid);
        }
        if let Phase::Open { .. } = self.phase {
            if entry.state == ChannelState::Subscribed || entry.in_flight.is_some() {
                self.send_raw(codec::encode_event(
                    "#unsubscribe",
                    Some(&codec::quote(name)),
                    None,
                ));
            }
        }
        let _ = now;
        self.event(Event::SubscribeStateChange {
            channel: name.to_string(),
            old: entry.state,
            new: ChannelState::Unsubscribed,
        });
        self.event(Event::Unsubscribe(name.to_string()));
    }

    /// Sends the pending subscriptions now (for `autoSubscribeOnConnect: false`).
    pub fn process_pending_subscriptions(&mut self) {
        let names = self.channel_names(
            |c| c.state == ChannelState::Pending && c.in_flight.is_none(),
            true,
        );
        for n in &names {
            self.try_subscribe(n);
        }
    }

    /// Answers a server invoke. Dropped if that connection is gone.
    pub fn respond(&mut self, to: &ReplyTo, result: Result<Option<String>, String>) {
        if to.gen != self.gen || !matches!(self.phase, Phase::Open { .. }) {
            return;
        }
        let text = match &result {
            Ok(data) => codec::encode_response(&to.rid, data.as_deref(), None),
            Err(e) => codec::encode_response(&to.rid, None, Some(e)),
        };
        self.send_raw(text);
    }

    // ---- driver inputs --------------------------------------------------------------------

    /// The WebSocket of `gen` opened.
    pub fn handle_open(&mut self, gen: u64, now: f64) {
        let _ = now;
        if gen != self.gen {
            return;
        }
        if let Phase::Opening { deadline } = self.phase {
            self.phase = Phase::AwaitToken { deadline };
            self.command(Command::LoadToken { gen });
        }
    }

    /// The token for the handshake of `gen` was loaded: sends `#handshake`.
    pub fn handle_token(&mut self, gen: u64, token: Option<String>, now: f64) {
        let _ = now;
        if gen != self.gen {
            return;
        }
        if let Phase::AwaitToken { deadline } = self.phase {
            let cid = self.take_cid();
            let mut data = String::from("{\"authToken\":");
            match token.as_deref() {
                Some(t) => data.push_str(&codec::quote(t)),
                None => data.push_str("null"),
            }
            data.push('}');
            self.handshake_token = token;
            self.phase = Phase::Handshaking { cid, deadline };
            self.send_raw(codec::encode_event("#handshake", Some(&data), Some(cid)));
        }
    }

    /// The WebSocket of `gen` closed (or failed to open: use 1006).
    pub fn handle_close(&mut self, gen: u64, code: u16, reason: &str, now: f64) {
        if gen != self.gen || self.phase == Phase::Idle {
            return;
        }
        let reason = if reason.is_empty() {
            close_reason(code).to_string()
        } else {
            reason.to_string()
        };
        // Deadlines that passed while timers were throttled settle first, as they would have.
        self.expire_due(now);
        self.on_closed(code, reason, false, now);
    }

    /// A text frame arrived on the socket of `gen`.
    pub fn handle_text(&mut self, gen: u64, text: &str, now: f64) {
        if gen != self.gen {
            return;
        }
        let handshake_sent = matches!(self.phase, Phase::Handshaking { .. } | Phase::Open { .. });
        if !handshake_sent {
            // Never answer (or act on) anything before our handshake is out.
            return;
        }
        if text.len() > self.cfg.max_payload {
            self.handle_oversized(gen, now);
            return;
        }
        self.frames = self.frames.wrapping_add(1);
        self.frame = Some((text.as_ptr() as usize, text.len()));
        self.handle_frame(gen, text, now);
        self.frame = None;
    }

    /// [`Session::handle_text`], except that a channel message whose data is a slice of
    /// `text` is not copied out of it: its [`Event::Publish`] has `data: None` and a
    /// [`Span`], and whoever takes the event reads the data out of `text` (so `text` must
    /// outlive the events: the engine hands them over before the frame's buffer is reused).
    /// One allocation and copy less for every channel message.
    pub fn handle_text_lending(&mut self, gen: u64, text: &str, now: f64) {
        self.lend = true;
        self.handle_text(gen, text, now);
        self.lend = false;
    }

    fn handle_frame(&mut self, gen: u64, text: &str, now: f64) {
        match codec::decode(text, self.cfg.protocol_version) {
            Frame::Ping => {
                self.send_raw(codec::pong_text(self.cfg.protocol_version).to_string());
                if let Phase::Open { .. } = self.phase {
                    self.phase = Phase::Open {
                        ping_deadline: now + self.ping_timeout,
                    };
                }
            }
            Frame::Raw | Frame::One(Packet::Raw(_)) => self.event(Event::Raw(text.to_string())),
            Frame::One(p) => self.handle_packet(p, now),
            Frame::Packets(packets) => {
                let single = packets.len() == 1;
                for p in packets {
                    if gen != self.gen || self.phase == Phase::Idle {
                        break; // a packet closed the connection
                    }
                    match p {
                        Packet::Raw(t) => self.event(Event::Raw(if single {
                            text.to_string()
                        } else {
                            t.to_string()
                        })),
                        p => self.handle_packet(p, now),
                    }
                }
            }
        }
    }

    /// A frame bigger than `max_payload` arrived on the socket of `gen` (the driver checks the
    /// size before it copies the frame): closes with 1009 and reconnects with backoff.
    pub fn handle_oversized(&mut self, gen: u64, now: f64) {
        if gen != self.gen || self.phase == Phase::Idle {
            return;
        }
        self.close_self(1009, now);
    }

    /// A timer fired, or the page woke up: acts on every deadline that has passed.
    pub fn handle_timeout(&mut self, now: f64) {
        self.check_liveness(now);
        if let Some(at) = self.reconnect_at {
            if now >= at {
                self.reconnect_at = None;
                self.start_attempt(now);
            }
        }
        self.expire_due(now);
    }

    /// Settles (or retries) the calls whose ackTimeout elapsed, in flight then queued.
    fn expire_due(&mut self, now: f64) {
        for was_sent in [true, false] {
            let mut first = None;
            earliest_call(self.calls(was_sent), &mut first);
            if !first.is_some_and(|t| t <= now) {
                continue;
            }
            for call in core::mem::take(self.calls(was_sent)) {
                if call.deadline <= now {
                    self.expire(call, now, was_sent);
                } else {
                    self.calls(was_sent).push_back(call);
                }
            }
        }
        self.flush_outbox();
    }

    /// The browser came online: a pending reconnect happens now.
    pub fn handle_online(&mut self, now: f64) {
        if self.reconnect_at.is_some() {
            self.reconnect_at = Some(now);
            self.handle_timeout(now);
        }
    }

    /// The browser went offline: a connection in use is treated as lost now (code 1006), so
    /// calls in flight fail fast (or wait for their retry) instead of running out their
    /// ackTimeout, and the reconnect waits for the backoff or the `online` event.
    pub fn handle_offline(&mut self, now: f64) {
        if self.phase != Phase::Idle {
            self.command(Command::Close {
                gen: self.gen,
                code: 1006,
                reason: "Browser is offline".to_string(),
            });
            self.on_closed(1006, "Browser is offline".to_string(), false, now);
        }
    }

    /// The page became visible again or was restored: checks staleness at once.
    pub fn handle_wake(&mut self, now: f64) {
        self.handle_timeout(now);
    }

    // ---- internals ------------------------------------------------------------------------

    /// Forgets the `#subscribe` in flight under `cid` (cids are unique and increasing: the
    /// list is sorted by them).
    fn forget_subscribe(&mut self, cid: u64) {
        take_sent(&mut self.sub_in_flight, cid);
    }

    /// The calls in flight (`sent`) or in the outbox.
    fn calls(&mut self, sent: bool) -> &mut VecDeque<Call> {
        if sent {
            &mut self.pending
        } else {
            &mut self.outbox
        }
    }

    /// Removes the in-flight call of `cid` (answers usually come in order: found near the front).
    fn take_pending(&mut self, cid: u64) -> Option<Call> {
        take_sent(&mut self.pending, cid)
    }

    /// Drops the deliveries still queued: every server event, channel message and `raw`
    /// (`None`: after a disconnect), or one channel's messages (after its unsubscribe).
    fn drop_undelivered(&mut self, channel: Option<&str>) {
        let queued = core::mem::take(&mut self.out);
        for o in queued {
            let keep = match &o {
                Output::Event(Event::Publish { channel: c, .. }) => channel.is_some_and(|n| n != c),
                Output::Event(Event::ServerEvent { .. } | Event::Raw(_)) => channel.is_some(),
                _ => true,
            };
            if keep {
                self.out.push_back(o);
            }
        }
    }

    fn take_cid(&mut self) -> u64 {
        let c = self.next_cid;
        self.next_cid += 1;
        c
    }

    fn send_raw(&mut self, text: String) {
        self.command(Command::Send {
            gen: self.gen,
            text,
        });
    }

    fn start_attempt(&mut self, now: f64) {
        self.gen += 1;
        self.id = None;
        self.phase = Phase::Opening {
            deadline: now + self.cfg.connect_timeout,
        };
        self.event(Event::Connecting);
        self.command(Command::Open {
            gen: self.gen,
            url: self.cfg.url.clone(),
        });
    }

    /// Whether `call` may go out now without overfilling the pending-ack table.
    fn has_room(&self, call: &Call) -> bool {
        !call.expects_ack || self.pending.len() < MAX_IN_FLIGHT
    }

    /// Sends queued calls, in order, while open and while the pending-ack table has room.
    fn flush_outbox(&mut self) {
        while let Phase::Open { .. } = self.phase {
            match self.outbox.front() {
                Some(call) if self.has_room(call) => {}
                _ => break,
            }
            if let Some(call) = self.outbox.pop_front() {
                self.send_call(call);
            }
        }
    }

    fn send_call(&mut self, mut call: Call) {
        if call.expects_ack {
            let cid = self.take_cid();
            self.send_raw(codec::encode_event(
                &call.event,
                call.data.as_deref(),
                Some(cid),
            ));
            call.cid = cid;
            self.pending.push_back(call);
        } else {
            self.send_raw(codec::encode_event(&call.event, call.data.as_deref(), None));
        }
    }

    fn settle(&mut self, id: CallId, result: Result<Option<String>, CallError>) {
        self.event(Event::Settle { id, result });
    }

    /// An ackTimeout elapsed: retry if retries remain, else reject with `TimeoutError`.
    fn expire(&mut self, mut call: Call, now: f64, was_sent: bool) {
        if !call.expects_ack {
            return; // a queued transmit past its time is dropped
        }
        if call.retries > 0 {
            call.retries -= 1;
            call.deadline = now + call.ack_timeout;
            if !was_sent || self.outbox.len() < self.cfg.outbox_limit {
                self.outbox.push_back(call); // sent again by `flush_outbox` when open
                return;
            }
            // no room to wait for a resend: the timeout stands
            let event = call.event.clone();
            self.settle(call.id, Err(CallError::Timeout { event }));
            return;
        }
        let event = call.event.clone();
        self.settle(call.id, Err(CallError::Timeout { event }));
    }

    fn check_liveness(&mut self, now: f64) {
        match self.phase {
            Phase::Open { ping_deadline }
                if !self.cfg.ping_timeout_disabled && now >= ping_deadline =>
            {
                self.close_self(4000, now);
            }
            Phase::Opening { deadline }
            | Phase::AwaitToken { deadline }
            | Phase::Handshaking { deadline, .. }
                if now >= deadline =>
            {
                self.close_self(4007, now);
            }
            _ => {}
        }
    }

    /// The client closes the connection itself (ping timeout, connect timeout, handshake failure).
    fn close_self(&mut self, code: u16, now: f64) {
        let reason = close_reason(code).to_string();
        self.command(Command::Close {
            gen: self.gen,
            code,
            reason: reason.clone(),
        });
        self.on_closed(code, reason, false, now);
    }

    fn on_closed(&mut self, code: u16, reason: String, manual: bool, now: f64) {
        let was_open = matches!(self.phase, Phase::Open { .. });
        let kind = if was_open {
            BadConnectionKind::Disconnect
        } else {
            BadConnectionKind::ConnectAbort
        };
        self.phase = Phase::Idle;
        self.last_close = (code, reason.clone());
        self.sub_in_flight = VecDeque::new(); // (not `clear`: no `VecDeque::truncate` code)
        if !was_open {
            self.failed = self.failed.saturating_add(1);
        }
        let policy_allows = self.cfg.auto_reconnect && code != 1000 && code < 4500;
        let mut reconnect = !manual && policy_allows;
        let give_up = reconnect && self.cfg.backoff.exhausted(self.failed);
        if give_up {
            reconnect = false;
        }

        // 1. Calls in flight: retried after the reconnect, or rejected before `disconnect`.
        // Requeued calls count against `outboxLimit`; those that do not fit are rejected.
        let in_flight = core::mem::take(&mut self.pending);
        // (a deque like the outbox's: no `Vec<Call>` code of its own)
        let mut requeue = VecDeque::new();
        for mut call in in_flight {
            let fits = self.outbox.len() + requeue.len() < self.cfg.outbox_limit;
            if reconnect && call.retries > 0 && fits {
                call.retries -= 1;
                call.deadline = now + call.ack_timeout;
                requeue.push_back(call);
            } else {
                let event = call.event.clone();
                self.settle(
                    call.id,
                    Err(CallError::BadConnection {
                        kind,
                        code,
                        reason: reason.clone(),
                        event,
                    }),
                );
            }
        }
        while let Some(call) = requeue.pop_back() {
            self.outbox.push_front(call);
        }
        // 2. Channels go back to pending.
        let names = self.subscriptions(true);
        for name in &names {
            if let Some(c) = self.channels.get_mut(name) {
                c.in_flight = None;
                if c.state == ChannelState::Subscribed {
                    c.state = ChannelState::Pending;
                    self.event(Event::SubscribeStateChange {
                        channel: name.clone(),
                        old: ChannelState::Subscribed,
                        new: ChannelState::Pending,
                    });
                    self.event(Event::Unsubscribe(name.clone()));
                }
            }
        }
        // 3-5. disconnect/connectAbort, close, error.
        self.event(if was_open {
            Event::Disconnect {
                code,
                reason: reason.clone(),
            }
        } else {
            Event::ConnectAbort {
                code,
                reason: reason.clone(),
            }
        });
        self.event(Event::Closed {
            code,
            reason: reason.clone(),
        });
        if code != 1000 && code != 1001 {
            // socketcluster-client's wording: the table text for a known code, else the code
            // and the reason (when there is one).
            let message = match close_reason(code) {
                "" => {
                    let mut m = String::from("Socket connection closed with status code ");
                    codec::push_u64(&mut m, u64::from(code));
                    if !reason.is_empty() {
                        m.push_str(" and reason: ");
                        m.push_str(&reason);
                    }
                    m
                }
                known => known.to_string(),
            };
            self.event(Event::Error(SessionError::Protocol { code, message }));
        }
        // 6-7. Queued calls wait for the reconnect, or are rejected.
        if give_up {
            self.event(Event::GiveUp {
                attempts: self.failed,
            });
        }
        if reconnect {
            let delay = if self.scheduled == 0 && matches!(code, 4000 | 4001 | 1005) {
                0.0
            } else {
                let u = self.rng.next_f64();
                let u2 = self.rng.next_f64();
                self.cfg.backoff.delay(self.scheduled, u, u2)
            };
            self.scheduled = self.scheduled.saturating_add(1);
            self.reconnect_at = Some(now + delay);
            self.event(Event::Reconnecting {
                attempt: self.scheduled,
                delay,
            });
        } else {
            self.reconnect_at = None;
            self.reject_outbox(kind, code, &reason);
        }
    }

    fn reject_outbox(&mut self, kind: BadConnectionKind, code: u16, reason: &str) {
        let queued = core::mem::take(&mut self.outbox);
        for call in queued {
            if call.expects_ack {
                self.settle(
                    call.id,
                    Err(CallError::BadConnection {
                        kind,
                        code,
                        reason: reason.to_string(),
                        event: call.event,
                    }),
                );
            }
        }
    }

    fn try_subscribe(&mut self, name: &str) {
        if !matches!(self.phase, Phase::Open { .. }) {
            return;
        }
        let authed = self.auth_state == AuthState::Authenticated;
        let Some(c) = self.channels.get(name) else {
            return;
        };
        if c.state != ChannelState::Pending
            || c.in_flight.is_some()
            || (c.opts.wait_for_auth && !authed)
        {
            return;
        }
        let mut data = String::from("{\"channel\":");
        data.push_str(&codec::quote(name));
        if c.opts.wait_for_auth {
            data.push_str(",\"waitForAuth\":true");
        }
        if let Some(d) = &c.opts.data {
            data.push_str(",\"data\":");
            data.push_str(d);
        }
        data.push('}');
        let cid = self.take_cid();
        if let Some(c) = self.channels.get_mut(name) {
            c.in_flight = Some(cid);
        }
        self.sub_in_flight.push_back(Call {
            id: 0,
            cid,
            event: name.to_string(),
            data: None,
            expects_ack: false,
            deadline: 0.0,
            ack_timeout: 0.0,
            retries: 0,
        });
        self.send_raw(codec::encode_event("#subscribe", Some(&data), Some(cid)));
    }

    fn handle_packet(&mut self, packet: Packet, now: f64) {
        match packet {
            Packet::Response { rid, data, error } => self.handle_response(rid, data, error, now),
            Packet::Invoke { event, data, cid } => self.handle_event(&event, data, Some(cid), now),
            Packet::Transmit { event, data } => self.handle_event(&event, data, None, now),
            Packet::Publish { channel, data } => self.handle_publish(channel, data),
            Packet::Raw(t) => self.event(Event::Raw(t.to_string())),
        }
    }

    fn handle_response(&mut self, rid: f64, data: Option<&str>, error: Option<&str>, now: f64) {
        // (a whole number: `fract` needs std)
        if !((1.0..9.0e15).contains(&rid) && (rid as u64) as f64 == rid) {
            return;
        }
        let rid = rid as u64;
        let error = error.filter(|e| !matches!(*e, "null" | "false" | "\"\"" | "0"));
        if let Phase::Handshaking { cid, .. } = self.phase {
            if cid == rid {
                self.handle_handshake_reply(
                    data.map(str::to_string),
                    error.map(str::to_string),
                    now,
                );
                return;
            }
        }
        if let Some(sub) = take_sent(&mut self.sub_in_flight, rid) {
            self.handle_subscribe_reply(sub.event, error.map(str::to_string));
            return;
        }
        let Some(call) = self.take_pending(rid) else {
            return; // unknown rid: ignored
        };
        if call.event == "#authenticate" {
            self.handle_authenticate_reply(&call, data, error);
        }
        match error {
            Some(e) => self.settle(call.id, Err(CallError::Server(e.to_string()))),
            None => self.settle(call.id, Ok(data.map(str::to_string))),
        }
        self.flush_outbox(); // a slot in the pending-ack table is free
    }

    fn handle_handshake_reply(&mut self, data: Option<String>, error: Option<String>, now: f64) {
        if let Some(err) = error {
            let status = codec::field(&err, "statusCode")
                .and_then(codec::number_value)
                .filter(|c| (4000.0..=4999.0).contains(c))
                .map_or(4003, |c| c as u16);
            self.event(Event::Error(SessionError::Handshake(err)));
            self.close_self(status, now);
            return;
        }
        let data = data.unwrap_or_else(|| "{}".to_string());
        let [id, ping_timeout, is_authenticated, auth_error] =
            codec::fields_of(&data, ["id", "pingTimeout", "isAuthenticated", "authError"])
                .unwrap_or_default();
        let id = id.and_then(codec::string_value).unwrap_or_default();
        let ping_timeout = ping_timeout
            .and_then(codec::number_value)
            .filter(|p| *p > 0.0 && p.is_finite())
            .unwrap_or(self.cfg.connect_timeout);
        let is_authenticated = is_authenticated.and_then(codec::bool_value) == Some(true);
        let auth_error = auth_error.filter(|e| *e != "null").map(str::to_string);

        self.id = Some(id.clone());
        self.ping_timeout = ping_timeout;
        self.phase = Phase::Open {
            ping_deadline: now + ping_timeout,
        };
        self.failed = 0;
        self.scheduled = 0;
        let token = self.handshake_token.take();
        match (is_authenticated, token) {
            (true, Some(token)) => self.set_authenticated(token, false),
            _ => self.set_unauthenticated(),
        }
        if self.cfg.auto_subscribe_on_connect {
            self.process_pending_subscriptions();
        }
        self.event(Event::Connect {
            id,
            ping_timeout,
            is_authenticated,
            auth_error,
        });
        self.flush_outbox();
    }

    fn handle_subscribe_reply(&mut self, name: String, error: Option<String>) {
        let Some(c) = self.channels.get_mut(&name) else {
            return;
        };
        c.in_flight = None;
        match error {
            None => {
                let old = c.state;
                c.state = ChannelState::Subscribed;
                self.event(Event::SubscribeStateChange {
                    channel: name.clone(),
                    old,
                    new: ChannelState::Subscribed,
                });
                self.event(Event::Subscribe(name));
            }
            Some(error) => {
                let old = c.state;
                self.channels.remove(&name);
                self.event(Event::SubscribeStateChange {
                    channel: name.clone(),
                    old,
                    new: ChannelState::Unsubscribed,
                });
                self.event(Event::SubscribeFail {
                    channel: name,
                    error,
                });
            }
        }
    }

    fn handle_authenticate_reply(&mut self, call: &Call, data: Option<&str>, error: Option<&str>) {
        let token = call.data.as_deref().and_then(codec::string_value);
        let ok = error.is_none()
            && data
                .and_then(|d| codec::field(d, "isAuthenticated"))
                .and_then(codec::bool_value)
                == Some(true);
        match (ok, token) {
            (true, Some(token)) => {
                self.command(Command::SaveToken(token.clone()));
                self.set_authenticated(token, true);
            }
            _ => self.set_unauthenticated(),
        }
    }

    fn set_authenticated(&mut self, token: String, subscribe: bool) {
        if let Err(e) = auth::decode_payload(&token) {
            self.event(Event::Error(SessionError::BadAuthToken(e)));
        }
        self.signed_token = Some(token.clone());
        let old = self.auth_state;
        self.auth_state = AuthState::Authenticated;
        // waitForAuth channels go out before anything else.
        if subscribe {
            self.process_pending_subscriptions();
        }
        if old != AuthState::Authenticated {
            self.event(Event::AuthStateChange {
                old,
                new: AuthState::Authenticated,
            });
        }
        self.event(Event::Authenticate {
            signed_token: token,
        });
    }

    fn set_unauthenticated(&mut self) {
        let old = self.auth_state;
        let old_token = self.signed_token.take();
        self.auth_state = AuthState::Unauthenticated;
        if old == AuthState::Authenticated {
            self.event(Event::AuthStateChange {
                old,
                new: AuthState::Unauthenticated,
            });
            self.event(Event::Deauthenticate {
                old_signed_token: old_token,
            });
        }
    }

    /// A channel message: the raw `channel` and `data` texts of a `#publish`'s data object.
    fn handle_publish(&mut self, channel: Option<&str>, body: Option<&str>) {
        let Some(name) = channel.and_then(codec::string_ref) else {
            return;
        };
        if self.channels.contains_key(&name) {
            let span = match (&name, body) {
                (Cow::Borrowed(n), Some(d)) => self.span_of(n, d),
                _ => None,
            };
            let data = match span {
                Some(_) if self.lend => None,
                _ => body.map(str::to_string),
            };
            self.event(Event::Publish {
                channel: name.into_owned(),
                data,
                span,
            });
        }
    }

    /// The [`Span`] of `channel` and `data` when both are slices of the frame being handled.
    fn span_of(&self, channel: &str, data: &str) -> Option<Span> {
        let (base, len) = self.frame?;
        let at = |s: &str| {
            let start = (s.as_ptr() as usize).checked_sub(base)?;
            (start + s.len() <= len).then_some((start as u32, s.len() as u32))
        };
        Some(Span {
            frame: self.frames,
            channel: at(channel)?,
            data: at(data)?,
        })
    }

    fn handle_event(&mut self, event: &str, data: Option<&str>, cid: Option<&str>, now: f64) {
        let reply = cid.map(|rid| ReplyTo {
            gen: self.gen,
            rid: rid.to_string(),
        });
        match event {
            "#publish" => {
                // (a `#publish` with a numeric cid; the usual one is a `Packet::Publish`)
                let Some(d) = data else { return };
                if let Some([channel, body]) = codec::fields_of(d, ["channel", "data"]) {
                    self.handle_publish(channel, body);
                }
            }
            "#kickOut" => {
                let Some(d) = data else { return };
                let Some(channel) = codec::field(d, "channel").and_then(codec::string_value) else {
                    return;
                };
                let message = codec::field(d, "message").map(str::to_string);
                if let Some(entry) = self.channels.remove(&channel) {
                    if let Some(cid) = entry.in_flight {
                        self.forget_subscribe(cid);
                    }
                    self.event(Event::KickOut {
                        channel: channel.clone(),
                        message,
                    });
                    self.event(Event::SubscribeStateChange {
                        channel: channel.clone(),
                        old: entry.state,
                        new: ChannelState::Unsubscribed,
                    });
                    self.event(Event::Unsubscribe(channel));
                }
            }
            "#setAuthToken" => {
                let token = data
                    .and_then(|d| codec::field(d, "token"))
                    .and_then(codec::string_value);
                match token {
                    Some(token) => {
                        self.command(Command::SaveToken(token.clone()));
                        self.set_authenticated(token, true);
                        if let Some(r) = reply {
                            self.respond(&r, Ok(None));
                        }
                    }
                    None => {
                        if let Some(r) = reply {
                            self.respond(
                                &r,
                                Err(r#"{"name":"InvalidMessageError","message":"No token data provided by #setAuthToken event"}"#.to_string()),
                            );
                        }
                    }
                }
            }
            "#removeAuthToken" => {
                self.command(Command::RemoveToken);
                self.set_unauthenticated();
                if let Some(r) = reply {
                    self.respond(&r, Ok(None));
                }
            }
            name if RESERVED_EVENTS.contains(&name) => {
                let text = match &reply {
                    Some(r) => {
                        let mut t = codec::encode_event(name, data, None);
                        t.pop();
                        t.push_str(",\"cid\":");
                        t.push_str(&r.rid);
                        t.push('}');
                        t
                    }
                    None => codec::encode_event(name, data, None),
                };
                self.event(Event::Raw(text));
            }
            _ => {
                let _ = now;
                self.event(Event::ServerEvent {
                    event: event.to_string(),
                    data: data.map(str::to_string),
                    reply,
                });
            }
        }
    }
}
