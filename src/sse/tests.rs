//! Native tests of the SSE core: parser vectors, random chunkings, bad input, policy on virtual
//! time.

use super::parser::{Event, Output, Parser, MAX_EVENT_BYTES};
use super::policy::*;
use crate::proto::backoff::{BackoffConfig, XorShift};

fn ev(t: &str, data: &str, last: &str, id: Option<&str>) -> Output {
    Output::Event(Event {
        event_type: t.into(),
        data: data.into(),
        last_event_id: last.into(),
        id: id.map(Into::into),
    })
}

fn parse(input: &[u8]) -> Vec<Output> {
    Parser::default().feed_vec(input)
}

fn parse_chunked(input: &[u8], cuts: &[usize]) -> Vec<Output> {
    let mut p = Parser::default();
    let mut out = Vec::new();
    let mut prev = 0;
    for &c in cuts.iter().chain(std::iter::once(&input.len())) {
        p.feed(&input[prev..c], &mut |o| out.push(o));
        prev = c;
    }
    out
}

fn datas(out: &[Output]) -> Vec<String> {
    out.iter()
        .filter_map(|o| match o {
            Output::Event(e) => Some(e.data.clone()),
            _ => None,
        })
        .collect()
}

// ---- parser vectors ----

#[test]
fn simple_message() {
    assert_eq!(
        parse(b"data: hello\n\n"),
        vec![ev("message", "hello", "", None)]
    );
}

#[test]
fn data_lines_are_joined_with_lf() {
    assert_eq!(
        datas(&parse(b"data: YHOO\ndata: +2\ndata: 10\n\n")),
        vec!["YHOO\n+2\n10"]
    );
}

#[test]
fn one_leading_space_is_stripped_only() {
    assert_eq!(
        datas(&parse(b"data:test\n\ndata: test\n\ndata:  two\n\n")),
        vec!["test", "test", " two"]
    );
}

#[test]
fn whatwg_example_empty_data_lines() {
    // "data\n\ndata\ndata\n\ndata:" -> "", "\n"; the unterminated last block is dropped.
    assert_eq!(
        datas(&parse(b"data\n\ndata\ndata\n\ndata:")),
        vec!["", "\n"]
    );
}

#[test]
fn named_events_and_type_reset() {
    let out = parse(b"event: add\ndata: 1\n\ndata: 2\n\nevent:\ndata: 3\n\n");
    assert_eq!(
        out,
        vec![
            ev("add", "1", "", None),
            ev("message", "2", "", None),
            ev("message", "3", "", None)
        ]
    );
}

#[test]
fn ids_persist_reset_and_nul_is_ignored() {
    let out = parse(b"id: 1\ndata: a\n\ndata: b\n\nid: 2\0x\ndata: c\n\nid\ndata: d\n\n");
    assert_eq!(
        out,
        vec![
            ev("message", "a", "1", Some("1")),
            ev("message", "b", "1", None),
            ev("message", "c", "1", None),
            ev("message", "d", "", Some("")),
        ]
    );
}

#[test]
fn id_without_data_updates_last_id_only() {
    let out = parse(b"id: 7\n\n: ping\n\ndata: x\n\n");
    assert_eq!(
        out,
        vec![
            Output::LastEventId("7".into()),
            ev("message", "x", "7", None)
        ]
    );
}

#[test]
fn retry_field_digits_only() {
    let out =
        parse(b"retry: 1500\nretry: 1.5\nretry: abc\nretry:\nretry: -1\nretry: 99999999999999\n\n");
    assert_eq!(out, vec![Output::Retry(1500), Output::Retry(u32::MAX)]);
}

#[test]
fn comments_and_unknown_fields_are_ignored() {
    assert_eq!(parse(b": hi\nfoo: bar\nDATA: no\ndata : no\n\n"), vec![]);
    assert_eq!(datas(&parse(b": hi\ndata: yes\n: mid\n\n")), vec!["yes"]);
}

#[test]
fn field_without_colon_has_empty_value() {
    assert_eq!(datas(&parse(b"data\n\n")), vec![""]);
    assert_eq!(
        parse(b"event\ndata: x\n\n"),
        vec![ev("message", "x", "", None)]
    );
}

