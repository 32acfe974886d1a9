#!/usr/bin/env node
'use strict';
// Redis keyspace notifications -> www/keyspace.js -> sockline EventStream, end to end:
// a real redis-server (private, no persistence), real keyspace server processes, the fixtures'
// TCP fault proxy, Debian's Chromium through playwright-core, and the built pkg/.
//
// Ports (FIXTURES_BASE_PORT, default 8100): BASE+10 redis, +11 keyspace A, +12 keyspace B,
// +13 fault proxy -> A (then B), +15 keyspace C (small cap, own stream). All on 127.0.0.1.
// Every wait is for an event, bounded in time. Prints one line per check and `N passed, M failed`.
// KEYSPACE_ONLY=regex runs only the checks whose name matches.

const http = require('http');
const path = require('path');
const {spawn} = require('child_process');
const {createRequire} = require('module');
const h = require('../e2e/harness');
const {FaultProxy} = require('../fixtures/lib/proxy');
const {startRedis} = require('../../www/redis-private');
const {cmpId} = require('../../www/keyspace');

const {createClient} = createRequire(path.join(h.ROOT, 'www', 'package.json'))('redis');
const BASE = h.BASE_PORT;
const PORT = {redis: BASE + 10, a: BASE + 11, b: BASE + 12, proxy: BASE + 13, c: BASE + 15};
const HOST = '127.0.0.1';
const WAIT = 30000; // ms, the bound of any single wait
const RUN = Math.random().toString(36).slice(2, 8);
const BACKOFF = {initialDelay: 300, maxDelay: 1000, jitter: 0.3};

const results = [];
function report(name, ok, detail) {
  results.push({name, ok});
  const line = `${ok ? 'ok  ' : 'FAIL'}  ${name}`;
  console.log(detail ? `${line}: ${detail}` : line);
}
const ONLY = process.env.KEYSPACE_ONLY ? new RegExp(process.env.KEYSPACE_ONLY) : null; // run a subset
async function check(name, fn) {
  if (ONLY && !ONLY.test(name)) return;
  const t0 = Date.now();
  try {
    const detail = await fn();
    report(name, true, `${detail} (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
  } catch (err) {
    report(name, false, err && err.message ? err.message.split('\n').slice(0, 8).join(' | ') : String(err));
  }
}
function assert(cond, message) {
  if (!cond) throw new Error(message);
}

// ------------------------------------------------------------------ processes
const children = new Set();
process.on('exit', () => {
  for (const c of children) {
    try {
      c.kill('SIGKILL');
    } catch (_) {}
  }
});

// A keyspace server as its own process (so that it can be killed like a crashed instance).
function spawnKeyspace(name, port, extra = []) {
  const child = spawn(
    process.execPath,
    [path.join(h.ROOT, 'www', 'keyspace.js'), '--port', String(port), '--redis', `redis://${HOST}:${PORT.redis}`,
      '--instance', name, ...extra],
    {stdio: ['ignore', 'pipe', 'pipe']}
  );
  children.add(child);
  child.out = '';
  const onData = (d) => {
    if (child.out.length < 50000) child.out += d;
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  child.once('exit', () => children.delete(child));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`keyspace ${name} not ready in ${WAIT} ms:\n${child.out}`)), WAIT);
    const poll = () => {
      if (/ ready$/m.test(child.out)) {
        clearTimeout(timer);
        resolve(child);
      } else if (child.exitCode !== null) {
        clearTimeout(timer);
        reject(new Error(`keyspace ${name} exited (${child.exitCode}):\n${child.out}`));
      }
    };
    child.stdout.on('data', poll);
    child.once('exit', poll);
  });
}
function killHard(child) {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}

