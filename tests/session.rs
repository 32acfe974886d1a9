//! Native scenarios for the sans-IO SocketCluster session, on virtual time.
//!
//! The harness plays the driver and a fake server: it feeds handshake replies, acks and server
//! frames to the session, and moves a virtual clock from one `poll_timeout()` deadline to the next.
#![cfg(not(target_arch = "wasm32"))]

use sockline::proto::backoff::BackoffConfig;
use sockline::proto::session::RESERVED_EVENTS;
use sockline::proto::{
    AuthState, BadConnectionKind, CallError, CallId, CallOptions, ChannelState, Command, Config,
    Event, Output, ReplyTo, Session, SessionError, Span, State, SubscribeOptions,
};

const URL: &str = "ws://127.0.0.1:8000/socketcluster/";
/// The captured JWT of the protocol notes (§5).
const ALICE: &str = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJ1c2VybmFtZSI6ImFsaWNlIiwiaWF0IjoxNzk1MzA0MzgyLCJleHAiOjE3OTUzOTA3ODJ9.ZNY4przcy4TW3J-Kh1VglLIFDz3PQo93YbjnRbFd09I";
const SOCKET_ID: &str = "HYkQvQaLtuA_OyCQAAAA";

// ---- harness ------------------------------------------------------------------------------

fn cfg() -> Config {
    Config {
        url: URL.to_string(),
        ..Config::default()
    }
}

/// Driver + fake server + virtual clock around one session.
struct H {
    s: Session,
    now: f64,
    /// Every frame the session sent, on any connection.
    sent: Vec<String>,
    /// Outputs drained from the session but not yet returned by `out()`.
    buf: Vec<Output>,
}

impl H {
    fn new(cfg: Config) -> H {
        H {
            s: Session::new(cfg, 42),
            now: 0.0,
            sent: Vec::new(),
            buf: Vec::new(),
        }
    }

    /// Drains the outputs produced so far, recording sent frames.
    fn out(&mut self) -> Vec<Output> {
        self.sync();
        std::mem::take(&mut self.buf)
    }

    /// Moves the session's outputs into `buf`, recording sent frames.
    fn sync(&mut self) {
        while let Some(o) = self.s.poll_output() {
            if let Output::Command(Command::Send { text, .. }) = &o {
                self.sent.push(text.clone());
            }
            self.buf.push(o);
        }
    }

    /// The last frame sent.
    fn last_sent(&mut self) -> String {
        self.sync();
        self.sent.last().cloned().expect("nothing sent")
    }

    fn gen(&self) -> u64 {
        self.s.generation()
    }

    /// Forgets outputs of earlier calls that the test did not take: each action returns its own.
    fn fresh(&mut self) {
        self.sync();
        self.buf.clear();
    }

    fn connect(&mut self) -> Vec<Output> {
        self.fresh();
        self.s.connect(self.now);
        self.out()
    }

    /// The transport opens and the driver loads `token`: the handshake goes out.
    fn open(&mut self, token: Option<&str>) -> Vec<Output> {
        self.fresh();
        let g = self.gen();
        self.s.handle_open(g, self.now);
        let mut v = self.out();
        assert!(
            v.contains(&Output::Command(Command::LoadToken { gen: g })),
            "{v:?}"
        );
        self.s.handle_token(g, token.map(str::to_string), self.now);
        v.extend(self.out());
        v
    }

    /// The cid of the last frame sent with `event`.
    fn last_cid(&mut self, event: &str) -> u64 {
        self.sync();
        self.sent
            .iter()
            .rev()
            .filter_map(|t| serde_json::from_str::<serde_json::Value>(t).ok())
            .find(|v| v["event"] == event)
            .and_then(|v| v["cid"].as_u64())
            .unwrap_or_else(|| panic!("no {event} frame with a cid in {:?}", self.sent))
    }

