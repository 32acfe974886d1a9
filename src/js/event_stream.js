// The JS face of EventStream: the public class, over a handful of wasm exports (the engine in
// src/engine/sse.rs, reached through src/js/event_stream.rs). Owns what is JavaScript by
// nature: option checks with their InvalidArgumentsError messages, URL resolution, the
// listener registries, onopen/onmessage/onerror, once() with a timeout, the for-await queues,
// and the event objects. Every lifecycle rule (reconnects, last id, status policy) is the
// engine's; readyState and lastEventId are read from it.
//
// The engine hands over the events of one pump in ONE call, `deliver(es, nums, text)`: `nums`
// holds records (kind, then numbers and UTF-16 lengths of the strings in `text`, in order):
//   0 open | 1 message typeLen dataLen idLen | 2 error kind status(-1: none) msgLen
//   3 reconnecting attempt delay | 4 giveUp attempts | 5 close reason lastIdLen
// Nothing is delivered after close: a listener that closes the stream ends the batch.
//
// The end of this module is the browser side of the two SSE drivers (src/web/eventsource.rs,
// src/web/fetch_stream.rs): plain functions the wasm imports, not part of the class.

import {
  AsyncQueue, Emitter, absent, hrefOf, invalid, isObject, makeError, numbersAt, pageBase, read, report,
  sseHost as host,
} from './support.js';

// `for await` buffer: message events kept for a slow consumer before the oldest is dropped.
const ITERATOR_BUFFER = 1000;
const LIFECYCLE = ['open', 'error', 'reconnecting', 'giveUp', 'close'];
const KINDS = ['status', 'contentType', 'unauthorized', 'network', 'ended', 'oversized', 'headers'];
const REASONS = ['client', 'noContent', 'giveUp', 'error'];
const BACKOFF = ['initialDelay', 'multiplier', 'maxDelay', 'jitter', 'randomness', 'maxAttempts'];

const wrong = (option, expected) => invalid(`The ${option} option must be ${expected}`);

function eventName(name) {
  if (typeof name !== 'string') throw invalid('The event name must be a string');
  return name;
}

// A header map -> [[name, value], ...] (numbers become strings), or the text of what is wrong.
// Checked by `new Headers`, so `fetch` cannot fail on it later; page objects may throw anywhere.
function headerPairs(v) {
  try {
    if (!isObject(v)) return 'an object of header names to strings';
    const src = typeof Headers === 'function' && v instanceof Headers ? Array.from(v)
      : Array.isArray(v) ? v : Object.entries(v);
    const out = [];
    for (const p of src) {
      if (!Array.isArray(p)) return 'pairs of strings';
      const k = p[0], x = p[1];
      if (typeof k !== 'string') return 'string header names';
      if (typeof x === 'number') out.push([k, String(x)]);
      else if (typeof x === 'string') out.push([k, x]);
      else return 'a string for header ' + k;
      if (out.length > 256) return 'at most 256 headers';
    }
    new Headers(out);
    return out;
  } catch (e) {
    return 'a readable map of valid header names and ISO-8859-1 values';
  }
}

// Pairs -> "name\nvalue\n..." (a checked header holds no newline).
const flat = (pairs) => pairs.map((p) => p[0] + '\n' + p[1]).join('\n');

// getHeaders() (sync or async) -> the flat headers; rejects with the text of the failure only.
// `fn` is called in a microtask (an async step: not from inside the engine's pump).
export async function callGetHeaders(fn) {
  let v;
  await 0;
  try {
    v = await fn();
  } catch (e) {
    throw errorText(e, 'getHeaders threw or rejected');
  }
  if (absent(v)) return '';
  const h = headerPairs(v);
  if (typeof h === 'string') throw 'getHeaders must return ' + h;
  return flat(h);
}

function parseUrl(url) {
  const h = hrefOf(url);
  if (h === undefined) throw invalid('url must be a string or a URL');
  return h;
}

