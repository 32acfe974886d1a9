// Test-only JS for tests/hardening.rs: the SDK used the way a careless page and a hostile
// server use it, through the generated glue (the page's view: `connect`, `Socket`, methods
// called with whatever the page passes), with browser globals wrapped the way analytics and
// test libraries wrap them.

let glueModule;

// The wasm-bindgen module the test page loaded (the same instance: same URL as run.js imports).
export async function glue() {
  if (!glueModule) glueModule = await import(new URL('wasm-bindgen-test', document.baseURI).href);
  return glueModule;
}

const wait = (ms) => new Promise((r) => setTimeout(r, ms));

// Polls `cond()` every 20 ms for at most `ms`; resolves with whether it held.
async function until(ms, cond) {
  const end = Date.now() + ms;
  for (;;) {
    if (await cond()) return true;
    if (Date.now() > end) return false;
    await wait(20);
  }
}

async function control(base, path, body) {
  const init = body === undefined ? {} : {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  };
  const r = await fetch(base + path, init);
  return r.json();
}

// The closes the server saw for `id` once there are `n` of them (or what there is after `ms`).
async function closes(base, id, n = 1, ms = 5000) {
  let list = [];
  await until(ms, async () => {
    list = await control(base, `/closes?socketId=${encodeURIComponent(id)}`);
    return list.length >= n;
  });
  return list.map((c) => ({ code: c.code, reason: c.reason }));
}

// A promise of the next `name` event of `s` (rejects after `ms`).
function next(s, name, ms = 5000) {
  return s.once(name, ms);
}

async function opened(m, url, options) {
  const s = m.connect(url, options);
  await next(s, 'connect');
  return s;
}

// `opened`, and the WebSocket the socket made (as a page wrapping the constructor gets it).
async function openedWithWs(m, url) {
  const Orig = globalThis.WebSocket;
  let ws;
  const WS = function (...args) {
    return (ws = new Orig(...args));
  };
  WS.prototype = Orig.prototype;
  globalThis.WebSocket = WS;
  try {
    return { s: await opened(m, url), ws };
  } finally {
    globalThis.WebSocket = Orig;
  }
}

function describe(e) {
  if (e === undefined) return null;
  return {
    name: e && e.name,
    message: String(e && e.message),
    runtime: e instanceof WebAssembly.RuntimeError,
  };
}

// ---- item 2 / 10 / 13: wrongly typed arguments ----------------------------------------------

// Runs each source (an expression over `m`, `connect`, `Socket`, `socket`, `channel`) and
// returns those that did not throw InvalidArgumentsError: [{src, thrown}].
export async function wrongArguments(url) {
  const m = await glue();
  const socket = m.connect(url, { autoConnect: false });
  const channel = socket.channel('c');
  const env = { m, connect: m.connect, Socket: m.Socket, socket, channel };
  const cases = [
    'new Socket(123)',
    'new Socket(null)',
    'new Socket(undefined)',
    'new Socket({})',
    'connect(123)',
    'connect(null)',
    'connect()',
    "connect('not a url')",
    "connect('')",
    "connect('relative/path')",
    "connect('//other.example/x')",
    "connect('ftp://x/')",
    "connect('ws://[bad')",
    "connect(new URL('ftp://x/'))",
    'socket.once(42)',
    'socket.once({})',
    'channel.once({})',
    'channel.once(42)',
    'socket.on(1, () => {})',
    'socket.off(1)',
    "socket.off('x', 5)",
    "channel.off('x', 5)",
    'channel.unwatch(5)',
    'socket.disconnect(4000, {})',
    "socket.disconnect('4000')",
    'socket.disconnect(66536)',
    'socket.disconnect(16777215)',
    'socket.disconnect(4000.5)',
    'socket.disconnect(NaN)',
    'socket.disconnect(-1)',
    'socket.disconnect(1006)',
    'socket.reconnect(4000, 5)',
    "socket.reconnect('x')",
    'socket.reconnect(70000)',
    "socket.subscriptions('yes')",
    'socket.emit(1)',
    'socket.transmit({})',
    'socket.publish(1)',
    'socket.subscribe(1)',
    'socket.unsubscribe(1)',
    'socket.channel(1)',
    'socket.authenticate(1)',
    "socket.subscribe('c\\ud800')",
    "socket.channel('c\\udc00x')",
    "socket.transmit('ev\\ud800')",
    "socket.emit('ev\\ud800', 1)",
    "socket.publish('c\\ud800', 1)",
    "socket.transmitPublish('c\\ud800', 1)",
    "socket.unsubscribe('c\\ud800')",
  ];
  const bad = [];
  for (const src of cases) {
    let thrown;
    try {
      const f = new Function(...Object.keys(env), `return (${src});`);
      const r = f(...Object.values(env));
      if (r && typeof r.then === 'function') r.catch(() => {});
    } catch (e) {
      thrown = e;
    }
    if (!(thrown instanceof Error) || thrown.name !== 'InvalidArgumentsError') {
      bad.push({ src, thrown: describe(thrown) });
    }
  }
  return bad;
}

