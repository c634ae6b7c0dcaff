'use strict';
// `npm run bench [-- options]`: file -> socket, file -> file, many small files,
// small files read by a 'data' consumer, TCP proxy, HTTP static-file and HTTP body (uploads, downloads,
// proxied) benchmarks, Node's streams vs zerocopy vs a bare C syscall loop (`npm run bench -- --help` lists the options).
//
// Every sender runs in its own child process (bench/workloads/sender.js, or a C
// program from bench/c/ built into bench/bin/ here) so its CPU, RSS and loop
// delay are its own; in the proxy workloads the measured process is the proxy
// (bench/workloads/proxy.js or bench/c/splice_proxy.c), between a C client and
// a C sink. Variants run interleaved (A B C, B C A, ...) round after round; the
// tables quote the median and the min-max. One receiver process
// (bench/c/receiver.c, splice to /dev/null) serves every socket variant, one
// echo server (bench/c/echo_server.c) every request/response variant.
// Results: stdout, docs/benchmarks.md, docs/benchmarks.svg, and the raw runs in
// bench/out/results.json.
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { execFileSync } = require('node:child_process');
const { options } = require('./lib/options');
const { startJson, runJson, lineServer } = require('./lib/proc');
const { makeFile } = require('./lib/files');
const { buildC, cbin: bin } = require('./lib/cprogs');
const { writeReport } = require('./render/report');
const { runHttp, stopHttp } = require('./workloads/http');
const { runBodies, stopBodies } = require('./workloads/bodies');

const ALL_WORKLOADS = ['socket', 'copy', 'small', 'decline', 'read', 'proxy', 'pingpong', 'http', 'bodies'];
const opts = options('npm run bench [-- options]: Node streams vs zerocopy vs C, written to docs/benchmarks.md', {
  quick: { type: 'boolean', env: 'BENCH_QUICK', help: 'smoke run: 128 MiB, fewer sizes, 3 rounds, no warm-up round' },
  rounds: { type: 'int', help: 'rounds per workload (7; small-file sweep 5; --quick 3)' },
  'small-rounds': { type: 'int', help: 'rounds of the small-file sweep alone' },
  only: { type: 'list', env: 'BENCH_ONLY', help: `only these workloads (${ALL_WORKLOADS.join(', ')})` },
  merge: { type: 'boolean', help: 're-run the --only workloads and merge them into bench/out/results.json' },
  'http-rounds': { type: 'int', env: 'BENCH_HTTP_ROUNDS', help: 'HTTP rounds (3; --quick 2; else --rounds)' },
  'http-seconds': { type: 'int', env: 'BENCH_HTTP_SECONDS', help: 'measured wrk run, whole seconds (3; --quick 2)' },
  'http-warmup-seconds': { type: 'int', help: 'warm-up wrk run before each (1; 0 = none)' },
  'http-conns': { type: 'list', env: 'BENCH_HTTP_CONNS', help: 'wrk connections (1,16; --quick 16)' },
  'http-sizes': { type: 'list', env: 'BENCH_HTTP_SIZES', help: 'file sizes (4k,64k,1m,64m; --quick 4k,1m,64m)' },
  'http-placement': {
    type: 'list',
    env: 'BENCH_HTTP_PLACEMENT',
    help: 'pinned (server taskset -c 0, wrk taskset -c 1), free (neither pinned) (pinned,free; --quick pinned)',
  },
  'http-chunked': {
    type: 'boolean',
    env: 'BENCH_HTTP_CHUNKED',
    help: 'the node:http variant without Content-Length (on; --quick off)',
  },
  'http-empty': {
    type: 'list',
    env: 'BENCH_HTTP_EMPTY',
    help: 'servers whose GET /empty is measured (node,express,fastify[,nginx,bun])',
  },
  'http-skip': {
    type: 'list',
    env: 'BENCH_HTTP_SKIP',
    help: 'leave out servers: node, node-chunked, express, fastify, nginx, bun',
  },
  bun: { type: 'string', help: 'this Bun binary instead of the npm package @oven/bun-linux-x64' },
  'bodies-parts': { type: 'list', help: 'HTTP bodies parts: uploads, downloads, proxy (all)' },
  'bodies-rounds': { type: 'int', help: 'HTTP bodies rounds (5; --quick 3)' },
  'bodies-seconds': {
    type: 'int',
    help: 'HTTP bodies measured run, whole seconds (3; --quick 2), after a 1 s warm-up run (the download client, a new process per run: 5 s; --quick 2)',
  },
  'bodies-sizes': { type: 'list', help: 'HTTP body sizes (64k,256k,1m,64m; --quick 64k,1m,16m)' },
  'bodies-dir': { type: 'string', help: 'where uploads and downloads write (/dev/shm if tmpfs, else the temp dir)' },
});
// The command as given, for the report.
const given = Object.keys(process.env)
  .filter((k) => k.startsWith('BENCH_'))
  .sort()
  .map((k) => `${k}=${process.env[k]}`);
