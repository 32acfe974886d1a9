//! The reconnect and last-event-id policy of `EventStream`, sans-IO.
//!
//! Owns: the attempt counter and its reset on open, the delay of the next attempt (the shared
//! [`BackoffConfig`] with the server's `retry:` field and an HTTP `Retry-After` as floors),
//! giving up after `maxAttempts`, the HTTP status policy of the `fetch` transport, the last event
//! id, and the memory of recently delivered ids so that an event replayed after a reconnect is not
//! delivered twice. It does not touch timers, the network or the clock: `now` and random numbers
//! are parameters.
//!
//! One id rule for both transports ([`Policy::on_event`]): it looks only at what a native
//! `EventSource` lets a script see, the last event id each event carries on its connection. An
//! event has an id of its own when that differs from the previous event's on the same connection
//! (the connection starts with none); such an id already delivered drops the event. Events that
//! share an id (a repeated `id:` field, or no `id:` field) are all delivered.

#[allow(unused_imports)]
use crate::prelude::*;

use crate::proto::backoff::{BackoffConfig, MAX_TIMER_MS};
use crate::proto::codec::cut;
use crate::proto::table::NameTable;

/// How many recently delivered event ids are remembered for de-duplication.
pub const RECENT_IDS: usize = 1024;

/// A bounded set of the most recently delivered ids (oldest forgotten first).
#[derive(Debug, Clone, Default)]
pub struct RecentIds {
    /// The ids in arrival order, as a ring once full: `next` is the oldest (a `Vec<String>`,
    /// whose code the wasm has anyway, not a `VecDeque<String>` of its own).
    order: Vec<String>,
    next: usize,
    set: NameTable<()>,
}

impl RecentIds {
    /// Whether `id` was delivered recently.
    pub fn contains(&self, id: &str) -> bool {
        self.set.contains_key(id)
    }
    /// Remembers `id` (forgetting the oldest past [`RECENT_IDS`]).
    pub fn insert(&mut self, id: &str) {
        if self.set.contains_key(id) {
            return;
        }
        if self.order.len() < RECENT_IDS {
            self.order.push(id.to_string());
        } else if let Some(slot) = self.order.get_mut(self.next) {
            let old = core::mem::replace(slot, id.to_string());
            self.set.remove(&old);
            self.next = (self.next + 1) % RECENT_IDS;
        }
        self.set.insert(id.to_string(), ());
    }
    /// The number of ids remembered.
    pub fn len(&self) -> usize {
        self.order.len()
    }
    /// Whether none are remembered.
    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }
}

/// What to do after a failed or dropped connection.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Next {
    /// Schedule reconnect number `attempt` (1-based since the last open) after `delay` ms.
    Reconnect {
        /// Its number.
        attempt: u32,
        /// Its delay, ms.
        delay: f64,
    },
    /// `maxAttempts` reconnects failed: stop for good.
    GiveUp {
        /// How many were made.
        attempts: u32,
    },
}

/// Why a `fetch` response is refused for good.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailKind {
    /// A status that is neither 200, 204, 429, 5xx, nor a retryable 401/403.
    Status,
    /// 200 without `text/event-stream`.
    ContentType,
    /// 401/403 with no `getHeaders`, or after the one retry it allows.
    Unauthorized,
}

/// The verdict on a `fetch` response (status policy of API.md).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Response {
    /// 200 + `text/event-stream`: read the stream.
    Open,
    /// 204: close for good, no retry.
    Close,
    /// 429 / 5xx: retry with backoff; `retry_after` (ms) is a floor.
    Retry {
        /// The `Retry-After` header, ms.
        retry_after: Option<f64>,
    },
    /// 401 / 403 and `getHeaders` may refresh the credentials: retry once, at once.
    RetryAuth,
    /// Fail with `error.status`, no retry.
    Fail {
        /// The HTTP status.
        status: u16,
        /// Why.
        kind: FailKind,
    },
}

/// Reconnect/last-id policy of one `EventStream`.
#[derive(Debug, Clone)]
pub struct Policy {
    backoff: BackoffConfig,
    attempts: u32,
    server_retry: Option<f64>,
    last_event_id: String,
    delivered: RecentIds,
    auth_retry_used: bool,
    /// The last event id of the previous event on the current connection.
    conn_last: String,
}

impl Policy {
    /// A policy starting from `last_event_id` (the `lastEventId` option; that id counts as
    /// delivered).
    pub fn new(backoff: BackoffConfig, last_event_id: Option<String>) -> Self {
        let mut delivered = RecentIds::default();
        let last_event_id = last_event_id.unwrap_or_default();
        if !last_event_id.is_empty() {
            delivered.insert(&last_event_id);
        }
        Policy {
            backoff,
            attempts: 0,
            server_retry: None,
            last_event_id,
            delivered,
            auth_retry_used: false,
            conn_last: String::new(),
        }
    }

