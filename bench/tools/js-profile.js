'use strict';
// node bench/tools/js-profile.js uploads|proxy SIZE [SECONDS] [TOP]
//
// Where the register's server spends its JavaScript, per request: runs the
// uploads server (bench/bodies/upload-server.js) or the http-proxy server
// (bench/bodies/proxy-server.js, in front of a Node origin) under
// --require dist/register.js, pinned to core 0, with bench/bin/http_client on
// core 1; after a 3 s warm-up (three connections) it records a V8 CPU
// profile (node:inspector, started and stopped by signals) for SECONDS
// (default 4). Prints the main thread's self time per request — all of it,
// the library's (dist/), and the TOP (default 20) functions. Time in a
// native call counts as that call's (a syscall, or the main thread preempted
// by the threadpool on its core).
// Self time per request moves far less with the neighbours on a shared
// machine than requests per second do; it says nothing of other threads.
// BODIES_AB_REGISTER=FILE profiles FILE's variant instead (an empty file: stock).
const fs = require('node:fs');
const path = require('node:path');
const { ROOT, parseSize, rig, printed, ORIGIN, proxyArgs, UPLOAD_SERVER } = require('./rig');

const [part, sizeArg, secondsArg, topArg] = process.argv.slice(2);
const size = parseSize(sizeArg);
if (!['uploads', 'proxy'].includes(part) || !(size >= 0)) {
  process.stderr.write('usage: node bench/tools/js-profile.js uploads|proxy SIZE [SECONDS] [TOP]\n');
  process.exit(2);
}
const seconds = Number(secondsArg) || 4;
const top = Number(topArg) || 20;
const REGISTER = process.env.BODIES_AB_REGISTER || './dist/register.js';
const { dir, body, start, load, warmUp } = rig('js-profile-', size);
const profileOut = path.join(dir, 'profile.json');
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
  const hooks = ['--require', REGISTER, '--require', HOOK];
  if (part === 'uploads') {
    server = await start([...hooks, UPLOAD_SERVER, path.join(dir, 'out')], 0);
  } else {
    const origin = await start(['-e', ORIGIN, body], 1);
    server = await start([...hooks, ...proxyArgs(origin.port)], 0);
  }
  warmUp(part, server.port);
  const profiling = printed(server.child, /PROFILING/);
  server.child.kill('SIGUSR2');
  await profiling;
  const { requests } = load(part, server.port, seconds * 1000);
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
