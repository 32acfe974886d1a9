//! The Rust face of the socket: [`Socket`] and [`Channel`] over the engine
//! ([`crate::engine::socket::SocketEngine`]), with callbacks, futures and `futures::Stream`s.
//!
//! Owns what a Rust app holds: event handlers, the settlers of calls (by the key this face gives
//! the engine), the typed layer (`typed.rs`, serde) and the state futures (`wait.rs`). Payloads
//! are JSON text at this level; errors are [`Error`] values (the core's become one through the
//! conversions of `error.rs`, as they reach this face). The engine delivers each pump's events in one call with no
//! borrow held; this face keeps none across a handler either, so handlers may call back into
//! the socket.

use std::cell::Cell;

use crate::cell::RefCell;
use std::rc::{Rc, Weak};

use futures::channel::{mpsc, oneshot};

use crate::auth_storage::AuthStorage;
use crate::engine::socket::{Lent, SocketEngine};
use crate::error::{ConfigError, Error};
use crate::proto::table::IdTable;
use crate::proto::{
    AuthState, CallOptions, ChannelState, Config, Event, ReplyTo, State, SubscribeOptions,
};

#[cfg(feature = "serde")]
mod typed;
mod wait;

#[cfg(feature = "serde")]
pub use typed::MESSAGES_BUFFER;

/// What a call settles with: the answer's `data` as JSON text, or an [`Error`].
pub type CallResult = Result<Option<String>, Error>;

/// Options of [`Socket::new`] beyond the session [`Config`].
#[derive(Debug, Clone)]
pub struct SocketOptions {
    /// Timeouts, reconnect backoff, protocol version and limits (`url` is set by
    /// [`Socket::new`]).
    pub config: Config,
    /// Connect at once (default `true`); otherwise call [`Socket::connect`].
    pub auto_connect: bool,
    /// Where the auth token is kept (default `localStorage`).
    pub storage: AuthStorage,
    /// Storage key; default `socketcluster.authToken.<host>:<port>`.
    pub auth_token_name: Option<String>,
}

impl Default for SocketOptions {
    fn default() -> Self {
        SocketOptions {
            config: Config::default(),
            auto_connect: true,
            storage: AuthStorage::Local,
            auth_token_name: None,
        }
    }
}

/// Events of a [`Socket`]. Payloads are JSON text; errors are [`Error`] values.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum SocketEvent {
    /// A connection attempt starts.
    Connecting,
    /// The handshake completed.
    Connect {
        /// The socket id the server gave.
        id: String,
        /// The server's `pingTimeout`, ms.
        ping_timeout: f64,
        /// Whether the server accepted the stored token.
        is_authenticated: bool,
        /// The server's `authError` when it rejected the token (an [`Error::Server`] with its
        /// name, message and fields).
        auth_error: Option<Error>,
    },
    /// An attempt closed before the handshake completed.
    ConnectAbort {
        /// The close code.
        code: u16,
        /// The close reason.
        reason: String,
    },
    /// An open connection closed.
    Disconnect {
        /// The close code.
        code: u16,
        /// The close reason.
        reason: String,
    },
    /// After every `ConnectAbort` and `Disconnect`.
    Close {
        /// The close code.
        code: u16,
        /// The close reason.
        reason: String,
    },
    /// Something went wrong that no call reports: [`Error::SocketProtocol`] (a close code other
    /// than 1000/1001), [`Error::Server`] (the server refused the handshake),
    /// [`Error::AuthTokenInvalid`], [`Error::OutboxFull`] (a transmit was dropped) or
    /// [`Error::Storage`] (web storage failed; the token is kept in memory).
    Error(Error),
    /// A frame that is not a packet (its text).
    Raw(String),
    /// A reconnect is scheduled.
    Reconnecting {
        /// Its number since the last open (1-based).
        attempt: u32,
        /// Its delay, ms.
        delay: f64,
    },
    /// `max_attempts` reconnects failed: the socket stays closed.
    GiveUp {
        /// How many were made.
        attempts: u32,
    },
    /// A server transmit or invoke; answer invokes with [`Responder::respond`].
    ServerEvent {
        /// The event name.
        event: String,
        /// Its data's JSON text.
        data: Option<String>,
        /// How to answer, for an invoke.
        reply: Option<Responder>,
    },
    /// The server accepted the channel.
    Subscribe(String),
    /// The server refused a subscription.
    SubscribeFail {
        /// The channel.
        channel: String,
        /// The server's error ([`Error::Server`]: its name, message and fields).
        error: Error,
    },
    /// The channel is no longer subscribed (also when a lost connection sends it back to pending).
    Unsubscribe(String),
    /// A channel's state changed.
    SubscribeStateChange {
        /// The channel.
        channel: String,
        /// The state before.
        old: ChannelState,
        /// The state now.
        new: ChannelState,
    },
    /// The server removed the socket from a channel.
    KickOut {
        /// The channel.
        channel: String,
        /// The server's message.
        message: Option<String>,
    },
    /// A channel message.
    Publish {
        /// The channel.
        channel: String,
        /// The message's JSON text.
        data: Option<String>,
    },
    /// The server issued or accepted a token.
    Authenticate {
        /// The signed token.
        signed_token: String,
    },
    /// The token was removed.
    Deauthenticate {
        /// The token before, if any.
        old_signed_token: Option<String>,
    },
    /// The authentication state changed.
    AuthStateChange {
        /// The state before.
        old: AuthState,
        /// The state now.
        new: AuthState,
    },
}

