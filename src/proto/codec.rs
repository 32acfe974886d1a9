//! Frame classification and encoding for the SocketCluster wire format.
//!
//! Owns: telling pings from packets from raw text, splitting batches, reading the envelope
//! fields (`event`, `cid`, `rid`, `data`, `error`) and writing outbound frames. Payloads stay
//! opaque: `data` and `error` are carried as the exact JSON text the peer sent, validated but never
//! turned into values (the browser's `JSON.parse` does that at the edge). A channel message in
//! exactly the shape socketcluster-server writes is read by a fast path that gives the same
//! packet as the general reader (`publish_at`), and so is a call's answer (`response_at`).
//!
//! Also the small text helpers the rest of the crate shares instead of `std`'s heavier ones:
//! [`cut`] (split at a byte), [`quote`] (a JSON string literal) and [`utf8_lossy`] (invalid
//! UTF-8 as U+FFFD, as `String::from_utf8_lossy`; the WebSocket driver's and the SSE parser's).
//!
//! The JSON reader is hand-written rather than `serde_json` because of the size budget
//! (`serde_json` costs ~35 KB gzipped in wasm); it is iterative (no recursion, so no stack
//! overflow on deep input), strict (RFC 8259 grammar), and returns `None` on any malformed input.

#[allow(unused_imports)]
use crate::prelude::*;

use alloc::borrow::Cow;

/// Ping/pong strings by protocol version.
pub fn ping_text(protocol_version: u8) -> &'static str {
    if protocol_version == 1 {
        "#1"
    } else {
        ""
    }
}

/// The pong frame text for the protocol version (`#2` for v1, `""` for v2).
pub fn pong_text(protocol_version: u8) -> &'static str {
    if protocol_version == 1 {
        "#2"
    } else {
        ""
    }
}

/// One inbound text frame, classified.
#[derive(Debug, Clone, PartialEq)]
pub enum Frame<'a> {
    /// The server's ping for this protocol version.
    Ping,
    /// One packet (a JSON object): no vector to allocate for the usual frame.
    One(Packet<'a>),
    /// The packets of a batch (a JSON array).
    Packets(Vec<Packet<'a>>),
    /// Not a packet: not JSON, or not starting with `{`/`[`.
    Raw,
}

/// One packet of a frame. Values borrow the frame's text (no copies on the hot path); only an
/// event name with escapes is decoded into its own string.
#[derive(Debug, Clone, PartialEq)]
pub enum Packet<'a> {
    /// `{"event": "...", "data": ..., "cid": <number>}`: the peer wants an answer. `cid` keeps
    /// the number's exact text so the answer echoes it verbatim.
    Invoke {
        /// The event name.
        event: Cow<'a, str>,
        /// The `data` field's JSON text, when present.
        data: Option<&'a str>,
        /// The exact text of the `cid` number.
        cid: &'a str,
    },
    /// `{"event": "...", "data": ...}` without a numeric `cid`.
    Transmit {
        /// The event name.
        event: Cow<'a, str>,
        /// The `data` field's JSON text, when present.
        data: Option<&'a str>,
    },
    /// `{"event": "#publish", "data": {"channel": ..., "data": ...}}` without a numeric `cid`,
    /// its `data` object read in the packet's own pass (a channel message is scanned once).
    Publish {
        /// The raw JSON text of the `channel` field, when present.
        channel: Option<&'a str>,
        /// The raw JSON text of the message (the inner `data` field), when present.
        data: Option<&'a str>,
    },
    /// `{"rid": <number>, "data"?: ..., "error"?: ...}`.
    Response {
        /// The id of the call answered.
        rid: f64,
        /// The `data` field's JSON text, when present.
        data: Option<&'a str>,
        /// The `error` field's JSON text, when present.
        error: Option<&'a str>,
    },
    /// Valid JSON of an unknown shape (the element's text).
    Raw(&'a str),
}

/// Classifies a text frame per sc-formatter: pings first, then `{`/`[` + valid JSON, else raw.
pub fn decode(text: &str, protocol_version: u8) -> Frame<'_> {
    if text == ping_text(protocol_version) {
        return Frame::Ping;
    }
    let trimmed = trim_ws(text, false);
    match trimmed.as_bytes().first() {
        Some(b'{') => match packet(trim_ws(trimmed, true)) {
            Some(p) => Frame::One(p),
            None => Frame::Raw,
        },
        Some(b'[') => match batch(trimmed) {
            Some(packets) => Frame::Packets(packets),
            None => Frame::Raw,
        },
        _ => Frame::Raw,
    }
}

/// The packets of a batch frame (a JSON array), each item read once (not skipped, then read).
/// `None` unless `text` is exactly one valid array.
fn batch(text: &str) -> Option<Vec<Packet<'_>>> {
    let b = text.as_bytes();
    let mut i = skip_ws(b, 0);
    if b.get(i) != Some(&b'[') {
        return None;
    }
    i = skip_ws(b, i + 1);
    let mut out = Vec::new();
    if b.get(i) == Some(&b']') {
        return (skip_ws(b, i + 1) == b.len()).then_some(out);
    }
    loop {
        i = skip_ws(b, i);
        let (p, end) = if b.get(i) == Some(&b'{') {
            packet_at(text, i)?
        } else {
            let end = skip_value(b, i)?;
            (Packet::Raw(text.get(i..end)?), end)
        };
        out.push(p);
        i = skip_ws(b, end);
        match b.get(i) {
            Some(b',') => i += 1,
            Some(b']') => return (skip_ws(b, i + 1) == b.len()).then_some(out),
            _ => return None,
        }
    }
}

const PACKET_FIELDS: [&str; 5] = ["event", "cid", "rid", "data", "error"];

/// Reads one packet from a JSON text. `None` when the text is not valid JSON; `Packet::Raw` when it
/// is valid but not a packet.
fn packet(text: &str) -> Option<Packet<'_>> {
    if text.as_bytes().first() != Some(&b'{') {
        return if validate(text) {
            Some(Packet::Raw(text))
        } else {
            None
        };
    }
    let (p, end) = packet_at(text, 0)?;
    (skip_ws(text.as_bytes(), end) == text.len()).then_some(p)
}

/// The packet object that starts at `i` (a `{`), read in one pass, and the index just past it.
fn packet_at(text: &str, i: usize) -> Option<(Packet<'_>, usize)> {
    match publish_at(text, i).or_else(|| response_at(text, i)) {
        None => any_packet_at(text, i),
        p => p,
    }
}

/// [`packet_at`] for any packet, by the general object walk.
fn any_packet_at(text: &str, i: usize) -> Option<(Packet<'_>, usize)> {
    let mut f = [None; 5];
    let mut inner = Inner::default();
    let end = object_at(text, i, &PACKET_FIELDS, &mut f, Some(&mut inner))?;
    Some((packet_of(text.get(i..end)?, f, inner), end))
}

/// How socketcluster-server writes every channel message, up to the channel name's quote.
const PUBLISH_HEAD: &[u8] = br##"{"event":"#publish","data":{"channel":""##;

/// A channel message in the exact shape socketcluster-server writes it,
/// `{"event":"#publish","data":{"channel":<string>,"data":<value>}}` (no whitespace, no other
/// field), read without the general object walk and its key lookups: the hot path of a frame of
/// channel messages. The same packet [`packet_at`]'s general reading gives; `None` for anything
/// else, which that reading then decides.
fn publish_at(text: &str, i: usize) -> Option<(Packet<'_>, usize)> {
    let b = text.as_bytes();
    if !b.get(i..)?.starts_with(PUBLISH_HEAD) {
        return None;
    }
    let c = i + PUBLISH_HEAD.len() - 1;
    let c_end = skip_string(b, c)?;
    let d = c_end + 8;
    if b.get(c_end..d)? != br#","data":"# || skip_ws(b, d) != d {
        return None;
    }
    let d_end = skip_any(b, d)?;
    if b.get(d_end..d_end + 2)? != b"}}" {
        return None;
    }
    let channel = text.get(c..c_end)?;
    let data = text.get(d..d_end)?;
    Some((
        Packet::Publish {
            channel: Some(channel),
            data: Some(data),
        },
        d_end + 2,
    ))
}

