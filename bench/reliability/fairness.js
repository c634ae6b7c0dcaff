'use strict';
// Threadpool fairness (issue #8): 1000 concurrent large transfers while the
// program keeps calling fs.readFile (4 KiB), fs.stat and
// dns.lookup('localhost'). How long do those calls take with and without the
// transfers, zerocopy beside Node's streams?
//
//   node bench/reliability/fairness.js [options]   (or: npm run bench:reliability; --help lists
//   the --fair-* options; mode candidate runs another build, --candidate, beside the others)
//
// Every run is its own child process. Sources: one 1 GiB page-cached file of
// real data, each transfer reading from its own offset to the end, so all of
// them are still in flight when the window closes (the child checks). Socket
// destinations: n TCP connections to bench/reliability/sink.c (one epoll
// thread splicing to /dev/null). File destinations: 8 shared files, each
// transfer writing from offset 0 (flags r+, start 0), so dirty memory and disk
// use stay at the few hundred MiB the window writes, not n copies.
// Prints a markdown table and writes bench/out/reliability-fairness.json.
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const net = require('node:net');
const { monitorEventLoopDelay } = require('node:perf_hooks');
const c = require('./common');

const { MiB, GiB } = c;

c.runScript(module, 'fairness', child, parent);
module.exports = { parent };

// ---------------------------------------------------------------- child

async function child(job) {
  process.on('uncaughtException', (err) => {
    process.stderr.write(`${err.stack}\n`);
    process.exit(1);
  });
  const lib = job.mode === 'idle' ? null : job.mode === 'stock' ? fs : require(job.lib);
  const kinds = c.probeKinds(job.small);
  await c.warmProbes(kinds); // first calls load code and caches: done before any load
  const streams = [];
  let ended = 0;
  const fail = (err) => {
    throw err;
  };

  if (lib) {
    const dests = [];
    if (job.dest === 'socket') {
      // All connected before any transfer starts.
      await Promise.all(
        Array.from(
          { length: job.n },
          () =>
            new Promise((resolve, reject) => {
              const s = net.connect(job.port, '127.0.0.1', () => resolve(s));
              s.once('error', reject);
              dests.push(s);
            }),
        ),
      );
    } else {
      for (let i = 0; i < job.n; i++)
        dests.push(lib.createWriteStream(job.destFiles[i % job.destFiles.length], { flags: 'r+', start: 0 }));
    }
    for (let i = 0; i < job.n; i++) {
      // Offsets spread over the first half, so each has ≥ 512 MiB to go.
      const rs = lib.createReadStream(job.src, { start: (i * MiB) % (512 * MiB) });
      rs.on('error', fail);
      rs.on('end', () => {
        ended++;
      });
      dests[i].on('error', fail);
      rs.pipe(dests[i]);
      streams.push(rs);
    }
  }
  const moved = () => streams.reduce((s, rs) => s + rs.bytesRead, 0);
  // The window opens once every transfer is under way: all of them in the
  // kernel (zerocopy), or all having read (Node's streams). How long that
  // takes is a figure of its own: a stream's open() and first reads queue on
  // the same pool as everything else.
  const kernel = lib?.transferStats && job.mode !== 'node';
  const allUnderWay = () =>
    !lib || (kernel ? lib.transferStats().running >= job.n : streams.every((rs) => rs.bytesRead > 0));
  const ramp0 = process.hrtime.bigint();
  const rampS = () => Number(process.hrtime.bigint() - ramp0) / 1e9;
  while (!allUnderWay() && rampS() * 1000 < job.rampCapMs) await sleep(20);
  const ramp = { s: rampS(), all: allUnderWay() };
  await sleep(job.settleMs);

  const loop = monitorEventLoopDelay({ resolution: 2 });
  const stats0 = lib?.transferStats ? lib.transferStats() : null;
  const bytes0 = moved();
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  loop.enable();
  const probes = c.startProbes(kinds, job.probeMs);
  await sleep(job.windowMs);
  const probesDone = probes.stop(job.tailCapMs);
  loop.disable();
  const wall = Number(process.hrtime.bigint() - t0) / 1e9;
  const bytes = moved() - bytes0;
  const cpu = process.cpuUsage(cpu0);
  const stats1 = lib?.transferStats ? lib.transferStats() : null;
  const endedInWindow = ended;
  // The probes still out ran against the same load: the transfers go on
  // until the last has returned.
  const tail0 = process.hrtime.bigint();
  await probesDone;
  const tailS = Number(process.hrtime.bigint() - tail0) / 1e9;

  const res = {
    ok: true,
    mode: job.mode,
    dest: job.dest,
    n: lib ? job.n : 0,
    wallS: wall,
    bytes,
    gbps: bytes / wall / 1e9,
    cpuUserS: cpu.user / 1e6,
    cpuSysS: cpu.system / 1e6,
    endedInWindow,
    tailS,
    ramp,
    transfers: stats0 && { atStart: stats0, atEnd: stats1 },
    loop: c.loopSummary(loop),
    censored: probes.censored,
    readFile: c.summary(probes.lat.readFile),
    stat: c.summary(probes.lat.stat),
    dns: c.summary(probes.lat.dns),
  };
  process.stdout.write(`${JSON.stringify(res)}\n`);
  process.exit(0);
}

