//! The SocketCluster engine: one [`Session`] wired to the browser `WebSocket` driver, one
//! `setTimeout` timer, the page's online/offline/wake events and the token store, with one face
//! callback ([`Sink`]) for the user-visible events.
//!
//! Owns the browser objects of one socket and the pump; owns no rule (every decision is the
//! session's) and no listener or Promise (the faces keep theirs: the Rust face in
//! `src/client.rs`, the JS face in `src/js/socket.js`). **No `RefCell` borrow is held across a
//! call into JS**: each input takes one short borrow to feed the session, and
//! [`SocketEngine::pump`] runs the driver commands, arms or clears the timer and calls the sink
//! with no borrow held, so a page that wraps `WebSocket`, `setTimeout` or `addEventListener`, and
//! any listener, may call back into the socket.
//!
//! The sink gets the events of a pump in one call; events are handed over before the next
//! driver command runs (a `connecting` listener that disconnects opens no WebSocket). Calls are
//! keyed by the face: `emit`/`publish`/`authenticate` take the face's key, and the
//! [`Event::Settle`] events the sink gets carry that key as their `id`.
//!
//! A text frame is read with [`Session::handle_text_lending`] and pumped while its buffer is
//! still there: the sink gets the frame ([`Lent`]) with the events, and channel messages reach
//! it without their data copied out of the frame.

#[allow(unused_imports)]
use crate::prelude::*;

use core::cell::Cell;

use crate::cell::RefCell;
use alloc::rc::{Rc, Weak};

use crate::proto::{
    CallError, CallId, CallOptions, Command, Config, Event, Output, Session, State,
};
use crate::proto::{ReplyTo, SessionError, Span, SubscribeOptions};
use crate::web::page::{PageEvent, PageWatch};
use crate::web::storage::{Loaded, StoreKind, TokenStore};
use crate::web::websocket::{held_frame, WsConn, WsEvent};
use crate::web::{now, random_seed, Timer};

/// The face callback: the user-visible [`Event`]s of one pump, in order (a driver [`Command`]
/// never reaches a face), and the frame they came from while its text is still there
/// ([`Lent`]). Token-store failures arrive as [`Event::Error`] with
/// [`SessionError::Storage`].
pub type Sink = Box<dyn Fn(&[Event], Option<Lent<'_>>)>;

/// The frame whose events a pump hands over: the session read it with
/// [`Session::handle_text_lending`], so the data of its channel messages is still in its text
/// (read it with [`Lent::data`]).
#[derive(Clone, Copy)]
pub struct Lent<'a> {
    /// The session's number for the frame (what its events' [`Span`]s carry).
    pub frame: u32,
    /// Its text.
    pub text: &'a str,
    /// Whether `support.js`'s `heldFrame` is this frame now (ASCII, so the spans are its
    /// UTF-16 offsets too): a face can slice the messages out of it there.
    pub held: bool,
}

impl<'a> Lent<'a> {
    /// The JSON text of a channel message's data: `data` itself, or what its span points at
    /// in the frame.
    pub fn data(
        lent: Option<Self>,
        data: &'a Option<String>,
        span: Option<Span>,
    ) -> Option<&'a str> {
        match (data, span, lent) {
            (Some(d), ..) => Some(d),
            (None, Some(sp), Some(l)) if l.frame == sp.frame => sp.data_in(l.text),
            _ => None,
        }
    }
}

/// What [`SocketEngine::on_ws`] hands its pump: the frame just read (see [`Lent`]) and the
/// driver's number for it when `support.js` holds it.
#[derive(Clone, Copy)]
struct Frame<'a> {
    n: u32,
    held: Option<u32>,
    text: &'a str,
}

/// One socket's engine (see the module docs).
pub struct SocketEngine {
    session: RefCell<Session>,
    /// The WebSocket and the connection generation it belongs to.
    conn: RefCell<Option<(u64, WsConn)>>,
    timer: RefCell<Option<(f64, Timer)>>,
    page: RefCell<Option<PageWatch>>,
    store: TokenStore,
    /// Events waiting for the sink.
    pending: RefCell<Vec<Event>>,
    sink: Sink,
    pumping: Cell<bool>,
    me: Weak<SocketEngine>,
}

