'use strict';
// Shared by tests/e2e/run.js and bench/run.js: npm deps from tests/fixtures, the fixtures
// process (reused when already up, else started privately), pkg/ (built when missing), a tiny
// static server, and headless Debian Chromium through playwright-core. Never downloads a browser.

const fs = require('fs');
const http = require('http');
const path = require('path');
const {spawn, spawnSync} = require('child_process');
const {createRequire} = require('module');

const ROOT = path.resolve(__dirname, '..', '..');
const FIXTURES = path.join(ROOT, 'tests', 'fixtures');
const PKG = path.join(ROOT, 'pkg');
// npm deps (playwright-core, esbuild, socketcluster-client) live in tests/fixtures/node_modules.
const fixturesRequire = createRequire(path.join(FIXTURES, 'package.json'));

const BASE_PORT = Number(process.env.FIXTURES_BASE_PORT || 8100);
const HOST = '127.0.0.1';
const ports = {control: BASE_PORT, main: BASE_PORT + 1, sse: BASE_PORT + 6};
const urls = {
  control: `http://${HOST}:${ports.control}`,
  sc: `ws://${HOST}:${ports.main}/socketcluster/`,
  sse: `http://${HOST}:${ports.sse}`,
};

const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless=new', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage',
  '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run',
];

function requireDep(name) {
  try {
    return fixturesRequire(name);
  } catch (err) {
    throw new Error(`cannot load ${name} from tests/fixtures/node_modules (run \`npm ci\` in tests/fixtures): ${err.message}`);
  }
}

function getJson(url, timeoutMs = 2000) {
  return new Promise((resolve, reject) => {
    let req = http.get(url, {timeout: timeoutMs}, (res) => {
      let chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        try {
          resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')));
        } catch (e) {
          reject(e);
        }
      });
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

// Uses the fixtures on FIXTURES_BASE_PORT (default 8100) when they answer, else starts them
// (own process group) and stops them on exit. `routes`: control routes that must exist.
async function ensureFixtures({routes = []} = {}) {
  let existing = null;
  try {
    existing = await getJson(`${urls.control}/routes`);
  } catch (_) {}
  if (existing) {
    let missing = routes.filter((r) => !(existing.routes || []).includes(r));
    if (missing.length) {
      throw new Error(
        `the fixtures on port ${BASE_PORT} lack ${missing.join(', ')} (an older process?); stop it or ` +
          `set FIXTURES_BASE_PORT to a free base port`
      );
    }
    return {started: false, stop: async () => {}};
  }
  let log = '';
  let child = spawn(process.execPath, [path.join(FIXTURES, 'index.js')], {
    cwd: FIXTURES,
    env: {...process.env, FIXTURES_BASE_PORT: String(BASE_PORT)},
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let kill = () => {
    try {
      process.kill(-child.pid, 'SIGTERM');
    } catch (_) {}
  };
  process.on('exit', kill);
  await new Promise((resolve, reject) => {
    let timer = setTimeout(() => reject(new Error(`fixtures not ready within 30 s:\n${log}`)), 30000);
    let onData = (d) => {
      log += d;
      if (log.includes('fixtures ready')) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`fixtures exited (code ${code}) before ready:\n${log}`));
    });
  });
  child.stdout.resume();
  child.stderr.resume();
  return {
    started: true,
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        kill();
        setTimeout(resolve, 3000).unref();
      }),
  };
}

// Builds pkg/ with `./run build` (wasm-pack plus its finishing steps) when sockline.js or
// sockline_bg.wasm is missing.
function ensurePkg() {
  if (fs.existsSync(path.join(PKG, 'sockline.js')) && fs.existsSync(path.join(PKG, 'sockline_bg.wasm'))) return;
  console.log('pkg/ missing: ./run build');
  let r = spawnSync(path.join(ROOT, 'run'), ['build'], {cwd: ROOT, stdio: 'inherit'});
  if (r.status !== 0) throw new Error('./run build failed');
}

const {MIME} = require('../../www/serve.js'); // the demo server's content types

// mounts: [[urlPrefix ending in '/', dir], ...]; the longest matching prefix wins.
function staticServer(mounts) {
  mounts = mounts.slice().sort((a, b) => b[0].length - a[0].length);
  let server = http.createServer((req, res) => {
    let p;
    try {
      p = decodeURIComponent(new URL(req.url, 'http://x').pathname);
    } catch (_) {
      res.writeHead(400);
      return res.end();
    }
    let mount = mounts.find(([prefix]) => p.startsWith(prefix));
    if (!mount) {
      res.writeHead(404);
      return res.end('not found');
    }
    let dir = path.resolve(mount[1]);
    let file = path.resolve(dir, '.' + p.slice(mount[0].length - 1));
    if (file !== dir && !file.startsWith(dir + path.sep)) {
      res.writeHead(403);
      return res.end();
    }
    if (fs.existsSync(file) && fs.statSync(file).isDirectory()) file = path.join(file, 'index.html');
    fs.readFile(file, (err, data) => {
      if (err) {
        res.writeHead(404, {'Content-Type': 'text/plain'});
        return res.end('not found');
      }
      res.writeHead(200, {
        'Content-Type': MIME[path.extname(file)] || 'application/octet-stream',
        'Cache-Control': 'no-store',
      });
      res.end(data);
    });
  });
  return new Promise((resolve) => {
    server.listen(0, HOST, () => {
      resolve({
        url: `http://${HOST}:${server.address().port}`,
        close: () => new Promise((r) => {
          server.close(() => r());
          server.closeAllConnections();
        }),
      });
    });
  });
}

function freePort() {
  return new Promise((resolve, reject) => {
    let s = http.createServer();
    s.once('error', reject);
    s.listen(0, HOST, () => {
      let port = s.address().port;
      s.close(() => resolve(port));
    });
  });
}

async function launchBrowser() {
  if (!fs.existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} not found (apt-get install chromium)`);
  let {chromium} = requireDep('playwright-core');
  return chromium.launch({executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS});
}

module.exports = {
  ROOT, FIXTURES, PKG, HOST, BASE_PORT, ports, urls,
  requireDep, getJson, ensureFixtures, ensurePkg, staticServer, freePort, launchBrowser,
};
