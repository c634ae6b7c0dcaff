'use strict';
// Cold cache (issue #8): a 1 GiB file of real data, dropped from the page
// cache, sent to a socket and to a file. How late does the event loop run,
// and how long do a concurrent fs.readFile and dns.lookup take, zerocopy
// beside Node's streams? And how long does one pool job (a cold sendfile or
// copy_file_range chunk; a 64 KiB read for Node's streams) hold its thread?
//
//   node bench/reliability/cold-cache.js [options]   (or: npm run bench:reliability; --help lists
//   the --cold-* options). Cold: the files' pages evicted (bench/reliability/evict.c, posix_fadvise
//   DONTNEED) before each run, or with --cold-drop global `echo 3 > /proc/sys/vm/drop_caches` (root;
//   every process's cache, so not the default on a shared machine). --cold-time-jobs is off by
//   default: the hooks' cost per async operation would slow Node's streams (tens of thousands of
//   operations per GiB) far more than zerocopy, so job times come from their own runs.
//
// Probes: fs.readFile of a 4 KiB file in the page cache, fs.readFile of a
// 4 KiB file not in it (a fresh one per probe, all evicted before the run),
// dns.lookup('localhost'). With --cold-time-jobs pool jobs are timed with async_hooks, from the
// job's creation to its callback (zerocopy:copy for zerocopy, FSREQCALLBACK
// for Node's streams, the probes' own requests left out): with one transfer
// nothing queues ahead of it, so that is the time it held a thread.
// Prints a markdown table and writes bench/out/reliability-cold-cache.json.
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const net = require('node:net');
const asyncHooks = require('node:async_hooks');
const { execFileSync } = require('node:child_process');
const { monitorEventLoopDelay } = require('node:perf_hooks');
const c = require('./common');

const { KiB, MiB, GiB } = c;
const COLD_FILES = 4000;

c.runScript(module, 'cold-cache', child, parent);
module.exports = { parent };

// ---------------------------------------------------------------- child

async function child(job) {
  process.on('uncaughtException', (err) => {
    process.stderr.write(`${err.stack}\n`);
    process.exit(1);
  });
  const lib = job.mode === 'idle' ? null : require(job.lib);

  // Pool job timing. Requests made by a probe (and those made from their
  // callbacks) are not the transfer's: left out.
  const tracked = job.mode === 'node' ? 'FSREQCALLBACK' : 'zerocopy:copy';
  const born = new Map();
  const probeIds = new Set();
  const holds = [];
  let inProbe = false;
  if (job.timeJobs)
    asyncHooks
      .createHook({
        init(id, type, trigger) {
          if (inProbe || probeIds.has(trigger) || probeIds.has(asyncHooks.executionAsyncId())) {
            probeIds.add(id);
            return;
          }
          if (type === tracked) born.set(id, process.hrtime.bigint());
        },
        before(id) {
          const t = born.get(id);
          if (t !== undefined) {
            born.delete(id);
            holds.push(Number(process.hrtime.bigint() - t) / 1e6);
          }
        },
        destroy(id) {
          probeIds.delete(id);
        },
      })
      .enable();

  let coldNext = 0;
  const coldFiles = Array.from({ length: job.coldCount }, (_, i) => path.join(job.coldDir, String(i)));
  const probe = (fn) => (cb) => {
    inProbe = true;
    try {
      fn(cb);
    } finally {
      inProbe = false;
    }
  };
  const kinds = {
    readFile: probe((cb) => fs.readFile(job.smallWarm, cb)),
    readFileCold: probe((cb) => fs.readFile(coldFiles[coldNext++ % coldFiles.length], cb)),
    dns: probe((cb) => require('node:dns').lookup('localhost', cb)),
  };
  // First calls load code: done before the clock, on warm files only.
  await c.warmProbes({ readFile: kinds.readFile, dns: kinds.dns });

  const part = Math.floor(job.size / job.n);
  const dests = [];
  if (lib && job.dest === 'socket') {
    for (let i = 0; i < job.n; i++) {
      dests.push(
        await new Promise((resolve, reject) => {
          const s = net.connect(job.port, '127.0.0.1', () => resolve(s));
          s.once('error', reject);
        }),
      );
    }
  }
  const loop = monitorEventLoopDelay({ resolution: 2 });
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  loop.enable();
  const probes = c.startProbes(kinds, job.probeMs);
  let bytes = 0;
  if (lib) {
    await Promise.all(
      Array.from(
        { length: job.n },
        (_, i) =>
          new Promise((resolve, reject) => {
            const rs = lib.createReadStream(job.src, { start: i * part, end: (i + 1) * part - 1 });
            const ws =
              job.dest === 'socket' ? dests[i] : lib.createWriteStream(job.destFile, { flags: 'r+', start: i * part });
            rs.once('error', reject);
            ws.once('error', reject);
            ws.once('finish', () => {
              bytes += rs.bytesRead;
              resolve();
            });
            rs.pipe(ws);
          }),
      ),
    );
  } else {
    await new Promise((r) => setTimeout(r, job.idleMs));
  }
  const wall = Number(process.hrtime.bigint() - t0) / 1e9;
  loop.disable();
  const cpu = process.cpuUsage(cpu0);
  await probes.stop(10000);
  for (const s of dests) s.destroy();

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
    loop: c.loopSummary(loop),
    censored: probes.censored,
    readFile: c.summary(probes.lat.readFile),
    readFileCold: c.summary(probes.lat.readFileCold),
    dns: c.summary(probes.lat.dns),
    poolJob: { type: tracked, ...c.summary(holds) },
  };
  process.stdout.write(`${JSON.stringify(res)}\n`);
  process.exit(0);
}

