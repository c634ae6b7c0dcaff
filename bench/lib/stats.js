'use strict';
// Statistics over the runs (simple-statistics), and the arithmetic the tables
// share: per-run derived metrics, groups of runs, ratios paired by round.
const ss = require('simple-statistics');

const GiB = 1024 ** 3;
const finite = (xs) => xs.filter(Number.isFinite);
const median = (xs) => (finite(xs).length ? ss.median(finite(xs)) : NaN);
const min = (xs) => (finite(xs).length ? ss.min(finite(xs)) : Infinity);
const max = (xs) => (finite(xs).length ? ss.max(finite(xs)) : -Infinity);

// Share of flows that took a kernel path, from the diagnostics channel.
function fastShare(r) {
  const counts = Object.entries(r.paths ?? {});
  const all = ss.sum(counts.map(([, n]) => n));
  if (!r.paths || all === 0) return undefined;
  return ss.sum(counts.filter(([k]) => !k.startsWith('normal')).map(([, n]) => n)) / all;
}

// Derived per-run metrics: bytes/s, transfers/s, CPU s/GiB (user, sys, both),
// CPU per transfer (both, user, sys), peak RSS MiB, wrk's CPU s/GiB (HTTP), and
// the run's own figures.
function metrics(r) {
  const gib = r.bytes / GiB;
  const cpu = r.user + r.sys;
  return {
    ...r,
    thr: r.bytes / r.wall,
    rate: r.transfers / r.wall,
    user: r.user / gib,
    sys: r.sys / gib,
    cpu: cpu / gib,
    cpuPerTransfer: cpu / r.transfers,
    userPerTransfer: r.user / r.transfers,
    sysPerTransfer: r.sys / r.transfers,
    rss: r.maxRssKiB / 1024,
    // HTTP: the load generator's own CPU per GiB received.
    clientCpu: (r.clientUser + r.clientSys) / gib,
    fast: fastShare(r),
  };
}

function group(runs, pred) {
  const rs = runs.filter(pred);
  const ms = rs.map(metrics);
  return { runs: rs, ms, n: rs.length, pick: (k) => ms.map((m) => m[k]) };
}

// A metric of a against b, paired by round (the runs of one round were
// interleaved, so they saw the same machine): median and range of a/b or a-b.
function paired(a, b, key, op) {
  const byRound = new Map(b.runs.map((r, i) => [r.round, b.ms[i][key]]));
  const xs = [];
  a.runs.forEach((r, i) => {
    const base = byRound.get(r.round);
    const ok = op === 'ratio' ? base > 0 : Number.isFinite(base);
    if (ok && Number.isFinite(a.ms[i][key])) xs.push(op === 'ratio' ? a.ms[i][key] / base : a.ms[i][key] - base);
  });
  return { med: median(xs), lo: min(xs), hi: max(xs), n: xs.length };
}
const pairedRatio = (a, b, key) => paired(a, b, key, 'ratio');
const pairedDiff = (a, b, key) => paired(a, b, key, 'diff');

module.exports = { median, min, max, metrics, group, pairedRatio, pairedDiff };