    /// The id sent on the next reconnect (`Last-Event-ID`).
    pub fn last_event_id(&self) -> &str {
        &self.last_event_id
    }

    /// Reconnect attempts since the last open.
    pub fn attempts(&self) -> u32 {
        self.attempts
    }

    /// The server's `retry:` value, if any (ms).
    pub fn server_retry(&self) -> Option<f64> {
        self.server_retry
    }

    /// The stream opened: attempts start again from 0, the auth retry is available again.
    pub fn on_open(&mut self) {
        self.attempts = 0;
        self.auth_retry_used = false;
    }

    /// A `retry:` field (ms), clamped to `maxDelay`: a server cannot park the client longer
    /// than its own backoff would.
    pub fn on_retry_field(&mut self, ms: u32) {
        self.server_retry = Some(f64::from(ms).min(self.backoff.max_delay).min(MAX_TIMER_MS));
    }

    /// An empty-data dispatch that changed the last event id.
    pub fn on_last_event_id(&mut self, id: &str) {
        self.last_event_id = id.to_string();
    }

    /// A new connection starts (like a new native `EventSource`, with no last event id).
    pub fn on_connect(&mut self) {
        self.conn_last.clear();
    }

    /// An event arrived whose last event id, as a native `EventSource` reports it on this
    /// connection, is `id` (`None`: unchanged, e.g. an over-long id that was ignored). Returns
    /// the last event id to report with the event, or `None` to drop it: when `id` differs from
    /// the previous event's on this connection it is the event's own id, and an own id already
    /// delivered is a replay. An empty id resets the last id; until the connection sets one,
    /// events report the stream's last id.
    pub fn on_event(&mut self, id: Option<&str>) -> Option<String> {
        if let Some(id) = id.filter(|id| *id != self.conn_last) {
            self.conn_last = id.to_string();
            if !id.is_empty() {
                if self.delivered.contains(id) {
                    return None;
                }
                self.delivered.insert(id);
            }
            self.last_event_id = id.to_string();
        }
        Some(self.last_event_id.clone())
    }

    /// The connection failed or dropped. `retry_after` (ms) is a floor from the response;
    /// `u`, `u2` are uniform random numbers in `[0, 1)`.
    pub fn on_failure(&mut self, retry_after: Option<f64>, u: f64, u2: f64) -> Next {
        if self.backoff.exhausted(self.attempts) {
            return Next::GiveUp {
                attempts: self.attempts,
            };
        }
        let n = self.attempts;
        self.attempts = self.attempts.saturating_add(1);
        // the floors: `retry:` and `Retry-After` (NaN when absent: `max` passes over a NaN;
        // both are finite, clamped where they are made)
        let delay = self
            .backoff
            .delay(n, u, u2)
            .max(self.server_retry.unwrap_or(f64::NAN))
            .max(retry_after.unwrap_or(f64::NAN));
        Next::Reconnect {
            attempt: self.attempts,
            delay: delay.clamp(0.0, MAX_TIMER_MS),
        }
    }

    /// The one immediate retry after a 401/403 (credentials refreshed by `getHeaders`).
    pub fn on_auth_retry(&mut self) -> Next {
        self.attempts = self.attempts.saturating_add(1);
        Next::Reconnect {
            attempt: self.attempts,
            delay: 0.0,
        }
    }

    /// Classifies a `fetch` response. `retry_after`: the `Retry-After` header; `retry_at`: its
    /// time (ms since the epoch) when it is an HTTP-date (the `fetch` driver reads those: see
    /// `fetchStart` in `event_stream.js`), a delay from `now_epoch_ms`. `can_refresh_auth`: a
    /// `getHeaders` function was given.
    pub fn on_response(
        &mut self,
        status: u16,
        content_type: Option<&str>,
        retry_after: Option<&str>,
        retry_at: Option<f64>,
        can_refresh_auth: bool,
        now_epoch_ms: f64,
    ) -> Response {
        match status {
            200 => {
                if content_type.is_some_and(is_event_stream) {
                    Response::Open
                } else {
                    Response::Fail {
                        status,
                        kind: FailKind::ContentType,
                    }
                }
            }
            204 => Response::Close,
            429 | 500..=599 => Response::Retry {
                retry_after: match retry_at {
                    Some(at) => Some((at - now_epoch_ms).clamp(0.0, MAX_TIMER_MS)),
                    None => retry_after.and_then(parse_retry_after),
                },
            },
            401 | 403 => {
                if can_refresh_auth && !self.auth_retry_used {
                    self.auth_retry_used = true;
                    Response::RetryAuth
                } else {
                    Response::Fail {
                        status,
                        kind: FailKind::Unauthorized,
                    }
                }
            }
            _ => Response::Fail {
                status,
                kind: FailKind::Status,
            },
        }
    }
}

