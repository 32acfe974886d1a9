#!/usr/bin/env node
'use strict';
// Redis keyspace notifications -> Redis Stream -> Server-Sent Events (the demo's server side).
//
//   node www/keyspace.js [--host 127.0.0.1] [--port 8111] [--redis redis://127.0.0.1:8110]
//        [--db 0] [--stream sockline:keyspace] [--maxlen 10000] [--retry-ms 1000]
//        [--heartbeat-ms 15000] [--lease-ms 2000] [--instance NAME] [--spawn-redis PORT]
//
// Per instance, three Redis connections whatever the number of browsers: one subscriber
// (PSUBSCRIBE __keyevent@<db>__:*), one that tails the stream (XREAD BLOCK) and one for
// commands. Every `expired`/`set`/`del` notification is XADDed to a Redis Stream (MAXLEN ~),
// because pub/sub is fire-and-forget; browsers are fed from the stream, so a client resuming
// with Last-Event-ID gets what it missed from any instance (no state lives in an instance).
// Several instances may run on one Redis. Each notification reaches each of them; one of them,
// the writer, holds a lease in Redis (`SET NX PX lease-ms`, renewed every lease-ms/4) and is the
// only one that XADDs (a Lua script checks the lease on every write, so a writer that stalled
// past its lease cannot write twice). The others keep the notifications the stream has not
// shown yet (pub/sub and the stream carry them in the same order); when the writer dies, the
// next lease holder first reads the stream to its end, then writes what it still holds. So a
// killed writer delays notifications by up to lease-ms and loses or repeats none.
//
// Routes (CORS open; everything is demo-grade, see README "Redis keyspace -> SSE"):
//   GET  /events[?prefix=session:][&lastEventId=ID][&client=TAG]   text/event-stream
//   GET  /stats                      JSON: Redis connections, live clients, counters
//   POST /cut[?client=TAG][&mode=destroy]  drop those SSE connections (all without TAG): end
//                                    them cleanly, or reset them mid-stream with mode=destroy
//   POST /sessions?ttl=MS[&count=N][&spread=MS]  create N keys session:<id>, TTLs ttl..ttl+spread
//   GET  /sessions                   the live session keys with their remaining TTL
// With --spawn-redis PORT it first starts a private redis-server (www/redis-private.js) and
// stops it on exit; that is how `./run demo` runs it.

const http = require('http');
const crypto = require('crypto');
const path = require('path');

const args = process.argv.slice(2);
function opt(name, def) {
  const i = args.indexOf('--' + name);
  return i >= 0 && i + 1 < args.length ? args[i + 1] : def;
}

const EVENTS = ['expired', 'set', 'del'];
const OWN = 'sockline:'; // keys this server writes; their notifications are ignored
const ID_RE = /^(\d{1,20})-(\d{1,20})$/;
const REPLAY_PAGE = 500;
const MAX_BUFFER = 10000; // live entries held for one client while its replay runs
const MAX_UNSENT = 4 << 20; // bytes queued to one slow client before it is cut (it resumes)

// KEYS: stream, lease. ARGV: maxlen, instance, event, key. Returns the id, or false when this
// instance does not hold the lease (any more).
const WRITE_LUA = `
if redis.call('GET', KEYS[2]) ~= ARGV[2] then return false end
return redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*', 'event', ARGV[3], 'key', ARGV[4])`;
// KEYS: lease. ARGV: instance, lease ms. 1: renewed, 2: acquired, 0: held by another.
const LEASE_LUA = `
local v = redis.call('GET', KEYS[1])
if v == ARGV[1] then redis.call('PEXPIRE', KEYS[1], ARGV[2]) return 1 end
if not v then redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) return 2 end
return 0`;
const RELEASE_LUA = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;
const HOLD_MAX = 100000; // notifications a non-writer keeps until the stream shows them
const HOLD_MS = 30000; // ... and for how long (older ones were skipped by the writer)
// KEYS: stream. ARGV: maxlen. A new stream starts with an `origin` entry (never sent), so an
// instance always has an id to hand a first-time client, and ids from an older incarnation of
// the stream (Redis restarted without persistence) are recognised as older than its start.
const INIT_LUA = `
if redis.call('EXISTS', KEYS[1]) == 0 then
  redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*', 'event', 'origin', 'key', '')
end
return 1`;

