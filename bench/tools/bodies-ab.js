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
const { spawn, execFileSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const ROOT = path.join(__dirname, '..', '..');
const CLIENT = path.join(ROOT, 'bench', 'bin', 'http_client');
const [part, sizeArg, slicesArg] = process.argv.slice(2);
if (!['uploads', 'proxy'].includes(part) || !sizeArg) {
  process.stderr.write('usage: node bench/tools/bodies-ab.js uploads|proxy SIZE [SLICES]\n');
  process.exit(2);
}
const m = /^(\d+)([km]?)$/i.exec(sizeArg);
const size = Number(m[1]) * { '': 1, k: 1024, m: 1048576 }[m[2].toLowerCase()];
const slices = Number(slicesArg) || 10;
const TICK = 100; // USER_HZ: /proc/PID/stat times are in 1/100 s
// BODIES_AB_REGISTER: what the register side requires instead (an experiment's variant of it).
const REGISTER = process.env.BODIES_AB_REGISTER || './dist/register.js';
if (!fs.existsSync(CLIENT)) {
  // bench/c has no Makefile: built as bench/run.js builds it.
  fs.mkdirSync(path.dirname(CLIENT), { recursive: true });
  execFileSync('cc', ['-O2', '-Wall', '-pthread', '-o', CLIENT, path.join(ROOT, 'bench', 'c', 'http_client.c')], {
    stdio: 'inherit',
  });
}
if (!fs.existsSync(path.join(ROOT, 'dist', 'register.js'))) execFileSync('npm', ['run', 'build:ts'], { cwd: ROOT });

const dir = fs.mkdtempSync(path.join(fs.existsSync('/dev/shm') ? '/dev/shm' : os.tmpdir(), 'bodies-ab-'));
const body = path.join(dir, 'body');
fs.writeFileSync(body, require('node:crypto').randomBytes(size));
const children = [];
process.on('exit', () => {
  for (const c of children) c.kill();
  fs.rmSync(dir, { recursive: true, force: true });
});

function start(args, core) {
  const child = spawn('taskset', ['-c', String(core), process.execPath, ...args], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.push(child);
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      const p = /PORT (\d+)/.exec(out);
      if (p) resolve({ pid: child.pid, port: Number(p[1]) });
    });
    child.on('exit', (code) => reject(new Error(`${args.join(' ')} exited ${code}`)));
  });
}

// The proxy's origin: the body from memory, with Content-Length.
const ORIGIN = `const b = require('node:fs').readFileSync(process.argv[1]);
const close = process.argv[2] === 'close';
http.createServer((q, r) => { r.setHeader('Content-Length', b.length); if (close) r.setHeader('Connection', 'close'); r.end(b); })
  .listen(0, '127.0.0.1', function () { console.log('PORT ' + this.address().port); });`;

/** utime + stime of every thread of pid, in seconds. */
function cpu(pid) {
  const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = f.slice(f.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / TICK;
}

function load(port, ms) {
  const args =
    part === 'uploads'
      ? [String(port), 'PUT', '/upload', '1', String(ms), body]
      : [String(port), 'GET', '/body', '4', String(ms)];
  const out = execFileSync('taskset', ['-c', '1', CLIENT, ...args], { encoding: 'utf8' });
  return JSON.parse(out.trim().split('\n').pop());
}

function slice(srv) {
  const c0 = cpu(srv.pid);
  const w = load(srv.port, 1000);
  const c1 = cpu(srv.pid);
  if (!w.ok) throw new Error(`http_client: ${w.error}`);
  return { rps: w.requests / w.wall, cpuPerReq: (c1 - c0) / w.requests };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];

async function main() {
  let servers;
  if (part === 'uploads') {
    const script = path.join('bench', 'bodies', 'upload-server.js');
    servers = {
      stock: await start([script, path.join(dir, 'out-stock')], 0),
      register: await start(['--require', REGISTER, script, path.join(dir, 'out-register')], 0),
    };
  } else {
    // BODIES_AB_CLOSE=1: the origin answers `Connection: close`, as the
    // bench's nginx origin does to http-proxy (which passes it on: every
    // request then opens two connections).
    const { port } = await start(['-e', ORIGIN, body, process.env.BODIES_AB_CLOSE ? 'close' : ''], 1);
    const script = path.join('bench', 'bodies', 'proxy-server.js');
    const proxyDir = path.join(ROOT, 'node_modules', 'http-proxy');
    servers = {
      stock: await start([script, String(port), proxyDir], 0),
      register: await start(['--require', REGISTER, script, String(port), proxyDir], 0),
    };
  }
  for (const s of Object.values(servers)) load(s.port, 2000); // warm-up, JIT included
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