/// An answer in the shape socketcluster-server writes a call's data, `{"rid":<integer>,"data":
/// <value>}` (no whitespace, no other field, the integer of 1 to 15 digits without a leading
/// zero), read without the general object walk: the hot path of emit acks. The same packet the
/// general reading gives; `None` for anything else, which that reading then decides.
fn response_at(text: &str, i: usize) -> Option<(Packet<'_>, usize)> {
    let b = text.as_bytes();
    if !b.get(i..)?.starts_with(br#"{"rid":"#) {
        return None;
    }
    let r = i + 7;
    let mut j = r;
    let mut rid = 0u64;
    while let Some(&c @ b'0'..=b'9') = b.get(j) {
        // (wrapping: a longer run is refused below, and must not overflow first)
        rid = rid.wrapping_mul(10).wrapping_add(u64::from(c - b'0'));
        j += 1;
    }
    let d = j + 8;
    if !(r < j && j - r <= 15 && b.get(r) != Some(&b'0'))
        || b.get(j..d)? != br#","data":"#
        || skip_ws(b, d) != d
    {
        return None;
    }
    let d_end = skip_value(b, d)?;
    if b.get(d_end) != Some(&b'}') {
        return None;
    }
    Some((
        Packet::Response {
            rid: rid as f64,
            data: Some(text.get(d..d_end)?),
            error: None,
        },
        d_end + 1,
    ))
}

/// The `channel` and `data` fields of a packet's `data` object, read in the packet's pass
/// (`object`: the packet's last `data` field was an object).
#[derive(Default)]
struct Inner<'a> {
    fields: [Option<&'a str>; 2],
    object: bool,
}

const PUBLISH_FIELDS: [&str; 2] = ["channel", "data"];
/// The index of `data` in [`PACKET_FIELDS`].
const DATA: usize = 3;

/// The packet of an object `text` whose fields [`PACKET_FIELDS`] are `fields`.
fn packet_of<'a>(text: &'a str, fields: [Option<&'a str>; 5], inner: Inner<'a>) -> Packet<'a> {
    let [event, cid, rid, data, error] = fields;
    if let Some(event) = event.and_then(string_cow) {
        return match cid.filter(|c| is_number(c)) {
            Some(cid) => Packet::Invoke { event, data, cid },
            None if inner.object && event == "#publish" => {
                let [channel, data] = inner.fields;
                Packet::Publish { channel, data }
            }
            None => Packet::Transmit { event, data },
        };
    }
    if let Some(rid) = rid.and_then(number_value) {
        return Packet::Response { rid, data, error };
    }
    Packet::Raw(text)
}

/// [`string_value`], borrowing the text when it has no escapes.
pub fn string_ref(raw: &str) -> Option<Cow<'_, str>> {
    string_cow(trim_ws(trim_ws(raw, false), true))
}

/// `s` up to the first `sep` (an ASCII byte), and what follows it (`None` when there is no
/// `sep`): `str::split_once` for one byte, the crate's one splitter (`split`/`find` with a
/// `char` would bring core's char searcher into the wasm).
pub fn cut(s: &str, sep: u8) -> (&str, Option<&str>) {
    match s.as_bytes().iter().position(|&b| b == sep) {
        Some(i) => (s.get(..i).unwrap_or(""), s.get(i + 1..)),
        None => (s, None),
    }
}

/// `bytes` as text, borrowed when they are UTF-8; otherwise each invalid sequence becomes one
/// U+FFFD, exactly as `String::from_utf8_lossy` does (`Utf8Error::error_len` is its maximal
/// subpart), but on `str::from_utf8` alone: no `Utf8Chunks` in the wasm.
pub fn utf8_lossy(mut bytes: &[u8]) -> Cow<'_, str> {
    let mut out = String::new();
    loop {
        match core::str::from_utf8(bytes) {
            Ok(s) if out.is_empty() => return Cow::Borrowed(s),
            Ok(s) => {
                out.push_str(s);
                return Cow::Owned(out);
            }
            Err(e) => {
                // (`get`, not `split_at`: no panic path)
                let n = e.valid_up_to();
                let good = bytes.get(..n).unwrap_or(&[]);
                out.push_str(core::str::from_utf8(good).unwrap_or(""));
                out.push('\u{FFFD}');
                bytes = e
                    .error_len()
                    .and_then(|l| bytes.get(n + l..))
                    .unwrap_or(&[]);
            }
        }
    }
}

/// The text between the quotes of `raw` (`None` unless it starts and ends with one, apart).
fn unquote(raw: &str) -> Option<&str> {
    match raw.as_bytes() {
        [b'"', .., b'"'] => raw.get(1..raw.len() - 1),
        _ => None,
    }
}

/// Decodes a raw JSON string literal, borrowing it when it has no escapes.
fn string_cow(raw: &str) -> Option<Cow<'_, str>> {
    let inner = unquote(raw)?;
    // (the string scan's run, eight bytes a step, not `contains`: no `memchr` in the wasm; a
    // valid literal's inside stops it only at a backslash)
    if plain_run(inner.as_bytes(), 0) < inner.len() {
        unescape(raw).map(Cow::Owned)
    } else {
        Some(Cow::Borrowed(inner))
    }
}

/// JSON-escapes `s` as a string literal (with quotes).
pub fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    quote_into(&mut out, s);
    out
}

/// Appends `s` JSON-escaped as a string literal (with quotes) to `out`: the runs between
/// escapes go in whole (every byte to escape is ASCII, so a run ends on a char boundary).
pub fn quote_into(out: &mut String, s: &str) {
    out.push('"');
    let mut run = 0;
    for (i, &b) in s.as_bytes().iter().enumerate() {
        let esc = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0..=0x0f => "\\u000",
            0x10..=0x1f => "\\u001",
            _ => continue,
        };
        out.push_str(s.get(run..i).unwrap_or(""));
        out.push_str(esc);
        if esc.len() > 2 {
            out.push(char::from(b"0123456789abcdef"[usize::from(b & 15)]));
        }
        run = i + 1;
    }
    out.push_str(s.get(run..).unwrap_or(""));
    out.push('"');
}

/// Encodes an event packet. `data` is JSON text (omitted when `None`), `cid` is set for invokes.
pub fn encode_event(event: &str, data: Option<&str>, cid: Option<u64>) -> String {
    let mut out = String::with_capacity(event.len() + data.map_or(0, str::len) + 32);
    out.push_str("{\"event\":");
    quote_into(&mut out, event);
    if let Some(d) = data {
        out.push_str(",\"data\":");
        out.push_str(d);
    }
    if let Some(cid) = cid {
        out.push_str(",\"cid\":");
        push_u64(&mut out, cid);
    }
    out.push('}');
    out
}

/// Appends the decimal digits of `n` (no `core::fmt` on the wasm path), in one `push_str`.
pub fn push_u64(out: &mut String, mut n: u64) {
    // (the digits from the last, into a buffer that holds u64::MAX's 20)
    let mut buf = [b'0'; 20];
    let mut i = buf.len();
    while let Some(d) = i.checked_sub(1).and_then(|j| buf.get_mut(j)) {
        *d = b'0' + (n % 10) as u8;
        n /= 10;
        i -= 1;
        if n == 0 {
            break;
        }
    }
    out.push_str(core::str::from_utf8(buf.get(i..).unwrap_or(&[])).unwrap_or(""));
}

