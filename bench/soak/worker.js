// One soak process: runs the pairs' transfers under one kind of fault load
// and prints one JSON line of figures. run.js starts it once per mode
// (zerocopy, ZEROCOPY_DISABLE=1) and per phase:
//   --phase faults   random per-transfer faults, many transfers at once
//   --phase reused   the destination's fd closed behind its back and its
//                      number reused by a canary file (one transfer at a time:
//                      a concurrent open elsewhere could take the number)
//   --phase emfile   the soft RLIMIT_NOFILE lowered (prlimit on this pid)
//                      to a few dozen fds above what is open
//   --phase enospc   file destinations on a small tmpfs (--dest-dir)
//   --phase pipes    started without CAP_SYS_RESOURCE/CAP_SYS_ADMIN; fills
//                      its user's pipe-buffer budget first, so every new pipe
//                      gets one page and F_SETPIPE_SZ fails
'use strict';
const cp = require('node:child_process');
const dc = require('node:diagnostics_channel');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { monitorEventLoopDelay } = require('node:perf_hooks');
// The HTTP pairs go through the register hook (fs streams, and
// http.IncomingMessage#pipe offering bodies to the fast path); it also makes
// net.Socket#pipe offer re-piped socket sources to the fast path.
require('../../dist/register.js');
const zc = require('../../dist/index.js');
const { native, transferOf } = require('../../dist/internal.js');
const lib = require('./lib.js');
const { PAIRS } = require('./pairs/index.js');
const { options } = require('../lib/options.js');

const o = options(
  'node --expose-gc bench/soak/worker.js [options]: one soak phase, one JSON line (bench/soak/run.js runs it)',
  {
    phase: { type: 'string', env: 'SOAK_PHASE', default: 'faults', help: 'faults, reused, emfile, enospc or pipes' },
    n: { type: 'int', env: 'SOAK_N', default: 100, help: 'transfers per pair' },
    concurrency: { type: 'int', default: 24, help: 'transfers in flight per pair' },
    seed: { type: 'int', env: 'SOAK_SEED', default: 1, help: 'PRNG seed (faults, sizes, moments)' },
    faults: { type: 'list', env: 'SOAK_FAULTS', help: 'only these faults (faults phase)' },
    pairs: { type: 'list', env: 'SOAK_PAIRS', help: 'only these pairs' },
    'hung-ms': { type: 'int', default: 60_000, help: 'a transfer not done after this long is hung' },
    warmup: {
      type: 'boolean',
      env: 'SOAK_WARMUP',
      default: true,
      help: 'warm-up transfers before the faults phase (--no-warmup)',
    },
    'dest-dir': { type: 'string', help: 'where file destinations go (enospc: a small tmpfs)' },
    'emfile-spare': { type: 'int', default: 24, help: 'fds left free under the lowered RLIMIT_NOFILE' },
    nofile: { type: 'int', default: 20000, help: 'soft RLIMIT_NOFILE restored after the emfile window' },
    'debug-hung': { type: 'boolean', env: 'SOAK_DEBUG_HUNG', help: "print each hung transfer's streams" },
    'debug-slow': { type: 'int', help: 'print each transfer slower than this many ms' },
  },
);
const PHASE = o.phase;
const N = o.n;
const CONCURRENCY = o.concurrency;
const SEED = o.seed;
const ONLY_FAULTS = o.faults ?? null;
const ONLY = o.pairs ?? null;
const KiB = 1024;
const HUNG_MS = o.hungMs;
const mode = zc.settings.disabled ? 'baseline' : 'zerocopy';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'zerocopy-soak-'));
const destDir = o.destDir ?? dir;

// Which transfers took a kernel path: every diagnostics message names its
// source and destination streams.
const byStream = new WeakMap();
dc.subscribe('zerocopy:transfer', (m) => {
  const t = byStream.get(m.source) ?? byStream.get(m.destination);
  if (!t) return;
  // What the library said, for the examples of a loss.
  if (t.msgs.length < 8) t.msgs.push(`${m.path}:${m.reason}:${m.bytes}${m.error ? `:${m.error.code}` : ''}`);
  if (m.path !== 'normal') t.kernel = true;
  // Per flow (one source: a proxy's transfer has two), the kernel path it
  // took, or else why it declined: re-piped after an unpipe, it may say both.
  const f = t.flows.get(m.source) ?? {};
  if (m.path !== 'normal') f.kernel ??= m.path;
  else f.declined ??= m.reason;
  t.flows.set(m.source, f);
});

