'use strict';
// Child processes of the bench: every measured run is its own process that
// prints one JSON line at the end (and `PORT <n>` first if it listens), and the
// long-lived C servers (receiver, echo server, sink) that print one line per event.
const path = require('node:path');
const readline = require('node:readline');
const { spawn } = require('node:child_process');

/**
 * Starts `cmd args`; `port` resolves at its `PORT <n>` line, `result` with its
 * last stdout line parsed (which must say ok: true, with exit status 0).
 */
function startJson(cmd, args, { env = process.env, cwd, timeout = 120000, label } = {}) {
  const child = spawn(cmd, args, { env, cwd, stdio: ['ignore', 'pipe', 'pipe'], timeout });
  let out = '';
  let err = '';
  let gotPort;
  const port = new Promise((resolve) => {
    gotPort = resolve;
  });
  child.stdout.on('data', (d) => {
    out += d;
    const m = /^PORT (\d+)$/m.exec(out);
    if (m) gotPort(Number(m[1]));
  });
  child.stderr.on('data', (d) => {
    err += d;
  });
  const result = new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code, signal) => {
      try {
        const res = JSON.parse(out.trim().split('\n').pop());
        if (code !== 0 || !res.ok) throw new Error('failed');
        resolve(res);
      } catch {
        const what = label ?? `${path.basename(cmd)} ${args.join(' ').slice(0, 200)}`;
        reject(new Error(`${what}: exit ${code ?? signal}\n${err}${out}`));
      }
    });
  });
  result.catch(() => {}); // awaited later; a crash also ends the port wait
  const listening = Promise.race([
    port,
    result.then(() => {
      throw new Error(`${label ?? cmd} exited before listening`);
    }),
  ]);
  listening.catch(() => {}); // a child that never listens: only its result counts
  return {
    port: listening,
    result,
    kill: () => child.exitCode === null && child.signalCode === null && child.kill('SIGKILL'),
  };
}

const runJson = (cmd, args, opts) => startJson(cmd, args, opts).result;

/** A long-lived server printing `PORT <n>`, then lines handed to onLine. */
function lineServer(bin, args, onLine, stdin = 'ignore') {
  const child = spawn(bin, args, { stdio: [stdin, 'pipe', 'inherit'] });
  const port = new Promise((resolve, reject) => {
    readline.createInterface({ input: child.stdout }).on('line', (line) => {
      const m = /^PORT (\d+)$/.exec(line);
      if (m) resolve(Number(m[1]));
      else onLine(line);
    });
    child.once('exit', (code) => reject(new Error(`${path.basename(bin)} exited (${code})`)));
  });
  port.catch(() => {});
  return { child, port, stop: () => child.exitCode === null && child.kill('SIGTERM') };
}

module.exports = { startJson, runJson, lineServer };