// What is accepted: URL objects (as their href), page-relative paths, well-formed names.
export async function acceptedArguments(url) {
  const m = await glue();
  const a = m.connect(new URL(url), { autoConnect: false });
  const b = new m.Socket(new URL(url), { autoConnect: false });
  const c = m.connect('/socketcluster/', { autoConnect: false });
  const d = m.connect('/', { autoConnect: false });
  const e = m.connect(url, { autoConnect: false });
  const out = {
    urlObject: a.url,
    urlObjectNew: b.url,
    relative: c.url,
    root: d.url,
    sameAsFffd: e.subscribe('c\ufffd') === e.channel('c\ufffd'),
    pairOk: e.subscribe('emoji\ud83d\ude00').name === 'emoji\ud83d\ude00',
    subs: e.subscriptions(true),
    subsDefault: e.subscriptions(),
  };
  e.disconnect(4000, undefined);
  e.disconnect(1000, null);
  e.reconnect();
  e.disconnect();
  return out;
}

// What the JS face makes of each [url, query] of the JSON text `cases` (query null: none):
// [url, authTokenName], or [error name, message].
export async function urlRules(cases) {
  const m = await glue();
  return JSON.parse(cases).map(([url, query]) => {
    try {
      const s = m.connect(url, query === null ? { autoConnect: false } : { autoConnect: false, query });
      const r = [s.url, s.authTokenName];
      s.free();
      return r;
    } catch (e) {
      return [e.name, e.message];
    }
  });
}

// once(name, Infinity) and once(name, 2**31) wait (no timer / clamped); a finite one fires.
export async function onceTimeouts(url) {
  const m = await glue();
  const s = m.connect(url, { autoConnect: false });
  const settled = {};
  for (const [k, t] of [['infinity', Infinity], ['big', 2 ** 31], ['huge', 1e300], ['short', 30]]) {
    s.once('never', t).then(
      () => (settled[k] = 'resolved'),
      (e) => (settled[k] = e.name),
    );
  }
  await until(2000, () => settled.short !== undefined);
  await wait(100); // the others had their chance to (wrongly) fire at ~1 ms
  return settled;
}

// ---- item 1: re-entrant browser globals ----------------------------------------------------

// Wraps the browser globals the socket uses; each wrapper calls `hook(name)` (not re-entrantly)
// before doing its job. Returns {errors, seen, restore}.
function wrapGlobals(hook) {
  const restores = [];
  const errors = [];
  const seen = new Set();
  let depth = 0;
  const guard = (name, thunk) => {
    seen.add(name);
    if (depth === 0) {
      depth++;
      try {
        hook(name);
      } catch (e) {
        errors.push(e);
      } finally {
        depth--;
      }
    }
    return thunk();
  };
  const method = (obj, key, name) => {
    const orig = obj[key];
    obj[key] = function (...args) {
      return guard(name, () => orig.apply(this, args));
    };
    restores.push(() => {
      obj[key] = orig;
    });
  };
  const accessor = (proto, key, name) => {
    const d = Object.getOwnPropertyDescriptor(proto, key);
    Object.defineProperty(proto, key, {
      configurable: true,
      enumerable: d.enumerable,
      get: d.get && function () {
        return guard(name, () => d.get.call(this));
      },
      set: d.set && function (v) {
        guard(name, () => d.set.call(this, v));
      },
    });
    restores.push(() => Object.defineProperty(proto, key, d));
  };
  const OrigWS = globalThis.WebSocket;
  const WS = function (...args) {
    return guard('new WebSocket', () => new OrigWS(...args));
  };
  WS.prototype = OrigWS.prototype;
  Object.assign(WS, { CONNECTING: 0, OPEN: 1, CLOSING: 2, CLOSED: 3 });
  globalThis.WebSocket = WS;
  restores.push(() => {
    globalThis.WebSocket = OrigWS;
  });
  method(OrigWS.prototype, 'send', 'send');
  method(OrigWS.prototype, 'close', 'close');
  for (const k of ['onopen', 'onmessage', 'onclose', 'readyState', 'binaryType', 'bufferedAmount']) {
    accessor(OrigWS.prototype, k, k);
  }
  method(globalThis, 'setTimeout', 'setTimeout');
  method(globalThis, 'clearTimeout', 'clearTimeout');
  method(Date, 'now', 'Date.now');
  method(Math, 'random', 'Math.random');
  method(EventTarget.prototype, 'addEventListener', 'addEventListener');
  method(EventTarget.prototype, 'removeEventListener', 'removeEventListener');
  method(Storage.prototype, 'getItem', 'getItem');
  method(Storage.prototype, 'setItem', 'setItem');
  method(Storage.prototype, 'removeItem', 'removeItem');
  method(JSON, 'parse', 'JSON.parse');
  method(JSON, 'stringify', 'JSON.stringify');
  method(TextEncoder.prototype, 'encodeInto', 'encodeInto');
  accessor(Document.prototype, 'hidden', 'hidden');
  return {
    errors,
    seen,
    restore() {
      for (const r of restores.reverse()) r();
    },
  };
}

