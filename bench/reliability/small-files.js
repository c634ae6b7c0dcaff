'use strict';
// Small files, cold and cached (issue #16): 1,000 files of 64 KiB read at
// once ('burst') or one after another ('serial'), each by its own
// createReadStream with a 'data' consumer — Node's
// streams beside zerocopy's, whose open/read/close run in the event loop when
// the kernel says they will not wait. Cached, that must not make the loop
// late; cold (the files' pages evicted before the run), every read must go to
// the threadpool as Node's do. Measured: the burst's wall time, event-loop
// lateness, and the latency of a concurrent fs.readFile of a cached 4 KiB
// file (what the rest of the program waits for), plus, for zerocopy, how many
// opens/reads/closes ran in the loop (the zerocopy:file channel).
//
//   node bench/reliability/small-files.js [--small-rounds N]   (or: npm run bench:reliability -- --only small-files)
// Prints a markdown table and writes bench/out/reliability-small-files.json.
const fs = require('node:fs');
const path = require('node:path');
const os = require('node:os');
const { monitorEventLoopDelay } = require('node:perf_hooks');
const c = require('./common');

const { KiB } = c;
const FILES = 1000;
const SIZE = 64 * KiB;
// [pattern, page-cache state] measured, in this order each round.
const PLAN = [
  ['serial', 'cached'],
  ['serial', 'cold'],
  ['burst', 'cached'],
  ['burst', 'cold'],
];

c.runScript(module, 'small-files', child, parent);
module.exports = { parent };

// ---------------------------------------------------------------- child

async function child(job) {
  const create = job.mode === 'node' ? fs.createReadStream : require(job.lib).createReadStream;
  const where = {};
  require('node:diagnostics_channel').subscribe('zerocopy:file', (m) => {
    const k = `${m.op} ${m.where}${m.where === 'threadpool' ? ` (${m.reason})` : ''}`;
    where[k] = (where[k] || 0) + 1;
  });
  if (job.mode !== 'node') await require(path.join(job.lib, 'dist', 'internal.js')).learnMounts();
  const probe = { readFile: (cb) => fs.readFile(job.probeFile, cb) };
  await c.warmProbes(probe);
  const files = Array.from({ length: FILES }, (_, i) => path.join(job.dir, String(i)));

  const loop = monitorEventLoopDelay({ resolution: 1 });
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  loop.enable();
  const probes = c.startProbes(probe, job.probeMs);
  let bytes = 0;
  const readOne = (f) =>
    new Promise((resolve, reject) => {
      const rs = create(f);
      rs.on('data', (b) => {
        bytes += b.length;
      });
      rs.once('error', reject);
      rs.once('close', resolve);
    });
  if (job.pattern === 'burst') await Promise.all(files.map(readOne));
  else for (const f of files) await readOne(f);
  const wall = Number(process.hrtime.bigint() - t0) / 1e9;
  loop.disable();
  const cpu = process.cpuUsage(cpu0);
  await probes.stop(10000);
  if (bytes !== FILES * SIZE) throw new Error(`read ${bytes} bytes, expected ${FILES * SIZE}`);
  const res = {
    ok: true,
    mode: job.mode,
    state: job.state,
    pattern: job.pattern,
    wallMs: wall * 1e3,
    filesPerS: FILES / wall,
    cpuMs: (cpu.user + cpu.system) / 1e3,
    loop: c.loopSummary(loop),
    readFile: c.summary(probes.lat.readFile),
    where,
  };
  process.stdout.write(`${JSON.stringify(res)}\n`);
}

// ---------------------------------------------------------------- parent

async function parent(o) {
  c.setLibs(o);
  const { LIB } = c.libs();
  const rounds = o.coldRounds;
  const dir = path.join(os.tmpdir(), 'zerocopy-reliability', 'small-64k');
  fs.mkdirSync(dir, { recursive: true });
  const files = Array.from({ length: FILES }, (_, i) => path.join(dir, String(i)));
  for (const f of files) c.makeFile(f, SIZE);
  const probeFile = path.join(dir, '..', 'small-4k');
  c.makeFile(probeFile, 4 * KiB);

  const runs = [];
  const modes = ['node', 'zerocopy'];
  for (let round = 0; round < rounds; round++) {
    for (const [pattern, state] of PLAN) {
      for (const mode of round % 2 ? [...modes].reverse() : modes) {
        if (state === 'cold') c.evict(files);
        else for (const f of files) fs.readFileSync(f);
        const cached = c.cachedBytes(files[0]);
        const job = { mode, state, pattern, lib: LIB, dir, probeFile, probeMs: 2 };
        const env = c.modeEnv('zerocopy'); // ZEROCOPY_* of the caller left out; 'node' mode uses node:fs itself
        const r = await c.runChild(__filename, job, env, 120000);
        r.firstFileCachedBytes = cached;
        runs.push({ round, ...r });
        c.log(
          `small files ${pattern} ${state} ${mode} r${round}: ${r.filesPerS.toFixed(0)} files/s, loop p99 ${c.fmtMs(r.loop.p99)} max ${c.fmtMs(r.loop.max)}, readFile p99 ${c.fmtMs(r.readFile.p99)}`,
        );
      }
    }
  }
  const out = path.join(c.ROOT, 'bench', 'out');
  fs.mkdirSync(out, { recursive: true });
  fs.writeFileSync(
    path.join(out, 'reliability-small-files.json'),
    JSON.stringify({ machine: c.machine(), runs }, null, 1),
  );
  process.stdout.write(`${table(runs)}\n`);
}

function table(runs) {
  const rows = [
    '| files | variant | files/s | loop lateness p99 / max | fs.readFile p50 / p99 / max | where zerocopy ran them |',
    '| --- | --- | ---: | ---: | ---: | --- |',
  ];
  for (const [pattern, state] of PLAN) {
    for (const mode of ['node', 'zerocopy']) {
      const rs = runs.filter((r) => r.state === state && r.mode === mode && r.pattern === pattern);
      if (!rs.length) continue;
      const med = (f) => c.median(rs.map(f));
      const where = {};
      for (const r of rs) for (const [k, n] of Object.entries(r.where)) where[k] = (where[k] || 0) + n / rs.length;
      const whereText =
        mode === 'node'
          ? '(Node: all on the threadpool)'
          : Object.entries(where)
              .sort()
              .map(([k, n]) => `${k}: ${Math.round(n)}`)
              .join('; ');
      rows.push(
        `| ${FILES} × 64 KiB, ${pattern === 'burst' ? 'all at once' : 'one after another'}, ${state} | ${mode === 'node' ? "Node's fs.createReadStream" : 'zerocopy createReadStream'} | ${med((r) => r.filesPerS).toFixed(0)} | ${c.fmtMs(med((r) => r.loop.p99))} / ${c.fmtMs(med((r) => r.loop.max))} | ${c.fmtMs(med((r) => r.readFile.p50))} / ${c.fmtMs(med((r) => r.readFile.p99))} / ${c.fmtMs(med((r) => r.readFile.max))} | ${whereText} |`,
      );
    }
  }
  return rows.join('\n');
}
