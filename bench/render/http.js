'use strict';
// The HTTP section of docs/benchmarks.md, from results.runs (workload 'http')
// and results.config.http (prose in bench/render/http.tpl). Returns { md, checks }:
// the section and its target lines (✅/❌) for the report's Checks list.
const { median, max, group, pairedRatio, pairedDiff } = require('../lib/stats');
const { KiB, MiB, table, fmtSize, num, ratio, tpl } = require('../lib/md');

const rng = (xs, f) => `${f(median(xs))} (${f(Math.min(...xs.filter(Number.isFinite)))}–${f(max(xs))})`;
const ms = (x) => num(x * 1e3, 2);

// From this size up the table leads with the server's CPU per GiB: there wrk's
// own copy of every byte (not the server) can set the pace on loopback.
const LARGE = 16 * MiB;
const PLACEMENTS = {
  pinned: 'pinned (server on one core, wrk on the other)',
  free: 'free (the kernel schedules both)',
};
// Results from before --http-placement were all pinned.
const placementOf = (r) => r.placement ?? 'pinned';
const smallPair = (size) => size === 4 * KiB || size === 64 * KiB;

// The targets: a zerocopy row vs the same framework stock, the median of the per-round req/s ratios.
const TARGETS = [
  { what: 'every zerocopy cell below 1 MiB ≥ 1.00× stock req/s', min: 1, applies: (size) => size < MiB },
  {
    what: 'zerocopy node:http at 4 KiB and 64 KiB ≥ 1.5× stock req/s',
    min: 1.5,
    applies: (size, s) => s.fw === 'node' && smallPair(size),
  },
  {
    what: 'zerocopy express.static and @fastify/static at 4 KiB and 64 KiB ≥ 1.1× stock req/s',
    min: 1.1,
    applies: (size, s) => ['express', 'fastify'].includes(s.fw) && smallPair(size),
  },
  {
    what: 'zerocopy express.static at 1 MiB ≥ 1.6× stock req/s',
    min: 1.6,
    placement: 'pinned',
    applies: (size, s) => s.fw === 'express' && size === MiB,
  },
];
const targetsFor = (placement) => TARGETS.filter((tg) => !tg.placement || tg.placement === placement);

// How a zerocopy row at ≥ LARGE reads: its throughput against stock, unless
// it is lower while wrk paid more CPU per GiB (the loopback receiver's cost).
function largeReading(cpu, thr, wrk) {
  const lead = `server CPU/GiB ${num(cpu.med, 2)}×`;
  if (!Number.isFinite(thr.med)) return lead;
  if (thr.med < 1 && wrk.med > 1) return `${lead}; receiver-bound (wrk: ${num(wrk.med, 2)}× stock's CPU/GiB)`;
  if (thr.lo > 1) return `${lead}; faster in every round`;
  if (thr.med >= 1.1) return `${lead}; faster (median)`;
  if (thr.hi < 1) return `${lead}; slower in every round`;
  if (thr.med <= 0.9) return `${lead}; slower (median)`;
  return `${lead}; same throughput within noise`;
}