// Resolves against the page (or worker) location; only http: and https: are accepted.
function resolveUrl(url) {
  let u;
  try {
    u = new URL(url, pageBase());
  } catch (_) {}
  if (!u || (u.protocol !== 'http:' && u.protocol !== 'https:')) {
    throw invalid('Invalid EventStream option or url: url');
  }
  return u.href;
}

// The options -> host.open's array of arguments after the url: `flags` (1: fetch, 2:
// withCredentials, 4 << i: backoff[i] given), the six backoff numbers (BACKOFF), the last event
// id, its query parameter, the flat headers and getHeaders.
function parseOptions(options) {
  const b = [0, 0, 0, 0, 0, 0];
  let flags = 0, last, param = 'lastEventId', headers = '', some = false, get;
  const args = () => [flags, ...b, last, param, headers, get];
  if (absent(options)) return args();
  if (!isObject(options)) throw invalid('options must be an object');
  let v = read(options, 'transport');
  if (!absent(v)) {
    if (v !== 'eventsource' && v !== 'fetch') throw wrong('transport', "'eventsource' or 'fetch'");
    if (v === 'fetch') flags |= 1;
  }
  v = read(options, 'withCredentials');
  if (!absent(v)) {
    if (typeof v !== 'boolean') throw wrong('withCredentials', 'a boolean');
    if (v) flags |= 2;
  }
  v = read(options, 'autoReconnectOptions');
  if (!absent(v)) {
    if (!isObject(v)) throw wrong('autoReconnectOptions', 'an object');
    BACKOFF.forEach((key, i) => {
      const x = read(v, key);
      if (absent(x)) return;
      if (typeof x !== 'number') throw wrong('autoReconnectOptions.' + key, 'a number');
      if (key === 'maxAttempts' && x !== Infinity && !(x >= 1 && Number.isInteger(x) && x <= 4294967295)) {
        throw wrong('autoReconnectOptions.maxAttempts', 'a positive integer or Infinity');
      }
      b[i] = x;
      flags |= 4 << i;
    });
  }
  v = read(options, 'lastEventId');
  if (!absent(v)) {
    // A server cannot send NUL, CR or LF in an id, and no header can carry them.
    if (typeof v === 'string' && !/[\0\r\n]/.test(v)) last = v;
    else if (typeof v === 'number' && Number.isFinite(v)) last = String(v);
    else throw wrong('lastEventId', 'a string without NUL, CR or LF');
  }
  v = read(options, 'lastEventIdParam');
  if (!absent(v)) {
    if (typeof v !== 'string' || v === '') throw wrong('lastEventIdParam', 'a non-empty string');
    param = v;
  }
  v = read(options, 'headers');
  if (!absent(v)) {
    const h = headerPairs(v);
    if (typeof h === 'string') throw wrong('headers', h);
    headers = flat(h);
    some = h.length > 0;
  }
  v = read(options, 'getHeaders');
  if (!absent(v)) {
    if (typeof v !== 'function') throw wrong('getHeaders', 'a function');
    get = v;
  }
  if (!(flags & 1) && (some || get)) {
    throw invalid("The headers and getHeaders options need transport: 'fetch' (EventSource cannot send headers)");
  }
  return args();
}

// A `for await` queue of `emitter`'s message events, ended on close (at once when `closed`).
function eventQueue(emitter, closed) {
  let offs = [];
  const queue = new AsyncQueue(ITERATOR_BUFFER, () => { for (const off of offs) off(); });
  if (closed) queue.end();
  else {
    offs = [
      emitter.on('message', (ev) => queue.push(ev)),
      // After close() nothing is delivered, not even what the loop has not read yet.
      emitter.on('close', (ev) => { if (ev.reason === 'client') queue.return(); else queue.end(); }),
    ];
  }
  return queue;
}

let deliverTo;

/// `new EventStream(url, options)`: Server-Sent Events with reconnection, resume and the status
/// policy of API.md.
export class EventStream {
  #id;
  #url;
  #em = new Emitter();
  // addEventListener listeners of lifecycle names, for server events of those types.
  #server = new Emitter();
  #handlers = { open: null, message: null, error: null };
  #closed = false;
  #lastId = '';

