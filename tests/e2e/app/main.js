// A tiny app that uses sockline the npm way; tests/e2e/run.js bundles it with esbuild from the
// packed package (npm pack of pkg/). The page reports what happened in the DOM.
import init, { connect } from 'sockline';

const $ = (id) => document.getElementById(id);
const url = new URLSearchParams(location.search).get('url') || 'ws://127.0.0.1:8101/socketcluster/';

async function main() {
  await init();
  const socket = connect(url);
  await socket.once('connect', 10000);
  $('state').textContent = socket.state;

  const payload = { hello: 'bundle', n: 42, list: [1, 2, 3] };
  const t0 = performance.now();
  const reply = await socket.emit('echo', payload);
  $('emit').textContent = JSON.stringify(reply);
  $('latency').textContent = (performance.now() - t0).toFixed(1);

  const name = 'e2e-bundle-' + Math.random().toString(36).slice(2);
  const channel = socket.subscribe(name);
  const received = new Promise((resolve) => channel.watch(resolve));
  if (channel.state !== 'subscribed') await channel.once('subscribe', 10000);
  await socket.publish(name, { from: 'bundle', text: 'héllo ✓' });
  $('watch').textContent = JSON.stringify(await received);
  socket.disconnect();
  $('result').textContent = 'done';
}

main().catch((err) => {
  $('result').textContent = `error: ${err && err.name}: ${err && err.message}`;
});