function renderHttp(results) {
  const cfg = results.config.http || {};
  const runs = results.runs.filter((r) => r.workload === 'http');
  const out = [];
  const p = (...ls) => out.push(...(ls.length ? ls : ['']));
  const checks = [];
  const v = cfg.versions || {};
  const placements = Object.keys(PLACEMENTS).filter((pl) => runs.some((r) => placementOf(r) === pl));
  p(
    tpl('http', 'head', {
      command: cfg.command || 'npm run bench',
      elapsed: cfg.elapsed ?? '?',
      rounds: cfg.rounds,
      warmup: cfg.warmupSeconds,
      seconds: cfg.seconds,
      node: v.node || '?',
      express: v.express || '?',
      fastify: v.fastify || '?',
      static: v['@fastify/static'] || '?',
      nginx: v.nginx || '(skipped)',
      bun: v.bun || '(skipped)',
      wrk: v.wrk || '?',
    }),
    '',
  );
  for (const s of cfg.skipped || []) p(`**Skipped ${s.key === 'all' ? 'the whole HTTP workload' : s.key}: ${s.why}**`);
  if ((cfg.skipped || []).length) p();
  if (!runs.length) return { md: `${out.join('\n')}\n`, checks };
  // Results from before MIN_HTTP_BODY_BYTES had one threshold for both, 128 KiB.
  const min = fmtSize(results.config.httpBodyMin || 128 * KiB);
  p(tpl('http', 'how', { min, placements: placements.join(', ') }), '');

  const servers = cfg.servers || [];
  const sizes = [...new Set(runs.filter((r) => r.size > 0).map((r) => r.size))].sort((a, b) => a - b);
  const connsList = [...new Set(runs.map((r) => r.conns))].sort((a, b) => a - b);
  const latCell = (g) => `${ms(median(g.pick('latP50')))} / ${ms(median(g.pick('latP99')))}`;
  const busyCell = (g) => {
    const cb = median(g.pick('clientBusy'));
    return `${num(median(g.pick('serverBusy')) * 100, 0)}% / ${num(cb * 100, 0)}%${cb >= 0.9 ? ' ⚠ wrk-bound' : ''}`;
  };
  const fastCell = (g, s) => {
    if (s.streams !== 'zerocopy') return s.streams === 'anchor' ? 'n/a' : '–';
    const f = g.pick('fast').filter((x) => x !== undefined);
    return f.length ? `${num(median(f) * 100, 0)}%` : '0%';
  };
  const declines = new Map(); // reason -> count, zerocopy variants
  for (const r of runs.filter((x) => x.streams === 'zerocopy' && x.reasons)) {
    for (const [k, n] of Object.entries(r.reasons)) declines.set(k, (declines.get(k) || 0) + n);
  }
  // Target results: { placement, tg, conns, size, s, ok, value }.
  const hits = [];
  let receiverNoted = false;

  for (const placement of placements) {
    const at = (conns, size, variant) =>
      group(runs, (r) => placementOf(r) === placement && r.conns === conns && r.size === size && r.variant === variant);
    // The variants at one size: each with its stock (zerocopy rows) and nginx to compare with.
    const cellsAt = (conns, size) =>
      servers
        .map((s) => ({ s, g: at(conns, size, s.key) }))
        .filter(({ g }) => g.n)
        .map(({ s, g }) => ({
          s,
          g,
          stock: s.streams === 'zerocopy' ? at(conns, size, s.fw) : null,
          nginx: at(conns, size, 'nginx'),
        }));
    p(`### ${PLACEMENTS[placement]}`, '');
    for (const conns of connsList) {
      const cs = `${conns} connection${conns > 1 ? 's' : ''}`;
      p(`#### ${placement}, ${cs} (wrk -c${conns})`, '');
      const rows = [];
      for (const size of sizes.filter((x) => x < LARGE)) {
        for (const { s, g, stock, nginx } of cellsAt(conns, size)) {
          const empty = at(conns, 0, `${s.streams === 'zerocopy' ? s.fw : s.key}-empty`);
          const [thr, cpu, rate] = ['thr', 'cpu', 'rate'].map((k) => (stock?.n ? pairedRatio(g, stock, k) : null));
          const vsNginx = nginx.n ? pairedRatio(g, nginx, 'thr') : null;
          let body = '–';
          if (empty.n) {
            const d = pairedDiff(g, empty, 'cpuPerTransfer');
            body = `${num(d.med * 1e6, 0)} (${num((d.med / median(g.pick('cpuPerTransfer'))) * 100, 0)}%)`;
          }
          const marks = [];
          if (rate) {
            for (const tg of targetsFor(placement).filter((x) => x.applies(size, s))) {
              const ok = rate.med >= tg.min;
              marks.push(`${ok ? '✅' : '❌'} ≥ ${num(tg.min, 2)}×`);
              hits.push({ placement, tg, conns, size, s, ok, value: rate });
            }
          }
          const one = s.streams === 'stock' ? '1' : '–';
          rows.push([
            fmtSize(size),
            s.name,
            rng(g.pick('rate'), (x) => num(x, 0)),
            rng(g.pick('thr'), (x) => num(x / MiB, 0)),
            rate ? ratio(rate) : one,
            thr ? ratio(thr) : one,
            vsNginx ? ratio(vsNginx) : '–',
            num(median(g.pick('cpuPerTransfer')) * 1e6, 0),
            body,
            num(median(g.pick('cpu')), 2),
            cpu ? ratio(cpu) : one,
            latCell(g),
            busyCell(g),
            num(median(g.pick('clientCpu')), 2),
            fastCell(g, s),
            marks.join(' · '),
          ]);
        }
      }
      if (rows.length) {
        p(
          table(
            [
              'size',
              'variant',
              'req/s',
              'MiB/s',
              'req/s vs stock',
              'MiB/s vs stock',
              'vs nginx',
              'server CPU µs/req',
              'body cost µs/req (share)',
              'server CPU s/GiB',
              'CPU/GiB vs stock',
              'latency p50 / p99 ms',
              'server / wrk CPU',
              'wrk CPU s/GiB',
              'fast path',
              'targets',
            ],
            rows,
          ),
          '',
        );
        if (rows.some((r) => r[2].startsWith('0 ('))) p(tpl('http', 'zero', { seconds: cfg.seconds, conns }), '');
      }
      // ≥ LARGE: the server's CPU per GiB first, then throughput beside wrk's own CPU per GiB.
      const large = [];
      const wrkCpu = { stock: [], zerocopy: [] };
      for (const size of sizes.filter((x) => x >= LARGE)) {
        for (const { s, g, stock } of cellsAt(conns, size)) {
          const [cpu, thr, wrk] = ['cpu', 'thr', 'clientCpu'].map((k) => (stock?.n ? pairedRatio(g, stock, k) : null));
          wrkCpu[s.streams]?.push(...g.pick('clientCpu'));
          const one = s.streams === 'stock' ? '1' : '–';
          large.push([
            fmtSize(size),
            s.name,
            rng(g.pick('cpu'), (x) => num(x, 2)),
            cpu ? ratio(cpu) : one,
            rng(g.pick('thr'), (x) => num(x / MiB, 0)),
            thr ? ratio(thr) : one,
            num(median(g.pick('clientCpu')), 2),
            wrk ? ratio(wrk) : one,
            busyCell(g),
            fastCell(g, s),
            cpu ? largeReading(cpu, thr, wrk) : '–',
          ]);
        }
      }
      if (large.length) {
        const [stockWrk, zcWrk] = [median(wrkCpu.stock), median(wrkCpu.zerocopy)];
        const wrkFigures = `${num(stockWrk, 2)} s/GiB against stock, ${num(zcWrk, 2)} against zerocopy (median)`;
        p(`Files of ${fmtSize(LARGE)} and more: the server's CPU per GiB first.`, '');
        p(
          table(
            [
              'size',
              'variant',
              'server CPU s/GiB',
              'server CPU/GiB vs stock',
              'MiB/s',
              'MiB/s vs stock',
              'wrk CPU s/GiB',
              'wrk CPU/GiB vs stock',
              'server / wrk CPU',
              'fast path',
              'reading',
            ],
            large,
          ),
          '',
        );
        // The note once; after that, this table's figures.
        if (!receiverNoted) {
          const measured = zcWrk > stockWrk ? `here it rose: ${wrkFigures}` : `here it did not rise: ${wrkFigures}`;
          p(tpl('http', 'receiver', { measured }), '');
          receiverNoted = true;
        } else p(`wrk's own CPU per GiB in this table: ${wrkFigures}; see the loopback note above.`, '');
      }
      const nginxEmpty = at(conns, 0, 'nginx-empty');
      const erows = servers
        .filter((x) => x.empty)
        .map((s) => [s, at(conns, 0, `${s.key}-empty`)])
        .filter(([, g]) => g.n)
        .map(([s, g]) => [
          `${s.name.replace(/, stock$/, '')}: GET /empty`,
          rng(g.pick('rate'), (x) => num(x, 0)),
          nginxEmpty.n ? ratio(pairedRatio(g, nginxEmpty, 'rate')) : '–',
          num(median(g.pick('cpuPerTransfer')) * 1e6, 1),
          latCell(g),
          busyCell(g),
        ]);
      if (erows.length) {
        p(`Each framework's own ceiling at ${cs}, ${placement}: the same server, status 200 and an empty body.`, '');
        p(
          table(
            ['server', 'req/s', 'vs nginx', 'server CPU µs/req', 'latency p50 / p99 ms', 'server / wrk CPU'],
            erows,
          ),
          '',
        );
      }
      const bound = sizes.filter(
        (size) => at(conns, size, 'nginx').n && median(at(conns, size, 'nginx').pick('clientBusy')) >= 0.9,
      );
      if (bound.length) p(tpl('http', 'bound', { sizes: bound.map(fmtSize).join(', '), conns, placement }), '');
    }
  }
  const psi = runs.map((r) => r.cpuPressure).filter(Number.isFinite);
  if (psi.length) {
    const contended =
      median(psi) > 0.2
        ? ' — **a contended machine: read the ratios, with their ranges, not the absolute figures**'
        : '';
    p(tpl('http', 'psi', { median: num(median(psi) * 100, 0), max: num(max(psi) * 100, 0), contended }), '');
  }
  if (declines.size) {
    const top = [...declines.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, 8)
      .map(([k, n]) => `${k} (${n})`);
    p(
      `Paths the zerocopy servers' flows took (all runs, \`path: reason\` from the diagnostics channel): ${top.join('; ')}.`,
      '',
    );
  }
  if ((cfg.problems || []).length) {
    p(
      `**Problems (a run that failed is retried once; a server that fails its check sits out the round):** ${cfg.problems.join('; ')}`,
      '',
    );
  }
  // Target summary: one line per placement and target, each cell with its figure.
  const lines = placements.flatMap((placement) =>
    targetsFor(placement).map((tg) => {
      const hs = hits.filter((h) => h.placement === placement && h.tg === tg);
      if (!hs.length) return `➖ HTTP, ${placement}: ${tg.what} — not measured in this run.`;
      return (
        `${hs.every((h) => h.ok) ? '✅' : '❌'} HTTP, ${placement}: ${tg.what} — ` +
        `${hs.map((h) => `${h.s.fw} ${fmtSize(h.size)} c${h.conns} ${num(h.value.med, 2)}×${h.ok ? '' : ' ❌'}`).join(', ')}.`
      );
    }),
  );
  if (lines.length) {
    p(
      '**Targets** (per placement; a zerocopy variant vs the same framework stock at the same size and connections (cN: N connections), median of the per-round req/s ratios):',
      '',
    );
    p(...lines.map((l) => `- ${l}`), '');
  }
  return { md: `${out.join('\n')}\n`, checks: lines };
}

module.exports = { renderHttp };