opts.command = [...given, 'npm run bench', ...(process.argv.length > 2 ? ['--', ...process.argv.slice(2)] : [])].join(
  ' ',
);

const ROOT = path.join(__dirname, '..');
const OUT = path.join(__dirname, 'out');
const KiB = 1024;
const MiB = 1024 * KiB;
const GiB = 1024 * MiB;

const QUICK = !!opts.quick;
const ROUNDS = Math.max(1, Math.min(50, opts.rounds || (QUICK ? 3 : 7)));
// The small-file sweep is the longest part: 5 rounds by default.
const SMALL_ROUNDS = Math.max(1, Math.min(50, opts.smallRounds || opts.rounds || (QUICK ? 3 : 5)));
const WARMUP = !QUICK;
const BIG = QUICK ? 128 * MiB : GiB;
const SMALL_SIZES = QUICK
  ? [4 * KiB, 64 * KiB, MiB]
  : [4 * KiB, 16 * KiB, 64 * KiB, 128 * KiB, 256 * KiB, MiB, 16 * MiB];
const SMALL_CONNS = QUICK ? [1] : [1, 4];
const SMALL_MS = QUICK ? 400 : 600; // time budget of one small-file run
const SMALL_MAX_TRANSFERS = 200000; // and its count bound
// Below the threshold, warmed up: each sender first runs the same loop off the
// clock, so the timed part measures steady-state code, not V8's warm-up.
const DECLINE_WARMUP_MS = QUICK ? 300 : 1000;
const DECLINE_MS = QUICK ? 300 : 600;
// A 'data' consumer reading cached small files one after another (no pipe(), so no kernel
// path: what is measured is where open, read and close run). Each sender first reads
// READ_WARMUP files off the clock; READ_FILES distinct files, cycled.
const READ_SIZE = 4 * KiB;
const READ_COUNT = 10000;
const READ_WARMUP = 1000;
const READ_FILES = 256;
const PROXY_BYTES = BIG; // bulk bytes through the proxy
const PINGPONG_SIZES = [100, 4 * KiB]; // request (= reply) sizes
const PINGPONG_MS = QUICK ? 400 : 1000; // time per variant in one request/response round
const PINGPONG_SLICE_MS = QUICK ? 50 : 100; // taken in turns of this long (A B C A B C ...)
const PINGPONG_MAX = 1000000; // exchanges per connection, at most
const CHILD_TIMEOUT_MS = 120000;
const ONLY = opts.only ?? ALL_WORKLOADS;
for (const w of ONLY) if (!ALL_WORKLOADS.includes(w)) throw new Error(`--only: unknown workload ${w}`);

