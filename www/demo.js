// sockline demo: one Socket to the embedded dev server (tests/fixtures), an emit round trip,
// a channel, the event log, an EventStream counter, and the Sessions panel: Redis keys with a
// TTL whose expiry reaches the page through www/keyspace.js (Redis keyspace notifications ->
// Redis Stream -> SSE) and an EventStream that resumes with the last event id.
//
// Query parameters: ?url=ws://host:port/socketcluster/ (SocketCluster server),
// ?sse=http://host:port/counter?... (SSE endpoint), ?base=8100 (the fixtures' base port),
// ?ks=http://host:port (the keyspace server; default base + 11), ?transport=fetch.
import * as sockline from '/pkg/sockline.js';

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
document.getElementById('rust-link').search = location.search; // the Rust page uses ?base= too
// The fixtures listen on 127.0.0.1 only; `localhost` may resolve to ::1.
const host = !location.hostname || location.hostname === 'localhost' ? '127.0.0.1' : location.hostname;
const base = Number(params.get('base')) || 8100;
const scUrl = params.get('url') || `ws://${host}:${base + 1}/socketcluster/`;
const channelName = params.get('channel') || 'demo';
const sseUrl =
  params.get('sse') ||
  `http://${host}:${base + 6}/counter?n=1000000&delay=1000&key=demo-${Math.random().toString(36).slice(2, 10)}`;
const ksBase = (params.get('ks') || `http://${host}:${base + 11}`).replace(/\/$/, '');

// ------------------------------------------------------------------ log
const time = () => new Date().toLocaleTimeString([], { hour12: false }) + '.' + String(Date.now() % 1000).padStart(3, '0');
function log(text, cls) {
  const li = document.createElement('li');
  const t = document.createElement('span');
  t.className = 't';
  t.textContent = time();
  li.append(t, text);
  if (cls) li.className = cls;
  const ol = $('log');
  ol.prepend(li);
  while (ol.children.length > 200) ol.lastChild.remove();
}
const show = (v) => {
  if (v === undefined) return '';
  if (v instanceof Error) return `${v.name}: ${v.message}`;
  try {
    return JSON.stringify(v);
  } catch (_) {
    return String(v);
  }
};
function setPill(el, state) {
  el.textContent = state;
  el.className = 'pill ' + state;
}

// ------------------------------------------------------------------ socket
// Module-level on purpose: a sockline object nobody references can be garbage-collected (its
// wasm side is freed by a FinalizationRegistry), which would silently end the stream.
let socket;
let channel;
let eventStream;
let sessionStream;
let connects = 0;

function refreshState() {
  if (!socket) return;
  const state = socket.state;
  setPill($('state'), state);
  $('conn-state').textContent = state + (socket.pendingReconnect ? ' (reconnect pending)' : '');
  $('socket-id').textContent = socket.id || '–';
  $('connect').disabled = state !== 'closed';
  $('disconnect').disabled = state === 'closed' && !socket.pendingReconnect;
  $('emit').disabled = $('publish').disabled = state === 'closed' && !socket.pendingReconnect;
  if (channel) setPill($('channel-state'), channel.state);
}

async function emitEcho() {
  let data;
  try {
    data = JSON.parse($('emit-data').value);
  } catch (_) {
    data = $('emit-data').value;
  }
  const t0 = performance.now();
  try {
    const reply = await socket.emit('echo', data);
    const ms = performance.now() - t0;
    $('latency').textContent = `${ms.toFixed(1)} ms`;
    $('emit-result').textContent = `echo → ${show(reply)} in ${ms.toFixed(1)} ms`;
    $('emit-result').className = '';
    log(`emit('echo', ${show(data)}) → ${show(reply)} in ${ms.toFixed(1)} ms`);
  } catch (err) {
    $('emit-result').textContent = `emit failed: ${show(err)}`;
    $('emit-result').className = 'error';
    log(`emit('echo') failed: ${show(err)}`, 'error');
  }
}

async function publish() {
  const text = $('publish-text').value;
  const t0 = performance.now();
  try {
    await socket.publish(channelName, text);
    $('publish-result').textContent = `published, acknowledged in ${(performance.now() - t0).toFixed(1)} ms`;
  } catch (err) {
    $('publish-result').textContent = `publish failed: ${show(err)}`;
    log(`publish failed: ${show(err)}`, 'error');
  }
}

function addMessage(data) {
  const li = document.createElement('li');
  li.textContent = `${time()}  ${typeof data === 'string' ? data : show(data)}`;
  const ul = $('messages');
  ul.prepend(li);
  while (ul.children.length > 50) ul.lastChild.remove();
}

