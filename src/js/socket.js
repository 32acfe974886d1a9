// The JS face of Socket and Channel: the public classes, over a handful of wasm exports
// (`SocketEngine`'s static methods, see src/js/socket.rs). Owns what is JavaScript by nature:
// argument and option checks with their InvalidArgumentsError messages, JSON in and out, the
// listener registries, Promises and `(err, data)` callbacks of calls, `for await` queues, the
// Channel objects of a socket, and the event payloads. Every protocol rule is the engine's;
// state, ids and tokens are read from it.
//
// The engine hands over the events of one pump in ONE call, `deliver(id, nums, text)`: `nums`
// holds records (a kind, then numbers and the UTF-16 lengths of the strings in `text`, in
// order; -1 = absent; `text` is undefined when empty); see the table in `#batch`. A channel
// message alone in its frame comes as offsets into that frame, which `readFrame` (the
// WebSocket driver's read) keeps: its text is never copied back out of wasm.

import {
  AsyncQueue, Emitter, absent, heldFrame, hrefOf, hydrateError, invalid, isObject, isWellFormed, makeError, numbersAt, pageBase,
  queryString, read, report, socketHost as host,
} from './support.js';

/// Bound of each `for await` buffer; past it the oldest messages are dropped.
const ITERATOR_BUFFER = 10000;
const MAX_MS = 2147483647;
const STATES = ['connecting', 'open', 'closed'];
const AUTH = ['unauthenticated', 'authenticated'];
const CHANNEL = ['pending', 'subscribed', 'unsubscribed'];
const CLOSES = ['connectAbort', 'disconnect', 'close'];
const BAD = ['closed', 'disconnect', 'connectAbort'];
const BACKOFF = [['initialDelay', 0, MAX_MS], ['multiplier', 1, 1000], ['maxDelay', 0, MAX_MS], ['jitter', 0, 1], ['randomness', 0, MAX_MS]];

const CHANNEL_KEY = {};
const freed = () => makeError('Error', 'The object was freed (free())');

// ---- arguments and options -------------------------------------------------------------------

// JS value -> JSON text (undefined for undefined); a value JSON cannot write is an error.
function toJson(v) {
  if (v === undefined) return undefined;
  try {
    return JSON.stringify(v);
  } catch (e) {
    const m = read(e, 'message');
    throw invalid('The data cannot be serialised to JSON: ' + (typeof m === 'string' ? m : ''));
  }
}

// JSON text -> JS value (undefined for undefined; text that is not JSON stays text).
function fromJson(t) {
  if (t === undefined) return undefined;
  try {
    return JSON.parse(t);
  } catch (_) {
    return t;
  }
}

function objectArg(o, what) {
  if (!absent(o) && !isObject(o)) throw invalid(what + ' must be an object');
}

function bool(o, k) {
  const v = read(o, k);
  if (v !== undefined && typeof v !== 'boolean') throw invalid(`Invalid option ${k}: expected a boolean`);
  return v;
}

function num(o, k, min, max, p = '') {
  const v = read(o, k);
  if (v !== undefined && !(typeof v === 'number' && v >= min && v <= max)) {
    throw invalid(`Invalid option ${p}${k}: expected a number from ${min} to ${max}`);
  }
  return v;
}

// A whole number from min to max (or absent); `what` ends the message.
function whole(o, k, min, max, what) {
  const v = read(o, k);
  if (v !== undefined && !(Number.isInteger(v) && v >= min && v <= max)) throw invalid(`Invalid option ${k}: expected ${what}`);
  return v;
}