/// Answers one server invoke (once).
#[derive(Debug, Clone)]
pub struct Responder {
    inner: Weak<Inner>,
    to: ReplyTo,
}

impl Responder {
    /// Answers with `Ok(data)` (JSON text, or none) or `Err(error)`. The error reaches the
    /// server as the JS package sends one: `{name, message, …}` with an [`Error::Server`]'s own
    /// fields, or the fields the JS error of that name carries.
    pub fn respond(&self, result: Result<Option<String>, Error>) {
        if let Some(inner) = self.inner.upgrade() {
            Socket { inner }.respond(&self.to, result);
        }
    }
    /// The connection generation and `cid` text of the invoke.
    pub fn reply_to(&self) -> &ReplyTo {
        &self.to
    }
}

type Handler = Rc<dyn Fn(&SocketEvent)>;
type Settler = Box<dyn FnOnce(CallResult)>;

/// The shared state behind a [`Socket`] (crate-internal).
pub(crate) struct Inner {
    engine: Rc<SocketEngine>,
    /// Settlers of calls by the key given to the engine.
    calls: RefCell<IdTable<Settler>>,
    next_key: Cell<u64>,
    handlers: RefCell<Vec<(u64, Handler)>>,
    next_handler: Cell<u64>,
    me: Weak<Inner>,
}

/// A SocketCluster client socket. Cloning gives another handle to the same socket; the
/// connection, its listeners and timers are released by [`Socket::disconnect`] or when the last
/// handle is dropped.
#[derive(Clone)]
pub struct Socket {
    inner: Rc<Inner>,
}

/// Identifies a handler added with [`Socket::on_event`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HandlerId(u64);

impl Socket {
    /// Creates a socket for a normalised URL (see [`normalize_url`]); connects at once unless
    /// `auto_connect` is false.
    pub fn new(url: &str, opts: SocketOptions) -> Result<Socket, ConfigError> {
        Socket::with_query(url, None, opts)
    }