// Process warnings, per pair: run.js fails a warning zerocopy gives and the
// baseline does not (a listener left behind per transfer shows as
// MaxListenersExceededWarning once some emitter holds 11).
let warnings = null;
process.on('warning', (w) => {
  if (!warnings) return;
  const key = `${w.name}: ${w.message}`.slice(0, 120);
  warnings[key] = (warnings[key] ?? 0) + 1;
});

let nextId = 1;
const knownId = (x) => x >= 1 && x < nextId;

function gc() {
  if (global.gc) {
    global.gc();
    global.gc();
  }
}

async function settleFds(before) {
  // Sockets let go of their fds a few turns after 'close'; idle pooled pipes
  // are not leaks, so the pool is emptied first.
  zc.drainPipePool();
  let c = lib.fdCounts();
  for (let i = 0; i < 400 && (c.fds > before.fds || c.pipes > before.pipes); i++) {
    await new Promise((r) => setTimeout(r, 5));
    zc.drainPipePool();
    c = lib.fdCounts();
  }
  return c;
}

function setSoftNofile(n) {
  cp.execFileSync('prlimit', ['--pid', String(process.pid), `--nofile=${n}:`], { stdio: 'ignore' });
}

// A transfer's description, handed to the pair.
function makeTransfer(pair, random, fault) {
  const id = nextId++;
  // A pair may choose its own sizes (the HTTP bodies: some small ones too).
  const size = pair.size?.(random) ?? Math.floor((192 + random() * 640) * KiB) + Math.floor(random() * 8);
  const t = {
    id,
    size,
    fault,
    random,
    mode,
    dir,
    destDir,
    zc,
    transferOf,
    bounds: { lo: size, hi: size },
    fired: false,
    kernel: false,
    msgs: [],
    flows: new Map(),
    streams: [],
    track(...streams) {
      for (const s of streams) {
        t.streams.push(s);
        byStream.set(s, t);
      }
    },
    srcPath: null,
  };
  if (pair.fileSource) t.srcPath = path.join(dir, `s${id}`);
  return t;
}

function writeSource(t) {
  if (t.srcPath) fs.writeFileSync(t.srcPath, lib.pattern(t.id, 0, t.size));
}

async function runOne(pair, state, t) {
  let timer;
  const hung = new Promise((resolve) => {
    timer = setTimeout(() => resolve(null), HUNG_MS);
  });
  const began = Date.now();
  let out = await Promise.race([pair.transfer(state, t), hung]);
  clearTimeout(timer);
  if (o.debugSlow && Date.now() - began > o.debugSlow) {
    console.error(
      `slow transfer ${t.id} ${pair.key} ${t.fault} ${Date.now() - began} ms: error=${lib.errorKey(out?.error)} peer=${lib.errorKey(out?.peerError)}`,
    );
  }
  if (out === null) {
    if (o.debugHung) {
      console.error(
        `hung ${pair.key} ${t.fault} id=${t.id} fired=${t.fired} kernel=${t.kernel} stage=${typeof t.stage === 'function' ? t.stage() : t.stage}`,
        t.streams
          .map((s) => {
            const tr = transferOf(s);
            return `${s.constructor.name}{eof=${s._readableState?.ended} destroyed=${s.destroyed} closed=${s.closed} ended=${s.readableEnded} finished=${s.writableFinished} flowing=${s.readableFlowing} err=${s.errored?.code} transfer=${tr ? `active=${tr.active} inflight=${tr.inflight} waiting=${tr.waitingInLoop}` : '-'}}`;
          })
          .join(' '),
      );
    }
    // Node's own pipeline() waiting for ever on a source destroyed between
    // its end of file and its 'end' (lib.js): counted apart, in both modes.
    const nodeHang = t.streams.some(lib.nodePipelineHang);
    for (const s of t.streams) s.destroy();
    out = { hung: true, nodeHang, error: null, peerError: null, aborted: true, received: Buffer.alloc(0), canary: 0 };
  }
  return out;
}

