/**
 * The upstream of bench/adapters/run.ts: the fake accounts service in acceptAnyCode mode with no
 * delay, in a process of its own so its CPU time is counted neither for the server nor for the
 * load generator. Started by run.ts with an IPC channel: tells {type:'listening', url} and stops
 * when the channel closes or on SIGTERM.
 */
import { startFakeAccounts } from '../../test/fake-accounts/index.ts';

if (!process.send) {
  process.stderr.write('bench upstream: start me from bench/adapters/run.ts (I need an IPC channel)\n');
  process.exit(2);
}

const fake = await startFakeAccounts({
  clientId: process.env.BENCH_CLIENT_ID ?? '',
  clientSecret: process.env.BENCH_CLIENT_SECRET ?? '',
  host: '127.0.0.1',
  port: 0,
});
fake.state.acceptAnyCode = true;
fake.state.delayMs = 0;

const stop = () => void fake.close().finally(() => process.exit(0));
process.once('SIGTERM', stop);
process.once('disconnect', stop);
process.send({ type: 'listening', url: fake.url });
