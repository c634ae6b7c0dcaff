'use strict';
// Shared by bench/reliability/fairness.js and cold-cache.js: files, the sink,
// child runs, latency probes and the summary arithmetic.
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const dns = require('node:dns');
const { execFileSync } = require('node:child_process');
const { makeFile: makeBenchFile } = require('../lib/files');
const { runJson, lineServer } = require('../lib/proc');
const { options: parse } = require('../lib/options');

const ROOT = path.join(__dirname, '..', '..');
const BIN = path.join(ROOT, 'bench', 'bin');
const KiB = 1024;
const MiB = 1024 * KiB;
const GiB = 1024 * MiB;

// Options of `npm run bench:reliability` (bench/reliability/run.js), of
// fairness.js and of cold-cache.js alone; the environment variables the docs use
// are their defaults.
const SPEC = {
  only: { type: 'list', help: 'only these: fairness, cold-cache, small-files (all)' },
  lib: {
    type: 'string',
    env: 'ZEROCOPY_BENCH_LIB',
    help: 'another build of the library to measure (default: this checkout)',
  },
  candidate: {
    type: 'string',
    env: 'ZEROCOPY_BENCH_CANDIDATE',
    help: 'builds with a change to try, comma-separated: modes candidate, candidate2, ...',
  },
  'fair-n': { type: 'int', default: 1000, help: 'fairness: concurrent transfers' },
  'fair-dests': { type: 'list', default: ['socket', 'file'], help: 'fairness: destinations (socket,file)' },
  'fair-modes': {
    type: 'list',
    env: 'FAIR_MODES',
    default: ['idle', 'node', 'zerocopy'],
    help: 'fairness: idle (no transfers), node (ZEROCOPY_DISABLE=1), stock (node:fs streams), zerocopy, candidate…',
  },
  'fair-rounds': {
    type: 'int',
    env: 'FAIR_ROUNDS',
    default: 3,
    help: 'fairness: rounds; modes interleaved, order rotated per round',
  },
  'fair-window-ms': {
    type: 'int',
    env: 'FAIR_WINDOW_MS',
    default: 8000,
    help: 'fairness: measured window (probes issued, bytes and loop delay counted)',
  },
  'fair-probe-ms': {
    type: 'int',
    env: 'FAIR_PROBE_MS',
    default: 40,
    help: 'fairness: one probe of each kind every this many ms (open loop)',
  },
  'fair-tail-cap-ms': {
    type: 'int',
    env: 'FAIR_TAIL_CAP_MS',
    default: 30000,
    help: 'fairness: a probe still out this long after the window counts with the time waited so far ("≥")',
  },
  'fair-slow-rate': {
    type: 'int',
    default: 0,
    help: 'fairness: bytes/s per connection for a slow-reading sink (0: flat out)',
  },
  'cold-n': {
    type: 'int',
    env: 'COLD_N',
    default: 1,
    help: 'cold cache: concurrent transfers; the file is split between them',
  },
  'cold-dests': { type: 'list', default: ['socket', 'file'], help: 'cold cache: destinations (socket,file)' },
  'cold-modes': {
    type: 'list',
    env: 'COLD_MODES',
    default: ['idle', 'node', 'zerocopy'],
    help: 'cold cache: idle (probes only), node (ZEROCOPY_DISABLE=1), zerocopy, candidate…',
  },
  'cold-rounds': {
    type: 'int',
    env: 'COLD_ROUNDS',
    default: 3,
    help: 'cold cache: rounds; modes interleaved, order rotated per round',
  },
  'cold-probe-ms': { type: 'int', default: 10, help: 'cold cache: one probe of each kind every this many ms' },
  'cold-drop': {
    type: 'string',
    env: 'COLD_DROP',
    default: 'file',
    help: "cold cache: file (evict the files' pages) or global (drop_caches, root)",
  },
  'cold-states': {
    type: 'list',
    env: 'COLD_STATES',
    default: ['cold', 'warm'],
    help: 'cold cache: cold, warm (the source read into the page cache first)',
  },
  'cold-time-jobs': {
    type: 'boolean',
    env: 'COLD_TIME_JOBS',
    default: false,
    help: 'cold cache: time every pool job with async_hooks',
  },
};
const options = () =>
  parse(
    'npm run bench:reliability [-- options]: threadpool fairness, cold cache and small files (docs/reliability.md); UV_THREADPOOL_SIZE is passed to the children',
    SPEC,
  );