    /// Like [`Socket::new`], with a query string appended to the URL.
    pub fn with_query(
        url: &str,
        query: Option<&str>,
        mut opts: SocketOptions,
    ) -> Result<Socket, ConfigError> {
        let (url, host_port) = normalize_url(url, query)?;
        if let Err(option) = opts.config.backoff.validate() {
            return Err(ConfigError {
                option,
                message: format!("Invalid option {option}"),
            });
        }
        opts.config.url = url;
        let name = opts
            .auth_token_name
            .clone()
            .unwrap_or_else(|| default_token_name(&host_port));
        let store = opts.storage.clone().into();
        let inner = Rc::new_cyclic(|me: &Weak<Inner>| {
            let face = me.clone();
            let sink = Box::new(move |evs: &[Event], lent: Option<Lent<'_>>| {
                if let Some(inner) = face.upgrade() {
                    inner.deliver(evs, lent);
                }
            });
            Inner {
                engine: SocketEngine::new(opts.config.clone(), name, store, sink),
                calls: RefCell::new(IdTable::new()),
                next_key: Cell::new(1),
                handlers: RefCell::new(Vec::new()),
                next_handler: Cell::new(1),
                me: me.clone(),
            }
        });
        // Like socketcluster-client, `signedAuthToken` stays null until the server accepts a token.
        let socket = Socket { inner };
        if opts.auto_connect {
            socket.connect();
        }
        Ok(socket)
    }

    /// Adds an event handler (called synchronously, in order).
    pub fn on_event(&self, f: impl Fn(&SocketEvent) + 'static) -> HandlerId {
        let id = self.inner.next_handler.get();
        self.inner.next_handler.set(id + 1);
        self.inner.handlers.borrow_mut().push((id, Rc::new(f)));
        HandlerId(id)
    }

    /// Removes a handler added with [`Socket::on_event`].
    pub fn remove_handler(&self, id: HandlerId) {
        self.inner.handlers.borrow_mut().retain(|(i, _)| *i != id.0);
    }

    /// All events as a Stream, buffered up to `capacity` (the oldest undelivered are kept; new
    /// ones are dropped while the buffer is full). The handler is removed when the stream is
    /// dropped.
    pub fn events(&self, capacity: usize) -> EventsStream {
        let (tx, rx) = mpsc::channel(capacity.max(1));
        let tx = RefCell::new(tx);
        let id = self.on_event(move |e| {
            let _ = tx.borrow_mut().try_send(e.clone());
        });
        EventsStream {
            rx,
            socket: Rc::downgrade(&self.inner),
            id,
        }
    }

    /// `connecting`, `open` or `closed`.
    pub fn state(&self) -> State {
        self.inner.engine.session().state()
    }
    /// The socket id of the open connection.
    pub fn id(&self) -> Option<String> {
        self.inner.engine.session().id().map(str::to_string)
    }
    /// The normalised WebSocket URL.
    pub fn url(&self) -> String {
        self.inner.engine.session().config().url.clone()
    }
    /// Whether the server accepted a token.
    pub fn auth_state(&self) -> AuthState {
        self.inner.engine.session().auth_state()
    }
    /// The signed token the server accepted.
    pub fn signed_auth_token(&self) -> Option<String> {
        self.inner
            .engine
            .session()
            .signed_token()
            .map(str::to_string)
    }
    /// Whether a reconnect is scheduled.
    pub fn pending_reconnect(&self) -> bool {
        self.inner.engine.session().pending_reconnect()
    }
    /// Reconnects scheduled since the last open.
    pub fn connect_attempts(&self) -> u32 {
        self.inner.engine.session().connect_attempts()
    }
    /// The storage key of the auth token.
    pub fn auth_token_name(&self) -> String {
        self.inner.engine.token_name().to_string()
    }

    /// Connects (again) after [`Socket::disconnect`] or with `auto_connect: false`.
    pub fn connect(&self) {
        self.inner.engine.connect();
    }

    /// Closes with `code` and releases every browser listener and timer of the socket (at the
    /// end of the pump, so that a close asked for from inside a listener still goes out with its
    /// code).
    pub fn disconnect(&self, code: u16, reason: &str) {
        self.inner.engine.disconnect(code, reason);
    }

    /// Closes the connection with `code` and connects again at once.
    pub fn reconnect(&self, code: u16, reason: &str) {
        self.inner.engine.reconnect(code, reason);
    }

    /// Emits with an answer; `done` is called exactly once.
    pub fn emit_with(
        &self,
        event: &str,
        data: Option<String>,
        opts: CallOptions,
        done: impl FnOnce(CallResult) + 'static,
    ) {
        let key = self.inner.track(Box::new(done));
        self.inner.engine.emit(key, event, data, opts);
    }

    /// Emits JSON text and waits for the answer's `data` JSON text (for apps that bring their
    /// own codec; `emit` takes serde types).
    pub async fn emit_text(
        &self,
        event: &str,
        data: Option<String>,
        opts: CallOptions,
    ) -> Result<Option<String>, Error> {
        let (tx, rx) = oneshot::channel();
        self.emit_with(event, data, opts, move |r| {
            let _ = tx.send(r);
        });
        rx.await.unwrap_or_else(|_| Err(closed_error(event)))
    }

    /// Sends without waiting for an answer; never fails.
    pub fn transmit(&self, event: &str, data: Option<String>) {
        self.inner.engine.transmit(event, data);
    }

    /// Publishes JSON text; `done` is called exactly once with the acknowledgement.
    pub fn publish_with(
        &self,
        channel: &str,
        data: Option<&str>,
        opts: CallOptions,
        done: impl FnOnce(CallResult) + 'static,
    ) {
        let key = self.inner.track(Box::new(done));
        self.inner.engine.publish(key, channel, data, opts);
    }

    /// Publishes JSON text and waits for the server's acknowledgement.
    pub async fn publish_text(&self, channel: &str, data: Option<&str>) -> Result<(), Error> {
        let (tx, rx) = oneshot::channel();
        self.publish_with(channel, data, CallOptions::default(), move |r| {
            let _ = tx.send(r);
        });
        rx.await
            .unwrap_or_else(|_| Err(closed_error("#publish")))
            .map(|_| ())
    }

    /// Publishes JSON text without waiting for an acknowledgement.
    pub fn transmit_publish(&self, channel: &str, data: Option<&str>) {
        self.inner.engine.transmit_publish(channel, data);
    }

    /// Subscribes (or returns the existing channel of that name).
    pub fn subscribe(&self, name: &str, opts: SubscribeOptions) -> Channel {
        self.inner.engine.subscribe(name, opts);
        self.channel(name)
    }

    /// Unsubscribes from `name` (the channel is forgotten).
    pub fn unsubscribe(&self, name: &str) {
        self.inner.engine.unsubscribe(name);
    }

    /// A handle to the channel `name` (whether or not it is subscribed).
    pub fn channel(&self, name: &str) -> Channel {
        Channel {
            socket: Rc::downgrade(&self.inner),
            name: name.to_string(),
        }
    }

    /// Channel names, subscribed ones only unless `include_pending`.
    pub fn subscriptions(&self, include_pending: bool) -> Vec<String> {
        self.inner.engine.session().subscriptions(include_pending)
    }

    /// Subscribes the pending channels now (with `auto_subscribe_on_connect` off).
    pub fn process_pending_subscriptions(&self) {
        self.inner.engine.process_pending_subscriptions();
    }

    /// `#authenticate`; settles with the JSON text of `{isAuthenticated, authError}`.
    pub fn authenticate_with(&self, token: &str, done: impl FnOnce(CallResult) + 'static) {
        let key = self.inner.track(Box::new(done));
        self.inner.engine.authenticate(key, token);
    }

    /// `#authenticate` with a signed token: `Ok(())` once the server accepted it (the socket is
    /// then authenticated with it); the server's error when it refused it ([`Error::Server`],
    /// e.g. `AuthTokenInvalidError`; an [`Error::AuthTokenInvalid`] when it answered
    /// `isAuthenticated: false` with no `authError`), or the call's own error
    /// ([`Error::Timeout`], [`Error::BadConnection`], …).
    pub async fn authenticate(&self, signed_token: &str) -> Result<(), Error> {
        let (tx, rx) = oneshot::channel();
        self.authenticate_with(signed_token, move |r| {
            let _ = tx.send(r);
        });
        let answer = rx
            .await
            .unwrap_or_else(|_| Err(closed_error("#authenticate")))?;
        auth_answer(answer.as_deref().unwrap_or("null"))
    }

    /// Removes the token (here and in storage) and tells the server.
    pub fn deauthenticate(&self) {
        self.inner.engine.deauthenticate();
    }

    /// Checks staleness and deadlines now (as a timer or a page wake-up would).
    pub fn check(&self) {
        self.inner.engine.check();
    }

    /// Answers a server invoke (dropped if its connection is gone); see [`Responder::respond`].
    pub fn respond(&self, to: &ReplyTo, result: Result<Option<String>, Error>) {
        let result = result.map_err(|e| e.to_server_json());
        self.inner.engine.respond(to, result);
    }

    /// Whether the channel exists (pending or subscribed).
    pub fn has_channel(&self, name: &str) -> bool {
        self.inner.engine.session().has_channel(name)
    }

    pub(crate) fn from_handle(h: &Weak<Inner>) -> Option<Socket> {
        h.upgrade().map(|inner| Socket { inner })
    }
}