#[test]
fn value_may_contain_colons() {
    assert_eq!(datas(&parse(b"data: a:b: c\n\n")), vec!["a:b: c"]);
}

#[test]
fn cr_lf_and_crlf_line_ends() {
    let want = vec!["a\nb", "c"];
    assert_eq!(datas(&parse(b"data: a\ndata: b\n\ndata: c\n\n")), want);
    assert_eq!(datas(&parse(b"data: a\rdata: b\r\rdata: c\r\r")), want);
    assert_eq!(
        datas(&parse(b"data: a\r\ndata: b\r\n\r\ndata: c\r\n\r\n")),
        want
    );
    assert_eq!(
        datas(&parse(b"data: a\r\ndata: b\r\n\ndata: c\r\r\n")),
        want
    );
    // CR LF split across chunks is one line end, not two.
    assert_eq!(
        datas(&parse_chunked(b"data: a\r\ndata: b\r\n\r\n", &[8, 17, 18])),
        vec!["a\nb"]
    );
    // A lone LF chunk after a CR does not swallow the next LF.
    let mut p = Parser::default();
    let mut out = p.feed_vec(b"data: a\r");
    out.extend(p.feed_vec(b"\n"));
    out.extend(p.feed_vec(b"\n"));
    assert_eq!(datas(&out), vec!["a"]);
}

#[test]
fn bom_only_at_stream_start() {
    assert_eq!(datas(&parse(b"\xEF\xBB\xBFdata: a\n\n")), vec!["a"]);
    // split BOM
    assert_eq!(
        datas(&parse_chunked(b"\xEF\xBB\xBFdata: a\n\n", &[1, 2, 3])),
        vec!["a"]
    );
    // a second BOM is part of the field name: unknown field
    assert_eq!(
        datas(&parse(b"\xEF\xBB\xBF\xEF\xBB\xBFdata: a\n\n")),
        Vec::<String>::new()
    );
    // a partial BOM is replayed as ordinary (invalid) bytes of an unknown field
    assert_eq!(datas(&parse(b"\xEF\xBBdata: a\n\ndata: b\n\n")), vec!["b"]);
}

#[test]
fn invalid_utf8_becomes_replacement_char() {
    assert_eq!(
        datas(&parse(b"data: a\xFFb\xC3\n\n")),
        vec!["a\u{FFFD}b\u{FFFD}"]
    );
    assert_eq!(datas(&parse("data: é😀\n\n".as_bytes())), vec!["é😀"]);
}

#[test]
fn unterminated_event_is_not_dispatched() {
    assert_eq!(parse(b"data: a\n"), vec![]);
    assert_eq!(parse(b"data: a"), vec![]);
}

#[test]
fn last_id_seeds_a_new_connection() {
    let out = Parser::new("41".into()).feed_vec(b"data: x\n\n");
    assert_eq!(out, vec![ev("message", "x", "41", None)]);
}

// ---- random chunkings ----

fn sample_stream() -> Vec<u8> {
    let mut s = Vec::new();
    s.extend_from_slice(b"\xEF\xBB\xBF: welcome\r\nretry: 250\r\n\r\n");
    for i in 0..60 {
        let le: &[u8] = match i % 3 {
            0 => b"\n",
            1 => b"\r",
            _ => b"\r\n",
        };
        if i % 4 == 0 {
            s.extend_from_slice(b"event: tick");
            s.extend_from_slice(le);
        }
        s.extend_from_slice(format!("id: {i}").as_bytes());
        s.extend_from_slice(le);
        s.extend_from_slice(format!("data: é {i} 😀 ü").as_bytes());
        s.extend_from_slice(le);
        s.extend_from_slice("data:日本語\u{FFFD}".as_bytes());
        s.extend_from_slice(le);
        s.extend_from_slice(b": comment");
        s.extend_from_slice(le);
        s.extend_from_slice(le);
    }
    s.extend_from_slice(b"data: bad \xF0\x9F\n\n");
    s
}

