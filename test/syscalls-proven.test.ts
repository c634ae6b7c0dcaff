// Each fast path, proven under strace: the bytes arrive exactly, and (nearly)
// all of them were moved by the syscall the path promises.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fileHash, makeFile, tmpDir } from './helpers/files';
import { hashingServer } from './helpers/net';
import { fixture, runTraced } from './helpers/strace';

const SIZE = 256 * 1024 * 1024;
let dir: string;
let file: string;
let hash: string;

beforeAll(async () => {
  dir = tmpDir();
  file = makeFile(dir, 'src.bin', SIZE);
  hash = await fileHash(file);
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe.skipIf(process.env.ZEROCOPY_DISABLE === '1')('fast paths under strace', () => {
  it('a 256 MiB file piped to a TCP socket is moved by sendfile, byte-exact', async () => {
    const sink = await hashingServer();
    try {
      const run = runTraced(process.execPath, [fixture('send-file.js'), file, String(sink.port)], dir);
      const [traced, received] = await Promise.all([run, sink.next()]);
      expect(traced.code, traced.stderr).toBe(0);
      expect(received.bytes).toBe(SIZE);
      expect(received.hash).toBe(hash);
      expect(traced.moved.sendfile).toBeGreaterThanOrEqual(0.99 * SIZE);
    } finally {
      await sink.close();
    }
  });

  it('a file copied through pipeline() is moved by copy_file_range, byte-exact', async () => {
    const out = path.join(dir, 'copy.bin');
    const traced = await runTraced(process.execPath, [fixture('copy-file.js'), file, out], dir);
    expect(traced.code, traced.stderr).toBe(0);
    expect(await fileHash(out)).toBe(hash);
    expect(traced.moved.copy_file_range).toBeGreaterThanOrEqual(0.99 * SIZE);
    fs.rmSync(out);
  });

  it('a file piped to process.stdout (a pipe) is moved by splice, byte-exact', async () => {
    // A shell pipeline gives the child a real pipe as stdout (Node's own
    // stdio:'pipe' would give it a socketpair).
    const script = `${JSON.stringify(process.execPath)} ${JSON.stringify(fixture('cat-file.js'))} ${JSON.stringify(file)} | sha256sum`;
    const traced = await runTraced('bash', ['-o', 'pipefail', '-c', script], dir);
    expect(traced.code, traced.stderr).toBe(0);
    expect(traced.stdout.toString().split(' ')[0]).toBe(hash);
    expect(traced.moved.splice).toBeGreaterThanOrEqual(0.99 * SIZE);
  });

  it('process.stdout redirected to a file is a destination too', async () => {
    const out = path.join(dir, 'stdout.bin');
    const script = `${JSON.stringify(process.execPath)} ${JSON.stringify(fixture('cat-file.js'))} ${JSON.stringify(file)} > ${JSON.stringify(out)}`;
    const traced = await runTraced('bash', ['-c', script], dir);
    expect(traced.code, traced.stderr).toBe(0);
    expect(await fileHash(out)).toBe(hash);
    expect(traced.moved.copy_file_range + traced.moved.sendfile).toBeGreaterThanOrEqual(0.99 * SIZE);
    fs.rmSync(out);
  });
});
