//! Native tests of the `EventStream` session ([`super::session::Session`]) on virtual time:
//! scenarios for each lifecycle rule, and seeded random fault schedules checked against
//! invariants (no event delivered twice, no timer armed and no event after close, delays within
//! the backoff bounds, at most one connection held).

use super::session::*;
use crate::proto::backoff::{BackoffConfig, XorShift};

const URL: &str = "http://h/events";

fn fast() -> BackoffConfig {
    BackoffConfig {
        initial_delay: 40.0,
        multiplier: 2.0,
        max_delay: 2000.0,
        jitter: 0.0,
        randomness: 0.0,
        max_attempts: None,
    }
}

fn cfg(transport: Transport) -> Config {
    Config {
        url: URL.into(),
        transport,
        backoff: fast(),
        last_event_id: None,
        last_event_id_param: "lastEventId".into(),
        headers: Vec::new(),
        get_headers: false,
    }
}

fn drain(s: &mut Session) -> (Vec<Command>, Vec<StreamEvent>) {
    (s.poll_commands(), s.poll_events())
}

fn events(s: &mut Session) -> Vec<StreamEvent> {
    drain(s).1
}

fn msg(t: &str, data: &str, id: &str) -> StreamEvent {
    StreamEvent::Message(MessageEvent {
        event_type: t.into(),
        data: data.into(),
        last_event_id: id.into(),
    })
}

fn reconnecting(attempt: u32, delay: f64) -> StreamEvent {
    StreamEvent::Reconnecting { attempt, delay }
}

fn kind_of(e: &StreamEvent) -> Option<(ErrorKind, Option<u16>)> {
    match e {
        StreamEvent::Error(e) => Some((e.kind, e.status)),
        _ => None,
    }
}

/// A fetch session opened on 200 + text/event-stream (connection 1).
fn open_fetch(c: Config) -> Session {
    let mut s = Session::new(c, 1);
    s.handle_start();
    let (cmds, _) = drain(&mut s);
    assert!(
        matches!(cmds[..], [Command::Fetch { gen: 1, .. }]),
        "{cmds:?}"
    );
    assert!(s.handle_response(1, 200, Some("text/event-stream"), None, None, 0.0));
    assert_eq!(events(&mut s), vec![StreamEvent::Open]);
    s
}

fn fetch_headers(cmds: &[Command]) -> Vec<(String, String)> {
    cmds.iter()
        .find_map(|c| match c {
            Command::Fetch { headers, .. } => Some(headers.clone()),
            _ => None,
        })
        .expect("a Fetch command")
}

#[test]
fn eventsource_connects_opens_and_delivers() {
    let mut s = Session::new(cfg(Transport::EventSource), 1);
    assert_eq!(s.ready_state(), ReadyState::Connecting);
    assert_eq!(drain(&mut s), (vec![], vec![]), "nothing before start");
    s.handle_start();
    s.handle_start(); // once
    let (cmds, evs) = drain(&mut s);
    assert_eq!(
        cmds,
        vec![Command::OpenEventSource {
            gen: 1,
            url: URL.into(),
            names: vec![]
        }]
    );
    assert!(evs.is_empty());
    s.handle_es_open(1);
    s.handle_es_message(1, "message".into(), "a".into(), Some("1"));
    s.handle_es_message(1, "tick".into(), "b".into(), Some("2"));
    assert_eq!(
        events(&mut s),
        vec![
            StreamEvent::Open,
            msg("message", "a", "1"),
            msg("tick", "b", "2")
        ]
    );
    assert_eq!(s.ready_state(), ReadyState::Open);
    assert_eq!(s.last_event_id(), "2");
}

