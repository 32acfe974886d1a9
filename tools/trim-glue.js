#!/usr/bin/env node
// The glue (pkg/sockline.js) without code the package never runs: `node tools/trim-glue.js pkg`
// (a step of `./run build`, before tools/minify-names.js). Every text it rewrites must be found
// exactly as wasm-bindgen 0.2.130 writes it, or it fails.
//
// - The engines' host classes as the classes of static methods they are. `SocketEngine` and
//   `SseEngine` (src/js/socket.rs, src/js/event_stream.rs) are wasm-bindgen structs only so that
//   the glue makes a class of their static methods; the wasm hands one instance to
//   `setSocketHost`/`setSseHost` (support.js), which keep its class. For an exported struct
//   wasm-bindgen also writes what instances need: `__wrap`, `__destroy_into_raw`, `free`, a
//   `FinalizationRegistry` and a `Symbol.dispose` alias, ~150 B gzipped for the two in an app's
//   bundle. They go, and the setter gets the class itself; the box the wasm allocated for the
//   instance is freed at once (what `free()` did).
// - `passStringToWasm0`'s branch for a call without `realloc`: every call passes
//   `wasm.__wbindgen_realloc` (checked).
// - The `TextEncoder.encodeInto` polyfill: every browser that can instantiate the module has
//   `encodeInto` (the wasm needs reference types: Chrome 96, Firefox 79, Safari 15; `encodeInto`
//   came in Chrome 74, Firefox 66, Safari 14.1), and support.js's `readFrame` uses it as it is.
// - The stand-in for a missing `FinalizationRegistry` (the closures' registry): those browsers
//   have it too (Chrome 84, Firefox 79, Safari 14.1), and socket.js makes one as it is.
'use strict';
const fs = require('fs');
const path = require('path');

const HOSTS = [
  ['SocketEngine', 'setSocketHost'],
  ['SseEngine', 'setSseHost'],
];

const die = (m) => {
  console.error(`trim-glue: ${m}`);
  process.exit(1);
};

const esc = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

// Replaces the one match of `re` in `js` (a function of the match, or a string).
function once(js, re, by, what) {
  const n = (js.match(new RegExp(re.source, 'g')) || []).length;
  if (n !== 1) die(`${what}: found ${n} times, expected once`);
  return js.replace(re, by);
}

function main() {
  const dir = process.argv[2] || 'pkg';
  const jsPath = path.join(dir, 'sockline.js');
  let js = fs.readFileSync(jsPath, 'utf8');
  if (js.includes('// trimmed by tools/trim-glue.js')) return; // (already done)
  for (const [cls, setter] of HOSTS) {
    if (!js.includes(`export class ${cls} {`)) continue; // (EventStream only with `sse`)
    const fin = `${cls}Finalization`;
    let free;
    js = once(
      js,
      new RegExp(
        `(export class ${cls} \\{\\n)` +
          ` {4}static __wrap\\(ptr\\) \\{\\n {8}const obj = Object\\.create\\(${cls}\\.prototype\\);\\n` +
          ` {8}obj\\.__wbg_ptr = ptr;\\n {8}${fin}\\.register\\(obj, obj\\.__wbg_ptr, obj\\);\\n {8}return obj;\\n {4}\\}\\n` +
          ` {4}__destroy_into_raw\\(\\) \\{\\n {8}const ptr = this\\.__wbg_ptr;\\n {8}this\\.__wbg_ptr = 0;\\n` +
          ` {8}${fin}\\.unregister\\(this\\);\\n {8}return ptr;\\n {4}\\}\\n` +
          ` {4}free\\(\\) \\{\\n {8}const ptr = this\\.__destroy_into_raw\\(\\);\\n {8}(wasm\\.[A-Za-z0-9_$]+)\\(ptr, 0\\);\\n {4}\\}\\n`,
      ),
      (m, head, f) => {
        free = f;
        return head;
      },
      `${cls}'s instance methods`,
    );
    js = once(js, new RegExp(`if \\(Symbol\\.dispose\\) ${cls}\\.prototype\\[Symbol\\.dispose\\] = ${cls}\\.prototype\\.free;\\n`), '', `${cls}'s dispose alias`);
    js = once(
      js,
      new RegExp(
        `const ${fin} = \\(typeof FinalizationRegistry === 'undefined'\\)\\n` +
          ` {4}\\? \\{ register: \\(\\) => \\{\\}, unregister: \\(\\) => \\{\\} \\}\\n` +
          ` {4}: new FinalizationRegistry\\(ptr => ${esc(free)}\\(ptr, 1\\)\\);\\n`,
      ),
      '',
      `${fin}`,
    );
    js = once(
      js,
      new RegExp(`\\n( +)${setter}\\(${cls}\\.__wrap\\(arg0\\)\\);\\n`),
      (m, ind) => `\n${ind}${setter}(${cls});\n${ind}${free}(arg0, 0);\n`,
      `the ${setter} shim`,
    );
    if (js.includes(fin) || new RegExp(`\\b${cls}\\.__wrap\\b`).test(js)) die(`${cls} still has instance code`);
  }
  if (js.includes('__wbg_ptr')) die('an exported struct is left: this step only knows the two host classes');
  // passStringToWasm0 without its `realloc === undefined` branch
  const calls = js.match(/(?<!function )\bpassStringToWasm0\([^)]*\)/g) || [];
  for (const c of calls) {
    if (!/, wasm\.__wbindgen_malloc, wasm\.__wbindgen_realloc\)$/.test(c)) die(`a call without realloc: ${c}`);
  }
  js = once(
    js,
    /\n {4}if \(realloc === undefined\) \{\n {8}const buf = cachedTextEncoder\.encode\(arg\);\n {8}const ptr = malloc\(buf\.length, 1\) >>> 0;\n {8}getUint8ArrayMemory0\(\)\.subarray\(ptr, ptr \+ buf\.length\)\.set\(buf\);\n {8}WASM_VECTOR_LEN = buf\.length;\n {8}return ptr;\n {4}\}\n/,
    '\n',
    "passStringToWasm0's branch without realloc",
  );
  js = once(
    js,
    /\nif \(!\('encodeInto' in cachedTextEncoder\)\) \{\n {4}cachedTextEncoder\.encodeInto = function \(arg, view\) \{\n {8}const buf = cachedTextEncoder\.encode\(arg\);\n {8}view\.set\(buf\);\n {8}return \{\n {12}read: arg\.length,\n {12}written: buf\.length\n {8}\};\n {4}\};\n\}\n/,
    '\n',
    'the encodeInto polyfill',
  );
  js = once(
    js,
    /\nconst CLOSURE_DTORS = \(typeof FinalizationRegistry === 'undefined'\)\n {4}\? \{ register: \(\) => \{\}, unregister: \(\) => \{\} \}\n {4}: new FinalizationRegistry/,
    '\nconst CLOSURE_DTORS = new FinalizationRegistry',
    "the closures' FinalizationRegistry",
  );
  if (js.includes("typeof FinalizationRegistry === 'undefined'")) die('another FinalizationRegistry stand-in is left');
  js += '\n// trimmed by tools/trim-glue.js\n';
  fs.writeFileSync(jsPath, js);
}

main();
