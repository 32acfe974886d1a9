#!/usr/bin/env node
// The engines' host classes in the glue as the classes of static methods they are:
// `node tools/static-hosts.js pkg` (a step of `./run build`, before tools/minify-names.js).
//
// `SocketEngine` and `SseEngine` (src/js/socket.rs, src/js/event_stream.rs) are wasm-bindgen
// structs only so that the glue makes a class of their static methods; the wasm hands one
// instance to `setSocketHost`/`setSseHost` (support.js), which keep its class. For an exported
// struct wasm-bindgen also writes what instances need: `__wrap`, `__destroy_into_raw`, `free`,
// a `FinalizationRegistry` and a `Symbol.dispose` alias, ~160 B gzipped for the two in an app's
// bundle. This step removes them and hands the class itself to the setter, freeing the box the
// wasm allocated for the instance at once (what `free()` did). Every text it rewrites must be
// found exactly as wasm-bindgen 0.2.130 writes it, or it fails.
'use strict';
const fs = require('fs');
const path = require('path');

const HOSTS = [
  ['SocketEngine', 'setSocketHost'],
  ['SseEngine', 'setSseHost'],
];

const die = (m) => {
  console.error(`static-hosts: ${m}`);
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
  if (js.includes('// host classes made static by tools/static-hosts.js')) return; // (already done)
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
  js += '\n// host classes made static by tools/static-hosts.js\n';
  fs.writeFileSync(jsPath, js);
}

main();
