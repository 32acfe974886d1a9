#!/usr/bin/env node
// Tiny dependency-free static server for the sockline demo.
//   node www/serve.js [--host 127.0.0.1] [--port 8000] [--root www] [--pkg pkg]
// Serves <root>/ at "/" and <pkg>/ at "/pkg/" (the wasm-pack output). No caching.
'use strict';
const http = require('http');
const fs = require('fs');
const path = require('path');

const args = process.argv.slice(2);
function opt(name, def) {
  const i = args.indexOf('--' + name);
  return i >= 0 && i + 1 < args.length ? args[i + 1] : def;
}
const repo = path.resolve(__dirname, '..');
const host = opt('host', process.env.HOST || '127.0.0.1');
const port = Number(opt('port', process.env.PORT || 8000));
const root = path.resolve(repo, opt('root', 'www'));
const pkg = path.resolve(repo, opt('pkg', 'pkg'));

const MIME = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.wasm': 'application/wasm',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.ts': 'text/plain; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.md': 'text/plain; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
};

function escapeHtml(s) {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);
}

function send(res, status, type, body, head) {
  res.writeHead(status, { 'Content-Type': type, 'Cache-Control': 'no-store', 'Content-Length': Buffer.byteLength(body) });
  res.end(head ? undefined : body);
}

function listing(res, urlPath, dir, head) {
  const items = fs.readdirSync(dir, { withFileTypes: true })
    .filter((d) => d.name !== 'node_modules')
    .map((d) => d.name + (d.isDirectory() ? '/' : ''))
    .sort();
  if (urlPath === '/' && fs.existsSync(pkg)) items.push('pkg/');
  const base = urlPath.endsWith('/') ? urlPath : urlPath + '/';
  const body = `<!doctype html><meta charset="utf-8"><title>${escapeHtml(urlPath)}</title>` +
    `<h1>${escapeHtml(urlPath)}</h1><ul>` +
    items.map((n) => `<li><a href="${escapeHtml(base + n)}">${escapeHtml(n)}</a></li>`).join('') +
    '</ul>\n';
  send(res, 200, MIME['.html'], body, head);
}

const server = http.createServer((req, res) => {
  const head = req.method === 'HEAD';
  if (req.method !== 'GET' && !head) return send(res, 405, MIME['.txt'], 'method not allowed\n');
  let urlPath;
  try {
    urlPath = decodeURIComponent(new URL(req.url, 'http://x').pathname);
  } catch {
    return send(res, 400, MIME['.txt'], 'bad request\n');
  }
  // the demo server's own npm packages (www/node_modules, for keyspace.js) are not for the page
  if (/(^|\/)node_modules(\/|$)/.test(urlPath)) return send(res, 404, MIME['.txt'], 'not found\n', head);
  let base = root;
  let rel = urlPath;
  if (urlPath === '/pkg' || urlPath.startsWith('/pkg/')) {
    base = pkg;
    rel = urlPath.slice('/pkg'.length) || '/';
  }
  const file = path.resolve(base, '.' + rel);
  if (file !== base && !file.startsWith(base + path.sep)) return send(res, 403, MIME['.txt'], 'forbidden\n', head);
  fs.stat(file, (err, st) => {
    if (err) return send(res, 404, MIME['.txt'], 'not found\n', head);
    if (st.isDirectory()) {
      if (!urlPath.endsWith('/')) {
        res.writeHead(301, { Location: urlPath + '/' });
        return res.end();
      }
      const index = path.join(file, 'index.html');
      if (!fs.existsSync(index)) return listing(res, urlPath, file, head);
      return serveFile(res, index, head);
    }
    serveFile(res, file, head);
  });
});

function serveFile(res, file, head) {
  fs.readFile(file, (err, data) => {
    if (err) return send(res, 500, MIME['.txt'], 'read error\n', head);
    const type = MIME[path.extname(file).toLowerCase()] || 'application/octet-stream';
    res.writeHead(200, { 'Content-Type': type, 'Cache-Control': 'no-store', 'Content-Length': data.length });
    res.end(head ? undefined : data);
  });
}

if (require.main === module) {
  server.listen(port, host, () => {
    console.log(`serving ${path.relative(repo, root) || '.'}/ and /pkg/ -> ${path.relative(repo, pkg)}/ on http://${host}:${port}/`);
  });
  for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => process.exit(0));
}

module.exports = { MIME };
