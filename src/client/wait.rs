//! Futures for the states an app waits for: [`Socket::connected`], [`Socket::authenticated`]
//! and [`Channel::subscribed`]. Each resolves at once when the state already holds, settles on
//! the first event that decides it, and is bounded in time; its listener is removed when it
//! settles or is dropped.

use crate::cell::RefCell;
use std::rc::{Rc, Weak};

use futures::channel::oneshot;
use futures::future::{select, Either};
use gloo_timers::future::TimeoutFuture;

use super::{closed_error, Channel, HandlerId, Inner, Socket, SocketEvent};
use crate::error::Error;
use crate::proto::{AuthState, BadConnectionKind, ChannelState, State};

/// Decides a wait from one event: `Some(result)` settles it.
type Decide = Box<dyn Fn(&Socket, &SocketEvent) -> Option<Result<(), Error>>>;

/// Removes the wait's handler however the wait ends.
struct Guard {
    socket: Weak<Inner>,
    id: HandlerId,
}

impl Drop for Guard {
    fn drop(&mut self) {
        if let Some(s) = Socket::from_handle(&self.socket) {
            s.remove_handler(self.id);
        }
    }
}

fn timeout(event: &str) -> Error {
    Error::Timeout {
        event: event.to_string(),
    }
}

/// Whether the socket is closed with no reconnect coming.
fn closed_for_good(s: &Socket) -> bool {
    s.state() == State::Closed && !s.pending_reconnect()
}

/// Waits until `decide` settles, for at most `ms`.
async fn wait(socket: &Socket, event: &'static str, ms: u32, decide: Decide) -> Result<(), Error> {
    let (tx, rx) = oneshot::channel();
    let tx = RefCell::new(Some(tx));
    let weak = Rc::downgrade(&socket.inner);
    let id = socket.on_event(move |ev| {
        let Some(s) = Socket::from_handle(&weak) else {
            return;
        };
        if let Some(r) = decide(&s, ev) {
            if let Some(tx) = tx.borrow_mut().take() {
                let _ = tx.send(r);
            }
        }
    });
    let _guard = Guard {
        socket: Rc::downgrade(&socket.inner),
        id,
    };
    match select(rx, TimeoutFuture::new(ms)).await {
        Either::Left((Ok(r), _)) => r,
        Either::Left((Err(_), _)) => Err(closed_error(event)),
        Either::Right(_) => Err(timeout(event)),
    }
}

impl Socket {
    /// The bound of [`Self::connected`]: the `connect_timeout` option (20 s by default).
    fn connect_bound(&self) -> u32 {
        let ms = self.inner.engine.session().config().connect_timeout;
        ms.clamp(0.0, u32::MAX as f64) as u32
    }

    /// The bound of the waits that need a connection and then an answer.
    fn answer_bound(&self) -> u32 {
        let ms = {
            let s = self.inner.engine.session();
            s.config().connect_timeout + s.config().ack_timeout
        };
        ms.clamp(0.0, u32::MAX as f64) as u32
    }

    /// Resolves once the socket is open (at once if it is).
    ///
    /// Fails with [`Error::Timeout`] (`event: "connect"`) after the `connect_timeout` option
    /// (20 s by default; reconnect attempts go on), with [`Error::BadConnection`] of kind
    /// `connectAbort` when an attempt fails with no reconnect to follow (the attempts gave up,
    /// the close code forbids reconnecting, `disconnect()` was called meanwhile), and of kind
    /// `closed`, at once, when the socket is closed with no reconnect pending (never connected,
    /// or disconnected).
    pub async fn connected(&self) -> Result<(), Error> {
        self.connected_within(self.connect_bound()).await
    }

    /// [`Self::connected`] with a bound of `ms` milliseconds.
    pub async fn connected_within(&self, ms: u32) -> Result<(), Error> {
        if self.state() == State::Open {
            return Ok(());
        }
        if closed_for_good(self) {
            return Err(Error::closed("connect", 1000, ""));
        }
        let decide: Decide = Box::new(|s, ev| match ev {
            SocketEvent::Connect { .. } => Some(Ok(())),
            SocketEvent::GiveUp { .. } => Some(Err(Error::BadConnection {
                kind: BadConnectionKind::ConnectAbort,
                code: 1006,
                reason: "The reconnect attempts gave up".into(),
                event: "connect".into(),
            })),
            // The connection that closed never opened: a connect abort, like a call's error.
            SocketEvent::Close { code, reason } if closed_for_good(s) => {
                Some(Err(Error::BadConnection {
                    kind: BadConnectionKind::ConnectAbort,
                    code: *code,
                    reason: reason.clone(),
                    event: "connect".into(),
                }))
            }
            _ => None,
        });
        wait(self, "connect", ms, decide).await
    }

