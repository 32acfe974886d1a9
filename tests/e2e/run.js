#!/usr/bin/env node
'use strict';
// Ring 3: sockline end to end in Debian's Chromium (playwright-core), against the fixtures.
//   (a) the npm package (npm pack of pkg/) bundled by esbuild into a tiny app
//   (b) the script-tag page: <script type="module">import ... from './pkg/sockline.js'
//   (c) the demo page served by www/serve.js, with its private redis-server + www/keyspace.js
//       on FIXTURES_BASE_PORT+16/+17 (screenshots: target/e2e/demo.png, target/e2e/sessions.png)
// Uses the fixtures on FIXTURES_BASE_PORT (default 8100) when they answer (./run test starts
// them), else starts a private instance. Builds pkg/ when it is missing. Prints one line per
// check and `N passed, M failed`; exits 1 on any failure.

const fs = require('fs');
const path = require('path');
const {spawn, spawnSync} = require('child_process');
const h = require('./harness');

const OUT = path.join(h.ROOT, 'target', 'e2e');
const WAIT = 20000; // ms, any single wait for something the user would see

const results = [];
function report(name, ok, detail) {
  results.push({name, ok});
  let line = `${ok === null ? 'skip' : ok ? 'ok  ' : 'FAIL'}  ${name}`;
  console.log(detail ? `${line}: ${detail}` : line);
}

async function check(name, fn) {
  try {
    let detail = await fn();
    if (detail && detail.skip) report(name, null, detail.skip);
    else report(name, true, detail);
  } catch (err) {
    report(name, false, err && err.message ? err.message.split('\n').slice(0, 6).join(' | ') : String(err));
  }
}

function assert(cond, message) {
  if (!cond) throw new Error(message);
}

function sameJson(a, b) {
  return JSON.stringify(a) === JSON.stringify(b);
}

// A page that records uncaught errors and console errors for the failure message.
async function newPage(browser) {
  let page = await browser.newPage({viewport: {width: 1200, height: 860}});
  page.errors = [];
  page.on('pageerror', (err) => page.errors.push(`pageerror: ${err.message}`));
  page.on('console', (msg) => {
    if (msg.type() !== 'error') return;
    let where = (msg.location() && msg.location().url) || '';
    if (/\/favicon\.ico$/.test(where)) return; // the browser asks; no page does
    page.errors.push(`console.error: ${msg.text()}${where ? ` (${where})` : ''}`);
  });
  return page;
}

function noPageErrors(page) {
  assert(page.errors.length === 0, page.errors.join(' | '));
}

async function text(page, selector) {
  return (await page.textContent(selector)) || '';
}

// The flow shared by the bundled app and the script-tag page (see their sources).
async function flowPage(browser, url, expectEmit) {
  let page = await newPage(browser);
  try {
    await page.goto(url);
    await page.waitForFunction(() => document.getElementById('result').textContent !== '', null, {timeout: WAIT});
    let result = await text(page, '#result');
    assert(result === 'done', `page says ${JSON.stringify(result)}; ${page.errors.join(' | ')}`);
    assert((await text(page, '#state')) === 'open', `state ${await text(page, '#state')}`);
    let emit = JSON.parse(await text(page, '#emit'));
    assert(sameJson(emit, expectEmit), `echo returned ${JSON.stringify(emit)}`);
    let watched = JSON.parse(await text(page, '#watch'));
    assert(sameJson(watched, {from: expectEmit.hello, text: 'héllo ✓'}), `watcher got ${JSON.stringify(watched)}`);
    noPageErrors(page);
    return `echo ${JSON.stringify(emit)} in ${await text(page, '#latency')} ms; watcher got ${JSON.stringify(watched)}`;
  } finally {
    await page.close();
  }
}