// Uncaught errors (a trap inside a browser callback lands here). `expected`: the scenario
// makes them (a delivery reported, not a trap), so they are kept from the test runner.
function watchUncaught(expected = false) {
  const list = [];
  const f = (ev) => {
    list.push(ev.error || ev.message);
    if (expected) ev.preventDefault();
  };
  window.addEventListener('error', f);
  return {
    list,
    stop() {
      window.removeEventListener('error', f);
    },
  };
}

// A channel of `s` named `prefix` and a random tail, once subscribed.
async function subscribed(s, prefix) {
  const name = prefix + Math.random().toString(36).slice(2);
  const ch = s.subscribe(name);
  await ch.once('subscribe', 5000);
  return { name, ch };
}

async function echoWorks(s) {
  if (s.state === 'closed') s.connect();
  if (s.state !== 'open') await next(s, 'connect');
  return await s.emit('echo', 'still usable', { ackTimeout: 5000 });
}

// A page wraps WebSocket.prototype.send and calls socket.disconnect() inside it.
export async function sendWrapperDisconnects(url) {
  const m = await glue();
  const uncaught = watchUncaught();
  const s = m.connect(url, { autoConnect: false });
  let done = false;
  const w = wrapGlobals((name) => {
    if (name === 'send' && !done) {
      done = true;
      s.disconnect(4100, 'from send');
    }
  });
  let stateAfter;
  try {
    s.connect();
    await until(5000, () => done);
    stateAfter = s.state;
  } finally {
    w.restore();
  }
  return report(s, w, uncaught, { called: done, stateAfter });
}

// What a wrapped-globals run saw: `fields`, the wrappers' errors, whether an echo still works,
// and the uncaught errors; then the socket is closed.
async function report(s, w, uncaught, fields) {
  const out = {
    ...fields,
    errors: w.errors.map(describe),
    echo: await echoWorks(s).catch((e) => ({ failed: describe(e) })),
  };
  s.disconnect();
  uncaught.stop();
  out.uncaught = uncaught.list.map(String);
  return out;
}

// Every wrapped global calls back into the SDK: reads and sends (`mode: 'calls'`), or closes and
// reopens it (`mode: 'lifecycle'`, a few times per global).
export async function wrappedGlobals(url, mode, controlBase) {
  const m = await glue();
  const uncaught = watchUncaught();
  let s;
  let ch;
  const counts = {};
  const lifecycle = [
    () => s.disconnect(),
    () => s.connect(),
    () => s.reconnect(4100, 'wrapped'),
    () => s.unsubscribe('hx-wrapped'),
    () => s.subscribe('hx-wrapped'),
    () => s.disconnect(4101),
    () => s.connect(),
  ];
  const w = wrapGlobals((name) => {
    if (!s) return;
    // A budget per global: each call back may itself cause traffic (and more wrapped calls).
    const n = (counts[name] = (counts[name] || 0) + 1);
    if (n > 4) return;
    if (mode === 'calls') {
      void s.state, s.id, s.pendingReconnect, s.connectAttempts, s.authState, s.authToken;
      void s.signedAuthToken, s.url, s.authTokenName;
      s.subscriptions(true);
      if (ch) void ch.state;
      s.transmit('note', name);
      const p = s.emit('echo', name, { ackTimeout: 2000 });
      if (p) p.catch(() => {});
      const off = s.on('x', () => {});
      off();
    } else {
      lifecycle[(n + name.length) % lifecycle.length]();
    }
  });
  let phase = 'start';
  try {
    s = m.connect(url, { authStorage: 'local', ackTimeout: 3000 });
    ch = s.subscribe('hx-wrapped');
    ch.watch(() => {});
    phase = 'connect';
    await until(3000, () => s.state === 'open');
    if (s.state === 'open') {
      phase = 'traffic';
      await s.emit('echo', 1, { ackTimeout: 2000 }).catch(() => {});
      await s.publish('hx-wrapped', 2).catch(() => {});
      await control(controlBase, '/publish', { channel: 'hx-wrapped', data: 3 });
      // (a frame long enough for the page to encode it with TextEncoder.encodeInto)
      await control(controlBase, '/publish', { channel: 'hx-wrapped', data: 'x'.repeat(300) });
      await s.emit('echo', 4, { ackTimeout: 2000 }).catch(() => {});
    }
    phase = 'close';
    s.disconnect();
    s.connect();
    await until(3000, () => s.state === 'open');
  } catch (e) {
    w.errors.push(e);
  } finally {
    w.restore();
  }
  return report(s, w, uncaught, { phase, seen: [...w.seen].sort() });
}

