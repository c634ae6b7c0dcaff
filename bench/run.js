'use strict';
// `npm run bench`: file -> socket, file -> file, many-small-files and TCP
// proxy benchmarks, Node's streams vs zerocopy vs a bare C syscall loop.
//
//   BENCH_QUICK=1   ~1 minute smoke run (128 MiB, fewer sizes, 3 rounds)
//   BENCH_ROUNDS=N  rounds per workload (default 7, small-file sweep 5; quick 3)
//   BENCH_SMALL_ROUNDS=N  rounds of the small-file sweep alone
//   BENCH_ONLY=a,b  run only these workloads (socket, copy, small, decline, proxy, pingpong,
//                   http); the report then covers only them
//   BENCH_HTTP_*    the HTTP static-file workload's own settings (rounds, seconds,
//                   connections, sizes, ...): see bench/http.js
//   BENCH_MERGE=1   with BENCH_ONLY: re-run just those workloads (say, after a
//                   noisy spell) and merge them into bench/out/results.json,
//                   replacing their old runs; the report says which were re-run
//
// Every sender runs in its own child process (bench/sender.js, or a C program
// from bench/c/ built into bench/bin/ here) so its CPU, RSS and loop delay are
// its own; in the proxy workloads the measured process is the proxy
// (bench/proxy.js or bench/c/splice_proxy.c), between a C client and a C sink.
// Variants run interleaved (A B C, B C A, ...) round after round; the
// tables quote the median and the min-max. One receiver process
// (bench/c/receiver.c, splice to /dev/null) serves every socket variant, one
// echo server (bench/c/echo_server.c) every request/response variant.
// Results: stdout, docs/benchmarks.md, docs/benchmarks.svg, and the raw runs in
// bench/out/results.json.
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawn, execFileSync } = require('node:child_process');
const { renderMarkdown, renderSvg } = require('./report');
const { runHttp, stopHttp } = require('./http');

const ROOT = path.join(__dirname, '..');
const BIN = path.join(__dirname, 'bin');
const OUT = path.join(__dirname, 'out');
const KiB = 1024;
const MiB = 1024 * KiB;
const GiB = 1024 * MiB;

const QUICK = process.env.BENCH_QUICK === '1';
const ROUNDS = Math.max(1, Math.min(50, Number(process.env.BENCH_ROUNDS) || (QUICK ? 3 : 7)));
// The small-file sweep is the longest part: 5 rounds by default (it had 7
// before the proxy and decline workloads came), BENCH_SMALL_ROUNDS=N to change.
const SMALL_ROUNDS = Math.max(1, Math.min(50, Number(process.env.BENCH_SMALL_ROUNDS) || Number(process.env.BENCH_ROUNDS) || (QUICK ? 3 : 5)));
const WARMUP = !QUICK;
const BIG = QUICK ? 128 * MiB : GiB;
const SMALL_SIZES = QUICK ? [4 * KiB, 64 * KiB, MiB] : [4 * KiB, 16 * KiB, 64 * KiB, 128 * KiB, 256 * KiB, MiB, 16 * MiB];
const SMALL_CONNS = QUICK ? [1] : [1, 4];
const SMALL_MS = QUICK ? 400 : 600;          // time budget of one small-file run
const SMALL_MAX_TRANSFERS = 200000;          // and its count bound
// Below the threshold, warmed up: each sender first runs the same loop off the
// clock, so the timed part measures steady-state code, not V8's warm-up.
const DECLINE_WARMUP_MS = QUICK ? 300 : 1000;
const DECLINE_MS = QUICK ? 300 : 600;
const PROXY_BYTES = BIG;                     // bulk bytes through the proxy
const PINGPONG_SIZES = [100, 4 * KiB];       // request (= reply) sizes
const PINGPONG_MS = QUICK ? 400 : 1000;      // time per variant in one request/response round
const PINGPONG_SLICE_MS = QUICK ? 50 : 100;  // taken in turns of this long (A B C A B C ...)
const PINGPONG_MAX = 1000000;                // exchanges per connection, at most
const CHILD_TIMEOUT_MS = 120000;
const ALL_WORKLOADS = ['socket', 'copy', 'small', 'decline', 'proxy', 'pingpong', 'http'];
const ONLY = process.env.BENCH_ONLY ? process.env.BENCH_ONLY.split(',').map((x) => x.trim()) : ALL_WORKLOADS;
for (const w of ONLY) if (!ALL_WORKLOADS.includes(w)) throw new Error(`BENCH_ONLY: unknown workload ${w}`);