// ------------------------------------------------------------------ (a) npm package + esbuild
function npmPack() {
  let dest = path.join(OUT, 'npm');
  fs.rmSync(dest, {recursive: true, force: true});
  fs.mkdirSync(dest, {recursive: true});
  let r = spawnSync('npm', ['pack', '--json', '--pack-destination', dest], {cwd: h.PKG, encoding: 'utf8'});
  assert(r.status === 0, `npm pack failed: ${r.stderr}`);
  let info = JSON.parse(r.stdout.slice(r.stdout.indexOf('[')))[0];
  let files = info.files.map((f) => f.path);
  // Every module sockline.js imports, and the wasm it fetches, must be in the package.
  let js = fs.readFileSync(path.join(h.PKG, 'sockline.js'), 'utf8');
  let needed = ['package.json', 'sockline.js', 'sockline_bg.wasm'];
  for (let m of js.matchAll(/(?:from|import)\s*['"]\.\/([^'"]+)['"]/g)) needed.push(m[1]);
  let missing = [...new Set(needed)].filter((f) => !files.includes(f));
  assert(!missing.length, `npm pack leaves out ${missing.join(', ')} (package has ${files.join(', ')})`);
  // Install it the way npm would: node_modules/sockline = the tarball's package/ directory.
  let installed = path.join(dest, 'node_modules', 'sockline');
  fs.mkdirSync(installed, {recursive: true});
  let t = spawnSync('tar', ['-xzf', path.join(dest, info.filename), '-C', installed, '--strip-components=1']);
  assert(t.status === 0, `tar failed: ${t.stderr}`);
  return {installed, files, size: info.size, filename: info.filename};
}

async function bundleApp(nodeModules) {
  let esbuild = h.requireDep('esbuild');
  let appOut = path.join(OUT, 'app');
  fs.rmSync(appOut, {recursive: true, force: true});
  fs.mkdirSync(appOut, {recursive: true});
  let r = await esbuild.build({
    entryPoints: [path.join(__dirname, 'app', 'main.js')],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    minify: true,
    outfile: path.join(appOut, 'main.js'),
    nodePaths: [nodeModules],
    logLevel: 'silent',
    metafile: true,
  });
  assert(!r.errors.length, r.errors.map((e) => e.text).join('; '));
  let inputs = Object.keys(r.metafile.inputs);
  assert(inputs.some((i) => i.includes('node_modules/sockline/sockline.js')), `bundle inputs: ${inputs.join(', ')}`);
  // wasm-bindgen's glue loads `new URL('sockline_bg.wasm', import.meta.url)`; esbuild keeps
  // import.meta.url in ESM output, so the wasm goes next to the bundle (what a user does too).
  fs.copyFileSync(path.join(nodeModules, 'sockline', 'sockline_bg.wasm'), path.join(appOut, 'sockline_bg.wasm'));
  fs.copyFileSync(path.join(__dirname, 'app', 'index.html'), path.join(appOut, 'index.html'));
  return {bytes: fs.statSync(path.join(appOut, 'main.js')).size, warnings: r.warnings.length};
}

// ------------------------------------------------------------------ (c) demo page
async function startDemoServer() {
  let port = await h.freePort();
  let child = spawn(
    process.execPath,
    [path.join(h.ROOT, 'www', 'serve.js'), '--host', h.HOST, '--port', String(port), '--root', 'www', '--pkg', 'pkg'],
    {cwd: h.ROOT, stdio: ['ignore', 'pipe', 'pipe']}
  );
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  let url = `http://${h.HOST}:${port}/`;
  let deadline = Date.now() + 10000;
  for (;;) {
    try {
      await fetch(url);
      break;
    } catch (_) {}
    if (Date.now() > deadline || child.exitCode !== null) {
      child.kill();
      throw new Error(`www/serve.js did not come up: ${out}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {url, stop: () => child.kill('SIGTERM')};
}

// The Sessions panel's server side, as `./run demo` starts it (redis-server spawned by it).
async function startKeyspace() {
  let port = h.BASE_PORT + 17;
  let child = spawn(
    process.execPath,
    [path.join(h.ROOT, 'www', 'keyspace.js'), '--spawn-redis', String(h.BASE_PORT + 16), '--port', String(port)],
    {cwd: h.ROOT, stdio: ['ignore', 'pipe', 'pipe'], detached: true}
  );
  let kill = () => {
    try {
      process.kill(-child.pid, 'SIGTERM');
    } catch (_) {}
  };
  process.on('exit', kill);
  let out = '';
  await new Promise((resolve, reject) => {
    let timer = setTimeout(() => reject(new Error(`www/keyspace.js not ready in ${WAIT} ms: ${out}`)), WAIT);
    let onData = (d) => {
      out += d;
      if (/ ready$/m.test(out)) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`www/keyspace.js exited (${code}): ${out}`));
    });
  });
  return {
    url: `http://${h.HOST}:${port}`,
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        kill();
        setTimeout(resolve, 5000).unref();
      }),
  };
}

