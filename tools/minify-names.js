#!/usr/bin/env node
// Shortens the wasm's import and export names: `node tools/minify-names.js pkg` (a step of
// `./run build`, like wasm-opt).
// - Imports from the glue module: wasm-bindgen names each `__wbg_<what>_<16 hex digits>` (about
//   45 bytes), and every name ships twice, in the wasm's import section and as a key of the
//   glue's import object in sockline.js; the hashes do not compress. They become `a`, `b`, …
//   `$9`.
// - Exports (`socketengine_open`, `__wbindgen_malloc`, …: used by the glue as `wasm.<name>`)
//   become `x0`, `x1`, …, also in the `InitOutput` interface of sockline.d.ts and in
//   sockline_bg.wasm.d.ts; `memory` keeps its name (a page may read it from init()'s result).
// - The modules of the functions the wasm imports straight from a snippet (no glue shim):
//   wasm-bindgen names each `./snippets/sockline-<hash>/src/js/<file>.js` in every such import
//   and lists it once per import as a key of the import object (the same key up to ten times,
//   which bundlers warn about). Each snippet module becomes one key `s0`, `s1`, … of the import
//   object, bound to an object of its functions under short names (`a`, `b`, … in the wasm
//   too), imported by name: a namespace object (`import * as`) would keep every export of the
//   module in an app's bundle, each with a getter. The glue's own module `./sockline_bg.js`,
//   named in each of its ~40 imports, becomes `g`.
'use strict';
const fs = require('fs');
const path = require('path');

const GLUE = './sockline_bg.js';
const die = (m) => {
  console.error(`minify-imports: ${m}`);
  process.exit(1);
};

function leb(buf, at) {
  let n = 0, shift = 0, b;
  do {
    b = buf[at++];
    n += (b & 0x7f) * 2 ** shift;
    shift += 7;
  } while (b & 0x80);
  return [n, at];
}
function toLeb(n) {
  let out = [];
  do {
    let b = n & 0x7f;
    n = Math.floor(n / 128);
    out.push(n ? b | 0x80 : b);
  } while (n);
  return Buffer.from(out);
}
const str = (s) => Buffer.concat([toLeb(Buffer.byteLength(s)), Buffer.from(s)]);

// Short names: a..z A..Z _ $, then two characters; never a JS keyword (two letters: `do`,
// `if`, `in` are skipped).
const FIRST = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_$';
const NEXT = FIRST + '0123456789';
const RESERVED = new Set(['do', 'if', 'in']);
function* names() {
  for (const c of FIRST) yield c;
  for (const a of FIRST) for (const b of NEXT) if (!RESERVED.has(a + b)) yield a + b;
}

// Rewrites the section `id` whose entries run from `body` to `end`: `entry(p, out)` appends
// one entry's new bytes to `out` and returns the index after it. The section, resized.
function rewrite(id, wasm, body, end, entry) {
  let [count, p] = leb(wasm, body);
  const out = [toLeb(count)];
  for (let i = 0; i < count; i++) p = entry(p, out);
  if (p !== end) die(`section ${id} not read to its end`);
  const content = Buffer.concat(out);
  return [Buffer.from([id]), toLeb(content.length), content];
}