function parseId(id) {
  const m = ID_RE.exec(id);
  return m ? [BigInt(m[1]), BigInt(m[2])] : null;
}
function cmpId(a, b) {
  const x = parseId(a);
  const y = parseId(b);
  if (x[0] !== y[0]) return x[0] < y[0] ? -1 : 1;
  if (x[1] !== y[1]) return x[1] < y[1] ? -1 : 1;
  return 0;
}
function entryOf([id, fields]) {
  const e = {id, event: '', key: ''};
  for (let i = 0; i + 1 < fields.length; i += 2) {
    if (fields[i] === 'event') e.event = fields[i + 1];
    else if (fields[i] === 'key') e.key = fields[i + 1];
  }
  return e;
}
function flat(reply) {
  const o = {};
  for (let i = 0; i + 1 < reply.length; i += 2) o[reply[i]] = reply[i + 1];
  return o;
}

function createKeyspaceServer(options = {}) {
  const {createClient} = require(path.join(__dirname, 'node_modules', 'redis'));
  const cfg = {
    redisUrl: options.redisUrl || 'redis://127.0.0.1:8110',
    db: Number(options.db || 0),
    stream: options.stream || 'sockline:keyspace',
    maxlen: Number(options.maxlen || 10000),
    retryMs: Number(options.retryMs || 1000),
    heartbeatMs: Number(options.heartbeatMs || 15000),
    leaseMs: Number(options.leaseMs || 2000),
    instance: options.instance || `ks-${process.pid}-${crypto.randomBytes(3).toString('hex')}`,
    log: options.log || ((...a) => console.log(`[keyspace ${cfg.instance}]`, ...a)),
  };
  const channelPrefix = `__keyevent@${cfg.db}__:`;
  const leaseKey = `${OWN}ks:writer:${cfg.stream}`; // one writer per stream
  const clients = new Set();
  const counters = {notifications: 0, written: 0, takeovers: 0, takenOver: 0, delivered: 0, replayed: 0, resets: 0, cuts: 0, connections: 0, redisDrops: 0};
  // The writer role. While not the writer: `held` = notifications not yet seen in the stream,
  // `early` = stream entries seen before their notification (pub/sub may lag the stream),
  // `alignedId` = the last stream entry matched against them.
  let role = 'follower'; // 'writer' | 'follower' | 'takeover'
  let held = [];
  let early = [];
  let alignedId = null;
  let ready = false;
  let tailId = null; // last stream id the tailer handed to the live clients
  let stopping = false;
  let readyWaiters = [];

  const mk = (part) => {
    const c = createClient({
      url: cfg.redisUrl,
      database: cfg.db,
      RESP: 2,
      name: `sockline-ks:${cfg.instance}:${part}`,
      disableOfflineQueue: true,
      socket: {reconnectStrategy: (n) => Math.min(50 * 2 ** n, 1000), connectTimeout: 2000},
    });
    c.on('error', (err) => {
      if (!stopping && ready) cfg.log(`redis ${part}: ${err.message}`);
      markDown();
    });
    c.on('ready', () => markMaybeUp());
    return c;
  };
  const cmd = mk('cmd');
  const sub = mk('sub');
  const tail = mk('tail');

  function markDown() {
    if (!ready) return;
    ready = false;
    counters.redisDrops++;
    role = 'follower';
    held = [];
    early = [];
    cfg.log('redis connection lost: closing the SSE streams; they resume once Redis is back');
    for (const c of [...clients]) drop(c, false);
  }

  let upRunning = false;
  async function markMaybeUp() {
    if (stopping || ready || upRunning) return;
    if (!cmd.isReady || !sub.isReady || !tail.isReady) return;
    upRunning = true;
    try {
      await ensureNotifications();
      await cmd.sendCommand(['EVAL', INIT_LUA, '1', cfg.stream, String(cfg.maxlen)]);
      const info = flat(await cmd.sendCommand(['XINFO', 'STREAM', cfg.stream]));
      tailId = info['last-generated-id'];
      alignedId = tailId;
      ready = true;
      cfg.log(`redis ready; stream ${cfg.stream} at ${tailId}`);
      const w = readyWaiters;
      readyWaiters = [];
      w.forEach((f) => f());
    } catch (err) {
      cfg.log(`redis setup failed: ${err.message}`);
    } finally {
      upRunning = false;
    }
    // a connection may have dropped and come back while we were busy
    if (!ready && cmd.isReady && sub.isReady && tail.isReady) setTimeout(markMaybeUp, 200);
  }

  // Best effort: a managed Redis may refuse CONFIG; then it must be configured by its owner.
  async function ensureNotifications() {
    try {
      const [, have = ''] = await cmd.sendCommand(['CONFIG', 'GET', 'notify-keyspace-events']);
      const need = have.includes('A') ? 'E' : 'Exg$';
      const missing = [...need].filter((f) => !have.includes(f)).join('');
      if (missing) {
        await cmd.sendCommand(['CONFIG', 'SET', 'notify-keyspace-events', have + missing]);
        cfg.log(`notify-keyspace-events ${JSON.stringify(have)} -> ${JSON.stringify(have + missing)}`);
      }
    } catch (err) {
      cfg.log(`cannot check notify-keyspace-events (${err.message}); set it to at least "Exg$"`);
    }
  }

  function onNotification(key, channel) {
    if (!channel.startsWith(channelPrefix)) return;
    const event = channel.slice(channelPrefix.length);
    if (!EVENTS.includes(event) || key.startsWith(OWN)) return;
    counters.notifications++;
    const n = {event, key, t: Date.now()};
    if (role === 'writer') xadd(n);
    else hold(n);
  }

  function xadd(n) {
    cmd
      .sendCommand(['EVAL', WRITE_LUA, '2', cfg.stream, leaseKey, String(cfg.maxlen), cfg.instance, n.event, n.key])
      .then((id) => {
        if (id) return counters.written++;
        // lost the lease (stalled past it): the new writer has this one too
        if (role === 'writer') demote('the lease is held by another instance');
      })
      .catch((err) => cfg.log(`XADD failed (notification for ${n.key} lost): ${err.message}`));
  }

  const same = (a, b) => a.event === b.event && a.key === b.key;
  function hold(n) {
    if (early.length) {
      const j = early.findIndex((e) => same(e, n));
      if (j >= 0) return early.splice(0, j + 1); // the stream had it already
    }
    held.push(n);
    const old = Date.now() - HOLD_MS;
    while (held.length && (held.length > HOLD_MAX || held[0].t < old)) held.shift();
  }
  // A stream entry, for a non-writer: it settles the notification it stands for.
  function align(e) {
    alignedId = e.id;
    if (e.event === 'origin') return;
    const j = held.findIndex((n) => same(n, e));
    if (j >= 0) return held.splice(0, j + 1); // any before it the writer skipped (it started later)
    early.push({event: e.event, key: e.key, t: Number(e.id.split('-')[0])});
    const old = Date.now() - HOLD_MS;
    while (early.length && (early.length > HOLD_MAX || early[0].t < old)) early.shift();
  }

  function demote(why) {
    cfg.log(`no longer the writer: ${why}`);
    role = 'follower';
    held = [];
    early = [];
    alignedId = tailId;
  }

  // Renews or takes the lease; a new writer reads the stream to its end before it writes what
  // it holds, then writes live (one connection, in order).
  let leaseBusy = false;
  async function leaseTick() {
    if (!ready || leaseBusy || stopping) return;
    leaseBusy = true;
    try {
      const r = Number(await cmd.sendCommand(['EVAL', LEASE_LUA, '1', leaseKey, cfg.instance, String(cfg.leaseMs)]));
      if (r === 0 && role === 'writer') demote('the lease expired');
      if (r > 0 && role === 'follower') {
        role = 'takeover'; // notifications keep going to `held` until the backlog is written
        for (let pages = 0; pages < 1000; pages++) {
          const batch = await cmd.sendCommand(['XRANGE', cfg.stream, '(' + alignedId, '+', 'COUNT', '1000']);
          for (const raw of batch) align(entryOf(raw));
          if (batch.length < 1000) break;
        }
        if (role !== 'takeover') return; // Redis dropped meanwhile
        const backlog = held;
        held = [];
        early = [];
        role = 'writer';
        counters.takeovers++;
        counters.takenOver += backlog.length;
        cfg.log(`writer now (${backlog.length} notifications not in the stream yet)`);
        for (const n of backlog) xadd(n);
      }
    } catch (err) {
      if (ready) cfg.log(`lease: ${err.message}`);
      if (role === 'takeover') role = 'follower';
    } finally {
      leaseBusy = false;
    }
  }
  const leaseTimer = setInterval(leaseTick, Math.max(50, cfg.leaseMs / 4));
  leaseTimer.unref();

  // One loop per instance: XREAD BLOCK on its own connection, fan out to the local clients.
  async function tailLoop() {
    while (!stopping) {
      if (!ready) {
        await new Promise((r) => readyWaiters.push(r));
        continue;
      }
      let reply;
      const from = tailId;
      try {
        reply = await tail.sendCommand(['XREAD', 'COUNT', '1000', 'BLOCK', '5000', 'STREAMS', cfg.stream, from]);
      } catch (err) {
        if (stopping) return;
        markDown();
        await new Promise((r) => setTimeout(r, 100));
        continue;
      }
      if (!reply || !ready || tailId !== from) continue;
      const entries = reply[0][1].map(entryOf);
      if (entries.length === 1000) {
        // Far behind: were entries after our position trimmed away before we read them?
        const info = flat(await cmd.sendCommand(['XINFO', 'STREAM', cfg.stream]).catch(() => []));
        if (info['max-deleted-entry-id'] && cmpId(info['max-deleted-entry-id'], from) > 0) {
          cfg.log('tailer fell behind the cap: clients resume (and get `reset`)');
          for (const c of [...clients]) drop(c, false);
        }
      }
      for (const e of entries) {
        tailId = e.id;
        if (role !== 'writer' && cmpId(e.id, alignedId) > 0) align(e);
        for (const c of clients) {
          if (c.live) send(c, e, false);
          else if (c.buffer) {
            c.buffer.push(e);
            if (c.buffer.length > MAX_BUFFER) drop(c, true);
          }
        }
      }
    }
  }

  function cors(extra) {
    return {
      'Access-Control-Allow-Origin': '*',
      'Access-Control-Expose-Headers': 'Retry-After',
      ...extra,
    };
  }

  function json(res, status, body) {
    const text = JSON.stringify(body) + '\n';
    res.writeHead(status, cors({'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store'}));
    res.end(text);
  }

  function write(c, text) {
    if (c.closed) return;
    c.res.write(text);
    if (c.res.writableLength > MAX_UNSENT) drop(c, true);
  }

  // Sends entry e if it is after what the client has (no repeat at the replay/live seam).
  function send(c, e, replayed) {
    if (c.closed || e.event === 'origin') return;
    if (c.lastSent && cmpId(e.id, c.lastSent) <= 0) return;
    c.lastSent = e.id;
    if (c.prefix && !e.key.startsWith(c.prefix)) return;
    const data = {key: e.key, at: Number(e.id.split('-')[0])};
    if (replayed) data.replayed = true;
    write(c, `id: ${e.id}\nevent: ${e.event}\ndata: ${JSON.stringify(data)}\n\n`);
    counters.delivered++;
    if (replayed) {
      counters.replayed++;
      c.replayed++;
    }
  }

  // destroy: reset the connection mid-stream (a crash, as a browser sees it: it logs a network
  // error); else end the response and close the connection cleanly (the client reconnects).
  function drop(c, destroy) {
    if (c.closed) return;
    c.closed = true;
    c.buffer = null;
    clients.delete(c);
    if (destroy === null) return; // already closed by the client
    if (destroy) return c.res.destroy();
    const socket = c.res.socket;
    c.res.end(() => socket && socket.end());
  }

  async function handleEvents(req, res, url) {
    if (!ready) {
      res.writeHead(503, cors({'Content-Type': 'text/plain', 'Retry-After': String(Math.ceil(cfg.retryMs / 1000))}));
      return res.end('redis is not reachable; retry\n');
    }
    const from = String(req.headers['last-event-id'] || url.searchParams.get('lastEventId') || '').trim();
    const c = {
      res,
      prefix: url.searchParams.get('prefix') || '',
      tag: url.searchParams.get('client') || '',
      lastSent: tailId, // with a resume id this is replaced before anything is sent
      live: false,
      buffer: [],
      replayed: 0,
      closed: false,
    };
    counters.connections++;
    clients.add(c); // first, so that the tailer buffers what arrives during the replay
    res.on('close', () => drop(c, null));
    req.socket.setNoDelay(true);
    res.writeHead(200, cors({'Content-Type': 'text/event-stream; charset=utf-8', 'Cache-Control': 'no-store', 'X-Accel-Buffering': 'no'}));
    res.write(`retry: ${cfg.retryMs}\n: ${cfg.instance}\n\n`);
    try {
      if (!from) {
        // Where this client starts: an id it can resume from even before its first event.
        write(c, `id: ${c.lastSent}\nevent: ready\ndata: ${JSON.stringify({instance: cfg.instance, resumed: false})}\n\n`);
      } else {
        // Trimming (MAXLEN ~) removes entries from the head only, and every id this server
        // hands out is an entry's id, so: the id is still in the stream -> nothing after it is
        // lost; it is not (trimmed away, an older incarnation of the stream, a foreign id) ->
        // the client may have missed history: `reset`.
        let reason = null;
        if (!ID_RE.test(from)) reason = 'invalid id';
        else {
          const at = await cmd.sendCommand(['XRANGE', cfg.stream, from, from]);
          if (!at.length) reason = 'not in the stream (older than its cap, or from before a Redis restart)';
        }
        if (reason) {
          counters.resets++;
          write(c, `id: ${c.lastSent}\nevent: reset\ndata: ${JSON.stringify({lastEventId: from, resumeFrom: c.lastSent, reason})}\n\n`);
        } else {
          c.lastSent = from;
          for (let pages = 0; pages < 1000 && !c.closed; pages++) {
            const batch = await cmd.sendCommand(['XRANGE', cfg.stream, '(' + c.lastSent, '+', 'COUNT', String(REPLAY_PAGE)]);
            for (const raw of batch) {
              const e = entryOf(raw);
              if (e.event === 'origin') c.lastSent = e.id;
              else send(c, e, true);
            }
            if (batch.length < REPLAY_PAGE) break;
          }
        }
      }
      if (c.closed) return;
      const buffered = c.buffer;
      c.buffer = null;
      c.live = true;
      for (const e of buffered) send(c, e, false);
    } catch (err) {
      cfg.log(`stream setup failed: ${err.message}`);
      drop(c, true);
    }
  }

  async function handleSessions(req, res, url) {
    if (!ready) return json(res, 503, {error: 'redis is not reachable'});
    if (req.method === 'POST') {
      const ttl = Math.min(Math.max(Number(url.searchParams.get('ttl')) || 5000, 100), 600000);
      const count = Math.min(Math.max(Number(url.searchParams.get('count')) || 1, 1), 1000);
      const spread = Math.min(Math.max(Number(url.searchParams.get('spread')) || 0, 0), 600000); // TTLs ttl .. ttl+spread
      const prefix = 'session:';
      const keys = [];
      const at = Date.now();
      const ops = [];
      for (let i = 0; i < count; i++) {
        const key = prefix + crypto.randomBytes(5).toString('hex');
        const px = ttl + (count > 1 ? Math.round((spread * i) / (count - 1)) : 0);
        keys.push({key, ttl: px});
        ops.push(cmd.sendCommand(['SET', key, JSON.stringify({created: at, ttl: px}), 'PX', String(px)]));
      }
      await Promise.all(ops);
      return json(res, 200, {sessions: keys, at});
    }
    const keys = [];
    let cursor = '0';
    for (let i = 0; i < 50 && keys.length < 500; i++) {
      const [next, batch] = await cmd.sendCommand(['SCAN', cursor, 'MATCH', 'session:*', 'COUNT', '1000']);
      keys.push(...batch);
      cursor = next;
      if (cursor === '0') break;
    }
    const ttls = await Promise.all(keys.slice(0, 500).map((k) => cmd.sendCommand(['PTTL', k])));
    return json(res, 200, {sessions: keys.slice(0, 500).map((key, i) => ({key, ttl: Number(ttls[i])})).filter((s) => s.ttl > 0)});
  }

  async function handleStats(res) {
    const out = {
      instance: cfg.instance,
      redis: ready,
      role,
      held: held.length,
      stream: cfg.stream,
      maxlen: cfg.maxlen,
      tailId,
      clients: clients.size,
      live: [...clients].filter((c) => c.live).length,
      replaying: [...clients].filter((c) => !c.live).length,
      buffered: [...clients].reduce((n, c) => n + (c.buffer ? c.buffer.length : 0), 0),
      counters,
      redisConnections: null,
      subscriberConnections: null,
    };
    if (ready) {
      try {
        const mine = String(await cmd.sendCommand(['CLIENT', 'LIST', 'TYPE', 'normal']))
          .split('\n')
          .concat(String(await cmd.sendCommand(['CLIENT', 'LIST', 'TYPE', 'pubsub'])).split('\n'))
          .filter((l) => l.includes(` name=sockline-ks:${cfg.instance}:`));
        out.redisConnections = mine.length;
        out.subscriberConnections = mine.filter((l) => / name=\S+:sub /.test(l) && !/ psub=0 /.test(l)).length;
      } catch (_) {}
    }
    json(res, 200, out);
  }

  const server = http.createServer((req, res) => {
    let url;
    try {
      url = new URL(req.url, 'http://x');
    } catch (_) {
      res.writeHead(400);
      return res.end();
    }
    const route = `${req.method} ${url.pathname}`;
    const fail = (err) => {
      cfg.log(`${route}: ${err.message}`);
      if (!res.headersSent) json(res, 500, {error: err.message});
      else res.destroy();
    };
    if (req.method === 'OPTIONS') {
      res.writeHead(204, cors({
        'Access-Control-Allow-Methods': 'GET, POST, OPTIONS',
        'Access-Control-Allow-Headers': 'Last-Event-ID, Authorization, Content-Type, Cache-Control',
        'Access-Control-Max-Age': '600',
      }));
      return res.end();
    }
    if (route === 'GET /events') return handleEvents(req, res, url).catch(fail);
    if (route === 'GET /stats') return handleStats(res).catch(fail);
    if (route === 'POST /cut') {
      const tag = url.searchParams.get('client');
      const destroy = url.searchParams.get('mode') === 'destroy';
      let n = 0;
      for (const c of [...clients]) {
        if (!tag || c.tag === tag) {
          drop(c, destroy);
          n++;
        }
      }
      counters.cuts += n;
      return json(res, 200, {cut: n});
    }
    if (url.pathname === '/sessions' && (req.method === 'GET' || req.method === 'POST')) return handleSessions(req, res, url).catch(fail);
    json(res, 404, {error: 'not found', routes: ['GET /events', 'GET /stats', 'POST /cut', 'GET /sessions', 'POST /sessions']});
  });
  server.keepAliveTimeout = 5000;

  const heartbeat = setInterval(() => {
    for (const c of clients) write(c, ': hb\n\n');
  }, cfg.heartbeatMs);
  heartbeat.unref();

  async function listen(port, host = '127.0.0.1') {
    // Not ready until the subscriber and the tailer are: a client must not connect in a gap.
    await Promise.all([cmd.connect(), sub.connect(), tail.connect()]);
    await sub.pSubscribe(channelPrefix + '*', onNotification);
    await markMaybeUp();
    if (!ready) await new Promise((r) => readyWaiters.push(r));
    await leaseTick();
    tailLoop();
    await new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => resolve());
    });
    return server.address().port;
  }

  async function close() {
    stopping = true;
    clearInterval(heartbeat);
    clearInterval(leaseTimer);
    if (ready) await cmd.sendCommand(['EVAL', RELEASE_LUA, '1', leaseKey, cfg.instance]).catch(() => {});
    for (const c of [...clients]) drop(c, true);
    server.close();
    server.closeAllConnections();
    await Promise.all([cmd, sub, tail].map((c) => c.destroy && Promise.resolve(c.destroy()).catch(() => {})));
  }

  return {listen, close, server, cfg, stats: () => ({clients: clients.size, counters, tailId, ready})};
}