// ---- item 3: close codes reach the server ----------------------------------------------------

export async function closeCodesFromListeners(url, controlBase) {
  const m = await glue();
  const out = {};

  // reconnect(4123) inside a connect listener
  {
    const s = m.connect(url);
    let firstId;
    let connects = 0;
    const second = new Promise((resolve) => {
      s.on('connect', () => {
        connects++;
        if (connects === 1) {
          firstId = s.id;
          s.reconnect(4123, 'r1');
        } else resolve();
      });
    });
    await Promise.race([second, wait(5000)]);
    out.reconnectInConnect = await closes(controlBase, firstId);
    s.disconnect();
  }
  // disconnect(4321) inside a connect listener
  {
    const s = m.connect(url);
    let id;
    const closed = next(s, 'close');
    s.on('connect', () => {
      id = s.id;
      s.disconnect(4321, 'r2');
    });
    await closed;
    out.disconnectInConnect = await closes(controlBase, id);
    out.stateAfterDisconnectInConnect = s.state;
  }
  // disconnect(4322) inside a server-event listener
  {
    const s = await opened(m, url);
    const id = s.id;
    s.on('bye', () => s.disconnect(4322, 'r3'));
    const closed = next(s, 'close');
    await control(controlBase, '/transmit', { socketId: id, event: 'bye' });
    await closed;
    out.disconnectInServerEvent = await closes(controlBase, id);
  }
  // reconnect(4124) inside a server-event listener
  {
    const s = await opened(m, url);
    const id = s.id;
    s.on('again', () => s.reconnect(4124, 'r4'));
    const again = next(s, 'connect');
    await control(controlBase, '/transmit', { socketId: id, event: 'again' });
    await again;
    out.reconnectInServerEvent = await closes(controlBase, id);
    s.disconnect();
  }
  return out;
}

// The socket notices a ping timeout (the clock jumped) and retries at once: the server sees 4000.
export async function selfCloseCode(url, controlBase) {
  const m = await glue();
  const s = await opened(m, url);
  const id = s.id;
  const realNow = Date.now;
  let out;
  try {
    Date.now = () => realNow.call(Date) + 120000;
    const again = next(s, 'connect');
    window.dispatchEvent(new Event('pageshow')); // the page wakes: staleness is checked
    await again;
    out = { closes: await closes(controlBase, id), newId: s.id !== id };
  } finally {
    Date.now = realNow;
    s.disconnect();
  }
  return out;
}

// disconnect() inside a `connecting` listener: no WebSocket is opened.
export async function disconnectWhileConnecting(url) {
  const m = await glue();
  const Orig = globalThis.WebSocket;
  let constructed = 0;
  const WS = function (...args) {
    constructed++;
    return new Orig(...args);
  };
  WS.prototype = Orig.prototype;
  globalThis.WebSocket = WS;
  const s = m.connect(url, { autoConnect: false });
  const events = [];
  for (const e of ['connecting', 'connectAbort', 'close', 'error', 'reconnecting']) {
    s.on(e, () => events.push(e));
  }
  s.on('connecting', () => s.disconnect());
  try {
    s.connect(); // opening the WebSocket would happen synchronously in here
  } finally {
    globalThis.WebSocket = Orig;
  }
  return { constructed, state: s.state, pendingReconnect: s.pendingReconnect, events };
}

// ---- item 4: nothing after unsubscribe / disconnect within one frame ---------------------------

const pub = (channel, data) => ({ event: '#publish', data: { channel, data } });

export async function frameAfterUnsubscribe(url, controlBase) {
  const m = await glue();
  const s = await opened(m, url);
  const id = s.id;
  const tag = Math.random().toString(36).slice(2);
  const [a, b, c] = ['a', 'b', 'c'].map((x) => `hx-${x}-${tag}`);
  const ca = s.subscribe(a);
  const cb = s.subscribe(b);
  const cc = s.subscribe(c);
  await Promise.all([ca, cb, cc].map((ch) => ch.once('subscribe', 5000)));
  const got = { a: [], b: [], c: [] };
  ca.watch((d) => {
    got.a.push(d);
    ca.unsubscribe();
  });
  cb.watch((d) => got.b.push(d));
  cc.watch((d) => {
    got.c.push(d);
    s.unsubscribe(c);
  });
  const frame = [pub(a, 1), pub(a, 2), pub(b, 3), pub(a, 4), pub(c, 5), pub(c, 6), pub(b, 7)];
  await control(controlBase, '/sendRaw', { socketId: id, text: JSON.stringify(frame) });
  await until(5000, () => got.b.length >= 2);
  s.disconnect();
  return got;
}

