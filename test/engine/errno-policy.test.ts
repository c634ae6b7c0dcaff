// The errno policy, through the engines' seam: a fake binding answers each
// syscall from a script, so every rule is tested on any machine, with or
// without a kernel that happens to answer that way (docs/design.md, "Rules
// the engine keeps"). The expected table is written out here on purpose: a
// rule changed in src/engine/errno-policy.ts must fail this file.
import { describe, expect, it } from 'vitest';
import { errnoPolicy, FileTransfer, SocketTransfer } from '../../dist/internal.js';
import { errno, type FakeBinding, fakeBinding } from '../helpers/fake-binding';

type Outcome = Parameters<Parameters<typeof FileTransfer.start>[1]['onEnd']>[0];
type Op = 'sendfile' | 'splice' | 'copy_file_range';

type Started = ReturnType<typeof FileTransfer.start> | ReturnType<typeof SocketTransfer.start>;

/** Starts a file-source transfer of `limit` bytes on the fake binding (null: it declined to start). */
function startFile(b: FakeBinding, ops: Op[], limit: number, onEnd: (o: Outcome) => void, inOffset = 100) {
  const plan = { ops, inFd: 3, outFd: 4, inOffset, outOffset: -1, limit, chunkBytes: 1000 };
  return FileTransfer.start(b, { ...plan, onProgress: () => undefined, shouldContinue: () => true, onEnd }, [{}, {}]);
}

/**
 * Starts a socket/pipe-source transfer (`direct`: the source is a pipe) on
 * the fake binding; `toFile`: into a file (socket → pipe → file by relay
 * jobs), at most `limit` bytes.
 */
function startSocket(b: FakeBinding, direct: boolean, onEnd: (o: Outcome) => void, toFile = false, limit?: number) {
  const plan = { inFd: 3, outFd: 4, direct, outIsFile: toFile, outOffset: -1, limit };
  const calls = { onReceived: () => undefined, onDelivered: () => undefined, destinationAlive: () => true };
  return SocketTransfer.start(b, { ...plan, ...calls, shouldContinue: () => true, onEnd }, [{}, {}]);
}

/** The outcome of a transfer that must start. */
function outcomeOf(start: (onEnd: (o: Outcome) => void) => Started): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    if (!start(resolve)) reject(new Error('the transfer did not start'));
  });
}

const fileTransfer = (b: FakeBinding, ops: Op[], limit: number, inOffset = 100): Promise<Outcome> =>
  outcomeOf((onEnd) => startFile(b, ops, limit, onEnd, inOffset));
const socketTransfer = (b: FakeBinding, direct: boolean): Promise<Outcome> =>
  outcomeOf((onEnd) => startSocket(b, direct, onEnd));
const relayTransfer = (b: FakeBinding, limit?: number): Promise<Outcome> =>
  outcomeOf((onEnd) => startSocket(b, false, onEnd, true, limit));
const SOURCE = 1;
const DESTINATION = 2;

const EXPECTED: Record<Op, string[]> = {
  copy_file_range: ['ENOSYS', 'EXDEV', 'EINVAL', 'EOPNOTSUPP', 'EPERM', 'EBADF', 'EIO', 'EOVERFLOW'],
  sendfile: ['ENOSYS', 'EINVAL', 'EOPNOTSUPP', 'EPERM', 'ESPIPE', 'EOVERFLOW', 'EBADF', 'EIO'],
  splice: ['ENOSYS', 'EINVAL', 'EOPNOTSUPP', 'EPERM', 'ESPIPE', 'EBADF', 'EIO'],
};
// Real errors of one stream or the other, never "not for this pair".
const ALWAYS_ERRORS = ['EACCES', 'ENOTSOCK', 'EPIPE', 'ECONNRESET', 'ENOSPC', 'EDQUOT', 'EFBIG', 'ENOMEM', 'EFAULT'];