function startSocket() {
  $('url').textContent = scUrl;
  $('channel-name').textContent = channelName;
  socket = sockline.connect(scUrl);
  const plain = ['connecting', 'subscribe', 'unsubscribe', 'authStateChange', 'giveUp', 'kickOut'];
  for (const name of plain) socket.on(name, (a) => { log(`${name} ${show(a)}`); refreshState(); });
  for (const name of ['connectAbort', 'disconnect', 'close', 'reconnecting']) {
    socket.on(name, (a) => { log(`${name} ${show(a)}`); refreshState(); });
  }
  socket.on('subscribeFail', (err, ch) => { log(`subscribeFail ${ch}: ${show(err)}`, 'error'); refreshState(); });
  socket.on('error', (err) => log(`error ${show(err)}`, 'error'));
  socket.on('connect', (info) => {
    connects++;
    $('connects').textContent = String(connects);
    log(`connect ${show(info)}`);
    refreshState();
    emitEcho();
  });

  channel = socket.subscribe(channelName);
  channel.on('subscribeStateChange', refreshState);
  channel.watch(addMessage);

  $('connect').onclick = () => { socket.connect(); refreshState(); };
  $('disconnect').onclick = () => { socket.disconnect(1000, 'demo button'); refreshState(); };
  $('emit').onclick = emitEcho;
  $('publish').onclick = publish;
  $('publish-text').onkeydown = (e) => { if (e.key === 'Enter') publish(); };
  $('emit-data').onkeydown = (e) => { if (e.key === 'Enter') emitEcho(); };
  refreshState();
  setInterval(refreshState, 500);
}

// ------------------------------------------------------------------ SSE
function startEventStream() {
  const { EventStream } = sockline;
  if (typeof EventStream !== 'function') {
    setPill($('sse-state'), 'unavailable');
    $('sse-note').textContent = 'EventStream is not exported by this build of pkg/.';
    return;
  }
  let received = 0;
  const es = (eventStream = new EventStream(sseUrl));
  setPill($('sse-state'), 'connecting');
  es.on('open', () => { setPill($('sse-state'), 'open'); log(`sse open ${sseUrl}`); });
  es.on('message', (ev) => {
    received++;
    $('sse-count').textContent = ev.data;
    $('sse-note').textContent = `${received} events received, last id ${ev.lastEventId}`;
  });
  es.on('error', (err) => { setPill($('sse-state'), 'connecting'); log(`sse error ${show(err)}`, 'error'); });
  es.on('reconnecting', (a) => log(`sse reconnecting ${show(a)}`));
  es.on('close', (a) => { setPill($('sse-state'), 'closed'); log(`sse close ${show(a)}`); });
}

// ------------------------------------------------------------------ Sessions (keyspace -> SSE)
const ks = {
  tag: 'demo-' + Math.random().toString(36).slice(2, 10), // lets "cut the stream" find this page's connection
  sessions: new Map(), // key -> {expiresAt, ttl}
  seen: new Set(), // keys whose `expired` arrived (duplicates are counted against it)
  received: 0, replayed: 0, duplicates: 0, opens: 0,
  lastEventId: '',
};

async function ksFetch(pathAndQuery, method = 'GET') {
  const r = await fetch(ksBase + pathAndQuery, {method});
  if (!r.ok) throw new Error(`${method} ${pathAndQuery}: HTTP ${r.status}`);
  return r.json();
}

function ksCounters() {
  $('ks-received').textContent = String(ks.received);
  $('ks-replayed').textContent = String(ks.replayed);
  $('ks-duplicates').textContent = String(ks.duplicates);
  $('ks-dup-box').className = ks.duplicates ? 'bad' : '';
  $('ks-reconnects').textContent = String(Math.max(0, ks.opens - 1));
  $('ks-live').textContent = String(ks.sessions.size);
}

function ksRenderSessions() {
  const now = Date.now();
  const ul = $('ks-sessions');
  const rows = [...ks.sessions].sort((a, b) => a[1].expiresAt - b[1].expiresAt);
  ul.replaceChildren(...rows.slice(0, 40).map(([key, s]) => {
    const li = document.createElement('li');
    const left = Math.max(0, s.expiresAt - now);
    const bar = document.createElement('span');
    bar.className = 'bar';
    const fill = document.createElement('i');
    fill.style.width = `${Math.min(100, (100 * left) / (s.ttl || 1)).toFixed(0)}%`;
    bar.append(fill);
    li.append(bar, `${key}  ${(left / 1000).toFixed(1)} s`);
    return li;
  }));
  if (rows.length > 40) {
    const li = document.createElement('li');
    li.textContent = `… and ${rows.length - 40} more`;
    ul.append(li);
  }
  ksCounters();
}

// The server knows the TTLs; asked after a reset and for keys this page did not create.
let ksRefreshTimer = null;
function ksRefreshSoon() {
  if (ksRefreshTimer) return;
  ksRefreshTimer = setTimeout(async () => {
    ksRefreshTimer = null;
    try {
      const {sessions} = await ksFetch('/sessions');
      const now = Date.now();
      const live = new Set(sessions.map((s) => s.key));
      for (const key of ks.sessions.keys()) if (!live.has(key)) ks.sessions.delete(key);
      for (const s of sessions) {
        const had = ks.sessions.get(s.key);
        ks.sessions.set(s.key, {expiresAt: now + s.ttl, ttl: had ? had.ttl : s.ttl});
      }
      ksRenderSessions();
    } catch (err) {
      log(`sessions: ${show(err)}`, 'error');
    }
  }, 200);
}