/// Encodes a response to a server invoke, echoing its `cid` text as `rid`.
pub fn encode_response(rid: &str, data: Option<&str>, error: Option<&str>) -> String {
    let mut out = String::from("{\"rid\":");
    out.push_str(rid);
    if let Some(e) = error {
        out.push_str(",\"error\":");
        out.push_str(e);
    } else if let Some(d) = data {
        out.push_str(",\"data\":");
        out.push_str(d);
    }
    out.push('}');
    out
}

/// Encodes the `data` of a `#publish`: `{"channel": name, "data": data}`.
pub fn encode_publish_data(channel: &str, data: Option<&str>) -> String {
    let mut out = String::from("{\"channel\":");
    quote_into(&mut out, channel);
    if let Some(d) = data {
        out.push_str(",\"data\":");
        out.push_str(d);
    }
    out.push('}');
    out
}

// ---------------------------------------------------------------------------------------------
// A small strict JSON reader over byte offsets.

/// Whether `text` is exactly one valid JSON value (surrounding whitespace allowed).
pub fn validate(text: &str) -> bool {
    let b = text.as_bytes();
    let start = skip_ws(b, 0);
    match skip_value(b, start) {
        Some(end) => skip_ws(b, end) == b.len(),
        None => false,
    }
}

/// Looks up several fields of a JSON object text at once, without allocating: the raw value
/// text of each name (the last occurrence wins), or `None` when `text` is not exactly one valid
/// JSON object. Keys with escapes are compared decoded.
#[inline]
pub fn fields_of<'a, const N: usize>(
    text: &'a str,
    names: [&str; N],
) -> Option<[Option<&'a str>; N]> {
    let mut out = [None; N];
    fields_into(text, &names, &mut out).then_some(out)
}

/// The one (non-generic) body of [`fields_of`]: fills `out[k]` with the raw value of
/// `names[k]`; `false` when `text` is not exactly one valid JSON object.
fn fields_into<'a>(text: &'a str, names: &[&str], out: &mut [Option<&'a str>]) -> bool {
    let b = text.as_bytes();
    let start = skip_ws(b, 0);
    object_at(text, start, names, out, None).is_some_and(|end| skip_ws(b, end) == b.len())
}

/// Reads the JSON object that starts at `i` (filling `out` as [`fields_into`] does); the
/// index just past its `}`, or `None` when no valid object starts there. With `inner` (a
/// packet: `names` is [`PACKET_FIELDS`]), a `data` value that is an object is read for its
/// [`PUBLISH_FIELDS`] in the same pass (the same validation as skipping it).
fn object_at<'a>(
    text: &'a str,
    mut i: usize,
    names: &[&str],
    out: &mut [Option<&'a str>],
    mut inner: Option<&mut Inner<'a>>,
) -> Option<usize> {
    let b = text.as_bytes();
    if b.get(i) != Some(&b'{') {
        return None;
    }
    i = skip_ws(b, i + 1);
    if b.get(i) == Some(&b'}') {
        return Some(i + 1);
    }
    loop {
        i = skip_ws(b, i);
        let key_start = i;
        let (key_end, key_esc) = skip_str(b, i)?;
        let raw_key = text.get(key_start + 1..key_end - 1)?;
        i = skip_ws(b, key_end);
        if b.get(i) != Some(&b':') {
            return None;
        }
        i = skip_ws(b, i + 1);
        let slot = if key_esc {
            let key = text.get(key_start..key_end).and_then(unescape)?;
            names.iter().position(|n| *n == key)
        } else {
            names.iter().position(|n| *n == raw_key)
        };
        let value_end = match inner.as_deref_mut() {
            Some(inner) if slot == Some(DATA) => {
                *inner = Inner::default();
                if b.get(i) == Some(&b'{') {
                    inner.object = true;
                    object_at(text, i, &PUBLISH_FIELDS, &mut inner.fields, None)?
                } else {
                    skip_any(b, i)?
                }
            }
            _ => skip_any(b, i)?,
        };
        let value = text.get(i..value_end)?;
        if let Some(v) = slot.and_then(|k| out.get_mut(k)) {
            *v = Some(value);
        }
        i = skip_ws(b, value_end);
        match b.get(i) {
            Some(b',') => i += 1,
            Some(b'}') => return Some(i + 1),
            _ => return None,
        }
    }
}

/// Whether `text` is exactly one valid JSON object.
pub fn is_object(text: &str) -> bool {
    fields_into(text, &[], &mut [])
}

/// Reads one field of a JSON object text (the last occurrence wins).
pub fn field<'a>(object: &'a str, name: &str) -> Option<&'a str> {
    let [v] = fields_of(object, [name])?;
    v
}

/// Decodes a raw JSON string literal; `None` when `raw` is not a string.
pub fn string_value(raw: &str) -> Option<String> {
    string_ref(raw).map(Cow::into_owned)
}

/// Whether a raw JSON value is a number.
pub fn is_number(raw: &str) -> bool {
    matches!(raw.as_bytes().first(), Some(b'-' | b'0'..=b'9'))
}

/// Reads a raw JSON value as a number (`None` for other types, and for any text that is not
/// exactly one JSON number).
///
/// Not `str::parse::<f64>`: its correctly rounded algorithm (with its power-of-5 tables) costs
/// ~14 KB of wasm, and the envelope fields read here (`rid`, `pingTimeout`, `statusCode`) are
/// integers. The result is exact (equal to `parse::<f64>`) for any number with at most 15
/// significant digits and a decimal exponent within ±22 (the Clinger fast path), so for every
/// integer up to 2^53; beyond that it is within ~1e-14 relative (so a value at the edge of the
/// f64 range may read as infinity). Digits past the 19th are dropped.
pub fn number_value(raw: &str) -> Option<f64> {
    let b = raw.as_bytes();
    if skip_number(b, 0)? != b.len() {
        return None;
    }
    let neg = b.first() == Some(&b'-');
    let mut mant: u64 = 0;
    let mut exp: i64 = 0;
    let mut frac = false;
    let mut i = usize::from(neg);
    while let Some(&c) = b.get(i) {
        match c {
            b'0'..=b'9' => {
                if mant < 1_000_000_000_000_000_000 {
                    mant = mant * 10 + u64::from(c - b'0');
                    exp -= i64::from(frac);
                } else {
                    exp += i64::from(!frac);
                }
            }
            b'.' => frac = true,
            _ => break, // `e` / `E`
        }
        i += 1;
    }
    if b.get(i).is_some() {
        let neg_exp = b.get(i + 1) == Some(&b'-');
        let mut e: i64 = 0;
        for &c in b.get(i + 1..)? {
            if c.is_ascii_digit() {
                e = (e * 10 + i64::from(c - b'0')).min(100_000);
            }
        }
        exp += if neg_exp { -e } else { e };
    }
    let mut v = mant as f64;
    if v != 0.0 {
        // 10^k is exact in f64 for k <= 22; a split keeps the intermediate from overflowing.
        let p = |k: i64| -> f64 {
            let mut r = 1.0;
            for _ in 0..k.min(400) {
                r *= 10.0;
            }
            r
        };
        if exp >= 0 {
            v *= p(exp);
        } else if exp >= -22 {
            v /= p(-exp);
        } else {
            v = v / p(22) / p((-exp - 22).min(400));
        }
    }
    Some(if neg { -v } else { v })
}

/// Reads a raw JSON value as a boolean (`None` for other types).
pub fn bool_value(raw: &str) -> Option<bool> {
    match raw {
        "true" => Some(true),
        "false" => Some(false),
        _ => None,
    }
}