impl SocketEngine {
    /// An engine for `config` (its `url` already normalised by the face: `normalize_url` for
    /// the Rust face, `socket.js` for the JS face), keeping the token under `token_name` in `store`. It does not connect: call [`SocketEngine::connect`].
    pub fn new(config: Config, token_name: String, store: StoreKind, sink: Sink) -> Rc<Self> {
        let store = TokenStore::new(store, token_name);
        Rc::new_cyclic(|me| SocketEngine {
            session: RefCell::new(Session::new(config, random_seed())),
            conn: RefCell::new(None),
            timer: RefCell::new(None),
            page: RefCell::new(None),
            store,
            pending: RefCell::new(Vec::new()),
            sink,
            pumping: Cell::new(false),
            me: me.clone(),
        })
    }

    /// The session, for reading its state (never held across a call into the engine).
    pub fn session(&self) -> core::cell::Ref<'_, Session> {
        self.session.borrow()
    }

    /// The storage key of the auth token.
    pub fn token_name(&self) -> &str {
        self.store.name()
    }

    /// Connects (again).
    pub fn connect(&self) {
        self.ensure_page_watch();
        let t = now();
        self.session.borrow_mut().connect(t);
        self.pump();
    }

    /// Closes with `code`; browser listeners and the timer are released at the end of the pump.
    pub fn disconnect(&self, code: u16, reason: &str) {
        let t = now();
        self.session.borrow_mut().disconnect(code, reason, t);
        self.pump();
    }

    /// Closes the connection with `code` and connects again at once.
    pub fn reconnect(&self, code: u16, reason: &str) {
        self.ensure_page_watch();
        let t = now();
        self.session.borrow_mut().reconnect(code, reason, t);
        self.pump();
    }

    /// Emits with an answer, settled (exactly once) as `Settle { id: key, .. }`.
    pub fn emit(&self, key: u64, event: &str, data: Option<String>, opts: CallOptions) {
        let t = now();
        let r = self.session.borrow_mut().emit(event, data, true, opts, t);
        self.track(key, r);
    }

    /// Sends without an answer.
    pub fn transmit(&self, event: &str, data: Option<String>) {
        let t = now();
        self.session.borrow_mut().transmit(event, data, t);
        self.pump();
    }

    /// Publishes, settled as `Settle { id: key, .. }`.
    pub fn publish(&self, key: u64, channel: &str, data: Option<&str>, opts: CallOptions) {
        let t = now();
        let r = self.session.borrow_mut().publish(channel, data, opts, t);
        self.track(key, r);
    }

    /// Publishes without an acknowledgement.
    pub fn transmit_publish(&self, channel: &str, data: Option<&str>) {
        let t = now();
        self.session.borrow_mut().transmit_publish(channel, data, t);
        self.pump();
    }

    /// `#authenticate`, settled as `Settle { id: key, .. }` with `{isAuthenticated, authError}`.
    pub fn authenticate(&self, key: u64, token: &str) {
        let t = now();
        let r = self.session.borrow_mut().authenticate(token, t);
        self.track(key, r);
    }

    /// Removes the token (here and in storage) and tells the server.
    pub fn deauthenticate(&self) {
        let t = now();
        self.session.borrow_mut().deauthenticate(t);
        self.pump();
    }

    /// Subscribes (or updates nothing if the channel exists).
    pub fn subscribe(&self, name: &str, opts: SubscribeOptions) {
        self.session.borrow_mut().subscribe(name, opts);
        self.pump();
    }

    /// Unsubscribes from `name`.
    pub fn unsubscribe(&self, name: &str) {
        let t = now();
        self.session.borrow_mut().unsubscribe(name, t);
        self.pump();
    }

    /// Subscribes the pending channels now.
    pub fn process_pending_subscriptions(&self) {
        self.session.borrow_mut().process_pending_subscriptions();
        self.pump();
    }

    /// Answers a server invoke (dropped if its connection is gone).
    pub fn respond(&self, to: &ReplyTo, result: Result<Option<String>, String>) {
        self.session.borrow_mut().respond(to, result);
        self.pump();
    }

    /// Checks staleness and deadlines now (as a timer or a page wake-up would).
    pub fn check(&self) {
        let t = now();
        self.session.borrow_mut().handle_wake(t);
        self.pump();
    }

    fn track(&self, key: u64, r: Result<CallId, CallError>) {
        match r {
            // the session settles the call under the face's key (no table here)
            Ok(id) => {
                self.session.borrow_mut().rekey(id, key);
            }
            Err(e) => self.pending.borrow_mut().push(Event::Settle {
                id: key,
                result: Err(e),
            }),
        }
        self.pump();
    }

    fn ensure_page_watch(&self) {
        if self.page.borrow().is_some() {
            return;
        }
        let weak = self.me.clone();
        // (addEventListener runs outside the borrow of `page`)
        let watch = PageWatch::new(Rc::new(move |ev| {
            if let Some(e) = weak.upgrade() {
                let t = now();
                {
                    let mut s = e.session.borrow_mut();
                    match ev {
                        PageEvent::Online => s.handle_online(t),
                        PageEvent::Offline => s.handle_offline(t),
                        PageEvent::Wake => s.handle_wake(t),
                    }
                }
                e.pump();
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

    fn closed_for_good(&self) -> bool {
        let s = self.session.borrow();
        s.state() == State::Closed && !s.pending_reconnect()
    }

    /// Releases the page listeners, the timer and the connection once nothing can happen any
    /// more (dropped outside the borrows: removeEventListener, clearTimeout, close).
    fn release(&self) {
        let page = self.page.borrow_mut().take();
        drop(page);
        let timer = self.timer.borrow_mut().take();
        drop(timer);
        let conn = self.conn.borrow_mut().take();
        drop(conn);
    }

    fn on_ws(&self, gen: u64, ev: WsEvent<'_>) {
        let t = now();
        let mut frame = None;
        {
            let mut s = self.session.borrow_mut();
            match &ev {
                WsEvent::Open => s.handle_open(gen, t),
                WsEvent::Text(text, held) => {
                    let before = s.frames();
                    // (the frame's text lives until this pump is over; a nested call, from a
                    // listener while a pump runs, leaves its events to that pump: copied)
                    if self.pumping.get() {
                        s.handle_text(gen, text, t);
                    } else {
                        s.handle_text_lending(gen, text, t);
                    }
                    let n = s.frames();
                    if n != before {
                        frame = Some(Frame {
                            n,
                            held: *held,
                            text,
                        });
                    }
                }
                WsEvent::TooBig => s.handle_oversized(gen, t),
                WsEvent::Close { code, reason } => {
                    let code = if *code == 0 { 1005 } else { *code };
                    s.handle_close(gen, code, reason, t)
                }
            }
        }
        self.pump_frame(frame);
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

    /// Hands the waiting events to the sink (no borrow held).
    fn flush(&self, f: Option<Frame<'_>>) {
        let events = core::mem::take(&mut *self.pending.borrow_mut());
        if !events.is_empty() {
            let lent = f.map(|f| Lent {
                frame: f.n,
                text: f.text,
                held: f.held == Some(held_frame()),
            });
            (self.sink)(&events, lent);
        }
    }

    /// Drains the session's outputs in order (events go to the sink before the next driver
    /// command runs, and at the end), re-arms the timer, and releases the browser objects once
    /// the socket is closed for good.
    pub fn pump(&self) {
        self.pump_frame(None);
    }

    /// [`SocketEngine::pump`], with the frame the session just read lending its text (`f`).
    fn pump_frame(&self, f: Option<Frame<'_>>) {
        if self.pumping.replace(true) {
            return;
        }
        loop {
            let out = self.session.borrow_mut().poll_output();
            match out {
                Some(out) => self.apply(out, f),
                None => {
                    if self.pending.borrow().is_empty() {
                        break;
                    }
                    self.flush(f); // (listeners may have fed the session: drain again)
                }
            }
        }
        self.pumping.set(false);
        self.rearm();
        if self.closed_for_good() {
            self.release();
        }
    }

    /// Arms the one timer for the session's next deadline. A timer already armed for an
    /// earlier time is kept: it fires early, the session finds nothing due, and the timer is
    /// armed again then (the ping deadline moves with every frame and the earliest ack deadline
    /// with every answer: re-arming each time would cost a clearTimeout and a setTimeout per
    /// frame). setTimeout and clearTimeout (which a page may have wrapped) run outside the
    /// borrow of `timer`.
    fn rearm(&self) {
        let deadline = self.session.borrow().poll_timeout();
        let armed = matches!((&*self.timer.borrow(), deadline), (Some((t, _)), Some(d)) if *t <= d);
        if armed {
            return;
        }
        let old = self.timer.borrow_mut().take();
        drop(old);
        let Some(d) = deadline else { return };
        let wait = (d - now()).clamp(0.0, crate::proto::backoff::MAX_TIMER_MS);
        let weak = self.me.clone();
        // (rounded up by hand: `ceil` needs std)
        let ms = wait as u32;
        let ms = if f64::from(ms) < wait { ms + 1 } else { ms };
        let t = Timer::new(ms, move || {
            if let Some(e) = weak.upgrade() {
                let fired = e.timer.borrow_mut().take();
                drop(fired);
                let t = now();
                e.session.borrow_mut().handle_timeout(t);
                e.pump();
            }
        });
        // (no timer when the page's setTimeout threw: the next pump tries again)
        let Some(t) = t else { return };
        let spare = self.timer.borrow_mut().replace((d, t));
        drop(spare);
    }

    fn event(&self, ev: Event) {
        self.pending.borrow_mut().push(ev);
    }

    /// One output: the events before a command reach the sink before the command runs.
    fn apply(&self, out: Output, f: Option<Frame<'_>>) {
        match out {
            Output::Command(c) => {
                self.flush(f);
                self.run(c);
            }
            Output::Event(e) => self.deliver(e, f),
        }
    }

    fn run(&self, c: Command) {
        match c {
            Command::Open { gen, url } => {
                // A listener of `connecting` may have closed (or restarted) the socket already.
                let wanted = {
                    let s = self.session.borrow();
                    s.generation() == gen && s.state() == State::Connecting
                };
                if !wanted {
                    return;
                }
                let weak = self.me.clone();
                let handler: Rc<dyn Fn(WsEvent<'_>)> = Rc::new(move |ev| {
                    if let Some(e) = weak.upgrade() {
                        e.on_ws(gen, ev);
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
            Command::LoadToken { gen } => match self.store.load() {
                Loaded::Ready(t) => {
                    self.storage_notice();
                    self.report_unreadable(t.as_deref());
                    let now = now();
                    self.session.borrow_mut().handle_token(gen, t, now);
                }
                Loaded::Later(p) => {
                    let weak = self.me.clone();
                    crate::web::on_settled(
                        &p,
                        Box::new(move |r| {
                            if let Some(e) = weak.upgrade() {
                                e.token_loaded(gen, r.ok().and_then(|v| v.as_string()));
                            }
                        }),
                    );
                }
                #[cfg(feature = "token-storage")]
                Loaded::Pending(f) => {
                    let weak = self.me.clone();
                    wasm_bindgen_futures::spawn_local(async move {
                        let t = f.await;
                        if let Some(e) = weak.upgrade() {
                            e.token_loaded(gen, t);
                        }
                    });
                }
            },
            Command::Send { gen, text } => {
                let current = self.session.borrow().generation() == gen;
                if current && !self.send(gen, &text) && self.session.borrow().generation() == gen {
                    // The socket is gone under us: treat it as closed (1005 retries at once).
                    let t = now();
                    self.session.borrow_mut().handle_close(gen, 1005, "", t);
                }
            }
            Command::Close { gen, code, reason } => {
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
            Command::SaveToken(t) => {
                self.store.save(&t);
                self.storage_notice();
            }
            Command::RemoveToken => {
                self.store.remove();
                self.storage_notice();
            }
        }
    }

    fn deliver(&self, e: Event, f: Option<Frame<'_>>) {
        match e {
            Event::Closed { code, reason } => {
                self.flush(f);
                let conn = self.conn.borrow_mut().take();
                drop(conn);
                self.event(Event::Closed { code, reason });
            }
            other => self.event(other),
        }
    }

    fn token_loaded(&self, gen: u64, t: Option<String>) {
        self.report_unreadable(t.as_deref());
        let now = now();
        self.session.borrow_mut().handle_token(gen, t, now);
        self.pump();
    }

    /// A stored token whose payload cannot be read is still offered to the server (which
    /// rejects it and has it removed), but the user hears about it now. The message never
    /// contains the token.
    fn report_unreadable(&self, token: Option<&str>) {
        if let Some(Err(e)) = token.map(crate::proto::auth::decode_payload) {
            self.event(Event::Error(SessionError::BadAuthToken(e)));
        }
    }

    fn storage_notice(&self) {
        if let Some(message) = self.store.take_notice() {
            self.event(Event::Error(SessionError::Storage(message)));
        }
    }
}