function sleep(ms) {
  return new Promise((r) => setTimeout(r, ms));
}

// ---------------------------------------------------------------- parent

async function parent(o) {
  c.setLibs(o);
  const { LIB, CANDIDATE } = c.libs();
  const N = o.fairN;
  const DESTS = o.fairDests;
  const MODES = o.fairModes;
  const ROUNDS = o.fairRounds;
  const WINDOW_MS = o.fairWindowMs;
  const PROBE_MS = o.fairProbeMs;
  const SLOW_RATE = o.fairSlowRate;
  const SETTLE_MS = 1000;
  const RAMP_CAP_MS = 60000;
  // Probes still out this long after the window count as "at least" that long.
  const TAIL_CAP_MS = o.fairTailCapMs;

  const dir = path.join(os.tmpdir(), 'zerocopy-reliability');
  fs.mkdirSync(dir, { recursive: true });
  const src = path.join(dir, 'source-1g');
  const small = path.join(dir, 'small-4k');
  c.makeFile(src, GiB);
  c.makeFile(small, 4096);
  const destFiles = Array.from({ length: 8 }, (_, i) => path.join(dir, `fair-dest-${i}`));
  const sinkBin = c.buildSink();
  const sink = c.sink(sinkBin, SLOW_RATE);
  const port = await sink.port;
  c.log(
    `fairness: n=${N} window=${WINDOW_MS}ms probe every ${PROBE_MS}ms, ${ROUNDS} rounds, dests ${DESTS}, modes ${MODES}` +
      `${SLOW_RATE ? `, slow sink ${SLOW_RATE} B/s per connection` : ''}, lib ${LIB}${CANDIDATE ? `, candidate ${CANDIDATE}` : ''}`,
  );

  const runs = [];
  try {
    for (let round = 0; round < ROUNDS; round++) {
      for (const dest of DESTS) {
        const order = MODES.map((_, i) => MODES[(i + round) % MODES.length]);
        for (const mode of order) {
          // The source read back into the page cache, the shared destinations empty.
          c.warm(src);
          for (const f of destFiles) fs.writeFileSync(f, '');
          const job = {
            mode,
            lib: c.libFor(mode),
            dest,
            n: N,
            port,
            src,
            small,
            destFiles,
            windowMs: WINDOW_MS,
            probeMs: PROBE_MS,
            settleMs: SETTLE_MS,
            rampCapMs: RAMP_CAP_MS,
            tailCapMs: TAIL_CAP_MS,
          };
          const sink0 = await sink.stats();
          const res = await c.runChild(__filename, job, c.modeEnv(mode), 300000);
          const sink1 = await sink.stats();
          res.round = round;
          res.sinkBytes = sink1.bytes - sink0.bytes;
          if (res.endedInWindow > 0) c.log(`  warning: ${res.endedInWindow} transfers ended inside the window`);
          if (!res.ramp.all) c.log(`  warning: not all transfers under way after ${RAMP_CAP_MS / 1000} s`);
          c.log(
            `  round ${round} ${dest.padEnd(6)} ${mode.padEnd(8)} under way in ${res.ramp.s.toFixed(1)} s, ${res.gbps.toFixed(2)} GB/s  readFile p99 ${c.fmtMs(res.readFile.p99)}` +
              `  stat p99 ${c.fmtMs(res.stat.p99)}  dns p99 ${c.fmtMs(res.dns.p99)}  loop p99 ${c.fmtMs(res.loop.p99)}` +
              `${res.transfers ? `  kernel transfers ${res.transfers.atEnd.running} (${res.transfers.atEnd.waiting} waiting)` : ''}`,
          );
          runs.push(res);
        }
      }
    }
  } finally {
    sink.stop();
    for (const f of destFiles) fs.rmSync(f, { force: true });
  }

  const config = {
    n: N,
    windowMs: WINDOW_MS,
    probeMs: PROBE_MS,
    tailCapMs: TAIL_CAP_MS,
    rounds: ROUNDS,
    slowRate: SLOW_RATE,
    lib: LIB,
    candidate: CANDIDATE,
    machine: c.machine(),
  };
  const md = render(runs, DESTS, MODES, config);
  process.stdout.write(md);
  const out = path.join(c.ROOT, 'bench', 'out');
  fs.mkdirSync(out, { recursive: true });
  fs.writeFileSync(path.join(out, 'reliability-fairness.json'), `${JSON.stringify({ config, runs }, null, 1)}\n`);
  process.stdout.write(`${JSON.stringify({ config, summary: summarize(runs, DESTS, MODES) })}\n`);
}

function r0(rs) {
  return rs[0];
}

