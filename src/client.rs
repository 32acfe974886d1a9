//! The Rust API: [`Socket`] and [`Channel`] over the sans-IO [`Session`], with callbacks,
//! futures and `futures::Stream`s.
//!
//! Owns the glue between the core and the browser drivers: it feeds driver inputs into the
//! session (tagged with the connection generation), drains the session's outputs in order,
//! arms the one timer the session asks for, stores tokens, and delivers events and call
//! results. Payloads are JSON text here; the JS adapter parses them with the host's `JSON`.
//!
//! Re-entrancy: user callbacks may call back into the socket. Outputs are drained by a single
//! pump loop; a nested call only queues work that the running loop then delivers. No `RefCell`
//! borrow is held across a call into JS (user code, or a browser API a page may have wrapped,
//! `Date.now` included): the clock is read before the session is borrowed, and browser objects
//! are created, used and dropped outside the borrows of the cells that keep them.

use std::cell::{Cell, RefCell};
use std::rc::{Rc, Weak};

use futures::channel::{mpsc, oneshot};
use gloo_timers::callback::Timeout;

use crate::auth_storage::AuthStorage;
use crate::error::{ConfigError, Error};
use crate::proto::table::IdTable;
use crate::proto::{
    AuthState, CallError, CallId, CallOptions, ChannelState, Config, Output, ReplyTo, Session,
    SessionError, State, SubscribeOptions,
};
use crate::web::page::{PageEvent, PageWatch};
use crate::web::storage::{Loaded, StoreKind, TokenStore};
use crate::web::websocket::{WsConn, WsEvent};
use crate::web::{now, random_seed};

#[cfg(feature = "serde")]
mod typed;
mod wait;

#[cfg(feature = "serde")]
pub use typed::MESSAGES_BUFFER;

/// What a call settles with: the answer's `data` as JSON text, or an error.
pub type CallResult = Result<Option<String>, CallError>;

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

/// Events of a [`Socket`]. Payloads are JSON text.
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
        /// The server's `authError` (JSON text) when it rejected the token; see [`crate::Error::from_server_json`].
        auth_error: Option<String>,
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
    /// Something went wrong that no call reports.
    Error(SocketError),
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
        /// The server's error, JSON text (see [`crate::Error::from_server_json`]).
        error: String,
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

/// Errors of the `error` event.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum SocketError {
    /// A protocol or handshake error, a bad stored token, a dropped transmit.
    Session(SessionError),
    /// Token storage failed and fell back to memory.
    Storage(String),
}

/// Answers one server invoke (once).
#[derive(Debug, Clone)]
pub struct Responder {
    inner: Weak<Inner>,
    to: ReplyTo,
}

