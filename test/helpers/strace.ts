// Runs a command under strace and adds up what each kernel copy syscall moved,
// so tests prove the fast path really ran (not merely that bytes arrived).
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

export type Moved = Record<'sendfile' | 'splice' | 'copy_file_range', number>;

const SYSCALL = /(sendfile|splice|copy_file_range)(?:\(| resumed>)/;
const RESULT = /=\s+(-?\d+)(?:\s|$)/;

export function parseStrace(text: string): Moved {
  const moved: Moved = { sendfile: 0, splice: 0, copy_file_range: 0 };
  // With -f, calls may be split: "sendfile(... <unfinished ...>" then
  // "<... sendfile resumed>) = N". Only the line with the result counts.
  for (const line of text.split('\n')) {
    const name = SYSCALL.exec(line);
    if (!name || line.includes('<unfinished')) continue;
    const result = RESULT.exec(line.slice(line.lastIndexOf(')')));
    if (result && Number(result[1]) > 0) moved[name[1] as keyof Moved] += Number(result[1]);
  }
  return moved;
}

export interface Traced {
  code: number | null;
  moved: Moved;
  stdout: Buffer;
  stderr: string;
}

/**
 * strace -f the command. `onStdout` sees its output as it comes (a server
 * fixture prints its port there).
 */
export function runTraced(
  command: string,
  args: string[],
  dir: string,
  onStdout?: (chunk: Buffer) => void,
): Promise<Traced> {
  const out = path.join(dir, `strace-${process.pid}-${Date.now()}-${Math.random()}.txt`);
  const child = spawn(
    'strace',
    ['-f', '-qq', '-e', 'trace=sendfile,splice,copy_file_range', '-o', out, command, ...args],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  if (onStdout) child.stdout.on('data', onStdout);
  const stdout: Buffer[] = [];
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => stdout.push(d));
  child.stderr.on('data', (d: Buffer) => {
    stderr += d;
  });
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => {
      const text = fs.existsSync(out) ? fs.readFileSync(out, 'utf8') : '';
      fs.rmSync(out, { force: true });
      resolve({ code, moved: parseStrace(text), stdout: Buffer.concat(stdout), stderr });
    });
  });
}

export const fixture = (name: string): string => path.join(__dirname, '..', 'fixtures', name);