describe('the errno table', () => {
  for (const op of Object.keys(EXPECTED) as Op[]) {
    it(`${op}: exactly these errnos fall back while nothing has moved, each with a reason`, () => {
      const table = errnoPolicy.NOT_FOR_THIS_PAIR[op] as Record<string, string>;
      expect(Object.keys(table).sort()).toEqual([...EXPECTED[op]].sort());
      for (const name of EXPECTED[op]) {
        expect(table[name].length).toBeGreaterThan(10);
        if (name === 'ENOSYS') continue; // judged last in this file: it turns the syscall off
        const e = errno[name as keyof typeof errno];
        expect(errnoPolicy.judge(op, e, 0)).toMatchObject({
          kind: 'fallback',
          reason: `${op} ${errnoPolicy.errnoName(e)}`,
        });
      }
    });
    it(`${op}: the same errnos after a byte has moved are errors`, () => {
      for (const name of EXPECTED[op]) {
        expect(errnoPolicy.judge(op, errno[name as keyof typeof errno], 1)).toEqual({ kind: 'error' });
      }
    });
    it(`${op}: a real error is an error even before the first byte; EAGAIN is a wait`, () => {
      for (const name of ALWAYS_ERRORS) {
        expect(errnoPolicy.judge(op, errno[name as keyof typeof errno], 0)).toEqual({ kind: 'error' });
      }
      expect(errnoPolicy.judge(op, errno.EAGAIN, 0)).toEqual({ kind: 'wait' });
      expect(errnoPolicy.judge(op, errno.EAGAIN, 5)).toEqual({ kind: 'wait' });
    });
  }

  it("an errno is the destination's when a write gives it, else the source's", () => {
    for (const name of [
      'EPIPE',
      'ECONNRESET',
      'ENOTCONN',
      'ENOSPC',
      'EDQUOT',
      'EFBIG',
      'ECONNABORTED',
      'ETIMEDOUT',
      'EHOSTUNREACH',
      'ENETUNREACH',
      'EROFS',
    ]) {
      expect(errnoPolicy.sideOf(errno[name as keyof typeof errno]), name).toBe('destination');
    }
    for (const name of ['EIO', 'EINVAL', 'EBADF', 'EACCES', 'ENOMEM']) {
      expect(errnoPolicy.sideOf(errno[name as keyof typeof errno]), name).toBe('source');
    }
  });
});

describe('the file engine applies it', () => {
  it('a decline before the first byte falls back from the offset reached, having moved nothing', async () => {
    const b = fakeBinding({ copy: [{ errno: errno.EINVAL, bytes: 0 }] });
    const outcome = await fileTransfer(b, ['sendfile'], 5000, 4096);
    expect(outcome).toEqual({ kind: 'declined', reason: 'sendfile EINVAL', leftover: null });
    expect(b.copies).toHaveLength(1);
    expect(b.copies[0].inOffset).toBe(4096);
    expect(b.open.size).toBe(0); // its own fds closed
  });

  it('EXDEV steps copy_file_range down to sendfile, from the same offset', async () => {
    const b = fakeBinding({
      copy: [
        { errno: errno.EXDEV, bytes: 0 },
        { errno: 0, bytes: 1000 },
      ],
    });
    const outcome = await fileTransfer(b, ['copy_file_range', 'sendfile'], 2500, 700);
    expect(outcome).toMatchObject({ kind: 'ended', op: 'sendfile', bytes: 2500 });
    expect(b.copies.map((c) => [c.op, c.inOffset, c.len])).toEqual([
      ['copy_file_range', 700, 1000],
      ['sendfile', 700, 1000],
      ['sendfile', 1700, 1000],
      ['sendfile', 2700, 500],
    ]);
  });

  it('copy_file_range moving nothing at its first call (procfs, overlayfs) steps down too', async () => {
    const b = fakeBinding({
      copy: [
        { errno: 0, bytes: 0 },
        { errno: 0, bytes: 1000 },
      ],
    });
    const outcome = await fileTransfer(b, ['copy_file_range', 'sendfile'], 1000);
    expect(outcome).toMatchObject({ kind: 'ended', op: 'sendfile', bytes: 1000 });
  });

  it('the same errno after bytes moved is an error, on the side the errno names', async () => {
    const b = fakeBinding({
      copy: [
        { errno: 0, bytes: 1000 },
        { errno: errno.EINVAL, bytes: 0 },
      ],
    });
    expect(await fileTransfer(b, ['copy_file_range', 'sendfile'], 5000)).toEqual({
      kind: 'failed',
      op: 'copy_file_range',
      bytes: 1000,
      errno: errno.EINVAL,
      side: 'source',
    });
    expect(b.copies).toHaveLength(2); // no step down once a byte has moved

    const full = fakeBinding({
      copy: [
        { errno: 0, bytes: 1000 },
        { errno: errno.ENOSPC, bytes: 200 },
      ],
    });
    expect(await fileTransfer(full, ['copy_file_range'], 5000)).toEqual({
      kind: 'failed',
      op: 'copy_file_range',
      bytes: 1200,
      errno: errno.ENOSPC,
      side: 'destination',
    });
  });

  it('an errno with bytes before it in the same chunk is an error, not a fallback', async () => {
    const b = fakeBinding({ copy: [{ errno: errno.EINVAL, bytes: 300 }] });
    expect(await fileTransfer(b, ['sendfile'], 5000)).toMatchObject({
      kind: 'failed',
      bytes: 300,
      errno: errno.EINVAL,
    });
  });

  it('a short count is not an error: the source is at its end', async () => {
    const b = fakeBinding({
      copy: [
        { errno: 0, bytes: 1000 },
        { errno: 0, bytes: 10 },
      ],
    });
    expect(await fileTransfer(b, ['sendfile'], 5000)).toEqual({
      kind: 'ended',
      op: 'sendfile',
      bytes: 1010,
      eof: true,
      lastChunk: 10,
    });
  });

  it('EAGAIN waits for the destination, then carries on from the offset reached', async () => {
    const b = fakeBinding({
      copy: [
        { errno: errno.EAGAIN, bytes: 400 },
        { errno: 0, bytes: 1000 },
      ],
    });
    expect(await fileTransfer(b, ['sendfile'], 1400, 0)).toMatchObject({ kind: 'ended', bytes: 1400, eof: false });
    expect(b.copies.map((c) => c.inOffset)).toEqual([0, 400]);
  });

  it('no fds to duplicate: nothing started, nothing left open', () => {
    const b = fakeBinding({ dupFails: 2 });
    const t = startFile(b, ['sendfile'], 10, () => undefined);
    expect(t).toBeNull();
    expect(b.open.size).toBe(0);
    expect(b.copies).toHaveLength(0);
  });
});

