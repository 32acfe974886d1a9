//! The `EventStream` engine: one [`Session`] wired to the `EventSource` / `fetch` drivers of
//! [`crate::web`] and a `setTimeout` timer, with one face callback ([`Sink`]) for the events.
//!
//! Owns the browser objects of one stream (the current connection, the reconnect timer) and the
//! pump; owns no rule (every decision is the session's) and no listener (the faces keep theirs).
//! **No `RefCell` borrow is held across a call into JS**: each input takes one short borrow to
//! feed the session, and `SseEngine::pump` runs the session's commands, arms or clears the
//! timer and calls the sink with no borrow held. A page that wraps `fetch`, `EventSource`,
//! `setTimeout` or `addEventListener` and calls back into the stream from inside (even
//! `close()`) sees a consistent stream: a connection opened for a generation the session left
//! meanwhile is dropped at once, and a timer armed for a deadline that is gone is cleared.
//!
//! The sink gets the events of one pump in one call. After the `close` event the engine drops
//! the sink: nothing more reaches the face.

#[allow(unused_imports)]
use crate::prelude::*;

use crate::cell::RefCell;
use alloc::rc::{Rc, Weak};

use crate::sse::session::{Command, Config, ReadyState, Session, StreamEvent};
use crate::web::eventsource::{SseConn, SseInput};
use crate::web::Timer;

/// Extra request headers, asked for before every `fetch` attempt: the function hands them (or
/// the failure's text) to the callback it is given, later (each face adapts its own
/// `getHeaders` and calls it in a microtask, not from inside the pump that asks: the JS face
/// waits for a Promise, the Rust face for a future).
pub type GetHeaders = Rc<dyn Fn(HeadersDone)>;

/// The callback a [`GetHeaders`] answers, once.
pub type HeadersDone = Box<dyn FnOnce(Result<Vec<(String, String)>, String>)>;

/// The face callback: the events of one pump, in order.
pub type Sink = Rc<dyn Fn(Vec<StreamEvent>)>;

/// The current connection (an `EventSource`, or a `fetch` held for its `Drop`, which aborts
/// it); `Rc` so that a listener can be added to it with no borrow held.
type Conn = Option<Rc<SseConn>>;

struct Core {
    session: Session,
    conn: Conn,
    /// The generation `conn` belongs to.
    conn_gen: u64,
    /// The armed reconnect timer and its deadline.
    timer: Option<(f64, Timer)>,
    /// `now` of the last input (the timer's delay is measured from it).
    now: f64,
    with_credentials: bool,
    get_headers: Option<GetHeaders>,
    sink: Option<Sink>,
}

/// One `EventStream`'s engine (see the module docs). Held in an `Rc`; drivers and timers hold a
/// `Weak` to it.
pub struct SseEngine {
    core: RefCell<Core>,
    me: Weak<SseEngine>,
}

impl SseEngine {
    /// An engine for `cfg`; it connects in a microtask, once the caller had the chance to add
    /// listeners (the first events are asynchronous anyway; this keeps `open` from being missed).
    pub fn new(
        cfg: Config,
        with_credentials: bool,
        get_headers: Option<GetHeaders>,
        sink: Sink,
    ) -> Rc<SseEngine> {
        let session = Session::new(cfg, crate::web::random_seed());
        let engine = Rc::new_cyclic(|me| SseEngine {
            core: RefCell::new(Core {
                session,
                conn: None,
                conn_gen: 0,
                timer: None,
                now: 0.0,
                with_credentials,
                get_headers,
                sink: Some(sink),
            }),
            me: me.clone(),
        });
        let weak = Rc::downgrade(&engine);
        crate::web::later(Box::new(move || {
            if let Some(e) = weak.upgrade() {
                e.input(|s, _| s.handle_start());
            }
        }));
        engine
    }

    pub fn ready_state(&self) -> ReadyState {
        self.core
            .try_borrow()
            .map_or(ReadyState::Closed, |c| c.session.ready_state())
    }

    pub fn url(&self) -> String {
        self.core
            .try_borrow()
            .map(|c| c.session.url().to_string())
            .unwrap_or_default()
    }

