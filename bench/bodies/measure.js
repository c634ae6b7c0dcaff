'use strict';
// One measured run of each part of the bodies workload (bench/workloads/bodies.js
// calls them), each after its own warm-up run off the clock:
//   - upload: bench/c/http_client PUTs the body file on one keep-alive
//     connection (core 1) to an upload server (core 0); the server's CPU is
//     utime+stime from /proc/PID/stat before and after; the file the server
//     wrote after the warm-up is compared with the body;
//   - download: bench/bodies/download-client.js (core 0) downloads the file
//     from the origin and times itself; the origin's CPU (core 1) beside it;
//   - proxy: bench/c/http_client GETs the file on `conns` keep-alive
//     connections through the proxy (core 0), which gets it from the origin
//     (core 1, beside the client); the proxy's process tree's CPU from /proc.
// A Node process's diagnostics counts (GET /__paths, or the download client's
// own) are taken around the timed part: splicedShare = bytes the kernel moved
// / body bytes delivered.
const path = require('node:path');
const { runJson } = require('../lib/proc');
const { sameFiles } = require('../lib/files');
const { treeCpu, cpuPressure, pressureBetween, rssKiB, sleep, placed } = require('../lib/sys');
const { serverEnv, counts, REGISTER } = require('./servers');

const ROOT = path.join(__dirname, '..', '..');
const CLIENT = path.join(ROOT, 'bench', 'bin', 'http_client');
const TIMEOUT_MS = 180000;

/** The C client on core 1: its JSON line (ok, bytes, requests, wall, user, sys, latency). */
function client(port, args) {
  const [cmd, ...rest] = placed('pinned', 1, [CLIENT, String(port), ...args]);
  return runJson(cmd, rest, { cwd: ROOT, timeout: TIMEOUT_MS, label: `http_client ${args[0]} ${args[1]}` });
}

function diff(a = {}, b = {}) {
  const d = {};
  for (const [k, v] of Object.entries(b)) if (v - (a[k] || 0) > 0) d[k] = v - (a[k] || 0);
  return d;
}

// The fields every part records from the C client's run.
const fromClient = (w) => ({
  bytes: w.bytes,
  transfers: w.requests,
  wall: w.wall,
  latP50: w.latP50,
  latP99: w.latP99,
  latMax: w.latMax,
  clientUser: w.user,
  clientSys: w.sys,
  clientBusy: (w.user + w.sys) / w.wall,
  reconnects: w.reconnects,
});

// The diagnostics counts over a run: paths, reasons, spliced bytes and their share of `bytes`.
const spliced = (c0, c1, bytes) =>
  c0 && c1
    ? {
        splicedBytes: c1.splicedBytes - c0.splicedBytes,
        splicedShare: bytes > 0 ? (c1.splicedBytes - c0.splicedBytes) / bytes : NaN,
        paths: diff(c0.paths, c1.paths),
        reasons: diff(c0.reasons, c1.reasons),
      }
    : {};

/** A timed run of `load` (resolving with the C client's result) around which `pid`'s CPU is read. */
async function around(pid, originPid, load) {
  const c0 = treeCpu(pid);
  const o0 = originPid ? treeCpu(originPid) : null;
  const psi0 = cpuPressure();
  const w = await load();
  const psi1 = cpuPressure();
  await sleep(50); // the server's side of the connections' close
  const c1 = treeCpu(pid);
  const o1 = originPid ? treeCpu(originPid) : null;
  return {
    w,
    user: c1.user - c0.user,
    sys: c1.sys - c0.sys,
    origin: o1 ? { originUser: o1.user - o0.user, originSys: o1.sys - o0.sys } : {},
    cpuPressure: pressureBetween(psi0, psi1),
  };
}

