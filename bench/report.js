'use strict';
// Turns bench/out/results.json into docs/benchmarks.md and docs/benchmarks.svg.
// `node bench/report.js` re-renders from the last results without re-running.
const fs = require('node:fs');
const path = require('node:path');
const { renderHttp } = require('./http');

const KiB = 1024;
const MiB = 1024 * KiB;
const GiB = 1024 * MiB;
// MIN_FAST_PATH_BYTES (src/fastpath/pipe-from-file.ts) as the run recorded it
// (config.fastPathMin); results from before it was recorded had 64 KiB.
let FAST_PATH_DEFAULT_MIN = 64 * KiB;

// ---------------------------------------------------------------- stats

function quantile(xs, q) {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const i = (s.length - 1) * q;
  const lo = Math.floor(i);
  return s[lo] + (s[Math.ceil(i)] - s[lo]) * (i - lo);
}
const median = (xs) => quantile(xs, 0.5);
const min = (xs) => Math.min(...xs.filter(Number.isFinite));
const max = (xs) => Math.max(...xs.filter(Number.isFinite));

// Derived per-run metrics.
function metrics(r) {
  const gib = r.bytes / GiB;
  const cpu = r.user + r.sys;
  return {
    thr: r.bytes / r.wall,                       // bytes per second of wall time
    rate: r.transfers / r.wall,                  // transfers per second
    user: r.user / gib,                          // CPU seconds per GiB
    sys: r.sys / gib,
    cpu: cpu / gib,
    cpuPerTransfer: cpu / r.transfers,           // seconds
    rss: r.maxRssKiB / 1024,                     // MiB
    loopP50: r.loopP50,
    loopP99: r.loopP99,
    loopMax: r.loopMax,
    latP50: r.latP50,
    latP99: r.latP99,
    latP999: r.latP999,
    recvBusy: r.recvBusy,
    clientBusy: r.clientBusy,
    userPerTransfer: r.user / r.transfers,
    fast: fastShare(r),
  };
}

// Share of flows that took a kernel path, from the diagnostics channel.
function fastShare(r) {
  if (!r.paths) return undefined;
  let fast = 0;
  let all = 0;
  for (const [k, n] of Object.entries(r.paths)) {
    all += n;
    if (!k.startsWith('normal')) fast += n;
  }
  return all === 0 ? undefined : fast / all;
}

function group(runs, pred) {
  const rs = runs.filter(pred);
  const ms = rs.map(metrics);
  const pick = (k) => ms.map((m) => m[k]);
  return { runs: rs, ms, pick, n: rs.length };
}

// Ratio of a metric between two variants, paired by round (the runs of one
// round were interleaved, so they saw the same machine): median and range.
function pairedRatio(a, b, key) {
  const byRound = new Map(b.runs.map((r, i) => [r.round, b.ms[i][key]]));
  const rs = [];
  a.runs.forEach((r, i) => {
    const base = byRound.get(r.round);
    if (base > 0 && Number.isFinite(a.ms[i][key])) rs.push(a.ms[i][key] / base);
  });
  return { med: median(rs), lo: min(rs), hi: max(rs), n: rs.length };
}

// Difference a - b of a metric, paired by round: median and range.
function pairedDiff(a, b, key) {
  const byRound = new Map(b.runs.map((r, i) => [r.round, b.ms[i][key]]));
  const ds = [];
  a.runs.forEach((r, i) => {
    const base = byRound.get(r.round);
    if (Number.isFinite(base) && Number.isFinite(a.ms[i][key])) ds.push(a.ms[i][key] - base);
  });
  return { med: median(ds), lo: min(ds), hi: max(ds), n: ds.length };
}

// ---------------------------------------------------------------- formatting

function fmtSize(n) {
  if (n >= GiB && n % GiB === 0) return `${n / GiB} GiB`;
  if (n >= MiB && n % MiB === 0) return `${n / MiB} MiB`;
  if (n >= KiB && n % KiB === 0) return `${n / KiB} KiB`;
  return `${n} B`;
}

function num(x, digits) {
  if (!Number.isFinite(x)) return '–';
  if (digits !== undefined) return x.toFixed(digits);
  const a = Math.abs(x);
  if (a >= 100) return x.toFixed(0);
  if (a >= 10) return x.toFixed(1);
  if (a >= 1) return x.toFixed(2);
  return x.toPrecision(2);
}

function rng(xs, f) {
  return `${f(median(xs))} (${f(min(xs))}–${f(max(xs))})`;
}

function ratio(r) {
  if (!r || !Number.isFinite(r.med)) return '–';
  return `${num(r.med, 2)}× (${num(r.lo, 2)}–${num(r.hi, 2)})`;
}

function table(head, rows) {
  const lines = [`| ${head.join(' | ')} |`, `|${head.map((h, i) => (i === 0 ? ' --- ' : ' ---: ')).join('|')}|`];
  for (const r of rows) lines.push(`| ${r.join(' | ')} |`);
  return lines.join('\n');
}

const gibs = (x) => num(x / GiB, 2);
const ms = (x) => num(x * 1000, 3);
const loopCell = (g) => `${num(median(g.pick('loopP50')), 2)} / ${num(median(g.pick('loopP99')), 2)} / ${num(max(g.pick('loopMax')), 1)}`;

// ---------------------------------------------------------------- big-file tables

function bigTable(runs, workload, variants) {
  const groups = variants.map((v) => ({ v, g: group(runs, (r) => r.workload === workload && r.variant === v) }))
    .filter((x) => x.g.n > 0);
  const base = groups.find((x) => x.v === 'node');
  const ceil = groups.find((x) => x.v === 'c');
  const rows = groups.map(({ v, g }) => {
    const name = g.runs[0].name;
    const isC = v === 'c';
    const fast = g.pick('fast').filter((x) => x !== undefined);
    return [
      `${name}${fast.length && median(fast) < 1 ? ' ⚠ fast path not taken' : ''}`,
      rng(g.pick('thr'), gibs),
      base ? ratio(pairedRatio(g, base.g, 'thr')) : '–',
      ceil ? ratio(pairedRatio(g, ceil.g, 'thr')) : '–',
      num(median(g.pick('user')), 3),
      num(median(g.pick('sys')), 3),
      rng(g.pick('cpu'), (x) => num(x, 3)),
      base ? ratio(pairedRatio(g, base.g, 'cpu')) : '–',
      `${num(median(g.pick('rss')), 0)} (max ${num(max(g.pick('rss')), 0)})`,
      isC || workload === 'copy' && v === 'c' ? 'n/a (no event loop)' : loopCell(g),
      ...(workload === 'socket' ? [`${num(median(g.pick('recvBusy')) * 100, 0)}% (max ${num(max(g.pick('recvBusy')) * 100, 0)}%)`] : []),
    ];
  });
  const head = ['variant', 'throughput GiB/s', 'vs Node', 'vs C ceiling', 'CPU user s/GiB', 'CPU sys s/GiB',
    'CPU total s/GiB', 'CPU vs Node', 'peak RSS MiB', 'loop delay p50 / p99 / max ms'];
  if (workload === 'socket') head.push('receiver CPU (of one core)');
  return table(head, rows);
}