function main() {
  const dir = process.argv[2] || 'pkg';
  const wasmPath = path.join(dir, 'sockline_bg.wasm');
  const jsPath = path.join(dir, 'sockline.js');
  const wasm = fs.readFileSync(wasmPath);
  let js = fs.readFileSync(jsPath, 'utf8');
  if (js.includes('// imports minified by tools/minify-names.js')) return; // (already done)
  if (wasm.readUInt32LE(0) !== 0x6d736100) die(`${wasmPath} is not a wasm module`);

  let at = 8, parts = [wasm.subarray(0, 8)], renamed = new Map(), exported = new Map(), gen = names();
  const modules = new Map(); // snippet module -> its key
  while (at < wasm.length) {
    const id = wasm[at];
    let [size, body] = leb(wasm, at + 1);
    const end = body + size;
    if (id === 7) {
      // exports: every name but `memory` (the one a page may read from init()'s result)
      parts.push(...rewrite(7, wasm, body, end, (p, out) => {
        let [nlen, q] = leb(wasm, p);
        const name = wasm.toString('utf8', q, q + nlen);
        q += nlen;
        let [, r] = leb(wasm, q + 1); // (kind, index)
        let short = name;
        if (name !== 'memory') {
          short = 'x' + exported.size.toString(36);
          exported.set(name, short);
        }
        out.push(str(short), wasm.subarray(q, r));
        return r;
      }));
    } else if (id === 2) {
      parts.push(...rewrite(2, wasm, body, end, (p, out) => {
        let [mlen, q] = leb(wasm, p);
        const module = wasm.toString('utf8', q, q + mlen);
        q += mlen;
        let [flen, r] = leb(wasm, q);
        const field = wasm.toString('utf8', r, r + flen);
        r += flen;
        // the import's description, copied as it is
        const kind = wasm[r++];
        let s = r;
        if (kind === 0 || kind === 4) [, s] = leb(wasm, kind === 4 ? s + 1 : s);
        else if (kind === 1 || kind === 2) {
          if (kind === 1) s++; // reftype
          const flags = wasm[s++];
          [, s] = leb(wasm, s);
          if (flags & 1) [, s] = leb(wasm, s);
        } else if (kind === 3) s += 2;
        else die(`unknown import kind ${kind}`);
        let name = field, key = module;
        if (module === GLUE) {
          if (!renamed.has(field)) renamed.set(field, gen.next().value);
          name = renamed.get(field);
          key = 'g';
        } else if (module.startsWith('./snippets/')) {
          if (!modules.has(module)) modules.set(module, {key: 's' + modules.size, fns: new Map(), gen: names()});
          const m = modules.get(module);
          if (!m.fns.has(field)) m.fns.set(field, m.gen.next().value);
          key = m.key;
          name = m.fns.get(field);
        }
        out.push(str(key), str(name), wasm.subarray(r - 1, s));
        return s;
      }));
    } else {
      parts.push(wasm.subarray(at, end));
    }
    at = end;
  }

  // The glue: each name is a key of the import object, `        <name>: function(` or
  // `        <name>: <value>`, exactly once, and appears nowhere else.
  for (const [long, short] of renamed) {
    const count = js.split(long).length - 1;
    if (count !== 1) die(`${long} occurs ${count} times in ${jsPath}, expected once`);
    const key = `\n        ${long}:`;
    if (!js.includes(key)) die(`${long} is not a key of the import object`);
    js = js.replace(key, `\n        ${short}:`);
  }
  // the import object's keys: the glue's own `"./sockline_bg.js": import0,` becomes `"g"`, and
  // the snippet modules' `        "<module>": importN,` lines (one per import) become one
  // `        "sN": importN,` line per module after it; the `import * as importN` lines no key
  // uses any more go.
  const own = `\n        "${GLUE}": import0,`;
  if (js.split(own).length !== 2) die(`${GLUE} is not a key of the import object once`);
  js = js.replace(own, '\n        "g": import0,');
  if (modules.size) {
    const keyLine = /\n {8}"(\.\/snippets\/[^"]+)": (import\d+),(?=\n)/g;
    const first = new Map();
    for (const [, m, v] of js.matchAll(keyLine)) if (!first.has(m)) first.set(m, v);
    for (const m of modules.keys()) if (!first.has(m)) die(`${m} is not a key of the import object`);
    js = js.replace(keyLine, '');
    // each module's functions by name (`import {f as importN_a}`), in an object of their short
    // names: a bundler keeps only what some module uses (a namespace object keeps every export)
    const lines = [...modules].map(([m, {key, fns}]) => {
      const v = first.get(m);
      return `\n        "${key}": { ${[...fns.values()].map((s) => `${s}: ${v}_${s}`).join(', ')} },`;
    }).join('');
    js = js.replace('\n        "g": import0,', '\n        "g": import0,' + lines);
    const byVar = new Map([...modules].map(([m, {fns}]) => [first.get(m), fns]));
    js = js.replace(/^import \* as (import\d+) from ("\.\/snippets\/[^"]+")\n/gm, (l, v, from) => {
      const fns = byVar.get(v);
      return fns ? `import { ${[...fns].map(([f, s]) => `${f} as ${v}_${s}`).join(', ')} } from ${from};\n` : '';
    });
    for (const v of byVar.keys()) if (js.split(new RegExp(`\\b${v}\\b`)).length !== 1) die(`${v} is still bound`);
  }
  // exports: `wasm.<name>` in the glue, the InitOutput interface in sockline.d.ts and
  // sockline_bg.wasm.d.ts
  const dtsPath = path.join(dir, 'sockline.d.ts'), wdtsPath = path.join(dir, 'sockline_bg.wasm.d.ts');
  let dts = fs.readFileSync(dtsPath, 'utf8');
  let wdts = fs.existsSync(wdtsPath) ? fs.readFileSync(wdtsPath, 'utf8') : null;
  js = js.replace(/\bwasm\.([A-Za-z0-9_$]+)/g, (m, n) => (exported.has(n) ? `wasm.${exported.get(n)}` : m));
  for (const [long, short] of exported) {
    dts = dts.replace(`\n    readonly ${long}:`, `\n    readonly ${short}:`);
    if (wdts) wdts = wdts.replace(`\nexport const ${long}:`, `\nexport const ${short}:`);
  }
  // every export the glue calls must be one the wasm has now
  const final = new Set(['memory', ...exported.values()]);
  for (const [, n] of js.matchAll(/\bwasm\.([A-Za-z0-9_$]+)/g)) {
    if (!final.has(n)) die(`the glue calls wasm.${n}, which the wasm does not export`);
  }
  fs.writeFileSync(dtsPath, dts);
  if (wdts) fs.writeFileSync(wdtsPath, wdts);
  js += '\n// imports minified by tools/minify-names.js\n';
  fs.writeFileSync(wasmPath, Buffer.concat(parts));
  fs.writeFileSync(jsPath, js);
}

main();