const MERGE = process.env.BENCH_MERGE === '1';

const config = { quick: QUICK, rounds: ROUNDS, smallRounds: SMALL_ROUNDS, warmup: WARMUP, big: BIG, smallSizes: SMALL_SIZES,
  smallConns: SMALL_CONNS, smallMs: SMALL_MS, proxyBytes: PROXY_BYTES, pingpongSizes: PINGPONG_SIZES,
  pingpongMs: PINGPONG_MS, pingpongSliceMs: PINGPONG_SLICE_MS, declineMs: DECLINE_MS, declineWarmupMs: DECLINE_WARMUP_MS,
  workloads: ONLY, allWorkloads: ALL_WORKLOADS };

function log(...a) { process.stderr.write(`${a.join(' ')}\n`); }

// ---------------------------------------------------------------- setup

function buildC() {
  fs.mkdirSync(BIN, { recursive: true });
  for (const name of ['receiver', 'sendfile_client', 'cfr_copy', 'splice_proxy', 'echo_server', 'pingpong']) {
    execFileSync('cc', ['-O2', '-Wall', '-pthread', '-o', path.join(BIN, name), path.join(__dirname, 'c', `${name}.c`)],
      { stdio: 'inherit' });
  }
}

const { makeFile } = require('./files');

function smallFileCount(size) {
  return Math.max(4, Math.min(64, Math.floor(256 * MiB / size)));
}

// ---------------------------------------------------------------- receiver

// A long-lived C server (bench/c/receiver.c, or bench/c/echo_server.c which
// prints the same lines) shared by every variant of a workload.
class Receiver {
  constructor(name = 'receiver') {
    this.lines = [];
    this.child = spawn(path.join(BIN, name), [], { stdio: ['ignore', 'pipe', 'inherit'] });
    this.port = new Promise((resolve, reject) => {
      let buf = '';
      this.child.stdout.on('data', (d) => {
        buf += d;
        let i;
        while ((i = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, i);
          buf = buf.slice(i + 1);
          const m = /^PORT (\d+)$/.exec(line);
          if (m) resolve(Number(m[1]));
          const c = /^CONN (\d+) (\d+) (\d+) (\d+)$/.exec(line);
          if (c) this.lines.push({ bytes: Number(c[1]), transfers: Number(c[2]), wall: Number(c[3]) / 1e6, cpu: Number(c[4]) / 1e6 });
        }
      });
      this.child.once('exit', (code) => reject(new Error(`${name} exited (${code})`)));
    });
  }

  /** Waits (bounded) for `n` connection reports after index `from`. */
  async take(from, n) {
    for (let i = 0; i < 300 && this.lines.length < from + n; i++) await new Promise((r) => setTimeout(r, 10));
    return this.lines.slice(from, from + n);
  }

  stop() {
    if (this.child.exitCode === null) this.child.kill('SIGTERM');
  }
}

// ---------------------------------------------------------------- one run

function runChild(cmd, args, env, cwd = ROOT) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env, cwd, stdio: ['ignore', 'pipe', 'pipe'], timeout: CHILD_TIMEOUT_MS });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { err += d; });
    child.once('error', reject);
    child.once('close', (code, signal) => {
      const line = out.trim().split('\n').pop();
      try {
        const res = JSON.parse(line);
        if (code !== 0 || !res.ok) throw new Error('failed');
        resolve(res);
      } catch {
        reject(new Error(`${path.basename(cmd)} ${args.join(' ').slice(0, 200)}: exit ${code ?? signal}\n${err}${out}`));
      }
    });
  });
}

function childEnv(variant) {
  const env = { ...process.env };
  delete env.ZEROCOPY_DISABLE;
  delete env.ZEROCOPY_MIN_BYTES;
  delete env.NODE_DEBUG;
  if (variant.minBytes !== undefined) env.ZEROCOPY_MIN_BYTES = String(variant.minBytes);
  if (variant.disable) env.ZEROCOPY_DISABLE = '1';
  return env;
}