export async function frameAfterDisconnect(url, controlBase) {
  const m = await glue();
  const out = {};
  // server events: e1's listener disconnects; e2 of the same frame is not delivered
  {
    const s = await opened(m, url);
    const heard = [];
    s.on('e1', () => {
      heard.push('e1');
      s.disconnect();
    });
    s.on('e2', () => heard.push('e2:' + s.state));
    s.on('raw', () => heard.push('raw'));
    const frame = [{ event: 'e1', data: 1 }, { event: 'e2', data: 2 }, 'not a packet'];
    await control(controlBase, '/sendRaw', { socketId: s.id, text: JSON.stringify(frame) });
    await until(5000, () => heard.length > 0);
    out.events = heard;
  }
  // channel messages: a watcher disconnects; the rest of the frame is not delivered
  {
    const s = await opened(m, url);
    const { name, ch } = await subscribed(s, 'hx-d-');
    const heard = [];
    ch.watch((d) => {
      heard.push(d);
      s.disconnect();
    });
    s.on('e3', () => heard.push('e3'));
    const frame = [pub(name, 1), pub(name, 2), { event: 'e3' }];
    await control(controlBase, '/sendRaw', { socketId: s.id, text: JSON.stringify(frame) });
    await until(5000, () => heard.length > 0);
    out.messages = heard;
  }
  return out;
}

// ---- item 5: server-controlled error objects ---------------------------------------------------

export async function hostileServerErrors(url, controlBase) {
  const m = await glue();
  const s = await opened(m, url);
  const id = s.id;
  // Answers the next `noReply` invoke with `error` (a raw frame with its cid).
  const answer = async (errorJson) => {
    const p = s.emit('noReply', null, { ackTimeout: 5000 });
    let cid;
    await until(5000, async () => {
      const log = await control(controlBase, `/received?socketId=${id}`);
      const e = log.filter((x) => x.event === 'noReply').pop();
      cid = e && e.cid;
      return cid !== undefined && !answered.has(cid);
    });
    answered.add(cid);
    await control(controlBase, '/sendRaw', { socketId: id, text: `{"rid":${cid},"error":${errorJson}}` });
    return p.then(
      () => 'resolved',
      (e) => e,
    );
  };
  const answered = new Set();
  const look = (e) => {
    let printed;
    try {
      printed = String(e) + ' ' + `${e}` + ' ' + Object.prototype.toString.call(e);
    } catch (x) {
      printed = 'THREW: ' + x;
    }
    return {
      isError: e instanceof Error,
      protoIsError: Object.getPrototypeOf(e) === Error.prototype,
      ctorIsError: e.constructor === Error,
      name: e.name,
      message: e.message,
      polluted: e.polluted === undefined ? null : e.polluted,
      pollutedGlobal: {}.polluted === undefined ? null : {}.polluted,
      extra: e.extra === undefined ? null : e.extra,
      ownKeys: Object.keys(e).sort(),
      printed,
    };
  };
  const out = {};
  out.proto = look(
    await answer('{"name":"Evil","message":"m","__proto__":{"polluted":1},"constructor":{"x":1},"prototype":2,"extra":5}'),
  );
  out.protoNull = look(await answer('{"name":"Evil","message":"m2","__proto__":null}'));
  out.nameNotString = look(await answer('{"name":{"toString":1},"message":7}'));
  const str = await answer('"Error message"');
  out.string = { ...look(str), value: str.value };
  const arr = await answer('[1,2]');
  out.array = { ...look(arr), value: arr.value };
  s.disconnect();
  return out;
}

// ---- item 11: free() ----------------------------------------------------------------------------

export async function freeCloses(url, controlBase, sseBase) {
  const m = await glue();
  const out = {};
  {
    const s = await opened(m, url);
    const id = s.id;
    const heard = [];
    s.on('close', (e) => heard.push(e.code));
    s.free();
    out.socketCloses = await closes(controlBase, id);
    out.socketHeard = heard;
    let err;
    try {
      s.disconnect();
    } catch (e) {
      err = e;
    }
    out.afterFree = err === undefined ? 'ok' : err instanceof WebAssembly.RuntimeError ? 'runtime' : 'threw';
  }
  {
    const key = 'hx-free-' + Math.random().toString(36).slice(2);
    const es = new m.EventStream(`${sseBase}/counter?n=1000&delay=50&key=${key}`);
    await es.once('open', 5000);
    const stats = () => control(controlBase, `/sse/stats?key=${key}`);
    out.sseOpenBefore = (await stats()).open;
    es.free();
    await until(10000, async () => (await stats()).open === 0);
    out.sseOpenAfter = (await stats()).open;
  }
  return out;
}