#[test]
fn random_chunkings_give_identical_events() {
    let input = sample_stream();
    let whole = parse(&input);
    assert_eq!(
        whole
            .iter()
            .filter(|o| matches!(o, Output::Event(_)))
            .count(),
        61
    );
    assert_eq!(whole.first(), Some(&Output::Retry(250)));
    let mut rng = XorShift::new(42);
    for round in 0..500 {
        let mut cuts: Vec<usize> = match round {
            0 => (1..input.len()).collect(), // byte by byte
            _ => {
                let n = rng.below(40) as usize;
                (0..n)
                    .map(|_| rng.below(input.len() as u64 + 1) as usize)
                    .collect()
            }
        };
        cuts.sort_unstable();
        assert_eq!(parse_chunked(&input, &cuts), whole, "cuts {cuts:?}");
    }
    // every cut inside each multi-byte character
    for (i, _) in input.iter().enumerate().filter(|(_, b)| **b >= 0x80) {
        assert_eq!(parse_chunked(&input, &[i]), whole);
    }
}

// ---- bad input ----

#[test]
fn megabyte_lines_without_newline_stay_bounded() {
    let mut p = Parser::default();
    let chunk = vec![b'x'; 64 * 1024];
    let mut out = Vec::new();
    for _ in 0..128 {
        // 8 MiB in one line
        p.feed(&chunk, &mut |o| out.push(o));
        assert!(
            p.buffered() <= 2 * MAX_EVENT_BYTES,
            "buffered {}",
            p.buffered()
        );
    }
    p.feed(b"\n\ndata: ok\n\n", &mut |o| out.push(o));
    assert_eq!(datas(&out), vec!["ok"]);
}

#[test]
fn oversized_data_line_drops_that_event_only() {
    let mut p = Parser::default();
    let mut out = Vec::new();
    p.feed(b"data: ", &mut |o| out.push(o));
    let chunk = vec![b'y'; 100_000];
    for _ in 0..20 {
        p.feed(&chunk, &mut |o| out.push(o));
        assert!(p.buffered() <= 2 * MAX_EVENT_BYTES);
    }
    p.feed(b"\ndata: more\n\ndata: next\n\n", &mut |o| out.push(o));
    assert_eq!(
        out,
        vec![Output::Oversized, ev("message", "next", "", None)]
    );
}

#[test]
fn many_small_data_lines_over_cap_drop_the_event() {
    let mut p = Parser::default();
    let line = format!("data: {}\n", "z".repeat(1000));
    let mut out = Vec::new();
    for _ in 0..2000 {
        p.feed(line.as_bytes(), &mut |o| out.push(o));
        assert!(p.buffered() <= 2 * MAX_EVENT_BYTES);
    }
    p.feed(b"\ndata: fine\n\n", &mut |o| out.push(o));
    assert_eq!(
        out,
        vec![Output::Oversized, ev("message", "fine", "", None)]
    );
    // just under the cap is delivered
    let big = "w".repeat(MAX_EVENT_BYTES - 1);
    let out = parse(format!("data:{big}\n\n").as_bytes());
    assert_eq!(datas(&out), vec![big]);
}

#[test]
fn oversized_comment_or_id_is_ignored_without_dropping_the_event() {
    let mut s = b"data: keep\n:".to_vec();
    s.extend(std::iter::repeat_n(b'c', MAX_EVENT_BYTES + 100));
    s.extend_from_slice(b"\nid: ");
    s.extend(std::iter::repeat_n(b'i', MAX_EVENT_BYTES + 100));
    s.extend_from_slice(b"\n\n");
    assert_eq!(parse(&s), vec![ev("message", "keep", "", None)]);
}

#[test]
fn only_comments_produce_nothing_and_stay_bounded() {
    let mut p = Parser::default();
    for i in 0..100_000 {
        let out = p.feed_vec(format!(": keepalive {i}\n").as_bytes());
        assert!(out.is_empty());
    }
    assert!(p.buffered() <= 8192);
}

