// Runs a Node fixture that reports on one line of stdout, and takes that line
// without waiting for the process to exit.
//
// Why not execFile: Node's own exit can hang. process.exit() joins V8's
// worker threads before the isolate is torn down, and a concurrent compile
// job on one of them may be waiting for a garbage collection that only the
// exiting main thread could run (nodejs/node#54918, the exit-time variant).
// CI saw it on Node 26 (a stock run of the needle scenario: its line printed,
// the process parked in NodePlatform::Shutdown); by gdb it is 2 of 80 runs
// beside two busy cores. What a test compares is the line.
import { spawn } from 'node:child_process';

export function firstLine(args: string[], cwd: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    let done = false;
    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    child.stdout.on('data', (s: string) => {
      out += s;
      const end = out.indexOf('\n');
      if (done || end < 0) return;
      done = true;
      resolve(out.slice(0, end));
      child.kill('SIGKILL');
    });
    child.stderr.on('data', (s: string) => {
      err += s;
    });
    child.on('error', (e) => {
      if (!done) reject(e);
      done = true;
    });
    // 'close', not 'exit': stdout may still hold the line when the process has exited.
    child.on('close', (code, signal) => {
      if (!done) reject(new Error(`node ${args.join(' ')} ended (${code ?? signal}) without a line:\n${out}${err}`));
      done = true;
    });
  });
}
