// Type-checked (tsc --strict, no emit) against pkg/sockline.d.ts by tests/e2e/run.js: the public
// API as a TypeScript user writes it. A wrong declaration fails the check.
import init, { connect, Socket, EventStream } from 'sockline';
import type { SocketOptions, Channel } from 'sockline';

export async function usage(): Promise<void> {
  await init();
  const options: SocketOptions = { ackTimeout: 5000, authStorage: 'memory', autoReconnectOptions: { maxAttempts: 3 }, maxPayload: 1 << 20 };
  const socket: Socket = connect('ws://localhost:8000/socketcluster/', options);
  const other = new Socket('ws://localhost:8000/');
  const answer: Promise<any> = socket.emit('echo', { a: 1 });
  socket.emit('echo', 1, (err: Error | null, data?: any) => void [err, data]);
  await socket.emit('echo');
  await socket.emit('echo', 1, { ackTimeout: 100, retries: 2 });
  socket.transmit('note');
  await socket.publish('news', 'x');
  socket.publish('news', 'x', (err: Error | null) => void err);
  socket.transmitPublish('news');
  const ch: Channel = socket.subscribe('news', { waitForAuth: false, priority: 1, data: { a: 1 } });
  ch.watch((data) => void data);
  ch.unwatch();
  const chState: 'pending' | 'subscribed' | 'unsubscribed' = ch.state;
  for await (const m of ch) {
    void m;
    break;
  }
  const state: 'connecting' | 'open' | 'closed' = socket.state;
  const id: string | null = socket.id;
  const authState: 'authenticated' | 'unauthenticated' = socket.authState;
  const remove: () => void = socket.on('connect', (ev) => void ev);
  remove();
  await socket.once('connect', 100);
  socket.off('connect');
  const subs: string[] = socket.subscriptions(true);
  const auth = await socket.authenticate('token');
  const ok: boolean = auth.isAuthenticated;
  socket.disconnect();
  other.disconnect(4000, 'bye');
  const es = new EventStream('/events', { transport: 'fetch', getHeaders: async () => ({ a: 'b' }) });
  const ready: 0 | 1 | 2 = es.readyState;
  es.close();
  void [answer, chState, state, id, authState, subs, ok, ready];
}
