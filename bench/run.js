#!/usr/bin/env node
'use strict';
// sockline benchmarks: one headless Chromium run, the same fixture server, three clients side
// by side (sockline from pkg/, socketcluster-client 20 bundled by esbuild, raw WebSocket +
// JSON.parse). Prints a table with ratios; never fails on speed. See bench/README.md.
//
// Env: FIXTURES_BASE_PORT (default 8100; fixtures are started privately when none answer),
// BENCH_ROUNDS (default 3), BENCH_MESSAGES (default 100000: round 1, with the heap figure),
// BENCH_RATE_MESSAGES (default 30000: rounds 2+), BENCH_BATCHED (default 200000),
// BENCH_EMITS (default 10000). Rounds stop early when the next one would end past ~160 s.

const fs = require('fs');
const path = require('path');
const h = require('../tests/e2e/harness');
const {gz, socklineSize} = require('./size');

const OUT = path.join(h.ROOT, 'target', 'bench');
const ROUNDS = Number(process.env.BENCH_ROUNDS || 3);
const MESSAGES = Number(process.env.BENCH_MESSAGES || 100000);
const RATE_MESSAGES = Number(process.env.BENCH_RATE_MESSAGES || 30000); // single-frame, rounds 2+
const BATCHED = Number(process.env.BENCH_BATCHED || 200000);
const EMITS = Number(process.env.BENCH_EMITS || 10000);
const RECONNECTS = Number(process.env.BENCH_RECONNECTS || 500);
const BUDGET_MS = 160000; // a round starts only if it is projected to end before this
const CLIENTS = [
  ['sockline', 'sockline'],
  ['sc', 'socketcluster-client'],
  ['raw', 'raw WebSocket'],
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

async function runClient(browser, server, kind, round) {
  let page = await browser.newPage();
  let errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  try {
    await page.goto(`${server.url}/page.html?client=${kind}&base=${h.BASE_PORT}`);
    await page.waitForFunction(() => window.bench, null, {timeout: 20000});
    await page.evaluate(() => window.bench.setup());
    let cdp = await page.context().newCDPSession(page);
    // warm-up: JIT the paths, settle allocations
    await page.evaluate(() => window.bench.blast(5000, 1));
    await page.evaluate(() => window.bench.blast(5000, 100));
    await page.evaluate(() => window.bench.emits(2000, 100));
    // round 1: 100k single-frame messages between two heap readings; later rounds: rate only
    let heapRound = round === 1;
    let heap0 = heapRound ? await heapUsed(cdp) : null;
    let wasm0 = await page.evaluate(() => window.bench.wasmMemory());
    let single = await page.evaluate((n) => window.bench.blast(n, 1), heapRound ? MESSAGES : RATE_MESSAGES);
    let heap1 = heapRound ? await heapUsed(cdp) : null;
    let wasm1 = await page.evaluate(() => window.bench.wasmMemory());
    let batched = await page.evaluate((n) => window.bench.blast(n, 100), BATCHED);
    let emit = await page.evaluate((n) => window.bench.emits(n, 100), EMITS);
    // round 1: heap growth over 500 reconnects (clients that can reconnect)
    let reconnectGrowth = null;
    if (heapRound) {
      let before = await heapUsed(cdp);
      let r = await page.evaluate((n) => window.bench.reconnects(n), RECONNECTS);
      if (r) reconnectGrowth = (await heapUsed(cdp)) - before;
    }
    return {
      kind,
      round,
      single,
      batched,
      emit,
      heapGrowth: heapRound ? heap1 - heap0 : null,
      reconnectGrowth,
      wasmGrowth: heapRound && wasm0 != null ? wasm1 - wasm0 : null,
      errors,
    };
  } catch (err) {
    return {kind, round, error: `${err.message.split('\n')[0]}${errors.length ? ' | ' + errors.join(' | ') : ''}`};
  } finally {
    await page.close();
  }
}

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

function printTable(rows) {
  let head = ['', 'sockline', 'sc-client', 'raw WS', 'sockline/raw', 'sc-client/raw', 'sockline/sc-client'];
  let lines = [head, ...rows.map((r) => [r[0], r[1], r[2], r[3], r[4] ?? '', r[5] ?? '', r[6] ?? ''])];
  let widths = head.map((_, i) => Math.max(...lines.map((l) => String(l[i]).length)));
  for (let [i, l] of lines.entries()) {
    console.log(l.map((c, j) => (j === 0 ? String(c).padEnd(widths[j]) : String(c).padStart(widths[j]))).join('  '));
    if (i === 0) console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  }
}

async function main() {
  let started = Date.now();
  fs.mkdirSync(OUT, {recursive: true});
  h.ensurePkg();
  let fixtures = await h.ensureFixtures({routes: ['POST /bench/blast']});
  let server = null;
  let browser = null;
  let results = [];
  let sizes = {};
  let lastRoundMs = 0;
  try {
    sizes.sc = await bundleScClient();
    sizes.sockline = await socklineSize(); // wasm gz + pkg JS bundled, minified, gz
    server = await h.staticServer([
      ['/', __dirname],
      ['/pkg/', h.PKG],
      ['/build/', OUT],
    ]);
    browser = await h.launchBrowser();
    console.log(
      `bench: Chromium ${browser.version()}, fixtures on ${h.BASE_PORT}` +
        `${fixtures.started ? ' (started here)' : ''}; ${ROUNDS} rounds of ${fmt(MESSAGES)} single, ` +
        `(${fmt(RATE_MESSAGES)} after round 1), ${fmt(BATCHED)} batched messages and ${fmt(EMITS)} emits per client; ` +
        `load average ${require('os').loadavg()[0].toFixed(1)} on ${require('os').cpus().length} CPUs`
    );
    for (let round = 1; round <= ROUNDS; round++) {
      let elapsed = Date.now() - started;
      if (round > 1 && elapsed + lastRoundMs > BUDGET_MS) {
        console.log(`(time budget reached: stopping after ${round - 1} rounds)`);
        break;
      }
      // rotate the order so no client always runs first
      let roundStart = Date.now();
      let order = CLIENTS.map((_, i) => CLIENTS[(i + round - 1) % CLIENTS.length]);
      for (let [kind, label] of order) {
        let r = await runClient(browser, server, kind, round);
        results.push(r);
        if (r.error) console.log(`  round ${round} ${label}: ERROR ${r.error}`);
        else {
          let lost = r.single.intact && r.batched.intact ? '' : ' (messages lost or garbled!)';
          console.log(
            `  round ${round} ${label.padEnd(20)} ${fmt(r.single.rate).padStart(9)} msg/s  ` +
              `${fmt(r.batched.rate).padStart(10)} msg/s batched  ${fmt(r.emit.rate).padStart(8)} emit/s  ` +
              (r.heapGrowth == null ? '' : `heap ${r.heapGrowth >= 0 ? '+' : ''}${fmt(r.heapGrowth / 1024)} KB`) + lost
          );
        }
      }
      lastRoundMs = Date.now() - roundStart;
    }
  } finally {
    if (browser) await browser.close();
    if (server) await server.close();
    await fixtures.stop();
  }

  let pick = (kind, f) => median(results.filter((r) => r.kind === kind && !r.error).map(f));
  let m = {};
  for (let [kind] of CLIENTS) {
    m[kind] = {
      single: pick(kind, (r) => r.single.rate),
      batched: pick(kind, (r) => r.batched.rate),
      emit: pick(kind, (r) => r.emit.rate),
      heap: pick(kind, (r) => (r.heapGrowth == null ? null : r.heapGrowth / 1024)),
      reconnectHeap: pick(kind, (r) => (r.reconnectGrowth == null ? null : r.reconnectGrowth / 1024)),
      wasm: pick(kind, (r) => (r.wasmGrowth == null ? null : r.wasmGrowth / 1024)),
    };
  }
  let row = (label, key, digits = 0, ratios = true) => [
    label,
    fmt(m.sockline[key], digits),
    fmt(m.sc[key], digits),
    fmt(m.raw[key], digits),
    ratios ? ratio(m.sockline[key], m.raw[key]) : '',
    ratios ? ratio(m.sc[key], m.raw[key]) : '',
    ratios ? ratio(m.sockline[key], m.sc[key]) : '',
  ];
  console.log('');
  console.log(`medians of ${Math.max(...results.map((r) => r.round))} rounds (higher is better for rates):`);
  printTable([
    row('channel msgs/s, 1 per frame', 'single'),
    row('channel msgs/s, 100 per frame', 'batched'),
    row('emit→ack/s, 100 in flight', 'emit'),
    row(`JS heap growth after ${fmt(MESSAGES)} msgs, KB (round 1)`, 'heap', 0, false),
    row('wasm memory growth, KB (round 1)', 'wasm', 0, false),
    row(`JS heap growth after ${fmt(RECONNECTS)} reconnects, KB (round 1)`, 'reconnectHeap', 0, false),
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
  console.log(
    `sockline pkg: ${sizes.sockline.parts.map((p) => `${p.file} ${fmt(p.raw)} B → ${fmt(p.gzip)} B`).join('; ')}` +
      `; total ${fmt(sizes.sockline.raw)} B → ${fmt(sizes.sockline.gzip)} B gzip -9`
  );
  console.log(`socketcluster-client ${sizes.sc.version}: esbuild --minify ${fmt(sizes.sc.raw)} B → ${fmt(sizes.sc.gzip)} B gzip -9`);
  fs.writeFileSync(path.join(OUT, 'results.json'), JSON.stringify({sizes, medians: m, runs: results}, null, 2) + '\n');
  console.log(`raw results: target/bench/results.json (${((Date.now() - started) / 1000).toFixed(0)} s)`);
}

main().catch((err) => {
  console.error(err && err.stack ? err.stack : err);
  process.exit(1);
});
