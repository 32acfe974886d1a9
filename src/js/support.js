// JS-side helpers of the sockline adapter: the listener registry, error objects, and the few
// things that are plain JavaScript by nature (async iterators, answering server invokes).
// Owned by src/js/; nothing here knows the protocol.

// The wasm exports each class calls (`SocketEngine`, `SseEngine`: static methods), handed over
// by the wasm before it makes the first object (a live binding for socket.js, event_stream.js):
// the class itself in the npm build (tools/trim-glue.js), an instance of it elsewhere.
// They live here because the wasm always imports this module (so the package always ships it).
export let socketHost = null;
export let sseHost = null;
export function setSocketHost(h) {
  socketHost = typeof h === 'function' ? h : h.constructor;
}
export function setSseHost(h) {
  sseHost = typeof h === 'function' ? h : h.constructor;
}

export function makeError(name, message, fields) {
  const e = new Error(message);
  e.name = name;
  if (fields) copyFields(e, fields);
  return e;
}

// Keys never copied from data into an object: assigning them would reach the prototype chain.
const UNSAFE_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

// Copies `from`'s own enumerable fields into `to` as own data properties (defined, never
// assigned through a setter or the prototype chain), skipping UNSAFE_KEYS and `skip`.
function copyFields(to, from, skip) {
  for (const k of Object.keys(from)) {
    if (UNSAFE_KEYS.has(k) || (skip && skip.includes(k))) continue;
    Object.defineProperty(to, k, { value: from[k], writable: true, enumerable: true, configurable: true });
  }
}

// Server error JSON text -> Error with every field kept (sc-errors hydrateError, plus `value` for
// non-objects). Always a real Error: `__proto__`, `constructor` and `prototype` keys are dropped.
export function hydrateError(text) {
  let v;
  try {
    v = JSON.parse(text);
  } catch (_) {
    v = text;
  }
  if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
    const e = new Error(typeof v.message === 'string' ? v.message : 'Invalid error message format');
    if (typeof v.name === 'string') e.name = v.name;
    copyFields(e, v, ['message', 'name', 'stack']);
    return e;
  }
  const e = new Error(typeof v === 'string' ? v : JSON.stringify(v));
  e.value = v;
  return e;
}

// Error (or any value) -> JSON text for the wire (sc-errors dehydrateError).
export function dehydrate(err) {
  if (err instanceof Error || (err !== null && typeof err === 'object')) {
    const o = {};
    if (typeof err.name === 'string' && err.name !== 'Error') o.name = err.name;
    o.message = err.message;
    for (const k of Object.keys(err)) {
      if (UNSAFE_KEYS.has(k)) continue;
      const v = err[k];
      o[k] = typeof v === 'function' ? `[function ${v.name}]` : v;
    }
    if (err instanceof Error && o.name === undefined) o.name = err.name;
    return safeStringify(o);
  }
  return safeStringify(err === undefined ? null : err);
}

function safeStringify(v) {
  try {
    const t = JSON.stringify(v);
    return t === undefined ? 'null' : t;
  } catch (e) {
    return JSON.stringify({ name: 'Error', message: String(e && e.message) });
  }
}

// Reports an error a listener or callback threw, as an uncaught error (the others still run).
export function report(e) {
  if (typeof globalThis.reportError === 'function') globalThis.reportError(e);
  else setTimeout(() => { throw e; });
}

export const invalid = (m) => makeError('InvalidArgumentsError', m);
export const isObject = (v) => typeof v === 'object' && v !== null;
export const absent = (v) => v === undefined || v === null;
// A property read that a hostile object (a Proxy, a throwing getter) cannot turn into a throw
// (no object, no read: a `try` that throws on every emit without options is slow).
export const read = (o, k) => {
  if (!isObject(o) && typeof o !== 'function') return undefined;
  try {
    return o[k];
  } catch (_) {
    return undefined;
  }
};