const SENDER = path.join(__dirname, 'sender.js');

async function runSocket(receiver, variant, files, conns, maxTransfers, durationMs, warmupMs = 0) {
  const port = await receiver.port;
  const mark = receiver.lines.length;
  let res;
  if (variant.kind === 'c') {
    res = await runChild(path.join(BIN, 'sendfile_client'),
      [String(port), String(conns), String(durationMs), String(maxTransfers), ...files], childEnv(variant));
  } else {
    const job = { mode: 'socket', variant: variant.impl, port, files, conns, maxTransfers, durationMs, warmupMs, timeoutMs: CHILD_TIMEOUT_MS - 5000 };
    res = await runChild(process.execPath, [SENDER, JSON.stringify(job)], childEnv(variant));
  }
  const conn = await receiver.take(mark, conns);
  const recvBytes = conn.reduce((s, c) => s + c.bytes, 0);
  const sent = res.bytes + (res.warmupBytes || 0);
  if (conn.length !== conns || recvBytes !== sent) {
    throw new Error(`${variant.name}: receiver got ${recvBytes} bytes on ${conn.length} connections, sender says ${sent}`);
  }
  // Cores' worth of CPU the receiver's threads used during the run (1 = one
  // core flat out). Well under 1 per connection means it sat waiting for
  // bytes, i.e. it kept up.
  res.recvBusy = conn.reduce((s, c) => s + c.cpu, 0) / Math.max(...conn.map((c) => c.wall));
  return res;
}

async function runCopy(variant, src, dst) {
  fs.rmSync(dst, { force: true });
  try {
    if (variant.kind === 'c') return await runChild(path.join(BIN, 'cfr_copy'), [src, dst], childEnv(variant));
    const job = { mode: 'copy', variant: variant.impl, src, dst, timeoutMs: CHILD_TIMEOUT_MS - 5000 };
    return await runChild(process.execPath, [SENDER, JSON.stringify(job)], childEnv(variant));
  } finally {
    // Unlinking drops the copy's dirty pages, so no writeback spills into the next run.
    fs.rmSync(dst, { force: true });
  }
}

// ---------------------------------------------------------------- proxy runs

// Starts one proxy process (it serves one connection, then prints its JSON
// line and exits). Resolves `port` once it listens; `result` when it is done.
const PROXY = path.join(__dirname, 'proxy.js');
function startProxy(variant, upstreamPort, loopDelay = true) {
  let cmd;
  let args;
  if (variant.kind === 'c') {
    cmd = path.join(BIN, 'splice_proxy');
    args = [String(upstreamPort), String(C_PROXY_PIPE)];
  } else {
    const job = JSON.stringify({ variant: variant.impl, upstreamPort, loopDelay, timeoutMs: CHILD_TIMEOUT_MS - 5000 });
    cmd = process.execPath;
    // The user's line: `node --require zerocopy/register app.js` (resolved
    // from the package root, as an app depending on zerocopy would).
    args = variant.impl === 'register' ? ['--require', 'zerocopy/register', PROXY, job] : [PROXY, job];
  }
  const child = spawn(cmd, args, { env: childEnv(variant), cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], timeout: CHILD_TIMEOUT_MS });
  let out = '';
  let err = '';
  let gotPort;
  const port = new Promise((resolve) => { gotPort = resolve; });
  child.stdout.on('data', (d) => {
    out += d;
    const m = /^PORT (\d+)$/m.exec(out);
    if (m) gotPort(Number(m[1]));
  });
  child.stderr.on('data', (d) => { err += d; });
  const result = new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code, signal) => {
      const line = out.trim().split('\n').pop();
      try {
        const res = JSON.parse(line);
        if (code !== 0 || !res.ok) throw new Error('failed');
        resolve(res);
      } catch {
        reject(new Error(`proxy ${variant.key}: exit ${code ?? signal}\n${err}${out}`));
      }
    });
  });
  result.catch(() => {});  // awaited later; a crash also ends the port wait
  return {
    port: Promise.race([port, result.then(() => { throw new Error('proxy exited before listening'); })]),
    result,
    kill: () => { if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL'); },
  };
}

