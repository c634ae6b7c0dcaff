'use strict';
// What the workloads with outside servers (bench/workloads/http.js, bodies.js)
// need of the system: finding and installing commands (Debian packages), tool
// and package versions, a process tree's CPU from /proc, CPU pressure, free
// ports.
const fs = require('node:fs');
const net = require('node:net');
const path = require('node:path');
const { spawnSync } = require('node:child_process');

const ROOT = path.join(__dirname, '..', '..');

function which(cmd) {
  const dirs = `${process.env.PATH || ''}:/usr/sbin:/sbin:/usr/bin:/usr/local/bin:/usr/local/sbin`.split(':');
  const isExec = (f) => fs.statSync(f, { throwIfNoEntry: false })?.isFile() && (fs.statSync(f).mode & 0o111) !== 0;
  return dirs.map((d) => path.join(d || '.', cmd)).find(isExec) ?? null;
}

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 10 * 60 * 1000, ...opts });
  return { ok: r.status === 0, out: `${r.stdout || ''}${r.stderr || ''}`.trim(), error: r.error };
}

// Debian's package, when the command is missing: apt-get install -y (after an
// apt-get update if the first try fails: the lists may be missing or stale).
// `what` prefixes the log lines (the workload's name).
function aptEnsure(cmd, pkg, log, what = 'http') {
  let bin = which(cmd);
  if (bin) return { bin };
  if (!which('apt-get')) return { why: `\`${cmd}\` is not on PATH and there is no apt-get to install Debian's ${pkg}` };
  if (process.getuid && process.getuid() !== 0)
    return { why: `\`${cmd}\` is not on PATH and installing Debian's ${pkg} needs root` };
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  log(`${what}: \`${cmd}\` not found: apt-get install -y ${pkg} ...`);
  let r = run('apt-get', ['install', '-y', '-q', pkg], { env });
  if (!r.ok) {
    log(`${what}: apt-get install failed; apt-get update, then again ...`);
    run('apt-get', ['update', '-q'], { env });
    r = run('apt-get', ['install', '-y', '-q', pkg], { env });
  }
  bin = which(cmd);
  if (!bin) return { why: `apt-get install -y ${pkg} failed: ${r.out.split('\n').slice(-3).join(' / ') || r.error}` };
  return { bin, installed: true };
}

function version(cmd, args, re = /.*/) {
  const r = run(cmd, args, { timeout: 10000 });
  const m = re.exec(r.out);
  return m ? (m[1] || m[0]).trim() : '?';
}

function pkgVersion(name) {
  try {
    return JSON.parse(fs.readFileSync(path.join(ROOT, 'node_modules', name, 'package.json'), 'utf8')).version;
  } catch {
    return null;
  }
}

let clkTck;
/** Clock ticks per second of /proc's CPU times (getconf CLK_TCK, 100 if it cannot say). */
function ticks() {
  if (clkTck === undefined) clkTck = Number(run('getconf', ['CLK_TCK']).out) || 100;
  return clkTck;
}

// utime + stime of a process and all its descendants (nginx: master and
// worker), seconds. /proc/PID/stat counts every thread of the process,
// libuv's threadpool too.
function treeCpu(pid) {
  let user = 0;
  let sys = 0;
  const stack = [pid];
  const seen = new Set();
  while (stack.length) {
    const p = stack.pop();
    if (seen.has(p)) continue;
    seen.add(p);
    let stat;
    try {
      stat = fs.readFileSync(`/proc/${p}/stat`, 'utf8');
    } catch {
      continue;
    }
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' '); // f[0] is field 3
    user += Number(f[11]);
    sys += Number(f[12]);
    let tasks = [];
    try {
      tasks = fs.readdirSync(`/proc/${p}/task`);
    } catch {
      /* gone */
    }
    for (const t of tasks) {
      try {
        for (const c of fs.readFileSync(`/proc/${p}/task/${t}/children`, 'utf8').split(' '))
          if (c) stack.push(Number(c));
      } catch {
        /* gone */
      }
    }
  }
  return { user: user / ticks(), sys: sys / ticks() };
}

// The machine's CPU pressure (PSI "some": time in which at least one runnable
// task waited for a core), to tell a contended run from a quiet one.
function cpuPressure() {
  let us = NaN;
  try {
    us = Number(/^some .*total=(\d+)/m.exec(fs.readFileSync('/proc/pressure/cpu', 'utf8'))[1]);
  } catch {
    /* no PSI */
  }
  return { us, t: Date.now() };
}
/** Share of the time between two cpuPressure() samples in which a task waited for a core. */
const pressureBetween = (a, b) => (b.us - a.us) / 1e6 / ((b.t - a.t) / 1000);

function rssKiB(pid) {
  try {
    return Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))[1]);
  } catch {
    return NaN;
  }
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

function canConnect(port) {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

// The command line under a placement: pinned to `core`, or as given.
const placed = (placement, core, args) => (placement === 'pinned' ? ['taskset', '-c', String(core), ...args] : args);

module.exports = {
  which,
  run,
  aptEnsure,
  version,
  pkgVersion,
  ticks,
  treeCpu,
  cpuPressure,
  pressureBetween,
  rssKiB,
  sleep,
  freePort,
  canConnect,
  placed,
};