const config = {
  quick: QUICK,
  rounds: ROUNDS,
  smallRounds: SMALL_ROUNDS,
  warmup: WARMUP,
  big: BIG,
  smallSizes: SMALL_SIZES,
  smallConns: SMALL_CONNS,
  smallMs: SMALL_MS,
  proxyBytes: PROXY_BYTES,
  pingpongSizes: PINGPONG_SIZES,
  pingpongMs: PINGPONG_MS,
  pingpongSliceMs: PINGPONG_SLICE_MS,
  declineMs: DECLINE_MS,
  declineWarmupMs: DECLINE_WARMUP_MS,
  readSize: READ_SIZE,
  readCount: READ_COUNT,
  readWarmup: READ_WARMUP,
  readFiles: READ_FILES,
  workloads: ONLY,
  allWorkloads: ALL_WORKLOADS,
};

const log = (...a) => process.stderr.write(`${a.join(' ')}\n`);

const smallFileCount = (size) => Math.max(4, Math.min(64, Math.floor((256 * MiB) / size)));

// A long-lived C server (bench/c/receiver.c, or bench/c/echo_server.c which
// prints the same lines) shared by every variant of a workload.
function receiver(name) {
  const lines = [];
  const srv = lineServer(bin(name), [], (line) => {
    const c = /^CONN (\d+) (\d+) (\d+) (\d+)$/.exec(line);
    if (c)
      lines.push({ bytes: Number(c[1]), transfers: Number(c[2]), wall: Number(c[3]) / 1e6, cpu: Number(c[4]) / 1e6 });
  });
  /** Waits (bounded) for `n` connection reports after index `from`. */
  srv.take = async (from, n) => {
    for (let i = 0; i < 300 && lines.length < from + n; i++) await new Promise((r) => setTimeout(r, 10));
    return lines.slice(from, from + n);
  };
  srv.lines = lines;
  return srv;
}

function childEnv(variant) {
  const env = { ...process.env };
  delete env.ZEROCOPY_DISABLE;
  delete env.ZEROCOPY_MIN_BYTES;
  delete env.ZEROCOPY_IN_LOOP;
  delete env.NODE_DEBUG;
  if (variant.minBytes !== undefined) env.ZEROCOPY_MIN_BYTES = String(variant.minBytes);
  if (variant.disable) env.ZEROCOPY_DISABLE = '1';
  if (variant.inLoop === false) env.ZEROCOPY_IN_LOOP = '0';
  return env;
}
const run = (variant, cmd, args) =>
  runJson(cmd, args, { env: childEnv(variant), cwd: ROOT, timeout: CHILD_TIMEOUT_MS });
const SENDER = path.join(__dirname, 'workloads', 'sender.js');
const sender = (variant, job) =>
  run(variant, process.execPath, [
    SENDER,
    JSON.stringify({ ...job, variant: variant.impl, timeoutMs: CHILD_TIMEOUT_MS - 5000 }),
  ]);

async function runSocket(recv, variant, files, conns, maxTransfers, durationMs, warmupMs = 0) {
  const port = await recv.port;
  const mark = recv.lines.length;
  const res =
    variant.kind === 'c'
      ? await run(variant, bin('sendfile_client'), [port, conns, durationMs, maxTransfers, ...files].map(String))
      : await sender(variant, { mode: 'socket', port, files, conns, maxTransfers, durationMs, warmupMs });
  const conn = await recv.take(mark, conns);
  const recvBytes = conn.reduce((s, c) => s + c.bytes, 0);
  const sent = res.bytes + (res.warmupBytes || 0);
  if (conn.length !== conns || recvBytes !== sent) {
    throw new Error(
      `${variant.name}: receiver got ${recvBytes} bytes on ${conn.length} connections, sender says ${sent}`,
    );
  }
  // Cores' worth of CPU the receiver's threads used during the run (1 = one core flat out).
  // Well under 1 per connection means it sat waiting for bytes, i.e. it kept up.
  res.recvBusy = conn.reduce((s, c) => s + c.cpu, 0) / Math.max(...conn.map((c) => c.wall));
  return res;
}