// ---------------------------------------------------------------- small-file tables

function fastKey(size) { return size < FAST_PATH_DEFAULT_MIN ? 'zerocopy-forced' : 'zerocopy'; }

function smallTable(runs, conns, sizes) {
  const rows = [];
  for (const size of sizes) {
    const at = (v) => group(runs, (r) => r.workload === 'small' && r.conns === conns && r.size === size && r.variant === v);
    const base = at('node');
    const ceil = at('c');
    for (const v of ['node', 'zerocopy', 'zerocopy-forced', 'c']) {
      const g = at(v);
      if (g.n === 0) continue;
      const fast = g.pick('fast').filter((x) => x !== undefined);
      rows.push([
        fmtSize(size),
        g.runs[0].name,
        rng(g.pick('rate'), (x) => num(x, 0)),
        v === 'node' ? '1' : ratio(pairedRatio(g, base, 'rate')),
        v === 'c' ? '1' : ratio(pairedRatio(g, ceil, 'rate')),
        `${ms(median(g.pick('latP50')))} / ${ms(median(g.pick('latP99')))}`,
        num(median(g.pick('cpuPerTransfer')) * 1e6, 0),
        num(median(g.pick('cpu')), 2),
        num(median(g.pick('rss')), 0),
        v === 'c' ? 'n/a' : num(median(g.pick('loopP99')), 2),
        fast.length ? `${num(median(fast) * 100, 0)}%` : v === 'c' ? 'all' : '0% (Node)',
      ]);
    }
  }
  return table(['size', 'variant', 'transfers/s', 'vs Node', 'vs C ceiling', 'latency p50 / p99 ms',
    'CPU µs/transfer', 'CPU s/GiB', 'peak RSS MiB', 'loop p99 ms', 'fast path taken'], rows);
}

// Where does the kernel path start to pay? Node vs zerocopy's fast path (forced
// below the library's threshold) at each size, paired by round.
function crossover(runs, conns, sizes) {
  const rows = [];
  const verdicts = [];
  for (const size of sizes) {
    const base = group(runs, (r) => r.workload === 'small' && r.conns === conns && r.size === size && r.variant === 'node');
    const fast = group(runs, (r) => r.workload === 'small' && r.conns === conns && r.size === size && r.variant === fastKey(size));
    if (base.n === 0 || fast.n === 0) continue;
    const rr = pairedRatio(fast, base, 'rate');
    const cr = pairedRatio(fast, base, 'cpuPerTransfer');
    // The machine is noisy: call it only when the rounds agree.
    let verdict;
    if (rr.lo > 1 && rr.med >= 1.1) verdict = 'pays (faster in every round)';
    else if (rr.med >= 1.1) verdict = 'pays (median)';
    else if (rr.hi < 1) verdict = 'slower (every round)';
    else if (rr.med <= 0.9) verdict = 'slower (median)';
    else verdict = cr.med < 0.9 ? 'same speed within noise, less CPU' : cr.med > 1.1 ? 'same speed within noise, more CPU' : 'same within noise';
    verdicts.push({ size, rr, cr, verdict });
    rows.push([fmtSize(size), num(median(base.pick('rate')), 0), num(median(fast.pick('rate')), 0), ratio(rr),
      `${num(median(base.pick('cpuPerTransfer')) * 1e6, 0)} → ${num(median(fast.pick('cpuPerTransfer')) * 1e6, 0)}`,
      ratio(cr), verdict]);
  }
  // The crossover: the smallest size from which every larger size pays too.
  let from = null;
  for (let i = verdicts.length - 1; i >= 0 && verdicts[i].verdict.startsWith('pays'); i--) from = verdicts[i];
  const tbl = table(['size', 'Node transfers/s', 'fast path transfers/s', 'rate vs Node', 'CPU µs/transfer Node → fast',
    'CPU/transfer vs Node', 'verdict'], rows);
  return { tbl, from, verdicts };
}

// ---------------------------------------------------------------- proxy tables

const PROXY_ORDER = ['node', 'zerocopy', 'register', 'c', 'direct'];
const us = (x) => num(x * 1e6, 0);

function fastCell(g, v) {
  if (v === 'c') return 'all (splice)';
  if (v === 'direct') return 'n/a';
  if (v === 'node') return '0% (Node)';
  const fast = g.pick('fast').filter((x) => x !== undefined);
  return fast.length ? `${num(median(fast) * 100, 0)}%` : '0%';
}

function proxyBulkTable(runs) {
  const at = (v) => group(runs, (r) => r.workload === 'proxy' && r.variant === v);
  const base = at('node');
  const ceil = at('c');
  const rows = [];
  for (const v of PROXY_ORDER) {
    const g = at(v);
    if (g.n === 0) continue;
    const direct = v === 'direct';
    const fast = g.pick('fast').filter((x) => x !== undefined);
    rows.push([
      `${g.runs[0].name}${fast.length && median(fast) < 1 ? ' ⚠ fast path not taken' : ''}`,
      rng(g.pick('thr'), gibs),
      base.n ? ratio(pairedRatio(g, base, 'thr')) : '–',
      ceil.n ? ratio(pairedRatio(g, ceil, 'thr')) : '–',
      direct ? '–' : num(median(g.pick('user')), 3),
      direct ? '–' : num(median(g.pick('sys')), 3),
      direct ? '–' : rng(g.pick('cpu'), (x) => num(x, 3)),
      direct || !base.n ? '–' : ratio(pairedRatio(g, base, 'cpu')),
      direct || !ceil.n ? '–' : ratio(pairedRatio(g, ceil, 'cpu')),
      direct ? '–' : `${num(median(g.pick('rss')), 0)} (max ${num(max(g.pick('rss')), 0)})`,
      v === 'c' || direct ? 'n/a' : loopCell(g),
      `${num(median(g.pick('clientBusy')) * 100, 0)}% / ${num(median(g.pick('recvBusy')) * 100, 0)}%`,
      fastCell(g, v),
    ]);
  }
  return table(['variant', 'throughput GiB/s', 'vs Node', 'vs C ceiling', 'proxy CPU user s/GiB', 'proxy CPU sys s/GiB',
    'proxy CPU total s/GiB', 'CPU vs Node', 'CPU vs C', 'proxy peak RSS MiB', 'proxy loop delay p50 / p99 / max ms',
    'client / sink CPU (of one core)', 'fast path taken'], rows);
}

