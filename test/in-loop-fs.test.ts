// Cached files opened, read and closed in the event loop (src/paths/in-loop-fs.ts):
// what runs in the loop and what goes to Node's threadpool, and that nothing
// that could wait on a device, a server or a FIFO writer runs in the loop.
import { execFileSync } from 'node:child_process';
import * as dc from 'node:diagnostics_channel';
import * as fs from 'node:fs';

// The module object itself, whose methods a patch can replace (the namespace's cannot be).
import nodeFs = require('node:fs');

import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as zc from '../dist/index.js';
import { learnMounts, makeInLoopFs, native, parseMountinfo } from '../dist/internal.js';
import { fakeBinding } from './helpers/fake-binding';
import { makeFile, sha256, tmpDir } from './helpers/files';
import { fastPathOff } from './helpers/trace';

interface Msg {
  op: string;
  where: string;
  reason: string;
  path?: string;
}

function recordFileIo(): { messages: Msg[]; stop(): void } {
  const messages: Msg[] = [];
  const listener = (m: unknown): void => {
    messages.push(m as Msg);
  };
  dc.subscribe('zerocopy:file', listener);
  return { messages, stop: () => dc.unsubscribe('zerocopy:file', listener) };
}

function readAll(s: fs.ReadStream): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    s.on('data', (b: Buffer | string) => parts.push(Buffer.from(b)));
    s.on('error', reject);
    s.on('end', () => resolve(Buffer.concat(parts)));
  });
}

const inLoop = !fastPathOff && native !== null;
let dir: string;