function ksExpired(ev) {
  const data = JSON.parse(ev.data);
  ks.received++;
  if (data.replayed) ks.replayed++;
  if (ks.seen.has(data.key)) ks.duplicates++;
  ks.seen.add(data.key);
  if (ks.seen.size > 100000) ks.seen.clear(); // bounded; a demo runs for minutes, not days
  ks.sessions.delete(data.key);
  const li = document.createElement('li');
  li.textContent = `${time()}  ${data.key} expired (server ${new Date(data.at).toLocaleTimeString([], {hour12: false})})` +
    (data.replayed ? '  · replayed after reconnect' : '');
  if (data.replayed) li.className = 'replayed';
  const ul = $('ks-expired');
  ul.prepend(li);
  while (ul.children.length > 100) ul.lastChild.remove();
  ksRenderSessions();
}

function startSessionStream(transport) {
  const { EventStream } = sockline;
  const url = `${ksBase}/events?prefix=session:&client=${ks.tag}`;
  const options = {transport, autoReconnectOptions: {initialDelay: 500, maxDelay: 5000}};
  if (ks.lastEventId) options.lastEventId = ks.lastEventId; // switching transport resumes too
  const es = (sessionStream = new EventStream(url, options));
  setPill($('ks-state'), 'connecting');
  const mine = (f) => (...a) => { if (sessionStream === es) f(...a); };
  es.on('open', mine(() => {
    ks.opens++;
    setPill($('ks-state'), 'open');
    log(`sessions stream open (${transport}${es.lastEventId ? `, resuming after ${es.lastEventId}` : ''})`);
    ksCounters();
  }));
  es.on('error', mine((err) => { setPill($('ks-state'), 'connecting'); log(`sessions stream error ${show(err)}`, 'error'); }));
  es.on('reconnecting', mine((a) => log(`sessions stream reconnecting ${show(a)}`)));
  es.on('ready', mine((ev) => { ks.lastEventId = ev.lastEventId; }));
  es.on('reset', mine((ev) => { log(`sessions stream reset ${ev.data}: history was trimmed; reloading the list`); ksRefreshSoon(); }));
  es.on('set', mine((ev) => {
    ks.lastEventId = ev.lastEventId;
    const {key} = JSON.parse(ev.data);
    if (!ks.sessions.has(key)) ksRefreshSoon();
  }));
  es.on('del', mine((ev) => {
    ks.lastEventId = ev.lastEventId;
    ks.sessions.delete(JSON.parse(ev.data).key);
    ksRenderSessions();
  }));
  es.on('expired', mine((ev) => { ks.lastEventId = ev.lastEventId; ksExpired(ev); }));
  es.on('close', mine((a) => { setPill($('ks-state'), 'closed'); log(`sessions stream close ${show(a)}`); }));
}

async function startSessions() {
  if (typeof sockline.EventStream !== 'function') {
    setPill($('ks-state'), 'unavailable');
    return;
  }
  const select = $('ks-transport');
  if (params.get('transport') === 'fetch') select.value = 'fetch';
  select.onchange = () => {
    if (sessionStream) {
      ks.lastEventId = sessionStream.lastEventId || ks.lastEventId;
      sessionStream.close();
    }
    log(`sessions stream: switching to ${select.value}`);
    startSessionStream(select.value);
  };
  for (const b of document.querySelectorAll('.ks-create')) {
    b.onclick = async () => {
      const ttl = Number(b.dataset.ttl);
      const count = Number(b.dataset.count || 1);
      const spread = Number(b.dataset.spread || 0);
      try {
        const r = await ksFetch(`/sessions?ttl=${ttl}&count=${count}&spread=${spread}`, 'POST');
        for (const s of r.sessions) ks.sessions.set(s.key, {expiresAt: Date.now() + s.ttl, ttl: s.ttl});
        const what = r.sessions.length === 1 ? r.sessions[0].key : `${r.sessions.length} sessions`;
        log(`created ${what} (TTL ${ttl / 1000}${spread ? `–${(ttl + spread) / 1000}` : ''} s)`);
        ksRenderSessions();
      } catch (err) {
        log(`create session failed: ${show(err)}`, 'error');
      }
    };
    b.disabled = false;
  }
  $('ks-cut').onclick = async () => {
    try {
      const r = await ksFetch(`/cut?client=${ks.tag}`, 'POST');
      log(`the server dropped ${r.cut} SSE connection(s); EventStream reconnects and resumes`);
    } catch (err) {
      log(`cut failed: ${show(err)}`, 'error');
    }
  };
  $('ks-cut').disabled = false;
  $('ks-note').lastChild.textContent += ` Server: ${ksBase}/events?prefix=session:`;
  startSessionStream(select.value);
  ksRefreshSoon();
  setInterval(ksRenderSessions, 250);
}

// ------------------------------------------------------------------ start
try {
  await sockline.default();
  log(`sockline loaded; connecting to ${scUrl}`);
  startSocket();
  startEventStream();
  startSessions();
} catch (err) {
  setPill($('state'), 'closed');
  $('state').textContent = 'failed';
  $('emit-result').textContent = `failed to start: ${show(err)}`;
  log(`failed to start: ${show(err)}`, 'error');
  console.error(err);
}
