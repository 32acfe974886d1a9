// The three clients under test, behind one small interface, and the measurements bench/run.js
// drives through `window.bench`. Loaded by bench/page.html?client=sockline|sc|raw&base=8100.
//
//   client.connect()                 resolves after the SocketCluster handshake
//   client.subscribe(channel, fn)    resolves once the server acknowledged #subscribe; fn(data)
//                                    is called for every message (the "watcher")
//   client.emit(event, data)         Promise of the server's response data

const params = new URLSearchParams(location.search);
const base = Number(params.get('base')) || 8100;
const HOST = '127.0.0.1';
const SC_URL = `ws://${HOST}:${base + 1}/socketcluster/`;
const CONTROL = `http://${HOST}:${base}`;

// ------------------------------------------------------------------ sockline (pkg/)
async function socklineClient() {
  const mod = await import('/pkg/sockline.js');
  const wasm = await mod.default();
  let socket;
  let channel;
  return {
    wasmMemory: () => wasm.memory.buffer.byteLength,
    async connect() {
      socket = mod.connect(SC_URL);
      await socket.once('connect', 10000);
    },
    async subscribe(name, fn) {
      const ch = (channel = socket.subscribe(name)); // keep it referenced, as an app would
      ch.watch(fn);
      if (ch.state !== 'subscribed') await ch.once('subscribe', 10000);
    },
    emit: (event, data) => socket.emit(event, data),
    async reconnect() {
      const connected = socket.once('connect', 10000);
      socket.reconnect();
      await connected;
      if (channel.state !== 'subscribed') await channel.once('subscribe', 10000);
    },
    async ready() {
      if (channel.state !== 'subscribed') await channel.once('subscribe', 10000);
    },
  };
}

// ------------------------------------------------------------------ socketcluster-client 20
async function scClient() {
  const { create } = await import('/build/socketcluster-client.js');
  let socket;
  let channel;
  return {
    async connect() {
      socket = create({ hostname: HOST, port: base + 1, path: '/socketcluster/', autoReconnect: false });
      await socket.listener('connect').once(10000);
    },
    async subscribe(name, fn) {
      const ch = (channel = socket.subscribe(name));
      (async () => {
        for await (const data of ch) fn(data);
      })();
      if (ch.state !== 'subscribed') await ch.listener('subscribe').once(10000);
    },
    emit: (event, data) => socket.invoke(event, data),
    async reconnect() {
      const connected = socket.listener('connect').once(10000);
      socket.reconnect();
      await connected;
    },
    async ready() {
      if (channel.state !== 'subscribed') await channel.listener('subscribe').once(10000);
    },
  };
}

// ------------------------------------------------------------------ raw WebSocket + JSON.parse
// The physical limit: a hand-written handshake, a cid -> Promise map, ping/pong, batches.
async function rawClient() {
  let ws;
  let cid = 0;
  const pending = new Map();
  const watchers = new Map();
  function handle(p) {
    if (p.rid !== undefined) {
      const call = pending.get(p.rid);
      if (!call) return;
      pending.delete(p.rid);
      if (p.error !== undefined) call.reject(p.error);
      else call.resolve(p.data);
    } else if (p.event === '#publish') {
      const fn = watchers.get(p.data.channel);
      if (fn) fn(p.data.data);
    }
  }
  function emit(event, data) {
    return new Promise((resolve, reject) => {
      const id = ++cid;
      pending.set(id, { resolve, reject });
      ws.send(JSON.stringify({ event, data, cid: id }));
    });
  }
  return {
    async connect() {
      ws = new WebSocket(SC_URL);
      ws.onmessage = (e) => {
        const text = e.data;
        if (text === '') return ws.send(''); // protocol v2 ping
        const p = JSON.parse(text);
        if (Array.isArray(p)) for (const x of p) handle(x);
        else handle(p);
      };
      await new Promise((resolve, reject) => {
        ws.onopen = resolve;
        ws.onerror = () => reject(new Error('WebSocket error'));
      });
      await emit('#handshake', { authToken: null });
    },
    async subscribe(name, fn) {
      watchers.set(name, fn);
      await emit('#subscribe', { channel: name });
    },
    emit,
  };
}

// ------------------------------------------------------------------ measurements
const kind = params.get('client');
let client;
let channel;
let onMessage = () => {};

async function setup() {
  client = await ({ sockline: socklineClient, sc: scClient, raw: rawClient })[kind]();
  await client.connect();
  channel = `bench-${kind}-${Math.random().toString(36).slice(2, 10)}`;
  await client.subscribe(channel, (data) => onMessage(data));
  return { channel };
}

// The server pushes `count` messages, `perFrame` per WebSocket frame; the rate counts from the
// first delivered message to the last one (the first frame's messages excluded).
async function blast(count, perFrame, timeoutMs = 60000) {
  let received = 0;
  let sum = 0;
  let tFirst = 0;
  let tLast = 0;
  let finish;
  const done = new Promise((resolve) => (finish = resolve));
  onMessage = (data) => {
    if (received === 0) tFirst = performance.now();
    received++;
    sum += data.n;
    if (received === count) {
      tLast = performance.now();
      finish();
    }
  };
  const t0 = performance.now();
  const res = await fetch(`${CONTROL}/bench/blast`, {
    method: 'POST',
    body: JSON.stringify({ channel, count, perFrame }),
  });
  const info = await res.json();
  const tSent = performance.now();
  if (info.sockets !== 1) throw new Error(`blast reached ${info.sockets} sockets: ${JSON.stringify(info)}`);
  let timer;
  await Promise.race([done, new Promise((resolve) => (timer = setTimeout(resolve, timeoutMs)))]);
  clearTimeout(timer);
  onMessage = () => {};
  if (!tLast) tLast = performance.now();
  const ms = tLast - tFirst;
  return {
    count,
    received,
    intact: received === count && sum === (count * (count - 1)) / 2,
    ms,
    firstMs: tFirst - t0, // from the request to the first message
    sentMs: tSent - t0, // from the request to the server's answer (every frame handed over)
    totalMs: tLast - t0, // from the request to the last message
    rate: received > perFrame && ms > 0 ? ((received - perFrame) / ms) * 1000 : 0,
  };
}

// `total` emit('echo') calls, `inflight` outstanding at any time.
async function emits(total, inflight) {
  let sent = 0;
  let done = 0;
  const t0 = performance.now();
  await new Promise((resolve, reject) => {
    const one = () => {
      sent++;
      client.emit('echo', { n: sent }).then(() => {
        done++;
        if (done === total) resolve();
        else if (sent < total) one();
      }, reject);
    };
    for (let i = 0; i < inflight && i < total; i++) one();
  });
  const ms = performance.now() - t0;
  return { total, ms, rate: (total / ms) * 1000 };
}

// `n` reconnects, one after the other (each waits for the handshake and, for sockline, the
// re-subscription).
async function reconnects(n) {
  if (!client.reconnect) return null;
  const t0 = performance.now();
  for (let i = 0; i < n; i++) await client.reconnect();
  return { n, ms: performance.now() - t0 };
}

// Resolves once the channel is subscribed again (after reconnects); not measured.
async function ready() {
  if (client.ready) await client.ready();
  return { visibility: document.visibilityState, focus: document.hasFocus() };
}

window.bench = {
  kind,
  setup,
  blast,
  emits,
  reconnects,
  ready,
  wasmMemory: () => (client && client.wasmMemory ? client.wasmMemory() : null),
};
document.getElementById('status').textContent = `${kind}: ready`;