impl Responder {
    /// `Ok(json data)` or `Err(json error)`.
    pub fn respond(&self, result: Result<Option<String>, String>) {
        if let Some(inner) = self.inner.upgrade() {
            inner.session.borrow_mut().respond(&self.to, result);
            inner.pump();
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
pub(crate) type InnerHandle = Inner;

pub(crate) struct Inner {
    session: RefCell<Session>,
    /// The WebSocket and the connection generation it belongs to.
    conn: RefCell<Option<(u64, WsConn)>>,
    timer: RefCell<Option<(f64, Timeout)>>,
    page: RefCell<Option<PageWatch>>,
    store: TokenStore,
    calls: RefCell<IdTable<Settler>>,
    handlers: RefCell<Vec<(u64, Handler)>>,
    /// Called once the outputs of an input are all delivered (the JS adapter flushes its batch
    /// of channel messages there).
    idle: RefCell<Vec<Rc<dyn Fn()>>>,
    next_handler: Cell<u64>,
    pumping: Cell<bool>,
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
        opts: SocketOptions,
    ) -> Result<Socket, ConfigError> {
        // The same checks as `with_store`, made first to name the option.
        normalize_url(url, query)?;
        if let Err(option) = opts.config.backoff.validate() {
            return Err(ConfigError {
                option,
                message: format!("Invalid option {option}"),
            });
        }
        let store = opts.storage.clone().into();
        Socket::with_store(url, query, opts, store).map_err(|message| ConfigError {
            option: "url",
            message,
        })
    }

    /// [`Socket::with_query`] with the token store given as the driver's kind (the JS adapter
    /// passes the page's storage object here).
    pub(crate) fn with_store(
        url: &str,
        query: Option<&str>,
        mut opts: SocketOptions,
        store: StoreKind,
    ) -> Result<Socket, String> {
        let (url, host_port) = normalize(url, query)?;
        opts.config.url = url;
        opts.config
            .backoff
            .validate()
            .map_err(|o| format!("Invalid option {o}"))?;
        let name = opts
            .auth_token_name
            .clone()
            .unwrap_or_else(|| format!("socketcluster.authToken.{host_port}"));
        let store = TokenStore::new(store, name);
        let session = Session::new(opts.config.clone(), random_seed());
        let inner = Rc::new_cyclic(|me| Inner {
            session: RefCell::new(session),
            conn: RefCell::new(None),
            timer: RefCell::new(None),
            page: RefCell::new(None),
            store,
            calls: RefCell::new(IdTable::new()),
            handlers: RefCell::new(Vec::new()),
            idle: RefCell::new(Vec::new()),
            next_handler: Cell::new(1),
            pumping: Cell::new(false),
            me: me.clone(),
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

    /// Calls `f` after the events of each input have been delivered.
    pub(crate) fn on_idle(&self, f: impl Fn() + 'static) {
        self.inner.idle.borrow_mut().push(Rc::new(f));
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
        self.inner.session.borrow().state()
    }
    /// The socket id of the open connection.
    pub fn id(&self) -> Option<String> {
        self.inner.session.borrow().id().map(str::to_string)
    }
    /// The normalised WebSocket URL.
    pub fn url(&self) -> String {
        self.inner.session.borrow().config().url.clone()
    }
    /// Whether the server accepted a token.
    pub fn auth_state(&self) -> AuthState {
        self.inner.session.borrow().auth_state()
    }
    /// The signed token the server accepted.
    pub fn signed_auth_token(&self) -> Option<String> {
        self.inner
            .session
            .borrow()
            .signed_token()
            .map(str::to_string)
    }
    /// Whether a reconnect is scheduled.
    pub fn pending_reconnect(&self) -> bool {
        self.inner.session.borrow().pending_reconnect()
    }
    /// Reconnects scheduled since the last open.
    pub fn connect_attempts(&self) -> u32 {
        self.inner.session.borrow().connect_attempts()
    }
    /// The storage key of the auth token.
    pub fn auth_token_name(&self) -> String {
        self.inner.store.name().to_string()
    }

    /// Connects (again) after [`Socket::disconnect`] or with `auto_connect: false`.
    pub fn connect(&self) {
        self.inner.ensure_page_watch();
        let t = now();
        self.inner.session.borrow_mut().connect(t);
        self.inner.pump();
    }

    /// Closes with `code` and releases every browser listener and timer of the socket (at the
    /// end of the pump, so that a close asked for from inside a listener still goes out with its
    /// code).
    pub fn disconnect(&self, code: u16, reason: &str) {
        let t = now();
        self.inner.session.borrow_mut().disconnect(code, reason, t);
        self.inner.pump();
    }

    /// Closes the connection with `code` and connects again at once.
    pub fn reconnect(&self, code: u16, reason: &str) {
        self.inner.ensure_page_watch();
        let t = now();
        self.inner.session.borrow_mut().reconnect(code, reason, t);
        self.inner.pump();
    }

    /// Emits with an answer; `done` is called exactly once.
    pub fn emit_with(
        &self,
        event: &str,
        data: Option<String>,
        opts: CallOptions,
        done: impl FnOnce(CallResult) + 'static,
    ) {
        let t = now();
        let r = self
            .inner
            .session
            .borrow_mut()
            .emit(event, data, true, opts, t);
        self.inner.track(r, Box::new(done));
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
        rx.await
            .unwrap_or_else(|_| Err(closed_error(event)))
            .map_err(Error::from)
    }

    /// Sends without waiting for an answer; never fails.
    pub fn transmit(&self, event: &str, data: Option<String>) {
        let t = now();
        self.inner.session.borrow_mut().transmit(event, data, t);
        self.inner.pump();
    }

    /// Publishes JSON text; `done` is called exactly once with the acknowledgement.
    pub fn publish_with(
        &self,
        channel: &str,
        data: Option<&str>,
        opts: CallOptions,
        done: impl FnOnce(CallResult) + 'static,
    ) {
        let t = now();
        let r = self
            .inner
            .session
            .borrow_mut()
            .publish(channel, data, opts, t);
        self.inner.track(r, Box::new(done));
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
            .map_err(Error::from)
    }

    /// Publishes JSON text without waiting for an acknowledgement.
    pub fn transmit_publish(&self, channel: &str, data: Option<&str>) {
        let t = now();
        self.inner
            .session
            .borrow_mut()
            .transmit_publish(channel, data, t);
        self.inner.pump();
    }

    /// Subscribes (or returns the existing channel of that name).
    pub fn subscribe(&self, name: &str, opts: SubscribeOptions) -> Channel {
        self.inner.session.borrow_mut().subscribe(name, opts);
        self.inner.pump();
        self.channel(name)
    }

    /// Unsubscribes from `name` (the channel is forgotten).
    pub fn unsubscribe(&self, name: &str) {
        let t = now();
        self.inner.session.borrow_mut().unsubscribe(name, t);
        self.inner.pump();
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
        self.inner.session.borrow().subscriptions(include_pending)
    }

    /// Subscribes the pending channels now (with `auto_subscribe_on_connect` off).
    pub fn process_pending_subscriptions(&self) {
        self.inner
            .session
            .borrow_mut()
            .process_pending_subscriptions();
        self.inner.pump();
    }

    /// `#authenticate`; settles with the JSON text of `{isAuthenticated, authError}`.
    pub fn authenticate_with(&self, token: &str, done: impl FnOnce(CallResult) + 'static) {
        let t = now();
        let r = self.inner.session.borrow_mut().authenticate(token, t);
        self.inner.track(r, Box::new(done));
    }

    /// Removes the token (here and in storage) and tells the server.
    pub fn deauthenticate(&self) {
        let t = now();
        self.inner.session.borrow_mut().deauthenticate(t);
        self.inner.pump();
    }

    /// Checks staleness and deadlines now (as a timer or a page wake-up would).
    pub fn check(&self) {
        let t = now();
        self.inner.session.borrow_mut().handle_wake(t);
        self.inner.pump();
    }

    /// Answers a server invoke (dropped if its connection is gone).
    pub fn respond(&self, to: &ReplyTo, result: Result<Option<String>, String>) {
        self.inner.session.borrow_mut().respond(to, result);
        self.inner.pump();
    }

    /// Whether the channel exists (pending or subscribed).
    pub fn has_channel(&self, name: &str) -> bool {
        self.inner.session.borrow().has_channel(name)
    }

    /// A weak handle, for closures that must not keep the socket alive.
    pub(crate) fn handle(&self) -> Weak<InnerHandle> {
        Rc::downgrade(&self.inner)
    }

    pub(crate) fn from_handle(h: &Weak<InnerHandle>) -> Option<Socket> {
        h.upgrade().map(|inner| Socket { inner })
    }
}

pub(crate) fn closed_error(event: &str) -> CallError {
    CallError::BadConnection {
        kind: crate::proto::BadConnectionKind::Closed,
        code: 1000,
        reason: "Socket dropped".into(),
        event: event.to_string(),
    }
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
                s.session.borrow().channel_state(&self.name)
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
            None => Err(closed_error("#publish").into()),
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
    fn track(&self, r: Result<CallId, CallError>, done: Settler) {
        match r {
            Ok(id) => {
                self.calls.borrow_mut().insert(id, done);
                self.pump();
            }
            Err(e) => {
                self.pump();
                done(Err(e));
            }
        }
    }

    fn ensure_page_watch(&self) {
        if self.page.borrow().is_some() {
            return;
        }
        let weak = self.me.clone();
        // (addEventListener runs outside the borrow of `page`)
        let watch = PageWatch::new(Rc::new(move |ev| {
            if let Some(inner) = weak.upgrade() {
                let t = now();
                {
                    let mut s = inner.session.borrow_mut();
                    match ev {
                        PageEvent::Online => s.handle_online(t),
                        PageEvent::Offline => s.handle_offline(t),
                        PageEvent::Wake => s.handle_wake(t),
                    }
                }
                inner.pump();
            }
        }));
        let spare = {
            let mut page = self.page.borrow_mut();
            if page.is_some() {
                Some(watch) // a nested call (from a wrapped addEventListener) was first
            } else {
                *page = Some(watch);
                None
            }
        };
        drop(spare);
    }

    /// Releases the page listeners and the timer once nothing can happen any more. The browser
    /// objects are dropped (removeEventListener, clearTimeout, close) outside the borrows.
    fn release(&self) {
        let done = {
            let s = self.session.borrow();
            s.state() == State::Closed && !s.pending_reconnect()
        };
        if done {
            let page = self.page.borrow_mut().take();
            drop(page);
            let timer = self.timer.borrow_mut().take();
            drop(timer);
            let conn = self.conn.borrow_mut().take();
            drop(conn);
        }
    }

    fn on_ws(&self, gen: u64, ev: WsEvent) {
        let t = now();
        {
            let mut s = self.session.borrow_mut();
            match ev {
                WsEvent::Open => s.handle_open(gen, t),
                WsEvent::Text(text) => s.handle_text(gen, &text, t),
                WsEvent::TooBig => s.handle_oversized(gen, t),
                WsEvent::Close { code, reason } => {
                    let code = if code == 0 { 1005 } else { code };
                    s.handle_close(gen, code, &reason, t)
                }
            }
        }
        self.pump();
    }

    /// Sends `text` on the connection of `gen`. The connection is taken out of its cell for the
    /// call (a page may have wrapped `WebSocket.prototype.send` and call back into the socket),
    /// then put back unless a nested call installed another one.
    fn send(&self, gen: u64, text: &str) -> bool {
        let conn = self.conn.borrow_mut().take();
        let Some((g, c)) = conn else { return false };
        let sent = g == gen && c.send(text);
        let spare = {
            let mut slot = self.conn.borrow_mut();
            if slot.is_none() {
                *slot = Some((g, c));
                None
            } else {
                Some(c)
            }
        };
        drop(spare);
        sent
    }

    /// Drains the session's outputs in order and re-arms the timer.
    pub(crate) fn pump(&self) {
        if self.pumping.replace(true) {
            return;
        }
        loop {
            let out = self.session.borrow_mut().poll_output();
            let Some(out) = out else { break };
            self.apply(out);
        }
        self.pumping.set(false);
        // (no snapshot: this runs once per frame, and idle hooks are only ever added)
        for i in 0.. {
            let hook = self.idle.borrow().get(i).cloned(); // borrow released before the call
            let Some(f) = hook else { break };
            f();
        }
        self.rearm();
        let closed_for_good = {
            let s = self.session.borrow();
            s.state() == State::Closed && !s.pending_reconnect()
        };
        if closed_for_good {
            self.release();
        }
    }

    /// Arms the one timer for the session's next deadline. setTimeout and clearTimeout (which a
    /// page may have wrapped) run outside the borrow of `timer`.
    fn rearm(&self) {
        let deadline = self.session.borrow().poll_timeout();
        let armed = matches!((&*self.timer.borrow(), deadline), (Some((t, _)), Some(d)) if *t == d);
        if armed {
            return;
        }
        let old = self.timer.borrow_mut().take();
        drop(old);
        let Some(d) = deadline else { return };
        let wait = (d - now()).clamp(0.0, crate::proto::backoff::MAX_TIMER_MS);
        let weak = self.me.clone();
        let t = Timeout::new(wait.ceil() as u32, move || {
            if let Some(inner) = weak.upgrade() {
                let fired = inner.timer.borrow_mut().take();
                drop(fired);
                let t = now();
                inner.session.borrow_mut().handle_timeout(t);
                inner.pump();
            }
        });
        let spare = self.timer.borrow_mut().replace((d, t));
        drop(spare);
    }

    fn emit_event(&self, ev: SocketEvent) {
        // Usually one handler (the JS adapter's): call it without collecting a snapshot.
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

    fn apply(&self, out: Output) {
        match out {
            Output::Open { gen, url } => {
                // A listener of `connecting` may have closed (or restarted) the socket already.
                let wanted = {
                    let s = self.session.borrow();
                    s.generation() == gen && s.state() == State::Connecting
                };
                if !wanted {
                    return;
                }
                let weak = self.me.clone();
                let handler: Rc<dyn Fn(WsEvent)> = Rc::new(move |ev| {
                    if let Some(inner) = weak.upgrade() {
                        inner.on_ws(gen, ev);
                    }
                });
                let max_payload = self.session.borrow().config().max_payload;
                match WsConn::open(&url, max_payload, handler) {
                    Ok(c) => {
                        let old = self.conn.borrow_mut().replace((gen, c));
                        drop(old);
                    }
                    Err(_) => {
                        let old = self.conn.borrow_mut().take();
                        drop(old);
                        let t = now();
                        self.session.borrow_mut().handle_close(gen, 1006, "", t);
                    }
                }
            }
            Output::LoadToken { gen } => match self.store.load() {
                Loaded::Ready(t) => {
                    self.storage_notice();
                    self.report_unreadable(t.as_deref());
                    let now = now();
                    self.session.borrow_mut().handle_token(gen, t, now);
                }
                Loaded::Later(p) => {
                    let weak = self.me.clone();
                    wasm_bindgen_futures::spawn_local(async move {
                        let t = wasm_bindgen_futures::JsFuture::from(p)
                            .await
                            .ok()
                            .and_then(|v| v.as_string());
                        if let Some(inner) = weak.upgrade() {
                            inner.report_unreadable(t.as_deref());
                            let now = now();
                            inner.session.borrow_mut().handle_token(gen, t, now);
                            inner.pump();
                        }
                    });
                }
                #[cfg(feature = "token-storage")]
                Loaded::Pending(f) => {
                    let weak = self.me.clone();
                    wasm_bindgen_futures::spawn_local(async move {
                        let t = f.await;
                        if let Some(inner) = weak.upgrade() {
                            inner.report_unreadable(t.as_deref());
                            let now = now();
                            inner.session.borrow_mut().handle_token(gen, t, now);
                            inner.pump();
                        }
                    });
                }
            },
            Output::Send { gen, text } => {
                let current = self.session.borrow().generation() == gen;
                if current && !self.send(gen, &text) && self.session.borrow().generation() == gen {
                    // The socket is gone under us: treat it as closed (1005 retries at once).
                    let t = now();
                    self.session.borrow_mut().handle_close(gen, 1005, "", t);
                }
            }
            Output::Close { gen, code, reason } => {
                // The connection of `gen`, even when a new attempt has started since (a
                // reconnect from a listener, the immediate retry after a self-close): the
                // server must see this code and reason.
                let conn = {
                    let mut slot = self.conn.borrow_mut();
                    if slot.as_ref().is_some_and(|(g, _)| *g == gen) {
                        slot.take()
                    } else {
                        None
                    }
                };
                if let Some((_, c)) = conn {
                    c.close(code, &reason);
                }
            }
            Output::SaveToken(t) => {
                self.store.save(&t);
                self.storage_notice();
            }
            Output::RemoveToken => {
                self.store.remove();
                self.storage_notice();
            }
            Output::Settle { id, result } => {
                let settler = self.calls.borrow_mut().remove(id);
                if let Some(f) = settler {
                    f(result);
                }
            }
            Output::Connecting => self.emit_event(SocketEvent::Connecting),
            Output::Connect {
                id,
                ping_timeout,
                is_authenticated,
                auth_error,
            } => self.emit_event(SocketEvent::Connect {
                id,
                ping_timeout,
                is_authenticated,
                auth_error,
            }),
            Output::ConnectAbort { code, reason } => {
                self.emit_event(SocketEvent::ConnectAbort { code, reason })
            }
            Output::Disconnect { code, reason } => {
                self.emit_event(SocketEvent::Disconnect { code, reason })
            }
            Output::Closed { code, reason } => {
                let conn = self.conn.borrow_mut().take();
                drop(conn);
                self.emit_event(SocketEvent::Close { code, reason })
            }
            Output::Error(e) => self.emit_event(SocketEvent::Error(SocketError::Session(e))),
            Output::Raw(t) => self.emit_event(SocketEvent::Raw(t)),
            Output::Reconnecting { attempt, delay } => {
                self.emit_event(SocketEvent::Reconnecting { attempt, delay })
            }
            Output::GiveUp { attempts } => self.emit_event(SocketEvent::GiveUp { attempts }),
            Output::ServerEvent { event, data, reply } => {
                let reply = reply.map(|to| Responder {
                    inner: self.me.clone(),
                    to,
                });
                self.emit_event(SocketEvent::ServerEvent { event, data, reply })
            }
            Output::Subscribe(c) => self.emit_event(SocketEvent::Subscribe(c)),
            Output::SubscribeFail { channel, error } => {
                self.emit_event(SocketEvent::SubscribeFail { channel, error })
            }
            Output::Unsubscribe(c) => self.emit_event(SocketEvent::Unsubscribe(c)),
            Output::SubscribeStateChange { channel, old, new } => {
                self.emit_event(SocketEvent::SubscribeStateChange { channel, old, new })
            }
            Output::KickOut { channel, message } => {
                self.emit_event(SocketEvent::KickOut { channel, message })
            }
            Output::Publish { channel, data } => {
                self.emit_event(SocketEvent::Publish { channel, data })
            }
            Output::Authenticate { signed_token } => {
                self.emit_event(SocketEvent::Authenticate { signed_token })
            }
            Output::Deauthenticate { old_signed_token } => {
                self.emit_event(SocketEvent::Deauthenticate { old_signed_token })
            }
            Output::AuthStateChange { old, new } => {
                self.emit_event(SocketEvent::AuthStateChange { old, new })
            }
        }
    }

    /// A stored token whose payload cannot be read is still offered to the server (which
    /// rejects it and has it removed), but the user hears about it now. The message never
    /// contains the token.
    fn report_unreadable(&self, token: Option<&str>) {
        if let Some(Err(e)) = token.map(crate::proto::auth::decode_payload) {
            self.emit_event(SocketEvent::Error(SocketError::Session(
                SessionError::BadAuthToken(e),
            )));
        }
    }

    fn storage_notice(&self) {
        if let Some(m) = self.store.take_notice() {
            self.emit_event(SocketEvent::Error(SocketError::Storage(m)));
        }
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
/// (port 80/443 filled in like socketcluster-client).
pub fn normalize_url(url: &str, query: Option<&str>) -> Result<(String, String), ConfigError> {
    normalize(url, query).map_err(|message| ConfigError {
        option: "url",
        message,
    })
}

fn normalize(url: &str, query: Option<&str>) -> Result<(String, String), String> {
    let parsed = if url.starts_with('/') && !url.starts_with("//") {
        let base = web_sys::window()
            .and_then(|w| w.location().href().ok())
            .unwrap_or_else(|| "http://localhost/".to_string());
        web_sys::Url::new_with_base(url, &base)
    } else {
        web_sys::Url::new(url)
    };
    let u = parsed.map_err(|_| {
        let mut m = String::from("Invalid URL: ");
        m.push_str(url);
        m.push_str(" (use an absolute ws:, wss:, http: or https: URL, or a path starting with /)");
        m
    })?;
    let secure = match u.protocol().as_str() {
        "ws:" | "http:" => false,
        "wss:" | "https:" => true,
        other => {
            return Err(format!(
                "Invalid URL scheme {other} (use ws:, wss:, http: or https:)"
            ))
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
            if existing.is_empty() || existing == "?" {
                u.set_search(q);
            } else {
                let mut search = String::from(existing.trim_start_matches('?'));
                search.push('&');
                search.push_str(q);
                u.set_search(&search);
            }
        }
    }
    u.set_hash("");
    // (push_str, not format!: no formatting machinery on this path)
    let mut host_port = u.hostname();
    host_port.push(':');
    let port = u.port();
    host_port.push_str(match (port.is_empty(), secure) {
        (false, _) => &port,
        (true, true) => "443",
        (true, false) => "80",
    });
    Ok((u.href(), host_port))
}