#[inline(always)]
fn skip_ws(b: &[u8], i: usize) -> usize {
    // (most calls find no whitespace: that test stays inline)
    if matches!(b.get(i), Some(&c) if c > b' ') {
        return i;
    }
    skip_ws_run(b, i)
}

fn skip_ws_run(b: &[u8], mut i: usize) -> usize {
    while matches!(b.get(i), Some(b' ' | b'\n' | b'\r' | b'\t')) {
        i += 1;
    }
    i
}

/// `s` without its leading (`end` false) or trailing (`end` true) JSON whitespace: one byte
/// loop instead of `str`'s char-pattern searchers.
fn trim_ws(s: &str, end: bool) -> &str {
    let b = s.as_bytes();
    if !end {
        return s.get(skip_ws(b, 0)..).unwrap_or("");
    }
    let mut j = b.len();
    while j > 0 && matches!(b.get(j - 1), Some(b' ' | b'\n' | b'\r' | b'\t')) {
        j -= 1;
    }
    s.get(..j).unwrap_or("")
}

/// The bytes that end a plain run inside a string literal: `"`, `\\` and the control
/// characters (one table lookup a byte).
static STOP: [bool; 256] = {
    let mut t = [false; 256];
    let mut c = 0;
    while c < 256 {
        t[c] = c < 0x20 || c == b'"' as usize || c == b'\\' as usize;
        c += 1;
    }
    t
};

