'use strict';
// The HTTP bodies section of docs/benchmarks.md, from results.runs (workload
// 'bodies') and results.config.bodies (prose in bench/render/bodies.tpl).
// Returns { md, checks }: the section and its target lines (✅/❌/➖) for the
// report's Checks list.
const { median, max, min, group, pairedRatio } = require('../lib/stats');
const { KiB, MiB, GiB, table, fmtSize, num, ratio, tpl } = require('../lib/md');

const PARTS = ['uploads', 'downloads', 'proxy'];
const ORDER = ['stock', 'register', 'nginx', 'haproxy'];
const rng = (xs, f) => (xs.some(Number.isFinite) ? `${f(median(xs))} (${f(min(xs))}–${f(max(xs))})` : '–');
const pct = (x) => (Number.isFinite(x) ? `${num(x * 100, 0)}%` : '–');
const mark = (ok) => (ok ? '✅' : '❌');

function renderBodies(results) {
  const cfg = results.config.bodies || {};
  const runs = results.runs.filter((r) => r.workload === 'bodies');
  const out = [];
  const p = (...ls) => out.push(...(ls.length ? ls : ['']));
  const checks = [];
  const v = cfg.versions || {};
  p(
    tpl('bodies', 'head', {
      command: cfg.command || 'npm run bench',
      elapsed: cfg.elapsed ?? '?',
      rounds: cfg.rounds,
      warmup: cfg.warmupSeconds,
      seconds: cfg.seconds,
      node: v.node || '?',
      httpProxy: v['http-proxy'] || '(skipped)',
      nginx: v.nginx || '(skipped)',
      haproxy: v.haproxy || '(skipped)',
    }),
    '',
  );
  for (const s of cfg.skipped || []) p(`**Skipped ${s.key}: ${s.why}**`, '');
  if (!runs.length) return { md: `${out.join('\n')}\n`, checks };
  // Results from before MIN_SPLICED_BODY_BYTES had the file threshold for bodies too.
  const minBody = results.config.splicedBodyMin || results.config.httpBodyMin || 128 * KiB;
  const minName = results.config.splicedBodyMin ? 'MIN_SPLICED_BODY_BYTES' : 'MIN_HTTP_BODY_BYTES';
  p(tpl('bodies', 'how', { min: fmtSize(minBody), minName, outFs: cfg.outFs || '?', outDir: cfg.outDir || '?' }), '');

  const at = (part, size, variant) => group(runs, (r) => r.part === part && r.size === size && r.variant === variant);
  const sizesOf = (part) => [...new Set(runs.filter((r) => r.part === part).map((r) => r.size))].sort((a, b) => a - b);
  const vs = (g, other, key) => (g.n && other.n ? pairedRatio(g, other, key) : null);
  const busy = (g, k) => median(g.runs.map((r) => r[k]));

  for (const part of PARTS.filter((x) => runs.some((r) => r.part === x))) {
    p(
      tpl('bodies', part, {
        conns: cfg.proxyConns ?? '?',
        downloadWarmup: cfg.downloadWarmupSeconds ?? cfg.warmupSeconds,
      }),
      '',
    );
    const rows = [];
    for (const size of sizesOf(part)) {
      const stock = at(part, size, 'stock');
      const [haproxy, nginx] = [at(part, size, 'haproxy'), at(part, size, 'nginx')];
      for (const variant of ORDER) {
        const g = at(part, size, variant);
        if (!g.n) continue;
        const isStock = variant === 'stock';
        const [thr, cpu] = ['thr', 'cpu'].map((k) => (isStock ? null : vs(g, stock, k)));
        const shares = g.runs.map((r) => r.splicedShare).filter((x) => x !== undefined);
        const cpuBusy = median(g.runs.map((r) => (r.user + r.sys) / r.wall));
        const other =
          part === 'uploads'
            ? `client ${pct(busy(g, 'clientBusy'))}`
            : part === 'downloads'
              ? `origin ${pct(busy(g, 'originBusy'))}`
              : `client ${pct(busy(g, 'clientBusy'))} / origin ${pct(busy(g, 'originBusy'))}`;
        rows.push([
          fmtSize(size),
          g.runs[0].name,
          rng(g.pick('thr'), (x) => num(x / GiB, 2)),
          rng(g.pick('rate'), (x) => num(x, 0)),
          rng(g.pick('cpu'), (x) => num(x, 2)),
          isStock ? '1' : ratio(thr),
          isStock ? '1' : ratio(cpu),
          ...(part === 'proxy'
            ? [
                variant === 'haproxy' ? '1' : ratio(vs(g, haproxy, 'thr')),
                variant === 'nginx' ? '1' : ratio(vs(g, nginx, 'thr')),
                variant === 'haproxy' ? '1' : ratio(vs(g, haproxy, 'cpu')),
                variant === 'nginx' ? '1' : ratio(vs(g, nginx, 'cpu')),
              ]
            : []),
          pct(cpuBusy),
          other,
          shares.length ? rng(shares, (x) => `${num(x * 100, 0)}%`) : 'n/a',
        ]);
      }
    }
    p(
      table(
        [
          'size',
          'variant',
          'GiB/s',
          'req/s',
          'CPU s/GiB',
          'GiB/s vs stock',
          'CPU/GiB vs stock',
          ...(part === 'proxy' ? ['GiB/s vs HAProxy', 'GiB/s vs nginx', 'CPU/GiB vs HAProxy', 'CPU/GiB vs nginx'] : []),
          'busy',
          'other side',
          'spliced',
        ],
        rows,
        ['', 'l', ...Array(part === 'proxy' ? 12 : 8).fill('r')],
      ),
      '',
    );
  }

  // Targets: the register row against stock (and the proxy's against HAProxy), medians of per-round ratios.
  const target = (what, cells) => {
    const got = cells.filter((c) => c.r && Number.isFinite(c.r.med));
    if (!got.length) return `➖ HTTP bodies: ${what} — not measured in this run.`;
    const ok = got.every((c) => c.ok(c.r.med));
    return `${mark(ok)} HTTP bodies: ${what} — ${got.map((c) => `${c.label} ${num(c.r.med, 3)}×${c.ok(c.r.med) ? '' : ' ❌'}`).join(', ')}.`;
  };
  const reg = (part, size, key, against = 'stock') => vs(at(part, size, 'register'), at(part, size, against), key);
  for (const part of ['uploads', 'downloads']) {
    checks.push(
      target(
        `${part}, register ≤ 0.5× stock's CPU per GiB at ≥ 1 MiB`,
        sizesOf(part)
          .filter((s) => s >= MiB)
          .map((s) => ({ label: fmtSize(s), r: reg(part, s, 'cpu'), ok: (x) => x <= 0.5 })),
      ),
    );
  }
  const largest = sizesOf('proxy').at(-1);
  if (largest !== undefined) {
    checks.push(
      target(`proxied ${fmtSize(largest)}, register ≤ 0.4× stock http-proxy's CPU per GiB`, [
        { label: fmtSize(largest), r: reg('proxy', largest, 'cpu'), ok: (x) => x <= 0.4 },
      ]),
      target(`proxied ${fmtSize(largest)}, register ≥ 0.8× HAProxy's GiB/s`, [
        { label: fmtSize(largest), r: reg('proxy', largest, 'thr', 'haproxy'), ok: (x) => x >= 0.8 },
      ]),
    );
  }
  checks.push(
    target(
      `below ${fmtSize(minBody)} never slower than stock (register ≥ 0.95× stock's GiB/s)`,
      PARTS.flatMap((part) =>
        sizesOf(part)
          .filter((s) => s < minBody)
          .map((s) => ({ label: `${part} ${fmtSize(s)}`, r: reg(part, s, 'thr'), ok: (x) => x >= 0.95 })),
      ),
    ),
  );
  // The fast path ran where it should, and never in stock.
  const stockShares = runs.filter((r) => r.variant === 'stock').map((r) => r.splicedShare);
  const spliceLine = PARTS.filter((x) => runs.some((r) => r.part === x))
    .map(
      (part) =>
        `${part}: ${sizesOf(part)
          .map((s) => `${fmtSize(s)} ${pct(median(at(part, s, 'register').runs.map((r) => r.splicedShare)))}`)
          .join(', ')}`,
    )
    .join('; ');
  checks.push(
    `${mark(stockShares.every((x) => x === 0))} HTTP bodies: spliced share (median) under the register — ${spliceLine}; stock: ${
      stockShares.every((x) => x === 0) ? '0 in every run' : `max ${pct(max(stockShares))}`
    }.`,
  );

  const psi = runs.map((r) => r.cpuPressure).filter(Number.isFinite);
  if (psi.length) {
    const contended =
      median(psi) > 0.2
        ? ' — **a contended machine: read the ratios, with their ranges, not the absolute figures**'
        : '';
    p(tpl('bodies', 'psi', { median: num(median(psi) * 100, 0), max: num(max(psi) * 100, 0), contended }), '');
  }
  const reasons = new Map();
  for (const r of runs.filter((x) => x.reasons))
    for (const [k, n] of Object.entries(r.reasons))
      reasons.set(`${r.part}: ${k}`, (reasons.get(`${r.part}: ${k}`) || 0) + n);
  if (reasons.size)
    p(
      `Paths the register variants' flows took (all runs, \`part: path: reason\` from the diagnostics channel): ${[
        ...reasons.entries(),
      ]
        .sort((a, b) => b[1] - a[1])
        .map(([k, n]) => `${k} (${n})`)
        .join('; ')}.`,
      '',
    );
  if ((cfg.problems || []).length)
    p(
      `**Problems (a failed run is retried once; a server that fails its check sits out the round):** ${cfg.problems.join('; ')}`,
      '',
    );
  p('**Targets** (the register variant vs stock at the same size, median of the per-round ratios):', '');
  p(...checks.map((l) => `- ${l}`), '');
  return { md: `${out.join('\n')}\n`, checks };
}

module.exports = { renderBodies };
