//! Seeded fault simulation of the SocketCluster session (issue 4), on virtual time.
//!
//! Each seed builds a random configuration and a random schedule: connection refusals, drops at
//! any point (mid-handshake, between a send and its ack), blackholes (the server stops answering
//! and pinging), server closes with codes from [`CODES`], and user calls (emit with and without
//! retries, transmit, publish, subscribe, unsubscribe, disconnect, connect, reconnect, login,
//! deauthenticate). A fake server answers over a latency-ordered network. Invariants are checked
//! after every step; the run ends with a recovery phase (faults off) and a quiesce.
//!
//! `SEED=1234 cargo test --test fault_sim` replays one seed; `SEEDS=n` runs `n` seeds.
#![cfg(not(target_arch = "wasm32"))]

use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};

use sockline::proto::backoff::{BackoffConfig, XorShift};
use sockline::proto::{
    AuthState, BadConnectionKind, CallError, CallId, CallOptions, ChannelState, Command, Config,
    Event, Output, ReplyTo, Session, State, SubscribeOptions,
};

const CODES: [u16; 9] = [1000, 1001, 1006, 4000, 4001, 4008, 4444, 4501, 4999];
const CHANNELS: [&str; 6] = ["a", "b", "c", "d", "secret", "forbidden"];
const GOOD_TOKEN: &str = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJ1c2VybmFtZSI6ImFsaWNlIiwiaWF0IjoxNzk1MzA0MzgyLCJleHAiOjE3OTUzOTA3ODJ9.ZNY4przcy4TW3J-Kh1VglLIFDz3PQo93YbjnRbFd09I";
const DEFAULT_SEEDS: u64 = 2000;
const STEPS: usize = 55;
const EPS: f64 = 1e-6;

thread_local! {
    /// Tracing is off for speed; a failing seed is replayed with it on.
    static TRACING: Cell<bool> = const { Cell::new(false) };
    static TRACE: RefCell<VecDeque<String>> = const { RefCell::new(VecDeque::new()) };
}

macro_rules! trace {
    ($($arg:tt)*) => {
        if TRACING.with(Cell::get) {
            push_trace(format!($($arg)*));
        }
    };
}