    fn reply_handshake(&mut self, data: &str) -> Vec<Output> {
        let cid = self.last_cid("#handshake");
        self.server(&format!(r##"{{"rid":{cid},"data":{data}}}"##))
    }

    fn handshake_data(is_auth: bool) -> String {
        format!(r##"{{"id":"{SOCKET_ID}","pingTimeout":30000,"isAuthenticated":{is_auth}}}"##)
    }

    /// connect + open + handshake reply (unauthenticated).
    fn establish(&mut self) -> Vec<Output> {
        let mut v = self.connect();
        v.extend(self.open(None));
        v.extend(self.reply_handshake(&H::handshake_data(false)));
        assert_eq!(self.s.state(), State::Open, "{v:?}");
        v
    }

    /// A frame from the server on the current connection.
    fn server(&mut self, text: &str) -> Vec<Output> {
        self.fresh();
        let g = self.gen();
        self.s.handle_text(g, text, self.now);
        self.out()
    }

    /// The current socket closes with `code` (empty reason: the table's text is used).
    fn close(&mut self, code: u16) -> Vec<Output> {
        self.fresh();
        let g = self.gen();
        self.s.handle_close(g, code, "", self.now);
        self.out()
    }

    /// Moves the clock forward by `ms`, firing every deadline on the way at its exact time.
    fn advance(&mut self, ms: f64) -> Vec<Output> {
        self.fresh();
        let target = self.now + ms;
        let mut v = Vec::new();
        let mut guard = 0;
        while let Some(t) = self.s.poll_timeout() {
            if t > target {
                break;
            }
            guard += 1;
            assert!(guard < 10_000, "a deadline at {t} never clears");
            self.now = self.now.max(t);
            self.s.handle_timeout(self.now);
            v.extend(self.out());
        }
        self.now = target;
        v
    }

    fn emit(&mut self, event: &str, data: &str, opts: CallOptions) -> CallId {
        self.s
            .emit(event, Some(data.to_string()), true, opts, self.now)
            .expect("emit")
    }
}

fn sends(v: &[Output]) -> Vec<String> {
    v.iter()
        .filter_map(|o| match o {
            Output::Command(Command::Send { text, .. }) => Some(text.clone()),
            _ => None,
        })
        .collect()
}

fn json(t: &str) -> serde_json::Value {
    serde_json::from_str(t).unwrap_or_else(|e| panic!("{t}: {e}"))
}

fn cid(t: &str) -> u64 {
    json(t)["cid"]
        .as_u64()
        .unwrap_or_else(|| panic!("no cid in {t}"))
}

/// The span of the channel `name` and of `data` in `frame` (each at its first occurrence), as
/// the session's last frame.
fn span_in(h: &H, frame: &str, name: &str, data: &str) -> Option<Span> {
    let name_at = frame.find(&format!("\"{name}\""))? + 1;
    Some(Span {
        frame: h.s.frames(),
        channel: (name_at as u32, name.len() as u32),
        data: (frame.find(data)? as u32, data.len() as u32),
    })
}

fn settles(v: &[Output]) -> Vec<(CallId, Result<Option<String>, CallError>)> {
    v.iter()
        .filter_map(|o| match o {
            Output::Event(Event::Settle { id, result }) => Some((*id, result.clone())),
            _ => None,
        })
        .collect()
}

fn pos(v: &[Output], f: impl Fn(&Output) -> bool) -> usize {
    v.iter()
        .position(f)
        .unwrap_or_else(|| panic!("no such output in {v:?}"))
}

fn ms(n: f64) -> CallOptions {
    CallOptions {
        ack_timeout: Some(n),
        retries: 0,
    }
}

fn reconnecting(v: &[Output]) -> Vec<(u32, f64)> {
    v.iter()
        .filter_map(|o| match o {
            Output::Event(Event::Reconnecting { attempt, delay }) => Some((*attempt, *delay)),
            _ => None,
        })
        .collect()
}

/// Establishes, subscribes `names` and acks them all.
fn with_channels(h: &mut H, names: &[&str]) {
    for n in names {
        assert!(h.s.subscribe(n, SubscribeOptions::default()));
        let c = h.last_cid("#subscribe");
        h.server(&format!(r##"{{"rid":{c}}}"##));
        assert_eq!(h.s.channel_state(n), ChannelState::Subscribed);
    }
}

/// Proves the session still works: an emit round trip.
fn assert_usable(h: &mut H) {
    assert_eq!(h.s.state(), State::Open);
    let id = h.emit("echo", "\"still here\"", CallOptions::default());
    let c = cid(&h.last_sent());
    let v = h.server(&format!(r##"{{"rid":{c},"data":"ok"}}"##));
    assert_eq!(settles(&v), vec![(id, Ok(Some("\"ok\"".to_string())))]);
}

// ---- connection, handshake, liveness ------------------------------------------------------

#[test]
fn handshake_frame_connect_output_and_id() {
    let mut h = H::new(cfg());
    assert_eq!(h.s.state(), State::Closed);
    let v = h.connect();
    assert_eq!(
        v,
        vec![
            Output::Event(Event::Connecting),
            Output::Command(Command::Open {
                gen: 1,
                url: URL.to_string()
            })
        ]
    );
    assert_eq!(h.s.state(), State::Connecting);
    let v = h.open(None);
    assert_eq!(
        sends(&v),
        vec![r##"{"event":"#handshake","data":{"authToken":null},"cid":1}"##.to_string()]
    );
    assert_eq!(h.s.state(), State::Connecting);
    assert_eq!(h.s.id(), None);
    let v = h.server(
        r##"{"rid":1,"data":{"id":"HYkQvQaLtuA_OyCQAAAA","pingTimeout":30000,"isAuthenticated":false}}"##,
    );
    assert_eq!(
        v,
        vec![Output::Event(Event::Connect {
            id: SOCKET_ID.to_string(),
            ping_timeout: 30000.0,
            is_authenticated: false,
            auth_error: None,
        })]
    );
    assert_eq!(h.s.state(), State::Open);
    assert_eq!(h.s.id(), Some(SOCKET_ID));
    assert_eq!(h.s.auth_state(), AuthState::Unauthenticated);
    // The next ping deadline comes from the handshake's pingTimeout.
    assert_eq!(h.s.poll_timeout(), Some(30000.0));
}

#[test]
fn handshake_cid_is_fresh_after_reconnect() {
    let mut h = H::new(cfg());
    h.establish();
    h.emit("x", "1", CallOptions::default());
    h.close(4000);
    h.advance(0.0);
    let v = h.open(None);
    let c = cid(&sends(&v)[0]);
    assert!(c > 2, "handshake cid {c} reused");
    assert_eq!(json(&sends(&v)[0])["event"], "#handshake");
}

#[test]
fn no_pong_before_the_handshake_is_sent() {
    let mut h = H::new(cfg());
    h.connect();
    let g = h.gen();
    // A ping before the socket is even open, and one while waiting for the token.
    h.s.handle_text(g, "", 0.0);
    assert!(h.out().is_empty());
    h.s.handle_open(g, 0.0);
    assert_eq!(
        h.out(),
        vec![Output::Command(Command::LoadToken { gen: g })]
    );
    h.s.handle_text(g, "", 1.0);
    h.s.handle_text(g, r##"{"event":"hello","data":1}"##, 1.0);
    assert!(h.out().is_empty(), "nothing may go out before #handshake");
    h.s.handle_token(g, None, 2.0);
    let v = h.out();
    assert_eq!(sends(&v).len(), 1);
    assert_eq!(json(&sends(&v)[0])["event"], "#handshake");
    // Once the handshake is out, a ping is answered.
    assert_eq!(sends(&h.server("")), vec![String::new()]);
}

#[test]
fn ping_pong_protocol_2() {
    let mut h = H::new(cfg());
    h.establish();
    h.advance(20_000.0);
    let v = h.server("");
    assert_eq!(
        v,
        vec![Output::Command(Command::Send {
            gen: 1,
            text: String::new()
        })]
    );
    // The ping pushed the deadline: 20 000 + 30 000.
    assert_eq!(h.s.poll_timeout(), Some(50_000.0));
    // "#1" is not a ping in protocol 2.
    assert_eq!(
        h.server("#1"),
        vec![Output::Event(Event::Raw("#1".to_string()))]
    );
    assert!(h.advance(29_999.0).is_empty());
    assert_eq!(h.s.state(), State::Open);
}

#[test]
fn ping_pong_protocol_1() {
    let mut h = H::new(Config {
        protocol_version: 1,
        ..cfg()
    });
    h.establish();
    assert_eq!(
        h.server("#1"),
        vec![Output::Command(Command::Send {
            gen: 1,
            text: "#2".to_string()
        })]
    );
    // An empty frame is not a ping in protocol 1.
    assert_eq!(h.server(""), vec![Output::Event(Event::Raw(String::new()))]);
}

#[test]
fn ping_timeout_closes_4000_and_reconnects_immediately() {
    let mut h = H::new(cfg());
    h.establish();
    h.advance(10_000.0);
    h.server("");
    assert!(h.advance(29_999.0).is_empty());
    let v = h.advance(1.0);
    let reason = "Server ping timed out".to_string();
    assert_eq!(
        v,
        vec![
            Output::Command(Command::Close {
                gen: 1,
                code: 4000,
                reason: reason.clone()
            }),
            Output::Event(Event::Disconnect {
                code: 4000,
                reason: reason.clone()
            }),
            Output::Event(Event::Closed {
                code: 4000,
                reason: reason.clone()
            }),
            Output::Event(Event::Error(SessionError::Protocol {
                code: 4000,
                message: reason
            })),
            Output::Event(Event::Reconnecting {
                attempt: 1,
                delay: 0.0
            }),
            Output::Event(Event::Connecting),
            Output::Command(Command::Open {
                gen: 2,
                url: URL.to_string()
            }),
        ]
    );
    assert_eq!(h.now, 40_000.0);
}

#[test]
fn ping_timeout_disabled_never_closes() {
    let mut h = H::new(Config {
        ping_timeout_disabled: true,
        ..cfg()
    });
    h.establish();
    assert_eq!(h.s.poll_timeout(), None);
    assert!(h.advance(1_000_000.0).is_empty());
    assert_usable(&mut h);
}

#[test]
fn stale_socket_detected_on_emit_and_on_wake() {
    let mut h = H::new(cfg());
    h.establish();
    // The page slept past the ping deadline; timers did not fire.
    h.now = 100_000.0;
    let id = h.emit("x", "1", CallOptions::default());
    let v = h.out();
    assert!(v.contains(&Output::Command(Command::Close {
        gen: 1,
        code: 4000,
        reason: "Server ping timed out".into()
    })));
    assert_eq!(reconnecting(&v), vec![(1, 0.0)]);
    // The emit waits for the new connection instead of going into the dead socket.
    assert!(sends(&v).is_empty());
    assert_eq!(h.s.outbox_len(), 1);
    let v = h.advance(0.0);
    assert!(v.contains(&Output::Command(Command::Open {
        gen: 2,
        url: URL.into()
    })));
    h.open(None);
    let v = h.reply_handshake(&H::handshake_data(false));
    let sent = sends(&v);
    assert_eq!(json(&sent[0])["event"], "x");
    let v = h.server(&format!(r##"{{"rid":{},"data":1}}"##, cid(&sent[0])));
    assert_eq!(settles(&v), vec![(id, Ok(Some("1".into())))]);

    // handle_wake does the same check.
    h.now += 31_000.0;
    h.s.handle_wake(h.now);
    let v = h.out();
    assert!(v.contains(&Output::Command(Command::Close {
        gen: 2,
        code: 4000,
        reason: "Server ping timed out".into()
    })));
    assert!(v.contains(&Output::Command(Command::Open {
        gen: 3,
        url: URL.into()
    })));
}

#[test]
fn connect_timeout_closes_4007() {
    // The WebSocket never opens.
    let mut h = H::new(cfg());
    h.connect();
    assert_eq!(h.s.poll_timeout(), Some(20_000.0));
    assert!(h.advance(19_999.0).is_empty());
    let v = h.advance(1.0);
    let reason = "Client connection establishment timed out".to_string();
    assert_eq!(
        v[..4],
        [
            Output::Command(Command::Close {
                gen: 1,
                code: 4007,
                reason: reason.clone()
            }),
            Output::Event(Event::ConnectAbort {
                code: 4007,
                reason: reason.clone()
            }),
            Output::Event(Event::Closed {
                code: 4007,
                reason: reason.clone()
            }),
            Output::Event(Event::Error(SessionError::Protocol {
                code: 4007,
                message: reason
            })),
        ]
    );
    let r = reconnecting(&v);
    let (lo, hi) = BackoffConfig::default().bounds(0);
    assert!(
        r.len() == 1 && r[0].0 == 1 && r[0].1 >= lo && r[0].1 <= hi,
        "{r:?}"
    );

    // Open, handshake sent, no reply: the same deadline covers the handshake.
    let mut h = H::new(cfg());
    h.connect();
    h.advance(5_000.0);
    h.open(None);
    let v = h.advance(14_999.0);
    assert!(v.is_empty(), "{v:?}");
    let v = h.advance(1.0);
    assert_eq!(
        v[1],
        Output::Event(Event::ConnectAbort {
            code: 4007,
            reason: "Client connection establishment timed out".into()
        })
    );
}

#[test]
fn handshake_rejected_closes_with_status_code() {
    let mut h = H::new(cfg());
    h.connect();
    h.open(None);
    let err =
        r##"{"message":"SC handshake rejected","name":"HandshakeRejected","statusCode":4501}"##;
    let v = h.server(&format!(r##"{{"rid":1,"error":{err}}}"##));
    assert_eq!(
        v[0],
        Output::Event(Event::Error(SessionError::Handshake(err.to_string())))
    );
    assert!(v.contains(&Output::Command(Command::Close {
        gen: 1,
        code: 4501,
        reason: String::new()
    })));
    assert!(reconnecting(&v).is_empty());
    assert!(!h.s.pending_reconnect());
    assert_eq!(h.s.state(), State::Closed);

    // Without statusCode: 4003, and a reconnect.
    let mut h = H::new(cfg());
    h.connect();
    h.open(None);
    let v = h.server(r##"{"rid":1,"error":{"message":"nope"}}"##);
    assert!(v.contains(&Output::Event(Event::ConnectAbort {
        code: 4003,
        reason: "Failed to complete handshake".into()
    })));
    assert_eq!(reconnecting(&v).len(), 1);
}

// ---- calls --------------------------------------------------------------------------------

#[test]
fn emit_sends_invoke_and_resolves_with_data() {
    let mut h = H::new(cfg());
    h.establish();
    let id = h.emit("echo", r##"{"hello":"world"}"##, CallOptions::default());
    let v = h.out();
    assert_eq!(
        sends(&v),
        vec![r##"{"event":"echo","data":{"hello":"world"},"cid":2}"##.to_string()]
    );
    let v = h.server(r##"{"rid":2,"data":{"hello":"world"}}"##);
    assert_eq!(
        settles(&v),
        vec![(id, Ok(Some(r##"{"hello":"world"}"##.into())))]
    );
    // Server errors stay verbatim.
    let id = h.emit("fail", "1", CallOptions::default());
    let err = r##"{"message":"Something failed","name":"MyCustomError","extra":123}"##;
    let v = h.server(&format!(r##"{{"rid":3,"error":{err}}}"##));
    assert_eq!(settles(&v), vec![(id, Err(CallError::Server(err.into())))]);
    let id = h.emit("failString", "1", CallOptions::default());
    let v = h.server(r##"{"rid":4,"error":"Error message"}"##);
    assert_eq!(
        settles(&v),
        vec![(id, Err(CallError::Server("\"Error message\"".into())))]
    );
    // Transmit: no cid.
    h.s.transmit("note", Some(r##"{"a":1}"##.into()), h.now);
    assert_eq!(
        sends(&h.out()),
        vec![r##"{"event":"note","data":{"a":1}}"##.to_string()]
    );
}

#[test]
fn answers_out_of_call_order_settle_their_own_calls() {
    let mut h = H::new(cfg());
    h.establish();
    let ids: Vec<CallId> = (0..4)
        .map(|k| h.emit("echo", &k.to_string(), CallOptions::default()))
        .collect();
    let cids: Vec<u64> = sends(&h.out()).iter().map(|t| cid(t)).collect();
    for k in [2, 0, 3, 1] {
        let v = h.server(&format!(r##"{{"rid":{},"data":{k}}}"##, cids[k]));
        assert_eq!(settles(&v), vec![(ids[k], Ok(Some(k.to_string())))]);
    }
}

#[test]
fn a_rekeyed_call_settles_under_its_new_id() {
    let mut h = H::new(cfg());
    // queued (not connected yet), then sent on connect: settled with the key
    h.connect();
    let queued = h.emit("queued", "1", CallOptions::default());
    assert!(h.s.rekey(queued, 1000));
    h.open(None);
    h.reply_handshake(&H::handshake_data(false));
    let c = h.last_cid("queued");
    let v = h.server(&format!(r##"{{"rid":{c},"data":1}}"##));
    assert_eq!(settles(&v), vec![(1000, Ok(Some("1".into())))]);
    // sent at once; only the last call made can be rekeyed
    let sent = h.emit("sent", "2", ms(500.0));
    assert!(!h.s.rekey(queued, 7));
    assert!(h.s.rekey(sent, 1001));
    let v = h.advance(500.0);
    assert_eq!(
        settles(&v),
        vec![(
            1001,
            Err(CallError::Timeout {
                event: "sent".into()
            })
        )]
    );
}

#[test]
fn ack_timeout_rejects_at_exactly_ack_timeout() {
    let mut h = H::new(cfg());
    h.establish();
    h.advance(100.0);
    let id = h.emit("noReply", "1", ms(500.0));
    let c = cid(&h.last_sent());
    assert!(h.advance(499.0).is_empty());
    let v = h.advance(1.0);
    assert_eq!(h.now, 600.0);
    assert_eq!(
        settles(&v),
        vec![(
            id,
            Err(CallError::Timeout {
                event: "noReply".into()
            })
        )]
    );
    // A late rid is ignored.
    assert!(h.server(&format!(r##"{{"rid":{c},"data":1}}"##)).is_empty());
    // The default ackTimeout is 10 s, and it covers time spent queued.
    let mut h = H::new(cfg());
    h.connect();
    let id = h.emit("queued", "1", CallOptions::default());
    assert!(h.advance(9_999.0).is_empty());
    let v = h.advance(1.0);
    assert_eq!(
        settles(&v),
        vec![(
            id,
            Err(CallError::Timeout {
                event: "queued".into()
            })
        )]
    );
}

#[test]
fn connection_lost_before_ack_settles_before_disconnect() {
    let mut h = H::new(cfg());
    h.establish();
    let id = h.emit("noSuchProc", "1", CallOptions::default());
    let v = h.close(1006);
    let settle = pos(&v, |o| matches!(o, Output::Event(Event::Settle { .. })));
    let disconnect = pos(&v, |o| matches!(o, Output::Event(Event::Disconnect { .. })));
    assert!(settle < disconnect, "{v:?}");
    assert_eq!(
        settles(&v),
        vec![(
            id,
            Err(CallError::BadConnection {
                kind: BadConnectionKind::Disconnect,
                code: 1006,
                reason: "Socket hung up".into(),
                event: "noSuchProc".into()
            })
        )]
    );
    // An app close carries its reason.
    let mut h = H::new(cfg());
    h.establish();
    let id = h.emit("noSuchProc", "1", CallOptions::default());
    h.fresh();
    h.s.handle_close(1, 4444, "bye from server", h.now);
    let v = h.out();
    assert_eq!(
        v[0],
        Output::Event(Event::Settle {
            id,
            result: Err(CallError::BadConnection {
                kind: BadConnectionKind::Disconnect,
                code: 4444,
                reason: "bye from server".into(),
                event: "noSuchProc".into()
            })
        })
    );
    assert!(v.contains(&Output::Event(Event::Disconnect {
        code: 4444,
        reason: "bye from server".into()
    })));
}

#[test]
fn queued_calls_reject_with_connect_abort_when_no_reconnect_follows() {
    let mut h = H::new(cfg());
    h.connect();
    let id = h.emit("x", "1", CallOptions::default());
    h.s.transmit("t", None, h.now);
    h.open(None);
    let v = h.close(4501);
    assert_eq!(
        settles(&v),
        vec![(
            id,
            Err(CallError::BadConnection {
                kind: BadConnectionKind::ConnectAbort,
                code: 4501,
                reason: String::new(),
                event: "x".into()
            })
        )]
    );
    assert_eq!(h.s.outbox_len(), 0);
}

#[test]
fn unknown_rid_is_ignored() {
    let mut h = H::new(cfg());
    h.establish();
    for f in [
        r##"{"rid":999,"data":1}"##,
        r##"{"rid":0}"##,
        r##"{"rid":-1}"##,
        r##"{"rid":1.5}"##,
        r##"{"rid":1e400}"##,
        r##"{"rid":99999999999999999999}"##,
        r##"{"rid":1,"error":"late handshake"}"##,
    ] {
        assert!(h.server(f).is_empty(), "{f}");
    }
    assert_usable(&mut h);
}

#[test]
fn a_fractional_rid_answers_no_call() {
    // (the whole-number check of a rid, made without `f64::fract`: 2.5 is not call 2)
    let mut h = H::new(cfg());
    h.establish();
    let id = h.emit("echo", "1", CallOptions::default());
    let c = h.last_cid("echo");
    for f in [
        format!(r##"{{"rid":{c}.5,"data":1}}"##),
        format!(r##"{{"rid":{c}.000001,"data":1}}"##),
    ] {
        assert!(h.server(&f).is_empty(), "{f}");
    }
    let v = h.server(&format!(r##"{{"rid":{c}.0,"data":1}}"##));
    assert_eq!(settles(&v), vec![(id, Ok(Some("1".into())))]);
}

#[test]
fn non_json_and_unknown_shapes_are_raw() {
    let mut h = H::new(cfg());
    h.establish();
    for f in [
        "this is not json",
        "{\"broken json",
        r##"{"something":"else"}"##,
        r##"{"rid":"1"}"##,
        r##"{"event":5}"##,
        "\"str\"",
        "12",
        "[1,",
        "#2",
    ] {
        assert_eq!(
            h.server(f),
            vec![Output::Event(Event::Raw(f.to_string()))],
            "{f}"
        );
    }
    assert_usable(&mut h);
}

#[test]
fn a_lone_unknown_object_is_raw_with_the_frame_text() {
    let mut h = H::new(cfg());
    h.establish();
    for t in [" {\"x\":1}\n", "[{\"x\":1}]"] {
        assert_eq!(h.server(t), vec![Output::Event(Event::Raw(t.to_string()))]);
    }
}

#[test]
fn batches_dispatch_in_order() {
    let mut h = H::new(cfg());
    h.establish();
    with_channels(&mut h, &["news"]);
    let id = h.emit("e", "1", CallOptions::default());
    let c = cid(&h.last_sent());
    let frame = format!(
        r##"[{{"event":"b","data":1}},{{"event":"b","data":2}},{{"event":"#publish","data":{{"channel":"news","data":"batched pub"}}}},7,{{"rid":{c},"data":"r"}}]"##
    );
    let v = h.server(&frame);
    assert_eq!(
        v,
        vec![
            Output::Event(Event::ServerEvent {
                event: "b".into(),
                data: Some("1".into()),
                reply: None
            }),
            Output::Event(Event::ServerEvent {
                event: "b".into(),
                data: Some("2".into()),
                reply: None
            }),
            Output::Event(Event::Publish {
                channel: "news".into(),
                data: Some("\"batched pub\"".into()),
                span: span_in(&h, &frame, "news", "\"batched pub\"")
            }),
            Output::Event(Event::Raw("7".into())),
            Output::Event(Event::Settle {
                id,
                result: Ok(Some("\"r\"".into()))
            }),
        ]
    );
}

/// A channel message's span locates its name and data in the frame's text, so that a face
/// holding the text can slice them out; a name with escapes (not the frame's text) has none.
#[test]
fn a_channel_message_says_where_it_sits_in_its_frame() {
    let mut h = H::new(cfg());
    h.establish();
    with_channels(&mut h, &["a/b", "n\u{e9}"]);
    let frames = h.s.frames();
    let frame = r##"[ {"event":"#publish","data":{"data" : [1, "x"] ,"channel":"a/b"}},
        {"event":"#publish","data":{"channel":"n\u00e9","data":2}},
        {"event":"#publish","data":{"channel": "a/b"}} ]"##;
    let v = h.server(frame);
    assert_eq!(h.s.frames(), frames.wrapping_add(1));
    let spans: Vec<_> = v
        .iter()
        .filter_map(|o| match o {
            Output::Event(Event::Publish { channel, span, .. }) => Some((channel.clone(), *span)),
            _ => None,
        })
        .collect();
    assert_eq!(spans.len(), 3, "{v:?}");
    let sp = spans[0].1.expect("a span for a plain name");
    let cut = |(at, len): (u32, u32)| &frame[at as usize..(at + len) as usize];
    assert_eq!(
        (sp.frame, cut(sp.channel), cut(sp.data)),
        (h.s.frames(), "a/b", "[1, \"x\"]")
    );
    assert_eq!(spans[1], ("n\u{e9}".to_string(), None), "escaped name");
    assert_eq!(spans[2], ("a/b".to_string(), None), "no data");
}

/// Read with `handle_text_lending`, a channel message whose data sits in the frame leaves it
/// there (`data: None`, its span points at it); one without a span (an escaped name) still
/// copies it; and everything else comes out as `handle_text` gives it.
#[test]
fn a_lending_read_leaves_channel_data_in_the_frame() {
    let frame = r##"[{"event":"#publish","data":{"channel":"a/b","data":{"n":1,"s":"x\"y"}}},
        {"event":"#publish","data":{"channel":"n\u00e9","data":2}},
        {"event":"#publish","data":{"channel": "a/b"}},
        {"event":"#publish","data":{"data" : [1] ,"channel":"a/b"}}, {"rid":1,"data":3}]"##;
    let run = |lend: bool| {
        let mut h = H::new(cfg());
        h.establish();
        with_channels(&mut h, &["a/b", "n\u{e9}"]);
        h.fresh();
        let g = h.gen();
        if lend {
            h.s.handle_text_lending(g, frame, h.now);
        } else {
            h.s.handle_text(g, frame, h.now);
        }
        h.out()
    };
    let (copied, lent) = (run(false), run(true));
    assert_eq!(copied.len(), lent.len(), "{lent:?}");
    let mut data_in_frame = 0;
    for (c, l) in copied.iter().zip(&lent) {
        match (c, l) {
            (
                Output::Event(Event::Publish {
                    channel,
                    data,
                    span,
                }),
                Output::Event(Event::Publish {
                    channel: lc,
                    data: ld,
                    span: ls,
                }),
            ) => {
                assert_eq!((channel, span), (lc, ls));
                match span {
                    Some(sp) => {
                        assert_eq!(*ld, None, "lent, not copied");
                        assert_eq!(sp.data_in(frame), data.as_deref());
                        data_in_frame += 1;
                    }
                    None => assert_eq!(data, ld),
                }
            }
            _ => assert_eq!(c, l),
        }
    }
    assert_eq!(data_in_frame, 2, "{lent:?}");
    // and the next frame, read plainly, copies again
    let mut h = H::new(cfg());
    h.establish();
    with_channels(&mut h, &["a/b"]);
    h.fresh();
    let g = h.gen();
    h.s.handle_text_lending(g, frame, h.now);
    h.out();
    let v = h.server(r##"{"event":"#publish","data":{"channel":"a/b","data":7}}"##);
    assert!(
        matches!(&v[..], [Output::Event(Event::Publish { data: Some(d), span: Some(_), .. })] if d == "7"),
        "{v:?}"
    );
}

#[test]
fn server_invoke_is_answered_with_its_rid() {
    let mut h = H::new(cfg());
    h.establish();
    let v = h.server(r##"{"event":"clientProc","cid":1,"data":{"x":1}}"##);
    let reply = ReplyTo {
        gen: 1,
        rid: "1".into(),
    };
    assert_eq!(
        v,
        vec![Output::Event(Event::ServerEvent {
            event: "clientProc".into(),
            data: Some(r##"{"x":1}"##.into()),
            reply: Some(reply.clone())
        })]
    );
    h.s.respond(&reply, Ok(Some(r##"{"ok":true}"##.into())));
    assert_eq!(
        sends(&h.out()),
        vec![r##"{"rid":1,"data":{"ok":true}}"##.to_string()]
    );
    // Error answer, and an answer with no data.
    h.s.respond(
        &ReplyTo {
            gen: 1,
            rid: "7".into(),
        },
        Err("\"Error message\"".into()),
    );
    h.s.respond(
        &ReplyTo {
            gen: 1,
            rid: "8".into(),
        },
        Ok(None),
    );
    assert_eq!(
        sends(&h.out()),
        vec![
            r##"{"rid":7,"error":"Error message"}"##.to_string(),
            r##"{"rid":8}"##.to_string()
        ]
    );
    // A string cid is a transmit.
    assert_eq!(
        h.server(r##"{"event":"x","cid":"11"}"##),
        vec![Output::Event(Event::ServerEvent {
            event: "x".into(),
            data: None,
            reply: None
        })]
    );
    // An answer for a connection that is gone is dropped.
    h.close(1006);
    h.advance(60_000.0);
    h.open(None);
    h.reply_handshake(&H::handshake_data(false));
    h.s.respond(&reply, Ok(None));
    assert!(sends(&h.out()).is_empty());
}

#[test]
fn reserved_event_names_go_to_raw() {
    let mut h = H::new(cfg());
    h.establish();
    for name in RESERVED_EVENTS {
        let f = format!(r##"{{"event":"{name}","data":1}}"##);
        assert_eq!(
            h.server(&f),
            vec![Output::Event(Event::Raw(f.clone()))],
            "{name}"
        );
    }
    // Invoke form: still raw, nothing answered.
    let v = h.server(r##"{"event":"connect","data":1,"cid":5}"##);
    assert!(matches!(&v[..], [Output::Event(Event::Raw(_))]), "{v:?}");
    // `#`-names other than the reserved protocol ones are ordinary events in protocol 2.
    assert_eq!(
        h.server(r##"{"event":"#custom","data":1}"##),
        vec![Output::Event(Event::ServerEvent {
            event: "#custom".into(),
            data: Some("1".into()),
            reply: None
        })]
    );
    assert_usable(&mut h);
}

// ---- channels -----------------------------------------------------------------------------

#[test]
fn subscribe_ack_transitions() {
    let mut h = H::new(cfg());
    h.establish();
    assert!(h.s.subscribe("news", SubscribeOptions::default()));
    assert!(
        !h.s.subscribe("news", SubscribeOptions::default()),
        "same channel twice"
    );
    let v = h.out();
    assert_eq!(
        sends(&v),
        vec![r##"{"event":"#subscribe","data":{"channel":"news"},"cid":2}"##.to_string()]
    );
    assert_eq!(h.s.channel_state("news"), ChannelState::Pending);
    assert_eq!(h.s.subscriptions(false), Vec::<String>::new());
    assert_eq!(h.s.subscriptions(true), vec!["news".to_string()]);
    let v = h.server(r##"{"rid":2}"##);
    assert_eq!(
        v,
        vec![
            Output::Event(Event::SubscribeStateChange {
                channel: "news".into(),
                old: ChannelState::Pending,
                new: ChannelState::Subscribed
            }),
            Output::Event(Event::Subscribe("news".into()))
        ]
    );
    assert_eq!(h.s.channel_state("news"), ChannelState::Subscribed);
    assert_eq!(h.s.subscriptions(false), vec!["news".to_string()]);
    // Data and waitForAuth go on the wire; priority does not.
    h.s.subscribe(
        "x",
        SubscribeOptions {
            data: Some(r##"{"k":1}"##.into()),
            priority: 3.0,
            ..Default::default()
        },
    );
    assert_eq!(
        sends(&h.out()),
        vec![
            r##"{"event":"#subscribe","data":{"channel":"x","data":{"k":1}},"cid":3}"##.to_string()
        ]
    );
}

#[test]
fn subscribe_refusal_removes_the_channel_without_retry() {
    let mut h = H::new(cfg());
    h.establish();
    h.s.subscribe("forbidden", SubscribeOptions::default());
    let c = h.last_cid("#subscribe");
    let err = r##"{"name":"SubscribeForbiddenError","message":"no"}"##;
    let v = h.server(&format!(r##"{{"rid":{c},"error":{err}}}"##));
    assert_eq!(
        v,
        vec![
            Output::Event(Event::SubscribeStateChange {
                channel: "forbidden".into(),
                old: ChannelState::Pending,
                new: ChannelState::Unsubscribed
            }),
            Output::Event(Event::SubscribeFail {
                channel: "forbidden".into(),
                error: err.into()
            })
        ]
    );
    assert_eq!(h.s.channel_state("forbidden"), ChannelState::Unsubscribed);
    assert!(!h.s.has_channel("forbidden"));
    // No retry after a reconnect either.
    h.close(4000);
    h.advance(0.0);
    h.open(None);
    let v = h.reply_handshake(&H::handshake_data(false));
    assert!(sends(&v).is_empty(), "{v:?}");
}

#[test]
fn resubscription_after_reconnect_priority_then_insertion_wait_for_auth_held_back() {
    let mut h = H::new(cfg());
    h.establish();
    let prio = |p: f64| SubscribeOptions {
        priority: p,
        ..Default::default()
    };
    h.s.subscribe("a", prio(0.0));
    h.s.subscribe("b", prio(5.0));
    h.s.subscribe("c", prio(5.0));
    h.s.subscribe(
        "d",
        SubscribeOptions {
            wait_for_auth: true,
            priority: 10.0,
            ..Default::default()
        },
    );
    h.s.subscribe("e", prio(-1.0));
    let v = h.out();
    let names: Vec<String> = sends(&v)
        .iter()
        .map(|t| json(t)["data"]["channel"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(names, ["a", "b", "c", "e"], "d waits for auth");
    for t in sends(&v) {
        h.server(&format!(r##"{{"rid":{}}}"##, cid(&t)));
    }
    assert_eq!(h.s.subscriptions(false), ["a", "b", "c", "e"]);
    assert_eq!(h.s.channel_state("d"), ChannelState::Pending);

    let v = h.close(1006);
    for n in ["a", "b", "c", "e"] {
        assert!(v.contains(&Output::Event(Event::SubscribeStateChange {
            channel: n.into(),
            old: ChannelState::Subscribed,
            new: ChannelState::Pending
        })));
        assert!(v.contains(&Output::Event(Event::Unsubscribe(n.into()))));
        assert_eq!(h.s.channel_state(n), ChannelState::Pending);
    }
    let unsub = pos(&v, |o| matches!(o, Output::Event(Event::Unsubscribe(_))));
    let disc = pos(&v, |o| matches!(o, Output::Event(Event::Disconnect { .. })));
    assert!(unsub < disc);
    let (_, delay) = reconnecting(&v)[0];
    h.advance(1.0);
    h.emit("queued", "1", CallOptions::default());
    h.advance(delay);
    h.open(None);
    let v = h.reply_handshake(&H::handshake_data(false));
    let order: Vec<String> = sends(&v)
        .iter()
        .map(|t| {
            let j = json(t);
            match j["event"].as_str().unwrap() {
                "#subscribe" => j["data"]["channel"].as_str().unwrap().to_string(),
                e => e.to_string(),
            }
        })
        .collect();
    assert_eq!(order, ["b", "c", "a", "e", "queued"]);
    let connect = pos(&v, |o| matches!(o, Output::Event(Event::Connect { .. })));
    let last_sub = v
        .iter()
        .rposition(|o| matches!(o, Output::Command(Command::Send { text, .. }) if text.contains("#subscribe")))
        .unwrap();
    assert!(last_sub < connect);
    for t in sends(&v).iter().take(4) {
        h.server(&format!(r##"{{"rid":{}}}"##, cid(t)));
    }
    // #setAuthToken: the waitForAuth channel goes out before authStateChange is reported.
    let v = h.server(&format!(
        r##"{{"event":"#setAuthToken","data":{{"token":"{ALICE}"}}}}"##
    ));
    assert_eq!(v[0], Output::Command(Command::SaveToken(ALICE.into())));
    let sub = pos(&v, |o| matches!(o, Output::Command(Command::Send { .. })));
    let change = pos(&v, |o| {
        matches!(o, Output::Event(Event::AuthStateChange { .. }))
    });
    assert!(sub < change, "{v:?}");
    let t = &sends(&v)[0];
    assert_eq!(
        json(t)["data"],
        json(r##"{"channel":"d","waitForAuth":true}"##)
    );
    h.server(&format!(r##"{{"rid":{}}}"##, cid(t)));
    assert_eq!(h.s.channel_state("d"), ChannelState::Subscribed);

    // Next reconnect with the token accepted: d goes first (priority 10).
    h.close(4001);
    h.advance(0.0);
    h.open(Some(ALICE));
    let v = h.reply_handshake(&H::handshake_data(true));
    let order: Vec<String> = sends(&v)
        .iter()
        .map(|t| json(t)["data"]["channel"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(order, ["d", "b", "c", "a", "e"]);
}

#[test]
fn many_channels_keep_subscription_order_not_name_order() {
    // The channel table is sorted by name for lookups; every list the session hands out (and the
    // resubscribe order) must still be subscription order. Acks arrive out of order.
    let mut h = H::new(cfg());
    h.establish();
    let names: Vec<String> = (0..300u64)
        .map(|i| format!("ch-{}", (i * 7919) % 1000))
        .collect();
    for n in &names {
        assert!(h.s.subscribe(n, SubscribeOptions::default()));
    }
    let v = h.out();
    let frames = sends(&v);
    assert_eq!(frames.len(), 300);
    for t in frames.iter().rev() {
        h.server(&format!(r##"{{"rid":{}}}"##, cid(t)));
    }
    assert_eq!(h.s.subscriptions(false), names);
    assert!(h.s.has_channel("ch-0") && !h.s.has_channel("ch-1"));
    h.s.unsubscribe(&names[150], h.now);
    let mut left = names.clone();
    left.remove(150);
    assert_eq!(h.s.subscriptions(true), left);

    let v = h.close(1006);
    let (_, delay) = reconnecting(&v)[0];
    h.advance(delay);
    h.open(None);
    let v = h.reply_handshake(&H::handshake_data(false));
    let order: Vec<String> = sends(&v)
        .iter()
        .map(|t| json(t)["data"]["channel"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(order, left);
    assert_eq!(h.s.subscriptions(false), Vec::<String>::new());
    assert_eq!(h.s.subscriptions(true), left);
}

#[test]
fn wait_for_auth_channel_held_back_after_reconnect_without_valid_token() {
    let mut h = H::new(cfg());
    h.establish();
    h.server(&format!(
        r##"{{"event":"#setAuthToken","data":{{"token":"{ALICE}"}}}}"##
    ));
    h.s.subscribe(
        "secret",
        SubscribeOptions {
            wait_for_auth: true,
            ..Default::default()
        },
    );
    let c = h.last_cid("#subscribe");
    h.server(&format!(r##"{{"rid":{c}}}"##));
    assert_eq!(h.s.channel_state("secret"), ChannelState::Subscribed);
    h.close(4000);
    h.advance(0.0);
    h.open(Some("bad.token.x"));
    let v = h.reply_handshake(
        r##"{"id":"x","pingTimeout":30000,"isAuthenticated":false,"authError":{"name":"AuthTokenInvalidError","message":"invalid token","isBadToken":true}}"##,
    );
    assert!(sends(&v).is_empty(), "{v:?}");
    assert!(v.contains(&Output::Event(Event::AuthStateChange {
        old: AuthState::Authenticated,
        new: AuthState::Unauthenticated
    })));
    assert_eq!(h.s.channel_state("secret"), ChannelState::Pending);
}

#[test]
fn kick_out_removes_the_channel_and_sends_nothing() {
    let mut h = H::new(cfg());
    h.establish();
    with_channels(&mut h, &["k1"]);
    let v =
        h.server(r##"{"event":"#kickOut","data":{"channel":"k1","message":"kicked for test"}}"##);
    assert_eq!(
        v,
        vec![
            Output::Event(Event::KickOut {
                channel: "k1".into(),
                message: Some("\"kicked for test\"".into())
            }),
            Output::Event(Event::SubscribeStateChange {
                channel: "k1".into(),
                old: ChannelState::Subscribed,
                new: ChannelState::Unsubscribed
            }),
            Output::Event(Event::Unsubscribe("k1".into()))
        ]
    );
    assert!(sends(&v).is_empty());
    assert!(!h.s.has_channel("k1"));
    // Later publishes are not delivered; a kick-out for an unknown channel does nothing.
    assert!(h
        .server(r##"{"event":"#publish","data":{"channel":"k1","data":1}}"##)
        .is_empty());
    assert!(h
        .server(r##"{"event":"#kickOut","data":{"channel":"k1"}}"##)
        .is_empty());
    // A kick-out of a channel whose #subscribe is in flight: the late ack is ignored.
    h.s.subscribe("k2", SubscribeOptions::default());
    let c = h.last_cid("#subscribe");
    h.server(r##"{"event":"#kickOut","data":{"channel":"k2"}}"##);
    assert!(h.server(&format!(r##"{{"rid":{c}}}"##)).is_empty());
    assert!(!h.s.has_channel("k2"));
}

#[test]
fn publish_ack_and_refusal() {
    let mut h = H::new(cfg());
    h.establish();
    let id =
        h.s.publish("news", Some("\"x\""), CallOptions::default(), h.now)
            .unwrap();
    let v = h.out();
    assert_eq!(
        sends(&v),
        vec![r##"{"event":"#publish","data":{"channel":"news","data":"x"},"cid":2}"##.to_string()]
    );
    assert_eq!(settles(&h.server(r##"{"rid":2}"##)), vec![(id, Ok(None))]);
    let id =
        h.s.publish("readonly", Some("1"), CallOptions::default(), h.now)
            .unwrap();
    let err = r##"{"name":"PublishForbiddenError","message":"read only"}"##;
    let v = h.server(&format!(r##"{{"rid":3,"error":{err}}}"##));
    assert_eq!(settles(&v), vec![(id, Err(CallError::Server(err.into())))]);
    // transmitPublish: no cid.
    h.s.transmit_publish("news", None, h.now);
    assert_eq!(
        sends(&h.out()),
        vec![r##"{"event":"#publish","data":{"channel":"news"}}"##.to_string()]
    );
}

#[test]
fn publish_is_delivered_only_for_pending_or_subscribed_channels() {
    let mut h = H::new(cfg());
    h.establish();
    with_channels(&mut h, &["news"]);
    h.s.subscribe("pend", SubscribeOptions::default());
    h.out();
    let p = |ch: &str| {
        format!(r##"{{"event":"#publish","data":{{"channel":"{ch}","data":{{"n":1}}}}}}"##)
    };
    assert_eq!(
        h.server(&p("news")),
        vec![Output::Event(Event::Publish {
            channel: "news".into(),
            data: Some(r##"{"n":1}"##.into()),
            span: span_in(&h, &p("news"), "news", r##"{"n":1}"##)
        })]
    );
    assert_eq!(
        h.server(&p("pend")),
        vec![Output::Event(Event::Publish {
            channel: "pend".into(),
            data: Some(r##"{"n":1}"##.into()),
            span: span_in(&h, &p("pend"), "pend", r##"{"n":1}"##)
        })]
    );
    assert!(h.server(&p("other")).is_empty());
    h.s.unsubscribe("news", h.now);
    h.out();
    assert!(h.server(&p("news")).is_empty());
    // Pending after a drop: still delivered (late frames of the new connection).
    assert_eq!(
        h.server(r##"{"event":"#publish","data":{"channel":"pend"}}"##)
            .len(),
        1
    );
}

#[test]
fn no_message_after_unsubscribe_even_for_the_last_channel_hit() {
    // The channel table remembers the last name found; after that channel goes, a message for
    // it must not be delivered on the memory (here another name of the same length takes its
    // place in the table).
    let mut h = H::new(cfg());
    h.establish();
    with_channels(&mut h, &["bench", "other"]);
    let p = |ch: &str| {
        format!(
            r##"[{{"event":"#publish","data":{{"channel":"{ch}","data":1}}}},{{"event":"#publish","data":{{"channel":"{ch}","data":2}}}}]"##
        )
    };
    assert_eq!(h.server(&p("bench")).len(), 2);
    h.s.unsubscribe("bench", h.now);
    h.out();
    assert!(h.server(&p("bench")).is_empty());
    assert_eq!(h.server(&p("other")).len(), 2);
    assert!(h.server(&p("bench")).is_empty());
}

#[test]
fn unsubscribe_sends_only_while_open() {
    let mut h = H::new(cfg());
    h.establish();
    with_channels(&mut h, &["news", "sports"]);
    h.s.unsubscribe("news", h.now);
    let v = h.out();
    assert_eq!(
        sends(&v),
        vec![r##"{"event":"#unsubscribe","data":"news"}"##.to_string()]
    );
    assert!(v.contains(&Output::Event(Event::SubscribeStateChange {
        channel: "news".into(),
        old: ChannelState::Subscribed,
        new: ChannelState::Unsubscribed
    })));
    assert!(!h.s.has_channel("news"));
    // While waiting for a reconnect: removed at once, nothing sent.
    h.close(1006);
    h.s.unsubscribe("sports", h.now);
    let v = h.out();
    assert!(sends(&v).is_empty());
    assert!(v.contains(&Output::Event(Event::Unsubscribe("sports".into()))));
    assert!(!h.s.has_channel("sports"));
    h.advance(60_000.0);
    h.open(None);
    let v = h.reply_handshake(&H::handshake_data(false));
    assert!(
        sends(&v).is_empty(),
        "no re-subscription of a removed channel"
    );
    // Unknown channel: nothing.
    h.s.unsubscribe("nope", h.now);
    assert!(h.out().is_empty());
}

// ---- outbox -------------------------------------------------------------------------------

#[test]
fn outbox_flushes_after_pending_subscribes_in_order() {
    let mut h = H::new(cfg());
    h.connect();
    let e1 = h.emit("e1", "1", CallOptions::default());
    h.s.transmit("t1", Some("2".into()), h.now);
    let p1 =
        h.s.publish("news", Some("3"), CallOptions::default(), h.now)
            .unwrap();
    h.s.subscribe("ch", SubscribeOptions::default());
    assert!(
        sends(&h.out()).is_empty(),
        "nothing goes out before the handshake"
    );
    assert_eq!(h.s.outbox_len(), 3);
    h.open(None);
    let v = h.reply_handshake(&H::handshake_data(false));
    assert_eq!(
        sends(&v),
        vec![
            r##"{"event":"#subscribe","data":{"channel":"ch"},"cid":2}"##.to_string(),
            r##"{"event":"e1","data":1,"cid":3}"##.to_string(),
            r##"{"event":"t1","data":2}"##.to_string(),
            r##"{"event":"#publish","data":{"channel":"news","data":3},"cid":4}"##.to_string(),
        ]
    );
    assert_eq!(h.s.outbox_len(), 0);
    let v = h.server(r##"[{"rid":4},{"rid":3,"data":"a"}]"##);
    assert_eq!(
        settles(&v),
        vec![(p1, Ok(None)), (e1, Ok(Some("\"a\"".into())))]
    );
}

#[test]
fn outbox_limit_rejects_with_outbox_full() {
    let mut h = H::new(Config {
        outbox_limit: 2,
        ..cfg()
    });
    h.connect();
    h.emit("a", "1", CallOptions::default());
    h.s.transmit("b", None, h.now);
    assert_eq!(h.s.outbox_len(), 2);
    assert_eq!(
        h.s.emit("c", None, true, CallOptions::default(), h.now),
        Err(CallError::OutboxFull { limit: 2 })
    );
    assert_eq!(
        h.s.publish("ch", None, CallOptions::default(), h.now),
        Err(CallError::OutboxFull { limit: 2 })
    );
    h.s.transmit("d", None, h.now);
    assert_eq!(
        h.out(),
        vec![Output::Event(Event::Error(SessionError::OutboxFull {
            limit: 2
        }))]
    );
    assert_eq!(h.s.outbox_len(), 2);
}

#[test]
fn outbox_limit_holds_when_in_flight_calls_with_retries_are_requeued() {
    let mut h = H::new(Config {
        outbox_limit: 3,
        ..cfg()
    });
    h.establish();
    let retry = CallOptions {
        ack_timeout: None,
        retries: 2,
    };
    let ids: Vec<CallId> = (0..5).map(|i| h.emit("e", &i.to_string(), retry)).collect();
    let v = h.close(1006);
    assert!(
        h.s.outbox_len() <= 3,
        "outbox {} > limit 3",
        h.s.outbox_len()
    );
    // The ones that fit wait for the reconnect; the others reject at once, none twice.
    let settled = settles(&v);
    assert_eq!(settled.len(), 2, "{v:?}");
    for (id, r) in &settled {
        assert!(ids[3..].contains(id));
        assert!(matches!(
            r,
            Err(CallError::BadConnection {
                kind: BadConnectionKind::Disconnect,
                ..
            })
        ));
    }
    let (_, delay) = reconnecting(&v)[0];
    h.advance(delay);
    h.open(None);
    let v = h.reply_handshake(&H::handshake_data(false));
    let resent: Vec<String> = sends(&v)
        .iter()
        .map(|t| json(t)["data"].to_string())
        .collect();
    assert_eq!(resent, ["0", "1", "2"]);
}

#[test]
fn calls_while_closed_for_good_reject_with_closed() {
    let mut h = H::new(cfg());
    let closed = |code: u16, reason: &str, event: &str| {
        Err(CallError::BadConnection {
            kind: BadConnectionKind::Closed,
            code,
            reason: reason.into(),
            event: event.into(),
        })
    };
    // Never connected.
    assert_eq!(
        h.s.emit("x", None, true, CallOptions::default(), 0.0),
        closed(1000, "Socket closed normally", "x")
    );
    h.establish();
    h.s.disconnect(1000, "bye", h.now);
    let v = h.out();
    assert_eq!(
        v[0],
        Output::Command(Command::Close {
            gen: 1,
            code: 1000,
            reason: "bye".into()
        })
    );
    assert!(v.contains(&Output::Event(Event::Disconnect {
        code: 1000,
        reason: "bye".into()
    })));
    assert!(
        !v.iter()
            .any(|o| matches!(o, Output::Event(Event::Error(_)))),
        "1000 is not an error"
    );
    assert_eq!(h.s.state(), State::Closed);
    assert_eq!(
        h.s.emit("x", None, true, CallOptions::default(), h.now),
        closed(1000, "bye", "x")
    );
    assert_eq!(
        h.s.publish("ch", None, CallOptions::default(), h.now),
        closed(1000, "bye", "#publish")
    );
    assert_eq!(
        h.s.authenticate(ALICE, h.now),
        closed(1000, "bye", "#authenticate")
    );
    h.s.transmit("t", None, h.now);
    assert!(
        h.out().is_empty(),
        "transmit while closed is dropped silently"
    );
    assert_eq!(h.s.poll_timeout(), None);
}

#[test]
fn emitting_during_a_backoff_wait_does_not_connect_early() {
    let mut h = H::new(cfg());
    h.establish();
    let v = h.close(1006);
    let (attempt, delay) = reconnecting(&v)[0];
    assert_eq!(attempt, 1);
    assert!((500.0..=1000.0).contains(&delay), "{delay}");
    assert!(h.s.pending_reconnect());
    h.advance(100.0);
    let id = h.emit("e", "1", CallOptions::default());
    h.s.transmit("t", None, h.now);
    h.s.publish("ch", None, CallOptions::default(), h.now)
        .unwrap();
    let v = h.out();
    assert!(
        !v.iter()
            .any(|o| matches!(o, Output::Command(Command::Open { .. }))),
        "{v:?}"
    );
    assert_eq!(h.s.state(), State::Closed);
    assert_eq!(h.s.outbox_len(), 3);
    assert!(h.advance(delay - 100.0 - 1.0).is_empty());
    let v = h.advance(1.0);
    assert!(v.contains(&Output::Command(Command::Open {
        gen: 2,
        url: URL.into()
    })));
    h.open(None);
    let v = h.reply_handshake(&H::handshake_data(false));
    assert_eq!(sends(&v).len(), 3);
    let c = cid(&sends(&v)[0]);
    let v = h.server(&format!(r##"{{"rid":{c},"data":1}}"##));
    assert_eq!(settles(&v), vec![(id, Ok(Some("1".into())))]);
}

#[test]
fn online_cuts_a_backoff_wait_short() {
    let mut h = H::new(cfg());
    h.establish();
    h.close(1006);
    h.advance(10.0);
    h.s.handle_online(h.now);
    let v = h.out();
    assert!(v.contains(&Output::Command(Command::Open {
        gen: 2,
        url: URL.into()
    })));
    // Online without a pending wait: nothing.
    h.s.handle_online(h.now);
    assert!(h.out().is_empty());
}

#[test]
fn manual_disconnect_cancels_a_pending_reconnect_and_rejects_the_outbox() {
    let mut h = H::new(cfg());
    h.establish();
    h.close(1006);
    let id = h.emit("e", "1", CallOptions::default());
    h.s.disconnect(1000, "", h.now);
    let v = h.out();
    assert!(!h.s.pending_reconnect());
    assert_eq!(
        settles(&v),
        vec![(
            id,
            Err(CallError::BadConnection {
                kind: BadConnectionKind::Closed,
                code: 1000,
                reason: String::new(),
                event: "e".into()
            })
        )]
    );
    assert_eq!(h.s.poll_timeout(), None);
    assert!(h.advance(1_000_000.0).is_empty());
    // connect() works afterwards.
    h.establish();
}

// ---- close-code policy, backoff, give-up --------------------------------------------------

#[test]
fn close_code_policy() {
    // No reconnect.
    for code in [1000u16, 4500, 4501, 4999] {
        let mut h = H::new(cfg());
        h.establish();
        let v = h.close(code);
        assert!(reconnecting(&v).is_empty(), "{code}: {v:?}");
        assert!(!h.s.pending_reconnect(), "{code}");
        assert_eq!(h.s.state(), State::Closed);
        assert_eq!(h.s.poll_timeout(), None, "{code}");
        assert!(h.advance(1_000_000.0).is_empty());
    }
    // Immediate first retry, then backoff.
    for code in [4000u16, 4001, 1005] {
        let mut h = H::new(cfg());
        h.establish();
        let v = h.close(code);
        assert_eq!(reconnecting(&v), vec![(1, 0.0)], "{code}");
        let v = h.advance(0.0);
        assert!(v.contains(&Output::Command(Command::Open {
            gen: 2,
            url: URL.into()
        })));
        // That attempt is refused: attempt 2 uses backoff step 1.
        let v = h.close(1006);
        let r = reconnecting(&v);
        let (lo, hi) = BackoffConfig::default().bounds(1);
        assert!(r[0].0 == 2 && r[0].1 >= lo && r[0].1 <= hi, "{code}: {r:?}");
        assert_eq!(h.s.connect_attempts(), 2);
        // Same code again before a successful handshake: not immediate any more.
        let mut h = H::new(cfg());
        h.establish();
        h.close(code);
        h.advance(0.0);
        h.open(None);
        let r = reconnecting(&h.close(code));
        assert!(
            r[0].1 >= BackoffConfig::default().bounds(1).0,
            "{code}: {r:?}"
        );
    }
    // Anything else: backoff.
    for code in [
        1001u16, 1002, 1006, 1011, 4002, 4003, 4005, 4008, 4009, 4444, 4499,
    ] {
        let mut h = H::new(cfg());
        h.establish();
        let v = h.close(code);
        let r = reconnecting(&v);
        let (lo, hi) = BackoffConfig::default().bounds(0);
        assert!(
            r.len() == 1 && r[0].0 == 1 && r[0].1 >= lo && r[0].1 <= hi,
            "{code}: {r:?}"
        );
        assert!(h.s.pending_reconnect());
        let errs = v.iter().any(|o| {
            matches!(
                o,
                Output::Event(Event::Error(SessionError::Protocol { .. }))
            )
        });
        assert_eq!(errs, code != 1001, "{code}");
    }
}

#[test]
fn backoff_grows_and_resets_after_a_successful_handshake() {
    let b = BackoffConfig {
        initial_delay: 100.0,
        multiplier: 2.0,
        max_delay: 1000.0,
        jitter: 0.5,
        randomness: 50.0,
        max_attempts: None,
    };
    let mut h = H::new(Config {
        backoff: b,
        ..cfg()
    });
    h.connect();
    for n in 0..8u32 {
        let v = h.close(1006);
        let r = reconnecting(&v);
        let (lo, hi) = b.bounds(n);
        assert!(
            r[0].0 == n + 1 && r[0].1 >= lo && r[0].1 <= hi,
            "{n}: {r:?}"
        );
        assert_eq!(h.s.connect_attempts(), n + 1);
        h.advance(r[0].1);
        assert_eq!(h.s.state(), State::Connecting);
    }
    h.open(None);
    h.reply_handshake(&H::handshake_data(false));
    assert_eq!(h.s.connect_attempts(), 0);
    let r = reconnecting(&h.close(1006));
    assert!(r[0].0 == 1 && r[0].1 <= b.bounds(0).1, "{r:?}");
}

#[test]
fn max_attempts_gives_up_then_connect_works() {
    let mut h = H::new(Config {
        backoff: BackoffConfig {
            max_attempts: Some(3),
            ..Default::default()
        },
        ..cfg()
    });
    h.connect();
    let id = h.emit("e", "1", CallOptions::default());
    let v = h.close(1006);
    assert_eq!(reconnecting(&v).len(), 1);
    h.advance(1_000.0);
    let v = h.close(1006);
    assert_eq!(reconnecting(&v).len(), 1);
    h.advance(2_000.0);
    assert_eq!(h.s.state(), State::Connecting);
    let v = h.close(1006);
    assert!(reconnecting(&v).is_empty(), "{v:?}");
    assert!(v.contains(&Output::Event(Event::GiveUp { attempts: 3 })));
    let give_up = pos(&v, |o| matches!(o, Output::Event(Event::GiveUp { .. })));
    let closed = pos(&v, |o| matches!(o, Output::Event(Event::Closed { .. })));
    assert!(closed < give_up);
    assert_eq!(
        settles(&v),
        vec![(
            id,
            Err(CallError::BadConnection {
                kind: BadConnectionKind::ConnectAbort,
                code: 1006,
                reason: "Socket hung up".into(),
                event: "e".into()
            })
        )]
    );
    assert_eq!(h.s.state(), State::Closed);
    assert!(!h.s.pending_reconnect());
    assert_eq!(h.s.poll_timeout(), None);
    assert!(matches!(
        h.s.emit("x", None, true, CallOptions::default(), h.now),
        Err(CallError::BadConnection {
            kind: BadConnectionKind::Closed,
            ..
        })
    ));
    // connect() starts afresh: three more attempts before the next give-up.
    h.establish();
    assert_usable(&mut h);
    h.close(1006);
    h.advance(1_000.0);
    let v = h.close(1006);
    assert_eq!(
        reconnecting(&v).len(),
        1,
        "the count was reset by the handshake"
    );
}

// ---- retries ------------------------------------------------------------------------------

#[test]
fn retries_survive_a_drop_and_resolve_after_reconnect_once() {
    let mut h = H::new(cfg());
    h.establish();
    let opts = CallOptions {
        ack_timeout: Some(5_000.0),
        retries: 3,
    };
    let id = h.emit("echo", "\"r\"", opts);
    let first = cid(&h.last_sent());
    h.advance(1_000.0);
    let v = h.close(1006);
    assert!(settles(&v).is_empty(), "{v:?}");
    assert_eq!(h.s.outbox_len(), 1);
    let (_, delay) = reconnecting(&v)[0];
    h.advance(delay);
    h.open(None);
    let v = h.reply_handshake(&H::handshake_data(false));
    let again = cid(&sends(&v)[0]);
    assert_ne!(first, again);
    assert_eq!(json(&sends(&v)[0])["event"], "echo");
    // The old cid's answer (from the dead connection) is ignored; the new one settles.
    assert!(h
        .server(&format!(r##"{{"rid":{first},"data":"old"}}"##))
        .is_empty());
    let v = h.server(&format!(r##"{{"rid":{again},"data":"r"}}"##));
    assert_eq!(settles(&v), vec![(id, Ok(Some("\"r\"".into())))]);
    assert!(h
        .server(&format!(r##"{{"rid":{again},"data":"r"}}"##))
        .is_empty());
    assert!(settles(&h.advance(100_000.0)).is_empty());
}

#[test]
fn retries_on_ack_timeout_resend_with_a_fresh_ack_timeout() {
    let mut h = H::new(cfg());
    h.establish();
    let id = h.emit(
        "slow",
        "1",
        CallOptions {
            ack_timeout: Some(500.0),
            retries: 2,
        },
    );
    let v = h.advance(500.0);
    assert!(settles(&v).is_empty());
    assert_eq!(sends(&v).len(), 1, "re-sent at once while open");
    assert!(settles(&h.advance(499.0)).is_empty());
    let v = h.advance(1.0);
    assert_eq!(sends(&v).len(), 1);
    let v = h.advance(500.0);
    assert_eq!(h.now, 1_500.0);
    assert_eq!(
        settles(&v),
        vec![(
            id,
            Err(CallError::Timeout {
                event: "slow".into()
            })
        )]
    );
}

#[test]
fn retries_spent_reject_with_the_last_error() {
    let mut h = H::new(cfg());
    h.establish();
    let id = h.emit(
        "e",
        "1",
        CallOptions {
            ack_timeout: None,
            retries: 1,
        },
    );
    h.close(1006);
    h.advance(1_000.0);
    h.open(None);
    h.reply_handshake(&H::handshake_data(false));
    let v = h.close(4444);
    assert_eq!(
        settles(&v),
        vec![(
            id,
            Err(CallError::BadConnection {
                kind: BadConnectionKind::Disconnect,
                code: 4444,
                reason: String::new(),
                event: "e".into()
            })
        )]
    );
    // A close with no reconnect rejects at once even with retries left.
    let mut h = H::new(cfg());
    h.establish();
    let id = h.emit(
        "e",
        "1",
        CallOptions {
            ack_timeout: None,
            retries: 5,
        },
    );
    let v = h.close(4501);
    assert_eq!(settles(&v).len(), 1);
    assert_eq!(settles(&v)[0].0, id);
}

// ---- auth ---------------------------------------------------------------------------------

#[test]
fn handshake_with_a_token_authenticates() {
    let mut h = H::new(cfg());
    h.connect();
    let v = h.open(Some(ALICE));
    assert_eq!(
        sends(&v),
        vec![format!(
            r##"{{"event":"#handshake","data":{{"authToken":"{ALICE}"}},"cid":1}}"##
        )]
    );
    let v = h.reply_handshake(&H::handshake_data(true));
    assert_eq!(
        v,
        vec![
            Output::Event(Event::AuthStateChange {
                old: AuthState::Unauthenticated,
                new: AuthState::Authenticated
            }),
            Output::Event(Event::Authenticate {
                signed_token: ALICE.into()
            }),
            Output::Event(Event::Connect {
                id: SOCKET_ID.into(),
                ping_timeout: 30000.0,
                is_authenticated: true,
                auth_error: None
            })
        ]
    );
    assert_eq!(h.s.auth_state(), AuthState::Authenticated);
    assert_eq!(h.s.signed_token(), Some(ALICE));
    // Reconnect, token still good: no second authStateChange.
    h.close(4000);
    h.advance(0.0);
    h.open(Some(ALICE));
    let v = h.reply_handshake(&H::handshake_data(true));
    assert!(!v
        .iter()
        .any(|o| matches!(o, Output::Event(Event::AuthStateChange { .. }))));
    assert!(v.contains(&Output::Event(Event::Authenticate {
        signed_token: ALICE.into()
    })));
}

#[test]
fn auth_error_and_remove_auth_token() {
    let mut h = H::new(cfg());
    h.connect();
    h.open(Some("garbage"));
    let err = r##"{"message":"invalid token","name":"AuthTokenInvalidError","isBadToken":true}"##;
    let v = h.server(&format!(
        r##"{{"rid":1,"data":{{"id":"WnHtMfxt7Du2ZryNAAAD","pingTimeout":30000,"authError":{err},"isAuthenticated":false}}}}"##
    ));
    assert_eq!(
        v,
        vec![Output::Event(Event::Connect {
            id: "WnHtMfxt7Du2ZryNAAAD".into(),
            ping_timeout: 30000.0,
            is_authenticated: false,
            auth_error: Some(err.into())
        })]
    );
    assert_eq!(h.s.auth_state(), AuthState::Unauthenticated);
    assert_eq!(
        h.server(r##"{"event":"#removeAuthToken"}"##),
        vec![Output::Command(Command::RemoveToken)]
    );
    // When authenticated, #removeAuthToken also deauthenticates.
    h.server(&format!(
        r##"{{"event":"#setAuthToken","data":{{"token":"{ALICE}"}}}}"##
    ));
    assert_eq!(h.s.auth_state(), AuthState::Authenticated);
    let v = h.server(r##"{"event":"#removeAuthToken","cid":9}"##);
    assert_eq!(
        v,
        vec![
            Output::Command(Command::RemoveToken),
            Output::Event(Event::AuthStateChange {
                old: AuthState::Authenticated,
                new: AuthState::Unauthenticated
            }),
            Output::Event(Event::Deauthenticate {
                old_signed_token: Some(ALICE.into())
            }),
            Output::Command(Command::Send {
                gen: 1,
                text: r##"{"rid":9}"##.into()
            })
        ]
    );
    assert_eq!(h.s.signed_token(), None);
}

#[test]
fn set_auth_token_invoke_is_answered() {
    let mut h = H::new(cfg());
    h.establish();
    let v = h.server(&format!(
        r##"{{"event":"#setAuthToken","data":{{"token":"{ALICE}"}},"cid":4}}"##
    ));
    assert!(sends(&v).contains(&r##"{"rid":4}"##.to_string()));
    let v = h.server(r##"{"event":"#setAuthToken","cid":5}"##);
    let s = sends(&v);
    assert_eq!(json(&s[0])["rid"], 5);
    assert_eq!(json(&s[0])["error"]["name"], "InvalidMessageError");
    assert_eq!(h.s.auth_state(), AuthState::Authenticated);
}

#[test]
fn malformed_stored_jwt_reports_bad_auth_token_without_panic() {
    for token in ["garbage", "a.!!!.c", "a.b.c.d", "x.eyJhIjo.y", ""] {
        let mut h = H::new(cfg());
        h.connect();
        h.open(Some(token));
        let v = h.reply_handshake(&H::handshake_data(true));
        assert!(
            v.iter().any(|o| matches!(
                o,
                Output::Event(Event::Error(SessionError::BadAuthToken(_)))
            )),
            "{token:?}: {v:?}"
        );
        assert!(v
            .iter()
            .any(|o| matches!(o, Output::Event(Event::Connect { .. }))));
        assert_usable(&mut h);
    }
    // Pushed by the server, too.
    let mut h = H::new(cfg());
    h.establish();
    let v = h.server(r##"{"event":"#setAuthToken","data":{"token":"not.a.jwt"}}"##);
    assert!(v.iter().any(|o| matches!(
        o,
        Output::Event(Event::Error(SessionError::BadAuthToken(_)))
    )));
    assert_usable(&mut h);
}

#[test]
fn authenticate_success_and_failure() {
    let mut h = H::new(cfg());
    h.establish();
    let id = h.s.authenticate(ALICE, h.now).unwrap();
    let v = h.out();
    let frame = &sends(&v)[0];
    assert_eq!(
        frame,
        &format!(r##"{{"event":"#authenticate","data":"{ALICE}","cid":2}}"##)
    );
    let data = r##"{"isAuthenticated":true,"authError":null}"##;
    let v = h.server(&format!(r##"{{"rid":2,"data":{data}}}"##));
    assert_eq!(
        v,
        vec![
            Output::Command(Command::SaveToken(ALICE.into())),
            Output::Event(Event::AuthStateChange {
                old: AuthState::Unauthenticated,
                new: AuthState::Authenticated
            }),
            Output::Event(Event::Authenticate {
                signed_token: ALICE.into()
            }),
            Output::Event(Event::Settle {
                id,
                result: Ok(Some(data.into()))
            })
        ]
    );
    // A refused token: the call rejects with the server's error and the socket deauthenticates.
    let id = h.s.authenticate("bad.token.sig", h.now).unwrap();
    let c = cid(&sends(&h.out())[0]);
    let err = r##"{"name":"AuthTokenInvalidError","message":"invalid token","isBadToken":true}"##;
    let v = h.server(&format!(r##"{{"rid":{c},"error":{err}}}"##));
    assert!(v.contains(&Output::Event(Event::AuthStateChange {
        old: AuthState::Authenticated,
        new: AuthState::Unauthenticated
    })));
    assert_eq!(settles(&v), vec![(id, Err(CallError::Server(err.into())))]);
    assert!(!v
        .iter()
        .any(|o| matches!(o, Output::Command(Command::SaveToken(_)))));
    // Blocked but not a bad token: resolves with isAuthenticated false.
    let id = h.s.authenticate(ALICE, h.now).unwrap();
    let c = cid(&sends(&h.out())[0]);
    let data = r##"{"isAuthenticated":false,"authError":{"name":"BannedError","message":"x"}}"##;
    let v = h.server(&format!(r##"{{"rid":{c},"data":{data}}}"##));
    assert_eq!(settles(&v), vec![(id, Ok(Some(data.into())))]);
    assert_eq!(h.s.auth_state(), AuthState::Unauthenticated);
}

#[test]
fn deauthenticate_removes_token_and_tells_the_server() {
    let mut h = H::new(cfg());
    h.establish();
    h.server(&format!(
        r##"{{"event":"#setAuthToken","data":{{"token":"{ALICE}"}}}}"##
    ));
    h.s.deauthenticate(h.now);
    let v = h.out();
    assert_eq!(
        v,
        vec![
            Output::Command(Command::RemoveToken),
            Output::Command(Command::Send {
                gen: 1,
                text: r##"{"event":"#removeAuthToken"}"##.into()
            }),
            Output::Event(Event::AuthStateChange {
                old: AuthState::Authenticated,
                new: AuthState::Unauthenticated
            }),
            Output::Event(Event::Deauthenticate {
                old_signed_token: Some(ALICE.into())
            })
        ]
    );
}

// ---- bad input ----------------------------------------------------------------------------

#[test]
fn bad_input_never_panics_and_the_session_stays_usable() {
    let mut h = H::new(cfg());
    h.establish();
    with_channels(&mut h, &["news"]);
    let deep_ok = format!(
        r##"{{"event":"deep","data":{}{}}}"##,
        "[".repeat(100_000),
        "]".repeat(100_000)
    );
    let v = h.server(&deep_ok);
    assert!(matches!(&v[..], [Output::Event(Event::ServerEvent { event, .. })] if event == "deep"));
    let deep_bad = format!(
        r##"{{"event":"deep","data":{}}}"##,
        "{\"a\":".repeat(100_000)
    );
    assert!(matches!(
        &h.server(&deep_bad)[..],
        [Output::Event(Event::Raw(_))]
    ));
    assert!(matches!(
        &h.server(&"[".repeat(200_000))[..],
        [Output::Event(Event::Raw(_))]
    ));
    let huge = format!(r##"{{"event":"huge","data":"{}"}}"##, "x".repeat(8 << 20));
    let v = h.server(&huge);
    assert!(
        matches!(&v[..], [Output::Event(Event::ServerEvent { data: Some(d), .. })] if d.len() == (8 << 20) + 2)
    );
    let huge_batch = format!("[{}]", vec![r##"{"event":"b"}"##; 50_000].join(","));
    assert_eq!(h.server(&huge_batch).len(), 50_000);
    let quiet = [
        r##"{"event":"#publish"}"##,
        r##"{"event":"#publish","data":5}"##,
        r##"{"event":"#publish","data":"news"}"##,
        r##"{"event":"#publish","data":{"data":1}}"##,
        r##"{"event":"#publish","data":{"channel":7,"data":1}}"##,
        r##"{"event":"#publish","data":{"channel":null}}"##,
        r##"{"event":"#publish","data":[1,2]}"##,
        r##"{"event":"#kickOut"}"##,
        r##"{"event":"#kickOut","data":{}}"##,
        r##"{"event":"#kickOut","data":"news"}"##,
        r##"{"event":"#kickOut","data":{"channel":["news"]}}"##,
        r##"{"event":"#setAuthToken"}"##,
        r##"{"event":"#setAuthToken","data":"tok"}"##,
        r##"{"event":"#setAuthToken","data":{"token":5}}"##,
        r##"{"rid":1,"data":5}"##,
    ];
    for f in quiet {
        let v = h.server(f);
        assert!(
            v.iter()
                .all(|o| !matches!(o, Output::Command(Command::Close { .. }))),
            "{f}: {v:?}"
        );
        assert!(sends(&v).is_empty(), "{f}: {v:?}");
    }
    assert!(
        h.s.has_channel("news"),
        "malformed frames must not remove a channel"
    );
    // Invalid UTF-16 escapes, control characters, odd numbers.
    for f in [
        r##"{"event":"\ud800","data":"\udfff"}"##,
        r##"{"event":"e","data":1e999999}"##,
        r##"{"event":"e","data":-0.0e-0}"##,
        "{\"event\":\"e\",\"data\":\"\u{0}\"}",
        "\u{feff}{\"event\":\"e\"}",
        r##"{"event":"e","cid":1e400}"##,
        r##"{"event":"e","cid":-5}"##,
    ] {
        h.server(f);
    }
    assert_usable(&mut h);
}

#[test]
fn malformed_handshake_replies_do_not_panic() {
    for data in [
        "5",
        "null",
        "\"x\"",
        "[]",
        "{}",
        r##"{"id":5,"pingTimeout":"x","isAuthenticated":"yes"}"##,
        r##"{"id":"a","pingTimeout":-1}"##,
        r##"{"id":"a","pingTimeout":1e400}"##,
        r##"{"id":"a","pingTimeout":0}"##,
    ] {
        let mut h = H::new(cfg());
        h.connect();
        h.open(None);
        let v = h.reply_handshake(data);
        assert!(
            v.iter()
                .any(|o| matches!(o, Output::Event(Event::Connect { .. }))),
            "{data}"
        );
        let t = h.s.poll_timeout().unwrap();
        assert!(t.is_finite() && t > h.now, "{data}: {t}");
        assert_usable(&mut h);
    }
}

#[test]
fn mutated_frames_never_panic() {
    let seeds = [
        r##"{"event":"#publish","data":{"channel":"news","data":{"a":[1,2,{"b":null}]}}}"##,
        r##"{"rid":2,"data":{"id":"x","pingTimeout":30000,"isAuthenticated":true}}"##,
        r##"[{"event":"#kickOut","data":{"channel":"news","message":"m"}},{"rid":3,"error":{"name":"E"}}]"##,
        r##"{"event":"#setAuthToken","data":{"token":"a.eyJ4IjoxfQ.c"},"cid":3}"##,
    ];
    let mut rng = sockline::proto::backoff::XorShift::new(99);
    let mut h = H::new(cfg());
    h.establish();
    with_channels(&mut h, &["news"]);
    for i in 0..20_000u32 {
        let mut b = seeds[i as usize % seeds.len()].as_bytes().to_vec();
        for _ in 0..1 + rng.below(4) {
            let at = rng.below(b.len() as u64) as usize;
            match rng.below(3) {
                0 => b[at] = b"{}[]\",:0e-\\ux"[rng.below(13) as usize],
                1 => {
                    b.remove(at);
                }
                _ => b.insert(at, rng.below(128) as u8),
            }
        }
        let text = String::from_utf8_lossy(&b).into_owned();
        let g = h.gen();
        h.s.handle_text(g, &text, h.now);
        h.out();
        if h.s.state() != State::Open {
            // A mutated frame may not close the socket: only the clock or the transport does.
            panic!("closed by {text}");
        }
    }
    if !h.s.has_channel("news") {
        with_channels(&mut h, &["news"]);
    }
    assert_usable(&mut h);
}

#[test]
fn auto_subscribe_off_waits_for_process_pending_subscriptions() {
    let mut h = H::new(Config {
        auto_subscribe_on_connect: false,
        ..cfg()
    });
    h.connect();
    h.s.subscribe("news", SubscribeOptions::default());
    h.open(None);
    let v = h.reply_handshake(&H::handshake_data(false));
    assert!(sends(&v).is_empty(), "{v:?}");
    h.s.process_pending_subscriptions();
    let v = h.out();
    assert_eq!(
        sends(&v),
        vec![r##"{"event":"#subscribe","data":{"channel":"news"},"cid":2}"##.to_string()]
    );
}

#[test]
fn jwt_payload_vectors() {
    use sockline::proto::auth::{decode_payload, JwtError, MAX_TOKEN_LEN};
    assert_eq!(
        decode_payload(ALICE).unwrap(),
        r##"{"username":"alice","iat":1795304382,"exp":1795390782}"##
    );
    // {"n":"é"} unpadded and padded; base64url alphabet (`-`/`_`) too.
    assert_eq!(
        decode_payload("h.eyJuIjoiw6kifQ.s").unwrap(),
        r##"{"n":"é"}"##
    );
    assert_eq!(
        decode_payload("h.eyJuIjoiw6kifQ==.s").unwrap(),
        r##"{"n":"é"}"##
    );
    assert_eq!(
        decode_payload("h.eyJhIjoiPz8_In0.s").unwrap(),
        r##"{"a":"???"}"##
    );
    for (t, e) in [
        ("garbage", JwtError::Segments),
        ("a.b.c.d", JwtError::Segments),
        ("a.!!!.c", JwtError::Base64),
        ("a._w.c", JwtError::Utf8),
        ("a.WzEsMl0.c", JwtError::NotJsonObject),
        ("a.eyJhIjo.c", JwtError::NotJsonObject),
    ] {
        assert_eq!(decode_payload(t), Err(e), "{t}");
    }
    assert_eq!(
        decode_payload(&"x".repeat(MAX_TOKEN_LEN + 1)),
        Err(JwtError::TooLong)
    );
}

#[test]
fn pending_ack_table_is_bounded_and_the_backlog_goes_out_in_order() {
    use sockline::proto::session::MAX_IN_FLIGHT;
    let mut h = H::new(Config {
        outbox_limit: 10,
        ..cfg()
    });
    h.establish();
    for i in 0..MAX_IN_FLIGHT + 3 {
        h.emit("e", &i.to_string(), CallOptions::default());
    }
    h.out();
    assert_eq!(h.s.in_flight(), MAX_IN_FLIGHT);
    assert_eq!(h.s.outbox_len(), 3, "the rest waits");
    // a transmit waits behind them, to keep the order
    h.s.transmit("t", None, h.now);
    assert_eq!(h.s.outbox_len(), 4);
    // the outbox limit still holds
    let mut full = None;
    for _ in 0..10 {
        if let Err(e) = h.s.emit("x", None, true, CallOptions::default(), h.now) {
            full = Some(e);
            break;
        }
    }
    assert!(
        matches!(full, Some(CallError::OutboxFull { limit: 10 })),
        "{full:?}"
    );
    // one answer frees one slot: the oldest queued call goes out
    let first = h
        .sent
        .iter()
        .find(|t| t.contains("\"event\":\"e\""))
        .cloned()
        .unwrap();
    let out = h.server(&format!("{{\"rid\":{}}}", cid(&first)));
    let sent = sends(&out);
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert!(
        sent[0].contains(&format!("\"data\":{}", MAX_IN_FLIGHT)),
        "{}",
        sent[0]
    );
    assert_eq!(h.s.in_flight(), MAX_IN_FLIGHT);
    assert_usable_after_drain(&mut h);
}

/// Answers everything in flight; the backlog (transmit included) drains in order.
fn assert_usable_after_drain(h: &mut H) {
    let mut answered = 0;
    for _ in 0..4 {
        let cids: Vec<u64> = h.sent[answered..]
            .iter()
            .filter(|t| t.contains("\"cid\":"))
            .map(|t| cid(t))
            .collect();
        answered = h.sent.len();
        for c in cids {
            h.server(&format!("{{\"rid\":{c}}}"));
        }
    }
    assert_eq!(h.s.in_flight(), 0);
    assert_eq!(h.s.outbox_len(), 0);
    assert!(
        h.sent.iter().any(|t| t == r#"{"event":"t"}"#),
        "the transmit went out"
    );
}

#[test]
fn a_frame_over_max_payload_closes_1009_and_reconnects_with_backoff() {
    let mut h = H::new(Config {
        max_payload: 300,
        ..cfg()
    });
    h.establish();
    with_channels(&mut h, &["c"]);
    // Exactly at the cap: delivered (the cap counts UTF-8 bytes).
    let body = "é".repeat(10);
    let at_cap = format!(r##"{{"event":"#publish","data":{{"channel":"c","data":"{body}"}}}}"##);
    let at_cap = format!("{at_cap}{}", " ".repeat(300 - at_cap.len()));
    assert_eq!(at_cap.len(), 300);
    let v = h.server(&at_cap);
    assert!(
        v.iter()
            .any(|o| matches!(o, Output::Event(Event::Publish { .. }))),
        "{v:?}"
    );
    let over = format!("{at_cap} ");
    let v = h.server(&over);
    assert!(!v
        .iter()
        .any(|o| matches!(o, Output::Event(Event::Publish { .. }))));
    let reason = "Message was too big to process".to_string();
    assert_eq!(
        v[0],
        Output::Command(Command::Close {
            gen: 1,
            code: 1009,
            reason: reason.clone()
        })
    );
    assert!(
        v.contains(&Output::Event(Event::Error(SessionError::Protocol {
            code: 1009,
            message: reason
        })))
    );
    let r = reconnecting(&v);
    assert_eq!(r.len(), 1, "{v:?}");
    assert!(r[0].1 > 0.0, "1009 waits for the backoff: {r:?}");
    assert_eq!(h.s.state(), State::Closed);
    assert!(h.s.pending_reconnect());
    // A late oversize report from the dead connection changes nothing.
    h.s.handle_oversized(1, h.now);
    assert!(h.out().is_empty());
}