/// The index of the first [`STOP`] byte at or after `i` (`b.len()` when there is none): eight
/// bytes a step while they last (the lowest byte any of the three zero-byte tests flags is
/// exact: a borrow only flags bytes above a true hit), then a byte a step.
#[inline(always)]
fn plain_run(b: &[u8], mut i: usize) -> usize {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    // (`first_chunk`, not `copy_from_slice`: its length panic would link `core::fmt`)
    while let Some(&w) = b.get(i..).and_then(<[u8]>::first_chunk::<8>) {
        let x = u64::from_le_bytes(w);
        let q = x ^ (ONES * u64::from(b'"'));
        let s = x ^ (ONES * u64::from(b'\\'));
        let hit = (q.wrapping_sub(ONES) & !q)
            | (s.wrapping_sub(ONES) & !s)
            | (x.wrapping_sub(ONES * 0x20) & !x);
        let hit = hit & HIGH;
        if hit != 0 {
            return i + (hit.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    while matches!(b.get(i), Some(&c) if !STOP[usize::from(c)]) {
        i += 1;
    }
    i
}

/// Skips one string literal starting at `i` (at the opening quote); returns the index after it.
fn skip_string(b: &[u8], i: usize) -> Option<usize> {
    skip_str(b, i).map(|(end, _)| end)
}

/// [`skip_string`], and whether the literal has an escape.
fn skip_str(b: &[u8], i: usize) -> Option<(usize, bool)> {
    if b.get(i) != Some(&b'"') {
        return None;
    }
    let mut i = i + 1;
    let mut esc = false;
    loop {
        i = plain_run(b, i);
        match *b.get(i)? {
            b'"' => return Some((i + 1, esc)),
            b'\\' => {
                esc = true;
                match *b.get(i + 1)? {
                    b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => i += 2,
                    b'u' => {
                        let hex = b.get(i + 2..i + 6)?;
                        if !hex.iter().all(u8::is_ascii_hexdigit) {
                            return None;
                        }
                        i += 6;
                    }
                    _ => return None,
                }
            }
            _ => return None, // a control character
        }
    }
}

fn skip_number(b: &[u8], mut i: usize) -> Option<usize> {
    if b.get(i) == Some(&b'-') {
        i += 1;
    }
    match b.get(i) {
        Some(b'0') => i += 1,
        Some(b'1'..=b'9') => {
            while matches!(b.get(i), Some(b'0'..=b'9')) {
                i += 1;
            }
        }
        _ => return None,
    }
    if b.get(i) == Some(&b'.') {
        i += 1;
        if !matches!(b.get(i), Some(b'0'..=b'9')) {
            return None;
        }
        while matches!(b.get(i), Some(b'0'..=b'9')) {
            i += 1;
        }
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        if !matches!(b.get(i), Some(b'0'..=b'9')) {
            return None;
        }
        while matches!(b.get(i), Some(b'0'..=b'9')) {
            i += 1;
        }
    }
    Some(i)
}

/// [`skip_value`], with the scalars most values are skipped without its container stack.
#[inline(always)]
fn skip_any(b: &[u8], i: usize) -> Option<usize> {
    match b.get(i) {
        Some(b'"') => skip_string(b, i),
        Some(b'-' | b'0'..=b'9') => skip_number(b, i),
        _ => skip_value(b, i),
    }
}

/// Skips one JSON value starting at `i`; iterative, so nesting depth cannot overflow the stack.
fn skip_value(b: &[u8], start: usize) -> Option<usize> {
    // Each entry: true = inside an object, false = inside an array.
    let mut stack = Nesting::default();
    let mut i = start;
    loop {
        // Expect a value at i.
        i = skip_ws(b, i);
        match *b.get(i)? {
            b'{' => {
                i = skip_ws(b, i + 1);
                if b.get(i) == Some(&b'}') {
                    i += 1;
                } else {
                    stack.push(true);
                    i = skip_string(b, i)?;
                    i = skip_ws(b, i);
                    if b.get(i) != Some(&b':') {
                        return None;
                    }
                    i += 1;
                    continue;
                }
            }
            b'[' => {
                i = skip_ws(b, i + 1);
                if b.get(i) == Some(&b']') {
                    i += 1;
                } else {
                    stack.push(false);
                    continue;
                }
            }
            b'"' => i = skip_string(b, i)?,
            b't' => i = literal(b, i, b"true")?,
            b'f' => i = literal(b, i, b"false")?,
            b'n' => i = literal(b, i, b"null")?,
            _ => i = skip_number(b, i)?,
        }
        // After a value: close containers or move to the next element.
        loop {
            let Some(&in_object) = stack.last() else {
                return Some(i);
            };
            i = skip_ws(b, i);
            match (*b.get(i)?, in_object) {
                (b',', true) => {
                    i = skip_ws(b, i + 1);
                    i = skip_string(b, i)?;
                    i = skip_ws(b, i);
                    if b.get(i) != Some(&b':') {
                        return None;
                    }
                    i += 1;
                    break;
                }
                (b',', false) => {
                    i += 1;
                    break;
                }
                (b'}', true) | (b']', false) => {
                    stack.pop();
                    i += 1;
                }
                _ => return None,
            }
        }
    }
}

/// The container stack of [`skip_value`]: the first 64 levels in a bit set (no allocation for
/// the data of an ordinary message), deeper ones in a `Vec`.
#[derive(Default)]
struct Nesting {
    bits: u64,
    depth: usize,
    deeper: Vec<bool>,
}

impl Nesting {
    fn push(&mut self, in_object: bool) {
        if self.depth < 64 {
            self.bits = (self.bits & !(1 << self.depth)) | (u64::from(in_object) << self.depth);
        } else {
            self.deeper.push(in_object);
        }
        self.depth += 1;
    }

    fn last(&self) -> Option<&bool> {
        match self.depth {
            0 => None,
            d if d <= 64 => Some(if self.bits >> (d - 1) & 1 == 1 {
                &true
            } else {
                &false
            }),
            _ => self.deeper.last(),
        }
    }

    fn pop(&mut self) {
        if self.depth > 64 {
            self.deeper.pop();
        }
        self.depth = self.depth.saturating_sub(1);
    }
}

fn literal(b: &[u8], i: usize, lit: &[u8]) -> Option<usize> {
    (b.get(i..i + lit.len())? == lit).then_some(i + lit.len())
}

/// Decodes a JSON string literal (with its quotes) into a Rust string. Reads bytes (every
/// escape is ASCII, so the runs between escapes go in whole, as in [`quote_into`]): no `Chars`
/// iterator in the wasm.
fn unescape(raw: &str) -> Option<String> {
    let inner = unquote(raw)?;
    let b = inner.as_bytes();
    let mut out = String::with_capacity(inner.len());
    let (mut run, mut i) = (0, 0);
    while let Some(&c) = b.get(i) {
        if c != b'\\' {
            i += 1;
            continue;
        }
        out.push_str(inner.get(run..i)?);
        let esc = *b.get(i + 1)?;
        i += 2;
        let cp = match esc {
            b'"' | b'\\' | b'/' => u32::from(esc),
            b'b' => 8,
            b'f' => 12,
            b'n' => 10,
            b'r' => 13,
            b't' => 9,
            b'u' => {
                let hi = hex4(b, i)?;
                i += 4;
                // A high surrogate must be followed by `\uDC00`-`\uDFFF`; lone ones become U+FFFD.
                if (0xD800..0xDC00).contains(&hi) {
                    match (b.get(i..i + 2), hex4(b, i + 2)) {
                        (Some(b"\\u"), Some(lo)) if (0xDC00..0xE000).contains(&lo) => {
                            i += 6;
                            0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00)
                        }
                        _ => 0xFFFD,
                    }
                } else {
                    hi
                }
            }
            _ => return None,
        };
        let ch = char::from_u32(cp).unwrap_or('\u{FFFD}');
        out.push_str(ch.encode_utf8(&mut [0; 4]));
        run = i;
    }
    out.push_str(inner.get(run..)?);
    Some(out)
}

/// The four hex digits at `b[i..]` as a number.
fn hex4(b: &[u8], i: usize) -> Option<u32> {
    let mut v = 0u32;
    for &d in b.get(i..i + 4)? {
        v = v * 16 + char::from(d).to_digit(16)?;
    }
    Some(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(text: &str) -> Packet<'_> {
        match decode(text, 2) {
            Frame::One(p) => p,
            other => panic!("{text}: {other:?}"),
        }
    }

    #[test]
    fn plain_run_stops_where_the_byte_loop_stops() {
        let naive = |b: &[u8], i: usize| {
            (i..b.len())
                .find(|&j| STOP[usize::from(b[j])])
                .unwrap_or(b.len())
        };
        // every stop byte at every position of a 0..=20 byte run, after plain bytes of every
        // kind (ASCII, UTF-8 bytes, the stop bytes' neighbours), and random runs
        let plain = [
            b'a', b'!', b'#', b'[', b']', 0x20, 0x21, 0x7f, 0x80, 0xa2, 0xdc, 0xff,
        ];
        for len in 0..=20 {
            for &p in &plain {
                for &stop in &[b'"', b'\\', 0x00, 0x1f, 0x0a] {
                    for at in 0..=len {
                        let mut v = vec![p; len];
                        if at < len {
                            v[at] = stop;
                        }
                        for start in 0..=len.min(3) {
                            assert_eq!(
                                plain_run(&v, start),
                                naive(&v, start),
                                "{v:?} from {start}"
                            );
                        }
                    }
                }
            }
        }
        let runs = byte_strings(777, 40, |r| match r % 8 {
            0 => b'"',
            1 => b'\\',
            2 => r & 0x1f,
            _ => r | 0x20,
        });
        for v in runs {
            assert_eq!(plain_run(&v, 0), naive(&v, 0), "{v:?}");
        }
    }

    /// 20,000 deterministic byte strings of 0 to `max - 1` bytes, each byte `pick(r)` of a
    /// pseudo-random `r` (a linear congruential generator from `seed`).
    fn byte_strings(seed: u32, max: u32, pick: impl Fn(u8) -> u8) -> Vec<Vec<u8>> {
        let mut x = seed;
        (0..20000)
            .map(|_| {
                let mut v = Vec::new();
                for _ in 0..(x % max) {
                    x = x.wrapping_mul(1103515245).wrapping_add(12345);
                    v.push(pick((x >> 16) as u8));
                }
                v
            })
            .collect()
    }

    #[test]
    fn utf8_lossy_is_from_utf8_lossy() {
        let mut cases: Vec<Vec<u8>> = vec![
            b"".to_vec(),
            b"plain".to_vec(),
            "Zo\u{eb} \u{1F600}".as_bytes().to_vec(),
            vec![0xff],
            vec![b'a', 0xc3],
            vec![0xe2, 0x82, b'x', 0xf0, 0x9f, 0x98],
            vec![0xed, 0xa0, 0x80, b'z'],
            vec![0xc0, 0x80, 0xf5, 0x80, 0x80, 0x80],
        ];
        // a deterministic spread of short byte strings biased to the UTF-8 lead bytes
        cases.extend(byte_strings(12345, 9, |r| match r % 4 {
            0 => b'a',
            1 => 0x80 | (r & 0x3f),
            2 => 0xc0 | (r & 0x3f),
            _ => r,
        }));
        for c in &cases {
            assert_eq!(utf8_lossy(c), String::from_utf8_lossy(c), "{c:?}");
            assert_eq!(
                matches!(utf8_lossy(c), Cow::Borrowed(_)),
                core::str::from_utf8(c).is_ok()
            );
        }
    }

    #[test]
    fn pings_by_version() {
        assert_eq!(decode("", 2), Frame::Ping);
        assert_eq!(decode("#1", 1), Frame::Ping);
        assert_eq!(decode("#1", 2), Frame::Raw);
        assert_eq!(decode("", 1), Frame::Raw);
        assert_eq!(decode("#2", 2), Frame::Raw);
    }

    #[test]
    fn captured_handshake_reply() {
        let p = one(
            r##"{"rid":1,"data":{"id":"HYkQvQaLtuA_OyCQAAAA","pingTimeout":30000,"isAuthenticated":false}}"##,
        );
        match p {
            Packet::Response { rid, data, error } => {
                assert_eq!(rid, 1.0);
                assert!(error.is_none());
                let d = data.unwrap();
                assert_eq!(
                    string_value(field(d, "id").unwrap()).unwrap(),
                    "HYkQvQaLtuA_OyCQAAAA"
                );
                assert_eq!(
                    number_value(field(d, "pingTimeout").unwrap()),
                    Some(30000.0)
                );
                assert_eq!(
                    bool_value(field(d, "isAuthenticated").unwrap()),
                    Some(false)
                );
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn captured_auth_error_reply() {
        let p = one(
            r##"{"rid":1,"data":{"id":"NOVSrS6PFGx-jVRbAAAF","pingTimeout":30000,"authError":{"message":"jwt expired","name":"AuthTokenExpiredError","expiry":"2026-11-21T23:39:45.000Z","isBadToken":true},"isAuthenticated":false}}"##,
        );
        let Packet::Response { data: Some(d), .. } = p else {
            panic!()
        };
        let e = field(d, "authError").unwrap();
        assert_eq!(
            string_value(field(e, "name").unwrap()).unwrap(),
            "AuthTokenExpiredError"
        );
        assert_eq!(bool_value(field(e, "isBadToken").unwrap()), Some(true));
    }

    #[test]
    fn captured_errors_are_kept_verbatim() {
        let cases = [
            (
                r##"{"rid":4,"error":{"message":"Something failed","name":"MyCustomError","extra":123}}"##,
                r##"{"message":"Something failed","name":"MyCustomError","extra":123}"##,
            ),
            (
                r##"{"rid":3,"error":{"message":"plain error"}}"##,
                r##"{"message":"plain error"}"##,
            ),
            (
                r##"{"rid":4,"error":"just a string"}"##,
                r##""just a string""##,
            ),
            (
                r##"{"rid":6,"error":{"message":"The invoke AGAction was blocked by inbound middleware","name":"SilentMiddlewareBlockedError","type":"inbound"}}"##,
                r##"{"message":"The invoke AGAction was blocked by inbound middleware","name":"SilentMiddlewareBlockedError","type":"inbound"}"##,
            ),
            (
                r##"{"rid":1,"error":{"message":"SC handshake rejected","name":"HandshakeRejected","statusCode":4008}}"##,
                r##"{"message":"SC handshake rejected","name":"HandshakeRejected","statusCode":4008}"##,
            ),
        ];
        for (frame, err) in cases {
            match one(frame) {
                Packet::Response { error: Some(e), .. } => assert_eq!(e, err),
                other => panic!("{frame}: {other:?}"),
            }
        }
    }

    #[test]
    fn captured_events() {
        assert_eq!(
            one(r##"{"event":"clientEvent","data":{"y":2}}"##),
            Packet::Transmit {
                event: "clientEvent".into(),
                data: Some(r##"{"y":2}"##)
            }
        );
        assert_eq!(
            one(r##"{"event":"clientProc","cid":1,"data":{"x":1}}"##),
            Packet::Invoke {
                event: "clientProc".into(),
                data: Some(r##"{"x":1}"##),
                cid: "1"
            }
        );
        assert_eq!(
            one(r##"{"event":"#removeAuthToken"}"##),
            Packet::Transmit {
                event: "#removeAuthToken".into(),
                data: None
            }
        );
        // A string cid is not an invoke.
        assert_eq!(
            one(r##"{"event":"x","cid":"11"}"##),
            Packet::Transmit {
                event: "x".into(),
                data: None
            }
        );
        assert_eq!(
            one(r##"{"event":"#publish","data":{"channel":"news","data":{"from":"server"}}}"##),
            Packet::Publish {
                channel: Some(r##""news""##),
                data: Some(r##"{"from":"server"}"##)
            }
        );
        assert_eq!(
            one(r##"{"event":"#kickOut","data":{"channel":"k1","message":"kicked for test"}}"##),
            Packet::Transmit {
                event: "#kickOut".into(),
                data: Some(r##"{"channel":"k1","message":"kicked for test"}"##)
            }
        );
        assert_eq!(
            one(r##"{"rid":2}"##),
            Packet::Response {
                rid: 2.0,
                data: None,
                error: None
            }
        );
    }

    #[test]
    fn a_publish_data_object_is_read_in_the_packets_pass() {
        // the last `data` wins, as for any field; keys with escapes; whitespace
        assert_eq!(
            one(
                r##"{"data":{"channel":"a"}, "event":"#publish", "data" : { "d\u0061ta" : [1, {"x":2}] , "channel":"b\"c" } }"##
            ),
            Packet::Publish {
                channel: Some(r##""b\"c""##),
                data: Some(r##"[1, {"x":2}]"##)
            }
        );
        // an object without the fields; a data that is not an object; a later non-object data
        assert_eq!(
            one(r##"{"event":"#publish","data":{}}"##),
            Packet::Publish {
                channel: None,
                data: None
            }
        );
        assert_eq!(
            one(r##"{"event":"#publish","data":"x"}"##),
            Packet::Transmit {
                event: "#publish".into(),
                data: Some(r##""x""##)
            }
        );
        assert_eq!(
            one(r##"{"event":"#publish","data":{"channel":"a","data":1},"data":2}"##),
            Packet::Transmit {
                event: "#publish".into(),
                data: Some("2")
            }
        );
        // with a numeric cid it stays an invoke; other events keep their data text
        assert_eq!(
            one(r##"{"event":"#publish","cid":3,"data":{"channel":"a"}}"##),
            Packet::Invoke {
                event: "#publish".into(),
                data: Some(r##"{"channel":"a"}"##),
                cid: "3"
            }
        );
        assert_eq!(
            one(r##"{"event":"e","data":{"channel":"a"}}"##),
            Packet::Transmit {
                event: "e".into(),
                data: Some(r##"{"channel":"a"}"##)
            }
        );
        // an invalid inner object makes the frame raw, as before; so does trailing text
        for bad in [
            r##"{"event":"#publish","data":{"channel":"a",}}"##,
            r##"{"event":"#publish","data":{"channel":}}"##,
            r##"{"event":"#publish","data":{"channel":"a"}} x"##,
        ] {
            assert_eq!(decode(bad, 2), Frame::Raw, "{bad}");
        }
        // in a batch too
        let Frame::Packets(v) = decode(
            r##"[{"event":"#publish","data":{"channel":"n","data":1}},{"event":"#publish","data":{"channel":"n"}}]"##,
            2,
        ) else {
            panic!()
        };
        assert_eq!(
            v,
            [
                Packet::Publish {
                    channel: Some(r##""n""##),
                    data: Some("1")
                },
                Packet::Publish {
                    channel: Some(r##""n""##),
                    data: None
                },
            ]
        );
    }

    #[test]
    fn captured_batch() {
        let f = decode(
            r##"[{"event":"b","data":1},{"event":"b","data":2},{"event":"#publish","data":{"channel":"news","data":"batched pub"}}]"##,
            2,
        );
        let Frame::Packets(v) = f else { panic!() };
        assert_eq!(v.len(), 3);
        assert_eq!(
            v[1],
            Packet::Transmit {
                event: "b".into(),
                data: Some("2")
            }
        );
        // a batch element of unknown shape is raw, the others still count
        let Frame::Packets(v) = decode(r##"[1,{"rid":3}]"##, 2) else {
            panic!()
        };
        assert_eq!(
            v,
            vec![
                Packet::Raw("1"),
                Packet::Response {
                    rid: 3.0,
                    data: None,
                    error: None
                }
            ]
        );
    }

    #[test]
    fn raw_frames() {
        for t in [
            "this is not json",
            "{\"broken json",
            "hello",
            "[1,",
            "{\"a\":1}}",
            "{'a':1}",
            "\"str\"",
            "12",
            "#2",
            "{\"a\":01}",
            "[\"\\x\"]",
        ] {
            assert!(matches!(decode(t, 2), Frame::Raw), "{t}");
        }
        assert_eq!(
            one(r##"{"something":"else"}"##),
            Packet::Raw(r##"{"something":"else"}"##)
        );
        assert_eq!(one(r##" {"rid":"1"} "##), Packet::Raw(r##"{"rid":"1"}"##));
    }

    #[test]
    fn deep_and_huge_input_does_not_overflow() {
        let deep = format!(
            "{{\"event\":\"e\",\"data\":{}{}}}",
            "[".repeat(200_000),
            "]".repeat(200_000)
        );
        assert!(matches!(
            decode(&deep, 2),
            Frame::One(_) | Frame::Packets(_)
        ));
        let bad = "[".repeat(100_000);
        assert_eq!(decode(&bad, 2), Frame::Raw);
    }

    #[test]
    fn mixed_nesting_is_tracked_past_64_levels() {
        let kind = |i: usize| i % 3 == 0; // true: an object level
        let open: String = (0..100)
            .map(|i| if kind(i) { "{\"k\":" } else { "[" })
            .collect();
        let close: Vec<char> = (0..100)
            .rev()
            .map(|i| if kind(i) { '}' } else { ']' })
            .collect();
        let frame = |close: &[char]| {
            let close: String = close.iter().collect();
            format!("{{\"event\":\"e\",\"data\":{open}1{close}}}")
        };
        assert!(matches!(
            decode(&frame(&close), 2),
            Frame::One(_) | Frame::Packets(_)
        ));
        // The closer of level 80 (past the bit set) and of level 10 (in it), each swapped.
        for level in [80, 10] {
            let mut bad = close.clone();
            let at = 99 - level;
            bad[at] = if bad[at] == '}' { ']' } else { '}' };
            assert_eq!(decode(&frame(&bad), 2), Frame::Raw, "level {level}");
        }
    }

    #[test]
    fn fields_of_reads_raw_values_last_wins_and_escaped_keys() {
        let t = r##"{"channel":"a","data":{"x":[1,"}"]},"\u0063hannel":"b","other":1}"##;
        let [c, d, missing] = fields_of(t, ["channel", "data", "nope"]).unwrap();
        assert_eq!(c, Some("\"b\""));
        assert_eq!(d, Some(r##"{"x":[1,"}"]}"##));
        assert_eq!(missing, None);
        assert!(fields_of("{\"a\":1", ["a"]).is_none());
        assert!(fields_of("[1]", ["a"]).is_none());
        assert_eq!(fields_of(" {} ", ["a"]), Some([None]));
    }

    #[test]
    fn escapes_round_trip() {
        let name = "we\"ird\\ \n\u{1} é 😀";
        let frame = encode_event(name, Some("1"), Some(7));
        assert!(validate(&frame));
        assert_eq!(
            one(&frame),
            Packet::Invoke {
                event: name.into(),
                data: Some("1"),
                cid: "7"
            }
        );
        assert_eq!(string_value(r##""\ud83d\ude00\u00e9""##).unwrap(), "😀é");
        assert_eq!(string_value(r##""\ud83d""##).unwrap(), "\u{FFFD}");
    }

    #[test]
    fn number_value_reads_json_numbers_like_std() {
        // Exact where envelope fields live: integers, short decimals, small exponents.
        for t in [
            "0",
            "-0",
            "1",
            "7",
            "30000",
            "4008",
            "9007199254740991",
            "9007199254740993",
            "12345678901234567890",
            "1.0",
            "1.5",
            "-2.25",
            "0.1",
            "0.3",
            "123.456",
            "1e0",
            "1E2",
            "1e+2",
            "2.5e-3",
            "1e22",
            "1e-22",
            "3.14159",
            "1e309",
            "1e-400",
            "0.000001",
            "100e-2",
        ] {
            let want: f64 = t.parse().unwrap();
            assert_eq!(number_value(t), Some(want), "{t}");
        }
        // Beyond the fast path: within a few ulps.
        for t in [
            "1e308",
            "1.7976931348623157e300",
            "2.2250738585072014e-308",
            "1e-300",
            "123456789e-40",
        ] {
            let want: f64 = t.parse().unwrap();
            let got = number_value(t).unwrap();
            assert!(((got - want) / want).abs() < 1e-14, "{t}: {got} vs {want}");
        }
        // Not exactly one JSON number.
        for t in [
            "", "-", "+1", "01", "1.", ".5", "1e", "1e+", "0x10", "inf", "-inf", "NaN", " 1", "1 ",
            "\"1\"", "true", "null",
        ] {
            assert_eq!(number_value(t), None, "{t:?}");
        }
        // rid goes through it.
        assert!(matches!(one(r#"{"rid":2.0e0}"#), Packet::Response { rid, .. } if rid == 2.0));
        assert_eq!(one(r#"{"rid":"2"}"#), Packet::Raw(r#"{"rid":"2"}"#));
    }

    #[test]
    fn quote_escapes_as_the_char_by_char_encoder_did() {
        // (the encoder before runs were copied whole)
        fn by_char(s: &str) -> String {
            let mut out = String::from('"');
            for c in s.chars() {
                match c {
                    '"' => out.push_str("\\\""),
                    '\\' => out.push_str("\\\\"),
                    '\n' => out.push_str("\\n"),
                    '\r' => out.push_str("\\r"),
                    '\t' => out.push_str("\\t"),
                    c if (c as u32) < 0x20 => {
                        out.push_str(&format!("\\u{:04x}", c as u32));
                    }
                    c => out.push(c),
                }
            }
            out.push('"');
            out
        }
        let alphabet: Vec<char> = (0..0x80u8)
            .map(char::from)
            .chain(['é', '\u{7ff}', '\u{800}', '😀', '\u{FFFD}'])
            .collect();
        let mut texts = vec![String::new()];
        for &a in &alphabet {
            for &b in &alphabet {
                texts.push([a, b].iter().collect());
                texts.push(format!("{a}echo{b}"));
            }
        }
        for t in texts {
            assert_eq!(quote(&t), by_char(&t), "{t:?}");
            let mut out = String::from("x");
            quote_into(&mut out, &t);
            assert_eq!(out, format!("x{}", by_char(&t)));
        }
    }

    #[test]
    fn push_u64_and_control_escapes() {
        for n in [0, 1, 9, 10, 99, 100, 12345, u64::from(u32::MAX), u64::MAX] {
            let mut s = String::new();
            push_u64(&mut s, n);
            assert_eq!(s, n.to_string());
        }
        assert_eq!(
            quote("\u{0}\u{1f}\u{10}\u{b}"),
            r#""\u0000\u001f\u0010\u000b""#
        );
    }

    #[test]
    fn encodes_like_the_js_client() {
        assert_eq!(
            encode_event("#handshake", Some(r##"{"authToken":null}"##), Some(1)),
            r##"{"event":"#handshake","data":{"authToken":null},"cid":1}"##
        );
        assert_eq!(
            encode_event("note", Some(r##"{"a":1}"##), None),
            r##"{"event":"note","data":{"a":1}}"##
        );
        assert_eq!(
            encode_event("#removeAuthToken", None, None),
            r##"{"event":"#removeAuthToken"}"##
        );
        assert_eq!(
            encode_response("1", Some(r##"{"ok":true}"##), None),
            r##"{"rid":1,"data":{"ok":true}}"##
        );
        assert_eq!(
            encode_response("5", None, Some(r##""Error message""##)),
            r##"{"rid":5,"error":"Error message"}"##
        );
        assert_eq!(
            encode_publish_data("news", Some("\"x\"")),
            r##"{"channel":"news","data":"x"}"##
        );
    }

    /// The reader against `serde_json` on 40 000 mutants of valid texts: the same verdict on
    /// every one, and the same fields where it reads an object.
    #[test]
    fn the_publish_fast_path_reads_what_the_general_reader_reads() {
        let seeds = [
            r##"{"event":"#publish","data":{"channel":"bench","data":{"n":1,"text":"hello"}}}"##,
            r##"{"event":"#publish","data":{"channel":"a\"b\u00e9","data":"x"}}"##,
            r##"{"event":"#publish","data":{"channel":"c","data":[1,{"d":null}]}}"##,
        ];
        let alphabet = b"{}[]:,\"\\ \t\x01u019.-abdefhlnrtu#";
        fast_path_agrees(&seeds, alphabet, 11, publish_at);
        // what the server's shape does not cover goes to the general reader
        for t in [
            r##"{"event":"#publish","data":{"channel":"a","data":1,"channel":"b"}}"##,
            r##"{"event":"#publish","data":{"channel":"a","data":1},"cid":7}"##,
            r##"{"event":"#publish","data":{"channel":"a","data":1} }"##,
            r##"{"event":"#publish","data":{"channel":"a","data" :1}}"##,
            r##"{"event":"#publish","data":{"channel":"a","data":1},"event":"x"}"##,
            r##"{"event":"#publish","data":{"channel":"a\x","data":1}}"##,
        ] {
            assert_eq!(publish_at(t, 0), None, "{t}");
        }
        let t = r##"{"event":"#publish","data":{"channel":"a","data":{"x":[]}}}"##;
        assert_eq!(publish_at(t, 0), any_packet_at(t, 0));
        assert!(publish_at(t, 0).is_some());
    }

    #[test]
    fn the_response_fast_path_reads_what_the_general_reader_reads() {
        let seeds = [
            r##"{"rid":12,"data":"ok"}"##,
            r##"{"rid":7,"data":{"n":1,"text":"a\"b"}}"##,
            r##"{"rid":123456789012345,"data":[1,{"d":null}]}"##,
        ];
        let alphabet = b"{}[]:,\"\\ \t\x01u0159.-eEabdiklnrtu";
        fast_path_agrees(&seeds, alphabet, 13, response_at);
        for t in [
            r##"{"rid":1,"data":1,"data":2}"##,
            r##"{"rid":1,"data":1,"error":2}"##,
            r##"{"rid":01,"data":1}"##,
            r##"{"rid":1.5,"data":1}"##,
            r##"{"rid":1234567890123456,"data":1}"##,
            r##"{"rid":123456789012345678901234567890,"data":1}"##,
            r##"{"rid":1,"data" :1}"##,
            r##"{"rid":1,"data":1 }"##,
            r##"{"rid":,"data":1}"##,
        ] {
            assert_eq!(response_at(t, 0), None, "{t}");
        }
        let t = r##"{"rid":100,"data":{"x":[]}}"##;
        assert_eq!(response_at(t, 0), any_packet_at(t, 0));
        assert!(response_at(t, 0).is_some());
    }

    #[test]
    fn the_reader_agrees_with_serde_json() {
        let seeds = [
            r##"{"event":"#publish","data":{"channel":"a\"b","data":{"n":1,"t":"x y"}}}"##,
            r#"[{"rid":12,"data":[1,-2.5e3,true,false,null]},{"event":"e","cid":3}]"#,
            r#"{"a":"\u00e9\n\t\\\/","b":[[],{}],"c":{"d":[0.5,{"e":"f"}]}}"#,
            r#" [ "s" , 10 , { "k" : [ null ] } ] "#,
        ];
        // (no `e`/`E` among the inserted bytes: an exponent out of f64's range is valid JSON
        // that serde_json refuses)
        let alphabet = b"{}[]:,\"\\/ \t\n\r\x01\x1fu0123456789.-+abfnrtlsx\xc3\xa9";
        mutants(&seeds, alphabet, 7, 1, |text| {
            let theirs = serde_json::from_str::<serde_json::Value>(text);
            assert_eq!(validate(text), theirs.is_ok(), "{text:?}: {theirs:?}");
            if let Ok(serde_json::Value::Object(o)) = &theirs {
                let [a, c] = fields_of(text, ["a", "c"]).expect("an object");
                let raw = |v: Option<&str>| {
                    v.map(|v| serde_json::from_str::<serde_json::Value>(v).unwrap())
                };
                assert_eq!(raw(a), o.get("a").cloned(), "{text:?}");
                assert_eq!(raw(c), o.get("c").cloned(), "{text:?}");
            }
        });
    }

    /// 40,000 mutants of `seeds` (in turn) for the readers' agreement tests: each with `min` to
    /// `min + 2` edits (a byte removed, replaced or inserted from `alphabet`) drawn from a
    /// generator seeded `seed`; `f` gets those that are UTF-8.
    /// A fast path (`publish_at`, `response_at`) over 40k mutants of `seeds`: where it reads a
    /// packet, the general reader reads the same one; it may only decline what is not in the
    /// server's shape. Most mutants must be read fast, and many refused by both.
    fn fast_path_agrees(
        seeds: &[&str],
        alphabet: &[u8],
        seed: u64,
        fast_path: fn(&str, usize) -> Option<(Packet<'_>, usize)>,
    ) {
        let (mut fast, mut agreed) = (0, 0);
        mutants(seeds, alphabet, seed, 0, |text| {
            let general = any_packet_at(text, 0);
            match fast_path(text, 0) {
                Some(p) => {
                    fast += 1;
                    assert_eq!(Some(&p), general.as_ref(), "{text:?}");
                }
                None => agreed += usize::from(general.is_none()),
            }
        });
        assert!(
            fast > 10_000 && agreed > 1_000,
            "{fast} read fast, {agreed} refused by both"
        );
    }

    #[test]
    fn unescape_reads_as_the_char_by_char_decoder_did() {
        // (the decoder before it read bytes)
        fn by_char(raw: &str) -> Option<String> {
            fn hex4(chars: &mut core::str::Chars<'_>) -> Option<u32> {
                let mut v = 0u32;
                for _ in 0..4 {
                    v = v * 16 + chars.next()?.to_digit(16)?;
                }
                Some(v)
            }
            let inner = unquote(raw)?;
            let mut out = String::new();
            let mut chars = inner.chars();
            while let Some(c) = chars.next() {
                if c != '\\' {
                    out.push(c);
                    continue;
                }
                match chars.next()? {
                    '"' => out.push('"'),
                    '\\' => out.push('\\'),
                    '/' => out.push('/'),
                    'b' => out.push('\u{8}'),
                    'f' => out.push('\u{c}'),
                    'n' => out.push('\n'),
                    'r' => out.push('\r'),
                    't' => out.push('\t'),
                    'u' => {
                        let hi = hex4(&mut chars)?;
                        if (0xD800..0xDC00).contains(&hi) {
                            if let Some(tail) = chars.as_str().strip_prefix("\\u") {
                                let mut t = tail.chars();
                                if let Some(lo) = hex4(&mut t) {
                                    if (0xDC00..0xE000).contains(&lo) {
                                        let cp = 0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00);
                                        out.push(char::from_u32(cp).unwrap_or('\u{FFFD}'));
                                        chars = t;
                                        continue;
                                    }
                                }
                            }
                            out.push('\u{FFFD}');
                        } else {
                            out.push(char::from_u32(hi).unwrap_or('\u{FFFD}'));
                        }
                    }
                    _ => return None,
                }
            }
            Some(out)
        }
        let seeds = [
            r#""\ud83d\ude00\u00e9""#,
            r#""a\ud800\udbff\udc00b""#,
            r#""\n\r\t\b\f\/\\\"x""#,
            r#""é\u0041\uDFFF\uD83D\uDE00""#,
            r#""\ud83d\u12""#,
        ];
        let mut n = 0;
        mutants(&seeds, b"\\u\"dDcC0189aAfFeE/nrtbx\xc3\xa9", 7, 1, |t| {
            assert_eq!(unescape(t), by_char(t), "{t:?}");
            n += usize::from(unescape(t).is_some());
        });
        assert!(n > 5_000, "{n}");
        for s in seeds {
            assert_eq!(unescape(s), by_char(s), "{s:?}");
        }
    }

    fn mutants(seeds: &[&str], alphabet: &[u8], seed: u64, min: usize, mut f: impl FnMut(&str)) {
        let mut rng = crate::proto::backoff::XorShift::new(seed);
        let mut pick = |n: usize| (rng.next_u64() % n as u64) as usize;
        for k in 0..40_000 {
            let mut t = seeds[k % seeds.len()].as_bytes().to_vec();
            for _ in 0..min + pick(3) {
                let at = pick(t.len() + 1);
                match pick(3) {
                    0 if at < t.len() => {
                        t.remove(at);
                    }
                    1 if at < t.len() => t[at] = alphabet[pick(alphabet.len())],
                    _ => t.insert(at, alphabet[pick(alphabet.len())]),
                }
            }
            if let Ok(text) = core::str::from_utf8(&t) {
                f(text);
            }
        }
    }
}
