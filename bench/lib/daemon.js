'use strict';
// A server the bench starts and keeps up through a workload's rounds (nginx,
// HAProxy, a Node server): its own process, ready once its port accepts
// connections (a known port) or once it prints `PORT <n>` (port 0).
const { spawn } = require('node:child_process');
const { canConnect, sleep } = require('./sys');

// Servers still running, for stopDaemons() on the driver's way out.
const live = new Set();

/**
 * args: the command line (taskset first if pinned: it execs into the server,
 * so the child's pid is the server's). port: the port it was told to use, or
 * null to wait for its `PORT <n>` line. Rejects if it exits or does not
 * listen within 15 s.
 */
async function startDaemon(args, { port = null, env = process.env, cwd, label = args[0] } = {}) {
  const [cmd, ...rest] = args;
  const child = spawn(cmd, rest, { env, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  live.add(child);
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => {
    out = (out + d).slice(-4096);
  });
  child.stderr.on('data', (d) => {
    err = (err + d).slice(-4096);
  });
  child.once('error', (e) => {
    err += String(e);
  });
  const exited = new Promise((resolve) =>
    child.once('close', (code, sig) => {
      live.delete(child);
      resolve(code ?? sig);
    }),
  );
  const d = {
    label,
    pid: child.pid,
    port: null,
    get alive() {
      return child.exitCode === null && child.signalCode === null;
    },
    why: () => `${err}${out}`.trim().split('\n').slice(-5).join(' / '),
    async stop() {
      if (this.alive) child.kill('SIGTERM');
      const t = setTimeout(() => {
        if (this.alive) child.kill('SIGKILL');
      }, 3000);
      await exited;
      clearTimeout(t);
    },
  };
  for (let i = 0; i < 300 && !d.port; i++) {
    if (!d.alive) throw new Error(`${label} exited at start: ${d.why()}`);
    if (port === null) {
      const m = /^PORT (\d+)$/m.exec(out);
      if (m) d.port = Number(m[1]);
    } else if (await canConnect(port)) d.port = port;
    if (!d.port) await sleep(50);
  }
  if (!d.port) {
    await d.stop();
    throw new Error(`${label} did not listen within 15 s: ${d.why()}`);
  }
  return d;
}

/**
 * Ends whatever startDaemon() started that is still running (the driver's way
 * out on an error or a signal): SIGTERM, so an nginx master takes its worker
 * with it rather than leaving it orphaned.
 */
function stopDaemons() {
  for (const c of live) if (c.exitCode === null && c.signalCode === null) c.kill('SIGTERM');
}

module.exports = { startDaemon, stopDaemons };
