// Temporary files with known content, and hashes to compare bytes exactly.
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { until } from './wait';

export function tmpDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'zerocopy-test-'));
}

/** Deterministic pseudo-random content (fast to make, different at every offset). */
export function makeFile(dir: string, name: string, size: number, seed = 1): string {
  const file = path.join(dir, name);
  const fd = fs.openSync(file, 'w');
  const block = 1 << 20;
  let written = 0;
  let counter = seed;
  while (written < size) {
    const n = Math.min(block, size - written);
    const buf = crypto.createHash('sha512').update(`${counter++}`).digest();
    const chunk = Buffer.alloc(n);
    for (let i = 0; i < n; i += buf.length) buf.copy(chunk, i, 0, Math.min(buf.length, n - i));
    if (n >= 4) chunk.writeUInt32LE(counter >>> 0, 0);
    fs.writeSync(fd, chunk);
    written += n;
  }
  fs.closeSync(fd);
  return file;
}

export function sha256(data: Buffer): string {
  return crypto.createHash('sha256').update(data).digest('hex');
}

export function fileHash(file: string, start = 0, end = Infinity): Promise<string> {
  // Resolved at 'close', not 'end': the stream closes its fd on the pool after
  // 'end', and a test that counts its fds next must not find this one open
  // (test/concurrency.test.ts counted it before and not after: 13 against 14).
  return new Promise((resolve, reject) => {
    const h = crypto.createHash('sha256');
    let digest: string | undefined;
    fs.createReadStream(file, { start, end })
      .on('data', (d) => h.update(d))
      .on('error', reject)
      .on('end', () => {
        digest = h.digest('hex');
      })
      .on('close', () => {
        if (digest !== undefined) resolve(digest);
      });
  });
}

/**
 * Waits until openFdCount() is `expected` — sockets let go of their fds a turn
 * or two after their 'close' — or until many turns have passed; returns the
 * count then, for the caller to assert.
 */
export async function fdCountSettles(expected: number, turns = 2000): Promise<number> {
  await until(() => openFdCount() === expected, turns);
  return openFdCount();
}

/**
 * Open fds of the kinds a transfer could leak: sockets, pipes, and files under
 * the temp folder (where every test file lives). The runtime's own fds
 * (eventfds, epoll, its files) may come and go and are not counted.
 */
export function openFdCount(): number {
  let n = 0;
  const tmp = os.tmpdir();
  for (const fd of fs.readdirSync('/proc/self/fd')) {
    let target: string;
    try {
      target = fs.readlinkSync(`/proc/self/fd/${fd}`);
    } catch {
      continue;
    }
    if (target.startsWith('socket:') || target.startsWith('pipe:') || target.startsWith(tmp)) n++;
  }
  return n;
}