function pingpongTable(runs, size) {
  const at = (v) => group(runs, (r) => r.workload === 'pingpong' && r.size === size && r.variant === v);
  const base = at('node');
  const ceil = at('c');
  const rows = [];
  for (const v of PROXY_ORDER) {
    const g = at(v);
    if (g.n === 0) continue;
    const direct = v === 'direct';
    rows.push([
      g.runs[0].name,
      rng(g.pick('rate'), (x) => num(x, 0)),
      base.n ? ratio(pairedRatio(g, base, 'rate')) : '–',
      ceil.n ? ratio(pairedRatio(g, ceil, 'rate')) : '–',
      rng(g.pick('latP50'), us),
      base.n ? ratio(pairedRatio(g, base, 'latP50')) : '–',
      rng(g.pick('latP99'), us),
      base.n ? ratio(pairedRatio(g, base, 'latP99')) : '–',
      us(median(g.pick('latP999'))),
      direct ? '–' : `${num(median(g.pick('cpuPerTransfer')) * 1e6, 1)} (${num(median(g.pick('userPerTransfer')) * 1e6, 1)})`,
      direct || !base.n ? '–' : ratio(pairedRatio(g, base, 'cpuPerTransfer')),
      direct ? '–' : num(median(g.pick('rss')), 0),
      `${num(median(g.pick('clientBusy')) * 100, 0)}% / ${num(median(g.pick('recvBusy')) * 100, 0)}%`,
      fastCell(g, v),
    ]);
  }
  return table(['variant', 'exchanges/s', 'vs Node', 'vs C ceiling', 'latency p50 µs', 'p50 vs Node', 'latency p99 µs',
    'p99 vs Node', 'p99.9 µs', 'proxy CPU µs/exchange (user)', 'CPU/exchange vs Node', 'proxy peak RSS MiB',
    'client / echo CPU (of one core)', 'fast path taken'], rows);
}

// Latency a proxy adds: its p50/p99 minus the direct connection's, same round.
function addedLatencyTable(runs, sizes) {
  const rows = [];
  for (const size of sizes) {
    const at = (v) => group(runs, (r) => r.workload === 'pingpong' && r.size === size && r.variant === v);
    const direct = at('direct');
    if (!direct.n) continue;
    for (const v of PROXY_ORDER.filter((x) => x !== 'direct')) {
      const g = at(v);
      if (!g.n) continue;
      const d50 = pairedDiff(g, direct, 'latP50');
      const d99 = pairedDiff(g, direct, 'latP99');
      rows.push([fmtSize(size), g.runs[0].name, `${us(d50.med)} (${us(d50.lo)}–${us(d50.hi)})`,
        `${us(d99.med)} (${us(d99.lo)}–${us(d99.hi)})`]);
    }
  }
  return table(['size', 'proxy', 'added p50 µs', 'added p99 µs'], rows);
}

// The issue's requirement: "the zerocopy proxy must never add latency to small
// exchanges". Per size and percentile, zerocopy vs Node's proxy, paired by round.
function latencyCall(r) {
  if (!Number.isFinite(r.med)) return 'no data';
  if (r.lo > 1) return 'higher in every round';
  if (r.med >= 1.1) return 'higher (median)';
  if (r.hi < 1) return 'lower in every round';
  if (r.med <= 0.9) return 'lower (median)';
  return 'same within noise';
}

function latencyVerdicts(runs, sizes, variant = 'zerocopy') {
  const out = [];
  for (const size of sizes) {
    const base = group(runs, (r) => r.workload === 'pingpong' && r.size === size && r.variant === 'node');
    const g = group(runs, (r) => r.workload === 'pingpong' && r.size === size && r.variant === variant);
    if (!base.n || !g.n) continue;
    const p50 = pairedRatio(g, base, 'latP50');
    const p99 = pairedRatio(g, base, 'latP99');
    const rate = pairedRatio(g, base, 'rate');
    out.push({ size, p50, p99, rate, c50: latencyCall(p50), c99: latencyCall(p99) });
  }
  return out;
}

// ---------------------------------------------------------------- below the threshold

// zerocopy as shipped below MIN_FAST_PATH_BYTES (it declines the fast path) vs Node.
function declineRows(runs, conns, sizes, workload = 'small', variant = 'zerocopy') {
  const out = [];
  for (const size of sizes.filter((x) => x < FAST_PATH_DEFAULT_MIN)) {
    const at = (v) => group(runs, (r) => r.workload === workload && r.conns === conns && r.size === size && r.variant === v);
    const base = at('node');
    const zc = at(variant);
    if (!base.n || !zc.n) continue;
    const rr = pairedRatio(zc, base, 'rate');
    const cr = pairedRatio(zc, base, 'cpuPerTransfer');
    const lr = pairedRatio(zc, base, 'latP50');
    const fast = zc.pick('fast').filter((x) => x !== undefined);
    let verdict;
    if (rr.hi < 1) verdict = 'slower (every round)';
    else if (rr.med <= 0.9) verdict = 'slower (median)';
    else if (rr.lo > 1) verdict = 'faster (every round)';
    else if (rr.med >= 1.1) verdict = 'faster (median)';
    else verdict = 'on par (within noise)';
    // Transfers/s alone can hide a cost: say when CPU or latency is worse.
    const worse = [];
    if (cr.lo > 1) worse.push('more CPU in every round');
    else if (cr.med >= 1.1) worse.push('more CPU (median)');
    if (lr.lo > 1) worse.push('higher p50 latency in every round');
    else if (lr.med >= 1.1) worse.push('higher p50 latency (median)');
    if (worse.length) verdict += `; but ${worse.join(', ')}`;
    out.push({ size, conns, rr, cr, lr, verdict, fast: fast.length ? median(fast) : 0,
      row: [fmtSize(size), String(conns), zc.runs[0].name, num(median(base.pick('rate')), 0), num(median(zc.pick('rate')), 0), ratio(rr),
        `${num(median(base.pick('cpuPerTransfer')) * 1e6, 0)} → ${num(median(zc.pick('cpuPerTransfer')) * 1e6, 0)}`, ratio(cr),
        ratio(lr), fast.length ? `${num(median(fast) * 100, 0)}%` : '0%', verdict] });
  }
  return out;
}