#[test]
fn random_bytes_never_panic_and_stay_bounded() {
    let mut rng = XorShift::new(9);
    let alphabet = b"data:id event retry\r\n\0\xFF\xC3\xA9\xEF\xBB\xBF: 123";
    for _ in 0..200 {
        let mut p = Parser::default();
        for _ in 0..50 {
            let len = rng.below(300) as usize;
            let chunk: Vec<u8> = (0..len)
                .map(|_| {
                    if rng.below(4) == 0 {
                        rng.next_u64() as u8
                    } else {
                        alphabet[rng.below(alphabet.len() as u64) as usize]
                    }
                })
                .collect();
            let _ = p.feed_vec(&chunk);
        }
        assert!(p.buffered() <= 2 * MAX_EVENT_BYTES);
    }
}

// ---- policy ----

fn cfg() -> BackoffConfig {
    BackoffConfig::default()
}

#[test]
fn backoff_bounds_and_reset_on_open() {
    let mut rng = XorShift::new(3);
    let mut p = Policy::new(cfg(), None);
    for n in 0..20u32 {
        match p.on_failure(None, rng.next_f64(), rng.next_f64()) {
            Next::Reconnect { attempt, delay } => {
                assert_eq!(attempt, n + 1);
                let (lo, hi) = cfg().bounds(n);
                assert!(delay >= lo && delay <= hi, "{n}: {delay}");
            }
            other => panic!("{other:?}"),
        }
    }
    p.on_open();
    assert_eq!(
        p.on_failure(None, 0.0, 0.0),
        Next::Reconnect {
            attempt: 1,
            delay: 1000.0
        }
    );
}

#[test]
fn delays_grow_until_the_cap() {
    let mut p = Policy::new(cfg(), None);
    let mut prev = 0.0;
    for _ in 0..5 {
        let Next::Reconnect { delay, .. } = p.on_failure(None, 0.0, 0.0) else {
            panic!()
        };
        assert!(delay > prev);
        prev = delay;
    }
    for _ in 0..20 {
        let Next::Reconnect { delay, .. } = p.on_failure(None, 0.0, 0.0) else {
            panic!()
        };
        assert_eq!(delay, 30000.0);
    }
}

#[test]
fn server_retry_and_retry_after_are_floors() {
    let mut p = Policy::new(cfg(), None);
    p.on_retry_field(5000);
    assert_eq!(
        p.on_failure(None, 0.0, 0.0),
        Next::Reconnect {
            attempt: 1,
            delay: 5000.0
        }
    );
    // above the floor, backoff wins
    let mut p = Policy::new(
        BackoffConfig {
            initial_delay: 8000.0,
            ..cfg()
        },
        None,
    );
    p.on_retry_field(5000);
    assert_eq!(
        p.on_failure(None, 0.0, 0.0),
        Next::Reconnect {
            attempt: 1,
            delay: 8000.0
        }
    );
    // Retry-After
    let mut p = Policy::new(cfg(), None);
    assert_eq!(
        p.on_failure(Some(7000.0), 0.5, 0.0),
        Next::Reconnect {
            attempt: 1,
            delay: 7000.0
        }
    );
    // a tiny retry: does not lower the backoff
    let mut p = Policy::new(cfg(), None);
    p.on_retry_field(1);
    assert_eq!(
        p.on_failure(None, 0.0, 0.0),
        Next::Reconnect {
            attempt: 1,
            delay: 1000.0
        }
    );
}

#[test]
fn gives_up_after_max_attempts() {
    let mut p = Policy::new(
        BackoffConfig {
            max_attempts: Some(3),
            ..cfg()
        },
        None,
    );
    for i in 1..=3 {
        assert!(
            matches!(p.on_failure(None, 0.0, 0.0), Next::Reconnect { attempt, .. } if attempt == i)
        );
    }
    assert_eq!(p.on_failure(None, 0.0, 0.0), Next::GiveUp { attempts: 3 });
    assert_eq!(p.on_failure(None, 0.0, 0.0), Next::GiveUp { attempts: 3 });
}