/// The error of a call or wait whose socket was dropped.
/// `{isAuthenticated, authError}` (JSON text) → the result of [`Socket::authenticate`].
fn auth_answer(text: &str) -> Result<(), Error> {
    let [ok, err] = crate::proto::codec::fields_of(text, ["isAuthenticated", "authError"])
        .unwrap_or([None, None]);
    if ok.map(str::trim) == Some("true") {
        return Ok(());
    }
    Err(match err.map(str::trim) {
        Some(e) if e != "null" => Error::from_server_json(e),
        _ => Error::AuthTokenInvalid {
            message: "The server did not accept the auth token".into(),
        },
    })
}

pub(crate) fn closed_error(event: &str) -> Error {
    Error::closed(event, 1000, "Socket dropped")
}

/// The Stream of [`Socket::events`].
pub struct EventsStream {
    rx: mpsc::Receiver<SocketEvent>,
    socket: Weak<Inner>,
    id: HandlerId,
}

impl futures::Stream for EventsStream {
    type Item = SocketEvent;
    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<SocketEvent>> {
        std::pin::Pin::new(&mut self.rx).poll_next(cx)
    }
}

impl Drop for EventsStream {
    fn drop(&mut self) {
        if let Some(inner) = self.socket.upgrade() {
            inner.handlers.borrow_mut().retain(|(i, _)| *i != self.id.0);
        }
    }
}