// The options -> [autoConnect, query, authTokenName, [flags, …, storage kind, storage object]]:
// a flags word (two bits an option: given, value; autoReconnect, pingTimeoutDisabled,
// autoSubscribeOnConnect), eleven numbers (NaN: absent), the storage kind and object (they
// cross after the url and token name as one array, read by index: `numAt`, `valueAt`).
function socketOptions(o) {
  objectArg(o, 'options');
  const auto = bool(o, 'autoConnect');
  let query, flags = 0;
  const flag = (k, i) => {
    const b = bool(o, k);
    if (b !== undefined) flags |= (b ? 3 : 1) << i;
  };
  const N = (v) => (v === undefined ? NaN : v);
  flag('autoReconnect', 0);
  const args = [N(num(o, 'ackTimeout', 0, MAX_MS)), N(num(o, 'connectTimeout', 0, MAX_MS))];
  flag('pingTimeoutDisabled', 2);
  flag('autoSubscribeOnConnect', 4);
  let v = read(o, 'protocolVersion');
  if (v !== undefined && v !== 1 && v !== 2) throw invalid('Invalid option protocolVersion: expected 1 or 2');
  args.push(N(v), N(whole(o, 'outboxLimit', 1, 1e7, 'a whole number from 1 to 10000000')),
    N(whole(o, 'maxPayload', 1, 4294967295, 'a whole number of bytes from 1 to 4294967295')));
  const r = read(o, 'autoReconnectOptions');
  if (r === undefined) args.push(NaN, NaN, NaN, NaN, NaN, NaN);
  else {
    if (!isObject(r)) throw invalid('Invalid option autoReconnectOptions: expected an object');
    for (const [k, min, max] of BACKOFF) args.push(N(num(r, k, min, max, 'autoReconnectOptions.')));
    v = read(r, 'maxAttempts');
    if (v !== undefined && v !== Infinity && !(Number.isInteger(v) && v >= 1 && v <= 4294967295)) {
      throw invalid('Invalid option autoReconnectOptions.maxAttempts: expected a whole number >= 1 or Infinity');
    }
    args.push(N(v));
  }
  args.unshift(flags);
  const name = read(o, 'authTokenName');
  if (name !== undefined && typeof name !== 'string') throw invalid('Invalid option authTokenName: expected a string');
  v = read(o, 'authStorage');
  if (v === undefined) args.push(0, undefined);
  else if (typeof v === 'string') {
    const kind = ['local', 'session', 'memory'].indexOf(v);
    if (kind < 0) throw invalid("Invalid option authStorage: expected 'local', 'session', 'memory' or an object");
    args.push(kind, undefined);
  } else {
    if (!isObject(v) || !['loadToken', 'saveToken', 'removeToken'].every((m) => typeof read(v, m) === 'function')) {
      throw invalid('Invalid option authStorage: an object needs loadToken, saveToken and removeToken functions');
    }
    args.push(3, v);
  }
  v = read(o, 'query');
  if (v !== undefined) {
    try {
      if (typeof v !== 'string' && !isObject(v)) throw 0;
      query = queryString(v);
    } catch (_) {
      throw invalid('Invalid option query: expected an object or a string');
    }
  }
  return [auto, query, name, args];
}

// {ackTimeout, retries} of emit/publish -> [ackTimeout, retries].
function callOptions(o) {
  if (o === undefined) return [];
  objectArg(o, 'The emit options');
  return [num(o, 'ackTimeout', 0, MAX_MS), num(o, 'retries', 0, 1000)];
}

// A channel or event name. Names with lone surrogates are refused: they would reach the wire
// (and the channel map) as U+FFFD and collide with the name that really has U+FFFD.
function nameArg(v, what) {
  if (typeof v !== 'string') throw invalid(`The ${what} must be a string`);
  if (!isWellFormed(v)) throw invalid(`The ${what} must be well-formed Unicode (no lone surrogates)`);
  return v;
}

function checkOff(name, fn) {
  if (!absent(name) && typeof name !== 'string') throw invalid('The event name must be a string');
  if (!absent(fn) && typeof fn !== 'function') throw invalid('The listener must be a function');
}

function urlArg(url) {
  const h = hrefOf(url);
  if (h === undefined) throw invalid('The url must be a string or a URL');
  return h;
}