#[test]
fn dedup_of_delivered_ids() {
    let mut p = Policy::new(cfg(), Some("3".into()));
    assert_eq!(p.last_event_id(), "3");
    p.on_connect();
    assert_eq!(p.on_event(Some("3")), None);
    for i in 4..=10 {
        let id = i.to_string();
        assert_eq!(p.on_event(Some(&id)), Some(id));
    }
    // replayed after a reconnect
    p.on_connect();
    for i in 5..=10 {
        let id = i.to_string();
        assert_eq!(p.on_event(Some(&id)), None);
        assert_eq!(p.last_event_id(), "10");
    }
    assert_eq!(p.on_event(Some("11")).as_deref(), Some("11"));
    // events without their own id are always delivered
    assert_eq!(p.on_event(Some("11")).as_deref(), Some("11"));
    assert_eq!(p.on_event(None).as_deref(), Some("11"));
    // an empty id resets the last id and is not remembered
    assert_eq!(p.on_event(Some("")).as_deref(), Some(""));
    assert_eq!(p.on_event(Some("")).as_deref(), Some(""));
    assert_eq!(p.last_event_id(), "");
}

#[test]
fn recent_ids_are_bounded() {
    let mut r = RecentIds::default();
    for i in 0..10_000 {
        r.insert(&i.to_string());
    }
    assert_eq!(r.len(), RECENT_IDS);
    assert!(r.contains("9999") && !r.contains("0"));
}

#[test]
fn status_policy() {
    let mut p = Policy::new(cfg(), None);
    let mut r = |s, ct, ra, auth| p.on_response(s, ct, ra, None, auth, 0.0);
    assert_eq!(
        r(200, Some("text/event-stream; charset=utf-8"), None, false),
        Response::Open
    );
    assert_eq!(
        r(200, Some("Text/Event-Stream"), None, false),
        Response::Open
    );
    assert_eq!(
        r(200, Some("text/plain"), None, false),
        Response::Fail {
            status: 200,
            kind: FailKind::ContentType
        }
    );
    assert_eq!(
        r(200, None, None, false),
        Response::Fail {
            status: 200,
            kind: FailKind::ContentType
        }
    );
    assert_eq!(r(204, None, None, false), Response::Close);
    assert_eq!(
        r(500, None, None, false),
        Response::Retry { retry_after: None }
    );
    assert_eq!(
        r(503, None, Some("3"), false),
        Response::Retry {
            retry_after: Some(3000.0)
        }
    );
    assert_eq!(
        r(429, None, Some("soon"), false),
        Response::Retry { retry_after: None }
    );
    assert_eq!(
        r(404, None, None, false),
        Response::Fail {
            status: 404,
            kind: FailKind::Status
        }
    );
    assert_eq!(
        r(201, None, None, false),
        Response::Fail {
            status: 201,
            kind: FailKind::Status
        }
    );
    assert_eq!(
        r(401, None, None, false),
        Response::Fail {
            status: 401,
            kind: FailKind::Unauthorized
        }
    );
    // with getHeaders: one retry, then fail; reset after an open
    assert_eq!(r(401, None, None, true), Response::RetryAuth);
    assert_eq!(
        r(403, None, None, true),
        Response::Fail {
            status: 403,
            kind: FailKind::Unauthorized
        }
    );
    p.on_open();
    assert_eq!(
        p.on_response(403, None, None, None, true, 0.0),
        Response::RetryAuth
    );
}