async function demoChecks(browser) {
  let demo;
  let keyspace;
  try {
    keyspace = await startKeyspace();
    demo = await startDemoServer();
  } catch (err) {
    report('demo page: served by www/serve.js (+ redis-server and www/keyspace.js)', false, err.message);
    if (keyspace) await keyspace.stop();
    return;
  }
  let page = await newPage(browser);
  // The page loads with no failed request at all (no favicon 404 either).
  page.on('response', (r) => {
    if (r.status() >= 400) page.errors.push(`HTTP ${r.status()} ${r.url()}`);
  });
  page.on('requestfailed', (r) => {
    let why = (r.failure() && r.failure().errorText) || '';
    if (why !== 'net::ERR_ABORTED') page.errors.push(`request failed: ${r.url()} ${why}`); // ABORTED: the page closed it
  });
  try {
    let query = `?base=${h.BASE_PORT}&ks=${encodeURIComponent(keyspace.url)}`;
    let loaded = false;
    await check('demo page: connects and shows an emit round trip with its latency', async () => {
      await page.goto(demo.url + query);
      loaded = true;
      await page.waitForFunction(
        () => /^echo → .* in \d+(\.\d+)? ms$/.test(document.getElementById('emit-result').textContent),
        null,
        {timeout: WAIT}
      );
      let result = await text(page, '#emit-result');
      assert(result.startsWith('echo → {"hello":"sockline"} in '), result);
      let state = await text(page, '#state');
      assert(state === 'open', `state pill says ${state}`);
      let id = await text(page, '#socket-id');
      assert(id && id !== '–', 'no socket id shown');
      assert(/ms$/.test(await text(page, '#latency')), 'no latency figure');
      let log = await text(page, '#log');
      assert(log.includes('connect {'), 'events log has no connect entry');
      noPageErrors(page);
      return `${result} (socket ${id})`;
    });

    await check('demo page: a message published from the text box is listed', async () => {
      assert(loaded, 'page did not load');
      await page.waitForFunction(() => document.getElementById('channel-state').textContent === 'subscribed', null, {
        timeout: WAIT,
      });
      let msg = `hello from e2e ${Math.random().toString(36).slice(2, 8)}`;
      await page.fill('#publish-text', msg);
      await page.click('#publish');
      await page.waitForFunction(
        (m) => [...document.querySelectorAll('#messages li')].some((li) => li.textContent.endsWith(m)),
        msg,
        {timeout: WAIT}
      );
      let ack = await text(page, '#publish-result');
      assert(/^published, acknowledged in/.test(ack), `publish result: ${ack}`);
      noPageErrors(page);
      return `"${msg}" listed; ${ack}`;
    });

    await check('demo page: live SSE counter (EventStream)', async () => {
      assert(loaded, 'page did not load');
      let exported = await page.evaluate(async () => typeof (await import('/pkg/sockline.js')).EventStream);
      if (exported !== 'function') {
        assert((await text(page, '#sse-state')) === 'unavailable', 'SSE panel does not say unavailable');
        return {skip: 'EventStream is not exported by this pkg/ (panel says unavailable)'};
      }
      await page.waitForFunction(() => Number(document.getElementById('sse-count').textContent) >= 1, null, {
        timeout: WAIT,
      });
      let first = Number(await text(page, '#sse-count'));
      await page.waitForFunction((n) => Number(document.getElementById('sse-count').textContent) > n, first, {
        timeout: WAIT,
      });
      let second = Number(await text(page, '#sse-count'));
      assert((await text(page, '#sse-state')) === 'open', `SSE state ${await text(page, '#sse-state')}`);
      noPageErrors(page);
      return `counter went ${first} → ${second}`;
    });

    await check('demo page: Sessions panel: a session created in the page arrives as `expired` through EventStream', async () => {
      assert(loaded, 'page did not load');
      await page.waitForFunction(() => document.getElementById('ks-state').textContent === 'open', null, {timeout: WAIT});
      await page.click('.ks-create[data-ttl="2000"]');
      await page.waitForFunction(() => document.querySelectorAll('#ks-sessions li').length >= 1, null, {timeout: WAIT});
      let key = (await text(page, '#ks-sessions li')).trim().split(/\s+/)[0];
      assert(/^session:[0-9a-f]+$/.test(key), `live list shows ${JSON.stringify(key)}`);
      // cut the stream server side: EventStream reconnects and resumes; then 50 more expire
      await page.click('#ks-cut');
      await page.waitForFunction(() => Number(document.getElementById('ks-reconnects').textContent) >= 1, null, {timeout: WAIT});
      await page.waitForFunction(
        (k) => [...document.querySelectorAll('#ks-expired li')].some((li) => li.textContent.includes(`${k} expired`)),
        key,
        {timeout: WAIT}
      );
      await page.click('#ks-create50');
      await page.waitForFunction(() => Number(document.getElementById('ks-live').textContent) >= 40, null, {timeout: WAIT});
      await page.locator('#sessions').screenshot({path: path.join(OUT, 'sessions-live.png')});
      // cut again while they expire (one every 100 ms): what expires meanwhile is replayed
      await page.waitForFunction(() => Number(document.getElementById('ks-received').textContent) >= 11, null, {timeout: WAIT});
      await page.click('#ks-cut');
      await page.waitForFunction(() => Number(document.getElementById('ks-reconnects').textContent) >= 2, null, {timeout: WAIT});
      await page.waitForFunction(() => Number(document.getElementById('ks-received').textContent) >= 51, null, {timeout: WAIT});
      // the transport selector: the same panel over `fetch`, resuming from the last id
      await page.selectOption('#ks-transport', 'fetch');
      await page.waitForFunction(() => /sessions stream open \(fetch/.test(document.getElementById('log').textContent), null, {timeout: WAIT});
      await page.click('.ks-create[data-ttl="2000"]');
      await page.waitForFunction(() => Number(document.getElementById('ks-received').textContent) >= 52, null, {timeout: WAIT});
      let figures = {};
      for (let id of ['received', 'replayed', 'duplicates', 'reconnects', 'live']) figures[id] = Number(await text(page, `#ks-${id}`));
      assert(figures.duplicates === 0, `duplicates ${figures.duplicates}`);
      noPageErrors(page);
      let session = path.join(OUT, 'sessions.png');
      await page.locator('#sessions').screenshot({path: session});
      return `${key} expired across a cut, 50 more across another, 1 more after switching to fetch: ${JSON.stringify(figures)}; target/e2e/sessions{,-live}.png`;
    });

    // The Rust example page (examples/rust-ticker, built by ./run demo and ./run test into
    // www/rust/pkg/), served next to the JS demo.
    await check('Rust example page /rust/: a Channel as a typed Stream ticks, EventStream counts', async () => {
      if (!fs.existsSync(path.join(h.ROOT, 'www', 'rust', 'pkg', 'sockline_rust_ticker.js'))) {
        throw new Error('www/rust/pkg/ is missing: build it with ./run demo (build_rust_example)');
      }
      let rust = await newPage(browser);
      rust.on('response', (r) => {
        if (r.status() >= 400) rust.errors.push(`HTTP ${r.status()} ${r.url()}`);
      });
      try {
        await rust.goto(new URL(`/rust/?base=${h.BASE_PORT}`, demo.url).href);
        await rust.waitForFunction(() => document.querySelectorAll('#ticks li').length >= 2, null, {timeout: WAIT});
        await rust.click('#publish');
        await rust.waitForFunction(
          () => [...document.querySelectorAll('#ticks li')].some((li) => li.textContent.includes('from button (clicked ✓)')),
          null,
          {timeout: WAIT}
        );
        await rust.waitForFunction(() => Number(document.getElementById('sse-count').textContent) >= 2, null, {
          timeout: WAIT,
        });
        let state = await text(rust, '#state');
        assert(state === 'open', `state pill says ${state}`);
        assert((await text(rust, '#channel-state')) === 'subscribed', 'channel not subscribed');
        noPageErrors(rust);
        let file = path.join(OUT, 'rust.png');
        await rust.screenshot({path: file, fullPage: true});
        return `ticks listed (last ${await text(rust, '#tick-count')}), button tick listed, SSE counter ${await text(rust, '#sse-count')}; target/e2e/rust.png`;
      } catch (err) {
        let shown = await rust.evaluate(() => document.body.innerText).catch(() => '');
        throw new Error(`${err.message}; page errors: ${rust.errors.join(' | ') || 'none'}; page: ${shown.replace(/\s+/g, ' ').slice(0, 400)}`);
      } finally {
        await rust.close();
      }
    });

    await check('demo page: screenshot target/e2e/demo.png', async () => {
      assert(loaded, 'page did not load');
      let file = path.join(OUT, 'demo.png');
      await page.screenshot({path: file, fullPage: true});
      return `${fs.statSync(file).size} bytes`;
    });
  } finally {
    await page.close();
    demo.stop();
    await keyspace.stop();
  }
}

// ------------------------------------------------------------------ main
async function main() {
  fs.mkdirSync(OUT, {recursive: true});
  h.ensurePkg();
  let fixtures = await h.ensureFixtures();
  let server = null;
  let browser = null;
  try {
    let pack = null;
    await check('npm package: `npm pack` of pkg/ holds sockline.js, the wasm and every JS snippet it imports', async () => {
      pack = npmPack();
      return `${pack.filename}: ${pack.files.join(', ')}`;
    });
    let bundled = null;
    if (pack) {
      await check('npm package: esbuild bundles `import init, { connect } from \'sockline\'`', async () => {
        bundled = await bundleApp(path.dirname(pack.installed));
        return `target/e2e/app/main.js ${bundled.bytes} bytes + sockline_bg.wasm`;
      });
    }

    if (pack) {
      await check('TypeScript: the public API type-checks against sockline.d.ts (tsc --strict)', async () => {
        const tsc = path.join(h.ROOT, 'tests', 'fixtures', 'node_modules', 'typescript', 'bin', 'tsc');
        const pkgDir = path.join(OUT, 'types', 'node_modules', 'sockline');
        fs.rmSync(path.join(OUT, 'types'), {recursive: true, force: true});
        fs.mkdirSync(path.dirname(pkgDir), {recursive: true});
        fs.cpSync(pack.installed, pkgDir, {recursive: true});
        fs.copyFileSync(path.join(__dirname, 'types', 'usage.ts'), path.join(OUT, 'types', 'usage.ts'));
        const r = spawnSync(process.execPath, [tsc, '--noEmit', '--strict', '--target', 'es2022', '--module', 'es2022',
          '--moduleResolution', 'bundler', '--lib', 'esnext,dom', 'usage.ts'], {cwd: path.join(OUT, 'types'), encoding: 'utf8'});
        assert(r.status === 0, `tsc failed:\n${r.stdout}${r.stderr}`);
        return 'usage.ts compiles with --strict';
      });
      // The oldest lib the declarations support, with our own .d.ts checked too.
      await check('TypeScript: sockline.d.ts compiles under tsc --strict --lib es2020,dom --skipLibCheck false', async () => {
        const tsc = path.join(h.ROOT, 'tests', 'fixtures', 'node_modules', 'typescript', 'bin', 'tsc');
        const r = spawnSync(process.execPath, [tsc, '--noEmit', '--strict', '--skipLibCheck', 'false', '--target', 'es2020',
          '--module', 'es2020', '--moduleResolution', 'bundler', '--lib', 'es2020,dom', 'usage.ts'],
          {cwd: path.join(OUT, 'types'), encoding: 'utf8'});
        assert(r.status === 0, `tsc failed:\n${r.stdout}${r.stderr}`);
        return 'usage.ts and sockline.d.ts compile with --lib es2020,dom';
      });
    }

    server = await h.staticServer([
      ['/', path.join(__dirname, 'pages')],
      ['/pkg/', h.PKG],
      ['/app/', path.join(OUT, 'app')],
    ]);
    browser = await h.launchBrowser();
    let sc = encodeURIComponent(h.urls.sc);

    if (bundled) {
      await check('npm package bundled by esbuild: emit round trip + publish/watch in Chromium', () =>
        flowPage(browser, `${server.url}/app/?url=${sc}`, {hello: 'bundle', n: 42, list: [1, 2, 3]})
      );
    } else {
      report('npm package bundled by esbuild: emit round trip + publish/watch in Chromium', false, 'no bundle');
    }
    await check('script-tag page: emit round trip + publish/watch in Chromium', () =>
      flowPage(browser, `${server.url}/script-tag.html?url=${sc}`, {hello: 'script-tag', n: 7, nested: {ok: true}})
    );
    await demoChecks(browser);
  } finally {
    if (browser) await browser.close();
    if (server) await server.close();
    await fixtures.stop();
  }
  let passed = results.filter((r) => r.ok === true).length;
  let failed = results.filter((r) => r.ok === false).length;
  console.log(`${passed} passed, ${failed} failed`);
  process.exitCode = failed ? 1 : 0;
}

main().catch((err) => {
  console.error(err && err.stack ? err.stack : err);
  let passed = results.filter((r) => r.ok === true).length;
  console.log(`${passed} passed, ${results.filter((r) => r.ok === false).length + 1} failed`);
  process.exit(1);
});