// ---------------------------------------------------------------- markdown

function renderMarkdown(results) {
  const { config, facts, runs } = results;
  FAST_PATH_DEFAULT_MIN = config.fastPathMin || 64 * KiB;
  const fpMin = fmtSize(FAST_PATH_DEFAULT_MIN);
  const has = (w) => runs.some((r) => r.workload === w);
  const out = [];
  const p = (s = '') => out.push(s);
  p('# Benchmarks');
  p();
  p('Generated by `npm run bench` (bench/run.js); re-render from the raw runs with `node bench/report.js`.');
  p(`${config.quick ? '**Quick smoke run (BENCH_QUICK=1): smaller sizes, fewer rounds — not the reference numbers.** ' : ''}` +
    `${config.rounds} rounds${config.smallRounds && config.smallRounds !== config.rounds ? ` (small files: ${config.smallRounds})` : ''}` +
    `${config.warmup ? ' after one discarded warm-up round (big files and bulk proxy)' : ''}; ` +
    'variants interleaved and their order rotated every round; each cell is the **median (min–max)** over the rounds, ' +
    'and ratios ("vs Node", "vs C ceiling") are per-round ratios between runs of the same round, median (min–max).');
  p();
  p('| machine | |');
  p('| --- | --- |');
  p(`| date | ${facts.date} |`);
  p(`| nproc | ${facts.nproc} (shared, noisy machine: trust ratios, not absolute numbers) |`);
  p(`| kernel (uname -r) | ${facts.kernel} |`);
  p(`| Node | ${facts.node} |`);
  p(`| CPU | ${facts.cpu} |`);
  p(`| memory | ${facts.memGiB} GiB |`);
  p(`| temp files | ${facts.tmpdir} (${facts.tmpFs}) |`);
  p(`| C compiler | ${facts.cc} |`);
  p(`| bench runtime | ${facts.seconds} s |`);
  if (facts.commit) p(`| library | commit ${facts.commit}${facts.srcDirty ? ' + uncommitted changes in src/ or native/ (dist/ built from the working tree)' : ''} |`);
  for (const r of facts.reruns || []) {
    p(`| re-run | ${r.workloads.join(', ')} at ${r.date} (${r.seconds} s; commit ${r.commit}${r.srcDirty ? ' + uncommitted src/' : ''}), ` +
      'replacing the first pass\'s runs of those workloads |');
  }
  p();
  if (results.failures && results.failures.length) {
    p(`**${results.failures.length} run(s) failed once and were retried:** ${results.failures.join('; ')}`);
    p();
  }
  p('How it is measured:');
  p('- Every sender (and in the proxy workloads, every proxy) is its own child process (bench/sender.js and bench/proxy.js ' +
    'for Node variants, C programs in bench/c/ for the ceilings), so CPU (`process.cpuUsage()` / `getrusage`, user and sys apart), peak RSS (VmHWM of the process, so Node variants ' +
    'include Node\'s own ~45 MiB) and event-loop delay (`monitorEventLoopDelay`, 1 ms resolution, shown as lateness beyond the ' +
    '1 ms tick) are that variant\'s alone. CPU and wall time cover the transfer only, not process start or connecting. ' +
    'With 2 cores, loop delay also counts time the main thread waited for a core while the kernel copy, the receiver ' +
    'and the neighbours were running: compare variants, not absolute values.');
  p('- Source files are real data, written and fsynced before the runs and **page-cached** (24 GiB RAM): these are ' +
    'memory→socket and memory→file numbers, not disk reads.');
  p('- Socket workloads go over loopback TCP (127.0.0.1, TCP_NODELAY on the sender) to **one receiver process for all ' +
    'variants** (bench/c/receiver.c): a thread per connection splicing socket → pipe → /dev/null, never copying to user ' +
    'space. The sender first writes an 8-byte size header; the receiver answers each complete transfer with one ack byte, ' +
    'and a transfer\'s time runs until that ack (and the source stream\'s close), so it counts bytes delivered, not bytes queued.');
  p('- On loopback the kernel does most of the TCP receive work in the *sender\'s* context, so sender sys time includes it, ' +
    'for every variant alike.');
  p('- The loop-delay monitor is itself a cost in the Node variants: its 1 ms timer takes ~20 ms of CPU per second of an ' +
    'otherwise idle loop (~2% of a core), included in their CPU figures (not in the C programs\').');
  const rss0 = (v) => median(runs.filter((r) => r.variant === v && Number.isFinite(r.rssBeforeKiB)).map((r) => r.rssBeforeKiB / 1024));
  if (Number.isFinite(rss0('node')) && Number.isFinite(rss0('zerocopy'))) {
    p(`- Node variants' peak RSS includes what loading the library costs: the senders' RSS before their first transfer is ` +
      `${num(rss0('zerocopy'), 0)} MiB with zerocopy vs ${num(rss0('node'), 0)} MiB with Node's streams (median).`);
  }
  p();
  if (config.workloads && config.workloads.length < (config.allWorkloads ? config.allWorkloads.length : 5)) {
    p(`**Partial run: only ${config.workloads.join(', ')} (BENCH_ONLY).**`);
    p();
  }

  // file -> socket
  const recv = group(runs, (r) => r.workload === 'socket' && r.variant === 'c');
  if (has('socket')) {
  p(`## file → socket: ${fmtSize(config.big)} over loopback TCP (page-cached)`);
  p();
  p('`fs.createReadStream(f).pipe(sock)` vs zerocopy\'s `createReadStream(f).pipe(sock)` (sendfile on the threadpool, 8 MiB ' +
    'chunks) vs a C program doing a bare `sendfile` loop on a blocking socket (bench/c/sendfile_client.c).');
  p();
  p(bigTable(runs, 'socket', ['node', 'zerocopy', 'c']));
  p();
  if (recv.n) {
    const busy = median(recv.pick('recvBusy'));
    p(`Receiver check: during the C ceiling runs the receiver thread used ${num(busy * 100, 0)}% of one core ` +
      `(max ${num(max(recv.pick('recvBusy')) * 100, 0)}%) — ${busy < 0.8 ? 'it spent most of its time waiting for bytes, so it keeps up with the ceiling and is not what is measured.' : '**it was close to saturated: the ceiling may be the receiver\'s, not the sender\'s.**'} ` +
      'Every run also checks that the receiver got exactly the bytes the sender claims.');
    p();
  }
  }

  // file -> file
  if (has('copy')) {
  p(`## file → file copy: ${fmtSize(config.big)} (page-cached source, destination on ${facts.tmpFs})`);
  p();
  p('`stream.pipeline(fs.createReadStream, fs.createWriteStream)` vs the same with zerocopy\'s streams (copy_file_range) ' +
    'vs `fs.copyFile` vs a C `copy_file_range` loop (bench/c/cfr_copy.c, 8 MiB per call like the library). No fsync: the copy lands in the page cache; the destination is ' +
    'deleted after every run so its dirty pages are dropped rather than written back during the next run.');
  p();
  p(bigTable(runs, 'copy', ['node', 'zerocopy', 'copyFile', 'c']));
  p();
  }

  // small files
  const sizes = config.smallSizes;
  if (has('small')) {
  p('## Many small files over loopback TCP');
  p();
  p('Files sent one after another on each connection: `createReadStream(f).pipe(sock, { end: false })`, wait for the ' +
    `receiver's ack, next file (cycling through up to 64 distinct page-cached files per size). Each run lasts ${config.smallMs} ms. ` +
    `Latency is from createReadStream() to the ack. "zerocopy" is the library as shipped (below ${fpMin}, ` +
    '`MIN_FAST_PATH_BYTES`, it declines the fast path); "ZEROCOPY_MIN_BYTES=0" forces the fast path at every size. ' +
    '"fast path taken" is the share of flows the diagnostics channel reported as sendfile.');
  p();
  for (const conns of config.smallConns) {
    p(`### ${conns} connection${conns > 1 ? 's' : ''}`);
    p();
    p(smallTable(runs, conns, sizes));
    p();
  }

  p('## Where the fast path starts to pay');
  p();
  for (const conns of config.smallConns) {
    const c = crossover(runs, conns, sizes);
    p(`${conns} connection${conns > 1 ? 's' : ''}: Node vs zerocopy's fast path (forced with ZEROCOPY_MIN_BYTES=0 below ${fpMin}).`);
    p();
    p(c.tbl);
    p();
    if (c.from) {
      p(`**Crossover (${conns} conn.): the fast path pays from ${fmtSize(c.from.size)} up** — ` +
        `${num(c.from.rr.med, 2)}× Node's transfers/s there (${num(c.from.rr.lo, 2)}–${num(c.from.rr.hi, 2)}), ` +
        `CPU per transfer ${num(c.from.cr.med, 2)}× Node's.` +
        `${c.from.size === sizes[0] ? ' That is the smallest size measured: it pays at every size tried.' : ''}`);
    } else {
      p(`**Crossover (${conns} conn.): the fast path did not pay consistently at any measured size up to the largest.**`);
    }
    const atMin = c.verdicts.find((v) => v.size === FAST_PATH_DEFAULT_MIN);
    if (atMin) {
      p(`At the library's threshold, MIN_FAST_PATH_BYTES = ${fpMin} (the smallest size it takes the fast path for by default): ` +
        `${atMin.verdict} — ${num(atMin.rr.med, 2)}× Node's transfers/s (${num(atMin.rr.lo, 2)}–${num(atMin.rr.hi, 2)}), ` +
        `CPU per transfer ${num(atMin.cr.med, 2)}×.`);
    }
    const slower = c.verdicts.filter((v) => v.verdict.startsWith('slower'));
    if (slower.length) p(`Slower than Node at: ${slower.map((v) => `${fmtSize(v.size)} (${num(v.rr.med, 2)}×)`).join(', ')}.`);
    p();
  }

  }

  // Below the threshold zerocopy declines: that decision must cost nothing.
  const declineHead = ['size', 'conns', 'variant', 'Node transfers/s', 'variant transfers/s', 'rate vs Node',
    'CPU µs/transfer Node → variant', 'CPU/transfer vs Node', 'latency p50 vs Node', 'fast path taken', 'verdict'];
  const verdictLine = (rows, what) => {
    // On par = transfers/s within noise, and neither CPU nor latency worse in every round.
    const off = rows.filter((d) => !(d.verdict.startsWith('on par') || d.verdict.startsWith('faster')) ||
      d.verdict.includes('in every round'));
    return off.length
      ? `**${what}: not on par with Node at ${off.map((d) => `${fmtSize(d.size)} × ${d.conns} conn. (transfers/s ${ratio(d.rr)}, ` +
        `CPU/transfer ${ratio(d.cr)}, p50 ${ratio(d.lr)})`).join('; ')}.** ` +
        `${rows.length > off.length ? `On par at ${rows.filter((d) => !off.includes(d)).map((d) => `${fmtSize(d.size)} × ${d.conns}`).join(', ')}.` : ''}`
      : `**${what}: on par with Node at every size below ${fpMin}** ` +
        `(transfers/s ratios ${rows.map((d) => `${fmtSize(d.size)}×${d.conns}: ${num(d.rr.med, 2)}`).join(', ')}).`;
  };
  const warmRows = declineRows(runs, 1, sizes, 'decline', 'zerocopy');
  const warmOff = declineRows(runs, 1, sizes, 'decline', 'zerocopy-disabled');
  const coldRows = has('small') ? config.smallConns.flatMap((c) => declineRows(runs, c, sizes)) : [];
  if (warmRows.length || coldRows.length) {
    p('## Below the threshold: zerocopy declining vs Node');
    p();
    p(`Below MIN_FAST_PATH_BYTES = ${fpMin} zerocopy's createReadStream() takes Node's normal path; what it adds is the ` +
      'decision (an fstat of the source first, state kept in a WeakMap). Paired by round. "on par" = median transfers/s ' +
      'ratio within 0.9–1.1, not slower in every round, and neither CPU per transfer nor p50 latency higher in every round.');
    p();
  }
  if (warmRows.length) {
    p(`### Warmed up (steady state)`);
    p();
    p(`One connection; each sender process first runs the same loop for ${config.declineWarmupMs} ms off the clock, then ` +
      `${config.declineMs} ms timed (${config.rounds} rounds; Node, zerocopy and zerocopy with ZEROCOPY_DISABLE=1 ` +
      'interleaved). With ZEROCOPY_DISABLE=1 the stream is still zerocopy\'s class but the decision stops at its first ' +
      'check: the difference between the two zerocopy rows is the decision\'s cost.');
    p();
    p(table(declineHead, [...warmRows, ...warmOff].sort((a, b) => a.size - b.size).map((d) => d.row)));
    p();
    p(verdictLine(warmRows, 'Warmed up, zerocopy as shipped'));
    if (warmOff.length) p(verdictLine(warmOff, 'Warmed up, ZEROCOPY_DISABLE=1'));
    p();
  }
  if (coldRows.length) {
    p(`### Fresh processes (the small-file sweep above)`);
    p();
    p(`Each run is a new process timed for its first ${config.smallMs} ms: this includes V8 compiling the hot paths ` +
      '(per-transfer CPU is well above the warmed-up figures for every variant), and zerocopy has more code to compile.');
    p();
    p(table(declineHead, coldRows.map((d) => d.row)));
    p();
    p(verdictLine(coldRows, 'Fresh processes'));
    p();
  }

  // TCP proxy
  const pingSizes = config.pingpongSizes || [];
  const verdicts = latencyVerdicts(runs, pingSizes);
  if (has('proxy') || has('pingpong')) {
    p('## TCP proxy over loopback: client → proxy → sink');
    p();
    p('The measured process is the **proxy**, one child process per run serving one connection: it accepts the client, ' +
      'connects upstream and joins the two sockets both ways. Variants: bench/proxy.js with Node\'s ' +
      '`stream.pipeline(client, upstream, cb); stream.pipeline(upstream, client, cb)`; the same script with zerocopy\'s ' +
      '`pipeline` (splice through a pooled 256 KiB intermediate pipe per direction); plain `client.pipe(upstream); ' +
      'upstream.pipe(client)` under `node --require zerocopy/register`; and a C proxy (bench/c/splice_proxy.c: one thread, ' +
      '`poll()`, socket → pipe → socket with `splice` both ways, pipes set to **256 KiB with F_SETPIPE_SZ**, the library\'s ' +
      'pool size) as the ceiling. "no proxy" connects the client straight to the sink: what the two ends can do without a ' +
      'proxy. All sockets have TCP_NODELAY; the Node proxies use allowHalfOpen so an EOF is passed on like the C proxy does. ' +
      'Proxy CPU, peak RSS and loop delay are measured in the proxy from accept to the end of the connection; throughput and ' +
      'latency by the client. Every run checks the bytes at the sink against the client\'s, and the proxy sockets\' ' +
      'bytesRead/bytesWritten against both.');
    p();
  }
  if (has('proxy')) {
    p(`### Bulk: ${fmtSize(config.proxyBytes)} client → sink through the proxy`);
    p();
    p('Client: bench/c/sendfile_client.c (one `sendfile` of a page-cached file, after an 8-byte header); sink: the ' +
      'receiver above (splice to /dev/null), which acks the last byte — through the proxy, so both directions carry data. ' +
      'Throughput = bytes / client time to the ack.');
    p();
    p(proxyBulkTable(runs));
    p();
    const direct = group(runs, (r) => r.workload === 'proxy' && r.variant === 'direct');
    const cpx = group(runs, (r) => r.workload === 'proxy' && r.variant === 'c');
    if (direct.n && cpx.n) {
      const dr = pairedRatio(direct, cpx, 'thr');
      const cb = median(cpx.pick('clientBusy'));
      const sb = median(cpx.pick('recvBusy'));
      p(`Ends check: without a proxy the client and sink move ${gibs(median(direct.pick('thr')))} GiB/s, ` +
        `${num(dr.med, 2)}× (${num(dr.lo, 2)}–${num(dr.hi, 2)}) what they move through the C proxy; behind the C proxy ` +
        `the client used ${num(cb * 100, 0)}% and the sink ${num(sb * 100, 0)}% of one core. ` +
        `${dr.lo > 1 && cb < 0.8 && sb < 0.8 ? 'Neither end is the bottleneck: the proxy is what is measured.' : '**An end may be the bottleneck.**'} ` +
        'With 2 cores, three busy processes share them: the C ceiling is this machine\'s, not the syscall\'s.');
      p();
    }
  }
  if (has('pingpong')) {
    p('### Request/response: small exchanges through one proxied connection');
    p();
    p('Client: bench/c/pingpong.c, strictly one exchange in flight per connection: write a request, read until the whole ' +
      'echo is back (and check it), next. Upstream: bench/c/echo_server.c (one thread per connection, read → write back). ' +
      `**Interleaved slice by slice:** each round starts every variant's proxy (one process each) and opens one connection ` +
      `through each; the client then takes the connections in turns of ${config.pingpongSliceMs || '?'} ms (A B C D E A B C ` +
      `D E …) for ${config.pingpongMs} ms per variant in all, so every variant sees the same moments of this shared machine. ` +
      'A turn is hundreds of exchanges, so the first exchange after an idle spell stays out of p99. ' +
      'Latency per exchange as the client sees it; exchanges/s over the variant\'s own turns. Proxy CPU per exchange is ' +
      'the proxy\'s user+sys over its life divided by its exchanges (user alone in brackets): an idle Node proxy waits in ' +
      'epoll for free, so the loop-delay monitor is **off** here (its 1 ms timer alone costs ~20 ms CPU per second; see the ' +
      'bulk table for loop delay). On loopback the kernel\'s TCP receive work for the next hop runs in the proxy\'s ' +
      'context, so its sys time includes that for every variant. Client / echo CPU is their CPU during the variant\'s turns.');
    p();
    for (const size of pingSizes) {
      p(`#### ${fmtSize(size)} requests and replies`);
      p();
      p(pingpongTable(runs, size));
      p();
    }
    p('Latency each proxy adds over the direct connection (its p50 / p99 minus the direct run\'s, same round; median (min–max)):');
    p();
    p(addedLatencyTable(runs, pingSizes));
    p();
    if (verdicts.length) {
      p('**Does the zerocopy proxy add latency to small exchanges?** (requirement: it must never). zerocopy `pipeline` vs ' +
        'Node\'s `stream.pipeline` proxy, per-round ratios of the client-side latency, median (min–max); "higher" = the ' +
        'ratio is above 1 in every round, or its median is ≥ 1.1.');
      p();
      p(table(['size', 'p50 vs Node', 'p50', 'p99 vs Node', 'p99', 'exchanges/s vs Node'],
        verdicts.map((v) => [fmtSize(v.size), ratio(v.p50), v.c50, ratio(v.p99), v.c99, ratio(v.rate)])));
      p();
      const regs = latencyVerdicts(runs, pingSizes, 'register');
      const adds = verdicts.filter((v) => v.c50.startsWith('higher') || v.c99.startsWith('higher'));
      p(adds.length
        ? `**Yes, at ${adds.map((v) => `${fmtSize(v.size)} (p50 ${ratio(v.p50)}, p99 ${ratio(v.p99)})`).join('; ')}.**`
        : `**No: at no size is zerocopy's p50 or p99 higher than Node's proxy** (${verdicts.map((v) =>
          `${fmtSize(v.size)}: p50 ${num(v.p50.med, 2)}×, p99 ${num(v.p99.med, 2)}×`).join('; ')}).`);
      if (regs.length) {
        p(`Under \`--require zerocopy/register\` (plain a.pipe(b)): ${regs.map((v) =>
          `${fmtSize(v.size)}: p50 ${ratio(v.p50)} (${v.c50}), p99 ${ratio(v.p99)} (${v.c99})`).join('; ')}.`);
      }
      p();
    }
  }
  // HTTP static files (bench/http.js renders its own section and targets).
  const http = has('http') || (config.http && config.workloads && config.workloads.includes('http'))
    ? renderHttp(results, { group, pairedRatio, pairedDiff, median, max, num, ratio, rng, table, fmtSize }) : null;
  if (http) p(http.md);
  // Automatic checks: what the guide asks of the fast path.
  p('## Checks');
  p();
  const checks = [];
  const sockNode = group(runs, (r) => r.workload === 'socket' && r.variant === 'node');
  const sockZc = group(runs, (r) => r.workload === 'socket' && r.variant === 'zerocopy');
  if (sockNode.n && sockZc.n) {
    const cr = pairedRatio(sockZc, sockNode, 'cpu');
    checks.push(`${cr.hi < 1 ? '✅' : '❌'} file→socket: zerocopy's sender CPU/GiB is ${num(cr.med, 2)}× Node's (${num(cr.lo, 2)}–${num(cr.hi, 2)}).`);
  }
  if (recv.n) {
    const busy = median(recv.pick('recvBusy'));
    checks.push(`${busy < 0.8 ? '✅' : '❌'} the receiver keeps up with the C ceiling (${num(busy * 100, 0)}% of one core).`);
  }
  // "The fast path must never be slower than the normal path": zerocopy as
  // shipped (its own threshold) vs Node, at every small size.
  for (const conns of has('small') ? config.smallConns : []) {
    const bad = [];
    for (const size of sizes) {
      const base = group(runs, (r) => r.workload === 'small' && r.conns === conns && r.size === size && r.variant === 'node');
      const zc = group(runs, (r) => r.workload === 'small' && r.conns === conns && r.size === size && r.variant === 'zerocopy');
      if (!base.n || !zc.n) continue;
      const rr = pairedRatio(zc, base, 'rate');
      const cr = pairedRatio(zc, base, 'cpuPerTransfer');
      const fast = median(zc.pick('fast').filter((x) => x !== undefined));
      if (rr.hi < 1 || rr.med <= 0.9) {
        bad.push(`${fmtSize(size)} (${num(rr.med, 2)}× the transfers/s, range ${num(rr.lo, 2)}–${num(rr.hi, 2)}; ` +
          `CPU/transfer ${num(cr.med, 2)}×; ${fast > 0 ? 'fast path taken' : 'fast path declined: the cost is zerocopy\'s per-stream decision'})`);
      }
    }
    checks.push(bad.length
      ? `❌ ${conns} conn.: zerocopy as shipped is slower than Node at ${bad.join('; ')}.`
      : `✅ ${conns} conn.: zerocopy as shipped is never clearly slower than Node (no size at ≤ 0.9× median or slower in every round).`);
  }
  const pxNode = group(runs, (r) => r.workload === 'proxy' && r.variant === 'node');
  const pxZc = group(runs, (r) => r.workload === 'proxy' && r.variant === 'zerocopy');
  const pxC = group(runs, (r) => r.workload === 'proxy' && r.variant === 'c');
  const pxDirect = group(runs, (r) => r.workload === 'proxy' && r.variant === 'direct');
  if (pxNode.n && pxZc.n) {
    const cr = pairedRatio(pxZc, pxNode, 'cpu');
    const tr = pairedRatio(pxZc, pxNode, 'thr');
    const fast = median(pxZc.pick('fast').filter((x) => x !== undefined));
    checks.push(`${cr.hi < 1 ? '✅' : '❌'} proxy bulk: zerocopy's proxy CPU/GiB is ${num(cr.med, 2)}× Node's (${num(cr.lo, 2)}–${num(cr.hi, 2)}); ` +
      `throughput ${num(tr.med, 2)}× (${num(tr.lo, 2)}–${num(tr.hi, 2)}); fast path taken on ${num(fast * 100, 0)}% of directions.`);
  }
  if (pxC.n && pxDirect.n) {
    const dr = pairedRatio(pxDirect, pxC, 'thr');
    const ok = dr.lo > 1 && median(pxC.pick('clientBusy')) < 0.8 && median(pxC.pick('recvBusy')) < 0.8;
    checks.push(`${ok ? '✅' : '❌'} proxy bulk: client and sink keep up with the C proxy (direct is ${num(dr.med, 2)}× faster, ` +
      `client ${num(median(pxC.pick('clientBusy')) * 100, 0)}%, sink ${num(median(pxC.pick('recvBusy')) * 100, 0)}% of one core).`);
  }
  if (warmRows.length) {
    const off = warmRows.filter((d) => !(d.verdict.startsWith('on par') || d.verdict.startsWith('faster')) || d.verdict.includes('in every round'));
    checks.push(`${off.length ? '❌' : '✅'} below ${fpMin}, warmed up: zerocopy declining is ${off.length ? 'not ' : ''}on par with Node ` +
      `(transfers/s ${warmRows.map((d) => `${fmtSize(d.size)} ${ratio(d.rr)}`).join(', ')}; CPU/transfer ` +
      `${warmRows.map((d) => `${fmtSize(d.size)} ${ratio(d.cr)}`).join(', ')}).`);
  }
  for (const v of verdicts) {
    const bad = v.c50.startsWith('higher') || v.c99.startsWith('higher');
    checks.push(`${bad ? '❌' : '✅'} ${fmtSize(v.size)} exchanges: zerocopy proxy latency p50 ${ratio(v.p50)} (${v.c50}), ` +
      `p99 ${ratio(v.p99)} (${v.c99}) of Node's proxy.`);
  }
  if (http) checks.push(...http.checks);
  for (const c of checks) p(`- ${c}`);
  p();
  p('![benchmark chart](benchmarks.svg)');
  p();
  return `${out.join('\n')}\n`;
}