export class Emitter {
  #l = new Map();
  on(name, fn) {
    if (typeof name !== 'string') throw invalid('The event name must be a string');
    if (typeof fn !== 'function') throw invalid(`The listener for ${name} must be a function`);
    let s = this.#l.get(name);
    if (!s) this.#l.set(name, (s = []));
    s.push(fn);
    return () => this.off(name, fn);
  }
  off(name, fn) {
    if (name === undefined || name === null) {
      this.#l.clear();
      return;
    }
    if (fn === undefined || fn === null) {
      this.#l.delete(name);
      return;
    }
    const s = this.#l.get(name);
    if (!s) return;
    const i = s.indexOf(fn);
    if (i >= 0) s.splice(i, 1);
    if (!s.length) this.#l.delete(name);
  }
  // `timeoutMs`: none or Infinity waits for ever; past the timer limit (2**31 - 1) it is clamped.
  once(name, timeoutMs) {
    if (typeof name !== 'string') throw invalid('The event name must be a string');
    if (timeoutMs !== undefined && timeoutMs !== null && !(typeof timeoutMs === 'number' && timeoutMs >= 0)) {
      return Promise.reject(invalid('timeoutMs must be a non-negative number'));
    }
    if (timeoutMs === Infinity) timeoutMs = undefined;
    return new Promise((resolve, reject) => {
      let t;
      const off = this.on(name, (a) => {
        off();
        if (t !== undefined) clearTimeout(t);
        resolve(a);
      });
      if (timeoutMs !== undefined && timeoutMs !== null) {
        t = setTimeout(() => {
          off();
          reject(makeError('TimeoutError', `The ${name} event did not happen within ${timeoutMs} ms`));
        }, Math.min(timeoutMs, 2147483647));
      }
    });
  }
  isEmpty() {
    return this.#l.size === 0;
  }
  emit(name, a, b) {
    const s = this.#l.get(name);
    if (!s) return;
    for (const fn of s.slice()) {
      try {
        fn(a, b);
      } catch (e) {
        report(e);
      }
    }
  }
  // Calls the listeners of `name` with `v` (looked up per call: a listener may unwatch).
  _deliver(name, v) {
    const s = this.#l.get(name);
    if (!s) return;
    if (s.length === 1) {
      const fn = s[0];
      try {
        fn(v);
      } catch (e) {
        report(e);
      }
      return;
    }
    for (const fn of s.slice()) {
      try {
        fn(v);
      } catch (e) {
        report(e);
      }
    }
  }
  // A server event: listeners get (data, res); res answers an invoke once. A listener that
  // throws answers with its error; one that returns a Promise answers with its outcome.
  serverEvent(name, data, gen, rid, respond) {
    let done = false;
    const res =
      rid === undefined
        ? undefined
        : (err, value) => {
            if (done) return;
            done = true;
            if (err !== undefined && err !== null) respond(gen, rid, true, dehydrate(err));
            else respond(gen, rid, false, value === undefined ? undefined : safeStringify(value));
          };
    const s = this.#l.get(name);
    if (!s) return;
    for (const fn of s.slice()) {
      try {
        const r = fn(data, res);
        if (res && r && typeof r.then === 'function') {
          r.then(
            (v) => res(null, v),
            (e) => res(e === undefined || e === null ? new Error('Rejected') : e),
          );
        }
      } catch (e) {
        if (res) res(e);
        else report(e);
      }
    }
  }
}