// The proxy's own measures, and checks that its sockets counted the bytes the
// two ends saw (the fast path must keep bytesRead/bytesWritten true).
function proxyPart(variant, px, up, down) {
  if (!px) return { user: NaN, sys: NaN, maxRssKiB: NaN };
  const want = { bytesUp: up, bytesDown: down };
  if (variant.kind !== 'c') Object.assign(want, { bytesUpWritten: up, bytesDownWritten: down });
  const bad = Object.entries(want).filter(([k, v]) => px[k] !== v);
  if (bad.length) throw new Error(`${variant.name}: proxy counted ${bad.map(([k, v]) => `${k} ${px[k]} (expected ${v})`).join(', ')}`);
  return {
    user: px.user, sys: px.sys, maxRssKiB: px.maxRssKiB, proxyWall: px.wall,
    loopP50: px.loopP50, loopP99: px.loopP99, loopMax: px.loopMax,
    paths: px.paths, reasons: px.reasons, proxyErrors: px.errors,
  };
}

// Bulk: the C sendfile client sends one page-cached file through the proxy
// to the receiver (8-byte header, PROXY_BYTES, 1 ack byte back).
async function runProxyBulk(receiver, variant, file) {
  const sinkPort = await receiver.port;
  const mark = receiver.lines.length;
  const proxy = variant.kind === 'direct' ? null : startProxy(variant, sinkPort);
  let client;
  let px;
  try {
    const port = proxy ? await proxy.port : sinkPort;
    client = await runChild(path.join(BIN, 'sendfile_client'), [String(port), '1', String(CHILD_TIMEOUT_MS), '1', file], childEnv(variant));
    px = proxy ? await proxy.result : null;
  } finally {
    if (proxy) proxy.kill();  // only if still running, i.e. something failed
  }
  const [conn] = await receiver.take(mark, 1);
  if (!conn || conn.bytes !== client.bytes) {
    throw new Error(`${variant.name}: receiver got ${conn && conn.bytes} bytes, client says ${client.bytes}`);
  }
  return {
    bytes: client.bytes, transfers: 1, wall: client.wall,
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
    const client = await runChild(path.join(BIN, 'pingpong'), [String(size), String(PINGPONG_SLICE_MS),
      String(PINGPONG_MS * variants.length), String(PINGPONG_MAX), ...ports.map(String)], childEnv({}));
    const pxs = await Promise.all(proxies.map((p) => (p ? p.result : null)));
    // The echo server reports connections in the order they close: match
    // them to the client's by byte count.
    const lines = await echo.take(mark, variants.length);
    const pool = lines.slice();
    return variants.map((v, i) => {
      const c = client.conns[i];
      const j = pool.findIndex((l) => l.bytes === c.bytes);
      if (j < 0) throw new Error(`${v.name}: no echo connection with the ${c.bytes} bytes the client exchanged`);
      const [conn] = pool.splice(j, 1);
      return {
        bytes: c.bytes, transfers: c.transfers, wall: c.wall,
        latP50: c.latP50, latP99: c.latP99, latP999: c.latP999, latMax: c.latMax,
        clientBusy: c.cpu / c.wall,
        recvBusy: conn.cpu / c.wall,
        ...proxyPart(v, pxs[i], c.bytes, c.bytes),
      };
    });
  } finally {
    for (const p of proxies) if (p) p.kill();
  }
}

// A failed run is retried once (and counted in the report); a second failure
// stops the bench.
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

const NODE = { name: 'Node fs.createReadStream', key: 'node', kind: 'node', impl: 'node', baseline: true };
const ZC = { name: 'zerocopy createReadStream', key: 'zerocopy', kind: 'node', impl: 'zerocopy' };
const ZC_FORCED = { name: 'zerocopy, ZEROCOPY_MIN_BYTES=0', key: 'zerocopy-forced', kind: 'node', impl: 'zerocopy', minBytes: 0 };
const ZC_DISABLED = { name: 'zerocopy, ZEROCOPY_DISABLE=1', key: 'zerocopy-disabled', kind: 'node', impl: 'zerocopy', disable: true };
const C_SENDFILE = { name: 'C sendfile loop (ceiling)', key: 'c', kind: 'c', ceiling: true };