/// A channel of a [`Socket`].
#[derive(Clone)]
pub struct Channel {
    socket: Weak<Inner>,
    name: String,
}

impl Channel {
    /// The channel name.
    pub fn name(&self) -> &str {
        &self.name
    }
    /// `pending`, `subscribed` or `unsubscribed`.
    pub fn state(&self) -> ChannelState {
        self.socket
            .upgrade()
            .map_or(ChannelState::Unsubscribed, |s| {
                s.engine.session().channel_state(&self.name)
            })
    }
    /// The socket, unless every handle to it is gone.
    pub(crate) fn socket(&self) -> Option<Socket> {
        self.socket.upgrade().map(|inner| Socket { inner })
    }
    /// Calls `f` with every message's JSON text until the returned id is removed.
    pub fn watch(&self, f: impl Fn(Option<&str>) + 'static) -> Option<HandlerId> {
        let name = self.name.clone();
        self.socket().map(|s| {
            s.on_event(move |e| {
                if let SocketEvent::Publish { channel, data } = e {
                    if *channel == name {
                        f(data.as_deref());
                    }
                }
            })
        })
    }
    /// Messages' JSON text as a Stream (bounded: new messages are dropped while `capacity` are
    /// unread); `None` once the socket is gone.
    pub fn messages_text(
        &self,
        capacity: usize,
    ) -> Option<impl futures::Stream<Item = Option<String>>> {
        use futures::StreamExt;
        let name = self.name.clone();
        let s = self.socket()?;
        // Only this channel's messages take buffer space (other events must not crowd them out).
        let (tx, rx) = mpsc::channel(capacity.max(1));
        let tx = RefCell::new(tx);
        let id = s.on_event(move |e| {
            if matches!(e, SocketEvent::Publish { channel, .. } if *channel == name) {
                let _ = tx.borrow_mut().try_send(e.clone());
            }
        });
        let events = EventsStream {
            rx,
            socket: Rc::downgrade(&s.inner),
            id,
        };
        Some(events.filter_map(|e| {
            let out = match e {
                SocketEvent::Publish { data, .. } => Some(data),
                _ => None,
            };
            futures::future::ready(out)
        }))
    }
    /// Publishes JSON text to this channel and waits for the acknowledgement.
    pub async fn publish_text(&self, data: Option<&str>) -> Result<(), Error> {
        match self.socket() {
            Some(s) => s.publish_text(&self.name, data).await,
            None => Err(closed_error("#publish")),
        }
    }
    /// Publishes JSON text without waiting for an acknowledgement.
    pub fn transmit_publish(&self, data: Option<&str>) {
        if let Some(s) = self.socket() {
            s.transmit_publish(&self.name, data);
        }
    }
    /// Unsubscribes (the channel is forgotten).
    pub fn unsubscribe(&self) {
        if let Some(s) = self.socket() {
            s.unsubscribe(&self.name);
        }
    }
}