async function runCopy(variant, src, dst, warmSrc) {
  fs.rmSync(dst, { force: true });
  try {
    return variant.kind === 'c'
      ? await run(variant, bin('cfr_copy'), [src, dst])
      : await sender(variant, { mode: 'copy', src, dst, warmSrc });
  } finally {
    // Unlinking drops the copy's dirty pages, so no writeback spills into the next run.
    fs.rmSync(dst, { force: true });
  }
}

// One proxy process (it serves one connection, then prints its JSON line and
// exits): `port` once it listens, `result` when it is done.
const PROXY = path.join(__dirname, 'workloads', 'proxy.js');
const C_PROXY_PIPE = 256 * KiB; // the C proxy's pipes, F_SETPIPE_SZ: the library's PIPE_SIZE
function startProxy(variant, upstreamPort, loopDelay = true) {
  const o = { env: childEnv(variant), cwd: ROOT, timeout: CHILD_TIMEOUT_MS, label: `proxy ${variant.key}` };
  if (variant.kind === 'c') return startJson(bin('splice_proxy'), [String(upstreamPort), String(C_PROXY_PIPE)], o);
  const job = JSON.stringify({ variant: variant.impl, upstreamPort, loopDelay, timeoutMs: CHILD_TIMEOUT_MS - 5000 });
  // The user's line: `node --require zerocopy/register app.js` (resolved from
  // the package root, as an app depending on zerocopy would).
  const pre = variant.impl === 'register' ? ['--require', 'zerocopy/register'] : [];
  return startJson(process.execPath, [...pre, PROXY, job], o);
}

// The proxy's own measures, and checks that its sockets counted the bytes the
// two ends saw (the fast path must keep bytesRead/bytesWritten true).
function proxyPart(variant, px, up, down) {
  if (!px) return { user: NaN, sys: NaN, maxRssKiB: NaN };
  const want = { bytesUp: up, bytesDown: down };
  if (variant.kind !== 'c') Object.assign(want, { bytesUpWritten: up, bytesDownWritten: down });
  const bad = Object.entries(want).filter(([k, v]) => px[k] !== v);
  if (bad.length)
    throw new Error(
      `${variant.name}: proxy counted ${bad.map(([k, v]) => `${k} ${px[k]} (expected ${v})`).join(', ')}`,
    );
  const { user, sys, maxRssKiB, wall: proxyWall, loopP50, loopP99, loopMax, paths, reasons, errors: proxyErrors } = px;
  return { user, sys, maxRssKiB, proxyWall, loopP50, loopP99, loopMax, paths, reasons, proxyErrors };
}

// Bulk: the C sendfile client sends one page-cached file through the proxy
// to the receiver (8-byte header, PROXY_BYTES, 1 ack byte back).
async function runProxyBulk(recv, variant, file) {
  const sinkPort = await recv.port;
  const mark = recv.lines.length;
  const proxy = variant.kind === 'direct' ? null : startProxy(variant, sinkPort);
  let client;
  let px;
  try {
    const port = proxy ? await proxy.port : sinkPort;
    client = await run(variant, bin('sendfile_client'), [port, 1, CHILD_TIMEOUT_MS, 1, file].map(String));
    px = proxy ? await proxy.result : null;
  } finally {
    proxy?.kill(); // only if still running, i.e. something failed
  }
  const [conn] = await recv.take(mark, 1);
  if (conn?.bytes !== client.bytes)
    throw new Error(`${variant.name}: receiver got ${conn?.bytes} bytes, client says ${client.bytes}`);
  return {
    bytes: client.bytes,
    transfers: 1,
    wall: client.wall,
    clientBusy: (client.user + client.sys) / client.wall,
    recvBusy: conn.cpu / conn.wall,
    ...proxyPart(variant, px, client.bytes + 8, 1),
  };
}