async function measureUpload(srv, file, cfg) {
  const put = (ms) => client(srv.port, ['PUT', '/upload', '1', String(ms), file.file]);
  await put(Math.max(1, cfg.warmupSeconds * 1000));
  if (!sameFiles(srv.out, file.file)) throw new Error(`${srv.label}: the uploaded file differs from the body sent`);
  const p0 = await counts(srv.port);
  const r = await around(srv.pid, null, () => put(cfg.seconds * 1000));
  const p1 = await counts(srv.port);
  if (p1.errors !== p0.errors) throw new Error(`${srv.label}: ${p1.errors - p0.errors} failed uploads`);
  if (p1.bodyBytes - p0.bodyBytes !== r.w.bytes)
    throw new Error(`${srv.label}: wrote ${p1.bodyBytes - p0.bodyBytes} body bytes, the client sent ${r.w.bytes}`);
  return {
    ...fromClient(r.w),
    user: r.user,
    sys: r.sys,
    serverBusy: (r.user + r.sys) / r.w.wall,
    serverRssKiB: rssKiB(srv.pid),
    cpuPressure: r.cpuPressure,
    ...spliced(p0, p1, r.w.bytes),
  };
}

async function measureDownload(v, origin, file, cfg, out) {
  const job = {
    port: origin.port,
    path: `/${file.name}`,
    out,
    expect: file.file,
    warmupMs: cfg.downloadWarmupSeconds * 1000,
    durationMs: cfg.seconds * 1000,
    timeoutMs: TIMEOUT_MS - 5000,
  };
  const args = placed('pinned', 0, [
    process.execPath,
    ...(v.zc ? ['--require', REGISTER] : []),
    path.join(__dirname, 'download-client.js'),
    JSON.stringify(job),
  ]);
  const o0 = treeCpu(origin.pid);
  const psi0 = cpuPressure();
  const t0 = Date.now();
  const d = await runJson(args[0], args.slice(1), {
    env: serverEnv(),
    cwd: ROOT,
    timeout: TIMEOUT_MS,
    label: `download client ${v.key}`,
  });
  const elapsed = (Date.now() - t0) / 1000;
  const psi1 = cpuPressure();
  const o1 = treeCpu(origin.pid);
  return {
    bytes: d.bytes,
    transfers: d.transfers,
    wall: d.wall,
    user: d.user,
    sys: d.sys,
    maxRssKiB: d.maxRssKiB,
    latP50: d.latP50,
    latP99: d.latP99,
    latMax: d.latMax,
    // The origin's CPU over the client process's life (its check and warm-up too), and its share of that time.
    originUser: o1.user - o0.user,
    originSys: o1.sys - o0.sys,
    originBusy: (o1.user - o0.user + o1.sys - o0.sys) / elapsed,
    cpuPressure: pressureBetween(psi0, psi1),
    splicedBytes: d.splicedBytes,
    splicedShare: d.bytes > 0 ? d.splicedBytes / d.bytes : NaN,
    paths: d.paths,
    reasons: d.reasons,
  };
}

async function measureProxy(srv, origin, file, cfg) {
  const get = (ms) => client(srv.port, ['GET', `/${file.name}`, String(cfg.proxyConns), String(ms)]);
  await get(Math.max(1, cfg.warmupSeconds * 1000));
  const p0 = srv.anchor ? null : await counts(srv.port);
  const r = await around(srv.pid, origin.pid, () => get(cfg.seconds * 1000));
  const p1 = srv.anchor ? null : await counts(srv.port);
  if (p1 && p1.errors !== p0.errors) throw new Error(`${srv.label}: ${p1.errors - p0.errors} proxy errors`);
  return {
    ...fromClient(r.w),
    user: r.user,
    sys: r.sys,
    serverBusy: (r.user + r.sys) / r.w.wall,
    serverRssKiB: rssKiB(srv.pid),
    ...r.origin,
    originBusy: (r.origin.originUser + r.origin.originSys) / r.w.wall,
    cpuPressure: r.cpuPressure,
    ...spliced(p0, p1, r.w.bytes),
  };
}

module.exports = { measureUpload, measureDownload, measureProxy };
