#!/usr/bin/env node
'use strict';
// sockline benchmarks: one headless Chromium run, the same fixture server, three clients side
// by side (sockline from pkg/, socketcluster-client 20 bundled by esbuild, raw WebSocket +
// JSON.parse). Each client's page is opened once; the rates are then measured in many short
// interleaved slices (every client runs each row within a few seconds of the others), so that
// machine drift mostly cancels out of the per-slice ratios. Prints a table with ratios; never
// fails on speed. See bench/README.md.
//
// Env: FIXTURES_BASE_PORT (default 8100; fixtures are started privately when none answer),
// BENCH_ROUNDS (alias BENCH_SLICES; default: as many slices as fit in ~160 s, at least 6),
// BENCH_RATE_MESSAGES (default 3000: single-frame messages per client per slice),
// BENCH_BATCHED (default 20000: messages at 100 per frame per client per slice),
// BENCH_EMITS (default 1000: emits per client per slice), BENCH_MESSAGES (default 100000) and
// BENCH_RECONNECTS (default 500): the heap rows, measured once per client before the slices.

const fs = require('fs');
const os = require('os');
const path = require('path');
const h = require('../tests/e2e/harness');
const {gz, socklineSize} = require('./size');

const OUT = path.join(h.ROOT, 'target', 'bench');
const SLICES = Number(process.env.BENCH_SLICES || process.env.BENCH_ROUNDS || 0); // 0: budget decides
const MIN_SLICES = 6; // the budget never cuts below one cycle of ORDERS (unless BENCH_ROUNDS asks for fewer)
const MESSAGES = Number(process.env.BENCH_MESSAGES || 100000); // heap row, once per client
const RATE_MESSAGES = Number(process.env.BENCH_RATE_MESSAGES || 3000); // per slice, 1 per frame
const BATCHED = Number(process.env.BENCH_BATCHED || 20000); // per slice, 100 per frame
const EMITS = Number(process.env.BENCH_EMITS || 1000); // per slice, 100 in flight
const RECONNECTS = Number(process.env.BENCH_RECONNECTS || 500); // heap row, once per client
const HEAP_CHUNK = 10000; // the heap row's messages go in blasts of this many (see heapRun)
const BUDGET_MS = 160000; // a slice starts only if it is projected to end before this
const SLICE_TIMEOUT_MS = 20000; // one blast in a slice
const CLIENTS = [
  ['sockline', 'sockline'],
  ['sc', 'socketcluster-client'],
  ['raw', 'raw WebSocket'],
];
const TAG = {sockline: 'L', sc: 'S', raw: 'R'}; // the order of a slice, as printed
// The rows measured in every slice: [key, label for the slice lines, messages per frame (0: the
// emit row), count per client per slice].
const ROWS = [
  ['single', '1/frame', 1, RATE_MESSAGES],
  ['batched', '100/frame', 100, BATCHED],
  ['emit', 'emit', 0, EMITS],
];
// The ratio columns of the table: [key, numerator, denominator].
const PAIRS = [
  ['sockline/raw', 'sockline', 'raw'],
  ['sc/raw', 'sc', 'raw'],
  ['sockline/sc', 'sockline', 'sc'],
];
// Client order within a slice: the three rotations, then the three reversed ones, so over
// every 6 slices each client runs first, second and last equally often and each pair of
// clients runs in either order equally often (a drift within a slice does not favour one).
const ORDERS = [
  [0, 1, 2],
  [1, 2, 0],
  [2, 0, 1],
  [2, 1, 0],
  [0, 2, 1],
  [1, 0, 2],
];

async function bundleScClient() {
  let esbuild = h.requireDep('esbuild');
  let common = {
    entryPoints: [path.join(__dirname, 'sc-entry.js')],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    nodePaths: [path.join(h.FIXTURES, 'node_modules')],
    logLevel: 'warning',
  };
  await esbuild.build({...common, minify: true, outfile: path.join(OUT, 'socketcluster-client.js')});
  let file = fs.readFileSync(path.join(OUT, 'socketcluster-client.js'));
  let version = require(path.join(h.FIXTURES, 'node_modules', 'socketcluster-client', 'package.json')).version;
  return {version, raw: file.length, gzip: gz(file)};
}

async function heapUsed(cdp) {
  for (let i = 0; i < 3; i++) await cdp.send('HeapProfiler.collectGarbage');
  let u = await cdp.send('Runtime.getHeapUsage');
  return u.usedSize;
}