const COPY_NODE = { name: 'Node stream.pipeline(fs streams)', key: 'node', kind: 'node', impl: 'node', baseline: true };
const COPY_ZC = { name: 'zerocopy pipeline', key: 'zerocopy', kind: 'node', impl: 'zerocopy' };
const COPY_FILE = { name: 'fs.copyFile', key: 'copyFile', kind: 'node', impl: 'copyFile' };
const C_CFR = { name: 'C copy_file_range loop (ceiling)', key: 'c', kind: 'c', ceiling: true };

// The proxy variants (the measured process is the proxy).
const C_PROXY_PIPE = 256 * KiB;  // the C proxy's pipes, F_SETPIPE_SZ: the library's PIPE_SIZE
const PX_NODE = { name: 'Node stream.pipeline, both ways', key: 'node', kind: 'node', impl: 'node', baseline: true };
const PX_ZC = { name: 'zerocopy pipeline, both ways', key: 'zerocopy', kind: 'node', impl: 'zerocopy' };
const PX_REG = { name: 'a.pipe(b) both ways, --require zerocopy/register', key: 'register', kind: 'node', impl: 'register' };
const PX_C = { name: 'C splice proxy (ceiling)', key: 'c', kind: 'c', ceiling: true };
const PX_DIRECT = { name: 'no proxy (client → sink directly)', key: 'direct', kind: 'direct' };

// Variant order rotates each round (A B C, B C A, C A B) so no variant always
// follows the same neighbour.
function rotated(list, round) {
  const k = round % list.length;
  return list.slice(k).concat(list.slice(0, k));
}

// ---------------------------------------------------------------- main

