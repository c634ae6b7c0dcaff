'use strict';
// `npm run bench`: file -> socket, file -> file and many-small-files
// benchmarks, Node's streams vs zerocopy vs a bare C syscall loop.
//
//   BENCH_QUICK=1   ~1 minute smoke run (128 MiB, fewer sizes, 2 rounds)
//   BENCH_ROUNDS=N  rounds per workload (default 7; quick 3)
//
// Every sender runs in its own child process (bench/sender.js, or a C program
// from bench/c/ built into bench/bin/ here) so its CPU, RSS and loop delay are
// its own. Variants run interleaved (A B C, B C A, ...) round after round; the
// tables quote the median and the min-max. One receiver process
// (bench/c/receiver.c, splice to /dev/null) serves every socket variant.
// Results: stdout, docs/benchmarks.md, docs/benchmarks.svg, and the raw runs in
// bench/out/results.json.
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawn, execFileSync } = require('node:child_process');
const { renderMarkdown, renderSvg } = require('./report');

const ROOT = path.join(__dirname, '..');
const BIN = path.join(__dirname, 'bin');
const OUT = path.join(__dirname, 'out');
const KiB = 1024;
const MiB = 1024 * KiB;
const GiB = 1024 * MiB;

const QUICK = process.env.BENCH_QUICK === '1';
const ROUNDS = Math.max(1, Math.min(50, Number(process.env.BENCH_ROUNDS) || (QUICK ? 3 : 7)));
const WARMUP = !QUICK;
const BIG = QUICK ? 128 * MiB : GiB;
const SMALL_SIZES = QUICK ? [4 * KiB, 64 * KiB, MiB] : [4 * KiB, 16 * KiB, 64 * KiB, 128 * KiB, 256 * KiB, MiB, 16 * MiB];
const SMALL_CONNS = QUICK ? [1] : [1, 4];
const SMALL_MS = QUICK ? 400 : 600;          // time budget of one small-file run
const SMALL_MAX_TRANSFERS = 200000;          // and its count bound
const CHILD_TIMEOUT_MS = 120000;

const config = { quick: QUICK, rounds: ROUNDS, warmup: WARMUP, big: BIG, smallSizes: SMALL_SIZES,
  smallConns: SMALL_CONNS, smallMs: SMALL_MS };

function log(...a) { process.stderr.write(`${a.join(' ')}\n`); }

// ---------------------------------------------------------------- setup

function buildC() {
  fs.mkdirSync(BIN, { recursive: true });
  for (const name of ['receiver', 'sendfile_client', 'cfr_copy']) {
    execFileSync('cc', ['-O2', '-Wall', '-pthread', '-o', path.join(BIN, name), path.join(__dirname, 'c', `${name}.c`)],
      { stdio: 'inherit' });
  }
}