describe('the socket engine applies it', () => {
  it('a pipe source whose first splice says EINVAL declines, nothing taken', async () => {
    const b = fakeBinding({ splice: [-errno.EINVAL] });
    expect(await socketTransfer(b, true)).toEqual({ kind: 'declined', reason: 'splice EINVAL', leftover: null });
  });

  it("after bytes were delivered the same errno is an error; EPIPE is the destination's", async () => {
    const b = fakeBinding({ splice: [500, -errno.EPIPE] });
    expect(await socketTransfer(b, true)).toEqual({
      kind: 'failed',
      op: 'splice',
      bytes: 500,
      errno: errno.EPIPE,
      side: 'destination',
    });
  });

  it("through a pipe: a socket read that fails is the source's, even with an errno a write could give", async () => {
    const b = fakeBinding({ splice: [-errno.ECONNRESET] });
    expect(await socketTransfer(b, false)).toMatchObject({ kind: 'failed', errno: errno.ECONNRESET, side: 'source' });
  });

  it('end of input ends the transfer with what was delivered', async () => {
    const b = fakeBinding({ splice: [700, 0] });
    expect(await socketTransfer(b, true)).toMatchObject({ kind: 'ended', op: 'splice', bytes: 700, eof: true });
  });
});

describe('the socket engine into a file (relay jobs) applies it', () => {
  it('a file that refuses the first bytes (EINVAL, nothing delivered) declines, what the pipe held handed back', async () => {
    const b = fakeBinding({
      relay: [{ errno: errno.EINVAL, side: DESTINATION, received: 300, delivered: 0 }],
      pipeBytes: 300,
    });
    const outcome = await relayTransfer(b);
    expect(outcome).toMatchObject({ kind: 'declined', reason: 'splice EINVAL' });
    expect((outcome as { leftover: Buffer | null }).leftover).toEqual(Buffer.alloc(300, 'p'));
  });

  it("the same errno after bytes reached the file is an error, and the destination's", async () => {
    const b = fakeBinding({
      relay: [
        { errno: errno.EAGAIN, side: SOURCE, received: 500, delivered: 500 },
        { errno: errno.EINVAL, side: DESTINATION, received: 200, delivered: 0 },
      ],
    });
    expect(await relayTransfer(b)).toEqual({
      kind: 'failed',
      op: 'splice',
      bytes: 500,
      errno: errno.EINVAL,
      side: 'destination',
    });
  });

  it("a socket read that fails is the source's, after what was delivered", async () => {
    const b = fakeBinding({ relay: [{ errno: errno.ECONNRESET, side: SOURCE, received: 700, delivered: 700 }] });
    expect(await relayTransfer(b)).toEqual({
      kind: 'failed',
      op: 'splice',
      bytes: 700,
      errno: errno.ECONNRESET,
      side: 'source',
    });
  });

  it('an empty socket: the loop waits for it, and the next job starts with an empty pipe; end of input ends it', async () => {
    const b = fakeBinding({
      relay: [
        { errno: errno.EAGAIN, side: SOURCE, received: 400, delivered: 400 },
        { errno: 0, side: SOURCE, received: 100, delivered: 100 },
      ],
    });
    expect(await relayTransfer(b)).toMatchObject({ kind: 'ended', bytes: 500, eof: true });
    expect(b.watches).toBe(1);
    expect(b.relays.map((r) => r.inPipe)).toEqual([0, 0]);
  });

  it('a limit: each job may take what is left of it, and reaching it ends the transfer with the source open', async () => {
    const b = fakeBinding({
      relay: [
        { errno: 0, side: 0, received: 600, delivered: 600 },
        { errno: 0, side: 0, received: 400, delivered: 400 },
      ],
    });
    expect(await relayTransfer(b, 1000)).toMatchObject({ kind: 'ended', bytes: 1000, eof: false });
    expect(b.relays.map((r) => r.take)).toEqual([1000, 400]);
  });
});