module.exports = {createKeyspaceServer, cmpId};

if (require.main === module) {
  (async () => {
    const host = opt('host', '127.0.0.1');
    const port = Number(opt('port', process.env.KEYSPACE_PORT || 8111));
    let redisUrl = opt('redis', process.env.REDIS_URL || 'redis://127.0.0.1:8110');
    let redis = null;
    const spawnPort = opt('spawn-redis', null);
    if (spawnPort) {
      const {startRedis} = require('./redis-private');
      redis = await startRedis({port: Number(spawnPort)});
      redisUrl = redis.url;
      process.on('exit', () => redis.kill());
      console.log(`redis-server on ${redisUrl} (private, no persistence)`);
    }
    const ks = createKeyspaceServer({
      redisUrl,
      db: opt('db', 0),
      stream: opt('stream', undefined),
      maxlen: opt('maxlen', undefined),
      retryMs: opt('retry-ms', undefined),
      heartbeatMs: opt('heartbeat-ms', undefined),
      leaseMs: opt('lease-ms', undefined),
      instance: opt('instance', undefined),
    });
    const p = await ks.listen(port, host);
    console.log(`keyspace SSE on http://${host}:${p}/events (redis ${redisUrl}) ready`);
    const quit = async () => {
      await ks.close();
      if (redis) await redis.stop();
      process.exit(0);
    };
    for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, quit);
  })().catch((err) => {
    console.error(err && err.stack ? err.stack : err);
    process.exit(1);
  });
}
