// sockline demo: one Socket to the embedded dev server (tests/fixtures), an emit round trip,
// a channel, the event log, and an EventStream counter when the build exports EventStream.
//
// Query parameters: ?url=ws://host:port/socketcluster/ (SocketCluster server),
// ?sse=http://host:port/counter?... (SSE endpoint), ?base=8100 (the fixtures' base port).
import * as sockline from '/pkg/sockline.js';

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
// The fixtures listen on 127.0.0.1 only; `localhost` may resolve to ::1.
const host = !location.hostname || location.hostname === 'localhost' ? '127.0.0.1' : location.hostname;
const base = Number(params.get('base')) || 8100;
const scUrl = params.get('url') || `ws://${host}:${base + 1}/socketcluster/`;
const channelName = params.get('channel') || 'demo';
const sseUrl =
  params.get('sse') ||
  `http://${host}:${base + 6}/counter?n=1000000&delay=1000&key=demo-${Math.random().toString(36).slice(2, 10)}`;

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

// ------------------------------------------------------------------ start
try {
  await sockline.default();
  log(`sockline loaded; connecting to ${scUrl}`);
  startSocket();
  startEventStream();
} catch (err) {
  setPill($('state'), 'closed');
  $('state').textContent = 'failed';
  $('emit-result').textContent = `failed to start: ${show(err)}`;
  log(`failed to start: ${show(err)}`, 'error');
  console.error(err);
}