impl Inner {
    /// Keeps `done` under a new key (given to the engine with the call).
    fn track(&self, done: Settler) -> u64 {
        let key = self.next_key.get();
        self.next_key.set(key + 1);
        self.calls.borrow_mut().insert(key, done);
        key
    }

    fn emit_event(&self, ev: SocketEvent) {
        // Usually one handler: call it without collecting a snapshot.
        let single = {
            let hs = self.handlers.borrow();
            if hs.len() == 1 {
                Some(hs[0].1.clone())
            } else {
                None
            }
        };
        if let Some(h) = single {
            h(&ev);
            return;
        }
        let handlers: Vec<Handler> = self
            .handlers
            .borrow()
            .iter()
            .map(|(_, h)| h.clone())
            .collect();
        for h in handlers {
            h(&ev);
        }
    }

    /// The engine's events of one pump, in order (no borrow is held across a handler).
    fn deliver(&self, events: &[Event], lent: Option<Lent<'_>>) {
        for out in events {
            if let Event::Settle { id, result } = out {
                let settler = self.calls.borrow_mut().remove(*id);
                if let Some(f) = settler {
                    f(result.clone().map_err(Error::from));
                }
            } else if let Some(ev) = self.event(out, lent) {
                self.emit_event(ev);
            }
        }
    }