    /// Resolves once the socket is authenticated (at once if it is).
    ///
    /// Fails with [`Error::Server`] when the server rejects the token the socket connected
    /// with (its `authError`), with [`Error::BadConnection`] of kind `closed` when the socket
    /// is closed with no reconnect pending, and with [`Error::Timeout`]
    /// (`event: "authenticate"`) after `connect_timeout + ack_timeout` (30 s by default).
    pub async fn authenticated(&self) -> Result<(), Error> {
        self.authenticated_within(self.answer_bound()).await
    }

    /// [`Self::authenticated`] with a bound of `ms` milliseconds.
    pub async fn authenticated_within(&self, ms: u32) -> Result<(), Error> {
        if self.auth_state() == AuthState::Authenticated {
            return Ok(());
        }
        if closed_for_good(self) {
            return Err(Error::closed("authenticate", 1000, ""));
        }
        let decide: Decide = Box::new(|s, ev| match ev {
            SocketEvent::Authenticate { .. } => Some(Ok(())),
            SocketEvent::Connect {
                is_authenticated: true,
                ..
            } => Some(Ok(())),
            SocketEvent::Connect {
                auth_error: Some(e),
                ..
            } => Some(Err(e.clone())),
            SocketEvent::AuthStateChange {
                new: AuthState::Authenticated,
                ..
            } => Some(Ok(())),
            SocketEvent::Close { code, reason } if closed_for_good(s) => {
                Some(Err(Error::closed("authenticate", *code, reason)))
            }
            _ => None,
        });
        wait(self, "authenticate", ms, decide).await
    }
}

impl Channel {
    /// Resolves once the channel is subscribed (at once if it is).
    ///
    /// Fails with [`Error::Server`] when the server refuses the subscription (its error's
    /// `name`, `message` and fields), with [`Error::InvalidArguments`] when the channel is not
    /// (or no longer) subscribed or pending, with [`Error::BadConnection`] of kind `closed` when
    /// the socket is closed for good or gone, and with [`Error::Timeout`]
    /// (`event: "subscribe"`) after `connect_timeout + ack_timeout` (30 s by default).
    pub async fn subscribed(&self) -> Result<(), Error> {
        let Some(s) = self.socket() else {
            return Err(closed_error("subscribe"));
        };
        let ms = s.answer_bound();
        self.subscribed_within(ms).await
    }

    /// [`Self::subscribed`] with a bound of `ms` milliseconds.
    pub async fn subscribed_within(&self, ms: u32) -> Result<(), Error> {
        let Some(s) = self.socket() else {
            return Err(closed_error("subscribe"));
        };
        let not_subscribed = |name: &str| Error::InvalidArguments {
            message: format!("Channel {name} is not subscribed"),
        };
        match self.state() {
            ChannelState::Subscribed => return Ok(()),
            ChannelState::Unsubscribed => return Err(not_subscribed(&self.name)),
            ChannelState::Pending => {}
        }
        if closed_for_good(&s) {
            return Err(Error::closed("subscribe", 1000, ""));
        }
        let name = self.name.clone();
        let decide: Decide = Box::new(move |s, ev| match ev {
            SocketEvent::Subscribe(c) if *c == name => Some(Ok(())),
            SocketEvent::SubscribeFail { channel, error } if *channel == name => {
                Some(Err(error.clone()))
            }
            // (a lost connection emits `unsubscribe` too, but keeps the channel pending)
            SocketEvent::Unsubscribe(c) if *c == name && !s.has_channel(c) => {
                Some(Err(not_subscribed(c)))
            }
            SocketEvent::Close { code, reason } if closed_for_good(s) => {
                Some(Err(Error::closed("subscribe", *code, reason)))
            }
            _ => None,
        });
        wait(&s, "subscribe", ms, decide).await
    }
}