    pub fn last_event_id(&self) -> String {
        self.core
            .try_borrow()
            .map(|c| c.session.last_event_id().to_string())
            .unwrap_or_default()
    }

    /// Closes for good (`close {reason: 'client'}` reaches the sink before this returns).
    pub fn close(&self) {
        self.input(|s, _| s.close());
    }

    /// Closes without a `close` event (the face went away).
    pub fn shutdown(&self) {
        self.input(|s, _| s.shutdown());
    }

    /// Makes sure events of type `name` are received.
    pub fn watch(&self, name: &str) {
        self.input(|s, _| s.watch(name));
    }

    /// Feeds one input to the session under a short borrow, then pumps.
    fn input<R>(&self, f: impl FnOnce(&mut Session, f64) -> R) -> Option<R> {
        // Read before the borrow: `Date.now` is a call into JS too.
        let now = crate::web::now();
        let r = self.feed(now, f)?;
        self.pump();
        Some(r)
    }

    /// Feeds one input without pumping (the pump that runs it drains what it adds).
    fn feed<R>(&self, now: f64, f: impl FnOnce(&mut Session, f64) -> R) -> Option<R> {
        let mut c = self.core.try_borrow_mut().ok()?;
        c.now = now;
        Some(f(&mut c.session, now))
    }

    /// Drains the session and runs what it asks, with no borrow held, until it asks nothing.
    fn pump(&self) {
        loop {
            let (commands, events, old_timer, arm, sink) = {
                let Ok(mut c) = self.core.try_borrow_mut() else {
                    return;
                };
                let commands = c.session.poll_commands();
                let events = c.session.poll_events();
                let want = c.session.poll_timeout();
                let (old_timer, arm) = if want == c.timer.as_ref().map(|t| t.0) {
                    (None, None)
                } else {
                    (c.timer.take(), want.map(|d| (d, d - c.now)))
                };
                let sink = if c.session.ready_state() == ReadyState::Closed {
                    c.sink.take()
                } else {
                    c.sink.clone()
                };
                if commands.is_empty() && events.is_empty() && old_timer.is_none() && arm.is_none()
                {
                    drop(c);
                    drop(sink); // the face's last reference may go: no borrow held
                    return;
                }
                (commands, events, old_timer, arm, sink)
            };
            drop(old_timer); // clearTimeout
                             // (by reference: no `IntoIter<Command>` code)
            for cmd in &commands {
                self.run(cmd);
            }
            drop(commands);
            if let Some((deadline, delay)) = arm {
                self.arm(deadline, delay);
            }
            if let Some(sink) = sink {
                if !events.is_empty() {
                    sink(events);
                }
            }
        }
    }

    /// Runs one command of the session (calls into the browser; no borrow held).
    fn run(&self, cmd: &Command) {
        match *cmd {
            Command::Release => {
                let old = self.core.try_borrow_mut().map(|mut c| c.conn.take());
                drop(old); // closes the EventSource / aborts the fetch
            }
            Command::OpenEventSource { gen, ref url, .. } => {
                let cred = self.core.borrow().with_credentials;
                let opened = SseConn::event_source(url, cred, handler(self.me.clone(), gen));
                match opened {
                    Ok(conn) => {
                        let conn = Rc::new(conn);
                        // The command's names, and any the page listened to meanwhile (unless
                        // it closed the stream meanwhile).
                        let names = self
                            .store(gen, conn.clone())
                            .ok()
                            .map(|c| c.session.names().to_vec());
                        if let Some(names) = names {
                            for name in &names {
                                conn.listen(name);
                            }
                        }
                        // When the stream moved on, this was the last reference: it closes.
                        drop(conn);
                    }
                    Err(msg) => self.open_failed(gen, &msg),
                }
            }
            Command::GetHeaders { gen } => {
                let f = self.core.borrow().get_headers.clone();
                let weak = self.me.clone();
                let done: HeadersDone = Box::new(move |extra| {
                    if let Some(e) = weak.upgrade() {
                        e.input(|s, now| s.handle_headers(gen, extra, now));
                    }
                });
                // (each face's `getHeaders` runs in a microtask, as an async step: not from
                // inside this pump)
                match f {
                    Some(f) => f(done),
                    None => done(Ok(Vec::new())),
                }
            }
            Command::Fetch {
                gen,
                ref url,
                ref headers,
            } => {
                let cred = self.core.borrow().with_credentials;
                let h = handler(self.me.clone(), gen);
                match crate::web::fetch_stream::start(url, headers, cred, h) {
                    Ok(conn) => {
                        let stale = self.store(gen, Rc::new(conn)).err();
                        drop(stale); // aborts a request the stream no longer wants
                    }
                    Err(msg) => self.open_failed(gen, &msg),
                }
            }
            Command::Listen { gen, ref name } => {
                let conn = self
                    .core
                    .try_borrow()
                    .ok()
                    .and_then(|c| c.conn.clone().filter(|_| c.conn_gen == gen));
                if let Some(conn) = conn {
                    conn.listen(name);
                }
            }
        }
    }