    fn event(&self, out: &Event, lent: Option<Lent<'_>>) -> Option<SocketEvent> {
        if let Event::Publish {
            channel,
            data,
            span,
        } = out
        {
            let data = Lent::data(lent, data, *span).map(str::to_string);
            let channel = channel.clone();
            return Some(SocketEvent::Publish { channel, data });
        }
        Some(match out.clone() {
            Event::Connecting => SocketEvent::Connecting,
            Event::Connect {
                id,
                ping_timeout,
                is_authenticated,
                auth_error,
            } => SocketEvent::Connect {
                id,
                ping_timeout,
                is_authenticated,
                auth_error: auth_error.map(|t| Error::from_server_json(&t)),
            },
            Event::ConnectAbort { code, reason } => SocketEvent::ConnectAbort { code, reason },
            Event::Disconnect { code, reason } => SocketEvent::Disconnect { code, reason },
            Event::Closed { code, reason } => SocketEvent::Close { code, reason },
            Event::Error(e) => SocketEvent::Error(e.into()),
            Event::Raw(t) => SocketEvent::Raw(t),
            Event::Reconnecting { attempt, delay } => SocketEvent::Reconnecting { attempt, delay },
            Event::GiveUp { attempts } => SocketEvent::GiveUp { attempts },
            Event::ServerEvent { event, data, reply } => SocketEvent::ServerEvent {
                event,
                data,
                reply: reply.map(|to| Responder {
                    inner: self.me.clone(),
                    to,
                }),
            },
            Event::Subscribe(c) => SocketEvent::Subscribe(c),
            Event::SubscribeFail { channel, error } => SocketEvent::SubscribeFail {
                channel,
                error: Error::from_server_json(&error),
            },
            Event::Unsubscribe(c) => SocketEvent::Unsubscribe(c),
            Event::SubscribeStateChange { channel, old, new } => {
                SocketEvent::SubscribeStateChange { channel, old, new }
            }
            Event::KickOut { channel, message } => SocketEvent::KickOut { channel, message },
            Event::Publish { .. } => return None, // (above)
            Event::Authenticate { signed_token } => SocketEvent::Authenticate { signed_token },
            Event::Deauthenticate { old_signed_token } => {
                SocketEvent::Deauthenticate { old_signed_token }
            }
            Event::AuthStateChange { old, new } => SocketEvent::AuthStateChange { old, new },
            Event::Settle { .. } => return None, // (settled by `deliver`)
        })
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        // Settle whatever is still waiting, so no future hangs on a dropped socket.
        let calls = self.calls.get_mut().take_all();
        for (_, f) in calls {
            f(Err(closed_error("call")));
        }
    }
}

/// Applies the URL rules of API.md: an absolute `ws:`/`wss:`/`http:`/`https:` URL
/// (`http(s):` → `ws(s):`), or a path starting with `/` (not `//`) resolved against the page;
/// an empty or `/` path becomes `/socketcluster/`. Anything else (`'not a url'`, `''`, a
/// relative path) is refused. Returns the URL and the `host:port` used by the default token key
/// (port 80/443 filled in like socketcluster-client). The JS face has the same rules in
/// `socket.js` (`socketUrl`), with the same messages.
pub fn normalize_url(url: &str, query: Option<&str>) -> Result<(String, String), ConfigError> {
    let refuse = |message: String| ConfigError {
        option: "url",
        message,
    };
    let parsed = if url.starts_with('/') && !url.starts_with("//") {
        let base = web_sys::window()
            .and_then(|w| w.location().href().ok())
            .unwrap_or_else(|| "http://localhost/".to_string());
        web_sys::Url::new_with_base(url, &base)
    } else {
        web_sys::Url::new(url)
    };
    let u = parsed.map_err(|_| {
        refuse(format!(
            "Invalid URL: {url} (use an absolute ws:, wss:, http: or https: URL, or a path starting with /)"
        ))
    })?;
    let protocol = u.protocol();
    let secure = match protocol.as_str() {
        "ws:" | "http:" => false,
        "wss:" | "https:" => true,
        other => {
            return Err(refuse(format!(
                "Invalid URL scheme {other} (use ws:, wss:, http: or https:)"
            )))
        }
    };
    u.set_protocol(if secure { "wss:" } else { "ws:" });
    if u.pathname().is_empty() || u.pathname() == "/" {
        u.set_pathname("/socketcluster/");
    }
    if let Some(q) = query {
        let q = q.trim_start_matches('?');
        if !q.is_empty() {
            let existing = u.search();
            let existing = existing.trim_start_matches('?');
            if existing.is_empty() {
                u.set_search(q);
            } else {
                u.set_search(&format!("{existing}&{q}"));
            }
        }
    }
    u.set_hash("");
    let port = u.port();
    let port = match (port.is_empty(), secure) {
        (false, _) => port.as_str(),
        (true, true) => "443",
        (true, false) => "80",
    };
    Ok((u.href(), format!("{}:{port}", u.hostname())))
}

/// The default storage key of the auth token for `host_port`, as socketcluster-client 20.
fn default_token_name(host_port: &str) -> String {
    format!("socketcluster.authToken.{host_port}")
}