// Request/response: one round of the C ping-pong client against every variant
// at once — one proxy process per variant (the "direct" variant connects to
// the echo server itself), one connection each, taken in turns of
// PINGPONG_SLICE_MS for PINGPONG_MS per variant in all. Interleaving slice by
// slice rather than run by run: on a shared machine the noise changes within
// seconds, and latency percentiles are what it hits hardest. The idle proxies
// wait in epoll (no loop-delay timer), so their CPU is their exchanges'.
async function runPingPongRound(echo, variants, size) {
  const echoPort = await echo.port;
  const mark = echo.lines.length;
  const proxies = variants.map((v) => (v.kind === 'direct' ? null : startProxy(v, echoPort, false)));
  try {
    const ports = await Promise.all(proxies.map((p) => (p ? p.port : echoPort)));
    const client = await run(
      {},
      bin('pingpong'),
      [size, PINGPONG_SLICE_MS, PINGPONG_MS * variants.length, PINGPONG_MAX, ...ports].map(String),
    );
    const pxs = await Promise.all(proxies.map((p) => (p ? p.result : null)));
    // The echo server reports connections in the order they close: match them to the client's by byte count.
    const pool = await echo.take(mark, variants.length);
    return variants.map((v, i) => {
      const c = client.conns[i];
      const j = pool.findIndex((l) => l.bytes === c.bytes);
      if (j < 0) throw new Error(`${v.name}: no echo connection with the ${c.bytes} bytes the client exchanged`);
      const [conn] = pool.splice(j, 1);
      return {
        bytes: c.bytes,
        transfers: c.transfers,
        wall: c.wall,
        latP50: c.latP50,
        latP99: c.latP99,
        latP999: c.latP999,
        latMax: c.latMax,
        clientBusy: c.cpu / c.wall,
        recvBusy: conn.cpu / c.wall,
        ...proxyPart(v, pxs[i], c.bytes, c.bytes),
      };
    });
  } finally {
    for (const p of proxies) p?.kill();
  }
}

// A failed run is retried once (and counted in the report); a second failure stops the bench.
const failures = [];
async function attempt(label, fn) {
  try {
    return await fn();
  } catch (err) {
    failures.push(`${label}: ${String(err.message).split('\n')[0]}`);
    log(`run failed, retrying once: ${label}\n${err.message}`);
    return fn();
  }
}

// ---------------------------------------------------------------- variants

const v = (key, name, kind, more = {}) => ({ key, name, kind, impl: kind === 'node' ? key : undefined, ...more });
const NODE = v('node', 'Node fs.createReadStream', 'node', { baseline: true });
const ZC = v('zerocopy', 'zerocopy createReadStream', 'node');
const ZC_FORCED = v('zerocopy-forced', 'zerocopy, ZEROCOPY_MIN_BYTES=0', 'node', { impl: 'zerocopy', minBytes: 0 });
const ZC_DISABLED = v('zerocopy-disabled', 'zerocopy, ZEROCOPY_DISABLE=1', 'node', { impl: 'zerocopy', disable: true });
const ZC_POOL = v('zerocopy-pool', 'zerocopy, ZEROCOPY_IN_LOOP=0', 'node', { impl: 'zerocopy', inLoop: false });
const C_SENDFILE = v('c', 'C sendfile loop (ceiling)', 'c', { ceiling: true });
const COPY_VARIANTS = [
  v('node', 'Node stream.pipeline(fs streams)', 'node', { baseline: true }),
  v('zerocopy', 'zerocopy pipeline', 'node'),
  v('copyFile', 'fs.copyFile', 'node'),
  v('c', 'C copy_file_range loop (ceiling)', 'c', { ceiling: true }),
];
// The proxy variants (the measured process is the proxy).
const PROXY_VARIANTS = [
  v('node', 'Node stream.pipeline, both ways', 'node', { baseline: true }),
  v('zerocopy', 'zerocopy pipeline, both ways', 'node'),
  v('register', 'a.pipe(b) both ways, --require zerocopy/register', 'node'),
  v('c', 'C splice proxy (ceiling)', 'c', { ceiling: true }),
  v('direct', 'no proxy (client → sink directly)', 'direct'),
];

