'use strict';
// The HTTP section of docs/benchmarks.md, from results.runs (workload 'http')
// and results.config.http (prose in bench/render/http.tpl). Returns { md, checks }:
// the section and its target lines (✅/❌) for the report's Checks list.
const { median, max, group, pairedRatio, pairedDiff } = require('../lib/stats');
const { MiB, GiB, table, fmtSize, num, ratio, tpl } = require('../lib/md');

const rng = (xs, f) => `${f(median(xs))} (${f(Math.min(...xs.filter(Number.isFinite)))}–${f(max(xs))})`;
const ms = (x) => num(x * 1e3, 2);

function renderHttp(results) {
  const cfg = results.config.http || {};
  const runs = results.runs.filter((r) => r.workload === 'http');
  const out = [];
  const p = (...ls) => out.push(...(ls.length ? ls : ['']));
  const checks = [];
  const v = cfg.versions || {};
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
  p(tpl('http', 'how'), '');

  const at = (conns, size, variant) =>
    group(runs, (r) => r.conns === conns && r.size === size && r.variant === variant);
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

  for (const conns of connsList) {
    const cs = `${conns} connection${conns > 1 ? 's' : ''}`;
    p(`### ${cs} (wrk -c${conns})`, '');
    const rows = [];
    for (const size of sizes) {
      const nginx = at(conns, size, 'nginx');
      for (const s of servers) {
        const g = at(conns, size, s.key);
        if (!g.n) continue;
        const stock = s.streams === 'zerocopy' ? at(conns, size, s.fw) : null;
        const empty = at(conns, 0, `${s.streams === 'zerocopy' ? s.fw : s.key}-empty`);
        const [thr, cpu, rate] = ['thr', 'cpu', 'rate'].map((k) => (stock?.n ? pairedRatio(g, stock, k) : null));
        const vsNginx = nginx.n ? pairedRatio(g, nginx, 'thr') : null;
        let body = '–';
        if (empty.n) {
          const d = pairedDiff(g, empty, 'cpuPerTransfer');
          body = `${num(d.med * 1e6, 0)} (${num((d.med / median(g.pick('cpuPerTransfer'))) * 100, 0)}%)`;
        }
        // Targets (zerocopy rows): ≥ 1 MiB: CPU/GiB ≤ 0.3× stock and throughput ≥ 1.6× stock; ≥ 64 MiB:
        // throughput ≥ 0.9× nginx; below 1 MiB: req/s ≥ 0.98× stock. Medians of the paired ratios.
        const marks = [];
        const add = (ok, label, value, what) => {
          marks.push(`${ok ? '✅' : '❌'} ${label}`);
          checks.push({ conns, size, s, ok, what, value });
        };
        if (s.streams === 'zerocopy' && stock?.n) {
          if (size >= MiB) {
            add(cpu.med <= 0.3, 'CPU/GiB ≤ 0.3×', cpu, 'server CPU/GiB ≤ 0.3× stock');
            add(thr.med >= 1.6, 'MiB/s ≥ 1.6×', thr, 'throughput ≥ 1.6× stock');
          } else add(rate.med >= 0.98, 'req/s ≥ 0.98×', rate, 'req/s ≥ 0.98× stock');
          if (size >= 64 * MiB && vsNginx) add(vsNginx.med >= 0.9, '≥ 0.9× nginx', vsNginx, 'throughput ≥ 0.9× nginx');
        }
        const one = s.streams === 'stock' ? '1' : '–';
        rows.push([
          fmtSize(size),
          s.name,
          rng(g.pick('rate'), (x) => num(x, 0)),
          rng(g.pick('thr'), (x) => num(x / MiB, 0)),
          thr ? ratio(thr) : one,
          vsNginx ? ratio(vsNginx) : '–',
          num(median(g.pick('cpuPerTransfer')) * 1e6, 0),
          body,
          num(median(g.pick('cpu')), 2),
          cpu ? ratio(cpu) : one,
          latCell(g),
          busyCell(g),
          num(median(g.runs.map((r) => (r.clientUser + r.clientSys) / (r.bytes / GiB))), 2),
          fastCell(g, s),
          marks.join(' · '),
        ]);
      }
    }
    p(
      table(
        [
          'size',
          'variant',
          'req/s',
          'MiB/s',
          'vs stock',
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
      p(`Each framework's own ceiling at ${cs}: the same server, status 200 and an empty body.`, '');
      p(
        table(['server', 'req/s', 'vs nginx', 'server CPU µs/req', 'latency p50 / p99 ms', 'server / wrk CPU'], erows),
        '',
      );
    }
    const bound = sizes.filter(
      (size) => at(conns, size, 'nginx').n && median(at(conns, size, 'nginx').pick('clientBusy')) >= 0.9,
    );
    if (bound.length) p(tpl('http', 'bound', { sizes: bound.map(fmtSize).join(', '), conns }), '');
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
  // Target summary: one line per target and concurrency.
  const byKey = new Map();
  for (const c of checks) byKey.set(`${c.what}|${c.conns}`, [...(byKey.get(`${c.what}|${c.conns}`) ?? []), c]);
  const lines = [...byKey].map(([k, cs]) => {
    const [what, conns] = k.split('|');
    const where = cs[0].size >= MiB ? (what.includes('nginx') ? 'at 64 MiB' : 'at 1 MiB and above') : 'below 1 MiB';
    return (
      `${cs.every((c) => c.ok) ? '✅' : '❌'} HTTP, ${conns} conn., ${where}: zerocopy ${what} — ` +
      `${cs.map((c) => `${c.s.fw} ${fmtSize(c.size)} ${num(c.value.med, 2)}×${c.ok ? '' : ' ❌'}`).join(', ')}.`
    );
  });
  if (lines.length) {
    p('**Targets** (medians of the per-round ratios; zerocopy variant vs the same framework stock, or vs nginx):', '');
    p(...lines.map((l) => `- ${l}`), '');
  }
  return { md: `${out.join('\n')}\n`, checks: lines };
}

module.exports = { renderHttp };