#[test]
fn resumes_from_the_last_id_on_both_transports() {
    let mut c = cfg(Transport::EventSource);
    c.last_event_id = Some("5".into());
    c.last_event_id_param = "since".into();
    let mut s = Session::new(c, 1);
    s.handle_start();
    let (cmds, _) = drain(&mut s);
    assert!(
        matches!(&cmds[..], [Command::OpenEventSource { url, .. }] if url == "http://h/events?since=5"),
        "{cmds:?}"
    );
    // the option's id counts as delivered
    s.handle_es_open(1);
    s.handle_es_message(1, "message".into(), "replay".into(), Some("5"));
    s.handle_es_message(1, "message".into(), "next".into(), Some("6"));
    assert_eq!(
        events(&mut s),
        vec![StreamEvent::Open, msg("message", "next", "6")]
    );

    let mut c = cfg(Transport::Fetch);
    c.last_event_id = Some("\u{3a9}".into());
    c.headers = vec![("A".into(), "b".into())];
    let mut s = Session::new(c, 1);
    s.handle_start();
    let h = fetch_headers(&drain(&mut s).0);
    assert_eq!(
        h,
        vec![
            ("A".into(), "b".into()),
            ("Last-Event-ID".into(), "\u{ce}\u{a9}".into())
        ]
    );
}

#[test]
fn retried_statuses_back_off_on_virtual_time_then_open() {
    let mut s = Session::new(cfg(Transport::Fetch), 1);
    s.handle_start();
    drain(&mut s);
    let mut now = 1000.0;
    for (gen, delay) in [(1, 40.0), (2, 80.0), (3, 160.0), (4, 320.0)] {
        assert!(!s.handle_response(gen, 500, None, None, None, now));
        let (cmds, evs) = drain(&mut s);
        assert_eq!(cmds, vec![Command::Release], "gen {gen}");
        assert_eq!(kind_of(&evs[0]), Some((ErrorKind::Status, Some(500))));
        assert_eq!(evs[1], reconnecting(gen as u32, delay));
        assert_eq!(s.poll_timeout(), Some(now + delay));
        // not yet
        s.handle_timeout(now + delay - 1.0);
        assert_eq!(drain(&mut s), (vec![], vec![]));
        now += delay;
        s.handle_timeout(now);
        let (cmds, _) = drain(&mut s);
        assert!(
            matches!(cmds[..], [Command::Fetch { gen: g, .. }] if g == gen + 1),
            "{cmds:?}"
        );
        assert_eq!(s.poll_timeout(), None);
    }
    assert!(s.handle_response(
        5,
        200,
        Some("Text/Event-Stream; charset=utf-8"),
        None,
        None,
        now
    ));
    assert_eq!(events(&mut s), vec![StreamEvent::Open]);
    // attempts start again after an open
    s.handle_end(5, now);
    assert_eq!(events(&mut s)[1], reconnecting(1, 40.0));
}

#[test]
fn retry_after_and_the_retry_field_are_floors_and_retry_is_clamped() {
    let mut s = Session::new(cfg(Transport::Fetch), 1);
    s.handle_start();
    drain(&mut s);
    s.handle_response(1, 503, None, Some("1"), None, 0.0);
    assert_eq!(events(&mut s)[1], reconnecting(1, 1000.0));

    let mut s = open_fetch(cfg(Transport::Fetch));
    assert!(s.handle_chunk(1, b"retry: 700\n\n"));
    s.handle_end(1, 0.0);
    let evs = events(&mut s);
    assert_eq!(kind_of(&evs[0]), Some((ErrorKind::Ended, None)));
    assert_eq!(evs[1], reconnecting(1, 700.0));

    // a hostile retry: cannot park the client past maxDelay
    let mut s = open_fetch(cfg(Transport::Fetch));
    s.handle_chunk(1, b"retry: 999999999999\n\n");
    s.handle_fetch_failed(1, "reset", 10.0);
    let evs = events(&mut s);
    assert_eq!(kind_of(&evs[0]), Some((ErrorKind::Network, None)));
    assert_eq!(evs[1], reconnecting(1, 2000.0));
    assert_eq!(s.poll_timeout(), Some(2010.0));
}

