//! The `text/event-stream` parser (WHATWG HTML, "Parsing an event stream").
//!
//! Owns the byte-to-event rules and nothing else: no I/O, no clock, no reconnect decisions (those
//! live in [`super::policy`]). Bytes go in with [`Parser::feed`] in chunks split anywhere —
//! inside a CRLF pair or inside a multi-byte UTF-8 character — and the same events come out.
//!
//! Rules: lines end with CR, LF or CRLF; a UTF-8 BOM at the very start of the stream is skipped;
//! invalid UTF-8 becomes U+FFFD; a line starting with `:` is a comment; `field:value` strips one
//! space after the colon, a line without colon is a field with an empty value; `event` sets the
//! type, `data` lines are joined with `\n`, `id` sets the last event id unless it contains NUL,
//! `retry` (ASCII digits only) sets the reconnection time; unknown fields are ignored; an empty
//! line dispatches, and an event with no `data` is not dispatched. An unterminated last event
//! is never dispatched (as in browsers).
//!
//! Memory is bounded: one event's `data` is capped at [`MAX_EVENT_BYTES`] (1 MiB), and so is any
//! one line. An event whose data exceeds the cap is dropped and reported as
//! [`Output::Oversized`]; an over-long comment, `id`, `event`, `retry` or unknown-field line is
//! ignored. The parser never holds more than a few times the cap, whatever the input.

#[allow(unused_imports)]
use crate::prelude::*;

/// Cap on one event's `data` (and on one line), in bytes: 1 MiB.
pub const MAX_EVENT_BYTES: usize = 1 << 20;

/// One dispatched event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// The `event` field, or `"message"` when absent or empty.
    pub event_type: String,
    /// The `data` lines joined with `\n`.
    pub data: String,
    /// The last event id at dispatch time (the stream's, possibly set by an earlier event).
    pub last_event_id: String,
    /// `Some(id)` when this event's own block carried a valid `id` field.
    pub id: Option<String>,
}

/// What the parser reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    /// A complete event.
    Event(Event),
    /// A valid `retry:` field, in ms (saturated at `u32::MAX`).
    Retry(u32),
    /// An empty-data dispatch changed the last event id (no event is delivered, but a
    /// reconnection resumes from this id).
    LastEventId(String),
    /// An event whose data exceeded [`MAX_EVENT_BYTES`] was dropped.
    Oversized,
}

/// Incremental event-stream parser. One per connection; seed it with the stream's last id.
#[derive(Debug, Clone)]
pub struct Parser {
    line: Vec<u8>,
    /// The current line went past the cap; its bytes are being skipped until the line ends.
    line_overflow: bool,
    /// The previous chunk ended with CR: a leading LF of the next chunk belongs to it.
    after_cr: bool,
    /// No byte of the stream has been seen yet (BOM detection): 0..=3 BOM bytes matched.
    bom_state: u8,
    data: String,
    has_data: bool,
    event_type: String,
    last_event_id: String,
    own_id: Option<String>,
    oversized: bool,
}

const BOM: [u8; 3] = [0xEF, 0xBB, 0xBF];
/// Line cap: the data cap plus room for a field name and colon.
const MAX_LINE: usize = MAX_EVENT_BYTES + 16;

impl Default for Parser {
    fn default() -> Self {
        Parser::new(String::new())
    }
}

impl Parser {
    /// A parser for a new connection, starting from `last_event_id` (as browsers do).
    pub fn new(last_event_id: String) -> Self {
        Parser {
            line: Vec::new(),
            line_overflow: false,
            after_cr: false,
            bom_state: 0,
            data: String::new(),
            has_data: false,
            event_type: String::new(),
            last_event_id,
            own_id: None,
            oversized: false,
        }
    }

    /// The last event id buffer.
    pub fn last_event_id(&self) -> &str {
        &self.last_event_id
    }

    /// Bytes currently buffered (line + event), for memory-bound checks.
    pub fn buffered(&self) -> usize {
        self.line.capacity()
            + self.data.capacity()
            + self.event_type.len()
            + self.last_event_id.len()
    }

    /// Feeds a chunk; `sink` receives every output in stream order.
    pub fn feed(&mut self, mut chunk: &[u8], sink: &mut dyn FnMut(Output)) {
        // BOM at the very start of the stream, possibly split across chunks.
        while self.bom_state < 3 {
            let Some((&b, rest)) = chunk.split_first() else {
                return;
            };
            let want = BOM.get(self.bom_state as usize).copied();
            if Some(b) == want {
                self.bom_state += 1;
                chunk = rest;
            } else {
                // Not a BOM: replay the bytes matched so far as ordinary input.
                let matched = self.bom_state as usize;
                self.bom_state = 3;
                if let Some(prefix) = BOM.get(..matched) {
                    self.feed_bytes(prefix, sink);
                }
            }
        }
        self.feed_bytes(chunk, sink);
    }

    /// Convenience: feeds a chunk and collects the outputs.
    pub fn feed_vec(&mut self, chunk: &[u8]) -> Vec<Output> {
        let mut out = Vec::new();
        self.feed(chunk, &mut |o| out.push(o));
        out
    }