#[test]
fn retry_after_formats() {
    assert_eq!(parse_retry_after("120"), Some(120_000.0));
    assert_eq!(parse_retry_after(" 0 "), Some(0.0));
    assert_eq!(parse_retry_after("-1"), None);
    assert_eq!(parse_retry_after("1.5"), None);
    assert_eq!(parse_retry_after(""), None);
    assert_eq!(
        parse_retry_after("99999999999999999999999"),
        Some(2_147_483_647.0)
    );
    // An HTTP-date is the fetch driver's to read (`httpDate` in event_stream.js; the browser
    // test status_503_honours_an_http_date_retry_after_fetch): it hands over its time, which
    // the policy makes a delay from `now`, clamped to [0, MAX_TIMER_MS].
    assert_eq!(parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT"), None);
    let at = 784_111_777_000.0;
    let mut p = Policy::new(cfg(), None);
    let mut delay = |retry_at, now| match p.on_response(503, None, None, retry_at, false, now) {
        Response::Retry { retry_after } => retry_after,
        other => panic!("{other:?}"),
    };
    assert_eq!(delay(Some(at), at - 5000.0), Some(5000.0));
    assert_eq!(delay(Some(at), at + 5000.0), Some(0.0));
    assert_eq!(delay(Some(at), 0.0), Some(2_147_483_647.0));
    assert_eq!(delay(None, 0.0), None);
    // the time wins over the text (the driver gives it only for a date)
    let mut p = Policy::new(cfg(), None);
    assert_eq!(
        p.on_response(503, None, Some("7"), Some(10_000.0), false, 4_000.0),
        Response::Retry {
            retry_after: Some(6_000.0)
        }
    );
    assert_eq!(
        p.on_response(429, None, Some("7"), None, false, 4_000.0),
        Response::Retry {
            retry_after: Some(7_000.0)
        }
    );
}

/// The header values' whitespace is `char::is_whitespace` on every char a header value can
/// hold (up to U+00FF): U+000B, U+0085 and U+00A0 separate words too, as ASCII's do.
#[test]
fn header_whitespace_is_unicode_whitespace_up_to_latin1() {
    assert_eq!(parse_retry_after("\u{a0}12\u{b}"), Some(12_000.0));
    assert_eq!(parse_retry_after("\u{85}1\u{a0}2"), None);
    assert_eq!(parse_retry_after("1é"), None);
    assert!(is_event_stream("\u{85}text/event-stream\u{a0};q"));
    assert!(!is_event_stream("text/event-stream\u{a0}x"));
    assert!(!is_event_stream("text/event-streamé"));
}

#[test]
fn query_param_for_resume() {
    assert_eq!(
        with_query_param("/events", "lastEventId", "5"),
        "/events?lastEventId=5"
    );
    assert_eq!(
        with_query_param("/e?a=1", "lastEventId", "5"),
        "/e?a=1&lastEventId=5"
    );
    assert_eq!(
        with_query_param("/e?lastEventId=2&a=1#f", "lastEventId", "5"),
        "/e?a=1&lastEventId=5#f"
    );
    assert_eq!(
        with_query_param("/e?", "id", "a b&c/é"),
        "/e?id=a%20b%26c%2F%C3%A9"
    );
}

/// A simulated server on virtual time: 100 counter events, the connection drops after every 10,
/// and on reconnect the server (deliberately sloppy) replays from 3 before the requested id.
/// The client must deliver 1..=100 exactly once, in order, waiting a backoff delay each time.
#[test]
fn virtual_time_drop_and_resume_delivers_each_event_once() {
    let backoff = BackoffConfig {
        initial_delay: 100.0,
        ..cfg()
    };
    let mut policy = Policy::new(backoff, None);
    let mut rng = XorShift::new(1);
    let mut now = 0.0;
    let mut delivered = Vec::new();
    let mut connections = 0;
    while delivered.len() < 100 && connections < 50 {
        connections += 1;
        let resume: u32 = policy.last_event_id().parse().unwrap_or(0);
        let start = resume.saturating_sub(3) + 1;
        let mut body = String::from("retry: 50\n\n");
        for i in start..(start + 13).min(101) {
            body.push_str(&format!("id: {i}\ndata: n{i}\n\n"));
        }
        let mut parser = Parser::new(String::new());
        policy.on_connect();
        assert_eq!(
            policy.on_response(200, Some("text/event-stream"), None, None, false, now),
            Response::Open
        );
        policy.on_open();
        let mut rng_cut = XorShift::new(connections);
        let bytes = body.as_bytes();
        let cut = rng_cut.below(bytes.len() as u64) as usize;
        for part in [&bytes[..cut], &bytes[cut..]] {
            for out in parser.feed_vec(part) {
                match out {
                    Output::Event(e) => {
                        if policy.on_event(Some(&e.last_event_id)).is_some() {
                            delivered.push(e.data);
                        }
                    }
                    Output::Retry(ms) => policy.on_retry_field(ms),
                    Output::LastEventId(id) => policy.on_last_event_id(&id),
                    Output::Oversized => {}
                }
            }
        }
        // connection dropped
        match policy.on_failure(None, rng.next_f64(), rng.next_f64()) {
            Next::Reconnect { attempt, delay } => {
                assert_eq!(attempt, 1);
                assert!((50.0..=100.0).contains(&delay), "{delay}");
                now += delay;
            }
            Next::GiveUp { .. } => panic!("gave up"),
        }
    }
    let want: Vec<String> = (1..=100).map(|i| format!("n{i}")).collect();
    assert_eq!(delivered, want);
    assert!(now > 0.0);
}

/// Feeds `body` on a new connection of `policy` the way `EventStream` does (a parser with no
/// id, like a new native `EventSource`); returns the delivered `(data, lastEventId)` pairs.
fn deliver_through(policy: &mut Policy, body: &str) -> Vec<(String, String)> {
    policy.on_connect();
    let mut parser = Parser::new(String::new());
    let mut out = Vec::new();
    for o in parser.feed_vec(body.as_bytes()) {
        match o {
            Output::Event(e) => {
                if let Some(last) = policy.on_event(Some(&e.last_event_id)) {
                    out.push((e.data, last));
                }
            }
            Output::LastEventId(id) => policy.on_last_event_id(&id),
            _ => {}
        }
    }
    out
}

fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
    v.iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

/// Issue 9, item 8: one id rule for both transports. A native `EventSource` cannot tell a
/// repeated `id: 7` from an event without id after `id: 7`, so neither transport drops them;
/// an own id replayed on a later connection is dropped.
#[test]
fn events_sharing_an_id_are_all_delivered_replays_are_not() {
    let mut p = Policy::new(cfg(), None);
    let body = "id: 7\ndata: a\n\nid: 7\ndata: b\n\nid: 7\ndata: c\n\ndata: d\n\n";
    assert_eq!(
        deliver_through(&mut p, body),
        pairs(&[("a", "7"), ("b", "7"), ("c", "7"), ("d", "7")])
    );
    // The server replays after the resume: 7 (and what shares it) is known, 8 is new.
    let replay = "id: 7\ndata: a\n\nid: 8\ndata: e\n\n";
    assert_eq!(deliver_through(&mut p, replay), pairs(&[("e", "8")]));
    // A new connection whose first events carry no id report the stream's last id.
    assert_eq!(
        deliver_through(&mut p, "data: f\n\nid: 9\ndata: g\n\n"),
        pairs(&[("f", "8"), ("g", "9")])
    );
    // An id set by an event without data is the next event's own id.
    assert_eq!(
        deliver_through(&mut p, "id: 10\n\ndata: h\n\n"),
        pairs(&[("h", "10")])
    );
    assert_eq!(deliver_through(&mut p, "id: 10\ndata: h\n\n"), pairs(&[]));
}

/// Issue 9, item 14: a hostile `retry:` cannot park the client past `maxDelay`.
#[test]
fn server_retry_is_clamped_to_max_delay() {
    let mut p = Policy::new(
        BackoffConfig {
            max_delay: 2000.0,
            ..cfg()
        },
        None,
    );
    let ms = match Parser::default()
        .feed_vec(b"retry: 999999999999\n\n")
        .as_slice()
    {
        [Output::Retry(ms)] => *ms,
        other => panic!("{other:?}"),
    };
    p.on_retry_field(ms);
    assert_eq!(p.server_retry(), Some(2000.0));
    assert_eq!(
        p.on_failure(None, 0.0, 0.0),
        Next::Reconnect {
            attempt: 1,
            delay: 2000.0
        }
    );
}

/// Issue 9, item 7: an id outside Latin-1 goes into `Last-Event-ID` as its UTF-8 bytes (what a
/// native `EventSource` sends), one code unit per byte, so `fetch` can carry it.
#[test]
fn last_event_id_header_carries_the_utf8_bytes() {
    assert_eq!(header_value("42"), "42");
    let v = header_value("\u{3a9}-1");
    assert_eq!(v, "\u{ce}\u{a9}-1");
    assert!(v.chars().all(|c| u32::from(c) <= 0xff));
    let bytes: Vec<u8> = v.chars().map(|c| c as u8).collect();
    assert_eq!(String::from_utf8(bytes).unwrap(), "\u{3a9}-1");
}