#[test]
fn no_content_and_fatal_statuses_close_for_good() {
    let mut s = Session::new(cfg(Transport::Fetch), 1);
    s.handle_start();
    drain(&mut s);
    assert!(!s.handle_response(1, 204, None, None, None, 0.0));
    assert_eq!(
        drain(&mut s),
        (
            vec![Command::Release],
            vec![StreamEvent::Close {
                reason: CloseReason::NoContent
            }]
        )
    );
    assert_eq!(s.ready_state(), ReadyState::Closed);
    assert_eq!(s.poll_timeout(), None);

    for (status, ct, kind) in [
        (404, None, ErrorKind::Status),
        (200, Some("text/plain"), ErrorKind::ContentType),
        (401, None, ErrorKind::Unauthorized),
        (403, None, ErrorKind::Unauthorized),
    ] {
        let mut s = Session::new(cfg(Transport::Fetch), 1);
        s.handle_start();
        drain(&mut s);
        assert!(!s.handle_response(1, status, ct, None, None, 0.0));
        let (cmds, evs) = drain(&mut s);
        assert_eq!(cmds, vec![Command::Release]);
        assert_eq!(kind_of(&evs[0]), Some((kind, Some(status))), "{status}");
        assert_eq!(
            evs[1],
            StreamEvent::Close {
                reason: CloseReason::Error
            }
        );
        assert_eq!(evs.len(), 2);
        assert_eq!(s.poll_timeout(), None);
    }
}

#[test]
fn unauthorized_with_get_headers_retries_once_at_once() {
    let mut c = cfg(Transport::Fetch);
    c.get_headers = true;
    let mut s = Session::new(c, 1);
    s.handle_start();
    assert_eq!(drain(&mut s).0, vec![Command::GetHeaders { gen: 1 }]);
    s.handle_headers(1, Ok(vec![("Authorization".into(), "stale".into())]), 0.0);
    assert_eq!(
        fetch_headers(&drain(&mut s).0),
        vec![("Authorization".into(), "stale".into())]
    );
    s.handle_response(1, 401, None, None, None, 5.0);
    assert_eq!(
        drain(&mut s),
        (vec![Command::Release], vec![reconnecting(1, 0.0)])
    );
    assert_eq!(s.poll_timeout(), Some(5.0));
    s.handle_timeout(5.0);
    assert_eq!(drain(&mut s).0, vec![Command::GetHeaders { gen: 2 }]);
    // a late answer for the first attempt is ignored
    s.handle_headers(1, Ok(vec![]), 5.0);
    assert_eq!(drain(&mut s), (vec![], vec![]));
    s.handle_headers(2, Ok(vec![]), 5.0);
    drain(&mut s);
    s.handle_response(2, 401, None, None, None, 5.0);
    let evs = events(&mut s);
    assert_eq!(kind_of(&evs[0]), Some((ErrorKind::Unauthorized, Some(401))));
    assert_eq!(
        evs[1],
        StreamEvent::Close {
            reason: CloseReason::Error
        }
    );
}