// Variant order rotates each round (A B C, B C A, C A B) so no variant always follows the same neighbour.
const rotated = (list, round) => list.slice(round % list.length).concat(list.slice(0, round % list.length));

// ---------------------------------------------------------------- main

async function main() {
  const started = Date.now();
  log(`zerocopy bench: ${QUICK ? 'QUICK, ' : ''}${ROUNDS} rounds, big file ${BIG / MiB} MiB`);
  if (opts.merge) lastResults();
  buildC(); // every run: a stale binary must not measure old code
  const dist = path.join(ROOT, 'dist', 'index.js');
  if (!fs.existsSync(dist)) throw new Error('dist/ is missing: run `npm run build:ts` (npm run bench does)');

  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'zerocopy-bench-'));
  const recv = receiver('receiver');
  const echo = receiver('echo_server');
  const cleanup = () => {
    recv.stop();
    echo.stop();
    stopHttp();
    stopBodies();
    fs.rmSync(tmp, { recursive: true, force: true });
  };
  process.once('SIGINT', () => {
    cleanup();
    process.exit(130);
  });
  process.once('SIGTERM', () => {
    cleanup();
    process.exit(143);
  });

  const runs = [];
  const { MIN_FAST_PATH_BYTES, MIN_HTTP_BODY_BYTES, MIN_SPLICED_BODY_BYTES } = require(dist);
  config.fastPathMin = MIN_FAST_PATH_BYTES;
  config.httpBodyMin = MIN_HTTP_BODY_BYTES;
  config.splicedBodyMin = MIN_SPLICED_BODY_BYTES;
  // One measured workload: `rounds` rounds (from -1, a discarded warm-up round, if `warm`), the variants rotated.
  const measure = async (workload, rounds, warm, variants, extra, once) => {
    for (let round = warm && WARMUP ? -1 : 0; ONLY.includes(workload) && round < rounds; round++) {
      for (const vr of rotated(variants, warm ? round + 1 : round)) {
        const res = await attempt(`${workload} ${vr.key} r${round}`, () => once(vr));
        if (round >= 0) runs.push({ workload, variant: vr.key, name: vr.name, ...extra, round, ...res });
        if (warm)
          log(
            `${workload} r${round} ${vr.key}: ${(res.bytes / res.wall / GiB).toFixed(2)} GiB/s, cpu ${(res.user + res.sys).toFixed(3)} s`,
          );
      }
    }
  };
  try {
    log(`making files under ${tmp} ...`);
    const big = path.join(tmp, 'big.bin');
    if (ONLY.some((w) => ['socket', 'copy', 'proxy'].includes(w))) makeFile(big, BIG);
    const smallSets = {};
    for (const size of ONLY.includes('small') || ONLY.includes('decline') ? SMALL_SIZES : []) {
      const dir = path.join(tmp, `small-${size}`);
      fs.mkdirSync(dir);
      smallSets[size] = Array.from({ length: smallFileCount(size) }, (_, i) => path.join(dir, `f${i}`));
      for (const f of smallSets[size]) makeFile(f, size);
    }
    const readSet = [];
    if (ONLY.includes('read')) {
      fs.mkdirSync(path.join(tmp, 'read'));
      for (let i = 0; i < READ_FILES; i++) readSet.push(path.join(tmp, 'read', `f${i}`));
      for (const f of readSet) makeFile(f, READ_SIZE);
    }
    await recv.port;
    await echo.port;

    // 1. file -> socket, one big page-cached file, one connection.
    await measure('socket', ROUNDS, true, [NODE, ZC, C_SENDFILE], { size: BIG, conns: 1 }, (vr) =>
      runSocket(recv, vr, [big], 1, 1, CHILD_TIMEOUT_MS),
    );
    // 2. file -> file copy.
    const dst = path.join(tmp, 'copy.bin');
    const warmSrc = path.join(tmp, 'warm-copy.bin');
    if (ONLY.includes('copy')) makeFile(warmSrc, MiB);
    await measure('copy', ROUNDS, true, COPY_VARIANTS, { size: BIG, conns: 1 }, (vr) => runCopy(vr, big, dst, warmSrc));
    // 3. many small files, one after another on each connection. At and above the library's
    // threshold the default already takes the fast path; below it, ZEROCOPY_MIN_BYTES=0 measures it.
    for (let round = 0; ONLY.includes('small') && round < SMALL_ROUNDS; round++) {
      for (const conns of SMALL_CONNS) {
        for (const size of SMALL_SIZES) {
          const vs = size < MIN_FAST_PATH_BYTES ? [NODE, ZC, ZC_FORCED, C_SENDFILE] : [NODE, ZC, C_SENDFILE];
          for (const vr of rotated(vs, round)) {
            const res = await attempt(`small ${size} x${conns} ${vr.key} r${round}`, () =>
              runSocket(recv, vr, smallSets[size], conns, SMALL_MAX_TRANSFERS, SMALL_MS),
            );
            runs.push({ workload: 'small', variant: vr.key, name: vr.name, size, conns, round, ...res });
          }
        }
        log(`small files, ${conns} connection(s), round ${round + 1}/${SMALL_ROUNDS} done`);
      }
    }
    // 4. Below the threshold, warmed up: does declining cost anything? Node vs zerocopy as shipped
    // vs zerocopy with ZEROCOPY_DISABLE=1 (the decision skipped: what is left is the stream class itself).
    for (let round = 0; ONLY.includes('decline') && round < ROUNDS; round++) {
      for (const size of SMALL_SIZES.filter((x) => x < MIN_FAST_PATH_BYTES)) {
        for (const vr of rotated([NODE, ZC, ZC_DISABLED], round)) {
          const res = await attempt(`decline ${size} ${vr.key} r${round}`, () =>
            runSocket(recv, vr, smallSets[size], 1, SMALL_MAX_TRANSFERS, DECLINE_MS, DECLINE_WARMUP_MS),
          );
          runs.push({ workload: 'decline', variant: vr.key, name: vr.name, size, conns: 1, round, ...res });
        }
      }
      log(`below the threshold (warmed up), round ${round + 1}/${ROUNDS} done`);
    }
    // 5. A 'data' consumer reading cached 4 KiB files one after another: Node vs zerocopy as
    // shipped (open, read and close in the loop) vs zerocopy with ZEROCOPY_IN_LOOP=0 (all on the threadpool).
    for (let round = 0; ONLY.includes('read') && round < ROUNDS; round++) {
      const line = [];
      for (const vr of rotated([NODE, ZC, ZC_POOL], round)) {
        const job = { mode: 'read', files: readSet, count: READ_COUNT, warmupCount: READ_WARMUP };
        const res = await attempt(`read ${vr.key} r${round}`, () => sender(vr, job));
        runs.push({ workload: 'read', variant: vr.key, name: vr.name, size: READ_SIZE, conns: 1, round, ...res });
        line.push(`${vr.key} ${(res.transfers / res.wall).toFixed(0)} files/s`);
      }
      log(`read r${round}: ${line.join(', ')}`);
    }
    // 6. TCP proxy, bulk: client -> proxy -> receiver, one connection.
    await measure('proxy', ROUNDS, true, PROXY_VARIANTS, { size: PROXY_BYTES, conns: 1 }, (vr) =>
      runProxyBulk(recv, vr, big),
    );
    // 7. TCP proxy, request/response: ping-pong through one proxied connection per variant, all
    // variants in one round, slice by slice.
    for (let round = 0; ONLY.includes('pingpong') && round < ROUNDS; round++) {
      for (const size of PINGPONG_SIZES) {
        const vs = rotated(PROXY_VARIANTS, round);
        const res = await attempt(`pingpong ${size} r${round}`, () => runPingPongRound(echo, vs, size));
        for (const [i, vr] of vs.entries()) {
          runs.push({ workload: 'pingpong', variant: vr.key, name: vr.name, size, conns: 1, round, ...res[i] });
        }
        log(
          `request/response ${size} B r${round}: ${vs.map((vr, i) => `${vr.key} p50 ${(res[i].latP50 * 1e6).toFixed(0)} µs`).join(', ')}`,
        );
      }
    }
    // 8. HTTP static files: node:http, express, fastify (stock and under the register hook) with
    // nginx and Bun as anchors, load from wrk (bench/workloads/http.js).
    if (ONLY.includes('http')) {
      config.http = await runHttp({
        opts,
        log,
        makeFile,
        failures,
        push: (r) => runs.push({ workload: 'http', ...r }),
      });
    }
    // 9. HTTP bodies: uploads, downloads and http-proxy, stock vs the register hook, with nginx and
    // HAProxy as the proxy's anchors (bench/workloads/bodies.js).
    if (ONLY.includes('bodies')) {
      config.bodies = await runBodies({
        opts,
        log,
        makeFile,
        failures,
        push: (r) => runs.push({ workload: 'bodies', ...r }),
      });
    }
  } finally {
    cleanup();
  }

  const facts = machineFacts();
  facts.seconds = Math.round((Date.now() - started) / 1000);
  let results = { config, facts, runs, failures };
  if (opts.merge) results = merged(results);
  fs.mkdirSync(OUT, { recursive: true });
  fs.writeFileSync(path.join(OUT, 'results.json'), JSON.stringify(results, null, 1));
  fs.mkdirSync(path.join(ROOT, 'docs'), { recursive: true });
  process.stdout.write(await writeReport(results, ROOT));
  log(`\nwrote docs/benchmarks.md, docs/benchmarks.svg, bench/out/results.json (${facts.seconds} s)`);
}