// Channel.free(): unsubscribes, then releases the name's listeners and watchers; a later
// `channel(name)` / `subscribe(name)` returns a fresh, working object.
export async function channelFree(url, controlBase) {
  const m = await glue();
  const s = await opened(m, url);
  const tag = Math.random().toString(36).slice(2);
  const name = `hx-cf-${tag}`;
  const out = {};
  // What `f()` returns, or how it threw.
  const attempt = (f) => {
    try {
      return f();
    } catch (e) {
      return { threw: describe(e) };
    }
  };
  const ch = s.subscribe(name);
  await ch.once('subscribe', 5000);
  const old = [];
  ch.watch((d) => old.push(d));
  const chHeard = [];
  ch.on('unsubscribe', () => chHeard.push('unsubscribe'));
  const sockHeard = [];
  s.on('unsubscribe', (n) => sockHeard.push(n));
  ch.free();
  out.afterFree = {
    subscriptions: s.subscriptions(true),
    socketHeard: [...sockHeard],
    channelHeard: [...chHeard],
    freedThrows: attempt(() => ch.state).threw !== undefined,
  };
  const c2 = s.channel(name);
  out.channel = attempt(() => ({ fresh: c2 !== ch, state: c2.state, name: c2.name }));
  const c3 = attempt(() => s.subscribe(name));
  out.subscribeSame = c3 === c2;
  const fresh = [];
  const loop = [];
  out.resubscribed = await (async () => {
    try {
      await c3.once('subscribe', 5000);
      c3.watch((d) => fresh.push(d));
      (async () => {
        for await (const d of c3) {
          loop.push(d);
          break;
        }
      })();
      return c3.state;
    } catch (e) {
      return { threw: describe(e) };
    }
  })();
  await control(controlBase, '/sendRaw', { socketId: s.id, text: JSON.stringify(pub(name, 1)) });
  await until(5000, () => fresh.length > 0 && loop.length > 0);
  out.fresh = fresh;
  out.loop = loop;
  out.old = old;
  // `[Symbol.dispose]` is the same as free(); a channel that was never subscribed too.
  if (typeof Symbol.dispose === 'symbol') attempt(() => c3[Symbol.dispose]());
  else attempt(() => c3.free());
  out.afterDispose = { subscriptions: s.subscriptions(true), state: attempt(() => s.channel(name).state) };
  const other = `hx-cf2-${tag}`;
  attempt(() => s.channel(other).free());
  out.neverSubscribed = attempt(() => {
    const c = s.channel(other);
    return { state: c.state, name: c.name };
  });
  s.disconnect();
  return out;
}

// ---- item 16: close texts and reasons ------------------------------------------------------------

export async function closeTexts(url, controlBase) {
  const m = await glue();
  const out = {};
  {
    const s = await opened(m, url, { autoReconnect: false });
    const err = next(s, 'error');
    const disc = next(s, 'disconnect');
    await control(controlBase, '/disconnect', { socketId: s.id, code: 4001, reason: 'custom' });
    const e = await err;
    out.server4001 = { name: e.name, code: e.code, message: e.message, disconnect: await disc };
  }
  {
    const s = await opened(m, url, { autoReconnect: false });
    const err = next(s, 'error');
    await control(controlBase, '/disconnect', { socketId: s.id, code: 1011, reason: 'boom' });
    out.server1011 = (await err).message;
  }
  {
    const s = await opened(m, url, { autoReconnect: false });
    const seen = {};
    for (const name of ['disconnect', 'close', 'error']) s.on(name, (e) => (seen[name] = e));
    s.disconnect(4321);
    out.pageNoReason = {
      disconnectHasReason: 'reason' in seen.disconnect,
      disconnectReason: seen.disconnect.reason === undefined ? 'undefined' : seen.disconnect.reason,
      closeReason: seen.close.reason === undefined ? 'undefined' : seen.close.reason,
      error: seen.error.message,
    };
    const t = await opened(m, url, { autoReconnect: false });
    const c = {};
    t.on('close', (e) => (c.close = e));
    t.disconnect();
    out.pageDefault = c.close.reason === undefined ? 'undefined' : c.close.reason;
    const u = await opened(m, url, { autoReconnect: false });
    u.on('close', (e) => (c.withReason = e));
    u.disconnect(4322, 'given');
    out.pageWithReason = c.withReason.reason;
  }
  return out;
}

// Whether `socket` (made from Rust) is an instance of the module's `Socket` class.
export async function sameModule(socket) {
  const m = await glue();
  // (the module's `Socket` export makes objects of the class the Rust side made `socket` of)
  const other = new m.Socket('ws://127.0.0.1:9/', { autoConnect: false });
  const same = Object.getPrototypeOf(other) === Object.getPrototypeOf(socket) && typeof m.connect === 'function';
  other.free();
  return same;
}