#[test]
fn a_get_headers_failure_is_a_headers_error_then_a_retry() {
    let mut c = cfg(Transport::Fetch);
    c.get_headers = true;
    let mut s = Session::new(c, 1);
    s.handle_start();
    drain(&mut s);
    s.handle_headers(1, Err("no token".into()), 0.0);
    let (cmds, evs) = drain(&mut s);
    assert!(cmds.is_empty(), "no connection was held: {cmds:?}");
    match &evs[0] {
        StreamEvent::Error(e) => {
            assert_eq!(e.kind, ErrorKind::Headers);
            assert_eq!(e.message, "getHeaders failed: no token");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(evs[1], reconnecting(1, 40.0));
}

#[test]
fn gives_up_after_max_attempts() {
    let mut c = cfg(Transport::EventSource);
    c.backoff.max_attempts = Some(2);
    let mut s = Session::new(c, 1);
    s.handle_start();
    drain(&mut s);
    let mut now = 0.0;
    for gen in 1..=2 {
        s.handle_es_error(gen, now);
        let evs = events(&mut s);
        assert_eq!(
            kind_of(&evs[0]),
            Some((ErrorKind::Network, None)),
            "not open yet: could not be opened"
        );
        now = s.poll_timeout().expect("a reconnect");
        s.handle_timeout(now);
        drain(&mut s);
    }
    s.handle_es_error(3, now);
    let (cmds, evs) = drain(&mut s);
    assert_eq!(cmds, vec![Command::Release]);
    assert_eq!(
        evs[1..],
        [
            StreamEvent::GiveUp { attempts: 2 },
            StreamEvent::Close {
                reason: CloseReason::GiveUp
            }
        ]
    );
    assert_eq!(s.poll_timeout(), None);
    assert_eq!(s.ready_state(), ReadyState::Closed);
}

#[test]
fn replayed_ids_after_a_reconnect_are_not_delivered_twice() {
    let mut s = open_fetch(cfg(Transport::Fetch));
    s.handle_chunk(1, b"id: 1\ndata: a\n\nid: 2\ndata: b\n\n");
    s.handle_end(1, 0.0);
    events(&mut s);
    s.handle_timeout(40.0);
    let h = fetch_headers(&drain(&mut s).0);
    assert_eq!(h, vec![("Last-Event-ID".into(), "2".into())]);
    s.handle_response(2, 200, Some("text/event-stream"), None, None, 40.0);
    s.handle_chunk(2, b"id: 1\ndata: a\n\nid: 2\ndata: b\n\nid: 3\ndata: c\n\n");
    assert_eq!(
        events(&mut s),
        vec![StreamEvent::Open, msg("message", "c", "3")]
    );
    // events sharing an id (or with none) are all delivered
    s.handle_chunk(2, b"data: d\n\nid: 3\ndata: e\n\n");
    assert_eq!(
        events(&mut s),
        vec![msg("message", "d", "3"), msg("message", "e", "3")]
    );
}

#[test]
fn an_oversized_event_is_an_error_and_the_stream_goes_on() {
    let mut s = open_fetch(cfg(Transport::Fetch));
    let mut big = b"data: ".to_vec();
    big.extend(std::iter::repeat_n(b'x', super::MAX_EVENT_BYTES + 10));
    big.extend(b"\n\ndata: small\n\n");
    assert!(s.handle_chunk(1, &big));
    let evs = events(&mut s);
    assert_eq!(kind_of(&evs[0]), Some((ErrorKind::Oversized, None)));
    assert_eq!(evs[1], msg("message", "small", ""));
    assert_eq!(s.ready_state(), ReadyState::Open);
    // the eventsource driver reports its own drops
    let mut s = Session::new(cfg(Transport::EventSource), 1);
    s.handle_start();
    s.handle_es_oversized(1);
    assert_eq!(
        kind_of(&events(&mut s)[0]),
        Some((ErrorKind::Oversized, None))
    );
}

#[test]
fn close_releases_cancels_and_ends_everything() {
    let mut s = open_fetch(cfg(Transport::Fetch));
    s.handle_end(1, 0.0);
    drain(&mut s);
    assert!(s.poll_timeout().is_some());
    s.close();
    s.close(); // once
    assert_eq!(
        drain(&mut s),
        (
            vec![],
            vec![StreamEvent::Close {
                reason: CloseReason::Client
            }]
        )
    );
    assert_eq!(s.poll_timeout(), None, "the reconnect timer is cancelled");
    // late inputs of any connection do nothing
    s.handle_timeout(1e9);
    s.handle_response(1, 200, Some("text/event-stream"), None, None, 0.0);
    s.handle_es_error(1, 0.0);
    s.watch("x");
    assert_eq!(drain(&mut s), (vec![], vec![]));
    assert_eq!(s.ready_state(), ReadyState::Closed);

    // close while connected releases the connection
    let mut s = open_fetch(cfg(Transport::Fetch));
    s.close();
    assert_eq!(drain(&mut s).0, vec![Command::Release]);
    assert!(!s.handle_chunk(1, b"data: late\n\n"));
    assert!(events(&mut s).is_empty());

    // shutdown: the same without the event
    let mut s = open_fetch(cfg(Transport::Fetch));
    s.shutdown();
    assert_eq!(drain(&mut s), (vec![Command::Release], vec![]));
}

#[test]
fn inputs_of_an_old_connection_are_ignored() {
    let mut s = Session::new(cfg(Transport::EventSource), 1);
    s.handle_start();
    s.handle_es_open(1);
    s.handle_es_error(1, 0.0);
    drain(&mut s);
    s.handle_timeout(40.0);
    drain(&mut s);
    s.handle_es_open(1);
    s.handle_es_message(1, "message".into(), "stale".into(), Some("9"));
    s.handle_es_error(1, 40.0);
    assert_eq!(drain(&mut s), (vec![], vec![]));
    assert!(s.is_current(2) && !s.is_current(1));
}

#[test]
fn watched_names_are_listened_to_now_and_on_every_reconnect() {
    let mut s = Session::new(cfg(Transport::EventSource), 1);
    s.watch("message"); // always listened to
    s.watch("tick");
    s.handle_start();
    let (cmds, _) = drain(&mut s);
    assert!(
        matches!(&cmds[..], [Command::OpenEventSource { names, .. }] if names == &["tick"]),
        "{cmds:?}"
    );
    s.watch("tock");
    s.watch("tock");
    assert_eq!(
        drain(&mut s).0,
        vec![Command::Listen {
            gen: 1,
            name: "tock".into()
        }]
    );
    s.handle_es_error(1, 0.0);
    s.handle_timeout(40.0);
    let (cmds, _) = drain(&mut s);
    assert!(
        matches!(&cmds[..], [Command::Release, Command::OpenEventSource { gen: 2, names, .. }] if names == &["tick", "tock"]),
        "{cmds:?}"
    );
}

#[test]
fn an_eventsource_that_cannot_be_made_closes_and_a_fetch_that_throws_retries() {
    let mut s = Session::new(cfg(Transport::EventSource), 1);
    s.handle_start();
    drain(&mut s);
    s.handle_open_failed(1, "SyntaxError", 0.0);
    let evs = events(&mut s);
    assert_eq!(kind_of(&evs[0]), Some((ErrorKind::Network, None)));
    assert_eq!(
        evs[1],
        StreamEvent::Close {
            reason: CloseReason::Error
        }
    );
    let mut s = Session::new(cfg(Transport::Fetch), 1);
    s.handle_start();
    drain(&mut s);
    s.handle_open_failed(1, "TypeError", 0.0);
    assert_eq!(events(&mut s)[1], reconnecting(1, 40.0));
}

// ---- seeded random fault schedules ----

/// A simulated server: on each connection it resumes from the client's last id, replaying up
/// to 2 events before it, then sends increasing ids.
struct Server {
    conn: u64,
    pos: u64,
}

/// Runs one schedule; returns (events delivered, whether it closed).
fn run_schedule(seed: u64, transport: Transport) -> (usize, bool) {
    let mut rng = XorShift::new(seed);
    let mut c = cfg(transport);
    c.backoff = BackoffConfig {
        initial_delay: 10.0 + rng.below(50) as f64,
        multiplier: 1.5,
        max_delay: 500.0,
        jitter: 0.5,
        randomness: 20.0,
        max_attempts: if rng.below(3) == 0 {
            Some(1 + rng.below(5) as u32)
        } else {
            None
        },
    };
    let backoff = c.backoff;
    let mut s = Session::new(c, seed);
    let mut server = Server { conn: 0, pos: 1 };
    let mut now = 0.0;
    let mut held: Option<u64> = None; // the connection the engine holds
    let mut delivered: Vec<String> = Vec::new();
    let mut closed = false;
    let mut attempt_since_open = 0u32;
    let mut server_retry: Option<f64> = None;
    s.handle_start();
    for step in 0..400 {
        let what = format!("seed {seed} step {step}");
        // drain and check
        let (cmds, evs) = drain(&mut s);
        for cmd in cmds {
            match cmd {
                Command::Release => held = None,
                Command::OpenEventSource { gen, .. } | Command::Fetch { gen, .. } => {
                    assert!(!closed, "{what}: a connection after close");
                    assert_eq!(held, None, "{what}: two connections held");
                    held = Some(gen);
                }
                Command::GetHeaders { .. } => panic!("{what}: no getHeaders configured"),
                Command::Listen { .. } => {}
            }
        }
        for ev in evs {
            assert!(!closed, "{what}: {ev:?} after close");
            match ev {
                StreamEvent::Message(m) => {
                    assert!(
                        !delivered.contains(&m.last_event_id),
                        "{what}: id {} delivered twice",
                        m.last_event_id
                    );
                    delivered.push(m.last_event_id);
                }
                StreamEvent::Open => attempt_since_open = 0,
                StreamEvent::Reconnecting { attempt, delay } => {
                    attempt_since_open += 1;
                    assert_eq!(attempt, attempt_since_open, "{what}");
                    let (lo, hi) = backoff.bounds(attempt - 1);
                    let lo = server_retry.map_or(lo, |r| lo.max(r));
                    let hi = server_retry.map_or(hi, |r| hi.max(r));
                    assert!(
                        (lo..=hi).contains(&delay),
                        "{what}: delay {delay} outside [{lo}, {hi}]"
                    );
                    assert_eq!(s.poll_timeout(), Some(now + delay), "{what}");
                }
                StreamEvent::GiveUp { attempts } => {
                    assert_eq!(Some(attempts), backoff.max_attempts, "{what}")
                }
                StreamEvent::Close { .. } => closed = true,
                StreamEvent::Error(_) => {}
            }
        }
        if closed {
            assert_eq!(s.poll_timeout(), None, "{what}: timer armed after close");
            assert_eq!(held, None, "{what}: connection held after close");
            assert_eq!(s.ready_state(), ReadyState::Closed);
        }
        // next input
        let gen = s.gen();
        // now and then an input of an older connection
        let target = if gen > 1 && rng.below(10) == 0 {
            gen - 1
        } else {
            gen
        };
        match rng.below(12) {
            0 if rng.below(20) == 0 => s.close(),
            0 | 1 => {
                if let Some(d) = s.poll_timeout() {
                    now = d;
                    s.handle_timeout(now);
                } else {
                    now += 5.0;
                }
            }
            2 => match transport {
                Transport::EventSource => s.handle_es_open(target),
                Transport::Fetch => {
                    let status = [200, 200, 200, 500, 503, 429][rng.below(6) as usize];
                    s.handle_response(target, status, Some("text/event-stream"), None, None, now);
                }
            },
            3 => match transport {
                Transport::EventSource => s.handle_es_error(target, now),
                Transport::Fetch => s.handle_end(target, now),
            },
            4 => {
                if transport == Transport::Fetch {
                    s.handle_fetch_failed(target, "reset", now)
                }
            }
            5 if transport == Transport::Fetch && rng.below(4) == 0 => {
                let ms = rng.below(2000);
                s.handle_chunk(target, format!("retry: {ms}\n\n").as_bytes());
                if s.is_current(target) && s.ready_state() == ReadyState::Open {
                    server_retry = Some((ms as f64).min(backoff.max_delay));
                }
            }
            _ => {
                // a few events; a new connection resumes from the last id, replaying some
                if target == gen && server.conn != gen {
                    server.conn = gen;
                    let last: u64 = s.last_event_id().parse().unwrap_or(0);
                    server.pos = (last + 1).saturating_sub(rng.below(3)).max(1);
                }
                let n = 1 + rng.below(3);
                let from = if target == gen { server.pos } else { 1 };
                let mut text = String::new();
                let mut ids = Vec::new();
                for id in from..from + n {
                    ids.push(id);
                    text.push_str(&format!("id: {id}\ndata: d{id}\n\n"));
                }
                match transport {
                    Transport::EventSource => {
                        for id in ids {
                            s.handle_es_message(
                                target,
                                "message".into(),
                                format!("d{id}"),
                                Some(&id.to_string()),
                            );
                        }
                    }
                    Transport::Fetch => {
                        s.handle_chunk(target, text.as_bytes());
                    }
                }
                if target == gen {
                    server.pos += n;
                }
            }
        }
    }
    (delivered.len(), closed)
}

#[test]
fn random_fault_schedules_keep_the_invariants() {
    let (mut delivered, mut closed) = (0, 0);
    for seed in 1..=300 {
        for t in [Transport::EventSource, Transport::Fetch] {
            let (d, c) = run_schedule(seed, t);
            delivered += d;
            closed += usize::from(c);
        }
    }
    // the schedules do reach the interesting states
    assert!(
        delivered > 10_000 && closed > 100,
        "{delivered} events, {closed} closes"
    );
}
