'use strict';
// node bench/tools/bodies-ab.js PART SIZE [SLICES]
//   PART: uploads | proxy; SIZE: e.g. 64k, 1m
//
// A quick A/B of one part of the bodies workload, stock against
// --require dist/register.js, less exposed to neighbours than the full bench:
// both servers run at once (pinned to core 0, the idle one waiting in epoll),
// bench/bin/http_client on core 1 alternates 1 s slices between them, and each
// slice's server CPU comes from /proc/PID/stat around it. Printed last: the
// medians of the per-slice ratios (register / stock) of req/s and of CPU per
// request. uploads: bench/bodies/upload-server.js (req.pipe(file), on tmpfs);
// proxy: bench/bodies/proxy-server.js (http-proxy) in front of a Node origin
// on core 1 that answers with the body from memory.
// BODIES_AB_REGISTER=FILE: the register side requires FILE instead of
// dist/register.js (an A/A run: an empty file; an experiment's variant).
// BODIES_AB_BASE=FILE: the stock side requires FILE (two variants of the
// library side by side: the "stock" columns are then FILE's).
// BODIES_AB_CLOSE=1: the origin answers `Connection: close`.
const path = require('node:path');
const { median } = require('../lib/stats');
const { treeCpu } = require('../lib/sys');
const { parseSize, rig, ORIGIN, proxyArgs, UPLOAD_SERVER } = require('./rig');

const [part, sizeArg, slicesArg] = process.argv.slice(2);
const size = parseSize(sizeArg);
if (!['uploads', 'proxy'].includes(part) || !(size >= 0)) {
  process.stderr.write('usage: node bench/tools/bodies-ab.js uploads|proxy SIZE [SLICES]\n');
  process.exit(2);
}
const slices = Number(slicesArg) || 10;
const REGISTER = process.env.BODIES_AB_REGISTER || './dist/register.js';
const BASE = process.env.BODIES_AB_BASE ? ['--require', process.env.BODIES_AB_BASE] : [];
const { dir, body, start, load, warmUp } = rig('bodies-ab-', size);

/** utime + stime of every thread of pid, in seconds. */
function cpu(pid) {
  const { user, sys } = treeCpu(pid);
  return user + sys;
}

function slice(srv) {
  const c0 = cpu(srv.pid);
  const w = load(part, srv.port, 1000);
  const c1 = cpu(srv.pid);
  return { rps: w.requests / w.wall, cpuPerReq: (c1 - c0) / w.requests };
}

async function main() {
  let servers;
  if (part === 'uploads') {
    servers = {
      stock: await start([...BASE, UPLOAD_SERVER, path.join(dir, 'out-stock')], 0),
      register: await start(['--require', REGISTER, UPLOAD_SERVER, path.join(dir, 'out-register')], 0),
    };
  } else {
    const { port } = await start(['-e', ORIGIN, body, process.env.BODIES_AB_CLOSE ? 'close' : ''], 1);
    servers = {
      stock: await start([...BASE, ...proxyArgs(port)], 0),
      register: await start(['--require', REGISTER, ...proxyArgs(port)], 0),
    };
  }
  for (const s of Object.values(servers)) warmUp(part, s.port);
  const rows = [];
  for (let i = 0; i < slices; i++) {
    const order = i % 2 === 0 ? ['stock', 'register'] : ['register', 'stock'];
    const r = {};
    for (const k of order) r[k] = slice(servers[k]);
    rows.push(r);
    const us = (x) => (x * 1e6).toFixed(0);
    console.log(
      `stock ${r.stock.rps.toFixed(0)} req/s ${us(r.stock.cpuPerReq)} µs CPU/req   register ${r.register.rps.toFixed(0)} req/s ${us(r.register.cpuPerReq)} µs CPU/req   ratio req/s ${(r.register.rps / r.stock.rps).toFixed(3)} CPU/req ${(r.register.cpuPerReq / r.stock.cpuPerReq).toFixed(3)}`,
    );
  }
  const rps = rows.map((r) => r.register.rps / r.stock.rps);
  const cpuR = rows.map((r) => r.register.cpuPerReq / r.stock.cpuPerReq);
  console.log(
    `${part} ${sizeArg}: median ratio (register / stock) req/s ${median(rps).toFixed(3)} (${Math.min(...rps).toFixed(2)}–${Math.max(...rps).toFixed(2)}), CPU per request ${median(cpuR).toFixed(3)} (${Math.min(...cpuR).toFixed(2)}–${Math.max(...cpuR).toFixed(2)}), ${slices} slice pairs`,
  );
  process.exit(0);
}
main().catch((e) => {
  console.error(e);
  process.exit(1);
});
