'use strict';
// docs/benchmarks.svg: one bar group per workload, one bar per variant, the
// median per-round ratio to Node's on a log scale (bars from the 1× line),
// throughput above and CPU per byte below. Drawn by vega-lite, rendered headless.
const { group, pairedRatio } = require('../lib/stats');
const { fmtSize, num } = require('../lib/md');

const SERIES = [
  ['node', 'Node streams', '#9aa0a6'],
  ['zerocopy', 'zerocopy', '#1a73e8'],
  ['zerocopy-forced', 'zerocopy, ZEROCOPY_MIN_BYTES=0', '#8ab4f8'],
  ['zerocopy-pool', 'zerocopy, ZEROCOPY_IN_LOOP=0', '#4ecde6'],
  ['register', 'a.pipe(b), zerocopy/register', '#a142f4'],
  ['copyFile', 'fs.copyFile', '#f9ab00'],
  ['c', 'C syscall loop (ceiling)', '#188038'],
];

async function renderSvg({ config, runs }) {
  const groups = [
    [`file→socket ${fmtSize(config.big)}`, (r) => r.workload === 'socket'],
    [`file→file ${fmtSize(config.big)}`, (r) => r.workload === 'copy'],
    ...config.smallSizes.map((s) => [
      `${fmtSize(s)} files`,
      (r) => r.workload === 'small' && r.conns === 1 && r.size === s,
    ]),
    [`'data' ${fmtSize(config.readSize || 0)} files`, (r) => r.workload === 'read'],
    [`proxy ${fmtSize(config.proxyBytes || 0)}`, (r) => r.workload === 'proxy'],
    ...(config.pingpongSizes || []).map((s) => [
      `ping-pong ${fmtSize(s)}`,
      (r) => r.workload === 'pingpong' && r.size === s,
    ]),
  ].filter(([, sel]) => runs.some(sel));
  const panels = [
    [
      "Throughput vs Node (× Node's bytes/s, transfers/s or exchanges/s, median; higher is better)",
      (w) => (['small', 'read', 'pingpong'].includes(w) ? 'rate' : 'thr'),
    ],
    ["CPU per byte of the sender / copier / proxy vs Node (× Node's CPU s/GiB, median; lower is better)", () => 'cpu'],
  ];
  const panel = ([title, key]) => {
    const values = groups.flatMap(([label, sel]) => {
      const rs = runs.filter(sel);
      const base = group(rs, (r) => r.variant === 'node');
      return SERIES.map(([k, series]) => [series, group(rs, (r) => r.variant === k)])
        .filter(([, g]) => g.n && base.n)
        .map(([series, g]) => ({ label, series, v: pairedRatio(g, base, key(rs[0].workload)).med }))
        .filter((d) => Number.isFinite(d.v) && d.v > 0)
        .map((d) => ({ ...d, text: num(d.v, d.v < 10 ? 2 : 1) }));
    });
    const vs = values.map((d) => d.v);
    const y = {
      field: 'v',
      type: 'quantitative',
      title: '× Node (log)',
      scale: { type: 'log', domain: [Math.min(0.5, ...vs) / 1.3, Math.max(2, ...vs) * 1.3] },
    };
    return {
      title,
      width: 1100,
      height: 260,
      data: { values },
      encoding: {
        x: { field: 'label', type: 'nominal', sort: groups.map(([l]) => l), title: null, axis: { labelAngle: 0 } },
        xOffset: { field: 'series', sort: SERIES.map((s) => s[1]) },
        y,
      },
      layer: [
        {
          mark: 'bar',
          encoding: {
            y2: { datum: 1 },
            tooltip: [{ field: 'series' }, { field: 'text' }],
            color: {
              field: 'series',
              title: null,
              scale: { domain: SERIES.map((s) => s[1]), range: SERIES.map((s) => s[2]) },
            },
          },
        },
        { mark: { type: 'text', fontSize: 9, dy: -5 }, encoding: { text: { field: 'text' } } },
      ],
    };
  };
  const note =
    "Small files: one connection, files sent back to back; 'data': files read by a 'data' listener. " +
    "Proxy: the proxy process's CPU; ping-pong = " +
    `request/response exchanges. Log scale. ${config.quick ? 'QUICK smoke run. ' : ''}Source: docs/benchmarks.md`;
  const spec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    background: 'white',
    vconcat: panels.map(panel),
    title: { text: note, orient: 'bottom', fontSize: 10, fontWeight: 'normal', color: '#555' },
    config: { legend: { orient: 'bottom', labelLimit: 0 }, font: 'sans-serif' },
  };
  const [vl, vega] = await Promise.all([import('vega-lite'), import('vega')]);
  return new vega.View(vega.parse(vl.compile(spec).spec), { renderer: 'none' }).toSVG();
}

module.exports = { renderSvg };
