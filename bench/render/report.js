'use strict';
// Turns bench/out/results.json into docs/benchmarks.md and docs/benchmarks.svg
// (prose in bench/render/report.tpl). `node bench/render/report.js` re-renders
// from the last results without re-running.
const fs = require('node:fs');
const path = require('node:path');
const { median, max, group: groupOf, pairedRatio, pairedDiff } = require('../lib/stats');
const { KiB, GiB, table, fmtSize, num, ratio, tpl } = require('../lib/md');
const { renderHttp } = require('./http');
const { renderBodies } = require('./bodies');
const { renderSvg } = require('./chart');

const t = (name, vars) => tpl('report', name, vars);
const rng = (xs, f) => `${f(median(xs))} (${f(Math.min(...xs.filter(Number.isFinite)))}–${f(max(xs))})`;
const gibs = (x) => num(x / GiB, 2);
const ms = (x) => num(x * 1000, 3);
const us = (x) => num(x * 1e6, 0);
const pct = (x) => num(x * 100, 0);
const loopCell = (g) =>
  `${num(median(g.pick('loopP50')), 2)} / ${num(median(g.pick('loopP99')), 2)} / ${num(max(g.pick('loopMax')), 1)}`;
const fastOf = (g) => g.pick('fast').filter((x) => x !== undefined);
const warnFast = (g) => (fastOf(g).length && median(fastOf(g)) < 1 ? ' ⚠ fast path not taken' : '');
const range = (r) => `${num(r.med, 2)}× (${num(r.lo, 2)}–${num(r.hi, 2)})`;

// The verdict on a ratio of transfers/s (or latency) across the rounds: called only when the rounds agree.
function call(r, [up, down]) {
  if (!Number.isFinite(r.med)) return 'no data';
  if (r.lo > 1) return `${up} in every round`;
  if (r.med >= 1.1) return `${up} (median)`;
  if (r.hi < 1) return `${down} in every round`;
  if (r.med <= 0.9) return `${down} (median)`;
  return null;
}