// Files of real (non-sparse, incompressible-looking) data, fsynced so that no
// writeback runs during the measurements, and left in the page cache.
function makeFile(file, size) {
  const chunk = Buffer.alloc(Math.min(size, 4 * MiB));
  require('node:crypto').randomFillSync(chunk);
  const fd = fs.openSync(file, 'w');
  try {
    for (let off = 0, i = 0; off < size; off += chunk.length, i++) {
      chunk.writeUInt32LE(i, 0);
      fs.writeSync(fd, chunk, 0, Math.min(chunk.length, size - off));
    }
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

function smallFileCount(size) {
  return Math.max(4, Math.min(64, Math.floor(256 * MiB / size)));
}

// ---------------------------------------------------------------- receiver

class Receiver {
  constructor() {
    this.lines = [];
    this.child = spawn(path.join(BIN, 'receiver'), [], { stdio: ['ignore', 'pipe', 'inherit'] });
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
      this.child.once('exit', (code) => reject(new Error(`receiver exited (${code})`)));
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

function runChild(cmd, args, env) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'], timeout: CHILD_TIMEOUT_MS });
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
  return env;
}

const SENDER = path.join(__dirname, 'sender.js');

async function runSocket(receiver, variant, files, conns, maxTransfers, durationMs) {
  const port = await receiver.port;
  const mark = receiver.lines.length;
  let res;
  if (variant.kind === 'c') {
    res = await runChild(path.join(BIN, 'sendfile_client'),
      [String(port), String(conns), String(durationMs), String(maxTransfers), ...files], childEnv(variant));
  } else {
    const job = { mode: 'socket', variant: variant.impl, port, files, conns, maxTransfers, durationMs, timeoutMs: CHILD_TIMEOUT_MS - 5000 };
    res = await runChild(process.execPath, [SENDER, JSON.stringify(job)], childEnv(variant));
  }
  const conn = await receiver.take(mark, conns);
  const recvBytes = conn.reduce((s, c) => s + c.bytes, 0);
  if (conn.length !== conns || recvBytes !== res.bytes) {
    throw new Error(`${variant.name}: receiver got ${recvBytes} bytes on ${conn.length} connections, sender says ${res.bytes}`);
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
const C_SENDFILE = { name: 'C sendfile loop (ceiling)', key: 'c', kind: 'c', ceiling: true };

const COPY_NODE = { name: 'Node stream.pipeline(fs streams)', key: 'node', kind: 'node', impl: 'node', baseline: true };
const COPY_ZC = { name: 'zerocopy pipeline', key: 'zerocopy', kind: 'node', impl: 'zerocopy' };
const COPY_FILE = { name: 'fs.copyFile', key: 'copyFile', kind: 'node', impl: 'copyFile' };
const C_CFR = { name: 'C copy_file_range loop (ceiling)', key: 'c', kind: 'c', ceiling: true };

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
  const cleanup = () => {
    receiver.stop();
    fs.rmSync(tmp, { recursive: true, force: true });
  };
  process.once('SIGINT', () => { cleanup(); process.exit(130); });
  process.once('SIGTERM', () => { cleanup(); process.exit(143); });

  const runs = [];
  try {
    log(`making files under ${tmp} ...`);
    const big = path.join(tmp, 'big.bin');
    makeFile(big, BIG);
    const smallSets = {};
    for (const size of SMALL_SIZES) {
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

    const record = (workload, variant, extra, res, warm) => {
      if (!warm) runs.push({ workload, variant: variant.key, name: variant.name, ...extra, ...res });
    };

    // 1. file -> socket, one big page-cached file, one connection.
    const sockVariants = [NODE, ZC, C_SENDFILE];
    for (let round = WARMUP ? -1 : 0; round < ROUNDS; round++) {
      for (const v of rotated(sockVariants, round + 1)) {
        const res = await attempt(`socket ${v.key} r${round}`, () => runSocket(receiver, v, [big], 1, 1, CHILD_TIMEOUT_MS));
        record('socket', v, { size: BIG, conns: 1, round }, res, round < 0);
        log(`socket ${BIG / MiB} MiB r${round} ${v.key}: ${(res.bytes / res.wall / GiB).toFixed(2)} GiB/s, cpu ${(res.user + res.sys).toFixed(3)} s, recv busy ${(res.recvBusy * 100).toFixed(0)}%`);
      }
    }

    // 2. file -> file copy.
    const copyVariants = [COPY_NODE, COPY_ZC, COPY_FILE, C_CFR];
    const dst = path.join(tmp, 'copy.bin');
    for (let round = WARMUP ? -1 : 0; round < ROUNDS; round++) {
      for (const v of rotated(copyVariants, round + 1)) {
        const res = await attempt(`copy ${v.key} r${round}`, () => runCopy(v, big, dst));
        record('copy', v, { size: BIG, conns: 1, round }, res, round < 0);
        log(`copy ${BIG / MiB} MiB r${round} ${v.key}: ${(res.bytes / res.wall / GiB).toFixed(2)} GiB/s, cpu ${(res.user + res.sys).toFixed(3)} s`);
      }
    }

    // 3. many small files, one after another on each connection.
    for (let round = 0; round < ROUNDS; round++) {
      for (const conns of SMALL_CONNS) {
        for (const size of SMALL_SIZES) {
          // At and above the library's threshold the default already takes
          // the fast path; below it, ZEROCOPY_MIN_BYTES=0 measures the fast path.
          const vs = size < 64 * KiB ? [NODE, ZC, ZC_FORCED, C_SENDFILE] : [NODE, ZC, C_SENDFILE];
          for (const v of rotated(vs, round)) {
            const res = await attempt(`small ${size} x${conns} ${v.key} r${round}`,
              () => runSocket(receiver, v, smallSets[size], conns, SMALL_MAX_TRANSFERS, SMALL_MS));
            record('small', v, { size, conns, round }, res, false);
          }
        }
        log(`small files, ${conns} connection(s), round ${round + 1}/${ROUNDS} done`);
      }
    }
  } finally {
    cleanup();
  }

  const facts = machineFacts();
  facts.seconds = Math.round((Date.now() - started) / 1000);
  const results = { config, facts, runs, failures };
  fs.mkdirSync(OUT, { recursive: true });
  fs.writeFileSync(path.join(OUT, 'results.json'), JSON.stringify(results, null, 1));
  const md = renderMarkdown(results);
  fs.mkdirSync(path.join(ROOT, 'docs'), { recursive: true });
  fs.writeFileSync(path.join(ROOT, 'docs', 'benchmarks.md'), md);
  fs.writeFileSync(path.join(ROOT, 'docs', 'benchmarks.svg'), renderSvg(results));
  process.stdout.write(md);
  log(`\nwrote docs/benchmarks.md, docs/benchmarks.svg, bench/out/results.json (${facts.seconds} s)`);
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
  };
}

main().catch((err) => {
  process.stderr.write(`bench failed: ${err.stack || err}\n`);
  process.exit(1);
});