// ------------------------------------------------------------------ HTTP helpers
async function stats(port) {
  const r = await fetch(`http://${HOST}:${port}/stats`);
  return r.json();
}
async function post(port, pathAndQuery) {
  const r = await fetch(`http://${HOST}:${port}${pathAndQuery}`, {method: 'POST'});
  return r.json();
}
// Polls `fn` (a condition on fresh data) every 50 ms until it returns a truthy value.
async function until(what, fn, timeoutMs = WAIT) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    last = await fn();
    if (last) return last;
    if (Date.now() > deadline) throw new Error(`timed out (${timeoutMs} ms) waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

// A Node SSE client (for the fan-out check): counts `expired` keys.
function nodeSse(url, lastEventId) {
  const c = {keys: new Map(), ids: [], lastId: lastEventId || '', replayed: 0, open: false, closed: false, req: null, buf: ''};
  const headers = lastEventId ? {'Last-Event-ID': lastEventId} : {};
  c.req = http.get(url, {agent: false, headers}, (res) => {
    c.open = res.statusCode === 200;
    res.setEncoding('utf8');
    res.on('data', (chunk) => {
      c.buf += chunk;
      let i;
      while ((i = c.buf.indexOf('\n\n')) >= 0) {
        const block = c.buf.slice(0, i);
        c.buf = c.buf.slice(i + 2);
        let event = 'message';
        let data = '';
        let id = null;
        for (const line of block.split('\n')) {
          if (line.startsWith('event: ')) event = line.slice(7);
          else if (line.startsWith('data: ')) data += line.slice(6);
          else if (line.startsWith('id: ')) id = line.slice(4);
        }
        if (id !== null) c.lastId = id;
        if (event === 'expired') {
          const d = JSON.parse(data);
          c.keys.set(d.key, (c.keys.get(d.key) || 0) + 1);
          c.ids.push(id);
          if (d.replayed) c.replayed++;
        }
      }
    });
    res.on('close', () => (c.closed = true));
  });
  c.req.on('error', () => (c.closed = true));
  c.close = () => c.req.destroy();
  return c;
}

// ------------------------------------------------------------------ the checks
async function main() {
  h.ensurePkg();
  const redis = await startRedis({port: PORT.redis});
  const rc = createClient({url: redis.url, RESP: 2, socket: {reconnectStrategy: 100}});
  rc.on('error', () => {});
  await rc.connect();
  const setKeys = (keys, ttlOf) => Promise.all(keys.map((k, i) => rc.sendCommand(['SET', k, '1', 'PX', String(ttlOf(i))])));

  // A starts first, so A is the first writer (see www/keyspace.js: one lease holder writes)
  const ks = {A: {port: PORT.a}, B: {port: PORT.b}};
  ks.A.child = await spawnKeyspace('A', PORT.a);
  ks.B.child = await spawnKeyspace('B', PORT.b);
  const c = await spawnKeyspace('C', PORT.c, ['--stream', 'sockline:capped', '--maxlen', '100']);
  const proxy = new FaultProxy({name: 'keyspace', port: PORT.proxy, targetPort: PORT.a});
  await proxy.listen();
  const server = await h.staticServer([['/', __dirname], ['/pkg/', h.PKG]]);
  const browser = await h.launchBrowser();
  const page = await browser.newPage();
  const pageErrors = [];
  page.on('pageerror', (e) => pageErrors.push(e.message));
  await page.goto(`${server.url}/page.html`);
  await page.waitForFunction(() => window.pageReady === true, null, {timeout: WAIT});

  const open = (url, opts) => page.evaluate(([u, o]) => window.openStream(u, o), [url, opts]);
  const summary = (i, prefix) => page.evaluate(([j, p]) => window.summary(j, p), [i, prefix]);
  const waitStream = (i, what, pred, timeoutMs = WAIT) =>
    until(what, async () => {
      const s = await summary(i);
      return pred(s) ? s : null;
    }, timeoutMs);
  // A key that expires at once, set after everything else: once it arrived, everything
  // before it in the stream has too (no sleeping to look for late duplicates).
  const barrier = async (i, prefix) => {
    const key = `${prefix}zz-barrier`;
    await rc.sendCommand(['SET', key, '1', 'PX', '1']);
    await waitStream(i, `the barrier ${key}`, (s) => s.keys.includes(key));
    return summary(i, prefix);
  };
  const figures = (s, n) =>
    `${n - s.missed}/${n} keys once, ${s.duplicates} duplicates, ${s.missed} missed, ${s.outOfOrder} out of order, ` +
    `${s.replayed} replayed, ${s.opens} opens, ${s.errors} errors`;
  const exact = (s, n, prefix) => {
    const want = new Set(Array.from({length: n}, (_, i) => `${prefix}${String(i).padStart(3, '0')}`));
    const missing = [...want].filter((k) => !s.keys.includes(k));
    s.missed = missing.length;
    assert(!missing.length, `missed ${missing.length}: ${missing.slice(0, 5).join(', ')}; ${figures(s, n)}`);
    assert(s.duplicates === 0, `${s.duplicates} duplicates; ${figures(s, n)}`);
    assert(s.outOfOrder === 0, `${s.outOfOrder} out of stream order; ${figures(s, n)}`);
  };
  const N = 200;
  const keysOf = (prefix) => Array.from({length: N}, (_, i) => `${prefix}${String(i).padStart(3, '0')}`);
  const spread = (i) => 400 + i * 10; // 200 keys expiring over ~2 s

  try {
    for (const transport of ['eventsource', 'fetch']) {
      await check(`${N} keys expiring over ~2 s, cut server side then through the fault proxy: each once, in order (${transport})`, async () => {
        const prefix = `t1-${transport}-${RUN}:`;
        const tag = `cut-${transport}`;
        const i = await open(`http://${HOST}:${PORT.proxy}/events?prefix=${prefix}&client=${tag}`, {transport, autoReconnectOptions: BACKOFF});
        await waitStream(i, 'open + ready', (s) => s.opens === 1 && s.readies === 1);
        await setKeys(keysOf(prefix), spread);
        await waitStream(i, '60 keys', (s) => s.received >= 60);
        const cut = await post(PORT.a, `/cut?client=${tag}&mode=destroy`);
        assert(cut.cut === 1, `cut ${JSON.stringify(cut)}`);
        await waitStream(i, 'the second open and 130 keys', (s) => s.opens >= 2 && s.received >= 130);
        await proxy.setMode('drop');
        await waitStream(i, 'the third open', (s) => s.opens >= 3);
        await waitStream(i, `all ${N} keys`, (s) => s.unique >= N);
        const s = await barrier(i, prefix);
        await page.evaluate((j) => window.closeStream(j), i);
        exact(s, N, prefix);
        assert(s.replayed > 0, `nothing was replayed after the cuts; ${figures(s, N)}`);
        return figures(s, N);
      });
    }

    for (const transport of ['eventsource', 'fetch']) {
      await check(`${N} keys, moved from instance A to instance B mid-stream (A, the writer, killed): no gap, no repeat (${transport})`, async () => {
        const prefix = `t2-${transport}-${RUN}:`;
        // "A" is whichever instance writes now (B after the first round), "B" the other one
        const from = (await stats(PORT.a)).role === 'writer' ? 'A' : 'B';
        const to = from === 'A' ? 'B' : 'A';
        proxy.targetPort = ks[from].port;
        try {
          const i = await open(`http://${HOST}:${PORT.proxy}/events?prefix=${prefix}`, {transport, autoReconnectOptions: BACKOFF});
          await waitStream(i, 'open + ready', (x) => x.opens === 1 && x.readies === 1);
          await setKeys(keysOf(prefix), spread);
          await waitStream(i, '70 keys', (x) => x.received >= 70);
          proxy.targetPort = ks[to].port; // new connections go to the other instance
          await killHard(ks[from].child);
          await waitStream(i, `the second open (on ${to})`, (x) => x.opens >= 2);
          await waitStream(i, `all ${N} keys`, (x) => x.unique >= N);
          const s = await barrier(i, prefix);
          await page.evaluate((j) => window.closeStream(j), i);
          const st = await stats(ks[to].port);
          exact(s, N, prefix);
          assert(st.role === 'writer', `${to} did not take over: ${JSON.stringify(st)}`);
          return `${from} (writer) killed, ${to} took over: ${figures(s, N)}; ${to} wrote ${st.counters.takenOver} ` +
            'notifications the dead writer had not';
        } finally {
          const k = ks[from];
          if (k.child.exitCode !== null || k.child.signalCode !== null) k.child = await spawnKeyspace(from, k.port); // for the next checks
        }
      });
    }
    proxy.targetPort = PORT.a;

    await check(`Node SSE client (no client-side de-duplication) resumed on instance B mid-burst: each key once, in order`, async () => {
      const prefix = `t2-node-${RUN}:`;
      const first = nodeSse(`http://${HOST}:${PORT.a}/events?prefix=${prefix}`);
      await until('the first connection', () => first.lastId);
      await setKeys(keysOf(prefix), spread);
      await until('60 keys', () => first.keys.size >= 60);
      first.close();
      const seen = first.keys.size;
      // while it is away, more of its keys expire into the stream (so the resume must replay)
      await until('10 more keys in the stream', async () => {
        const after = await rc.sendCommand(['XRANGE', 'sockline:keyspace', '(' + first.lastId, '+', 'COUNT', '2000']);
        return after.filter(([, f]) => f[1] === 'expired' && f[3].startsWith(prefix)).length >= 10;
      });
      const second = nodeSse(`http://${HOST}:${PORT.b}/events?prefix=${prefix}`, first.lastId);
      await until(`all ${N} keys`, () => seen + second.keys.size >= N);
      await rc.sendCommand(['SET', `${prefix}zz-barrier`, '1', 'PX', '1']);
      await until('the barrier', () => second.keys.has(`${prefix}zz-barrier`));
      second.close();
      const counts = new Map(first.keys);
      for (const [k, v] of second.keys) counts.set(k, (counts.get(k) || 0) + v);
      counts.delete(`${prefix}zz-barrier`);
      const dups = [...counts.values()].filter((v) => v > 1).length;
      const missed = keysOf(prefix).filter((k) => !counts.has(k)).length;
      const ids = first.ids.concat(second.ids);
      const disorder = ids.filter((id, k) => k > 0 && cmpId(id, ids[k - 1]) <= 0).length;
      const detail = `${counts.size - missed}/${N} once, ${dups} duplicates, ${missed} missed, ${disorder} out of order; ` +
        `${seen} on A, ${second.keys.size - 1} on B (${second.replayed} replayed)`;
      assert(!dups && !missed && !disorder && second.replayed > 0, detail);
      return detail;
    });

    for (const transport of ['eventsource', 'fetch']) {
      await check(`resume from an id older than the cap: \`reset\`, then live events (${transport})`, async () => {
        const prefix = `t3-${transport}-${RUN}:`;
        const first = await open(`http://${HOST}:${PORT.c}/events?prefix=${prefix}`, {transport});
        const s0 = await waitStream(first, 'ready', (s) => s.readies === 1 && s.lastEventId);
        await page.evaluate((j) => window.closeStream(j), first);
        const old = s0.lastEventId;
        // 400 notifications through a stream capped at ~100 entries (more from the checks before)
        const filler = Array.from({length: 200}, (_, k) => `t3-fill-${transport}-${RUN}:${k}`);
        await Promise.all(filler.map((k) => rc.sendCommand(['SET', k, '1'])));
        await Promise.all(filler.map((k) => rc.sendCommand(['DEL', k])));
        await until('the cap to trim the old id away', async () => !(await rc.sendCommand(['XRANGE', 'sockline:capped', old, old])).length);
        const len = await rc.sendCommand(['XLEN', 'sockline:capped']);
        const i = await open(`http://${HOST}:${PORT.c}/events?prefix=${prefix}`, {transport, lastEventId: old});
        await waitStream(i, 'reset', (s) => s.resets.length === 1);
        await rc.sendCommand(['SET', `${prefix}live`, '1', 'PX', '50']);
        const s = await waitStream(i, 'a live event after the reset', (x) => x.keys.includes(`${prefix}live`));
        await page.evaluate((j) => window.closeStream(j), i);
        const order = s.log.filter((e) => e !== 'open').join(' → ');
        assert(s.log.indexOf('reset') < s.log.indexOf('expired'), `order ${order}`);
        assert(s.replayed === 0 && s.received === 1 && s.readies === 0, `after reset: ${JSON.stringify(s.log)}`);
        return `resumed from ${old} (trimmed away; stream length ${len}, MAXLEN ~ 100): ${order}; reset ${JSON.stringify(s.resets[0])}`;
      });
    }

    await check('fan-out: 5 EventStreams on one page + 200 Node SSE clients get every event; one Redis subscriber; nothing left after close', async () => {
      const prefix = `t4-${RUN}:`;
      const n = 100;
      const s0 = await stats(PORT.a);
      assert(s0.clients === 0 && s0.subscriberConnections === 1, `before: ${JSON.stringify(s0)}`);
      const streams = [];
      for (let k = 0; k < 5; k++) {
        streams.push(await open(`http://${HOST}:${PORT.a}/events?prefix=${prefix}`, {transport: k % 2 ? 'fetch' : 'eventsource'}));
      }
      const nodes = Array.from({length: 200}, () => nodeSse(`http://${HOST}:${PORT.a}/events?prefix=${prefix}`));
      for (const j of streams) await waitStream(j, 'open', (s) => s.opens === 1 && s.readies === 1);
      const during = await until('205 live clients', async () => {
        const s = await stats(PORT.a);
        return s.live === 205 ? s : null;
      });
      const keys = Array.from({length: n}, (_, k) => `${prefix}${String(k).padStart(3, '0')}`);
      await setKeys(keys, (k) => 200 + k * 5);
      for (const j of streams) await waitStream(j, `${n} keys on stream ${j}`, (s) => s.unique >= n);
      await until(`${n} keys on 200 Node clients`, () => nodes.every((x) => x.keys.size >= n));
      const sums = [];
      for (const j of streams) sums.push(await summary(j, prefix));
      for (const s of sums) exact(s, n, prefix);
      const nodeDup = nodes.reduce((t, x) => t + [...x.keys.values()].filter((v) => v > 1).length, 0);
      assert(nodeDup === 0, `${nodeDup} duplicates on Node clients`);
      const peak = await stats(PORT.a);
      for (const j of streams) await page.evaluate((x) => window.closeStream(x), j);
      for (const x of nodes) x.close();
      const after = await until('no clients left on A', async () => {
        const s = await stats(PORT.a);
        return s.clients === 0 ? s : null;
      });
      assert(during.subscriberConnections === 1 && peak.subscriberConnections === 1 && after.subscriberConnections === 1,
        `subscriber connections before/during/after: ${s0.subscriberConnections}/${during.subscriberConnections}/${after.subscriberConnections}`);
      assert(after.redisConnections === 3 && peak.redisConnections === 3, `redis connections ${peak.redisConnections} → ${after.redisConnections}`);
      assert(after.buffered === 0 && after.live === 0 && after.replaying === 0, `left: ${JSON.stringify(after)}`);
      return `205 clients × ${n} keys, 0 duplicates, 0 missed; Redis connections of A: ${peak.redisConnections} ` +
        `(1 subscriber) with 205 clients; after close: ${after.clients} clients, ${after.buffered} buffered`;
    });

    await check('Redis restarted under the servers: they reconnect, the page\'s streams report `error` and recover', async () => {
      const prefix = `t5-${RUN}:`;
      const es = await open(`http://${HOST}:${PORT.a}/events?prefix=${prefix}`, {transport: 'eventsource', autoReconnectOptions: BACKOFF});
      const fe = await open(`http://${HOST}:${PORT.b}/events?prefix=${prefix}`, {transport: 'fetch', autoReconnectOptions: BACKOFF});
      for (const j of [es, fe]) await waitStream(j, 'open', (s) => s.opens === 1 && s.readies === 1);
      await rc.sendCommand(['SET', `${prefix}before`, '1', 'PX', '20']);
      for (const j of [es, fe]) await waitStream(j, 'the key before the restart', (s) => s.received === 1);
      await redis.stop();
      // the cut, then at least one retry answered 503 while Redis is away
      for (const j of [es, fe]) await waitStream(j, 'two errors', (s) => s.errors >= 2);
      await redis.start();
      await until('A and B back on Redis', async () => (await stats(PORT.a)).redis && (await stats(PORT.b)).redis);
      for (const j of [es, fe]) await waitStream(j, 'the stream open again', (s) => s.opens >= 2 && s.readyState === 1);
      await rc.sendCommand(['SET', `${prefix}after`, '1', 'PX', '20']);
      const out = [];
      for (const j of [es, fe]) {
        const s = await waitStream(j, 'the key after the restart', (x) => x.keys.includes(`${prefix}after`));
        assert(s.duplicates === 0, `duplicates ${s.duplicates}`);
        out.push(`${j === es ? 'eventsource' : 'fetch'}: ${s.errors} errors (${[...new Set(s.errorTypes)].join('/')}), ${s.opens} opens, ` +
          `${s.resets.length} reset (history lost with Redis), ${s.received} keys`);
        await page.evaluate((x) => window.closeStream(x), j);
      }
      for (const [name, port, child] of [['A', PORT.a, ks.A.child], ['B', PORT.b, ks.B.child], ['C', PORT.c, c]]) {
        assert(child.exitCode === null, `${name} exited`);
        const s = await stats(port);
        assert(s.subscriberConnections === 1 && s.counters.redisDrops >= 1, `${name}: ${JSON.stringify(s)}`);
      }
      assert(!pageErrors.length, `page errors: ${[...new Set(pageErrors)].join(' | ')}`);
      return out.join('; ') + '; A, B, C alive, 1 subscriber each; no page error';
    });
    assert(!pageErrors.length, pageErrors.join(' | '));
  } finally {
    if (process.env.KEYSPACE_DEBUG) for (const [n, ch] of [['A', ks.A.child], ['B', ks.B.child], ['C', c]]) console.log(`--- ${n}\n${ch.out}`);
    await browser.close();
    await server.close();
    await proxy.close();
    rc.destroy();
    for (const ch of [...children]) await killHard(ch);
    await redis.stop();
  }
  const passed = results.filter((r) => r.ok).length;
  const failed = results.length - passed;
  console.log(`${passed} passed, ${failed} failed`);
  process.exitCode = failed ? 1 : 0;
}

main().catch((err) => {
  console.error(err && err.stack ? err.stack : err);
  for (const c of children) {
    try {
      c.kill('SIGKILL');
    } catch (_) {}
  }
  process.exit(1);
});