function judge(stats, t, out) {
  const received = typeof out.received === 'function' ? out.received() : out.received;
  const a = lib.analyze(received, t.id, knownId);
  const success = !out.error && !out.peerError && !out.aborted && !out.hung;
  let lost = 0;
  if (success) {
    // A success must hold the right bytes, as many as the source could give.
    lost = Math.max(0, t.bounds.lo - a.prefix) + a.wrong + Math.max(0, a.prefix - t.bounds.hi);
    // Of those, a truncation race: zeros where a truncated source had been
    // (the page cache zeroing a page the kernel was still sending, see
    // docs/reliability.md), and the old bytes after them: the whole loss of
    // such a transfer counts here.
    if (lost > 0 && t.truncated && received.indexOf(0, a.prefix) !== -1) {
      stats.zeroFill += lost;
      stats.zeroFillClean += lost;
    }
  } else {
    // A failure may hold any prefix of the right bytes; nothing else.
    lost = a.wrong;
    // Unless the library saw the file shrink under bytes the kernel had
    // queued, and failed the transfer for it (ERR_ZEROCOPY_SOURCE_SHRANK):
    // what the receiver got past the cut is the race's, not a misplaced byte.
    if (lost > 0 && t.truncated && received.indexOf(0, a.prefix) !== -1) stats.zeroFill += lost;
  }
  stats.faults[t.fault] ??= { n: 0, fired: 0, ok: 0, lost: 0, errors: {}, peerErrors: {} };
  const f = stats.faults[t.fault];
  f.lost += lost;
  f.n++;
  if (t.fired) f.fired++;
  stats.transfers++;
  if (t.kernel) stats.kernel++;
  for (const fl of t.flows.values()) {
    const p = fl.kernel ?? 'declined';
    stats.paths[p] = (stats.paths[p] ?? 0) + 1;
    if (!fl.kernel) stats.declinedWhy[fl.declined] = (stats.declinedWhy[fl.declined] ?? 0) + 1;
  }
  if (success && lost === 0 && a.foreign === 0) {
    stats.exact++;
    f.ok++;
  }
  if (!success) stats.failed++;
  if (out.hung && out.nodeHang) stats.hungInNodePipeline++;
  else if (out.hung) stats.hung++;
  const key = lib.errorKey(out.error);
  if (key && !key.includes('/') && !key.startsWith('ERR_') && stats.oddErrors.length < 3) {
    // A system error without a syscall: where did it come from?
    stats.oddErrors.push({
      fault: t.fault,
      key,
      message: out.error.message,
      stack: String(out.error.stack).split('\n').slice(0, 6).join(' | '),
    });
  }
  if (key) {
    f.errors[key] = (f.errors[key] ?? 0) + 1;
    if (key.startsWith('NON-NODE')) stats.nonNode++;
  }
  const pkey = lib.errorKey(out.peerError);
  if (pkey) f.peerErrors[pkey] = (f.peerErrors[pkey] ?? 0) + 1;
  stats.lost += lost;
  stats.misdirected += a.foreign;
  stats.canary += out.canary ?? 0;
  if ((lost > 0 || a.foreign > 0 || out.canary > 0) && stats.examples.length < 5) {
    stats.examples.push({
      id: t.id,
      fault: t.fault,
      fired: t.fired,
      size: t.size,
      bounds: t.bounds,
      kernel: t.kernel,
      received: received.length,
      prefix: a.prefix,
      foreign: a.foreign,
      wrong: a.wrong,
      canary: out.canary ?? 0,
      error: key,
      peerError: pkey,
      aborted: !!out.aborted,
      said: t.msgs,
      ...(out.detail ?? {}),
    });
  }
}

function cleanup(t) {
  if (t.srcPath) fs.rmSync(t.srcPath, { force: true });
  for (const p of t.cleanup ?? []) fs.rmSync(p, { force: true });
}

function faultsFor(pair) {
  if (PHASE === 'faults') return ONLY_FAULTS ? pair.faults.filter((f) => ONLY_FAULTS.includes(f)) : pair.faults;
  if (PHASE === 'reused') return pair.reusedFd ? ['reused-fd'] : null;
  if (PHASE === 'enospc') return pair.fileDestination ? ['enospc'] : null;
  return [PHASE]; // emfile, pipes: every pair, no other fault
}

