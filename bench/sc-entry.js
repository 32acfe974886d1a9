// esbuild entry: socketcluster-client 20 for the browser (its `browser` field maps ws to
// lib/ws-browser.js). Bundled by bench/run.js into target/bench/socketcluster-client.js.
import socketClusterClient from 'socketcluster-client';

export const create = socketClusterClient.create;
export default socketClusterClient;