    fn feed_bytes(&mut self, mut chunk: &[u8], sink: &mut dyn FnMut(Output)) {
        if self.after_cr {
            match chunk.split_first() {
                None => return,
                Some((&b'\n', rest)) => chunk = rest,
                Some(_) => {}
            }
            self.after_cr = false;
        }
        while !chunk.is_empty() {
            match chunk.iter().position(|&b| b == b'\n' || b == b'\r') {
                None => {
                    self.push_line_bytes(chunk);
                    return;
                }
                Some(i) => {
                    // (`get`, not `split_at`: no panic path)
                    let (head, tail) =
                        (chunk.get(..i).unwrap_or(&[]), chunk.get(i..).unwrap_or(&[]));
                    self.push_line_bytes(head);
                    self.end_line(sink);
                    let is_cr = tail.first() == Some(&b'\r');
                    let mut rest = tail.get(1..).unwrap_or(&[]);
                    if is_cr {
                        match rest.first() {
                            Some(&b'\n') => rest = rest.get(1..).unwrap_or(&[]),
                            Some(_) => {}
                            None => self.after_cr = true,
                        }
                    }
                    chunk = rest;
                }
            }
        }
    }

    fn push_line_bytes(&mut self, bytes: &[u8]) {
        if bytes.is_empty() || self.line_overflow {
            return;
        }
        if self.line.len() + bytes.len() > MAX_LINE {
            // Keep the start of the line (to learn which field it was), drop the rest.
            self.line_overflow = true;
            // (its first 5 bytes; the line's buffer is released with it)
            let mut head = core::mem::take(&mut self.line);
            head.truncate(5);
            head.extend_from_slice(bytes.get(..5).unwrap_or(bytes));
            if is_data_field(head.get(..5).unwrap_or(&head)) {
                self.oversized = true;
            }
            return;
        }
        self.line.extend_from_slice(bytes);
    }

    fn end_line(&mut self, sink: &mut dyn FnMut(Output)) {
        if self.line_overflow {
            // The over-long line is ignored (an over-long data line already marked the event).
            self.line_overflow = false;
            self.line.clear();
            return;
        }
        let line = core::mem::take(&mut self.line);
        if line.is_empty() {
            self.dispatch(sink);
        } else {
            self.process_line(&line, sink);
        }
        // Reuse small buffers, release big ones.
        let mut line = line;
        line.clear();
        if line.capacity() <= 4096 {
            self.line = line;
        }
    }

    fn process_line(&mut self, line: &[u8], sink: &mut dyn FnMut(Output)) {
        if line.first() == Some(&b':') {
            return;
        }
        let (name, value) = match line.iter().position(|&b| b == b':') {
            Some(i) => {
                let (n, v) = (
                    line.get(..i).unwrap_or(&[]),
                    line.get(i + 1..).unwrap_or(&[]),
                );
                let v = match v {
                    [b' ', rest @ ..] => rest,
                    _ => v,
                };
                (n, v)
            }
            None => (line, &[][..]),
        };
        match name {
            b"event" => self.event_type = text(value),
            b"data" => {
                if self.oversized {
                    return;
                }
                let v = text(value);
                if self.data.len() + v.len() + 1 > MAX_EVENT_BYTES {
                    self.oversized = true;
                    self.data = String::new();
                    self.has_data = false;
                    return;
                }
                self.data.push_str(&v);
                self.data.push('\n');
                self.has_data = true;
            }
            b"id" if !has_nul(value) => {
                let id = text(value);
                self.last_event_id = id.clone(); // (not `clone_from`: a function of its own)
                self.own_id = Some(id);
            }
            b"retry" if !value.is_empty() && value.iter().all(u8::is_ascii_digit) => {
                let ms = value.iter().fold(0u32, |acc, &d| {
                    acc.saturating_mul(10).saturating_add(u32::from(d - b'0'))
                });
                sink(Output::Retry(ms));
            }
            _ => {}
        }
    }

    fn dispatch(&mut self, sink: &mut dyn FnMut(Output)) {
        let own_id = self.own_id.take();
        let event_type = core::mem::take(&mut self.event_type);
        if self.oversized {
            self.oversized = false;
            self.data = String::new();
            self.has_data = false;
            sink(Output::Oversized);
            return;
        }
        if !self.has_data {
            self.data.clear();
            if let Some(id) = own_id {
                sink(Output::LastEventId(id));
            }
            return;
        }
        let mut data = core::mem::take(&mut self.data);
        self.has_data = false;
        if data.as_bytes().last() == Some(&b'\n') {
            data.truncate(data.len() - 1);
        }
        let event_type = if event_type.is_empty() {
            "message".to_string()
        } else {
            event_type
        };
        sink(Output::Event(Event {
            event_type,
            data,
            last_event_id: self.last_event_id.clone(),
            id: own_id,
        }));
    }
}

/// Whether a line starting with `head` (its first bytes) is a `data` field.
fn is_data_field(head: &[u8]) -> bool {
    head.starts_with(b"data") && matches!(head.get(4), None | Some(b':'))
}

/// `bytes` as text, invalid UTF-8 as U+FFFD (one copy of the conversion for the three fields;
/// the WebSocket driver's, so std's `Utf8Chunks` stays out of the wasm).
#[inline(never)]
fn text(bytes: &[u8]) -> String {
    crate::proto::codec::utf8_lossy(bytes).into_owned()
}
/// Whether `v` holds a NUL byte (a loop: slice `contains` brings `memchr` into the wasm).
fn has_nul(v: &[u8]) -> bool {
    for &b in v {
        if b == 0 {
            return true;
        }
    }
    false
}
