'use strict';
// The measured process of the TCP proxy benchmark: a one-connection proxy in
// its own process, so its CPU time, peak RSS and event-loop delay belong to
// this variant alone. Called by bench/run.js:
//
//   node [--require zerocopy/register] bench/workloads/proxy.js '<json job>'
//
// Listens on 127.0.0.1 (any port) and prints "PORT <n>"; accepts ONE client,
// connects to 127.0.0.1:job.upstreamPort and joins the two sockets the way a
// user's proxy would, set up at once (upstream still connecting):
//   job.variant 'node'     — stream.pipeline(client, upstream, cb);
//                             stream.pipeline(upstream, client, cb)
//   job.variant 'zerocopy' — the same two lines with zerocopy's pipeline
//   job.variant 'register' — client.pipe(upstream); upstream.pipe(client),
//                             run under `node --require zerocopy/register`
// Both sockets get setNoDelay(true), like the C proxy, and allowHalfOpen, so
// an EOF travels through the proxy as the C proxy passes it on (shutdown of
// the other side's write half) rather than Node ending the socket that sent it
// (which ends the opposite direction early, and pipeline() then reports
// ERR_STREAM_PREMATURE_CLOSE for it). When both directions
// have finished and both sockets closed, prints one JSON line (CPU, peak RSS,
// loop delay from the accept to the end; the bytes each socket counted; the
// paths the diagnostics channel reported) and exits.
//
// job.loopDelay === false leaves the loop-delay monitor off: its 1 ms timer
// costs ~20 ms of CPU per second even when the proxy is idle, which would
// swamp the CPU per exchange of a proxy that waits while the others run (the
// request/response benchmark takes the proxies in turn).
const fs = require('node:fs');
const net = require('node:net');
const path = require('node:path');
const stream = require('node:stream');
const { monitorEventLoopDelay } = require('node:perf_hooks');

const job = JSON.parse(process.argv[2]);
const LOOP_RESOLUTION_MS = 1;

const paths = {}; // transfers per path taken (splice, normal)
const reasons = {}; // the reasons seen per path, with counts
let pipeline = stream.pipeline;
if (job.variant === 'zerocopy') pipeline = require(path.join(__dirname, '..', '..')).pipeline;
if (job.variant !== 'node') {
  require('node:diagnostics_channel').subscribe('zerocopy:transfer', (m) => {
    paths[m.path] = (paths[m.path] || 0) + 1;
    const k = `${m.path}: ${m.reason}`;
    reasons[k] = (reasons[k] || 0) + 1;
  });
}

function fail(err) {
  process.stderr.write(`proxy ${job.variant}: ${err?.stack || err}\n`);
  process.exit(1);
}
process.on('uncaughtException', fail);
process.on('unhandledRejection', fail);
setTimeout(() => fail(new Error('proxy timed out')), job.timeoutMs || 120000).unref();

// Peak RSS of this process (VmHWM), as in bench/workloads/sender.js.
function peakRssKiB() {
  const m = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync('/proc/self/status', 'utf8'));
  return m ? Number(m[1]) : process.resourceUsage().maxRSS;
}

const server = net.createServer({ allowHalfOpen: true });
server.listen(0, '127.0.0.1', () => process.stdout.write(`PORT ${server.address().port}\n`));
server.once('connection', (client) => {
  server.close();
  const monitored = job.loopDelay !== false;
  const h = monitorEventLoopDelay({ resolution: LOOP_RESOLUTION_MS });
  if (monitored) h.enable();
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  const upstream = net.connect({ port: job.upstreamPort, host: '127.0.0.1', allowHalfOpen: true });
  client.setNoDelay(true);
  upstream.setNoDelay(true);
  // Errors after the exchange is over (a peer that closes without reading
  // our FIN) are counted, not fatal; the bench checks the bytes end to end.
  const errors = [];
  // pipeline(): two directions finished and two sockets closed; pipe(): the
  // two sockets closed.
  let pending = job.variant === 'register' ? 2 : 4;
  const done = (err) => {
    if (err) errors.push(err.code || err.message);
    if (--pending > 0) return;
    const wall = Number(process.hrtime.bigint() - t0) / 1e9;
    const cpu = process.cpuUsage(cpu0);
    h.disable();
    const d = (ns) => Math.max(0, ns / 1e6 - LOOP_RESOLUTION_MS);
    process.stdout.write(
      `${JSON.stringify({
        ok: true,
        wall,
        user: cpu.user / 1e6,
        sys: cpu.system / 1e6,
        maxRssKiB: peakRssKiB(),
        ...(monitored
          ? { loopP50: d(h.percentile(50)), loopP99: d(h.percentile(99)), loopMax: d(h.max), loopSamples: h.count }
          : {}),
        // What each socket counted: the fast path must keep these true.
        bytesUp: client.bytesRead,
        bytesUpWritten: upstream.bytesWritten,
        bytesDown: upstream.bytesRead,
        bytesDownWritten: client.bytesWritten,
        errors,
        paths,
        reasons,
      })}\n`,
    );
    process.exit(0);
  };
  for (const s of [client, upstream]) s.once('close', () => done());
  if (job.variant === 'register') {
    for (const s of [client, upstream]) s.on('error', (e) => errors.push(e.code || e.message));
    client.pipe(upstream);
    upstream.pipe(client);
  } else {
    pipeline(client, upstream, done);
    pipeline(upstream, client, done);
  }
});