// The URL rules of API.md (the Rust face's `normalize_url` has the same, with the same
// messages): an absolute ws:/wss:/http:/https: URL (http(s): -> ws(s):) or a path starting with
// `/` (not `//`) resolved against the page; an empty or `/` path becomes /socketcluster/; the
// query is appended and the hash dropped. -> [url, the default token name (port 80/443 filled
// in, as socketcluster-client)].
function socketUrl(url, query) {
  let u;
  try {
    u = url[0] === '/' && url[1] !== '/' ? new URL(url, pageBase()) : new URL(url);
  } catch (_) {
    throw invalid(`Invalid URL: ${url} (use an absolute ws:, wss:, http: or https: URL, or a path starting with /)`);
  }
  const p = u.protocol;
  const secure = p === 'wss:' || p === 'https:';
  if (!secure && p !== 'ws:' && p !== 'http:') throw invalid(`Invalid URL scheme ${p} (use ws:, wss:, http: or https:)`);
  u.protocol = secure ? 'wss:' : 'ws:';
  if (u.pathname === '' || u.pathname === '/') u.pathname = '/socketcluster/';
  const q = query ? query.replace(/^\?+/, '') : '';
  if (q) {
    const e = u.search.replace(/^\?+/, '');
    u.search = e ? e + '&' + q : q;
  }
  u.hash = '';
  return [u.href, `socketcluster.authToken.${u.hostname}:${u.port || (secure ? 443 : 80)}`];
}

// (code?, reason?) of disconnect/reconnect: 1000 or a whole number 3000-4999, a string reason.
function closeArgs(code, reason) {
  if (absent(code)) code = 1000;
  else if (code !== 1000 && !(Number.isInteger(code) && code >= 3000 && code <= 4999)) {
    throw invalid('Invalid close code: use 1000 or a whole number from 3000 to 4999');
  }
  if (absent(reason)) reason = undefined;
  else if (typeof reason !== 'string') throw invalid('The close reason must be a string');
  return [code, reason];
}

// ---- calls and channels ------------------------------------------------------------------------

const voidValue = () => undefined;

// The data of an authenticate answer -> {isAuthenticated, authError}.
function authResult(t) {
  const v = fromJson(t);
  const e = isObject(v) ? v.authError : undefined;
  return {
    isAuthenticated: isObject(v) && v.isAuthenticated === true,
    authError: absent(e) ? null : hydrateError(JSON.stringify(e)),
  };
}

// Stops delivery of a slot's messages already in a batch (the page unsubscribed or
// disconnected): a run of it in progress stops before its next message, later runs are skipped.
// `tick` only grows, so a batch skips what was cut after it began (see `#batch`).
let tick = 0;
const cutSlot = (s) => (s.w.cut = ++tick);

// Hands the first `count` messages of `arr` to a slot's watchers (stopping when the slot is
// cut by one of them) and then to its `for await` queues.
function run(s, arr, count) {
  const w = s.w, c = w.cut;
  let k = 0;
  for (; k < count && w.cut === c; k++) w._deliver('message', arr[k]);
  if (s.q.length) {
    for (const q of s.q.slice()) for (let x = 0; x < k; x++) q.push(arr[x]);
  }
}

// Ends a slot's `for await` loops.
function endLoops(s) {
  for (const q of s.q.splice(0)) q.end();
}

// Drops the ended `for await` queues of a slot; true when none is left.
function prune(s) {
  s.q = s.q.filter((q) => !q.done);
  return !s.q.length;
}

// Sockets by id: `live` holds a socket from `connecting` until it is closed for good (like an
// open WebSocket, a dropped socket keeps working); `refs` finds it for `deliver`.
const live = new Map();
const refs = new Map();
const registry = new FinalizationRegistry((id) => {
  refs.delete(id);
  host.act(id, 2);
});

let deliverTo, messageTo, idOf, isFreed, slotsOf, callOf;

/// A SocketCluster socket (`connect(url, options)` or `new Socket(url, options)`). Dropping the
/// JS object does not close the connection, as with a browser WebSocket; an explicit `free()`
/// disconnects first, then releases everything.
export class Socket {
  #id;
  #em = new Emitter();
  /// name -> {ch: Channel, em: listeners, w: watchers (cut counter in w.cut), q: for-await queues}
  #slots = new Map();
  /// call key -> settle(err, dataText)
  #calls = new Map();
  #key = 0;
  /// `tick` of the last disconnect()/reconnect() (see `#batch`).
  #gate = 0;
  #freed = false;
  #respond;