// ---------------------------------------------------------------- parent

async function parent(o) {
  c.setLibs(o);
  const { LIB, CANDIDATE } = c.libs();
  const N = o.coldN;
  const DESTS = o.coldDests;
  const MODES = o.coldModes;
  const ROUNDS = o.coldRounds;
  const PROBE_MS = o.coldProbeMs;
  const DROP = o.coldDrop;
  const STATES = o.coldStates;
  const TIME_JOBS = o.coldTimeJobs;
  const IDLE_MS = 2000;
  if (!['file', 'global'].includes(DROP)) throw new Error('--cold-drop: file or global');

  const dir = path.join(os.tmpdir(), 'zerocopy-reliability');
  const coldDir = path.join(dir, 'cold-4k');
  fs.mkdirSync(coldDir, { recursive: true });
  const src = path.join(dir, 'source-1g');
  const smallWarm = path.join(dir, 'small-4k');
  c.makeFile(src, GiB);
  c.makeFile(smallWarm, 4 * KiB);
  const coldFiles = Array.from({ length: COLD_FILES }, (_, i) => path.join(coldDir, String(i)));
  if (!fs.existsSync(coldFiles[COLD_FILES - 1])) {
    const buf = require('node:crypto').randomBytes(4 * KiB);
    for (const f of coldFiles) fs.writeFileSync(f, buf);
    execFileSync('sync');
  }
  const destFile = path.join(dir, 'cold-dest');
  const sink = c.sink(c.buildSink());
  const port = await sink.port;
  c.log(
    `cold-cache: n=${N} states ${STATES} drop=${DROP}${TIME_JOBS ? ', pool jobs timed' : ''}, probe every ${PROBE_MS} ms, ${ROUNDS} rounds, ` +
      `dests ${DESTS}, modes ${MODES}, lib ${LIB}${CANDIDATE ? `, candidate ${CANDIDATE}` : ''}`,
  );

  const runs = [];
  try {
    for (let round = 0; round < ROUNDS; round++) {
      for (const dest of DESTS)
        for (const state of STATES) {
          for (const mode of MODES.map((_, i) => MODES[(i + round) % MODES.length])) {
            if (mode === 'idle' && state !== STATES[0]) continue; // no transfer: the source's state is moot
            const WARM = state === 'warm';
            fs.rmSync(destFile, { force: true });
            fs.writeFileSync(destFile, '');
            // No dirty pages from the last run's destination left to write back meanwhile.
            execFileSync('sync');
            if (WARM) c.warm(src);
            else if (DROP === 'global') fs.writeFileSync('/proc/sys/vm/drop_caches', '3');
            else c.evict([src]);
            c.evict(coldFiles);
            c.warm(smallWarm);
            const cached = c.cachedBytes(src);
            if (!WARM && cached > 16 * MiB) throw new Error(`${src}: ${cached} bytes still cached after eviction`);
            const job = {
              mode,
              lib: c.libFor(mode),
              dest,
              timeJobs: TIME_JOBS,
              n: N,
              port,
              src,
              size: GiB,
              smallWarm,
              coldDir,
              coldCount: COLD_FILES,
              destFile,
              probeMs: PROBE_MS,
              idleMs: IDLE_MS,
            };
            const res = await c.runChild(__filename, job, c.modeEnv(mode), 300000);
            res.round = round;
            res.state = state;
            res.cachedBefore = cached;
            c.log(
              `  round ${round} ${dest.padEnd(6)} ${state} ${mode.padEnd(9)} ${res.gbps.toFixed(2)} GB/s in ${res.wallS.toFixed(2)} s` +
                `  readFile p99 ${c.fmtMs(res.readFile.p99)}  cold readFile p99 ${c.fmtMs(res.readFileCold.p99)}  dns p99 ${c.fmtMs(res.dns.p99)}` +
                `  loop p99 ${c.fmtMs(res.loop.p99)} max ${c.fmtMs(res.loop.max)}  pool job p50 ${c.fmtMs(res.poolJob.p50)} p99 ${c.fmtMs(res.poolJob.p99)} (${res.poolJob.n})`,
            );
            runs.push(res);
          }
        }
    }
  } finally {
    sink.stop();
    fs.rmSync(destFile, { force: true });
  }
  const config = {
    n: N,
    states: STATES,
    timeJobs: TIME_JOBS,
    drop: DROP,
    probeMs: PROBE_MS,
    rounds: ROUNDS,
    idleMs: IDLE_MS,
    lib: LIB,
    candidate: CANDIDATE,
    machine: c.machine(),
  };
  process.stdout.write(render(runs, DESTS, STATES, MODES, config));
  const out = path.join(c.ROOT, 'bench', 'out');
  fs.mkdirSync(out, { recursive: true });
  fs.writeFileSync(
    path.join(out, `reliability-cold-cache${TIME_JOBS ? '-jobs' : ''}.json`),
    `${JSON.stringify({ config, runs }, null, 1)}\n`,
  );
  process.stdout.write(`${JSON.stringify({ config, summary: summarize(runs, DESTS, STATES, MODES) })}\n`);
}