// ---- a watcher that makes the page read another socket's frame --------------------------------

// Socket A gets one frame with messages for channels x and y; x's watcher hands socket B's
// WebSocket a frame synchronously (as a page holding the WebSocket objects could). y's message
// is still A's (the frame a lone message is sliced from is the one its pump read).
export async function frameReadInAWatcher(url, controlBase) {
  const m = await glue();
  const { s: a } = await openedWithWs(m, url);
  const { s: b, ws: bWs } = await openedWithWs(m, url);
  const tag = Math.random().toString(36).slice(2);
  const [x, y, z] = ['x', 'y', 'z'].map((c) => `held-${c}-${tag}`);
  const [cx, cy, cz] = [a.subscribe(x), a.subscribe(y), b.subscribe(z)];
  await Promise.all([cx, cy, cz].map((ch) => ch.once('subscribe', 5000)));
  const got = { x: [], y: [], z: [] };
  cx.watch((d) => {
    got.x.push(d);
    const text = JSON.stringify(pub(z, 'for b, and longer than the frame of a: ' + 'b'.repeat(80)));
    bWs.onmessage(new MessageEvent('message', { data: text }));
  });
  cy.watch((d) => got.y.push(d));
  cz.watch((d) => got.z.push(d.slice(0, 5)));
  await control(controlBase, '/sendRaw', { socketId: a.id, text: JSON.stringify([pub(x, 1), pub(y, 2)]) });
  await until(5000, () => got.y.length >= 1);
  a.disconnect();
  b.disconnect();
  return got;
}

// ---- a page whose TextEncoder.encodeInto lies ---------------------------------------------------

// `encodeInto` patched to claim every unit read and `written` bytes: each channel message (long
// enough for the page's frame read to use the encoder) still arrives, and nothing traps.
export async function lyingEncoder(url, controlBase) {
  const m = await glue();
  const uncaught = watchUncaught();
  const s = await opened(m, url);
  const { name, ch } = await subscribed(s, 'hx-enc-');
  const got = [];
  ch.watch((d) => got.push(d.length));
  const orig = TextEncoder.prototype.encodeInto;
  const lies = [-(2 ** 31) + 5, 2 ** 31 - 1, 1e12, -3, 0, 1, NaN];
  try {
    for (const written of lies) {
      TextEncoder.prototype.encodeInto = function (str) {
        return { read: str.length, written };
      };
      await control(controlBase, '/publish', { channel: name, data: 'x'.repeat(300) });
      await until(3000, () => got.length > lies.indexOf(written));
    }
  } finally {
    TextEncoder.prototype.encodeInto = orig;
  }
  const echo = await s.emit('echo', 'still usable', { ackTimeout: 5000 });
  s.disconnect();
  uncaught.stop();
  return { got, echo, uncaught: uncaught.list.map(String) };
}

// A page whose encodeInto writes a different (valid) frame than the one it was given, with a
// plausible count: the message sliced out of the page's own string is not JSON there. That one
// message is reported, and the socket goes on (later messages and answers arrive).
export async function forgingEncoder(url, controlBase) {
  const m = await glue();
  const s = await opened(m, url);
  const { name, ch } = await subscribed(s, 'hx-forge-');
  const got = [];
  ch.watch((d) => got.push(typeof d === 'string' ? d.length : d));
  const reported = watchUncaught(true);
  const orig = TextEncoder.prototype.encodeInto;
  try {
    TextEncoder.prototype.encodeInto = function (str, view) {
      // the same frame, its data replaced by 1 and padded to the same length
      const fake = str.replace(/"data":"x+"\}\}$/, (t) => '"data":1}}' + ' '.repeat(t.length - 10));
      return { read: str.length, written: orig.call(this, fake, view).written };
    };
    await control(controlBase, '/publish', { channel: name, data: 'x'.repeat(300) });
    await until(3000, () => reported.list.length > 0 || got.length > 0);
  } finally {
    TextEncoder.prototype.encodeInto = orig;
  }
  await control(controlBase, '/publish', { channel: name, data: 'y'.repeat(300) });
  await until(3000, () => got.length > 0);
  const echo = await s.emit('echo', 'still usable', { ackTimeout: 5000 });
  reported.stop();
  s.disconnect();
  return { got, echo, reported: reported.list.length };
}