function render(results) {
  const { config, facts, runs } = results;
  const fpMinBytes = config.fastPathMin || 64 * KiB; // results from before it was recorded had 64 KiB
  const fpMin = fmtSize(fpMinBytes);
  // A file's first two reads (64 KiB each, the default highWaterMark) are always read into
  // JavaScript; the kernel takes what is left after them if at least fpMinBytes are.
  const firstReads = 2 * 64 * KiB;
  const fastFrom = fmtSize(firstReads + fpMinBytes);
  const group = (pred) => groupOf(runs, pred);
  const at = (w, v, extra = {}) =>
    group((r) => r.workload === w && r.variant === v && Object.entries(extra).every(([k, x]) => r[k] === x));
  const has = (w) => runs.some((r) => r.workload === w);
  const out = [];
  const p = (...ls) => out.push(...(ls.length ? ls : ['']));

  // ------------------------------------------------------------ tables
  const bigTable = (w, variants) => {
    const base = at(w, 'node');
    const ceil = at(w, 'c');
    const rows = variants
      .map((v) => [v, at(w, v)])
      .filter(([, g]) => g.n)
      .map(([v, g]) => [
        `${g.runs[0].name}${warnFast(g)}`,
        rng(g.pick('thr'), gibs),
        base.n ? ratio(pairedRatio(g, base, 'thr')) : '–',
        ceil.n ? ratio(pairedRatio(g, ceil, 'thr')) : '–',
        num(median(g.pick('user')), 3),
        num(median(g.pick('sys')), 3),
        rng(g.pick('cpu'), (x) => num(x, 3)),
        base.n ? ratio(pairedRatio(g, base, 'cpu')) : '–',
        `${num(median(g.pick('rss')), 0)} (max ${num(max(g.pick('rss')), 0)})`,
        v === 'c' ? 'n/a (no event loop)' : loopCell(g),
        ...(w === 'socket' ? [`${pct(median(g.pick('recvBusy')))}% (max ${pct(max(g.pick('recvBusy')))}%)`] : []),
      ]);
    const head = [
      'variant',
      'throughput GiB/s',
      'vs Node',
      'vs C ceiling',
      'CPU user s/GiB',
      'CPU sys s/GiB',
      'CPU total s/GiB',
      'CPU vs Node',
      'peak RSS MiB',
      'loop delay p50 / p99 / max ms',
    ];
    return table(w === 'socket' ? [...head, 'receiver CPU (of one core)'] : head, rows);
  };

  const small = (conns, size, v) => at('small', v, { conns, size });
  const smallTable = (conns) => {
    const rows = [];
    for (const size of config.smallSizes) {
      for (const v of ['node', 'zerocopy', 'zerocopy-forced', 'c']) {
        const g = small(conns, size, v);
        if (!g.n) continue;
        const fast = fastOf(g);
        rows.push([
          fmtSize(size),
          g.runs[0].name,
          rng(g.pick('rate'), (x) => num(x, 0)),
          v === 'node' ? '1' : ratio(pairedRatio(g, small(conns, size, 'node'), 'rate')),
          v === 'c' ? '1' : ratio(pairedRatio(g, small(conns, size, 'c'), 'rate')),
          `${ms(median(g.pick('latP50')))} / ${ms(median(g.pick('latP99')))}`,
          num(median(g.pick('cpuPerTransfer')) * 1e6, 0),
          num(median(g.pick('cpu')), 2),
          num(median(g.pick('rss')), 0),
          v === 'c' ? 'n/a' : num(median(g.pick('loopP99')), 2),
          fast.length ? `${pct(median(fast))}%` : v === 'c' ? 'all' : '0% (Node)',
        ]);
      }
    }
    return table(
      [
        'size',
        'variant',
        'transfers/s',
        'vs Node',
        'vs C ceiling',
        'latency p50 / p99 ms',
        'CPU µs/transfer',
        'CPU s/GiB',
        'peak RSS MiB',
        'loop p99 ms',
        'fast path taken',
      ],
      rows,
    );
  };

  // Where does the kernel path start to pay? Node vs the fast path (forced below the threshold), paired by round.
  const crossover = (conns) => {
    const rows = [];
    const verdicts = [];
    for (const size of config.smallSizes) {
      const base = small(conns, size, 'node');
      const fast = small(conns, size, size < fpMinBytes ? 'zerocopy-forced' : 'zerocopy');
      if (!base.n || !fast.n) continue;
      const rr = pairedRatio(fast, base, 'rate');
      const cr = pairedRatio(fast, base, 'cpuPerTransfer');
      let verdict;
      if (rr.lo > 1 && rr.med >= 1.1) verdict = 'pays (faster in every round)';
      else if (rr.med >= 1.1) verdict = 'pays (median)';
      else if (rr.hi < 1) verdict = 'slower (every round)';
      else if (rr.med <= 0.9) verdict = 'slower (median)';
      else if (cr.med < 0.9) verdict = 'same speed within noise, less CPU';
      else verdict = cr.med > 1.1 ? 'same speed within noise, more CPU' : 'same within noise';
      verdicts.push({ size, rr, cr, verdict });
      rows.push([
        fmtSize(size),
        num(median(base.pick('rate')), 0),
        num(median(fast.pick('rate')), 0),
        ratio(rr),
        `${num(median(base.pick('cpuPerTransfer')) * 1e6, 0)} → ${num(median(fast.pick('cpuPerTransfer')) * 1e6, 0)}`,
        ratio(cr),
        verdict,
      ]);
    }
    // The crossover: the smallest size from which every larger size pays too.
    let from = null;
    for (let i = verdicts.length - 1; i >= 0 && verdicts[i].verdict.startsWith('pays'); i--) from = verdicts[i];
    const tbl = table(
      [
        'size',
        'Node transfers/s',
        'fast path transfers/s',
        'rate vs Node',
        'CPU µs/transfer Node → fast',
        'CPU/transfer vs Node',
        'verdict',
      ],
      rows,
    );
    return { tbl, from, verdicts };
  };

  // zerocopy below MIN_FAST_PATH_BYTES (it declines the fast path) vs Node.
  const declineRows = (conns, workload, variant = 'zerocopy') =>
    config.smallSizes
      .filter((x) => x < fpMinBytes)
      .flatMap((size) => {
        const base = at(workload, 'node', { conns, size });
        const zc = at(workload, variant, { conns, size });
        if (!base.n || !zc.n) return [];
        const rr = pairedRatio(zc, base, 'rate');
        const cr = pairedRatio(zc, base, 'cpuPerTransfer');
        const lr = pairedRatio(zc, base, 'latP50');
        const fast = fastOf(zc);
        let verdict = 'on par (within noise)';
        if (rr.hi < 1) verdict = 'slower (every round)';
        else if (rr.med <= 0.9) verdict = 'slower (median)';
        else if (rr.lo > 1) verdict = 'faster (every round)';
        else if (rr.med >= 1.1) verdict = 'faster (median)';
        // Transfers/s alone can hide a cost: say when CPU or latency is worse.
        const worse = [];
        if (cr.lo > 1) worse.push('more CPU in every round');
        else if (cr.med >= 1.1) worse.push('more CPU (median)');
        if (lr.lo > 1) worse.push('higher p50 latency in every round');
        else if (lr.med >= 1.1) worse.push('higher p50 latency (median)');
        if (worse.length) verdict += `; but ${worse.join(', ')}`;
        const row = [
          fmtSize(size),
          String(conns),
          zc.runs[0].name,
          num(median(base.pick('rate')), 0),
          num(median(zc.pick('rate')), 0),
          ratio(rr),
          `${num(median(base.pick('cpuPerTransfer')) * 1e6, 0)} → ${num(median(zc.pick('cpuPerTransfer')) * 1e6, 0)}`,
          ratio(cr),
          ratio(lr),
          fast.length ? `${pct(median(fast))}%` : '0%',
          verdict,
        ];
        return [{ size, conns, rr, cr, lr, verdict, row }];
      });

  // The 'data' consumer: Node vs zerocopy (open, read, close in the loop) vs ZEROCOPY_IN_LOOP=0, paired by round.
  const READ_ORDER = ['node', 'zerocopy', 'zerocopy-pool'];
  // Opens the 'zerocopy:file' channel saw run in the loop during the warm-up (none are published with IN_LOOP=0).
  const inLoopShare = (r) => {
    const [loop, pool] = ['open loop', 'open threadpool'].map((k) => r.fileOps?.[k] ?? 0);
    return loop + pool ? loop / (loop + pool) : 0;
  };
  const readTable = () => {
    const base = at('read', 'node');
    const vsNode = (g, key) => (g.runs[0].variant === 'node' ? '1' : ratio(pairedRatio(g, base, key)));
    return table(
      [
        'variant',
        'files/s',
        'vs Node',
        'CPU µs/file (user / sys)',
        'CPU/file vs Node',
        'peak RSS MiB',
        'loop p99 ms',
        'opens in the loop (warm-up)',
      ],
      READ_ORDER.map((v) => at('read', v))
        .filter((g) => g.n)
        .map((g) => [
          g.runs[0].name,
          rng(g.pick('rate'), (x) => num(x, 0)),
          vsNode(g, 'rate'),
          `${us(median(g.pick('cpuPerTransfer')))} (${us(median(g.pick('userPerTransfer')))} / ${us(median(g.pick('sysPerTransfer')))})`,
          vsNode(g, 'cpuPerTransfer'),
          num(median(g.pick('rss')), 0),
          rng(g.pick('loopP99'), (x) => num(x, 2)),
          g.runs[0].variant === 'node' ? 'n/a (Node)' : `${pct(median(g.runs.map(inLoopShare)))}%`,
        ]),
    );
  };

  const PROXY_ORDER = ['node', 'zerocopy', 'register', 'c', 'direct'];
  const fastCell = (g, v) => {
    if (v === 'c') return 'all (splice)';
    if (v === 'direct' || v === 'node') return v === 'node' ? '0% (Node)' : 'n/a';
    return fastOf(g).length ? `${pct(median(fastOf(g)))}%` : '0%';
  };
  const busy = (g) => `${pct(median(g.pick('clientBusy')))}% / ${pct(median(g.pick('recvBusy')))}%`;
  const proxyRows = (w, size, row) => {
    const base = at(w, 'node', size ? { size } : {});
    const ceil = at(w, 'c', size ? { size } : {});
    return PROXY_ORDER.map((v) => [v, at(w, v, size ? { size } : {})])
      .filter(([, g]) => g.n)
      .map(([v, g]) => row(v, g, base, ceil, v === 'direct'));
  };
  const vs = (g, other, key, skip) => (skip || !other.n ? '–' : ratio(pairedRatio(g, other, key)));
  const proxyBulkTable = () =>
    table(
      [
        'variant',
        'throughput GiB/s',
        'vs Node',
        'vs C ceiling',
        'proxy CPU user s/GiB',
        'proxy CPU sys s/GiB',
        'proxy CPU total s/GiB',
        'CPU vs Node',
        'CPU vs C',
        'proxy peak RSS MiB',
        'proxy loop delay p50 / p99 / max ms',
        'client / sink CPU (of one core)',
        'fast path taken',
      ],
      proxyRows('proxy', 0, (v, g, base, ceil, direct) => [
        `${g.runs[0].name}${warnFast(g)}`,
        rng(g.pick('thr'), gibs),
        vs(g, base, 'thr'),
        vs(g, ceil, 'thr'),
        direct ? '–' : num(median(g.pick('user')), 3),
        direct ? '–' : num(median(g.pick('sys')), 3),
        direct ? '–' : rng(g.pick('cpu'), (x) => num(x, 3)),
        vs(g, base, 'cpu', direct),
        vs(g, ceil, 'cpu', direct),
        direct ? '–' : `${num(median(g.pick('rss')), 0)} (max ${num(max(g.pick('rss')), 0)})`,
        v === 'c' || direct ? 'n/a' : loopCell(g),
        busy(g),
        fastCell(g, v),
      ]),
    );
  const pingpongTable = (size) =>
    table(
      [
        'variant',
        'exchanges/s',
        'vs Node',
        'vs C ceiling',
        'latency p50 µs',
        'p50 vs Node',
        'latency p99 µs',
        'p99 vs Node',
        'p99.9 µs',
        'proxy CPU µs/exchange (user)',
        'CPU/exchange vs Node',
        'proxy peak RSS MiB',
        'client / echo CPU (of one core)',
        'fast path taken',
      ],
      proxyRows('pingpong', size, (v, g, base, ceil, direct) => [
        g.runs[0].name,
        rng(g.pick('rate'), (x) => num(x, 0)),
        vs(g, base, 'rate'),
        vs(g, ceil, 'rate'),
        rng(g.pick('latP50'), us),
        vs(g, base, 'latP50'),
        rng(g.pick('latP99'), us),
        vs(g, base, 'latP99'),
        us(median(g.pick('latP999'))),
        direct
          ? '–'
          : `${num(median(g.pick('cpuPerTransfer')) * 1e6, 1)} (${num(median(g.pick('userPerTransfer')) * 1e6, 1)})`,
        vs(g, base, 'cpuPerTransfer', direct),
        direct ? '–' : num(median(g.pick('rss')), 0),
        busy(g),
        fastCell(g, v),
      ]),
    );
  // Latency a proxy adds: its p50/p99 minus the direct connection's, same round.
  const addedLatencyTable = (sizes) =>
    table(
      ['size', 'proxy', 'added p50 µs', 'added p99 µs'],
      sizes.flatMap((size) => {
        const direct = at('pingpong', 'direct', { size });
        if (!direct.n) return [];
        const d = (g, k) => pairedDiff(g, direct, k);
        return PROXY_ORDER.slice(0, -1)
          .map((v) => at('pingpong', v, { size }))
          .filter((g) => g.n)
          .map((g) => [
            fmtSize(size),
            g.runs[0].name,
            ...['latP50', 'latP99'].map((k) => `${us(d(g, k).med)} (${us(d(g, k).lo)}–${us(d(g, k).hi)})`),
          ]);
      }),
    );
  // "The zerocopy proxy must never add latency to small exchanges": per size, vs Node's proxy, paired by round.
  const latencyVerdicts = (sizes, variant = 'zerocopy') =>
    sizes.flatMap((size) => {
      const base = at('pingpong', 'node', { size });
      const g = at('pingpong', variant, { size });
      if (!base.n || !g.n) return [];
      const [p50, p99, rate] = ['latP50', 'latP99', 'rate'].map((k) => pairedRatio(g, base, k));
      const c = (r) => call(r, ['higher', 'lower']) ?? 'same within noise';
      return [{ size, p50, p99, rate, c50: c(p50), c99: c(p99) }];
    });

  // ------------------------------------------------------------ the page
  p(
    t('intro', {
      quick: config.quick
        ? '**Quick smoke run (BENCH_QUICK=1): smaller sizes, fewer rounds — not the reference numbers.** '
        : '',
      rounds: config.rounds,
      smallRounds:
        config.smallRounds && config.smallRounds !== config.rounds ? ` (small files: ${config.smallRounds})` : '',
      warmup: config.warmup ? ' after one discarded warm-up round (big files and bulk proxy)' : '',
    }),
  );
  p();
  const machine = [
    ['date', facts.date],
    ['nproc', `${facts.nproc} (shared, noisy machine: trust ratios, not absolute numbers)`],
    ['kernel (uname -r)', facts.kernel],
    ['Node', facts.node],
    ['CPU', facts.cpu],
    ['memory', `${facts.memGiB} GiB`],
    ['temp files', `${facts.tmpdir} (${facts.tmpFs})`],
    ['C compiler', facts.cc],
    ['bench runtime', `${facts.seconds} s`],
  ];
  const dirty = ' + uncommitted changes in src/ or native/ (dist/ built from the working tree)';
  if (facts.commit) machine.push(['library', `commit ${facts.commit}${facts.srcDirty ? dirty : ''}`]);
  for (const r of facts.reruns || []) {
    machine.push([
      're-run',
      `${r.workloads.join(', ')} at ${r.date} (${r.seconds} s; commit ${r.commit}` +
        `${r.srcDirty ? ' + uncommitted src/' : ''}), replacing the first pass's runs of those workloads`,
    ]);
  }
  p(table(['machine', ''], machine, ['', '']));
  p();
  if (results.failures?.length) {
    p(`**${results.failures.length} run(s) failed once and were retried:** ${results.failures.join('; ')}`);
    p();
  }
  p(t('how'));
  const rss0 = (v) =>
    median(runs.filter((r) => r.variant === v && Number.isFinite(r.rssBeforeKiB)).map((r) => r.rssBeforeKiB / 1024));
  if (Number.isFinite(rss0('node')) && Number.isFinite(rss0('zerocopy')))
    p(t('rss', { zc: num(rss0('zerocopy'), 0), node: num(rss0('node'), 0) }));
  p();
  if (config.workloads && config.workloads.length < (config.allWorkloads ? config.allWorkloads.length : 5)) {
    p(`**Partial run: only ${config.workloads.join(', ')} (--only).**`);
    p();
  }
  const recv = at('socket', 'c');
  if (has('socket')) {
    p(t('socket', { size: fmtSize(config.big) }), '', bigTable('socket', ['node', 'zerocopy', 'c']), '');
    if (recv.n) {
      const b = median(recv.pick('recvBusy'));
      const verdict =
        b < 0.8
          ? 'it spent most of its time waiting for bytes, so it keeps up with the ceiling and is not what is measured.'
          : "**it was close to saturated: the ceiling may be the receiver's, not the sender's.**";
      p(t('receiver', { busy: pct(b), max: pct(max(recv.pick('recvBusy'))), verdict }), '');
    }
  }
  if (has('copy'))
    p(
      t('copy', { size: fmtSize(config.big), fs: facts.tmpFs }),
      '',
      bigTable('copy', ['node', 'zerocopy', 'copyFile', 'c']),
      '',
    );

  const sizes = config.smallSizes;
  if (has('small')) {
    p(t('small', { ms: config.smallMs, min: fpMin, firstReads: fmtSize(firstReads), fastFrom }), '');
    for (const conns of config.smallConns)
      p(`### ${conns} connection${conns > 1 ? 's' : ''}`, '', smallTable(conns), '');
    p('## Where the fast path starts to pay', '');
    for (const conns of config.smallConns) {
      const c = crossover(conns);
      p(
        `${conns} connection${conns > 1 ? 's' : ''}: Node vs zerocopy's fast path (forced with ZEROCOPY_MIN_BYTES=0 below ${fpMin}).`,
        '',
        c.tbl,
        '',
      );
      if (c.from) {
        const smallest =
          c.from.size === sizes[0] ? ' That is the smallest size measured: it pays at every size tried.' : '';
        p(
          t('crossover', {
            conns,
            size: fmtSize(c.from.size),
            rr: num(c.from.rr.med, 2),
            lo: num(c.from.rr.lo, 2),
            hi: num(c.from.rr.hi, 2),
            cr: num(c.from.cr.med, 2),
            smallest,
          }),
        );
      } else {
        p(
          `**Crossover (${conns} conn.): the fast path did not pay consistently at any measured size up to the largest.**`,
        );
      }
      const m = c.verdicts.find((v) => v.size === fpMinBytes);
      if (m)
        p(
          t('at-threshold', {
            min: fpMin,
            fastFrom,
            verdict: m.verdict,
            rr: num(m.rr.med, 2),
            lo: num(m.rr.lo, 2),
            hi: num(m.rr.hi, 2),
            cr: num(m.cr.med, 2),
          }),
        );
      const slower = c.verdicts.filter((v) => v.verdict.startsWith('slower'));
      if (slower.length)
        p(`Slower than Node at: ${slower.map((v) => `${fmtSize(v.size)} (${num(v.rr.med, 2)}×)`).join(', ')}.`);
      p();
    }
  }

  // Below the threshold zerocopy declines: that decision must cost nothing.
  const declineHead = [
    'size',
    'conns',
    'variant',
    'Node transfers/s',
    'variant transfers/s',
    'rate vs Node',
    'CPU µs/transfer Node → variant',
    'CPU/transfer vs Node',
    'latency p50 vs Node',
    'fast path taken',
    'verdict',
  ];
  // On par = transfers/s within noise, and neither CPU nor latency worse in every round.
  const offPar = (rows) =>
    rows.filter((d) => !/^(on par|faster)/.test(d.verdict) || d.verdict.includes('in every round'));
  const verdictLine = (rows, what) => {
    const off = offPar(rows);
    if (!off.length) {
      return `**${what}: on par with Node at every size below ${fpMin}** (transfers/s ratios ${rows.map((d) => `${fmtSize(d.size)}×${d.conns}: ${num(d.rr.med, 2)}`).join(', ')}).`;
    }
    const on = rows.filter((d) => !off.includes(d)).map((d) => `${fmtSize(d.size)} × ${d.conns}`);
    return `**${what}: not on par with Node at ${off
      .map(
        (d) =>
          `${fmtSize(d.size)} × ${d.conns} conn. (transfers/s ${ratio(d.rr)}, ` +
          `CPU/transfer ${ratio(d.cr)}, p50 ${ratio(d.lr)})`,
      )
      .join('; ')}.** ${on.length ? `On par at ${on.join(', ')}.` : ''}`;
  };
  const warmRows = declineRows(1, 'decline');
  const warmOff = declineRows(1, 'decline', 'zerocopy-disabled');
  const coldRows = has('small') ? config.smallConns.flatMap((c) => declineRows(c, 'small')) : [];
  if (warmRows.length || coldRows.length)
    p(t('decline', { min: fpMin, firstReads: fmtSize(firstReads), fastFrom }), '');
  if (warmRows.length) {
    p(
      t('decline-warm', {
        warmupMs: config.declineWarmupMs,
        ms: config.declineMs,
        rounds: config.rounds,
        firstReads: fmtSize(firstReads),
      }),
      '',
    );
    p(
      table(
        declineHead,
        [...warmRows, ...warmOff].sort((a, b) => a.size - b.size).map((d) => d.row),
      ),
      '',
    );
    p(verdictLine(warmRows, 'Warmed up, zerocopy as shipped'));
    if (warmOff.length) p(verdictLine(warmOff, 'Warmed up, ZEROCOPY_DISABLE=1'));
    p();
  }
  if (coldRows.length) {
    p(
      t('decline-cold', { ms: config.smallMs }),
      '',
      table(
        declineHead,
        coldRows.map((d) => d.row),
      ),
      '',
    );
    p(verdictLine(coldRows, 'Fresh processes'), '');
  }

  const [readNode, readZc, readPool] = READ_ORDER.map((v) => at('read', v));
  if (has('read')) {
    p(
      t('read', {
        count: config.readCount.toLocaleString('en-US'),
        size: fmtSize(config.readSize),
        files: config.readFiles,
        warmup: config.readWarmup.toLocaleString('en-US'),
        rounds: config.rounds,
      }),
      '',
      readTable(),
      '',
    );
    if (readZc.n && readPool.n)
      p(
        t('read-loop', {
          rr: ratio(pairedRatio(readZc, readPool, 'rate')),
          cr: ratio(pairedRatio(readZc, readPool, 'cpuPerTransfer')),
        }),
        '',
      );
  }

  const pingSizes = config.pingpongSizes || [];
  const verdicts = latencyVerdicts(pingSizes);
  if (has('proxy') || has('pingpong')) p(t('proxy'), '');
  if (has('proxy')) {
    p(t('proxy-bulk', { size: fmtSize(config.proxyBytes) }), '', proxyBulkTable(), '');
    const direct = at('proxy', 'direct');
    const cpx = at('proxy', 'c');
    if (direct.n && cpx.n) {
      const dr = pairedRatio(direct, cpx, 'thr');
      const [cb, sb] = [median(cpx.pick('clientBusy')), median(cpx.pick('recvBusy'))];
      const verdict =
        dr.lo > 1 && cb < 0.8 && sb < 0.8
          ? 'Neither end is the bottleneck: the proxy is what is measured.'
          : '**An end may be the bottleneck.**';
      p(
        t('ends', {
          direct: gibs(median(direct.pick('thr'))),
          dr: num(dr.med, 2),
          lo: num(dr.lo, 2),
          hi: num(dr.hi, 2),
          cb: pct(cb),
          sb: pct(sb),
          verdict,
        }),
        '',
      );
    }
  }
  if (has('pingpong')) {
    p(t('pingpong', { slice: config.pingpongSliceMs || '?', ms: config.pingpongMs }), '');
    for (const size of pingSizes) p(`#### ${fmtSize(size)} requests and replies`, '', pingpongTable(size), '');
    p(t('added'), '', addedLatencyTable(pingSizes), '');
    if (verdicts.length) {
      p(t('latency'), '');
      p(
        table(
          ['size', 'p50 vs Node', 'p50', 'p99 vs Node', 'p99', 'exchanges/s vs Node'],
          verdicts.map((v) => [fmtSize(v.size), ratio(v.p50), v.c50, ratio(v.p99), v.c99, ratio(v.rate)]),
        ),
        '',
      );
      const regs = latencyVerdicts(pingSizes, 'register');
      const adds = verdicts.filter((v) => v.c50.startsWith('higher') || v.c99.startsWith('higher'));
      p(
        adds.length
          ? `**Yes, at ${adds.map((v) => `${fmtSize(v.size)} (p50 ${ratio(v.p50)}, p99 ${ratio(v.p99)})`).join('; ')}.**`
          : `**No: at no size is zerocopy's p50 or p99 higher than Node's proxy** (${verdicts
              .map((v) => `${fmtSize(v.size)}: p50 ${num(v.p50.med, 2)}×, p99 ${num(v.p99.med, 2)}×`)
              .join('; ')}).`,
      );
      if (regs.length) {
        p(
          `Under \`--require zerocopy/register\` (plain a.pipe(b)): ${regs
            .map((v) => `${fmtSize(v.size)}: p50 ${ratio(v.p50)} (${v.c50}), p99 ${ratio(v.p99)} (${v.c99})`)
            .join('; ')}.`,
        );
      }
      p();
    }
  }
  const http = has('http') || (config.workloads?.includes('http') && config.http) ? renderHttp(results) : null;
  if (http) p(http.md);
  const bodies =
    has('bodies') || (config.workloads?.includes('bodies') && config.bodies) ? renderBodies(results) : null;
  if (bodies) p(bodies.md);

  // Automatic checks: what the guide asks of the fast path.
  const checks = [];
  const mark = (ok) => (ok ? '✅' : '❌');
  const [sockNode, sockZc] = [at('socket', 'node'), at('socket', 'zerocopy')];
  if (sockNode.n && sockZc.n) {
    const cr = pairedRatio(sockZc, sockNode, 'cpu');
    checks.push(
      `${mark(cr.hi < 1)} file→socket: zerocopy's sender CPU/GiB is ${num(cr.med, 2)}× Node's (${num(cr.lo, 2)}–${num(cr.hi, 2)}).`,
    );
  }
  if (recv.n) {
    const b = median(recv.pick('recvBusy'));
    checks.push(`${mark(b < 0.8)} the receiver keeps up with the C ceiling (${pct(b)}% of one core).`);
  }
  // "The fast path must never be slower than the normal path": zerocopy as shipped vs Node, at every small size.
  for (const conns of has('small') ? config.smallConns : []) {
    const bad = sizes.flatMap((size) => {
      const [base, zc] = [small(conns, size, 'node'), small(conns, size, 'zerocopy')];
      if (!base.n || !zc.n) return [];
      const rr = pairedRatio(zc, base, 'rate');
      const cr = pairedRatio(zc, base, 'cpuPerTransfer');
      const how =
        median(fastOf(zc)) > 0 ? 'fast path taken' : "fast path declined: the cost is zerocopy's per-stream decision";
      return rr.hi < 1 || rr.med <= 0.9
        ? [
            `${fmtSize(size)} (${num(rr.med, 2)}× the transfers/s, range ${num(rr.lo, 2)}–${num(rr.hi, 2)}; CPU/transfer ${num(cr.med, 2)}×; ${how})`,
          ]
        : [];
    });
    checks.push(
      bad.length
        ? `❌ ${conns} conn.: zerocopy as shipped is slower than Node at ${bad.join('; ')}.`
        : `✅ ${conns} conn.: zerocopy as shipped is never clearly slower than Node (no size at ≤ 0.9× median or slower in every round).`,
    );
  }
  const [pxNode, pxZc, pxC, pxDirect] = ['node', 'zerocopy', 'c', 'direct'].map((v) => at('proxy', v));
  if (pxNode.n && pxZc.n) {
    const cr = pairedRatio(pxZc, pxNode, 'cpu');
    const tr = pairedRatio(pxZc, pxNode, 'thr');
    checks.push(
      `${mark(cr.hi < 1)} proxy bulk: zerocopy's proxy CPU/GiB is ${num(cr.med, 2)}× Node's (${num(cr.lo, 2)}–${num(cr.hi, 2)}); ` +
        `throughput ${range(tr)}; fast path taken on ${pct(median(fastOf(pxZc)))}% of directions.`,
    );
  }
  if (pxC.n && pxDirect.n) {
    const dr = pairedRatio(pxDirect, pxC, 'thr');
    const [cb, sb] = [median(pxC.pick('clientBusy')), median(pxC.pick('recvBusy'))];
    checks.push(
      `${mark(dr.lo > 1 && cb < 0.8 && sb < 0.8)} proxy bulk: client and sink keep up with the C proxy ` +
        `(direct is ${num(dr.med, 2)}× faster, client ${pct(cb)}%, sink ${pct(sb)}% of one core).`,
    );
  }
  if (warmRows.length) {
    const off = offPar(warmRows);
    checks.push(
      `${mark(!off.length)} below ${fpMin}, warmed up: zerocopy declining is ${off.length ? 'not ' : ''}on par with Node ` +
        `(transfers/s ${warmRows.map((d) => `${fmtSize(d.size)} ${ratio(d.rr)}`).join(', ')}; CPU/transfer ` +
        `${warmRows.map((d) => `${fmtSize(d.size)} ${ratio(d.cr)}`).join(', ')}).`,
    );
  }
  if (readNode.n && readZc.n) {
    const rr = pairedRatio(readZc, readNode, 'rate');
    const cr = pairedRatio(readZc, readNode, 'cpuPerTransfer');
    checks.push(
      `${mark(rr.med >= 1.3)} \`'data'\` consumer ≥ 1.3× Node's files/s: zerocopy reads ${ratio(rr)} Node's files/s ` +
        `(${fmtSize(config.readSize)} files, median of the per-round ratios), CPU per file ${ratio(cr)}.`,
    );
  }
  for (const v of verdicts) {
    const bad = v.c50.startsWith('higher') || v.c99.startsWith('higher');
    checks.push(
      `${mark(!bad)} ${fmtSize(v.size)} exchanges: zerocopy proxy latency p50 ${ratio(v.p50)} (${v.c50}), ` +
        `p99 ${ratio(v.p99)} (${v.c99}) of Node's proxy.`,
    );
  }
  if (http) checks.push(...http.checks);
  if (bodies) checks.push(...bodies.checks);
  p('## Checks', '', ...checks.map((c) => `- ${c}`), '', '![benchmark chart](benchmarks.svg)', '');
  return `${out.join('\n')}\n`;
}

/** Writes docs/benchmarks.md and docs/benchmarks.svg; returns the markdown. */
async function writeReport(results, root = path.join(__dirname, '..', '..')) {
  const md = render(results);
  fs.writeFileSync(path.join(root, 'docs', 'benchmarks.md'), md);
  fs.writeFileSync(path.join(root, 'docs', 'benchmarks.svg'), await renderSvg(results));
  return md;
}

module.exports = { render, writeReport };

if (require.main === module) {
  const results = JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'out', 'results.json'), 'utf8'));
  writeReport(results).then((md) => process.stdout.write(md));
}