function summarize(runs, dests, states, modes) {
  const out = [];
  for (const dest of dests)
    for (const state of states) {
      for (const mode of modes) {
        const rs = runs.filter((r) => r.dest === dest && r.state === state && r.mode === mode);
        if (rs.length === 0) continue;
        const pick = (f) => c.median(rs.map(f));
        const lat = (k) => ({
          p50: pick((r) => r[k].p50),
          p99: pick((r) => r[k].p99),
          max: pick((r) => r[k].max),
          p99Range: [Math.min(...rs.map((r) => r[k].p99)), Math.max(...rs.map((r) => r[k].p99))],
        });
        out.push({
          dest,
          state,
          mode,
          rounds: rs.length,
          gbps: pick((r) => r.gbps),
          wallS: pick((r) => r.wallS),
          cpuPerGiB: pick((r) => (r.bytes ? (r.cpuUserS + r.cpuSysS) / (r.bytes / GiB) : NaN)),
          loop: { p99: pick((r) => r.loop.p99), max: pick((r) => r.loop.max) },
          readFile: lat('readFile'),
          readFileCold: lat('readFileCold'),
          dns: lat('dns'),
          poolJob: { type: rs[0].poolJob.type, n: pick((r) => r.poolJob.n), ...lat('poolJob') },
          censored: Math.max(...rs.map((r) => Object.values(r.censored).reduce((a, b) => a + b, 0))),
        });
      }
    }
  return out;
}

function render(runs, dests, states, modes, config) {
  const label = {
    idle: 'no transfer',
    node: "Node's streams",
    zerocopy: 'zerocopy',
    candidate: 'zerocopy candidate',
    candidate2: 'zerocopy candidate 2',
    candidate3: 'zerocopy candidate 3',
  };
  const m = config.machine;
  const lat = (x) => `${c.fmtMs(x.p50)} / ${c.fmtMs(x.p99)} / ${c.fmtMs(x.max)}`;
  let s = `\n### Cold cache: 1 GiB of real data${config.n > 1 ? ` in ${config.n} concurrent transfers` : ''}, median of ${config.rounds} rounds\n\n`;
  s +=
    `${m.nproc} cores, Linux ${m.kernel}, Node ${m.node}, UV_THREADPOOL_SIZE=${m.threadpool}, load average ${m.loadavg.map((x) => x.toFixed(1)).join(' ')} at the end; ` +
    `cold: ${config.drop === 'global' ? 'sync; echo 3 > /proc/sys/vm/drop_caches before each run' : "the source's pages evicted (fdatasync + posix_fadvise DONTNEED) before each run"}; ` +
    'warm: the source read into the page cache first; ' +
    `one probe of each kind every ${config.probeMs} ms.\n\n`;
  s +=
    '| destination | source | transfer | GB/s | CPU s/GiB | loop delay p99 / max | readFile 4 KiB cached p50 / p99 / max | readFile 4 KiB uncached p50 / p99 / max | dns.lookup p50 / p99 / max | one pool job p50 / p99 / max |\n';
  s += '|---|---|---|---:|---:|---|---|---|---|---|\n';
  for (const r of summarize(runs, dests, states, modes)) {
    const idle = r.mode === 'idle';
    s +=
      `| ${r.dest} | ${r.state} | ${label[r.mode]} | ${idle ? '–' : r.gbps.toFixed(2)} | ${idle ? '–' : r.cpuPerGiB.toFixed(2)} | ` +
      `${c.fmtMs(r.loop.p99)} / ${c.fmtMs(r.loop.max)} | ${lat(r.readFile)} | ${lat(r.readFileCold)} | ${lat(r.dns)} | ` +
      `${idle || !config.timeJobs ? '–' : `${lat(r.poolJob)} (${r.poolJob.type}, ${r.poolJob.n} jobs)`} |\n`;
  }
  s += '\np99 ranges over rounds (readFile cached; uncached; dns):\n';
  for (const r of summarize(runs, dests, states, modes)) {
    const rg = (x) => `${c.fmtMs(x.p99Range[0])}–${c.fmtMs(x.p99Range[1])}`;
    s += `- ${r.dest} ${r.state} ${r.mode}: ${rg(r.readFile)}; ${rg(r.readFileCold)}; ${rg(r.dns)}${r.censored ? ` (${r.censored} probes still out at the cap)` : ''}\n`;
  }
  return s;
}