describe('a pool job that reads the source', () => {
  // A readiness watch is level-triggered: left armed while a job reads the
  // source, it woke the loop at every turn (pipe → file, 256 MiB: 17414
  // epoll_pwait calls against 1335 with it stopped).
  it.each([
    {
      what: 'pipe → file, copy jobs',
      direct: true,
      script: {
        copy: [
          { errno: errno.EAGAIN, bytes: 100 },
          { errno: 0, bytes: 50 },
        ],
      },
    },
    {
      what: 'socket → file, relay jobs',
      direct: false,
      script: {
        relay: [
          { errno: errno.EAGAIN, side: SOURCE, received: 100, delivered: 100 },
          { errno: 0, side: SOURCE, received: 50, delivered: 50 },
        ],
      },
    },
  ])('$what: after waiting for the source, the next job runs with no watch armed', async ({ direct, script }) => {
    const b = fakeBinding(script);
    const outcome = await outcomeOf((onEnd) => startSocket(b, direct, onEnd, true));
    expect(outcome).toMatchObject({ kind: 'ended', bytes: 150, eof: true });
    expect(b.watches).toBe(1);
    expect(b.armedAtJobs).toEqual([0, 0]);
  });
});

// Last in this file: it turns syscalls off for the rest of the process.
describe('ENOSYS', () => {
  it('turns that syscall off for the process: the next transfer skips it, touching nothing', async () => {
    const b = fakeBinding({
      copy: [
        { errno: errno.ENOSYS, bytes: 0 },
        { errno: 0, bytes: 1000 },
      ],
    });
    expect(await fileTransfer(b, ['copy_file_range', 'sendfile'], 1000)).toMatchObject({
      kind: 'ended',
      op: 'sendfile',
    });
    expect(errnoPolicy.opAvailable('copy_file_range')).toBe(false);
    expect(errnoPolicy.opAvailable('sendfile')).toBe(true);

    const again = fakeBinding();
    await fileTransfer(again, ['copy_file_range', 'sendfile'], 1000);
    expect(again.copies.map((c) => c.op)).toEqual(['sendfile']);

    const only = fakeBinding();
    const t = startFile(only, ['copy_file_range'], 10, () => undefined);
    expect(t).toBeNull();
    expect(only.dups).toBe(0);
  });

  it('splice too, for both engines', async () => {
    const b = fakeBinding({ splice: [-errno.ENOSYS] });
    expect(await socketTransfer(b, true)).toMatchObject({ kind: 'declined', reason: 'splice ENOSYS' });
    const after = fakeBinding();
    expect(startSocket(after, true, () => undefined)).toBeNull();
    expect(startFile(after, ['splice'], 10, () => undefined)).toBeNull(); // file → pipe
    expect(after.dups).toBe(0);
  });
});