async function main() {
  const started = Date.now();
  log(`zerocopy bench: ${QUICK ? 'QUICK, ' : ''}${ROUNDS} rounds, big file ${BIG / MiB} MiB`);
  buildC();
  const dist = path.join(ROOT, 'dist', 'index.js');
  if (!fs.existsSync(dist)) throw new Error('dist/ is missing: run `npm run build:ts` (npm run bench does)');

  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'zerocopy-bench-'));
  const receiver = new Receiver();
  const echo = new Receiver('echo_server');
  const cleanup = () => {
    receiver.stop();
    echo.stop();
    stopHttp();
    fs.rmSync(tmp, { recursive: true, force: true });
  };
  process.once('SIGINT', () => { cleanup(); process.exit(130); });
  process.once('SIGTERM', () => { cleanup(); process.exit(143); });

  const runs = [];
  const { MIN_FAST_PATH_BYTES } = require(dist);
  config.fastPathMin = MIN_FAST_PATH_BYTES;
  try {
    log(`making files under ${tmp} ...`);
    const big = path.join(tmp, 'big.bin');
    if (ONLY.some((w) => ['socket', 'copy', 'proxy'].includes(w))) makeFile(big, BIG);
    const smallSets = {};
    for (const size of ONLY.includes('small') || ONLY.includes('decline') ? SMALL_SIZES : []) {
      const dir = path.join(tmp, `small-${size}`);
      fs.mkdirSync(dir);
      smallSets[size] = [];
      for (let i = 0; i < smallFileCount(size); i++) {
        const f = path.join(dir, `f${i}`);
        makeFile(f, size);
        smallSets[size].push(f);
      }
    }
    await receiver.port;
    await echo.port;

    const record = (workload, variant, extra, res, warm) => {
      if (!warm) runs.push({ workload, variant: variant.key, name: variant.name, ...extra, ...res });
    };

    // 1. file -> socket, one big page-cached file, one connection.
    const sockVariants = [NODE, ZC, C_SENDFILE];
    for (let round = WARMUP ? -1 : 0; ONLY.includes('socket') && round < ROUNDS; round++) {
      for (const v of rotated(sockVariants, round + 1)) {
        const res = await attempt(`socket ${v.key} r${round}`, () => runSocket(receiver, v, [big], 1, 1, CHILD_TIMEOUT_MS));
        record('socket', v, { size: BIG, conns: 1, round }, res, round < 0);
        log(`socket ${BIG / MiB} MiB r${round} ${v.key}: ${(res.bytes / res.wall / GiB).toFixed(2)} GiB/s, cpu ${(res.user + res.sys).toFixed(3)} s, recv busy ${(res.recvBusy * 100).toFixed(0)}%`);
      }
    }

    // 2. file -> file copy.
    const copyVariants = [COPY_NODE, COPY_ZC, COPY_FILE, C_CFR];
    const dst = path.join(tmp, 'copy.bin');
    for (let round = WARMUP ? -1 : 0; ONLY.includes('copy') && round < ROUNDS; round++) {
      for (const v of rotated(copyVariants, round + 1)) {
        const res = await attempt(`copy ${v.key} r${round}`, () => runCopy(v, big, dst));
        record('copy', v, { size: BIG, conns: 1, round }, res, round < 0);
        log(`copy ${BIG / MiB} MiB r${round} ${v.key}: ${(res.bytes / res.wall / GiB).toFixed(2)} GiB/s, cpu ${(res.user + res.sys).toFixed(3)} s`);
      }
    }

    // 3. many small files, one after another on each connection.
    for (let round = 0; ONLY.includes('small') && round < SMALL_ROUNDS; round++) {
      for (const conns of SMALL_CONNS) {
        for (const size of SMALL_SIZES) {
          // At and above the library's threshold the default already takes
          // the fast path; below it, ZEROCOPY_MIN_BYTES=0 measures the fast path.
          const vs = size < MIN_FAST_PATH_BYTES ? [NODE, ZC, ZC_FORCED, C_SENDFILE] : [NODE, ZC, C_SENDFILE];
          for (const v of rotated(vs, round)) {
            const res = await attempt(`small ${size} x${conns} ${v.key} r${round}`,
              () => runSocket(receiver, v, smallSets[size], conns, SMALL_MAX_TRANSFERS, SMALL_MS));
            record('small', v, { size, conns, round }, res, false);
          }
        }
        log(`small files, ${conns} connection(s), round ${round + 1}/${SMALL_ROUNDS} done`);
      }
    }

    // 4. Below the threshold, warmed up: does declining cost anything? Node vs
    // zerocopy as shipped vs zerocopy with ZEROCOPY_DISABLE=1 (the decision
    // skipped: what is left is the stream class itself).
    const declineSizes = SMALL_SIZES.filter((x) => x < MIN_FAST_PATH_BYTES);
    for (let round = 0; ONLY.includes('decline') && round < ROUNDS; round++) {
      for (const size of declineSizes) {
        for (const v of rotated([NODE, ZC, ZC_DISABLED], round)) {
          const res = await attempt(`decline ${size} ${v.key} r${round}`,
            () => runSocket(receiver, v, smallSets[size], 1, SMALL_MAX_TRANSFERS, DECLINE_MS, DECLINE_WARMUP_MS));
          record('decline', v, { size, conns: 1, round }, res, false);
        }
      }
      log(`below the threshold (warmed up), round ${round + 1}/${ROUNDS} done`);
    }

    // 5. TCP proxy, bulk: client -> proxy -> receiver, one connection.
    const proxyVariants = [PX_NODE, PX_ZC, PX_REG, PX_C, PX_DIRECT];
    for (let round = WARMUP ? -1 : 0; ONLY.includes('proxy') && round < ROUNDS; round++) {
      for (const v of rotated(proxyVariants, round + 1)) {
        const res = await attempt(`proxy ${v.key} r${round}`, () => runProxyBulk(receiver, v, big));
        record('proxy', v, { size: PROXY_BYTES, conns: 1, round }, res, round < 0);
        log(`proxy ${PROXY_BYTES / MiB} MiB r${round} ${v.key}: ${(res.bytes / res.wall / GiB).toFixed(2)} GiB/s, ` +
          `proxy cpu ${(res.user + res.sys).toFixed(3)} s, client busy ${(res.clientBusy * 100).toFixed(0)}%, sink busy ${(res.recvBusy * 100).toFixed(0)}%`);
      }
    }

    // 6. TCP proxy, request/response: ping-pong through one proxied
    // connection per variant, all variants in one round, slice by slice.
    for (let round = 0; ONLY.includes('pingpong') && round < ROUNDS; round++) {
      for (const size of PINGPONG_SIZES) {
        const vs = rotated(proxyVariants, round);
        const res = await attempt(`pingpong ${size} r${round}`, () => runPingPongRound(echo, vs, size));
        vs.forEach((v, i) => record('pingpong', v, { size, conns: 1, round }, res[i], false));
        log(`request/response ${size} B r${round}: ${vs.map((v, i) => `${v.key} p50 ${(res[i].latP50 * 1e6).toFixed(0)} µs`).join(', ')}`);
      }
    }

    // 7. HTTP static files: node:http, express, fastify (stock and under the
    // register hook) with nginx and Bun as anchors, load from wrk (bench/http.js).
    if (ONLY.includes('http')) {
      config.http = await runHttp({ quick: QUICK, log, makeFile, failures, push: (r) => runs.push({ workload: 'http', ...r }) });
    }
  } finally {
    cleanup();
  }

  const facts = machineFacts();
  facts.seconds = Math.round((Date.now() - started) / 1000);
  let results = { config, facts, runs, failures };
  if (MERGE) results = merged(results);
  fs.mkdirSync(OUT, { recursive: true });
  fs.writeFileSync(path.join(OUT, 'results.json'), JSON.stringify(results, null, 1));
  const md = renderMarkdown(results);
  fs.mkdirSync(path.join(ROOT, 'docs'), { recursive: true });
  fs.writeFileSync(path.join(ROOT, 'docs', 'benchmarks.md'), md);
  fs.writeFileSync(path.join(ROOT, 'docs', 'benchmarks.svg'), renderSvg(results));
  process.stdout.write(md);
  log(`\nwrote docs/benchmarks.md, docs/benchmarks.svg, bench/out/results.json (${facts.seconds} s)`);
}