// Per (dest, mode): the median over rounds of each figure, and the p99s' min-max.
function summarize(runs, dests, modes) {
  const out = [];
  for (const dest of dests) {
    for (const mode of modes) {
      const rs = runs.filter((r) => r.dest === dest && r.mode === mode);
      if (rs.length === 0) continue;
      const pick = (f) => c.median(rs.map(f));
      const range = (f) => [Math.min(...rs.map(f)), Math.max(...rs.map(f))];
      // Share of a kind's probes still out at the tail cap (their figure is a lower bound).
      const lat = (k) => ({
        p50: pick((r) => r[k].p50),
        p99: pick((r) => r[k].p99),
        max: pick((r) => r[k].max),
        p99Range: range((r) => r[k].p99),
        censored: Math.max(...rs.map((r) => r.censored[k] / r[k].n)),
      });
      out.push({
        dest,
        mode,
        rounds: rs.length,
        gbps: pick((r) => r.gbps),
        cpuPerGiB: pick((r) => (r.bytes ? (r.cpuUserS + r.cpuSysS) / (r.bytes / GiB) : NaN)),
        readFile: lat('readFile'),
        stat: lat('stat'),
        dns: lat('dns'),
        loop: { p99: pick((r) => r.loop.p99), max: pick((r) => r.loop.max) },
        samples: pick((r) => r.readFile.n),
        rampS: pick((r) => r.ramp.s),
        kernelTransfers: r0(rs).transfers ? pick((r) => r.transfers.atEnd.running) : 0,
        endedInWindow: Math.max(...rs.map((r) => r.endedInWindow)),
      });
    }
  }
  return out;
}

function pc(x) {
  return `${(100 * x).toFixed(0)}%`;
}

function render(runs, dests, modes, config) {
  const label = {
    idle: 'no transfers',
    node: "Node's streams (ZEROCOPY_DISABLE=1)",
    stock: 'node:fs streams',
    zerocopy: 'zerocopy',
    candidate: 'zerocopy candidate',
    candidate2: 'zerocopy candidate 2',
    candidate3: 'zerocopy candidate 3',
  };
  const m = config.machine;
  let s = `\n### Threadpool fairness: ${config.n} concurrent transfers, median of ${config.rounds} rounds\n\n`;
  s +=
    `${m.nproc} cores, Linux ${m.kernel}, Node ${m.node}, UV_THREADPOOL_SIZE=${m.threadpool}, load average ${m.loadavg.map((x) => x.toFixed(1)).join(' ')} at the end; ` +
    `${(config.windowMs / 1000).toFixed(0)} s window, one probe of each kind every ${config.probeMs} ms` +
    `${config.slowRate ? `; sink reads ${(config.slowRate / 1e6).toFixed(1)} MB/s per connection` : ''}.\n\n`;
  s +=
    '| destination | transfers | all under way after | moved GB/s | CPU s/GiB | fs.readFile 4 KiB p50 / p99 / max | fs.stat p99 | dns.lookup p50 / p99 / max | loop delay p99 / max |\n';
  s += '|---|---|---:|---:|---:|---|---:|---|---|\n';
  for (const r of summarize(runs, dests, modes)) {
    const at = (x, p) => `${x.censored > 1 - p / 100 ? '≥ ' : ''}${c.fmtMs(p === 100 ? x.max : x[`p${p}`])}`;
    const lat = (x) => `${at(x, 50)} / ${at(x, 99)} / ${at(x, 100)}`;
    s +=
      `| ${r.dest} | ${label[r.mode]}${r.kernelTransfers ? ` (${r.kernelTransfers} in the kernel)` : ''} | ` +
      `${r.mode === 'idle' ? '–' : `${r.rampS.toFixed(1)} s`} | ${r.mode === 'idle' ? '–' : r.gbps.toFixed(2)} | ${r.mode === 'idle' ? '–' : r.cpuPerGiB.toFixed(2)} | ${lat(r.readFile)} | ` +
      `${at(r.stat, 99)} | ${lat(r.dns)} | ${c.fmtMs(r.loop.p99)} / ${c.fmtMs(r.loop.max)} |\n`;
  }
  s += `\n"≥": probes still out ${config.tailCapMs / 1000} s after the window were counted with the time they had waited.\n`;
  s += '\np99 ranges over rounds (readFile; dns):\n';
  for (const r of summarize(runs, dests, modes)) {
    s +=
      `- ${r.dest} ${r.mode}: ${c.fmtMs(r.readFile.p99Range[0])}–${c.fmtMs(r.readFile.p99Range[1])}; ` +
      `${c.fmtMs(r.dns.p99Range[0])}–${c.fmtMs(r.dns.p99Range[1])} (${r.samples} samples each` +
      `${r.dns.censored || r.readFile.censored ? `; still out at the tail cap: readFile ${pc(r.readFile.censored)}, dns ${pc(r.dns.censored)}` : ''})\n`;
  }
  return s;
}