// A page whose JSON.parse throws on the JSON array of a frame's channel messages (the run
// socket.js parses in one go): that delivery is reported, and the socket goes on (the next
// frame's messages and an answer arrive). Before, the exception unwound into the wasm and left
// its pump busy, so nothing was delivered any more.
export async function throwingParse(url, controlBase) {
  const m = await glue();
  const s = await opened(m, url);
  const { name, ch } = await subscribed(s, 'hx-parse-');
  const got = [];
  ch.watch((d) => got.push(d.n));
  const reported = watchUncaught(true);
  const orig = JSON.parse;
  let thrown = 0;
  try {
    JSON.parse = function (text, reviver) {
      if (!thrown && typeof text === 'string' && text.startsWith('[{"n":')) {
        thrown++;
        throw new SyntaxError('no arrays here');
      }
      return orig.call(this, text, reviver);
    };
    await control(controlBase, '/bench/blast', { channel: name, count: 2, perFrame: 2 });
    await until(3000, () => reported.list.length > 0 || got.length > 0);
  } finally {
    JSON.parse = orig;
  }
  await control(controlBase, '/bench/blast', { channel: name, count: 2, perFrame: 2 });
  await until(3000, () => got.length > 1);
  const echo = await s.emit('echo', 'still usable', { ackTimeout: 5000 });
  reported.stop();
  s.disconnect();
  return { got, echo, thrown, reported: reported.list.length };
}

// ---- a throwing setTimeout ----------------------------------------------------------------------

// A page whose setTimeout throws while the socket arms its timer (an emit's ack deadline, a
// ping deadline): the calls made then do not throw, nothing traps, and once setTimeout works
// again the socket answers and times out as before.
export async function throwingSetTimeout(url) {
  const m = await glue();
  const uncaught = watchUncaught();
  const s = await opened(m, url);
  const orig = globalThis.setTimeout;
  const thrown = [];
  let noReply;
  try {
    globalThis.setTimeout = () => {
      throw new Error('no timers here');
    };
    try {
      noReply = s.emit('noReply', null, { ackTimeout: 200 });
      noReply.catch(() => {});
      s.transmit('note', 1);
    } catch (e) {
      thrown.push(String(e));
    }
  } finally {
    globalThis.setTimeout = orig;
  }
  const echo = await s.emit('echo', 'still usable', { ackTimeout: 5000 });
  let late;
  try {
    await s.emit('noReply', null, { ackTimeout: 200 });
  } catch (e) {
    late = e.name;
  }
  s.disconnect();
  uncaught.stop();
  return { thrown, echo, late, uncaught: uncaught.list.map(String) };
}

// A page whose WebSocket constructor throws (a blocked port, a wrapper that refuses): each
// throw is a connection lost (1006) and the next backoff attempt, never a throw from the
// socket; once the constructor works again the socket opens.
export async function throwingWebSocket(url) {
  const m = await glue();
  const uncaught = watchUncaught();
  const Orig = globalThis.WebSocket;
  let refuse = 2, made = 0, s;
  const out = { aborts: [], thrown: [] };
  globalThis.WebSocket = function WebSocket(u, p) {
    made++;
    if (refuse > 0) {
      refuse--;
      throw new DOMException('refused by the page', 'SecurityError');
    }
    return p === undefined ? new Orig(u) : new Orig(u, p);
  };
  globalThis.WebSocket.prototype = Orig.prototype;
  try {
    s = m.connect(url, { autoConnect: false, autoReconnectOptions: { initialDelay: 20, maxDelay: 50, randomness: 0 } });
    s.on('connectAbort', (e) => out.aborts.push(e.code));
    s.connect();
    out.opened = await until(3000, () => s.state === 'open');
    out.echo = out.opened ? await s.emit('echo', 'still usable', { ackTimeout: 2000 }) : null;
  } catch (e) {
    out.thrown.push(String(e));
  } finally {
    globalThis.WebSocket = Orig;
    if (s) s.disconnect();
  }
  uncaught.stop();
  return { ...out, made, uncaught: uncaught.list.map(String) };
}

// ---- binary frames ------------------------------------------------------------------------------

// The server reads binary frames as UTF-8 JSON; the client does too. Frames handed to the
// socket's WebSocket as ArrayBuffers (as a server's binary frames arrive): channel messages
// arrive, an invalid UTF-8 byte reads as U+FFFD.
export async function binaryFrames(url) {
  const m = await glue();
  const { s, ws } = await openedWithWs(m, url);
  const { name, ch } = await subscribed(s, 'hx-bin-');
  const got = [];
  ch.watch((d) => got.push(d));
  const enc = (text) => new TextEncoder().encode(text);
  const frame = (data) => JSON.stringify(pub(name, data));
  ws.onmessage(new MessageEvent('message', { data: enc(frame('é ✓ binary')).buffer }));
  const [head, tail] = frame('bad X byte').split('X');
  const bad = new Uint8Array([...enc(head), 0xff, ...enc(tail)]);
  ws.onmessage(new MessageEvent('message', { data: bad.buffer }));
  ws.onmessage(new MessageEvent('message', { data: new ArrayBuffer(0) }));
  const echo = await s.emit('echo', 'still usable', { ackTimeout: 5000 });
  s.disconnect();
  return { got, echo };
}
