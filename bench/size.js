#!/usr/bin/env node
'use strict';
// What a user ships, gzip -9: sockline's pkg/ (sockline_bg.wasm + all its JS modules bundled and
// minified by esbuild, as an app's bundler would) next to socketcluster-client 20 bundled and
// minified the same way (bench/sc-entry.js). Printed by `./run build`; bench/run.js reuses it.
// pkg/ itself is left as wasm-pack wrote it (readable, usable unbundled from a script tag or a
// plain ESM import): minifying is the app's bundler's job.
//
// `node bench/size.js --sc-only DIR` also prints the same figure for the package in DIR (the
// SocketCluster-only build, no `sse` feature: `SIZE_SC_ONLY=1 ./run build` makes it).

const fs = require('fs');
const path = require('path');
const zlib = require('zlib');
const h = require('../tests/e2e/harness');

const {spawnSync} = require('child_process');

// GNU `gzip -9` (what the README's and the issue's figures use; ~1 % smaller than node's zlib at
// level 9 on the wasm), node's zlib when there is no gzip binary.
const gz = (buf) => {
  let r = spawnSync('gzip', ['-9', '-c', '-n'], {input: buf, maxBuffer: 64 << 20});
  return r.status === 0 ? r.stdout.length : zlib.gzipSync(buf, {level: 9}).length;
};

function esbuildOf() {
  return h.requireDep('esbuild');
}

// All .js files of a package dir (sockline.js + snippets/**), unminified, for the breakdown.
function pkgJsFiles(pkg) {
  let files = ['sockline.js'];
  let walk = (dir) => {
    for (let e of fs.readdirSync(dir, {withFileTypes: true})) {
      let p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.js')) files.push(path.relative(pkg, p));
    }
  };
  let snippets = path.join(pkg, 'snippets');
  if (fs.existsSync(snippets)) walk(snippets);
  return files;
}

// `pkg`: the package dir (pkg/ unless told).
async function socklineSize(pkg = h.PKG) {
  let wasm = fs.readFileSync(path.join(pkg, 'sockline_bg.wasm'));
  let js = pkgJsFiles(pkg).map((f) => {
    let buf = fs.readFileSync(path.join(pkg, f));
    return {file: f, raw: buf.length, gzip: gz(buf)};
  });
  // The whole public surface, as `import init, {...} from 'sockline'` pulls it in.
  let r = await esbuildOf().build({
    stdin: {
      contents: "export * from './sockline.js';\nexport {default} from './sockline.js';\n",
      resolveDir: pkg,
      sourcefile: 'entry.js',
    },
    bundle: true,
    minify: true,
    format: 'esm',
    platform: 'browser',
    write: false,
    logLevel: 'warning',
  });
  // (what an app's bundler would show its user: tools/minify-names.js makes the import
  // object's keys one per module, where wasm-bindgen repeats them)
  if (r.warnings.length) throw new Error(`esbuild warns about the package (${r.warnings.length} warnings, above)`);
  let min = Buffer.from(r.outputFiles[0].contents);
  let wasmPart = {file: 'sockline_bg.wasm', raw: wasm.length, gzip: gz(wasm)};
  let jsPart = {file: 'JS (esbuild --bundle --minify)', raw: min.length, gzip: gz(min)};
  return {
    wasm: wasmPart,
    js: jsPart,
    files: js,
    // `parts` as bench/run.js prints them: what is shipped.
    parts: [wasmPart, jsPart],
    raw: wasmPart.raw + jsPart.raw,
    gzip: wasmPart.gzip + jsPart.gzip,
  };
}

async function scClientSize() {
  let r = await esbuildOf().build({
    entryPoints: [path.join(__dirname, 'sc-entry.js')],
    bundle: true,
    minify: true,
    format: 'esm',
    platform: 'browser',
    nodePaths: [path.join(h.FIXTURES, 'node_modules')],
    write: false,
    logLevel: 'warning',
  });
  let file = Buffer.from(r.outputFiles[0].contents);
  let version = require(path.join(h.FIXTURES, 'node_modules', 'socketcluster-client', 'package.json')).version;
  return {version, raw: file.length, gzip: gz(file), code: file};
}

async function main() {
  let i = process.argv.indexOf('--sc-only');
  let scOnlyDir = i >= 0 ? process.argv[i + 1] : null;
  if (i >= 0 && !scOnlyDir) throw new Error('--sc-only needs a package dir');
  let [s, sc, scOnly] = await Promise.all([
    socklineSize(),
    scClientSize(),
    scOnlyDir ? socklineSize(path.resolve(scOnlyDir)) : null,
  ]);
  let row = (name, raw, gzip) => console.log(`${name.padEnd(44)} ${String(raw).padStart(9)} ${String(gzip).padStart(9)}`);
  console.log(`${'shipped (what a user ships)'.padEnd(44)} ${'raw'.padStart(9)} ${'gzip-9'.padStart(9)}`);
  row('pkg/sockline_bg.wasm', s.wasm.raw, s.wasm.gzip);
  row('pkg JS, bundled + minified by esbuild', s.js.raw, s.js.gzip);
  row('sockline total', s.raw, s.gzip);
  row(`socketcluster-client ${sc.version} (esbuild --minify)`, sc.raw, sc.gzip);
  console.log(`sockline / socketcluster-client: ${(s.gzip / sc.gzip).toFixed(2)}x`);
  console.log(`pkg JS as built (unminified): ${s.files.map((f) => `${f.file} ${f.raw} B (${f.gzip} B gz)`).join('; ')}`);
  if (scOnly) {
    console.log(
      `SocketCluster-only build (no sse feature, ${scOnlyDir}): wasm ${scOnly.wasm.gzip} B gz + JS ${scOnly.js.gzip} B gz = ${scOnly.gzip} B gz` +
        ` (raw ${scOnly.wasm.raw} + ${scOnly.js.raw} = ${scOnly.raw} B; ${(scOnly.gzip / sc.gzip).toFixed(2)}x socketcluster-client;` +
        ` the full build's SSE costs ${s.gzip - scOnly.gzip} B gz)`,
    );
  }
}

module.exports = {gz, socklineSize, scClientSize};

if (require.main === module) {
  main().catch((err) => {
    console.error(err && err.stack ? err.stack : err);
    process.exit(1);
  });
}