/// Whether a `Content-Type` value is `text/event-stream` (parameters and case ignored).
pub fn is_event_stream(content_type: &str) -> bool {
    let essence = cut(content_type, b';').0;
    // the essence, whitespace trimmed: one word (the type has no whitespace in it)
    let (word, rest) = split_word(essence);
    word.eq_ignore_ascii_case("text/event-stream") && split_word(rest).0.is_empty()
}

/// The first word of `s` (skipping leading whitespace, as `str::split_whitespace` does) and
/// what follows it (from the whitespace after it; `""` at the end). The one whitespace
/// splitter of this module: `trim` and `split_whitespace` would each bring their own
/// char-pattern code into the wasm. Whitespace is `char::is_whitespace` for every char up to
/// U+00FF (ASCII's five and U+000B, U+0085, U+00A0), read from the bytes: a header value, all
/// this splits, holds no other chars (`Headers.get` gives byte strings), and decoding the chars
/// cost 127 B gzipped.
fn split_word(s: &str) -> (&str, &str) {
    let b = s.as_bytes();
    let mut i = 0;
    let mut start = None;
    while let Some(&c) = b.get(i) {
        // a whitespace char's length in bytes, 0 for any other
        let ws = match c {
            b'\t'..=b'\r' | b' ' => 1,
            0xC2 if matches!(b.get(i + 1), Some(0x85 | 0xA0)) => 2,
            _ => 0,
        };
        match (start, ws) {
            (None, 0) => start = Some(i),
            (Some(st), 1..) => return (s.get(st..i).unwrap_or(""), s.get(i..).unwrap_or("")),
            _ => {}
        }
        i += ws.max(1);
    }
    (start.and_then(|st| s.get(st..)).unwrap_or(""), "")
}

/// Parses a delta-seconds `Retry-After` into a delay in ms (clamped to `MAX_TIMER_MS`);
/// anything else is `None`. (An HTTP-date one is read by the `fetch` driver, which hands over
/// its time: see [`Policy::on_response`].)
pub fn parse_retry_after(value: &str) -> Option<f64> {
    let (v, rest) = split_word(value);
    // (the trimmed value is all digits: one word of digits)
    if v.is_empty() || !split_word(rest).0.is_empty() {
        return None;
    }
    // (capped at 2^40 s, far past MAX_TIMER_MS: the same result as saturating, without the
    // 128-bit multiply an overflow check costs on wasm32)
    let mut secs = 0u64;
    for d in v.bytes() {
        if !d.is_ascii_digit() {
            return None;
        }
        secs = (secs * 10 + u64::from(d - b'0')).min(1 << 40);
    }
    Some((secs as f64 * 1000.0).min(MAX_TIMER_MS))
}

/// Returns `url` with query parameter `name` set to `value` (replacing any existing `name`
/// parameters, keeping the fragment last). Used by the `eventsource` transport to resume from
/// the last id, since a new `EventSource` cannot send `Last-Event-ID`.
pub fn with_query_param(url: &str, name: &str, value: &str) -> String {
    let (base, fragment) = cut(url, b'#');
    let (path, query) = cut(base, b'?');
    let enc_name = percent_encode(name);
    let mut out = String::from(path);
    let mut sep = '?';
    let mut rest = query;
    while let Some(r) = rest {
        let (pair, next) = cut(r, b'&');
        rest = next;
        let key = cut(pair, b'=').0;
        if !pair.is_empty() && key != enc_name && key != name {
            out.push(sep);
            out.push_str(pair);
            sep = '&';
        }
    }
    out.push(sep);
    out.push_str(&enc_name);
    out.push('=');
    out.push_str(&percent_encode(value));
    if let Some(f) = fragment {
        out.push('#');
        out.push_str(f);
    }
    out
}

/// The `Last-Event-ID` header value for `id`, as a native `EventSource` sends it: the UTF-8
/// bytes of the id. `fetch` takes a header value as a string of code units up to U+00FF, one
/// byte each, so each byte becomes the code unit of the same value (`Ω` → `\u{ce}\u{a9}`); an
/// id outside Latin-1 can then be sent at all. Ids never hold NUL, CR or LF (the parser and the
/// `lastEventId` option refuse them), so the value is always a valid header.
pub fn header_value(id: &str) -> String {
    let mut v = String::with_capacity(id.len());
    for b in id.bytes() {
        v.push(char::from(b));
    }
    v
}

/// Percent-encodes everything but the URL-safe unreserved characters.
fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push('%');
            out.push(char::from(HEX[(b >> 4) as usize]));
            out.push(char::from(HEX[(b & 15) as usize]));
        }
    }
    out
}

const HEX: &[u8; 16] = b"0123456789ABCDEF";
