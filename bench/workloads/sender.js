'use strict';
// One sender run in its own process, so its CPU time, peak RSS and event-loop
// delay belong to this variant alone. Called by bench/run.js:
//
//   node bench/workloads/sender.js '<json job>'
//
// job.mode:
//   'socket' — connect `conns` loopback connections to the receiver, send the
//              8-byte size header, then send files one after another on each
//              (createReadStream(f).pipe(sock)), waiting for the receiver's
//              1-byte ack after each, until `maxTransfers` or `durationMs`.
//              With one transfer on one connection this is the plain
//              `createReadStream(f).pipe(sock)` (the socket is ended by pipe).
//              With job.warmupMs, the same loop runs that long first, off the
//              clock, so the timed part measures warmed-up code (V8 compiles
//              hot functions only after a few hundred to thousands of calls,
//              which would otherwise dominate a sub-second run).
//   'copy'   — copy job.src to job.dst once.
//   'read'   — read `count` files (cycling through job.files) one after
//              another, each with createReadStream(f), a 'data' listener
//              summing its bytes and a wait for 'close': the consumer no
//              pipe() is offered to. `warmupCount` files first, off the
//              clock. During that warm-up only, the 'zerocopy:file' channel
//              is counted (fileOps: where each open, read and close ran):
//              with a subscriber every in-loop call publishes, so the timed
//              part runs without one.
// job.variant: 'node' (fs streams), 'zerocopy' (this library), 'copyFile'.
//
// Prints one JSON line on stdout. Everything measured covers the timed part
// only (connections are set up before the clock starts).
const fs = require('node:fs');
const net = require('node:net');
const path = require('node:path');
const stream = require('node:stream');
const { monitorEventLoopDelay } = require('node:perf_hooks');

const job = JSON.parse(process.argv[2]);
const LOOP_RESOLUTION_MS = 1;

let impl;
const paths = {}; // flows per path taken (sendfile, splice, copy_file_range, normal)
const reasons = {}; // the first reason seen per path
if (job.variant === 'zerocopy') {
  impl = require(path.join(__dirname, '..', '..'));
  // Count which path each flow took, to show the fast path really ran. Kept
  // cheap: it runs once per flow inside the measured process.
  require('node:diagnostics_channel').subscribe('zerocopy:transfer', (m) => {
    paths[m.path] = (paths[m.path] || 0) + 1;
    if (!(m.path in reasons)) reasons[m.path] = m.reason;
  });
} else {
  impl = { createReadStream: fs.createReadStream, createWriteStream: fs.createWriteStream, pipeline: stream.pipeline };
}

function fail(err) {
  process.stderr.write(`sender ${job.variant}: ${err?.stack || err}\n`);
  process.exit(1);
}
process.on('uncaughtException', fail);
process.on('unhandledRejection', fail);

// Overall watchdog: a run never outlives its budget.
setTimeout(() => fail(new Error('sender timed out')), job.timeoutMs || 120000).unref();

// Peak RSS of this process (VmHWM). Not resourceUsage().maxRSS: libuv spawns
// with vfork, and across exec ru_maxrss keeps the parent's high-water mark.
function peakRssKiB() {
  const m = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync('/proc/self/status', 'utf8'));
  return m ? Number(m[1]) : process.resourceUsage().maxRSS;
}

function measureStart() {
  const h = monitorEventLoopDelay({ resolution: LOOP_RESOLUTION_MS });
  h.enable();
  return { h, cpu: process.cpuUsage(), t0: process.hrtime.bigint(), rss0: process.memoryUsage.rss() };
}

function measureEnd(m, extra) {
  const wall = Number(process.hrtime.bigint() - m.t0) / 1e9;
  const cpu = process.cpuUsage(m.cpu);
  m.h.disable();
  // The histogram records whole timer intervals: take the resolution off so
  // 0 means "the loop was never late".
  const d = (ns) => Math.max(0, ns / 1e6 - LOOP_RESOLUTION_MS);
  return {
    ok: true,
    wall,
    user: cpu.user / 1e6,
    sys: cpu.system / 1e6,
    maxRssKiB: peakRssKiB(),
    rssBeforeKiB: Math.round(m.rss0 / 1024),
    loopP50: d(m.h.percentile(50)),
    loopP99: d(m.h.percentile(99)),
    loopMax: d(m.h.max),
    loopSamples: m.h.count,
    paths,
    reasons,
    ...extra,
  };
}

function pct(sorted, p) {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

async function connect(size) {
  const sock = net.connect({ port: job.port, host: '127.0.0.1' });
  await new Promise((resolve, reject) => {
    sock.once('connect', resolve);
    sock.once('error', reject);
  });
  sock.on('error', fail);
  sock.setNoDelay(true);
  const hdr = Buffer.alloc(8);
  hdr.writeBigUInt64LE(BigInt(size));
  await new Promise((resolve) => sock.write(hdr, resolve));
  // Acks from the receiver: one byte per finished transfer.
  let acks = 0;
  let waiter = null;
  sock.on('data', (b) => {
    acks += b.length;
    if (waiter && acks > 0) {
      acks--;
      const w = waiter;
      waiter = null;
      w();
    }
  });
  sock.nextAck = () => {
    if (acks > 0) {
      acks--;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      waiter = resolve;
    });
  };
  return sock;
}

