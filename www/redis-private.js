'use strict';
// A private redis-server (Debian's `redis-server`) for the demo and the tests: its own port on
// 127.0.0.1, no persistence files (--save '' --appendonly no, --dir a fresh temp dir that is
// removed on stop), keyspace notifications on. Used by www/keyspace.js --spawn-redis and by
// tests/keyspace/.
//
//   const redis = await startRedis({port: 8110});   // resolves once it accepts connections
//   await redis.stop();  await redis.start();        // restart on the same port (empty again)

const fs = require('fs');
const net = require('net');
const os = require('os');
const path = require('path');
const {spawn} = require('child_process');

// E: __keyevent@<db>__ channels; x: expired; g: generic (del, expire, ...); $: string commands (set).
const NOTIFY_FLAGS = 'Exg$';
const BIN = process.env.REDIS_SERVER || 'redis-server';

function startRedis({port, host = '127.0.0.1', log = null, readyTimeoutMs = 10000} = {}) {
  if (!port) throw new Error('startRedis: port is required');
  let child = null;
  let dir = null;
  let exited = null;

  function start() {
    if (child) return Promise.resolve();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sockline-redis-'));
    let args = [
      '--port', String(port), '--bind', host, '--protected-mode', 'yes', '--daemonize', 'no',
      '--save', '', '--appendonly', 'no', '--dir', dir, '--logfile', '',
      '--notify-keyspace-events', NOTIFY_FLAGS,
    ];
    let out = '';
    child = spawn(BIN, args, {stdio: ['ignore', 'pipe', 'pipe']});
    exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({code, signal})));
    let onData = (d) => {
      if (out.length < 20000) out += d;
      if (log) log(String(d));
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    let me = child;
    return new Promise((resolve, reject) => {
      let deadline = Date.now() + readyTimeoutMs;
      let done = false;
      me.once('error', (err) => {
        done = true;
        reject(new Error(`cannot start ${BIN} (apt-get install redis-server): ${err.message}`));
      });
      exited.then(({code}) => {
        if (done) return;
        done = true;
        reject(new Error(`${BIN} exited (code ${code}) before it accepted connections:\n${out}`));
      });
      // Bounded: a PING over TCP every 50 ms until +PONG or the deadline.
      let probe = () => {
        if (done) return;
        if (Date.now() > deadline) {
          done = true;
          me.kill('SIGKILL');
          return reject(new Error(`${BIN} did not answer PING on ${host}:${port} within ${readyTimeoutMs} ms:\n${out}`));
        }
        let s = net.connect({port, host});
        let buf = '';
        let retry = () => {
          s.destroy();
          setTimeout(probe, 50);
        };
        s.on('error', retry);
        s.on('connect', () => s.write('PING\r\n'));
        s.on('data', (d) => {
          buf += d;
          if (buf.includes('+PONG')) {
            s.removeListener('error', retry);
            s.destroy();
            done = true;
            resolve();
          } else if (buf.includes('\r\n')) retry(); // -LOADING and the like
        });
      };
      probe();
    });
  }

  async function stop(signal = 'SIGTERM') {
    let c = child;
    child = null;
    if (c && c.exitCode === null && c.signalCode === null) {
      c.kill(signal);
      let timer;
      await Promise.race([exited, new Promise((r) => (timer = setTimeout(r, 5000)))]);
      clearTimeout(timer);
      if (c.exitCode === null && c.signalCode === null) {
        c.kill('SIGKILL');
        await exited;
      }
    }
    if (dir) fs.rmSync(dir, {recursive: true, force: true});
    dir = null;
  }

  // Synchronous last resort for process 'exit' handlers.
  function kill() {
    if (child) {
      try {
        child.kill('SIGKILL');
      } catch (_) {}
    }
    if (dir) fs.rmSync(dir, {recursive: true, force: true});
  }

  return start().then(() => ({
    url: `redis://${host}:${port}`,
    port,
    start,
    stop,
    kill,
    get pid() {
      return child ? child.pid : null;
    },
  }));
}

module.exports = {startRedis, NOTIFY_FLAGS};