// A bounded async-iterator queue: `for await (const x of thing)`.
// When the consumer falls behind by more than `limit` items, the oldest are dropped and
// `dropped` counts them.
export class AsyncQueue {
  #limit;
  #items = [];
  #waiters = [];
  #onReturn;
  constructor(limit, onReturn) {
    this.#limit = limit;
    this.done = false;
    this.dropped = 0;
    this.#onReturn = onReturn;
  }
  push(v) {
    if (this.done) return;
    const w = this.#waiters.shift();
    if (w) {
      w({ value: v, done: false });
      return;
    }
    if (this.#items.length >= this.#limit) {
      this.#items.shift();
      this.dropped++;
    }
    this.#items.push(v);
  }
  end() {
    this.done = true;
    for (const w of this.#waiters.splice(0)) w({ value: undefined, done: true });
  }
  next() {
    if (this.#items.length) return Promise.resolve({ value: this.#items.shift(), done: false });
    if (this.done) return Promise.resolve({ value: undefined, done: true });
    return new Promise((r) => this.#waiters.push(r));
  }
  return() {
    this.end();
    this.#items.length = 0;
    if (this.#onReturn) this.#onReturn();
    return Promise.resolve({ value: undefined, done: true });
  }
  [Symbol.asyncIterator]() {
    return this;
  }
}

// A url argument: a string, or a `URL` object (anything with a string `href`) as its href;
// undefined for anything else.
export function hrefOf(url) {
  const h = typeof url === 'string' ? url : isObject(url) ? read(url, 'href') : undefined;
  return typeof h === 'string' ? h : undefined;
}

// The page's (or worker's) location: the base of relative URLs.
export function pageBase() {
  try {
    const h = globalThis.location.href;
    if (typeof h === 'string') return h;
  } catch (_) {}
  return 'http://localhost/';
}

// Whether a string has no lone surrogates.
export function isWellFormed(s) {
  return !/\p{Cs}/u.test(s);
}

// `query` option (object or string) -> query string; arrays become repeated keys.
export function queryString(q) {
  if (q === undefined || q === null) return '';
  if (typeof q === 'string') return q.replace(/^\?/, '');
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(q)) {
    if (Array.isArray(v)) for (const x of v) p.append(k, String(x));
    else if (v !== undefined) p.append(k, String(v));
  }
  return p.toString();
}

/// The last frame `readFrame` read: the engine's channel messages may be slices of it (see
/// `held_frame` in src/web/websocket.rs and kind 20 in socket.js's `#batch`).
export let heldFrame = '';
let memory = null, bytes = null;
const encoder = new TextEncoder();

/// The wasm memory `readFrame` and `copyBytes` write into (`web::share_memory`).
export function setMemory(m) {
  memory = m;
}

// A byte view of the wasm memory (a new one after the memory grew: growing detaches the old
// buffer, and a view of a detached buffer has length 0; cheaper than reading memory.buffer).
function view() {
  if (bytes === null || bytes.length === 0) bytes = new Uint8Array(memory.buffer);
  return bytes;
}

/// For `SocketEngine.open` and `SseEngine.open`: `a[i]` of the class's array of arguments (the
/// wasm imports it twice: as a number and as a value).
export const numAt = (a, i) => a[i];
export const valueAt = numAt;

/// For the classes' `deliver`: a copy of the `n` numbers (f64) at `at` in wasm memory.
export const numbersAt = (at, n) => new Float64Array(memory.buffer, at, n).slice();

/// For the drivers (src/web/mod.rs, `bytes_of`): copies the bytes of `src` into wasm memory at
/// `at` (room for all of them).
export function copyBytes(src, at) {
  view().set(src, at);
}

/// For the WebSocket driver (src/web/websocket.rs): a WebSocket to `url` (binary frames as
/// ArrayBuffers) whose events call `on`: on(0) open, on(1, e) a message, on(2 + code, reason)
/// closed. null when the page's WebSocket throws; one that cannot be set up is dropped again.
export function wsOpen(url, on) {
  let ws;
  try {
    ws = new WebSocket(url);
  } catch {
    return null;
  }
  try {
    ws.binaryType = 'arraybuffer';
    ws.onopen = () => on(0);
    ws.onmessage = (e) => on(1, e);
    ws.onclose = (e) => on(2 + (e.code & 0xffff), typeof e.reason === 'string' ? e.reason : '');
  } catch {
    wsDrop(ws);
    return null;
  }
  return ws;
}

/// Sends `text` when `ws` is open: whether it was sent.
export function wsSend(ws, text) {
  try {
    if (ws.readyState !== 1) return false;
    ws.send(text);
    return true;
  } catch {
    return false;
  }
}

export function wsClose(ws, code, reason) {
  try {
    ws.close(code, reason);
  } catch {}
}

/// Removes the handlers of `ws` and closes it unless it is closing or closed.
export function wsDrop(ws) {
  try {
    ws.onopen = ws.onmessage = ws.onclose = null;
    if (ws.readyState < 2) ws.close();
  } catch {}
}

/// For the WebSocket driver: the UTF-8 bytes of `e.data` (a string encoded, an ArrayBuffer
/// viewed) when they are at most `max` long; null when longer; undefined when it is neither.
export function frameBytes(e, max) {
  const d = e.data;
  if (d instanceof ArrayBuffer) return d.byteLength > max ? null : new Uint8Array(d);
  if (typeof d !== 'string') return undefined;
  if (d.length > max) return null; // (at least one byte a unit)
  const b = encoder.encode(d);
  return b.length > max ? null : b;
}

/// For the WebSocket driver (src/web/websocket.rs): copies `e.data`, when it is a string of at
/// most `n` UTF-16 units, as UTF-8 into the `room` bytes of wasm memory at `at`, and returns
/// its byte length; -1 when it is not such a string; `-2 - need` when it needs more room.
export function readFrame(e, n, at, room) {
  const d = e.data, len = typeof d === 'string' ? d.length : n + 1;
  if (len > n) return -1;
  heldFrame = d;
  const bytes = view();
  if (len <= room) {
    let i = 0;
    if (len < 256) {
      // (a short ASCII frame: cheaper than the encoder's call)
      for (; i < len; i++) {
        const c = d.charCodeAt(i);
        if (c > 127) break;
        bytes[at + i] = c;
      }
      if (i === len) return len;
    }
    const r = encoder.encodeInto(i ? d.slice(i) : d, bytes.subarray(at + i, at + room));
    if (r.read !== len - i) return -2 - 3 * len;
    // (UTF-8 takes 1 to 3 bytes a unit: anything else is a patched encoder's, read another way)
    const w = r.written;
    return w >= len - i && w <= room - i ? i + w : -1;
  }
  return -2 - 3 * len;
}

// The token store of one socket (src/web/storage.rs, `authStorage`): `kind` 0 localStorage, 1
// sessionStorage, 2 memory, 3 the object `custom` ({loadToken, saveToken, removeToken}).
export function tokenStore(kind, name, custom) {
  // (and, once used: `memory`, the token kept in memory; `unsaved`, the quota refused the last
  // save; `notice`, the message not yet taken)
  return { kind, name, custom, off: kind === 2 };
}

const STORAGE = ['localStorage', 'sessionStorage'];
const STORE_METHODS = ['loadToken', 'saveToken', 'removeToken'];

// One operation of a token store: 0 load (returns the token, a custom store's Promise, or
// undefined), 1 save `token` (`len`: its length in UTF-8 bytes), 2 remove, 3 take the notice (a
// message, or undefined). When web storage is missing or throws, the token is kept in memory
// from then on and the notice says so (once); a save the quota refuses keeps the token in memory
// until the next save or remove (the stale stored token is removed) and the notice says so.
// Outside a page (no `Window`) the token is kept in memory, silently.
export function storeOp(st, op, token, len) {
  if (op === 3) {
    const n = st.notice;
    st.notice = undefined;
    return n;
  }
  if (st.kind === 3) return callStore(st.custom, STORE_METHODS[op], st.name, token);
  if (op) {
    st.memory = token;
    st.unsaved = false;
  } else if (st.unsaved) return st.memory;
  const r = st.off ? null : webStore(st.kind, op, st.name, token);
  if (r === false) {
    st.off = true;
    st.notice = STORAGE[st.kind] + ' is not available; the auth token is kept in memory for this page';
  } else if (op === 1 && typeof r === 'string') {
    st.unsaved = true;
    st.notice = `The auth token (${len} bytes) exceeds the ${STORAGE[st.kind]} quota and was not saved; it is kept in memory for this page`;
  }
  if (op === 0) return typeof r === 'string' ? r : r === true ? undefined : st.memory;
}

// One `op` (0 getItem, 1 setItem `token`, 2 removeItem) on the item `name` of localStorage
// (`kind` 0) or sessionStorage (1). Returns the stored string (a read that found one), true when
// done (a read that found none, a write, a removal), false when the storage is missing or threw,
// a string (a write) when the quota refused the token (the stale item is then removed), and null
// when the global object is no `Window` (a worker: no web storage).
function webStore(kind, op, name, token) {
  if (!page()) return null;
  let s;
  try {
    s = kind ? globalThis.sessionStorage : globalThis.localStorage;
    if (s === null || s === undefined) return false;
    if (op === 0) {
      const v = s.getItem(name);
      return typeof v === 'string' ? v : true;
    }
    if (op === 1) s.setItem(name, token);
    else s.removeItem(name);
    return true;
  } catch (e) {
    if (op !== 1 || !isQuota(e)) return false;
  }
  try {
    s.removeItem(name);
  } catch (_) {}
  return 'quota';
}

// Whether a setItem failure is the quota (`QuotaExceededError`; Firefox once named it
// `NS_ERROR_DOM_QUOTA_REACHED`) rather than storage being unavailable.
function isQuota(e) {
  try {
    const n = e.name;
    return n === 'QuotaExceededError' || n === 'NS_ERROR_DOM_QUOTA_REACHED';
  } catch (_) {
    return false;
  }
}

/// For the engines' timer (src/web/mod.rs, `Timer`): f(0) in `ms`; its handle, or undefined
/// when the page's setTimeout threw.
export function timerStart(ms, f) {
  try {
    return setTimeout(() => f(0), ms);
  } catch (_) {}
}

export function timerStop(h) {
  try {
    clearTimeout(h);
  } catch (_) {}
}

// For the drivers (src/web/mod.rs, `on_settled`, `later`): calls `f(1, value)` or
// `f(0, reason)` once `p` (when undefined: a resolved Promise) settles.
export function whenSettled(p, f) {
  (p === undefined ? Promise.resolve() : p).then((v) => f(1, v), (e) => f(0, e));
}

// The global object when it is a page's `Window` (not a worker's global), else null.
function page() {
  try {
    return globalThis instanceof Window ? globalThis : null;
  } catch (_) {
    return null;
  }
}

// For the page driver (src/web/page.rs): listens to the page's `online` (calls `f(0)`),
// `offline` (`f(1)`), `pageshow` and `visibilitychange` to visible (`f(2)`). Returns the
// listeners for `unwatchPage` (none outside a page); one that cannot be added is left out.
export function watchPage(f) {
  const w = page();
  if (!w) return null;
  let d; // (a page whose `document` getter throws gets no visibilitychange listener)
  try {
    d = w.document;
  } catch (_) {}
  const on = [];
  const add = (t, name, g) => {
    try {
      t.addEventListener(name, g);
      on.push(t, name, g);
    } catch (_) {}
  };
  add(w, 'online', () => f(0));
  add(w, 'offline', () => f(1));
  add(w, 'pageshow', () => f(2));
  if (d) add(d, 'visibilitychange', () => d.hidden || f(2));
  return on;
}

export function unwatchPage(on) {
  for (let i = 0; on && i < on.length; i += 3) {
    try {
      on[i].removeEventListener(on[i + 1], on[i + 2]);
    } catch (_) {}
  }
}

const ignore = () => {};

// A custom token store: `store[method](name)`, or `(name, token)` when a token is given. Returns a
// string it returned, a Promise it returned (given no-op handlers, so that a failing saveToken or
// removeToken, whose Promise nobody awaits, is never an unhandled rejection; loadToken's is still
// awaited), or undefined (anything else, no such method, or it threw).
function callStore(store, method, name, token) {
  let v;
  try {
    const f = store[method];
    if (typeof f !== 'function') return undefined;
    v = token === undefined ? f.call(store, name) : f.call(store, name, token);
    if (typeof v === 'string') return v;
    if (!(v instanceof Promise)) return undefined;
  } catch (_) {
    return undefined;
  }
  try {
    v.then(ignore, ignore);
  } catch (_) {}
  return v;
}