// --merge: the last full results, checked before anything runs (a run of
// many minutes must not be lost to a mismatch found at its end).
function lastResults() {
  const file = path.join(OUT, 'results.json');
  if (!fs.existsSync(file)) throw new Error(`--merge: no ${path.relative(ROOT, file)} to merge into`);
  const old = JSON.parse(fs.readFileSync(file, 'utf8'));
  if (old.config.quick !== QUICK) throw new Error('--merge: the last results were a different mode (--quick)');
  return old;
}

// --merge: the last full results, with the workloads just run replaced.
function merged(fresh) {
  const old = lastResults();
  const { date, seconds, commit, srcDirty } = fresh.facts;
  return {
    config: { ...old.config, ...fresh.config, workloads: old.config.workloads },
    facts: {
      ...old.facts,
      reruns: [...(old.facts.reruns || []), { date, workloads: ONLY, seconds, commit, srcDirty }],
    },
    runs: old.runs.filter((r) => !ONLY.includes(r.workload)).concat(fresh.runs),
    failures: (old.failures || []).concat(fresh.failures),
  };
}

function sh(cmd, args) {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8' }).trim();
  } catch {
    return '?';
  }
}

function machineFacts() {
  return {
    date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    nproc: sh('nproc', []),
    kernel: sh('uname', ['-r']),
    node: process.version,
    cpu: (fs.readFileSync('/proc/cpuinfo', 'utf8').match(/model name\s*:\s*(.*)/) || [])[1] || '?',
    memGiB: Math.round(os.totalmem() / GiB),
    tmpdir: os.tmpdir(),
    tmpFs: sh('findmnt', ['-n', '-o', 'FSTYPE', '-T', os.tmpdir()]),
    cc: sh('cc', ['--version']).split('\n')[0],
    // The library measured: the commit, and whether src/ differed from it (npm run bench builds dist/ from the working tree).
    commit: sh('git', ['-C', ROOT, 'rev-parse', '--short', 'HEAD']),
    srcDirty: sh('git', ['-C', ROOT, 'status', '--porcelain', '--', 'src', 'native']) !== '',
  };
}

main().catch((err) => {
  process.stderr.write(`bench failed: ${err.stack || err}\n`);
  process.exit(1);
});