async function runPair(pair, count) {
  const faults = faultsFor(pair);
  if (!faults || faults.length === 0) return null;
  const random = lib.rng(SEED * 7919 + pair.name.length * 131 + PHASE.length);
  const stats = {
    pair: pair.name,
    mode,
    phase: PHASE,
    transfers: 0,
    kernel: 0,
    exact: 0,
    failed: 0,
    nonNode: 0,
    hung: 0,
    hungInNodePipeline: 0,
    lost: 0,
    zeroFill: 0,
    zeroFillClean: 0,
    misdirected: 0,
    canary: 0,
    faults: {},
    paths: {}, // flows by kernel path, or 'declined'
    declinedWhy: {},
    warnings: {},
    examples: [],
    oddErrors: [],
  };
  warnings = stats.warnings;
  gc();
  const before = lib.fdCounts();
  const targets0 = lib.fdTargets();
  const rss0 = process.memoryUsage().rss;
  const state = await pair.setup({ dir, destDir, zc, random });
  const loop = monitorEventLoopDelay({ resolution: 10 });
  loop.enable();
  const t0 = Date.now();
  const concurrency = PHASE === 'reused' ? 1 : CONCURRENCY;
  const pick = () => faults[Math.floor(random() * faults.length)];

  if (PHASE === 'emfile') {
    // Everything the harness needs an fd for happens outside the window:
    // sources written before, destinations read after.
    const batch = [];
    for (let i = 0; i < count; i++) {
      const t = makeTransfer(pair, random, pick());
      writeSource(t);
      batch.push(t);
    }
    const outs = new Array(count);
    const limit = lib.nofileLeaving(o.emfileSpare);
    setSoftNofile(limit);
    stats.nofile = limit;
    stats.fdsAtLimit = lib.fdCounts().fds;
    let next = 0;
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next < count) {
          const i = next++;
          outs[i] = await runOne(pair, state, batch[i]);
        }
      }),
    );
    // Connections kept alive for the next transfer hold fds past the window
    // (the HTTP pairs' Agents): a pair lets them go, or prlimit could not start.
    pair.quiesce?.(state);
    setSoftNofile(o.nofile);
    for (let i = 0; i < count; i++) {
      judge(stats, batch[i], outs[i]);
      cleanup(batch[i]);
    }
  } else {
    let started = 0;
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (started < count) {
          started++;
          const t = makeTransfer(pair, random, pick());
          writeSource(t);
          const out = await runOne(pair, state, t);
          judge(stats, t, out);
          cleanup(t);
        }
      }),
    );
  }
  stats.seconds = (Date.now() - t0) / 1000;
  loop.disable();
  stats.lagMaxMs = loop.max / 1e6;
  await pair.teardown(state);
  const after = await settleFds(before);
  stats.fdsLeaked = after.fds - before.fds;
  stats.pipesLeaked = after.pipes - before.pipes;
  if (stats.fdsLeaked > 0 || stats.pipesLeaked > 0) {
    stats.leakedFds = [...lib.fdTargets()]
      .filter(([fd, target]) => targets0.get(fd) !== target)
      .slice(0, 12)
      .map(([fd, target]) => `${fd}:${target}`);
  }
  const ts = zc.transferStats();
  stats.transfersStillRunning = ts.running;
  stats.poolInUse = zc.pipeStats().inUse;
  gc();
  stats.rssGrowthMiB = (process.memoryUsage().rss - rss0) / (1 << 20);
  return stats;
}

// Pipe exhaustion: this process (without CAP_SYS_RESOURCE) takes pipes of
// pipe-max-size until the kernel starts handing out one-page pipes.
function exhaustPipeBudget() {
  const held = [];
  const max = Number(fs.readFileSync('/proc/sys/fs/pipe-max-size', 'utf8'));
  for (let i = 0; i < 4096; i++) {
    const [err, r, w, cap] = native.makePipe(max);
    if (err !== 0) break;
    held.push(r, w);
    // Past the soft limit a new pipe gets two pages (one on older kernels)
    // instead of sixteen, and F_SETPIPE_SZ fails.
    if (cap < 65536) {
      const [e2, r2, w2, cap2] = native.makePipe(65536 * 4);
      if (e2 === 0) {
        held.push(r2, w2);
        if (cap2 < 65536) return { held: held.length, exhausted: true, capacity: cap2 };
      }
    }
  }
  return { held: held.length, exhausted: false };
}

// fds the runtime opens once, on first use, are not a pair's leak: libuv's
// reserve fd for EMFILE on accept (/dev/null, at the first listen).
async function primeRuntime() {
  const net = require('node:net');
  const server = net.createServer();
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  await new Promise((r) => server.close(r));
  await fs.promises.stat(dir);
}

async function main() {
  await primeRuntime();
  const result = { mode, phase: PHASE, node: process.version, pairs: [], note: null };
  if (PHASE === 'pipes') {
    const e = exhaustPipeBudget();
    result.note = e.exhausted
      ? `pipe budget filled with ${e.held} fds; new pipes hold ${e.capacity} bytes`
      : `pipe budget NOT exhausted (${e.held} fds held)`;
    if (!e.exhausted) {
      console.log(JSON.stringify(result));
      return;
    }
  }
  const pairs = PAIRS.filter((p) => !ONLY || ONLY.includes(p.key));
  // Warm-up: the first transfers of a process grow its heap and code space;
  // RSS growth is measured after them.
  if (o.warmup && PHASE === 'faults') {
    for (const pair of pairs) await runPair(pair, Math.min(40, Math.ceil(N / 5)));
  }
  for (const pair of pairs) {
    const s = await runPair(pair, N);
    if (s) result.pairs.push(s);
  }
  fs.rmSync(dir, { recursive: true, force: true });
  console.log(JSON.stringify(result));
}

main().catch((err) => {
  console.error(err);
  process.exit(2);
});