// CPU seconds the page's renderer main thread has used so far (CDP Performance metrics).
async function threadTime(cdp) {
  let {metrics} = await cdp.send('Performance.getMetrics');
  let m = metrics.find((x) => x.name === 'ThreadTime');
  return m ? m.value : null;
}

// Opens a client's page once: connect, subscribe to its own channel, warm up (JIT the paths,
// settle allocations). The page stays open, idle while the others are measured.
async function openClient(browser, server, kind) {
  let page = await browser.newPage(); // its own browser context, so its own renderer
  let errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(`${server.url}/page.html?client=${kind}&base=${h.BASE_PORT}`);
  await page.waitForFunction(() => window.bench, null, {timeout: 20000});
  await page.evaluate(() => window.bench.setup());
  let cdp = await page.context().newCDPSession(page);
  await cdp.send('Performance.enable', {timeDomain: 'threadTicks'}); // for threadTime()
  await page.evaluate(() => window.bench.blast(5000, 1));
  await page.evaluate(() => window.bench.blast(5000, 100));
  await page.evaluate(() => window.bench.emits(2000, 100));
  return {kind, page, cdp, errors};
}

// The heap rows, once per client: MESSAGES single-frame messages between two heap readings,
// then RECONNECTS reconnects (clients that can reconnect) between two more; then waits until
// the channel is subscribed again, so the slices find the page as it was.
async function heapRun(c) {
  let {page, cdp} = c;
  let heap0 = await heapUsed(cdp);
  let wasm0 = await page.evaluate(() => window.bench.wasmMemory());
  // in blasts of at most 10k: a longer backlog delays the server's pings past socketcluster-
  // client's pingTimeout (20 s), and it closes the socket (4000) with messages still queued
  let single = {count: 0, received: 0, intact: true, ms: 0, blasts: 0};
  for (let left = MESSAGES; left > 0; left -= HEAP_CHUNK) {
    let r = await page.evaluate((n) => window.bench.blast(n, 1, 60000), Math.min(left, HEAP_CHUNK));
    single.count += r.count;
    single.received += r.received;
    single.intact = single.intact && r.intact;
    single.ms += r.ms;
    single.blasts++;
  }
  single.rate = (single.received / single.ms) * 1000;
  let heap1 = await heapUsed(cdp);
  let wasm1 = await page.evaluate(() => window.bench.wasmMemory());
  let before = await heapUsed(cdp);
  let r = await page.evaluate((n) => window.bench.reconnects(n), RECONNECTS);
  let reconnectGrowth = r ? (await heapUsed(cdp)) - before : null;
  let state = await page.evaluate(() => window.bench.ready());
  return {
    kind: c.kind,
    single, // its rate is kept in results.json only: it is not interleaved with the others
    heapGrowth: heap1 - heap0,
    wasmGrowth: wasm0 != null ? wasm1 - wasm0 : null,
    reconnects: r,
    reconnectGrowth,
    state,
  };
}

// One slice: every row, each client in turn in `order`, one short blast each.
async function runSlice(pages, k) {
  let order = ORDERS[(k - 1) % ORDERS.length].map((i) => CLIENTS[i][0]);
  let slice = {slice: k, order, t0: Date.now()};
  for (let [key, , perFrame, count] of ROWS) {
    slice[key] = {};
    for (let kind of order) {
      try {
        let {page, cdp} = pages[kind];
        let cpu0 = await threadTime(cdp);
        let r = await page.evaluate(
          ([n, per, timeout]) => (per ? window.bench.blast(n, per, timeout) : window.bench.emits(n, 100)),
          [count, perFrame, SLICE_TIMEOUT_MS]
        );
        let cpu1 = await threadTime(cdp);
        // the renderer main thread's CPU time over the blast: a cost, not a throughput, but it
        // barely moves with the machine's load
        if (cpu0 != null && cpu1 != null && cpu1 > cpu0) {
          r.cpuMs = (cpu1 - cpu0) * 1000;
          r.cpuRate = (count / r.cpuMs) * 1000;
        }
        slice[key][kind] = r;
      } catch (err) {
        slice[key][kind] = {error: err.message.split('\n')[0]};
      }
    }
  }
  slice.ms = Date.now() - slice.t0;
  return slice;
}

// A measurement counts when it finished and, for blasts, every message arrived intact.
const ok = (r) => r != null && !r.error && r.intact !== false && Number.isFinite(r.rate) && r.rate > 0;
const rateOf = (r) => (ok(r) ? r.rate : null);
const cpuRateOf = (r) => (ok(r) && r.cpuRate ? r.cpuRate : null);