async function socketJob() {
  const size = fs.statSync(job.files[0]).size;
  const single = job.conns === 1 && job.maxTransfers === 1;
  const socks = [];
  for (let i = 0; i < job.conns; i++) socks.push(await connect(size));
  const loop = async (durationMs, maxTransfers) => {
    const deadline = Date.now() + durationMs;
    const lat = [];
    let taken = 0;
    await Promise.all(
      socks.map(async (sock, id) => {
        for (let k = id; taken < maxTransfers && Date.now() < deadline; k++) {
          taken++;
          const t0 = process.hrtime.bigint();
          const rs = impl.createReadStream(job.files[k % job.files.length]);
          const closed = new Promise((resolve, reject) => {
            rs.once('close', resolve);
            rs.once('error', reject);
          });
          // The user's one line: file.pipe(socket). Several files share a
          // connection, so those keep it open ({ end: false }).
          if (single) rs.pipe(sock);
          else rs.pipe(sock, { end: false });
          await sock.nextAck();
          lat.push(Number(process.hrtime.bigint() - t0) / 1e9);
          await closed;
        }
      }),
    );
    return lat;
  };
  let warmupBytes = 0;
  if (job.warmupMs > 0 && !single) {
    warmupBytes = (await loop(job.warmupMs, job.maxTransfers)).length * size;
    for (const k of Object.keys(paths)) delete paths[k];
    for (const k of Object.keys(reasons)) delete reasons[k];
  }
  const m = measureStart();
  const lat = await loop(job.durationMs, job.maxTransfers);
  const sorted = lat.slice().sort((a, b) => a - b);
  const res = measureEnd(m, {
    bytes: lat.length * size,
    warmupBytes,
    transfers: lat.length,
    latP50: pct(sorted, 50),
    latP99: pct(sorted, 99),
  });
  // Close cleanly (the receiver reports a connection when it sees EOF). A
  // socket that pipe() ended may already be closed: don't wait for it then.
  await Promise.all(
    socks.map(
      (s) =>
        new Promise((resolve) => {
          if (s.closed || s.destroyed) {
            resolve();
            return;
          }
          s.once('close', resolve);
          s.end();
        }),
    ),
  );
  return res;
}

function copyOnce(src, dst) {
  if (job.variant === 'copyFile')
    return new Promise((resolve, reject) => fs.copyFile(src, dst, (e) => (e ? reject(e) : resolve())));
  return new Promise((resolve, reject) =>
    impl.pipeline(impl.createReadStream(src), impl.createWriteStream(dst), (e) => (e ? reject(e) : resolve())),
  );
}

async function copyJob() {
  const size = fs.statSync(job.src).size;
  // Off the clock, a first small copy: the threadpool's threads started and
  // the code compiled, as in any process that has copied a file before (the
  // C ceiling has no such one-time cost). The first copy in a fresh process
  // costs 8-17 ms more (128 MiB, three runs each way, 2026-12-06).
  if (job.warmSrc) {
    await copyOnce(job.warmSrc, `${job.dst}.warm`);
    fs.rmSync(`${job.dst}.warm`);
  }
  const m = measureStart();
  await copyOnce(job.src, job.dst);
  const res = measureEnd(m, { bytes: size, transfers: 1 });
  const got = fs.statSync(job.dst).size;
  if (got !== size) throw new Error(`copy has ${got} bytes, expected ${size}`);
  return res;
}

// One file through a 'data' listener, to its 'close'; resolves with its bytes.
function readOne(file) {
  return new Promise((resolve, reject) => {
    let bytes = 0;
    const rs = impl.createReadStream(file);
    rs.on('data', (b) => {
      bytes += b.length;
    });
    rs.once('error', reject);
    rs.once('close', () => resolve(bytes));
  });
}

async function readFiles(count) {
  let bytes = 0;
  for (let i = 0; i < count; i++) bytes += await readOne(job.files[i % job.files.length]);
  return bytes;
}

async function readJob() {
  const size = fs.statSync(job.files[0]).size;
  const fileOps = {};
  const count = (m) => {
    const k = `${m.op} ${m.where}`;
    fileOps[k] = (fileOps[k] || 0) + 1;
  };
  const dc = require('node:diagnostics_channel');
  if (job.variant === 'zerocopy') dc.subscribe('zerocopy:file', count);
  await readFiles(job.warmupCount || 0);
  if (job.variant === 'zerocopy') dc.unsubscribe('zerocopy:file', count);
  const m = measureStart();
  const bytes = await readFiles(job.count);
  const res = measureEnd(m, { bytes, transfers: job.count, fileOps });
  if (bytes !== job.count * size) throw new Error(`read ${bytes} bytes, expected ${job.count} × ${size}`);
  return res;
}

const jobs = { copy: copyJob, read: readJob, socket: socketJob };
(jobs[job.mode] ?? socketJob)().then((res) => {
  process.stdout.write(`${JSON.stringify(res)}\n`);
  process.exit(0);
}, fail);
