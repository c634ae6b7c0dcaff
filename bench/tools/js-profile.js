'use strict';
// node bench/tools/js-profile.js uploads|proxy SIZE [SECONDS] [TOP]
//
// Where the register's server spends its JavaScript, per request: runs the
// uploads server (bench/bodies/upload-server.js) or the http-proxy server
// (bench/bodies/proxy-server.js, in front of a Node origin) under
// --require dist/register.js, pinned to core 0, with bench/bin/http_client on
// core 1; after a 3 s warm-up it records a V8 CPU profile (node:inspector,
// started and stopped by signals) for SECONDS (default 4). Prints the main
// thread's self time per request — all of it, the library's (dist/), and the
// TOP (default 20) functions. Time in a native call counts as that call's
// (a syscall, or the main thread preempted by the threadpool on its core).
// Self time per request moves far less with the neighbours on a shared
// machine than requests per second do; it says nothing of other threads.
// BODIES_AB_REGISTER=FILE profiles FILE's variant instead (an empty file: stock).
const { spawn, execFileSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const ROOT = path.join(__dirname, '..', '..');
const CLIENT = path.join(ROOT, 'bench', 'bin', 'http_client');
const [part, sizeArg, secondsArg, topArg] = process.argv.slice(2);
const m = /^(\d+)([km]?)$/i.exec(sizeArg || '');
if (!['uploads', 'proxy'].includes(part) || !m) {
  process.stderr.write('usage: node bench/tools/js-profile.js uploads|proxy SIZE [SECONDS] [TOP]\n');
  process.exit(2);
}
const size = Number(m[1]) * { '': 1, k: 1024, m: 1048576 }[m[2].toLowerCase()];
const seconds = Number(secondsArg) || 4;
const top = Number(topArg) || 20;
const REGISTER = process.env.BODIES_AB_REGISTER || './dist/register.js';
if (!fs.existsSync(CLIENT)) {
  fs.mkdirSync(path.dirname(CLIENT), { recursive: true });
  execFileSync('cc', ['-O2', '-Wall', '-pthread', '-o', CLIENT, path.join(ROOT, 'bench', 'c', 'http_client.c')]);
}
if (!fs.existsSync(path.join(ROOT, 'dist', 'register.js'))) execFileSync('npm', ['run', 'build:ts'], { cwd: ROOT });

const dir = fs.mkdtempSync(path.join(fs.existsSync('/dev/shm') ? '/dev/shm' : os.tmpdir(), 'js-profile-'));
const body = path.join(dir, 'body');
const profileOut = path.join(dir, 'profile.json');
fs.writeFileSync(body, require('node:crypto').randomBytes(size));
// Loaded into the server: SIGUSR2 starts the profiler, SIGUSR1 writes the profile and exits.
const HOOK = path.join(dir, 'hook.js');
fs.writeFileSync(
  HOOK,
  `const inspector = require('node:inspector');
const session = new inspector.Session();
session.connect();
process.on('SIGUSR2', () => session.post('Profiler.enable', () => session.post('Profiler.start', () => console.log('PROFILING'))));
process.on('SIGUSR1', () => session.post('Profiler.stop', (err, r) => {
  require('node:fs').writeFileSync(${JSON.stringify(profileOut)}, JSON.stringify(r.profile));
  process.exit(0);
}));\n`,
);
const children = [];
process.on('exit', () => {
  for (const c of children) c.kill();
  fs.rmSync(dir, { recursive: true, force: true });
});

/** Resolves with the first match of `re` in the child's stdout. */
function printed(child, re) {
  return new Promise((resolve, reject) => {
    let out = '';
    const onData = (d) => {
      out += d;
      const match = re.exec(out);
      if (!match) return;
      child.stdout.removeListener('data', onData);
      resolve(match);
    };
    child.stdout.on('data', onData);
    child.once('exit', (code) => reject(new Error(`a server exited (${code}) before printing ${re}`)));
  });
}

async function start(args, core) {
  const child = spawn('taskset', ['-c', String(core), process.execPath, ...args], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.push(child);
  const [, port] = await printed(child, /PORT (\d+)/);
  return { child, port: Number(port) };
}

const ORIGIN = `const b = require('node:fs').readFileSync(process.argv[1]);
require('node:http').createServer((q, r) => { r.setHeader('Content-Length', b.length); r.end(b); })
  .listen(0, '127.0.0.1', function () { console.log('PORT ' + this.address().port); });`;

function load(port, ms) {
  const args =
    part === 'uploads'
      ? [String(port), 'PUT', '/upload', '1', String(ms), body]
      : [String(port), 'GET', '/body', '4', String(ms)];
  const w = JSON.parse(
    execFileSync('taskset', ['-c', '1', CLIENT, ...args], { encoding: 'utf8' })
      .trim()
      .split('\n')
      .pop(),
  );
  if (!w.ok) throw new Error(`http_client: ${w.error}`);
  return w.requests;
}

function summarize(profile, requests) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map();
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i];
    self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  }
  const perFunction = new Map();
  let busy = 0;
  let ours = 0;
  for (const [id, us] of self) {
    const f = byId.get(id).callFrame;
    if (f.functionName === '(idle)') continue;
    busy += us;
    if (f.url.includes('/dist/')) ours += us;
    const where = f.url ? ` ${f.url.replace(`file://${ROOT}/`, '')}:${f.lineNumber + 1}` : '';
    const k = `${f.functionName || '(anonymous)'}${where}`;
    perFunction.set(k, (perFunction.get(k) ?? 0) + us);
  }
  const per = (us) => (us / requests).toFixed(1).padStart(7);
  console.log(`${part} ${sizeArg}, ${path.basename(REGISTER)}: ${requests} requests in ${seconds} s`);
  console.log(`main thread busy ${per(busy)} µs/request, of which the library's JavaScript ${per(ours).trim()}`);
  for (const [k, us] of [...perFunction].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${per(us)}  ${k}`);
}

async function main() {
  let server;
  if (part === 'uploads') {
    server = await start(
      ['--require', REGISTER, '--require', HOOK, 'bench/bodies/upload-server.js', path.join(dir, 'out')],
      0,
    );
  } else {
    const origin = await start(['-e', ORIGIN, body], 1);
    const proxyDir = path.join(ROOT, 'node_modules', 'http-proxy');
    server = await start(
      ['--require', REGISTER, '--require', HOOK, 'bench/bodies/proxy-server.js', String(origin.port), proxyDir],
      0,
    );
  }
  load(server.port, 3000); // warm-up, JIT included
  const profiling = printed(server.child, /PROFILING/);
  server.child.kill('SIGUSR2');
  await profiling;
  const requests = load(server.port, seconds * 1000);
  const written = new Promise((r) => server.child.once('exit', r));
  server.child.kill('SIGUSR1');
  await written;
  summarize(JSON.parse(fs.readFileSync(profileOut, 'utf8')), requests);
  process.exit(0);
}
main().catch((e) => {
  console.error(e);
  process.exit(1);
});