const median = (xs) => {
  xs = xs.filter((x) => x != null && Number.isFinite(x)).sort((a, b) => a - b);
  if (!xs.length) return null;
  let m = xs.length >> 1;
  return xs.length % 2 ? xs[m] : (xs[m - 1] + xs[m]) / 2;
};

function fmt(v, digits = 0) {
  if (v == null) return 'n/a';
  return v.toLocaleString('en-US', {maximumFractionDigits: digits, minimumFractionDigits: digits});
}
const ratio = (a, b) => (a == null || b == null || !b ? 'n/a' : (a / b).toFixed(2));
const fmtRatio = (x) => (x == null || !Number.isFinite(x) ? 'n/a' : x.toFixed(2));
const signed = (v) => `${v >= 0 ? '+' : ''}${fmt(v)}`;
// A slice cell: the rate in k (1 decimal under 100k), or what went wrong.
function short(r) {
  if (r == null) return '-';
  if (r.error) return 'ERR';
  if (r.intact === false) return 'LOST';
  let k = r.rate / 1000;
  return `${k < 100 ? k.toFixed(1) : k.toFixed(0)}k`;
}

function printTable(rows) {
  let head = ['', 'sockline', 'sc-client', 'raw WS', 'sockline/raw', 'sc-client/raw', 'sockline/sc-client'];
  let lines = [head, ...rows.map((r) => [r[0], r[1], r[2], r[3], r[4] ?? '', r[5] ?? '', r[6] ?? ''])];
  let widths = head.map((_, i) => Math.max(...lines.map((l) => String(l[i]).length)));
  for (let [i, l] of lines.entries()) {
    console.log(l.map((c, j) => (j === 0 ? String(c).padEnd(widths[j]) : String(c).padStart(widths[j]))).join('  '));
    if (i === 0) console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  }
}

const quantile = (xs, q) => {
  xs = xs.filter((x) => x != null && Number.isFinite(x)).sort((a, b) => a - b);
  if (!xs.length) return null;
  let i = (xs.length - 1) * q;
  let lo = Math.floor(i);
  return lo === i ? xs[lo] : xs[lo] + (xs[lo + 1] - xs[lo]) * (i - lo);
};
const load = () => `load average ${os.loadavg()[0].toFixed(1)} on ${os.cpus().length} CPUs`;