// The library under test: this checkout's dist/, or another build (--lib).
// Modes "candidate", "candidate2", ... run the builds listed in --candidate
// (copies of the repository, each with a change to try) beside it, interleaved.
let LIB = ROOT;
let CANDIDATE = null;
function setLibs(o) {
  LIB = o.lib || ROOT;
  CANDIDATE = o.candidate || null;
}
function libFor(mode) {
  const m = /^candidate(\d*)$/.exec(mode);
  if (!m) return LIB;
  const lib = (CANDIDATE || '').split(',')[m[1] ? Number(m[1]) - 1 : 0];
  if (!lib) throw new Error(`mode ${mode} needs --candidate <paths of other builds>`);
  return lib;
}

/**
 * A reliability script's entry: `node script.js '{json}'` runs the job in a
 * child, `node script.js [options]` (its own main module) runs the parent.
 */
function runScript(mod, name, child, parent) {
  const fail = (prefix) => (err) => {
    process.stderr.write(`${prefix}${err?.stack || err}\n`);
    process.exit(1);
  };
  if (process.argv[2]?.startsWith('{')) child(JSON.parse(process.argv[2])).catch(fail(`${name} child: `));
  else if (require.main === mod) parent(options()).catch(fail(''));
}

function log(...a) {
  process.stderr.write(`${a.join(' ')}\n`);
}

function buildC(name) {
  fs.mkdirSync(BIN, { recursive: true });
  const out = path.join(BIN, `reliability-${name}`);
  execFileSync('cc', ['-O2', '-Wall', '-o', out, path.join(__dirname, `${name}.c`)], { stdio: 'inherit' });
  return out;
}

function buildSink() {
  return buildC('sink');
}

/** bench/files.js's makeFile, kept if the file already has the right size. */
function makeFile(file, size) {
  try {
    if (fs.statSync(file).size === size) return;
  } catch {
    /* make it */
  }
  makeBenchFile(file, size);
}

