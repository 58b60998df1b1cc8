// Loaded with `node --import` into a server the bench profiles (`npm run bench -- --diff`): ours
// and the ceiling alike. A control port on 127.0.0.1 (BENCH_PROFILE_PORT) starts V8's sampling
// profiler (POST /start) and stops it, answering the profile as JSON (POST /stop), so a profile
// covers exactly one measured scenario rather than the process's whole life (`--cpu-prof`).
// The control requests arrive only between the measured runs.
import { createServer } from 'node:http';
import { Session } from 'node:inspector';

const port = Number(process.env.BENCH_PROFILE_PORT);
const interval = Number(process.env.BENCH_PROFILE_INTERVAL_US ?? 250);
const session = new Session();
session.connect();
const post = (method, params) =>
  new Promise((resolve, reject) =>
    session.post(method, params, (err, result) => (err ? reject(err) : resolve(result))),
  );

const control = createServer((req, res) => {
  const answer = (work) =>
    work.then(
      (body) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body ?? {})),
      (err) => res.writeHead(500).end(String(err?.stack ?? err)),
    );
  if (req.method === 'POST' && req.url === '/start') {
    answer(
      (async () => {
        await post('Profiler.enable');
        await post('Profiler.setSamplingInterval', { interval });
        await post('Profiler.start');
      })(),
    );
  } else if (req.method === 'POST' && req.url === '/stop') {
    answer(
      post('Profiler.stop').then(async ({ profile }) => {
        await post('Profiler.disable');
        return profile;
      }),
    );
  } else {
    res.writeHead(404).end();
  }
});
control.listen(port, '127.0.0.1');
// The server's own shutdown must not wait for this port.
control.unref();