async function main() {
  let started = Date.now();
  fs.mkdirSync(OUT, {recursive: true});
  h.ensurePkg();
  let fixtures = await h.ensureFixtures({routes: ['POST /bench/blast']});
  let server = null;
  let browser = null;
  let heap = [];
  let slices = [];
  let failures = [];
  let sizes = {};
  let loadStart = os.loadavg()[0];
  try {
    sizes.sc = await bundleScClient();
    sizes.sockline = await socklineSize(); // wasm gz + pkg JS bundled, minified, gz
    server = await h.staticServer([
      ['/', __dirname],
      ['/pkg/', h.PKG],
      ['/build/', OUT],
    ]);
    browser = await h.launchBrowser();
    loadStart = os.loadavg()[0];
    console.log(
      `bench: Chromium ${browser.version()}, fixtures on ${h.BASE_PORT}${fixtures.started ? ' (started here)' : ''}; ` +
        `${SLICES ? SLICES : 'as many as fit in ~160 s (at least ' + MIN_SLICES + ')'} interleaved slices of ` +
        `${fmt(RATE_MESSAGES)} single, ${fmt(BATCHED)} batched messages and ${fmt(EMITS)} emits per client; ` +
        `heap rows once per client (${fmt(MESSAGES)} msgs, ${fmt(RECONNECTS)} reconnects); ${load()}`
    );
    // every page opens once and stays open; only one page is active at a time
    let pages = {};
    for (let [kind, label] of CLIENTS) {
      try {
        pages[kind] = await openClient(browser, server, kind);
      } catch (err) {
        failures.push(`${label}: ${err.message.split('\n')[0]}`);
        console.log(`  ${label}: ERROR ${err.message.split('\n')[0]}`);
      }
    }
    // the heap rows run for the three pages at once: nothing there is a rate, and it saves time
    let heapStart = Date.now();
    await Promise.all(
      CLIENTS.filter(([kind]) => pages[kind]).map(async ([kind, label]) => {
        try {
          heap.push(await heapRun(pages[kind]));
        } catch (err) {
          failures.push(`${label} (heap rows): ${err.message.split('\n')[0]}`);
          console.log(`  once  ${label}: ERROR ${err.message.split('\n')[0]}`);
          delete pages[kind];
        }
      })
    );
    heap.sort((a, b) => CLIENTS.findIndex(([k]) => k === a.kind) - CLIENTS.findIndex(([k]) => k === b.kind));
    for (let r of heap) {
      let label = CLIENTS.find(([k]) => k === r.kind)[1];
      let lost = r.single.intact ? '' : ` (${fmt(r.single.received)} of ${fmt(MESSAGES)} messages or a bad sum!)`;
      let hidden = r.state.visibility === 'visible' ? '' : ` (page ${r.state.visibility}!)`;
      console.log(
        `  once  ${label.padEnd(20)} heap ${signed(r.heapGrowth / 1024)} KB after ${fmt(MESSAGES)} msgs` +
          (r.reconnects ? `, ${signed(r.reconnectGrowth / 1024)} KB after ${fmt(RECONNECTS)} reconnects` : '') +
          lost + hidden
      );
    }
    console.log(`  (heap rows: the three pages at once, ${fmt((Date.now() - heapStart) / 1000, 1)} s)`);
    let kinds = CLIENTS.map(([kind]) => kind).filter((kind) => pages[kind]);
    console.log(
      `  slices: order (L sockline, S socketcluster-client, R raw), then per row the rates of ` +
        `${kinds.join(', ')} (k msg/s), then the slice's duration`
    );
    for (let k = 1; kinds.length && (!SLICES || k <= SLICES); k++) {
      let recent = slices.slice(-3).map((s) => s.ms);
      let next = recent.length ? Math.max(...recent) : 0;
      if (!SLICES && k > MIN_SLICES && Date.now() - started + next > BUDGET_MS) {
        console.log(`(time budget reached: stopping after ${k - 1} slices)`);
        break;
      }
      let s = await runSlice(pages, k);
      slices.push(s);
      let cells = ROWS.map(([key, label]) =>
        `${label} ${kinds.map((kind) => short(s[key][kind])).join(' ')}`
      ).join('  ');
      let bad = [];
      for (let [key, label] of ROWS) {
        for (let kind of kinds) {
          let r = s[key][kind];
          if (r && r.error) bad.push(`${kind} ${label}: ${r.error}`);
          else if (r && r.intact === false) bad.push(`${kind} ${label}: ${r.received} of ${r.count} messages or a bad sum!`);
        }
      }
      console.log(
        `  slice ${String(k).padStart(2)} ${s.order.map((x) => TAG[x]).join('')} ${cells}  ${fmt(s.ms / 1000, 1)} s` +
          (bad.length ? `  ${bad.join('; ')}` : '')
      );
    }
    for (let kind of Object.keys(pages)) {
      let c = pages[kind];
      if (c.errors.length) console.log(`  ${kind} page errors: ${c.errors.join(' | ')}`);
    }
  } finally {
    if (browser) await browser.close();
    if (server) await server.close();
    await fixtures.stop();
  }

  // Client columns: the median over slices of each client's own rate. Ratio columns: the median
  // over slices of the ratio measured within each slice (both blasts a few seconds apart).
  let m = {};
  for (let [kind] of CLIENTS) {
    let hr = heap.find((r) => r.kind === kind);
    m[kind] = {
      heap: hr ? hr.heapGrowth / 1024 : null,
      reconnectHeap: hr && hr.reconnectGrowth != null ? hr.reconnectGrowth / 1024 : null,
      wasm: hr && hr.wasmGrowth != null ? hr.wasmGrowth / 1024 : null,
    };
    for (let [key] of ROWS) m[kind][key] = median(slices.map((s) => rateOf(s[key][kind])));
  }
  let cpu = {};
  for (let [key] of ROWS) {
    cpu[key] = {};
    for (let [kind] of CLIENTS) cpu[key][kind] = median(slices.map((s) => cpuRateOf(s[key][kind])));
    for (let [name, a, b] of PAIRS) {
      let per = slices.map((s) => {
        let x = cpuRateOf(s[key][a]);
        let y = cpuRateOf(s[key][b]);
        return x == null || y == null ? null : x / y;
      });
      cpu[key][name] = {median: median(per), p25: quantile(per, 0.25), p75: quantile(per, 0.75)};
    }
  }
  let ratios = {};
  for (let [key] of ROWS) {
    ratios[key] = {};
    for (let [name, a, b] of PAIRS) {
      let per = slices.map((s) => {
        let x = rateOf(s[key][a]);
        let y = rateOf(s[key][b]);
        return x == null || y == null ? null : x / y;
      });
      // pooled: all counted messages over all their time, in the slices where both counted
      let sum = (kind, f) => slices.reduce((acc, s, i) => (per[i] == null ? acc : acc + f(s[key][kind])), 0);
      let pooled = (kind) => sum(kind, (r) => r.rate * r.ms) / sum(kind, (r) => r.ms);
      let n = per.filter((x) => x != null).length;
      ratios[key][name] = {
        median: median(per),
        p25: quantile(per, 0.25),
        p75: quantile(per, 0.75),
        pooled: n ? pooled(a) / pooled(b) : null,
        slices: n,
      };
    }
  }
  let row = (label, key, digits = 0) => [
    label,
    fmt(m.sockline[key], digits),
    fmt(m.sc[key], digits),
    fmt(m.raw[key], digits),
    ...PAIRS.map(([name]) => (ratios[key] ? fmtRatio(ratios[key][name].median) : '')),
  ];
  console.log('');
  console.log(
    `medians over ${slices.length} interleaved slices (higher is better for rates; ratios are medians of ` +
      `the per-slice ratios); heap rows measured once per client:`
  );
  printTable([
    row('channel msgs/s, 1 per frame', 'single'),
    row('channel msgs/s, 100 per frame', 'batched'),
    row('emit→ack/s, 100 in flight', 'emit'),
    row(`JS heap growth after ${fmt(MESSAGES)} msgs, KB (once)`, 'heap'),
    row('wasm memory growth, KB (once)', 'wasm'),
    row(`JS heap growth after ${fmt(RECONNECTS)} reconnects, KB (once)`, 'reconnectHeap'),
    [
      'size, gzip -9, KB',
      fmt(sizes.sockline.gzip / 1024, 1),
      fmt(sizes.sc.gzip / 1024, 1),
      '–',
      '',
      '',
      ratio(sizes.sockline.gzip, sizes.sc.gzip),
    ],
  ]);
  console.log('');
  for (let [key, label] of ROWS) {
    console.log(
      `  ${label.padEnd(9)} per-slice ratios, 25th–75th percentile: ` +
        PAIRS.map(([name]) => {
          let r = ratios[key][name];
          return `${name} ${fmtRatio(r.p25)}–${fmtRatio(r.p75)}`;
        }).join(', ') +
        '; pooled (all messages / all time): ' +
        PAIRS.map(([name]) => `${name} ${fmtRatio(ratios[key][name].pooled)}`).join(', ')
    );
  }
  console.log('');
  console.log(
    '  renderer main-thread CPU, messages (or emits) per CPU second: medians over the slices, ratios ' +
      'the medians of the per-slice ratios (25th–75th percentile); a cost, not the throughput above:'
  );
  for (let [key, label] of ROWS) {
    let c = cpu[key];
    console.log(
      `  ${label.padEnd(9)} ` +
        CLIENTS.map(([kind]) => `${kind} ${fmt(c[kind])}`).join(', ') +
        '; ' +
        PAIRS.map(([name]) => `${name} ${fmtRatio(c[name].median)} (${fmtRatio(c[name].p25)}–${fmtRatio(c[name].p75)})`).join(', ')
    );
  }
  if (failures.length) console.log(`failures: ${failures.join('; ')}`);
  console.log('');
  console.log(
    `sockline pkg: ${sizes.sockline.parts.map((p) => `${p.file} ${fmt(p.raw)} B → ${fmt(p.gzip)} B`).join('; ')}` +
      `; total ${fmt(sizes.sockline.raw)} B → ${fmt(sizes.sockline.gzip)} B gzip -9`
  );
  console.log(`socketcluster-client ${sizes.sc.version}: esbuild --minify ${fmt(sizes.sc.raw)} B → ${fmt(sizes.sc.gzip)} B gzip -9`);
  let config = {slices: SLICES || null, minSlices: MIN_SLICES, budgetMs: BUDGET_MS, rateMessages: RATE_MESSAGES,
    batched: BATCHED, emits: EMITS, messages: MESSAGES, reconnects: RECONNECTS};
  let loadavg = {start: loadStart, end: os.loadavg()[0]};
  fs.writeFileSync(
    path.join(OUT, 'results.json'),
    JSON.stringify({config, loadavg, sizes, medians: m, ratios, cpu, heap, slices, failures}, null, 2) + '\n'
  );
  console.log(
    `raw results: target/bench/results.json (${((Date.now() - started) / 1000).toFixed(0)} s; ` +
      `load average ${loadStart.toFixed(1)} at the start, ${os.loadavg()[0].toFixed(1)} at the end)`
  );
}

main().catch((err) => {
  console.error(err && err.stack ? err.stack : err);
  process.exit(1);
});