/** Reads a file through once, so its pages are in the page cache. */
function warm(file) {
  const buf = Buffer.allocUnsafe(4 * MiB);
  const fd = fs.openSync(file, 'r');
  try {
    while (fs.readSync(fd, buf, 0, buf.length, null) > 0);
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Drops files' pages from the page cache (bench/reliability/evict.c:
 * fdatasync, then posix_fadvise(POSIX_FADV_DONTNEED), as `dd iflag=nocache`).
 */
let evictBin = null;
function evict(files) {
  evictBin ??= buildC('evict');
  for (let i = 0; i < files.length; i += 1000) execFileSync(evictBin, files.slice(i, i + 1000));
}

function cachedBytes(file) {
  try {
    const out = execFileSync('fincore', ['--bytes', '--noheadings', '--output', 'RES', file], { encoding: 'utf8' });
    return Number(out.trim());
  } catch {
    return -1;
  }
}

/** bench/reliability/sink.c: `stats()` asks it for { bytes received so far, connections open }. */
function sink(bin, rate = 0) {
  const waiters = [];
  const srv = lineServer(
    bin,
    rate ? [String(rate)] : [],
    (line) => {
      const b = /^BYTES (\d+) CONNS (\d+)$/.exec(line);
      if (b) waiters.shift()?.({ bytes: Number(b[1]), conns: Number(b[2]) });
    },
    'pipe',
  );
  srv.stats = () =>
    new Promise((resolve) => {
      waiters.push(resolve);
      srv.child.stdin.write('?\n');
    });
  const stop = srv.stop;
  srv.stop = () => {
    srv.child.stdin.end();
    stop();
  };
  return srv;
}

/** Runs `node script JSON` with env; resolves with the last stdout line parsed. */
const runChild = (script, job, env, timeout) =>
  runJson(process.execPath, [script, JSON.stringify(job)], {
    env,
    cwd: ROOT,
    timeout,
    label: `${path.basename(script)} ${job.mode}`,
  });

function modeEnv(mode, extra = {}) {
  const env = { ...process.env, ...extra };
  delete env.ZEROCOPY_DISABLE;
  delete env.NODE_DEBUG;
  if (mode === 'node') env.ZEROCOPY_DISABLE = '1';
  return env;
}

// ------------------------------------------------------------ in the child

/**
 * Open-loop probes: every `everyMs` one of each kind starts, whether or not
 * the last has returned, so a slow threadpool shows as latency rather than as
 * fewer samples. Latency runs from the call to its callback (what the
 * program waits), in ms.
 */
function startProbes(kinds, everyMs) {
  const lat = Object.fromEntries(Object.keys(kinds).map((k) => [k, []]));
  const censored = Object.fromEntries(Object.keys(kinds).map((k) => [k, 0]));
  const pending = new Set();
  let idle = null;
  const fire = () => {
    for (const [name, fn] of Object.entries(kinds)) {
      const p = { name, t0: process.hrtime.bigint() };
      pending.add(p);
      fn((err) => {
        if (err) throw err;
        if (!pending.delete(p)) return; // already counted as censored
        lat[name].push(Number(process.hrtime.bigint() - p.t0) / 1e6);
        if (pending.size === 0 && idle) idle();
      });
    }
  };
  const timer = setInterval(fire, everyMs);
  fire();
  return {
    lat,
    censored,
    /**
     * Stops issuing; resolves once every probe issued has returned, or after
     * capMs: a probe still out then counts with the time it has waited so far
     * (a lower bound; `censored` says how many).
     */
    stop(capMs) {
      clearInterval(timer);
      return new Promise((resolve) => {
        const cap = setTimeout(() => {
          const now = process.hrtime.bigint();
          for (const p of pending) {
            lat[p.name].push(Number(now - p.t0) / 1e6);
            censored[p.name]++;
          }
          pending.clear();
          resolve();
        }, capMs);
        idle = () => {
          clearTimeout(cap);
          resolve();
        };
        if (pending.size === 0) idle();
      });
    },
  };
}

/** One probe of each kind, one after the other (first calls load code and caches). */
async function warmProbes(kinds) {
  for (const fn of Object.values(kinds))
    await new Promise((resolve, reject) => fn((err) => (err ? reject(err) : resolve())));
}

const probeKinds = (smallFile) => ({
  readFile: (cb) => fs.readFile(smallFile, cb),
  stat: (cb) => fs.stat(smallFile, cb),
  dns: (cb) => dns.lookup('localhost', cb),
});

function pct(values, p) {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)];
}

function summary(values) {
  return {
    n: values.length,
    p50: pct(values, 50),
    p99: pct(values, 99),
    max: values.length ? Math.max(...values) : NaN,
  };
}

function loopSummary(h) {
  return { p50: h.percentile(50) / 1e6, p99: h.percentile(99) / 1e6, max: h.max / 1e6 };
}

function median(values) {
  const v = values.filter((x) => Number.isFinite(x));
  return v.length ? pct(v, 50) : NaN;
}

function fmtMs(x) {
  if (!Number.isFinite(x)) return '–';
  if (x >= 1000) return `${(x / 1000).toFixed(2)} s`;
  if (x >= 100) return `${x.toFixed(0)} ms`;
  if (x >= 10) return `${x.toFixed(1)} ms`;
  return `${x.toFixed(2)} ms`;
}

function machine() {
  // The machine is shared: how busy it was says how much the absolute figures mean.
  let cpuPressure = null;
  try {
    cpuPressure = fs.readFileSync('/proc/pressure/cpu', 'utf8').split('\n')[0];
  } catch {
    /* no PSI */
  }
  return {
    nproc: os.cpus().length,
    kernel: os.release(),
    node: process.version,
    threadpool: Number(process.env.UV_THREADPOOL_SIZE) || 4,
    loadavg: os.loadavg(),
    cpuPressure,
  };
}

module.exports = {
  runScript,
  ROOT,
  BIN,
  options,
  setLibs,
  libs: () => ({ LIB, CANDIDATE }),
  libFor,
  KiB,
  MiB,
  GiB,
  log,
  buildSink,
  makeFile,
  warm,
  evict,
  cachedBytes,
  sink,
  runChild,
  modeEnv,
  startProbes,
  warmProbes,
  probeKinds,
  pct,
  summary,
  loopSummary,
  median,
  fmtMs,
  machine,
};