// BENCH_MERGE=1: the last full results, with the workloads just run replaced.
function merged(fresh) {
  const old = JSON.parse(fs.readFileSync(path.join(OUT, 'results.json'), 'utf8'));
  if (old.config.quick !== QUICK) throw new Error('BENCH_MERGE: the last results were a different mode (BENCH_QUICK)');
  const rerun = { date: fresh.facts.date, workloads: ONLY, seconds: fresh.facts.seconds, commit: fresh.facts.commit, srcDirty: fresh.facts.srcDirty };
  return {
    config: { ...old.config, ...fresh.config, workloads: old.config.workloads },
    facts: { ...old.facts, reruns: [...(old.facts.reruns || []), rerun] },
    runs: old.runs.filter((r) => !ONLY.includes(r.workload)).concat(fresh.runs),
    failures: (old.failures || []).concat(fresh.failures),
  };
}

function sh(cmd, args) {
  try { return execFileSync(cmd, args, { encoding: 'utf8' }).trim(); } catch { return '?'; }
}

function machineFacts() {
  const cpu = (fs.readFileSync('/proc/cpuinfo', 'utf8').match(/model name\s*:\s*(.*)/) || [])[1] || '?';
  let fsType = '?';
  try { fsType = sh('findmnt', ['-n', '-o', 'FSTYPE', '-T', os.tmpdir()]); } catch { /* keep ? */ }
  return {
    date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    nproc: sh('nproc', []),
    kernel: sh('uname', ['-r']),
    node: process.version,
    cpu,
    memGiB: Math.round(os.totalmem() / GiB),
    tmpdir: os.tmpdir(),
    tmpFs: fsType,
    cc: sh('cc', ['--version']).split('\n')[0],
    // The library measured: the commit, and whether src/ differed from it
    // (npm run bench builds dist/ from the working tree).
    commit: sh('git', ['-C', ROOT, 'rev-parse', '--short', 'HEAD']),
    srcDirty: sh('git', ['-C', ROOT, 'status', '--porcelain', '--', 'src', 'native']) !== '',
  };
}

main().catch((err) => {
  process.stderr.write(`bench failed: ${err.stack || err}\n`);
  process.exit(1);
});