fn push_trace(s: String) {
    TRACE.with(|t| {
        let mut t = t.borrow_mut();
        if t.len() >= 80 {
            t.pop_front();
        }
        t.push_back(s);
    });
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Mode {
    Pass,
    Refuse,
    Blackhole,
}

#[derive(Debug)]
enum Net {
    /// The browser reports the outcome of opening the socket of `gen`.
    OpenResult { gen: u64 },
    /// The driver finished loading the token for `gen`.
    TokenLoaded { gen: u64 },
    /// A frame reaches the client.
    Deliver { gen: u64, text: String },
    /// The server's handler answers after a while (then the frame travels the network).
    ServerSend { gen: u64, text: String },
    /// The server's close reaches the client.
    ServerClose { gen: u64, code: u16 },
    /// The server's ping interval fires.
    Ping { gen: u64 },
    /// The browser's `close` event for a socket the client closed itself (must be ignored).
    CloseEcho { gen: u64, code: u16 },
}

struct Conn {
    gen: u64,
    handshaken: bool,
    authed: bool,
    /// Once blackholed, a connection never carries anything again.
    blackholed: bool,
    /// A close is on its way: the server ignores further frames.
    closing: bool,
    subs: HashSet<String>,
    last_deliver: f64,
    next_cid: u64,
    invokes: HashSet<u64>,
}

#[derive(Debug)]
struct CallRec {
    t0: f64,
    ack: f64,
    retries: u32,
    tok: Option<u64>,
    settled: Option<f64>,
}

impl CallRec {
    fn bound(&self) -> f64 {
        self.t0 + self.ack * (self.retries as f64 + 1.0)
    }
}

struct Sim {
    rng: XorShift,
    cfg: Config,
    s: Session,
    now: f64,
    queue: BTreeMap<(u64, u64), Net>,
    seq: u64,
    mode: Mode,
    conn: Option<Conn>,
    faults: bool,
    stored_token: Option<String>,
    calls: HashMap<CallId, CallRec>,
    next_tok: u64,
    /// waitForAuth of each channel as subscribed (the session's map is the truth for presence).
    wfa: HashMap<String, bool>,
    /// `#subscribe` frames sent on the current connection, by channel.
    subs_sent: HashSet<String>,
    expected_attempt: u32,
    failed_since_reset: u32,
    manual: bool,
    /// The code of a `Closed` output that still needs its `Reconnecting`/`GiveUp`.
    await_followup: Option<u16>,
    /// The last `Closed` code seen in the current pump.
    last_closed: Option<u16>,
    replies: Vec<ReplyTo>,
    // knobs
    lat_max: f64,
    ping_interval: f64,
    server_ping_timeout: f64,
    p_drop_on_recv: f64,
    p_hs_reject: f64,
    p_early_ping: f64,
    stats: Stats,
}

#[derive(Default, Debug, Clone, Copy)]
struct Stats {
    settled_ok: u64,
    settled_err: u64,
    timeouts: u64,
    reconnects: u64,
    give_ups: u64,
    connects: u64,
}

fn key(t: f64) -> u64 {
    assert!(t >= 0.0 && t.is_finite(), "bad time {t}");
    t.to_bits()
}

fn pick<T: Copy>(rng: &mut XorShift, v: &[T]) -> T {
    v[rng.below(v.len() as u64) as usize]
}

fn reconnect_code(code: u16) -> bool {
    code != 1000 && code < 4500
}

impl Sim {
    fn new(seed: u64) -> Sim {
        let mut rng = XorShift::new(seed);
        let max_attempts = if rng.below(10) < 3 {
            Some(1 + rng.below(4) as u32)
        } else {
            None
        };
        let backoff = BackoffConfig {
            initial_delay: pick(&mut rng, &[0.0, 50.0, 200.0, 1000.0]),
            multiplier: pick(&mut rng, &[1.0, 1.5, 2.0]),
            max_delay: pick(&mut rng, &[500.0, 3000.0, 10000.0]),
            jitter: pick(&mut rng, &[0.0, 0.3, 0.5, 1.0]),
            randomness: pick(&mut rng, &[0.0, 0.0, 100.0]),
            max_attempts,
        };
        assert!(backoff.validate().is_ok());
        let cfg = Config {
            url: "ws://127.0.0.1:8000/socketcluster/".into(),
            ack_timeout: pick(&mut rng, &[1000.0, 2000.0, 5000.0]),
            connect_timeout: pick(&mut rng, &[1000.0, 3000.0, 8000.0]),
            ping_timeout_disabled: false,
            protocol_version: pick(&mut rng, &[1, 2]),
            auto_reconnect: rng.below(20) != 0,
            backoff,
            auto_subscribe_on_connect: true,
            outbox_limit: pick(&mut rng, &[1, 3, 10, 1000]),
            max_payload: sockline::proto::session::DEFAULT_MAX_PAYLOAD,
        };
        let s = Session::new(cfg.clone(), rng.next_u64());
        trace!("seed {seed}: {cfg:?}");
        Sim {
            s,
            cfg,
            now: 0.0,
            queue: BTreeMap::new(),
            seq: 0,
            mode: Mode::Pass,
            conn: None,
            faults: true,
            stored_token: None,
            calls: HashMap::new(),
            next_tok: 1,
            wfa: HashMap::new(),
            subs_sent: HashSet::new(),
            expected_attempt: 0,
            failed_since_reset: 0,
            manual: false,
            await_followup: None,
            last_closed: None,
            replies: Vec::new(),
            lat_max: pick(&mut rng, &[1.0, 20.0, 100.0]),
            ping_interval: pick(&mut rng, &[300.0, 800.0, 1500.0]),
            server_ping_timeout: pick(&mut rng, &[2500.0, 5000.0]),
            p_drop_on_recv: pick(&mut rng, &[0.0, 0.02, 0.08]),
            p_hs_reject: pick(&mut rng, &[0.0, 0.02, 0.1]),
            p_early_ping: pick(&mut rng, &[0.0, 0.5]),
            stats: Stats::default(),
            rng,
        }
    }

    fn lat(&mut self) -> f64 {
        1.0 + self.rng.below(self.lat_max as u64) as f64
    }

    fn schedule(&mut self, t: f64, ev: Net) {
        self.seq += 1;
        self.queue.insert((key(t), self.seq), ev);
    }

    /// The server sends a frame on its connection `gen`, in order with earlier frames.
    fn send_to_client(&mut self, gen: u64, text: String) {
        let lat = self.lat();
        let Some(c) = self.conn.as_mut().filter(|c| c.gen == gen) else {
            return;
        };
        if c.blackholed {
            return;
        }
        let t = (self.now + lat).max(c.last_deliver);
        c.last_deliver = t;
        self.schedule(t, Net::Deliver { gen, text });
    }

    fn server_close(&mut self, gen: u64, code: u16) {
        let lat = self.lat();
        let Some(c) = self.conn.as_mut().filter(|c| c.gen == gen && !c.closing) else {
            return;
        };
        c.closing = true;
        let t = (self.now + lat).max(c.last_deliver);
        c.last_deliver = t;
        self.schedule(t, Net::ServerClose { gen, code });
    }

    // ---- driver: outputs -----------------------------------------------------------------

    fn pump(&mut self) {
        while let Some(o) = self.s.poll_output() {
            trace!("  {:>9.1} < {}", self.now, short(&o));
            self.on_output(o);
        }
        assert!(
            self.await_followup.is_none(),
            "close {:?} was followed by neither reconnecting nor giveUp",
            self.await_followup
        );
        if let Some(code) = self.last_closed.take() {
            if !reconnect_code(code) || self.manual || !self.cfg.auto_reconnect {
                assert!(
                    !self.s.pending_reconnect() || self.s.state() != State::Closed,
                    "a reconnect is pending after close {code} (manual: {})",
                    self.manual
                );
            }
        }
    }

    fn on_output(&mut self, o: Output) {
        match o {
            Output::Command(Command::Open { gen, .. }) => {
                self.subs_sent.clear();
                let t = self.now + self.lat();
                self.schedule(t, Net::OpenResult { gen });
            }
            Output::Command(Command::LoadToken { gen }) => {
                if self.rng.below(2) == 0 {
                    let token = self.stored_token.clone();
                    self.s.handle_token(gen, token, self.now);
                } else {
                    let t = self.now + self.rng.below(30) as f64;
                    self.schedule(t, Net::TokenLoaded { gen });
                }
            }
            Output::Command(Command::Send { gen, text }) => {
                if text.starts_with(r##"{"event":"#subscribe""##) {
                    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
                    let ch = v["data"]["channel"].as_str().unwrap().to_string();
                    if v["data"]["waitForAuth"] == true {
                        assert_eq!(
                            self.s.auth_state(),
                            AuthState::Authenticated,
                            "waitForAuth channel {ch} subscribed while unauthenticated"
                        );
                    }
                    self.subs_sent.insert(ch);
                }
                self.server_receive(gen, text)
            }
            Output::Command(Command::Close { gen, code, .. }) => {
                assert!(gen <= self.s.generation());
                assert!(
                    code == 1000 || (3000..=4999).contains(&code),
                    "close({code}) would throw in a browser"
                );
                if self.conn.as_ref().is_some_and(|c| c.gen == gen) {
                    self.conn = None;
                }
                let t = self.now + self.lat();
                self.schedule(t, Net::CloseEcho { gen, code });
            }
            Output::Command(Command::SaveToken(t)) => self.stored_token = Some(t),
            Output::Command(Command::RemoveToken) => self.stored_token = None,
            Output::Event(Event::Connect { .. }) => {
                self.stats.connects += 1;
                self.expected_attempt = 0;
                self.failed_since_reset = 0;
                let authed = self.s.auth_state() == AuthState::Authenticated;
                for (name, wfa) in &self.wfa {
                    if self.s.channel_state(name) == ChannelState::Pending && (!wfa || authed) {
                        assert!(
                            self.subs_sent.contains(name),
                            "pending channel {name} was not re-subscribed before connect (sent: {:?})",
                            self.subs_sent
                        );
                    }
                }
            }
            Output::Event(Event::ConnectAbort { code, .. }) => {
                self.failed_since_reset += 1;
                self.last_closed = Some(code);
            }
            Output::Event(Event::Disconnect { code, .. }) => self.last_closed = Some(code),
            Output::Event(Event::Closed { code, .. }) => {
                self.last_closed = Some(code);
                if self.cfg.auto_reconnect && reconnect_code(code) && !self.manual {
                    self.await_followup = Some(code);
                } else {
                    self.await_followup = None;
                }
            }
            Output::Event(Event::Reconnecting { attempt, delay }) => {
                self.stats.reconnects += 1;
                let code = self.await_followup.take().unwrap_or_else(|| {
                    panic!(
                        "reconnecting without a close that allows it (last close {:?})",
                        self.last_closed
                    )
                });
                assert_eq!(attempt, self.expected_attempt + 1, "attempt numbering");
                self.expected_attempt = attempt;
                if attempt == 1 && matches!(code, 4000 | 4001 | 1005) {
                    assert_eq!(delay, 0.0, "first retry after {code} must be immediate");
                } else {
                    let (lo, hi) = self.cfg.backoff.bounds(attempt - 1);
                    assert!(
                        delay >= lo - EPS && delay <= hi + EPS,
                        "delay {delay} of attempt {attempt} outside [{lo}, {hi}]"
                    );
                }
                assert!(self.s.pending_reconnect() || delay == 0.0);
            }
            Output::Event(Event::GiveUp { attempts }) => {
                self.stats.give_ups += 1;
                self.await_followup.take().expect("giveUp without a close");
                let max = self
                    .cfg
                    .backoff
                    .max_attempts
                    .expect("giveUp without maxAttempts");
                assert_eq!(attempts, max);
                assert_eq!(
                    self.failed_since_reset, max,
                    "giveUp after the wrong number of failures"
                );
                assert!(!self.s.pending_reconnect());
            }
            Output::Event(Event::Settle { id, result }) => self.on_settle(id, result),
            Output::Event(Event::ServerEvent { reply: Some(r), .. }) => self.replies.push(r),
            Output::Event(Event::SubscribeFail { channel, .. }) => {
                assert_eq!(channel, "forbidden", "only `forbidden` is refused");
            }
            Output::Event(Event::Raw(t)) => panic!("the server sent nothing raw, got Raw({t:?})"),
            _ => {}
        }
    }

    fn on_settle(&mut self, id: CallId, result: Result<Option<String>, CallError>) {
        let now = self.now;
        let rec = self
            .calls
            .get_mut(&id)
            .unwrap_or_else(|| panic!("settle of unknown call {id}"));
        assert!(
            rec.settled.is_none(),
            "call {id} settled twice: {rec:?}, now {result:?}"
        );
        rec.settled = Some(now);
        assert!(
            now <= rec.bound() + EPS,
            "call {id} settled at {now}, after its bound {} ({rec:?}): {result:?}",
            rec.bound()
        );
        match &result {
            Ok(data) => {
                self.stats.settled_ok += 1;
                if let Some(tok) = rec.tok {
                    let d = data.as_deref().expect("echo answers with data");
                    let v: serde_json::Value = serde_json::from_str(d).unwrap();
                    assert_eq!(
                        v["k"].as_u64(),
                        Some(tok),
                        "call {id} got another call's answer"
                    );
                }
            }
            Err(CallError::Timeout { .. }) => {
                self.stats.timeouts += 1;
                assert!(now >= rec.t0 + rec.ack - EPS, "call {id} timed out early");
            }
            Err(CallError::BadConnection { .. }) | Err(CallError::Server(_)) => {
                self.stats.settled_err += 1;
            }
            Err(e) => panic!("unexpected settle error {e:?}"),
        }
    }

    // ---- fake server ---------------------------------------------------------------------

    fn server_receive(&mut self, gen: u64, text: String) {
        let Some(c) = self.conn.as_mut().filter(|c| c.gen == gen) else {
            return; // the socket is gone: the frame is lost
        };
        if c.blackholed || c.closing {
            return;
        }
        let pong = if self.cfg.protocol_version == 1 {
            "#2"
        } else {
            ""
        };
        if text == pong {
            assert!(
                c.handshaken,
                "pong before #handshake (server would close 4009)"
            );
            return;
        }
        let v: serde_json::Value = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("client sent bad JSON {text:?}: {e}"));
        let event = v["event"].as_str().map(str::to_string);
        let cid = v["cid"].as_u64();
        if !c.handshaken {
            assert_eq!(
                event.as_deref(),
                Some("#handshake"),
                "first frame must be #handshake: {text}"
            );
        }
        if let Some(rid) = v["rid"].as_u64() {
            assert!(
                c.invokes.remove(&rid),
                "answer to an unknown or already answered invoke: {text}"
            );
            return;
        }
        let event = event.unwrap_or_else(|| panic!("client frame without event: {text}"));
        if self.faults && cid.is_some() && self.rng.next_f64() < self.p_drop_on_recv {
            // Drop between a send and its ack.
            let code = pick(&mut self.rng, &CODES);
            self.server_close(gen, code);
            return;
        }
        let c = self.conn.as_mut().unwrap();
        match event.as_str() {
            "#handshake" => {
                let cid = cid.expect("#handshake without a numeric cid");
                assert!(!c.handshaken, "second #handshake on one connection");
                if self.faults && self.rng.next_f64() < self.p_hs_reject {
                    let code = pick(&mut self.rng, &[4008u16, 4501]);
                    let reply = format!(
                        r##"{{"rid":{cid},"error":{{"name":"HandshakeRejected","message":"no","statusCode":{code}}}}}"##
                    );
                    self.send_to_client(gen, reply);
                    self.server_close(gen, code);
                    return;
                }
                c.handshaken = true;
                let token = v["data"]["authToken"].as_str();
                c.authed = token == Some(GOOD_TOKEN);
                let auth_error = match token {
                    Some(t) if t != GOOD_TOKEN => {
                        r##","authError":{"name":"AuthTokenInvalidError","message":"invalid token","isBadToken":true}"##
                    }
                    _ => "",
                };
                let reply = format!(
                    r##"{{"rid":{cid},"data":{{"id":"sock{gen}","pingTimeout":{},"isAuthenticated":{}{auth_error}}}}}"##,
                    self.server_ping_timeout, c.authed
                );
                self.send_to_client(gen, reply);
                if !auth_error.is_empty() {
                    self.send_to_client(gen, r##"{"event":"#removeAuthToken"}"##.into());
                }
            }
            "#subscribe" => {
                let cid = cid.expect("#subscribe without cid");
                let ch = v["data"]["channel"].as_str().unwrap().to_string();
                let reply = if ch == "forbidden" {
                    format!(
                        r##"{{"rid":{cid},"error":{{"name":"SubscribeForbiddenError","message":"no"}}}}"##
                    )
                } else {
                    c.subs.insert(ch);
                    format!(r##"{{"rid":{cid}}}"##)
                };
                self.send_to_client(gen, reply);
            }
            "#unsubscribe" => {
                assert!(cid.is_none());
                c.subs.remove(v["data"].as_str().unwrap());
            }
            "#removeAuthToken" => c.authed = false,
            "#publish" => {
                let ch = v["data"]["channel"].as_str().unwrap().to_string();
                let subscribed = c.subs.contains(&ch);
                if let Some(cid) = cid {
                    let reply = if ch == "readonly" {
                        format!(
                            r##"{{"rid":{cid},"error":{{"name":"PublishForbiddenError","message":"ro"}}}}"##
                        )
                    } else {
                        format!(r##"{{"rid":{cid}}}"##)
                    };
                    self.reply_later(gen, reply, 0.0);
                }
                if subscribed {
                    let ev = format!(r##"{{"event":"#publish","data":{}}}"##, v["data"]);
                    self.send_to_client(gen, ev);
                }
            }
            "echo" | "login" => {
                let cid = cid.expect("echo without cid");
                let reply = format!(r##"{{"rid":{cid},"data":{}}}"##, v["data"]);
                // A slow handler: some answers come after the ackTimeout.
                let extra = if self.rng.below(4) == 0 {
                    self.rng.below((self.cfg.ack_timeout * 1.5) as u64) as f64
                } else {
                    0.0
                };
                if event == "login" {
                    c.authed = true;
                    let set = format!(
                        r##"{{"event":"#setAuthToken","data":{{"token":"{GOOD_TOKEN}"}}}}"##
                    );
                    self.send_to_client(gen, set);
                }
                self.reply_later(gen, reply, extra);
            }
            "noReply" | "note" => {}
            other => panic!("unexpected client event {other}: {text}"),
        }
    }

    fn reply_later(&mut self, gen: u64, text: String, extra: f64) {
        if extra <= 0.0 {
            self.send_to_client(gen, text);
        } else {
            let t = self.now + extra;
            self.schedule(t, Net::ServerSend { gen, text });
        }
    }

    fn on_net(&mut self, ev: Net) {
        trace!("{:>9.1} net {}", self.now, short(&ev));
        match ev {
            Net::OpenResult { gen } => {
                if gen != self.s.generation() {
                    return;
                }
                match self.mode {
                    Mode::Refuse => self.s.handle_close(gen, 1006, "", self.now),
                    Mode::Blackhole => {} // never opens: connectTimeout
                    Mode::Pass => {
                        self.conn = Some(Conn {
                            gen,
                            handshaken: false,
                            authed: false,
                            blackholed: false,
                            closing: false,
                            subs: HashSet::new(),
                            last_deliver: self.now,
                            next_cid: 1,
                            invokes: HashSet::new(),
                        });
                        if self.rng.next_f64() < self.p_early_ping {
                            // The server pings from the start, before any handshake.
                            let ping = if self.cfg.protocol_version == 1 {
                                "#1"
                            } else {
                                ""
                            };
                            self.send_to_client(gen, ping.into());
                        }
                        let t = self.now + self.ping_interval;
                        self.schedule(t, Net::Ping { gen });
                        self.s.handle_open(gen, self.now);
                    }
                }
            }
            Net::TokenLoaded { gen } => {
                let token = self.stored_token.clone();
                self.s.handle_token(gen, token, self.now);
            }
            Net::Deliver { gen, text } => {
                if self
                    .conn
                    .as_ref()
                    .is_some_and(|c| c.gen == gen && c.blackholed)
                {
                    return;
                }
                self.s.handle_text(gen, &text, self.now);
            }
            Net::ServerSend { gen, text } => {
                if !self.conn.as_ref().is_some_and(|c| c.closing) {
                    self.send_to_client(gen, text);
                }
            }
            Net::ServerClose { gen, code } => {
                let blackholed = self
                    .conn
                    .as_ref()
                    .is_some_and(|c| c.gen == gen && c.blackholed);
                if self.conn.as_ref().is_some_and(|c| c.gen == gen) {
                    self.conn = None;
                }
                if !blackholed {
                    let reason = if code == 4444 { "bye from server" } else { "" };
                    self.s.handle_close(gen, code, reason, self.now);
                }
            }
            Net::Ping { gen } => {
                if self
                    .conn
                    .as_ref()
                    .is_some_and(|c| c.gen == gen && !c.closing)
                {
                    let ping = if self.cfg.protocol_version == 1 {
                        "#1"
                    } else {
                        ""
                    };
                    self.send_to_client(gen, ping.into());
                    let t = self.now + self.ping_interval;
                    self.schedule(t, Net::Ping { gen });
                }
            }
            Net::CloseEcho { gen, code } => self.s.handle_close(gen, code, "", self.now),
        }
    }

    // ---- clock -----------------------------------------------------------------------------

    fn run_until(&mut self, target: f64) {
        let mut guard = 0u32;
        loop {
            let tn = self.queue.keys().next().map(|(t, _)| f64::from_bits(*t));
            let tt = self.s.poll_timeout();
            if let Some(t) = tt {
                assert!(t.is_finite(), "poll_timeout {t}");
            }
            let next = match (tn, tt) {
                (None, None) => break,
                (Some(a), None) | (None, Some(a)) => a,
                (Some(a), Some(b)) => a.min(b),
            };
            if next > target {
                break;
            }
            guard += 1;
            assert!(
                guard < 200_000,
                "livelock: a deadline at {next} never clears"
            );
            self.now = self.now.max(next);
            let timer_first = match (tn, tt) {
                (_, None) => false,
                (None, Some(_)) => true,
                (Some(a), Some(b)) => b < a || (a == b && self.rng.below(2) == 0),
            };
            if timer_first {
                trace!("{:>9.1} timeout", self.now);
                self.s.handle_timeout(self.now);
            } else {
                let k = *self.queue.keys().next().unwrap();
                let ev = self.queue.remove(&k).unwrap();
                self.on_net(ev);
            }
            self.pump();
            self.check();
        }
        self.now = self.now.max(target);
        self.check();
    }

    // ---- invariants ------------------------------------------------------------------------

    fn check(&mut self) {
        assert!(
            self.s.outbox_len() <= self.cfg.outbox_limit,
            "outbox {} > limit {}",
            self.s.outbox_len(),
            self.cfg.outbox_limit
        );
        for (id, c) in &self.calls {
            if c.settled.is_none() {
                assert!(
                    self.now <= c.bound() + EPS,
                    "call {id} still unsettled at {} past its bound {} ({c:?})",
                    self.now,
                    c.bound()
                );
            }
        }
        if self.s.state() == State::Closed && !self.s.pending_reconnect() {
            assert_eq!(
                self.s.in_flight(),
                0,
                "calls in flight while closed for good"
            );
            assert_eq!(self.s.outbox_len(), 0, "calls queued while closed for good");
        }
        if let Some(t) = self.s.poll_timeout() {
            assert!(
                t >= self.now - EPS || self.s.pending_reconnect(),
                "deadline {t} in the past at {}",
                self.now
            );
        }
    }

    // ---- user calls and faults ---------------------------------------------------------------

    fn call_opts(&mut self) -> (CallOptions, f64, u32) {
        let retries = if self.rng.below(2) == 0 {
            0
        } else {
            1 + self.rng.below(3) as u32
        };
        let ack = pick(
            &mut self.rng,
            &[None, Some(300.0), Some(1000.0), Some(3000.0)],
        );
        (
            CallOptions {
                ack_timeout: ack,
                retries,
            },
            ack.unwrap_or(self.cfg.ack_timeout),
            retries,
        )
    }

    fn record(
        &mut self,
        r: Result<CallId, CallError>,
        ack: f64,
        retries: u32,
        tok: Option<u64>,
        full_before: bool,
    ) {
        match r {
            Ok(id) => {
                let prev = self.calls.insert(
                    id,
                    CallRec {
                        t0: self.now,
                        ack,
                        retries,
                        tok,
                        settled: None,
                    },
                );
                assert!(prev.is_none(), "call id {id} reused");
            }
            Err(CallError::OutboxFull { limit }) => {
                assert!(full_before, "OutboxFull with a non-full outbox");
                assert_eq!(limit, self.cfg.outbox_limit);
            }
            Err(CallError::BadConnection {
                kind: BadConnectionKind::Closed,
                ..
            }) => {
                assert!(
                    self.s.state() == State::Closed && !self.s.pending_reconnect(),
                    "closed error while a connection is possible"
                );
            }
            Err(e) => panic!("unexpected call error {e:?}"),
        }
    }

    fn step(&mut self) {
        let dt = match self.rng.below(4) {
            0 => 0.0,
            1 => self.rng.below(50) as f64,
            2 => self.rng.below(1000) as f64,
            _ => self.rng.below(5000) as f64,
        };
        self.run_until(self.now + dt);
        let now = self.now;
        let r = self.rng.below(100);
        let g = self.s.generation();
        trace!("{now:>9.1} USER r={r} state={:?}", self.s.state());
        match r {
            0..=24 => {
                let (opts, ack, retries) = self.call_opts();
                let tok = self.next_tok;
                self.next_tok += 1;
                let event = match self.rng.below(10) {
                    0 => "noReply",
                    1 => "login",
                    _ => "echo",
                };
                let full = self.s.outbox_len() >= self.cfg.outbox_limit;
                let res = self
                    .s
                    .emit(event, Some(format!(r##"{{"k":{tok}}}"##)), true, opts, now);
                let tok = (event != "noReply").then_some(tok);
                self.record(res, ack, retries, tok, full);
            }
            25..=29 => self.s.transmit("note", Some("1".into()), now),
            30..=39 => {
                let (opts, ack, retries) = self.call_opts();
                let ch = pick(&mut self.rng, &["a", "b", "readonly", "nobody"]);
                let full = self.s.outbox_len() >= self.cfg.outbox_limit;
                let res = self.s.publish(ch, Some("\"p\""), opts, now);
                self.record(res, ack, retries, None, full);
            }
            40..=47 => {
                let ch = pick(&mut self.rng, &CHANNELS);
                let wfa = ch == "secret";
                let opts = SubscribeOptions {
                    wait_for_auth: wfa,
                    data: None,
                    priority: self.rng.below(5) as f64 - 2.0,
                };
                if self.s.subscribe(ch, opts) {
                    self.wfa.insert(ch.to_string(), wfa);
                }
            }
            48..=50 => {
                let ch = pick(&mut self.rng, &CHANNELS);
                self.s.unsubscribe(ch, now);
            }
            51..=53 => {
                let code = pick(&mut self.rng, &[1000u16, 1000, 4000, 4444]);
                self.manual = true;
                self.s.disconnect(code, "", now);
                self.pump();
                self.manual = false;
                assert!(
                    !self.s.pending_reconnect(),
                    "manual disconnect left a reconnect pending"
                );
                assert_eq!(self.s.state(), State::Closed);
            }
            54..=59 => {
                let was_closed = self.s.state() == State::Closed;
                self.s.connect(now);
                if was_closed {
                    self.expected_attempt = 0;
                    self.failed_since_reset = 0;
                }
                assert_ne!(self.s.state(), State::Closed);
            }
            60 => {
                self.manual = true;
                self.s.reconnect(4000, "", now);
                self.pump();
                self.manual = false;
                self.expected_attempt = 0;
                self.failed_since_reset = 0;
                assert_eq!(self.s.state(), State::Connecting);
            }
            61 => self.s.deauthenticate(now),
            62..=64 if !self.replies.is_empty() => {
                let i = self.rng.below(self.replies.len() as u64) as usize;
                let r = self.replies.swap_remove(i);
                self.s.respond(&r, Ok(Some("1".into())));
            }
            65 => self.s.handle_online(now),
            66 => self.s.handle_wake(now),
            // faults
            // The transport dies (also mid-open and mid-handshake).
            67..=71 if self.s.state() != State::Closed => {
                if self.conn.as_ref().is_some_and(|c| c.gen == g) {
                    self.conn = None;
                }
                trace!("{now:>9.1} FAULT drop gen {g}");
                self.s.handle_close(g, 1006, "", now);
            }
            72..=77 => {
                let code = pick(&mut self.rng, &CODES);
                trace!("{now:>9.1} FAULT server close {code}");
                self.server_close(g, code);
            }
            78..=80 => {
                trace!("{now:>9.1} FAULT blackhole");
                self.mode = Mode::Blackhole;
                if let Some(c) = self.conn.as_mut() {
                    c.blackholed = true;
                }
            }
            81..=83 => {
                trace!("{now:>9.1} FAULT refuse");
                self.mode = Mode::Refuse;
            }
            84..=91 => {
                trace!("{now:>9.1} network passes");
                self.mode = Mode::Pass;
            }
            92..=94 => {
                // The server pushes something.
                if let Some(c) = self.conn.as_mut().filter(|c| c.handshaken && !c.closing) {
                    let gen = c.gen;
                    let text = match self.rng.below(3) {
                        0 => {
                            let ch = pick(&mut self.rng, &CHANNELS);
                            c.subs.remove(ch);
                            format!(
                                r##"{{"event":"#kickOut","data":{{"channel":"{ch}","message":"k"}}}}"##
                            )
                        }
                        1 => {
                            let cid = c.next_cid;
                            c.next_cid += 1;
                            c.invokes.insert(cid);
                            format!(r##"{{"event":"srvProc","data":{cid},"cid":{cid}}}"##)
                        }
                        _ => r##"{"event":"srvNote","data":1}"##.to_string(),
                    };
                    self.send_to_client(gen, text);
                }
            }
            _ => {} // time passes
        }
        self.pump();
        self.check();
    }

    /// Faults off, network on: the session must recover on its own.
    fn recover(&mut self) {
        trace!("{:>9.1} RECOVER", self.now);
        self.faults = false;
        self.mode = Mode::Pass;
        // Like a user: connect again after giveUp, a final close or a disabled autoReconnect.
        for _ in 0..40 {
            let fresh = self.conn.as_ref().is_some_and(|c| {
                c.gen == self.s.generation() && c.handshaken && !c.blackholed && !c.closing
            });
            if self.s.state() == State::Open && fresh {
                break;
            }
            if self.s.state() == State::Closed && !self.s.pending_reconnect() {
                self.s.connect(self.now);
                self.expected_attempt = 0;
                self.failed_since_reset = 0;
                self.pump();
            }
            self.run_until(self.now + 2_500.0);
        }
        // Long enough for every call to reach its bound and every subscription to be acked.
        let last_bound = self.calls.values().map(CallRec::bound).fold(0.0, f64::max);
        self.run_until(last_bound.max(self.now) + 1_000.0);
        assert_eq!(
            self.s.state(),
            State::Open,
            "did not recover once the network passed"
        );
        let authed = self.s.auth_state() == AuthState::Authenticated;
        for (name, wfa) in &self.wfa {
            if !self.s.has_channel(name) {
                continue;
            }
            let st = self.s.channel_state(name);
            if *wfa && !authed {
                // Held back (pending), or still subscribed from before a deauthentication on
                // this connection (the server keeps it; so does socketcluster-client).
                continue;
            } else {
                assert_eq!(
                    st,
                    ChannelState::Subscribed,
                    "channel {name} not re-subscribed"
                );
            }
        }
        for (id, c) in &self.calls {
            assert!(c.settled.is_some(), "call {id} never settled: {c:?}");
        }
    }

    fn quiesce(&mut self) {
        trace!("{:>9.1} QUIESCE", self.now);
        self.manual = true;
        self.s.disconnect(1000, "", self.now);
        self.pump();
        self.manual = false;
        assert_eq!(self.s.state(), State::Closed);
        assert!(!self.s.pending_reconnect());
        assert_eq!(self.s.in_flight(), 0);
        assert_eq!(self.s.outbox_len(), 0);
        assert_eq!(
            self.s.poll_timeout(),
            None,
            "a timer is still armed after disconnect"
        );
        self.run_until(self.now + 1_000_000.0);
        assert_eq!(self.s.poll_timeout(), None);
        assert_eq!(self.s.state(), State::Closed);
        for (id, c) in &self.calls {
            assert!(c.settled.is_some(), "call {id} never settled: {c:?}");
        }
    }
}

fn short(o: &impl std::fmt::Debug) -> String {
    let s = format!("{o:?}");
    if s.len() > 160 {
        format!(
            "{}…",
            &s[..s.char_indices().nth(160).map_or(s.len(), |(i, _)| i)]
        )
    } else {
        s
    }
}

fn run_seed(seed: u64) -> Stats {
    TRACE.with(|t| t.borrow_mut().clear());
    let mut sim = Sim::new(seed);
    // autoConnect
    sim.s.connect(0.0);
    sim.pump();
    for _ in 0..STEPS {
        sim.step();
    }
    sim.recover();
    sim.quiesce();
    sim.stats
}

fn run_reporting(seed: u64) -> Stats {
    match std::panic::catch_unwind(|| run_seed(seed)) {
        Ok(s) => s,
        Err(e) => {
            // Replay the seed with tracing on (the run is deterministic) to show how it failed.
            TRACING.with(|t| t.set(true));
            let _ = std::panic::catch_unwind(|| run_seed(seed));
            TRACING.with(|t| t.set(false));
            TRACE.with(|t| {
                eprintln!("---- last events of seed {seed} ----");
                for l in t.borrow().iter() {
                    eprintln!("{l}");
                }
            });
            eprintln!(
                "fault_sim: seed {seed} FAILED; replay with: SEED={seed} cargo test --test fault_sim"
            );
            std::panic::resume_unwind(e);
        }
    }
}

#[test]
fn seeded_fault_simulation() {
    if let Ok(seed) = std::env::var("SEED") {
        let seed: u64 = seed.parse().expect("SEED must be a number");
        let st = run_reporting(seed);
        eprintln!("seed {seed}: {st:?}");
        return;
    }
    let n: u64 = std::env::var("SEEDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(DEFAULT_SEEDS);
    let mut total = Stats::default();
    for seed in 1..=n {
        let st = run_reporting(seed);
        total.settled_ok += st.settled_ok;
        total.settled_err += st.settled_err;
        total.timeouts += st.timeouts;
        total.reconnects += st.reconnects;
        total.give_ups += st.give_ups;
        total.connects += st.connects;
    }
    eprintln!("{n} seeds: {total:?}");
    // The schedules must actually exercise the machinery.
    assert!(total.settled_ok > n, "{total:?}");
    assert!(total.timeouts > n / 10, "{total:?}");
    assert!(total.reconnects > n, "{total:?}");
    assert!(total.give_ups > 0, "{total:?}");
}