beforeAll(async () => {
  dir = tmpDir();
  await learnMounts();
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('parseMountinfo', () => {
  it('reads the mount id and the filesystem type after the separator', () => {
    const text =
      '27 1 254:0 / / rw,relatime - ext4 /dev/vda rw\n' +
      '36 35 98:0 /mnt1 /mnt/parent rw,noatime master:1 shared:2 - nfs4 srv:/x rw\n' +
      'garbage\n';
    expect([...parseMountinfo(text)]).toEqual([
      [27, 'ext4'],
      [36, 'nfs4'],
    ]);
  });
});

describe.runIf(inLoop)('a cached file on a local filesystem', () => {
  it('is opened, read to its end and closed in the loop, with its bytes', async () => {
    const file = makeFile(dir, 'cached', 100_000);
    fs.readFileSync(file); // in the page cache
    const rec = recordFileIo();
    const got = await readAll(zc.createReadStream(file));
    await new Promise((r) => setImmediate(r));
    rec.stop();
    expect(sha256(got)).toBe(sha256(fs.readFileSync(file)));
    expect(rec.messages.map((m) => `${m.op} ${m.where}`)).toEqual(['open loop', 'close loop']);
  });

  it('answers every callback later, never from inside the call', async () => {
    const file = makeFile(dir, 'later', 10);
    const ops = makeInLoopFs(native!);
    const order: string[] = [];
    const fd = await new Promise<number>((resolve, reject) => {
      ops.open(file, 'r', 0o666, (err, fd) => {
        order.push('open callback');
        if (err) reject(err);
        else resolve(fd!);
      });
      order.push('open returned');
    });
    const buf = Buffer.alloc(64);
    const n = await new Promise<number>((resolve) => {
      ops.read(fd, buf, 0, 64, null, (err, bytes) => {
        order.push(`read callback ${err}`);
        resolve(bytes);
      });
      order.push('read returned');
    });
    await new Promise<void>((resolve) => {
      ops.close(fd, (err) => {
        order.push(`close callback ${err}`);
        resolve();
      });
      order.push('close returned');
    });
    expect(n).toBe(10);
    expect(buf.toString('latin1', 0, 4)).toBe(fs.readFileSync(file).toString('latin1', 0, 4));
    expect(order).toEqual([
      'open returned',
      'open callback',
      'read returned',
      'read callback null',
      'close returned',
      'close callback null',
    ]);
    // Closed: the number no longer names this file. (It may name another
    // one already: an open on the threadpool takes the lowest free number,
    // as on Node 22 in CI, so "fstat says EBADF" would race it.)
    const ours = fs.statSync(file);
    let now: fs.Stats | null = null;
    try {
      now = fs.fstatSync(fd);
    } catch (err) {
      expect((err as NodeJS.ErrnoException).code).toBe('EBADF');
    }
    if (now) expect([now.dev, now.ino]).not.toEqual([ours.dev, ours.ino]);
  });
});

describe.runIf(inLoop)('what goes to the threadpool', () => {
  it('a file not in the page cache: its reads go to the pool, the bytes are the same', async () => {
    const file = makeFile(dir, 'cold', 300_000);
    const evict = path.join(dir, 'evict');
    execFileSync('cc', ['-O2', '-o', evict, path.join(__dirname, '../bench/reliability/evict.c')]);
    execFileSync(evict, [file]);
    // The filesystem must drop clean pages on request (ext4, xfs, btrfs do; tmpfs keeps them).
    const probe = fs.openSync(file, 'r');
    const cold = native!.readNowait(probe, Buffer.alloc(4096), 0, 4096, 0, new Float64Array(1));
    fs.closeSync(probe);
    execFileSync(evict, [file]); // the probe started readahead
    expect(cold, 'POSIX_FADV_DONTNEED left the page cached: this filesystem cannot test a cold read').toBe(-11);
    const rec = recordFileIo();
    const got = await readAll(zc.createReadStream(file));
    rec.stop();
    expect(sha256(got)).toBe(sha256(fs.readFileSync(file)));
    expect(rec.messages[0]).toMatchObject({ op: 'open', where: 'loop' });
    expect(
      rec.messages.find((m) => m.op === 'read'),
      JSON.stringify(rec.messages),
    ).toMatchObject({
      where: 'threadpool',
      // The first RWF_NOWAIT read starts readahead: by the next, some pages may be in.
      reason: expect.stringMatching(/^(not|partly) in the page cache$/),
    });
  });

  it('a FIFO: opened by Node on the pool, so waiting for its writer never parks the loop', async () => {
    const fifo = path.join(dir, 'fifo');
    execFileSync('mkfifo', [fifo]);
    const rec = recordFileIo();
    const reading = readAll(zc.createReadStream(fifo));
    // The writer opens after the reader, from this same loop: a reader blocked in the loop would hang here.
    await new Promise((r) => setImmediate(r));
    const w = fs.createWriteStream(fifo);
    w.end('through the fifo');
    expect((await reading).toString()).toBe('through the fifo');
    rec.stop();
    expect(rec.messages[0]).toMatchObject({ op: 'open', where: 'threadpool', reason: 'not a regular file' });
  });

  it("a mount that is not a local filesystem (here /proc's): Node opens it, and the looked-up fd is closed", async () => {
    const mounts = parseMountinfo(fs.readFileSync('/proc/self/mountinfo', 'utf8'));
    const proc = [...mounts].find(([, type]) => type === 'proc');
    expect(proc).toBeDefined();
    const calls: string[] = [];
    const fake = {
      ...fakeBinding(),
      lookupCached: (_p: string, out: Float64Array) => {
        out[0] = proc![0];
        out[1] = 1;
        return 500;
      },
      reopenCached: () => {
        calls.push('reopenCached');
        return -1;
      },
      close: (fd: number) => {
        calls.push(`close ${fd}`);
        return 0;
      },
    };
    const nodeFs = {
      ...fs,
      open: ((p: string, _f: unknown, _m: unknown, cb: (e: null, fd: number) => void) => {
        calls.push(`pool open ${p}`);
        cb(null, 99);
      }) as unknown as typeof fs.open,
    };
    const ops = makeInLoopFs(fake, nodeFs);
    const rec = recordFileIo();
    await new Promise((r) => ops.open('/x', 'r', 0o666, r));
    rec.stop();
    expect(calls).toEqual(['close 500', 'pool open /x']);
    expect(rec.messages).toEqual([{ op: 'open', where: 'threadpool', reason: 'mount not local', path: '/x' }]);
  });

  it.each([
    ['no openat2 or no mount id', 38],
    ['no RESOLVE_CACHED', 22],
    ['a seccomp filter', 1],
  ])('a kernel with %s: the pool, and no more lookups', async (_name, errno) => {
    let lookups = 0;
    const fake = {
      ...fakeBinding(),
      lookupCached: () => {
        lookups++;
        return -errno;
      },
    };
    const opened: string[] = [];
    const nodeFs = {
      ...fs,
      open: ((p: string, _f: unknown, _m: unknown, cb: (e: null, fd: number) => void) => {
        opened.push(p);
        cb(null, 99);
      }) as unknown as typeof fs.open,
    };
    const ops = makeInLoopFs(fake, nodeFs);
    await new Promise((r) => ops.open('/a', 'r', 0o666, r));
    await new Promise((r) => ops.open('/b', 'r', 0o666, r));
    expect(opened).toEqual(['/a', '/b']);
    expect(lookups).toBe(1);
  });

  it('flags other than r, and fs.open replaced by a patch: Node opens it', async () => {
    const file = makeFile(dir, 'flags', 10);
    const rec = recordFileIo();
    await readAll(zc.createReadStream(file, { flags: 'r+' }));
    const original = nodeFs.open;
    const seen: unknown[] = [];
    (nodeFs as { open: unknown }).open = function patched(this: unknown, ...args: unknown[]) {
      seen.push(args[0]);
      return (original as (...a: unknown[]) => unknown).apply(this, args);
    };
    try {
      await readAll(zc.createReadStream(file));
    } finally {
      (nodeFs as { open: unknown }).open = original;
    }
    rec.stop();
    expect(seen).toEqual([file]);
    expect(rec.messages.filter((m) => m.op === 'open').map((m) => m.reason)).toEqual([
      'flags r+',
      'fs.open, fs.read or fs.close replaced',
    ]);
  });
});

describe.runIf(inLoop)('fs.stat under the register (paths/in-loop-stat.ts)', () => {
  it("gives Node's own Stats for cached paths, later, and Node's errors for the rest", async () => {
    const { makeInLoopStat } = await import('../dist/paths/in-loop-stat.js');
    const file = makeFile(dir, 'stat-me', 1234);
    const poolCalls: unknown[] = [];
    const nodeStat = ((p: unknown, o: unknown, cb: unknown) => {
      poolCalls.push(p);
      (fs.stat as (...a: unknown[]) => void)(p, o, cb);
    }) as typeof fs.stat;
    const stat = makeInLoopStat(native!, nodeStat);
    expect(stat.name).toBe('stat');
    expect(stat.length).toBe(nodeStat.length);
    const call = (p: fs.PathLike, o?: fs.StatOptions) =>
      new Promise<{ err: NodeJS.ErrnoException | null; st?: fs.Stats | fs.BigIntStats; sync: boolean }>((resolve) => {
        let sync = true;
        const cb = (err: NodeJS.ErrnoException | null, st?: fs.Stats | fs.BigIntStats) => resolve({ err, st, sync });
        if (o) stat(p, o, cb);
        else stat(p, cb);
        sync = false;
      });
    const rec = recordFileIo();
    const plain = await call(file);
    const big = await call(file, { bigint: true });
    const directory = await call(dir);
    rec.stop();
    expect(plain).toMatchObject({ err: null, sync: false });
    expect(plain.st).toEqual(fs.statSync(file));
    expect(plain.st).toBeInstanceOf(fs.Stats);
    expect(big.st).toEqual(fs.statSync(file, { bigint: true }));
    expect(directory.st?.isDirectory()).toBe(true);
    expect(rec.messages.map((m) => `${m.op} ${m.where}`)).toEqual(['stat loop', 'stat loop', 'stat loop']);
    expect(poolCalls).toEqual([]);
    // Not in the loop: a missing path (its error is Node's), a Buffer path, a trailing slash on a file.
    const missing = await call(path.join(dir, 'missing'));
    expect(missing.err).toMatchObject({ code: 'ENOENT', syscall: 'stat' });
    const viaBuffer = await call(Buffer.from(file));
    expect(viaBuffer.st?.size).toBe(1234);
    const slash = await call(`${file}/`);
    expect(slash.err?.code).toBe('ENOTDIR');
    expect(poolCalls).toEqual([path.join(dir, 'missing'), Buffer.from(file), `${file}/`]);
  });

  it('stops looking once the kernel cannot do cached lookups at all', async () => {
    const { makeInLoopStat } = await import('../dist/paths/in-loop-stat.js');
    let lookups = 0;
    const fake = {
      ...fakeBinding(),
      lookupCached: () => {
        lookups++;
        return -38;
      },
    };
    const seen: unknown[] = [];
    const nodeStat = ((p: unknown, o: unknown, cb?: (e: null, s: object) => void) => {
      seen.push(p);
      (typeof o === 'function' ? o : cb!)(null, {});
    }) as unknown as typeof fs.stat;
    const stat = makeInLoopStat(fake, nodeStat);
    await new Promise((r) => stat('/a', r));
    await new Promise((r) => stat('/b', r));
    expect(seen).toEqual(['/a', '/b']);
    expect(lookups).toBe(1);
  });

  it('is what fs.stat is once zerocopy/register is loaded (and only then)', async () => {
    const { execFileSync: run } = await import('node:child_process');
    const script = [
      "const fs = require('fs');",
      'const seen = [];',
      "require('diagnostics_channel').subscribe('zerocopy:file', (m) => seen.push(m.op + ' ' + m.where));",
      // Once the mount table is read (the register starts reading it), a cached path on this ext4 is the loop's.
      `require(${JSON.stringify(path.join(__dirname, '../dist/internal.js'))}).learnMounts().then(() =>`,
      '  fs.stat(process.argv[1], (e, s) => console.log(e ? e.code : s.size, seen.join())));',
    ].join('\n');
    const file = makeFile(dir, 'stat-child', 77);
    const registered = run(
      process.execPath,
      ['--require', path.join(__dirname, '../dist/register.js'), '-e', script, file],
      {
        encoding: 'utf8',
      },
    );
    const plain = run(process.execPath, ['-e', script, file], { encoding: 'utf8' });
    expect(registered.trim()).toBe('77 stat loop');
    expect(plain.trim()).toBe('77');
  });
});

describe.runIf(inLoop)('a burst of calls in one turn', () => {
  it('runs MAX_IN_LOOP_PER_TURN of them in the loop and gives the rest to the pool', async () => {
    const { MAX_IN_LOOP_PER_TURN } = await import('../dist/paths/loop-budget.js');
    const files = Array.from({ length: MAX_IN_LOOP_PER_TURN + 8 }, (_, i) => makeFile(dir, `burst-${i}`, 100 + i));
    for (const f of files) fs.readFileSync(f);
    await new Promise((r) => setImmediate(r)); // a fresh turn: the budget has been reset
    const rec = recordFileIo();
    // Every stream opens from the same turn (their _construct runs on the next tick).
    const got = await Promise.all(files.map((f) => readAll(zc.createReadStream(f))));
    rec.stop();
    expect(got.map((b) => b.length)).toEqual(files.map((_, i) => 100 + i));
    const opens = rec.messages.filter((m) => m.op === 'open');
    expect(opens.filter((m) => m.where === 'loop')).toHaveLength(MAX_IN_LOOP_PER_TURN);
    expect(opens.filter((m) => m.where === 'threadpool').map((m) => m.reason)).toEqual(Array(8).fill('busy turn'));
  });
});