    /// Keeps `conn` as the connection of `gen` if the session still wants it, returning the
    /// borrow it did that under (to read more); else gives `conn` back, to be dropped with no
    /// borrow held.
    fn store(
        &self,
        gen: u64,
        conn: Rc<SseConn>,
    ) -> Result<core::cell::RefMut<'_, Core>, Rc<SseConn>> {
        let Ok(mut c) = self.core.try_borrow_mut() else {
            return Err(conn);
        };
        if !c.session.is_current(gen) || c.conn.is_some() {
            return Err(conn);
        }
        c.conn = Some(conn);
        c.conn_gen = gen;
        Ok(c)
    }

    /// The connection of `gen` could not be made: `msg` says why.
    fn open_failed(&self, gen: u64, msg: &str) {
        self.feed(crate::web::now(), |s, now| {
            s.handle_open_failed(gen, msg, now)
        });
    }

    /// Arms the reconnect timer for `deadline`, `delay` ms from the input that set it (dropped
    /// at once if the deadline went away while the page's `setTimeout` ran).
    fn arm(&self, deadline: f64, delay: f64) {
        let weak = self.me.clone();
        let ms = delay.clamp(0.0, f64::from(u32::MAX)) as u32;
        let timer = Timer::new(ms, move || {
            if let Some(e) = weak.upgrade() {
                // The browser says the delay passed: the deadline is reached whatever the clocks.
                e.input(|s, now| s.handle_timeout(now.max(deadline)));
            }
        });
        // (no timer when the page's setTimeout threw: the next input arms again)
        let Some(timer) = timer else { return };
        let stale = match self.core.try_borrow_mut() {
            Ok(mut c) if c.timer.is_none() && c.session.poll_timeout() == Some(deadline) => {
                c.timer = Some((deadline, timer));
                None
            }
            _ => Some(timer),
        };
        drop(stale);
    }
}

/// The handler of the connection of `gen` (either transport): feeds each input to the session;
/// for a `fetch`, returns whether to read on.
fn handler(weak: Weak<SseEngine>, gen: u64) -> impl FnMut(SseInput) -> bool + 'static {
    move |input: SseInput| {
        let Some(e) = weak.upgrade() else {
            return false;
        };
        let go_on = e.input(|s, now| match input {
            SseInput::Open => {
                s.handle_es_open(gen);
                false
            }
            SseInput::Message {
                event_type,
                data,
                last_event_id,
            } => {
                s.handle_es_message(gen, event_type, data, last_event_id.as_deref());
                false
            }
            SseInput::Oversized => {
                s.handle_es_oversized(gen);
                false
            }
            SseInput::Error => {
                s.handle_es_error(gen, now);
                false
            }
            SseInput::Head {
                status,
                content_type,
                retry_after,
                retry_at,
            } => s.handle_response(
                gen,
                status,
                content_type.as_deref(),
                retry_after.as_deref(),
                retry_at,
                now,
            ),
            SseInput::Chunk(bytes) => s.handle_chunk(gen, &bytes),
            SseInput::End => {
                s.handle_end(gen, now);
                false
            }
            SseInput::Failed(m) => {
                s.handle_fetch_failed(gen, &m, now);
                false
            }
        });
        go_on == Some(true) && e.core.try_borrow().is_ok_and(|c| c.session.is_current(gen))
    }
}