// ---------------------------------------------------------------- SVG chart

function renderSvg(results) {
  const { config, runs } = results;
  // Bar groups: the two big workloads, each small size on one connection, then
  // the proxy (bulk, and each request size).
  const groups = [
    { label: `file→socket ${fmtSize(config.big)}`, sel: (r) => r.workload === 'socket' },
    { label: `file→file ${fmtSize(config.big)}`, sel: (r) => r.workload === 'copy' },
    ...config.smallSizes.map((s) => ({ label: `${fmtSize(s)} files`, sel: (r) => r.workload === 'small' && r.conns === 1 && r.size === s })),
    { label: `proxy ${fmtSize(config.proxyBytes || 0)}`, sel: (r) => r.workload === 'proxy' },
    ...(config.pingpongSizes || []).map((s) => ({ label: `ping-pong ${fmtSize(s)}`, sel: (r) => r.workload === 'pingpong' && r.size === s })),
  ].filter((g) => runs.some(g.sel));
  const series = [
    { key: 'node', label: 'Node streams', color: '#9aa0a6' },
    { key: 'zerocopy', label: 'zerocopy', color: '#1a73e8' },
    { key: 'zerocopy-forced', label: 'zerocopy, ZEROCOPY_MIN_BYTES=0', color: '#8ab4f8' },
    { key: 'register', label: 'a.pipe(b), zerocopy/register', color: '#a142f4' },
    { key: 'copyFile', label: 'fs.copyFile', color: '#f9ab00' },
    { key: 'c', label: 'C syscall loop (ceiling)', color: '#188038' },
  ];
  const panels = [
    { title: 'Throughput vs Node (× Node\'s bytes/s, transfers/s or exchanges/s, median; higher is better)',
      key: (w) => (w === 'small' || w === 'pingpong' ? 'rate' : 'thr') },
    { title: 'CPU per byte of the sender / copier / proxy vs Node (× Node\'s CPU s/GiB, median; lower is better)', key: () => 'cpu' },
  ];
  const W = 1200;
  const PH = 260;
  const top = 44;
  const left = 56;
  const gw = (W - left - 20) / Math.max(1, groups.length);
  const parts = [];
  const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;');
  // Log scale, bars drawn from the Node = 1× line: up is "more than Node".
  const TICKS = [0.01, 0.03, 0.1, 0.3, 1, 3, 10, 30, 100];
  panels.forEach((panel, pi) => {
    const y0 = top + pi * (PH + 76);
    const data = groups.map((g) => {
      const rs = runs.filter(g.sel);
      const base = group(rs, (r) => r.variant === 'node');
      return series.map((s) => {
        const gr = group(rs, (r) => r.variant === s.key);
        if (gr.n === 0 || base.n === 0) return null;
        return { s, v: pairedRatio(gr, base, panel.key(rs[0].workload)).med };
      }).filter(Boolean);
    });
    const vals = data.flat().map((d) => d.v).filter((v) => Number.isFinite(v) && v > 0);
    const lo = Math.log10(Math.min(0.5, ...vals) / 1.3);
    const hi = Math.log10(Math.max(2, ...vals) * 1.3);
    const y = (v) => y0 + PH - (PH * (Math.log10(Math.max(v, 10 ** lo)) - lo)) / (hi - lo);
    parts.push(`<text x="${left}" y="${y0 - 16}" font-size="14" font-weight="bold">${esc(panel.title)}</text>`);
    parts.push(`<line x1="${left}" y1="${y0}" x2="${left}" y2="${y0 + PH}" stroke="#333"/>`);
    for (const t of TICKS) {
      if (Math.log10(t) < lo || Math.log10(t) > hi) continue;
      const ty = y(t).toFixed(1);
      parts.push(`<line x1="${left}" y1="${ty}" x2="${W - 10}" y2="${ty}" stroke="${t === 1 ? '#444' : '#e0e0e0'}"${t === 1 ? '' : ' stroke-dasharray="3 3"'}/>`);
      parts.push(`<text x="${left - 6}" y="${(+ty + 4).toFixed(1)}" font-size="11" text-anchor="end">${t}×</text>`);
    }
    data.forEach((bars, gi) => {
      const gx = left + gi * gw;
      const bw = Math.min(26, (gw - 14) / Math.max(1, bars.length));
      const x0 = gx + (gw - bw * bars.length) / 2;
      bars.forEach((b, bi) => {
        if (!Number.isFinite(b.v) || b.v <= 0) return;
        const x = x0 + bi * bw;
        const ya = y(1);
        const yb = y(b.v);
        const h = Math.max(1, Math.abs(ya - yb));
        const ry = Math.min(ya, yb);
        parts.push(`<rect x="${x.toFixed(1)}" y="${ry.toFixed(1)}" width="${(bw - 2).toFixed(1)}" height="${h.toFixed(1)}" fill="${b.s.color}"><title>${esc(b.s.label)}: ${num(b.v, 2)}×</title></rect>`);
        const ly = b.v >= 1 ? yb - 3 : yb + 10;
        parts.push(`<text x="${(x + bw / 2 - 1).toFixed(1)}" y="${ly.toFixed(1)}" font-size="9" text-anchor="middle">${num(b.v, b.v < 10 ? 2 : 1)}</text>`);
      });
      parts.push(`<text x="${(gx + gw / 2).toFixed(1)}" y="${y0 + PH + 18}" font-size="11" text-anchor="middle">${esc(groups[gi].label)}</text>`);
    });
  });
  const H = top + panels.length * (PH + 76);
  let lx = left;
  const legend = series.map((s) => {
    const item = `<rect x="${lx}" y="${H - 12}" width="12" height="12" fill="${s.color}"/>` +
      `<text x="${lx + 16}" y="${H - 2}" font-size="11">${esc(s.label)}</text>`;
    lx += 34 + s.label.length * 6.6;
    return item;
  }).join('');
  const note = `Small files: one connection, files sent back to back. Proxy: the proxy process's CPU; ping-pong = request/response exchanges. Log scale. ${config.quick ? 'QUICK smoke run. ' : ''}Source: docs/benchmarks.md`;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H + 28}" viewBox="0 0 ${W} ${H + 28}" font-family="sans-serif">\n` +
    `<rect width="100%" height="100%" fill="white"/>\n${parts.join('\n')}\n${legend}\n` +
    `<text x="${left}" y="${H + 20}" font-size="10" fill="#555">${esc(note)}</text>\n</svg>\n`;
}

module.exports = { renderMarkdown, renderSvg };

if (require.main === module) {
  const root = path.join(__dirname, '..');
  const results = JSON.parse(fs.readFileSync(path.join(__dirname, 'out', 'results.json'), 'utf8'));
  const md = renderMarkdown(results);
  fs.writeFileSync(path.join(root, 'docs', 'benchmarks.md'), md);
  fs.writeFileSync(path.join(root, 'docs', 'benchmarks.svg'), renderSvg(results));
  process.stdout.write(md);
}