  constructor(url, options) {
    if (!host) throw makeError('Error', 'sockline is not initialized (await init() first)');
    const href = parseUrl(url);
    const args = parseOptions(options);
    const u = resolveUrl(href);
    const r = host.open(this, [u, ...args]);
    if (typeof r === 'string') throw invalid('Invalid option ' + r);
    this.#id = r;
    this.#url = u;
  }

  static {
    deliverTo = (es, nums, text) => es.#batch(nums, text);
    // onopen, onmessage, onerror: a function, or null.
    for (const name of ['open', 'message', 'error']) {
      Object.defineProperty(this.prototype, 'on' + name, {
        get() {
          return this.#handlers[name];
        },
        set(f) {
          this.#handlers[name] = typeof f === 'function' ? f : null;
        },
        configurable: true,
      });
    }
  }

  /// 0 connecting (also while waiting to reconnect), 1 open, 2 closed.
  get readyState() {
    return this.#closed ? 2 : host.state(this.#id);
  }

  get url() {
    return this.#url;
  }

  get lastEventId() {
    return this.#closed ? this.#lastId : host.lastId(this.#id);
  }

  /// Closes for good and releases every listener, timer and request it holds.
  close() {
    if (!this.#closed) host.close(this.#id);
  }

  /// Like a wasm-bindgen object's free(): closes (the object holds nothing else).
  free() {
    this.close();
  }

  #watch(name) {
    if (!this.#closed) host.watch(this.#id, name);
  }

  /// Adds a listener; returns the function that removes it.
  on(name, listener) {
    const remover = this.#em.on(eventName(name), listener);
    this.#watch(name);
    return remover;
  }

  /// The first payload of `name`; rejects with TimeoutError after `timeoutMs`.
  once(name, timeoutMs) {
    if (typeof name !== 'string') return Promise.reject(invalid('The event name must be a string'));
    this.#watch(name);
    return this.#em.once(name, timeoutMs);
  }

  /// Removes `listener` from `name`, or every listener of `name` when omitted (those added with
  /// addEventListener too).
  off(name, listener) {
    this.#em.off(name, listener);
    this.#server.off(name, listener);
  }

  /// Like `on`, and for a lifecycle name also the server events of that type (as a native
  /// EventSource delivers a server `event: error` to addEventListener('error')).
  addEventListener(name, listener) {
    if (absent(listener)) return;
    this.#em.on(eventName(name), listener);
    if (LIFECYCLE.includes(name)) this.#server.on(name, listener);
    this.#watch(name);
  }

  removeEventListener(name, listener) {
    if (absent(listener)) return;
    this.#em.off(name, listener);
    this.#server.off(name, listener);
  }

  /// `for await (const ev of es)`: message events; ends on close. Holds at most 1000 unread
  /// events, dropping the oldest.
  [Symbol.asyncIterator]() {
    return eventQueue(this.#em, this.#closed);
  }

  #batch(n, text) {
    let i = 0, at = 0;
    const str = (len) => text.slice(at, (at += len));
    while (i < n.length) {
      // A listener closed the stream: nothing more is delivered.
      if (this.#closed) return;
      const kind = n[i++];
      let name, payload, server = false;
      if (kind === 0) {
        name = 'open';
        payload = { type: 'open' };
      } else if (kind === 1) {
        const lt = n[i++], ld = n[i++], li = n[i++];
        name = str(lt);
        payload = { type: name, data: str(ld), lastEventId: str(li) };
        server = LIFECYCLE.includes(name);
      } else if (kind === 2) {
        const type = KINDS[n[i++]], status = n[i++];
        name = 'error';
        payload = makeError('EventStreamError', str(n[i++]), status < 0 ? { type } : { type, status });
      } else if (kind === 3) {
        name = 'reconnecting';
        payload = { attempt: n[i++], delay: n[i++] };
      } else if (kind === 4) {
        name = 'giveUp';
        payload = { attempts: n[i++] };
      } else {
        name = 'close';
        payload = { reason: REASONS[n[i++]] };
        this.#lastId = str(n[i++]);
        this.#closed = true;
      }
      if (server) {
        // A server event named like a lifecycle event: addEventListener listeners only.
        this.#server.emit(name, payload);
        continue;
      }
      const h = name === 'open' || name === 'message' || name === 'error' ? this.#handlers[name] : null;
      if (h) {
        try {
          h.call(undefined, payload);
        } catch (e) {
          report(e);
        }
      }
      this.#em.emit(name, payload);
    }
  }
}

if (typeof Symbol.dispose === 'symbol') {
  EventStream.prototype[Symbol.dispose] = EventStream.prototype.free;
}

/// The events of one pump: `n` numbers at `at` in wasm memory, and their text.
export function deliver(es, at, n, text) {
  try {
    // (copied: a listener that grows the memory would detach a view of it)
    deliverTo(es, numbersAt(at, n), text);
  } catch (e) {
    report(e); // (nothing may unwind into the wasm: its pump would stay busy for good)
  }
}

/// `es[Symbol.asyncIterator]()` (for Rust callers of the test binding).
export function iteratorOf(es) {
  return es[Symbol.asyncIterator]();
}

// ---- The drivers' browser calls (src/web/eventsource.rs, src/web/fetch_stream.rs) ----
// One call each where web-sys takes an import per constructor, method, getter and setter. A
// connection reports to ONE callback of the wasm, `cb(kind, number, a, b, c)` (returning true
// to read on, for a fetch), with these kinds (the numbers of `SseInput` in eventsource.rs):
//   0 open | 1 message a=type b=data c=lastEventId (undefined: over the cap) | 2 oversized
//   3 error | 4 head number=status a=Content-Type b=Retry-After (null: none) c=its time when an
//   HTTP-date (ms since the epoch; else undefined) | 5 chunk a=bytes
//   6 end | 7 failed a=text
// A connection is a function: called, it closes the EventSource (removing its listeners) or
// aborts the fetch; nothing reaches `cb` after that. `esOpen` and `fetchStart` return the text
// of what they threw instead of throwing.

// The text of a thrown or rejected value: itself when a string, else its `message` when that is
// a string; else `other` (as src/web/mod.rs `error_text`).
function errorText(e, other) {
  if (typeof e === 'string') return e;
  const m = isObject(e) ? read(e, 'message') : undefined;
  return typeof m === 'string' ? m : other;
}

// Ignores what a page's wrapped addEventListener / removeEventListener throws.
function listen(t, add, name, f) {
  try {
    if (add) t.addEventListener(name, f);
    else t.removeEventListener(name, f);
  } catch (_) {}
}

/// A browser EventSource reporting to `cb`; `cap`: the 1 MiB event cap (data of `cap` UTF-16
/// units or more is dropped uncopied; an id over it is reported as undefined).
export function esOpen(url, cred, cap, cb) {
  let es;
  try {
    es = new EventSource(url, { withCredentials: cred });
  } catch (e) {
    return errorText(e, 'unknown error');
  }
  const names = [];
  const msg = (e) => {
    const d = e.data;
    if (typeof d === 'string' && d.length >= cap) return cb(2, 0);
    const id = read(e, 'lastEventId');
    cb(1, 0, e.type, d, typeof id !== 'string' ? '' : id.length > cap ? undefined : id);
  };
  // A server event named `open` or `error` is a MessageEvent; the browser's are not.
  const life = (kind) => (e) => (e instanceof MessageEvent ? msg(e) : cb(kind, 0));
  const onOpen = life(0), onError = life(3);
  listen(es, true, 'open', onOpen);
  listen(es, true, 'error', onError);
  const conn = () => {
    es.close();
    listen(es, false, 'open', onOpen);
    listen(es, false, 'error', onError);
    for (const n of names.splice(0)) listen(es, false, n, msg);
  };
  // Adds a listener for the event type `name` (once per name).
  conn.l = (name) => {
    if (name === 'open' || name === 'error' || names.includes(name)) return;
    names.push(name);
    listen(es, true, name, msg);
  };
  conn.l('message');
  return conn;
}

export const esListen = (conn, name) => conn.l(name);
export const sseStop = (conn) => conn();

const FAILED = Symbol();

const MONTHS = 'JanFebMarAprMayJunJulAugSepOctNovDec';
// An IMF-fixdate, its whitespace runs made one space: six words (any weekday with its comma, a
// day of one or two digits, the month (one of MONTHS: a capital there starts one), a four-digit
// year, hh:mm:ss, GMT).
const HTTP_DATE = /^ ?[^ ]*, (\d\d?) ([A-Z][a-z]{2}) (\d{4}) (\d\d):(\d\d):(\d\d) GMT ?$/;

/// For the fetch driver (src/web/eventsource.rs): a `Retry-After` HTTP-date (`Sun, 06 Nov 1994
/// 08:49:37 GMT`) -> its ms since the epoch; NaN for anything else (a delta-seconds value is the
/// session's to read). The date is
/// proleptic Gregorian; `Date.UTC` counts it from a year 400 later (so that years 0-99 are not
/// taken for 1900-1999), less 400 years' 146097 days.
export function httpDate(v) {
  // (whitespace as the session's header splitter has it: `char::is_whitespace` up to U+00FF)
  const m = typeof v === 'string' && HTTP_DATE.exec(v.replace(/[\t-\r \x85\xa0]+/g, ' '));
  const mo = m ? MONTHS.indexOf(m[2]) : -1;
  if (mo >= 0 && m[1] > 0 && m[1] < 32 && m[4] < 24 && m[5] < 60 && m[6] < 61) {
    return Date.UTC(+m[3] + 400, mo / 3, m[1], m[4], m[5], m[6]) - 12622780800000;
  }
  return NaN;
}

/// A fresh request header object for `fetchStart` (`fetchHeader` adds to it).
export const fetchHeaders = () => ({ Accept: 'text/event-stream' });

export function fetchHeader(h, name, value) {
  try {
    h[name] = value;
  } catch (e) {
    if (!(FAILED in h)) h[FAILED] = e;
  }
}

/// `GET url` with the headers `h`, reporting its head, body chunks and end (or failure) to `cb`.
export function fetchStart(url, h, cred, cb) {
  let c, s, p;
  try {
    if (FAILED in h) throw h[FAILED];
    c = new AbortController();
    s = c.signal;
    p = fetch(url, { method: 'GET', headers: h, mode: 'cors', credentials: cred ? 'include' : 'same-origin', signal: s });
  } catch (e) {
    return errorText(e, 'unknown error');
  }
  const go = (kind, n, a, b, c) => !s.aborted && cb(kind, n, a, b, c) === true;
  const fail = (e) => go(7, 0, errorText(e, 'the request failed'));
  p.then((r) => {
    if (!(r instanceof Response)) return fail(r);
    const hs = r.headers;
    const get = (name) => {
      try {
        return hs.get(name);
      } catch (_) {
        return null;
      }
    };
    const status = r.status, type = get('content-type'), after = get('retry-after'), body = r.body;
    if (!go(4, status, type, after)) {
      // The callback may have let go of the connection: the abort has cancelled the body, and a
      // `cancel()` now would reject with the AbortError, unhandled (a page error per 503).
      if (!s.aborted && body) body.cancel();
      return;
    }
    if (!body) return go(6, 0);
    const reader = body.getReader();
    if (!(reader instanceof ReadableStreamDefaultReader)) return go(7, 0, 'the response body cannot be read');
    const next = () => reader.read().then((step) => {
      if (read(step, 'done') !== false) return go(6, 0);
      const v = read(step, 'value');
      if (go(5, 0, v instanceof Uint8Array ? v : new Uint8Array(0))) next();
      else if (!s.aborted) reader.cancel(); // as above
    }, fail);
    next();
  }, fail);
  return () => c.abort();
}