  constructor(url, options) {
    if (!host) throw makeError('Error', 'sockline is not initialized (await init() first)');
    const h = urlArg(url);
    const [auto, query, name, args] = socketOptions(options);
    const [u, defaultName] = socketUrl(h, query);
    const id = host.open([u, name ?? defaultName, ...args]);
    if (typeof id === 'string') throw invalid('Invalid option ' + id);
    this.#id = id;
    this.#respond = (gen, rid, isError, json) => host.call(id, 7, gen, rid, json, isError ? 1 : 0);
    refs.set(id, new WeakRef(this));
    registry.register(this, id, this);
    if (auto !== false) host.act(id, 0);
  }

  static {
    deliverTo = (s, n, t) => s.#batch(n, t);
    messageTo = (s, cs, cl, ds, dl) => s.#message(heldFrame, cs, cl, ds, dl, tick);
    idOf = (s) => s.#id;
    isFreed = (s) => s.#freed;
    slotsOf = (s) => s.#slots;
    callOf = (s, kind, name, data, o) => s.#call(kind, name, data, o);
  }

  // The id for a host call; a freed socket throws.
  #i() {
    if (this.#freed) throw freed();
    return this.#id;
  }

  /// The server-assigned socket id, or `null` before the handshake.
  get id() {
    return host.text(this.#i(), 0) ?? null;
  }
  get state() {
    return STATES[host.num(this.#i(), 0)];
  }
  get authState() {
    return AUTH[host.num(this.#i(), 1)];
  }
  /// The decoded payload of the signed auth token, or `null`.
  get authToken() {
    const t = host.text(this.#i(), 2);
    return t === undefined ? null : fromJson(t);
  }
  get signedAuthToken() {
    return host.text(this.#i(), 1) ?? null;
  }
  get pendingReconnect() {
    return host.num(this.#i(), 2) === 1;
  }
  get connectAttempts() {
    return host.num(this.#i(), 3);
  }
  get url() {
    return host.text(this.#i(), 3) ?? '';
  }
  get authTokenName() {
    return host.text(this.#i(), 4) ?? '';
  }

  connect() {
    host.act(this.#i(), 0);
  }

  /// Closes (default code 1000) and releases every listener and timer the socket holds in the
  /// browser. Event listeners added with `on` stay, for a later `connect()`.
  disconnect(code, reason) {
    const id = this.#i();
    const a = closeArgs(code, reason);
    this.#cutAll();
    host.call(id, 8, a[0], a[1] ?? '');
    live.delete(id);
  }

  reconnect(code, reason) {
    const id = this.#i();
    const a = closeArgs(code, reason);
    this.#cutAll();
    host.call(id, 9, a[0], a[1] ?? '');
  }

  // Nothing already in a batch for the page is delivered after this (see `#batch`).
  #cutAll() {
    this.#gate = ++tick;
    for (const s of this.#slots.values()) s.w.cut = tick;
  }

  /// `emit(event, data?, {ackTimeout?, retries?}?)` -> Promise of the answer's data, or
  /// `emit(event, data, callback)` -> `callback(err, data)` once.
  emit(event, data, options) {
    this.#i();
    return this.#call(0, nameArg(event, 'event name'), data, options);
  }

  /// `publish(channel, data?, options?)` -> Promise resolved on the server's ack, or
  /// `publish(channel, data, callback)`.
  publish(channel, data, options) {
    this.#i();
    return this.#call(1, nameArg(channel, 'channel name'), data, options);
  }

  // kind 0 emit, 1 publish, 2 authenticate (`name` is the token); see `SocketEngine.call`.
  #call(kind, name, data, options) {
    const map = kind ? (kind > 1 ? authResult : voidValue) : fromJson;
    if (typeof options === 'function') {
      const cb = (e, d) => {
        try {
          if (e) options(e);
          else options(null, map(d));
        } catch (x) {
          report(x);
        }
      };
      let json;
      try {
        json = toJson(data);
      } catch (e) {
        return void cb(e);
      }
      return void this.#send(kind, cb, name, json);
    }
    const o = kind > 1 ? [] : callOptions(options);
    return new Promise((resolve, reject) => {
      const json = toJson(data); // (a throw here rejects)
      this.#send(kind, (e, d) => (e ? reject(e) : resolve(map(d))), name, json, o[0], o[1]);
    });
  }

  // Registers the settler first: the answer may come during the host call (OutboxFull).
  #send(kind, settle, name, json, ackTimeout, retries) {
    const key = ++this.#key;
    this.#calls.set(key, settle);
    host.call(this.#id, kind, key, name, json, ackTimeout ?? NaN, retries ?? NaN);
  }

  /// Sends `{event, data}` without a `cid`; never fails.
  transmit(event, data) {
    const id = this.#i();
    event = nameArg(event, 'event name');
    host.call(id, 3, 0, event, toJson(data));
  }

  transmitPublish(channel, data) {
    const id = this.#i();
    channel = nameArg(channel, 'channel name');
    host.call(id, 4, 0, channel, toJson(data));
  }

  /// Subscribes; the same `Channel` object for the same name while it exists.
  subscribe(channel, options) {
    const id = this.#i();
    const name = nameArg(channel, 'channel name');
    objectArg(options, 'The subscribe options');
    const wait = bool(options, 'waitForAuth');
    const p = read(options, 'priority');
    if (p !== undefined && !Number.isFinite(p)) throw invalid('Invalid option priority: expected a number');
    const data = read(options, 'data');
    const json = data === undefined ? undefined : toJson(data);
    const ch = this.#slot(name).ch;
    host.call(id, 6, wait === true ? 1 : 0, name, json, p ?? 0);
    return ch;
  }

  unsubscribe(channel) {
    const id = this.#i();
    const name = nameArg(channel, 'channel name');
    const s = this.#slots.get(name);
    if (s) cutSlot(s);
    host.call(id, 5, 0, name);
  }

  /// The `Channel` object of `name` (subscribed or not).
  channel(name) {
    this.#i();
    return this.#slot(nameArg(name, 'channel name')).ch;
  }

  #slot(name) {
    let s = this.#slots.get(name);
    if (!s) {
      s = { ch: null, em: new Emitter(), w: new Emitter(), q: [] };
      s.ch = new Channel(this, name, s, CHANNEL_KEY);
      this.#slots.set(name, s);
    }
    return s;
  }

  /// Names of subscribed channels (and pending ones with `includePending`).
  subscriptions(includePending) {
    const id = this.#i();
    if (absent(includePending)) includePending = false;
    else if (typeof includePending !== 'boolean') throw invalid('includePending must be a boolean');
    return JSON.parse(host.text(id, includePending ? 6 : 5) ?? '[]');
  }

  /// `#authenticate` with a signed token -> `{isAuthenticated, authError}`.
  authenticate(token) {
    this.#i();
    return this.#call(2, nameArg(token, 'signed token'));
  }

  /// Removes the stored token and sends `#removeAuthToken`.
  deauthenticate() {
    host.act(this.#i(), 1);
    return Promise.resolve();
  }

  /// Adds a listener; returns the function that removes it.
  on(name, listener) {
    return this.#em.on(name, listener);
  }

  /// The first payload of the next `name` event; rejects with TimeoutError after `timeoutMs`.
  once(name, timeoutMs) {
    return this.#em.once(name, timeoutMs);
  }

  off(name, listener) {
    checkOff(name, listener);
    this.#em.off(name, listener);
  }

  /// Disconnects (1000), then releases the socket; any later use throws.
  free() {
    if (this.#freed) return;
    this.disconnect();
    const id = this.#id;
    this.#freed = true;
    registry.unregister(this);
    refs.delete(id);
    live.delete(id);
    host.act(id, 2);
  }

  // Ends a channel's loops and forgets its slot once the engine no longer has the channel and
  // nobody listens.
  #gone(name, s) {
    if (host.channelState(this.#id, name) < 2) return; // (it still exists)
    if (s) endLoops(s);
    s = this.#slots.get(name);
    if (s && prune(s) && s.w.isEmpty() && s.em.isEmpty()) this.#slots.delete(name);
  }

  // A channel message sliced out of frame `f` (see kind 20 below); `start`: the pump's `tick`.
  // (the engine read the bytes the page's encoder wrote; a patched encoder may have written
  // another frame, so the slice may not be JSON: that message is reported, and the pump goes on)
  #message(f, cs, cl, ds, dl, start) {
    const s = this.#slots.get(f.slice(cs, cs + cl));
    if (!s || this.#gate > start || s.w.cut > start) return;
    let d;
    try {
      d = JSON.parse(f.slice(ds, ds + dl));
    } catch (e) {
      return report(e);
    }
    run(s, [d], 1);
  }

  // The events of one pump. Records (after the kind; `s` = a string's length):
  //  0 connecting | 1 connect isAuth pingTimeout s(id) s(authError) | 2-4 connectAbort,
  //  disconnect, close: code s(reason) | 5 error errKind … | 6 raw s | 7 reconnecting attempt
  //  delay | 8 giveUp attempts | 9 server event s(event) s(data) gen s(rid) | 10 subscribe
  //  s(chan) | 11 subscribeFail s(chan) s(err) | 12 unsubscribe s(chan) | 13
  //  subscribeStateChange s(chan) old new | 14 kickOut s(chan) s(message) | 15 a run of channel
  //  messages s(chan) count s(json array) nUndef idx… | 16 authenticate s(token) s(payload) |
  //  17 deauthenticate s(oldToken) s(oldPayload) | 18 authStateChange old new | 19 a call
  //  settles: key ok, then s(data) or errKind … | 20 one channel message sliced out of the
  //  frame support.js holds (`heldFrame`): chanStart chanLen dataStart dataLen (UTF-16).
  // After a disconnect()/reconnect() from a listener, the rest of the raw frames, server events
  // and channel runs is skipped; after an unsubscribe, the rest of that channel's runs.
  #batch(n, text = '') {
    // (the frame kind 20 slices: read before any listener runs, which could make the page read
    // another socket's frame)
    const start = tick, id = this.#id, em = this.#em, slots = this.#slots, f = heldFrame;
    let i = 0, at = 0;
    const str = (len) => (len < 0 ? undefined : text.slice(at, (at += len)));
    const u = undefined;
    while (i < n.length) {
      const kind = n[i++];
      let name, s, a, b;
      switch (kind) {
        case 15: {
          name = str(n[i++]);
          const count = n[i++], len = n[i++], nu = n[i++];
          s = slots.get(name);
          if (!s || this.#gate > start || s.w.cut > start) {
            at += len;
            i += nu;
            break;
          }
          const arr = JSON.parse(text.slice(at, (at += len)));
          for (let k = 0; k < nu; k++) arr[n[i++]] = u;
          run(s, arr, count);
          break;
        }
        case 20:
          this.#message(f, n[i], n[i + 1], n[i + 2], n[i + 3], start);
          i += 4;
          break;
        case 19: {
          const key = n[i++];
          let e, d;
          if (n[i++]) d = str(n[i++]);
          else {
            const k = n[i++];
            if (k === 0) e = makeError('TimeoutError', `Event response for ${str(n[i++])} event timed out`);
            else if (k === 1) {
              a = { type: BAD[n[i++]], code: n[i++], reason: str(n[i++]) ?? '' };
              e = makeError('BadConnectionError', `Event ${str(n[i++])} was aborted due to a bad connection`, a);
            } else if (k === 2) {
              b = n[i++];
              e = makeError('OutboxFullError', `The outbox is full (${b} calls wait for the connection)`, { limit: b });
            } else e = k === 3 ? hydrateError(str(n[i++])) : invalid(str(n[i++]));
          }
          const f = this.#calls.get(key);
          if (f) {
            this.#calls.delete(key);
            f(e, d);
          }
          break;
        }
        case 0:
          if (!this.#freed) live.set(id, this);
          em.emit('connecting');
          break;
        case 1:
          a = n[i++];
          b = n[i++];
          a = { id: str(n[i++]), pingTimeout: b, isAuthenticated: !!a };
          b = str(n[i++]);
          if (b !== u) a.authError = hydrateError(b);
          em.emit('connect', a);
          break;
        case 2:
        case 3:
        case 4:
          a = { code: n[i++], reason: str(n[i++]) || u };
          if (kind === 4 && host.num(id, 2) === 0) live.delete(id);
          em.emit(CLOSES[kind - 2], a);
          break;
        case 5: {
          const k = n[i++];
          b = n[i++];
          if (k === 0) a = makeError('SocketProtocolError', str(n[i++]), { code: b });
          else if (k === 1) a = hydrateError(str(b));
          else if (k === 2) a = makeError('AuthTokenInvalidError', 'Cannot read the auth token: ' + str(b));
          else if (k === 3) a = makeError('OutboxFullError', `A transmit was dropped: the outbox is full (${b})`, { limit: b });
          else a = makeError('StorageError', str(b));
          em.emit('error', a);
          break;
        }
        case 6:
          a = str(n[i++]);
          if (this.#gate <= start) em.emit('raw', a);
          break;
        case 7:
          em.emit('reconnecting', { attempt: n[i++], delay: n[i++] });
          break;
        case 8:
          a = { attempts: n[i++] };
          if (host.num(id, 2) === 0) live.delete(id);
          em.emit('giveUp', a);
          break;
        case 9: {
          name = str(n[i++]);
          a = str(n[i++]);
          const gen = n[i++];
          b = str(n[i++]);
          if (this.#gate <= start) em.serverEvent(name, fromJson(a), gen, b, this.#respond);
          break;
        }
        case 10:
        case 12:
          name = str(n[i++]);
          a = kind === 10 ? 'subscribe' : 'unsubscribe';
          em.emit(a, name);
          s = slots.get(name);
          if (s) s.em.emit(a, name);
          if (kind === 12) this.#gone(name, s);
          break;
        case 11:
          name = str(n[i++]);
          a = hydrateError(str(n[i++]));
          em.emit('subscribeFail', a, name);
          s = slots.get(name);
          if (s) s.em.emit('subscribeFail', a, name);
          this.#gone(name, s);
          break;
        case 13:
          name = str(n[i++]);
          a = { channel: name, oldState: CHANNEL[n[i++]], newState: CHANNEL[n[i++]] };
          em.emit('subscribeStateChange', a);
          s = slots.get(name);
          if (s) s.em.emit('subscribeStateChange', a);
          break;
        case 14:
          name = str(n[i++]);
          a = fromJson(str(n[i++]));
          em.emit('kickOut', { channel: name, message: a });
          s = slots.get(name);
          if (s) s.em.emit('kickOut', a, name);
          break;
        case 16:
          a = str(n[i++]);
          b = str(n[i++]);
          em.emit('authenticate', { signedAuthToken: a, authToken: b === u ? null : fromJson(b) });
          break;
        case 17:
          a = str(n[i++]);
          b = str(n[i++]);
          em.emit('deauthenticate', { oldSignedAuthToken: a ?? null, oldAuthToken: b === u ? null : fromJson(b) });
          break;
        case 18:
          em.emit('authStateChange', { oldAuthState: AUTH[n[i++]], newAuthState: AUTH[n[i++]] });
          break;
      }
    }
  }
}

/// A channel (`socket.subscribe(name)`), with its own listeners and watchers. An explicit
/// `free()` unsubscribes first and drops the name's listeners and watchers.
export class Channel {
  #s;
  #n;
  /// The slot this object uses (see `#l`).
  #slot;

  constructor(socket, name, slot, key) {
    // (the package exports the class for `instanceof`; a page cannot make one)
    if (key !== CHANNEL_KEY) throw new TypeError('Channel objects come from socket.channel(name) or socket.subscribe(name)');
    this.#s = socket;
    this.#n = name;
    this.#slot = slot;
  }

  // The socket; a freed channel throws.
  #k() {
    if (!this.#s) throw freed();
    return this.#s;
  }

  // The slot to use now. The socket drops a channel's slot once the channel is gone and nobody
  // listens, but this object may still be held: it then joins the slot the socket has for its
  // name now, or puts its own back, so that what is added to it is heard.
  #l() {
    const slots = slotsOf(this.#k());
    const cur = slots.get(this.#n);
    if (cur) return (this.#slot = cur);
    slots.set(this.#n, this.#slot);
    return this.#slot;
  }

  get name() {
    this.#k();
    return this.#n;
  }

  /// 'pending' | 'subscribed' | 'unsubscribed'.
  get state() {
    return CHANNEL[host.channelState(idOf(this.#k()), this.#n)];
  }

  /// Adds a listener for subscribe, subscribeFail, unsubscribe, kickOut or
  /// subscribeStateChange; returns the function that removes it.
  on(name, listener) {
    return this.#l().em.on(name, listener);
  }

  once(name, timeoutMs) {
    return this.#l().em.once(name, timeoutMs);
  }

  off(name, listener) {
    checkOff(name, listener);
    this.#l().em.off(name, listener);
  }

  /// Calls `fn(data)` for every message published to the channel (survives reconnects).
  watch(listener) {
    this.#l().w.on('message', listener);
  }

  /// Removes one watcher, or all of them.
  unwatch(listener) {
    checkOff(null, listener);
    this.#l().w.off('message', listener);
  }

  /// Publishes to this channel; resolves on the server's ack.
  publish(data) {
    const s = this.#k();
    if (isFreed(s)) throw invalid('The socket is gone');
    return callOf(s, 1, this.#n, data);
  }

  transmitPublish(data) {
    const json = toJson(data);
    const s = this.#k();
    host.call(idOf(s), 4, 0, this.#n, json);
  }

  unsubscribe() {
    cutSlot(this.#l());
    host.call(idOf(this.#s), 5, 0, this.#n);
  }

  /// unsubscribe(), then the socket forgets what it keeps for the name (listeners and watchers
  /// are removed, `for await` loops end), so the next channel(name) / subscribe(name) makes a
  /// fresh object; any later use of this one throws.
  free() {
    const sock = this.#s;
    if (!sock) return;
    host.call(idOf(sock), 5, 0, this.#n);
    const slots = slotsOf(sock), s = slots.get(this.#n);
    this.#s = this.#slot = null;
    if (!s) return;
    slots.delete(this.#n);
    cutSlot(s);
    s.em.off();
    s.w.off();
    endLoops(s);
  }

  /// `for await (const data of channel)`: at most 10 000 unread messages, the oldest dropped.
  [Symbol.asyncIterator]() {
    const s = this.#l(), q = new AsyncQueue(ITERATOR_BUFFER);
    prune(s);
    s.q.push(q);
    return q;
  }
}

if (typeof Symbol.dispose === 'symbol') {
  Socket.prototype[Symbol.dispose] = Socket.prototype.free;
  Channel.prototype[Symbol.dispose] = Channel.prototype.free;
}

/// `connect(url, options)`: the same as `new Socket(url, options)`.
export function connect(url, options) {
  return new Socket(url, options);
}

/// A pump whose one event is a channel message sliced out of the held frame (kind 20 of
/// `#batch`, without the records).
export function deliverMessage(id, cs, cl, ds, dl) {
  const s = live.get(id) || refs.get(id)?.deref();
  try {
    if (s) messageTo(s, cs, cl, ds, dl);
  } catch (e) {
    report(e);
  }
}

/// The events of one pump of socket `id` (see `#batch`): `n` numbers at `at` in wasm memory.
/// Nothing thrown here (a page's patched builtin, a full heap) may unwind into the wasm: its
/// pump would stay busy for good.
export function deliver(id, at, n, text) {
  const s = live.get(id) || refs.get(id)?.deref();
  try {
    // (copied: a listener that grows the memory would detach a view of it)
    if (s) deliverTo(s, numbersAt(at, n), text);
  } catch (e) {
    report(e);
  }
}
