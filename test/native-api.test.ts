// Every export of the native addon, called the wrong way: wrong types and
// counts, fds that are negative, closed, huge or not integers, lengths and
// offsets that are negative, fractional, NaN or beyond 2**53, callbacks that
// are not functions or that throw, methods on the wrong receiver, close()
// twice, an fd closed under a watcher, a Worker exiting with work in flight.
// A caller's mistake must be a TypeError or RangeError with Node's code, what
// the kernel refuses an errno-shaped result, and nothing may crash or abort.
//
// The calls run in child processes, one per group, so a crash is reported as
// that group's signal and stderr (under `npm run test:asan`, the sanitizer's
// report is in the script's report directory) instead of killing vitest.
// A new export without a group here fails the first test.

import * as cp from 'node:child_process';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { settings } from '../src/config';
import { native, nativeUnavailableReason } from '../src/native';

const root = path.join(__dirname, '..');
// Set by scripts/ci/test-asan.sh: there, a missing addon would leave nothing tested.
const expectAddon = process.env.ZEROCOPY_EXPECT_ADDON === '1';
// ZEROCOPY_DISABLE=1 leaves the addon as it is (the library just never calls
// it), so a second run of these cases there would prove nothing new.
const skip = (!native || settings.disabled) && !expectAddon;

/** Which groups of cases (below, in CHILD) cover each export. */
const COVERAGE: Record<string, string[]> = {
  describe: ['describe'],
  dup: ['dup', 'fd exhaustion'],
  close: ['close'],
  spliceSync: ['spliceSync'],
  makePipe: ['makePipe', 'fd exhaustion'],
  bytesReadable: ['bytesReadable'],
  readInto: ['readInto'],
  lookupCached: ['cached io'],
  reopenCached: ['cached io'],
  readNowait: ['cached io'],
  copy: ['copy', 'teardown'],
  relay: ['relay'],
  FdWatcher: ['FdWatcher', 'teardown'],
  O_APPEND: ['constants'],
  O_NONBLOCK: ['constants'],
  supported: ['constants'],
};
/** FdWatcher.prototype methods the FdWatcher group drives. */
const WATCHER_METHODS = ['close', 'start', 'stop'];
const GROUPS = [...new Set(Object.values(COVERAGE).flat())];

// The child: plain CommonJS (it runs on every supported Node without a
// TypeScript loader). argv: root, group. Prints one line "@@" + JSON of
// [{ name, expected, actual }] and exits on its own (no process.exit: the
// main environment's teardown is exercised too).
const CHILD = String.raw`
'use strict';
const [root, group] = process.argv.slice(1);
const fs = require('fs');
const os = require('os');
const path = require('path');
const net = require('net');
const { Worker } = require('worker_threads');
const b = require(require.resolve('node-gyp-build', { paths: [root] }))(root);

const T = 'TypeError ERR_INVALID_ARG_TYPE';
const R = 'RangeError ERR_OUT_OF_RANGE';
const THIS = 'TypeError ERR_INVALID_THIS';
const MISSING = Symbol('missing');
const errnoName = (n) => Object.keys(os.constants.errno).find((k) => os.constants.errno[k] === n) || String(n);
const rc = (n) => (typeof n !== 'number' ? 'not a number: ' + String(n) : n < 0 ? '-' + errnoName(-n) : String(n));
const tick = () => new Promise((r) => setImmediate(r));

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'zerocopy-native-api-'));
const file = path.join(dir, 'ten');
fs.writeFileSync(file, '0123456789');
const openFd = fs.openSync(file, 'r');
const outFile = () => fs.openSync(path.join(dir, 'out-' + Math.random().toString(36).slice(2)), 'w+');
// A number that was an fd a moment ago. Not simply the last one closed: that
// is the lowest free number, the very one an open on another thread of this
// process takes next (Node 24 opens files on its own: in CI, a sendfile "from
// a closed fd" read 4 bytes of one). Eight lower numbers are freed after it,
// so such opens take those first.
const closed = () => {
  const fds = Array.from({ length: 9 }, () => fs.openSync(file, 'r'));
  const fd = Math.max(...fds);
  fs.closeSync(fd);
  for (const f of fds) if (f !== fd) fs.closeSync(f);
  return fd;
};
const NEVER = 2 ** 31 - 1;  // valid as a number, beyond any fd limit
const pipe = () => { const p = b.makePipe(0); if (p[0] !== 0) throw new Error('makePipe: ' + p[0]); return { r: p[1], w: p[2] }; };
const closePipe = (p) => { b.close(p.r); b.close(p.w); };

const out = [];
function describeThrown(e) {
  return e instanceof Error ? e.constructor.name + ' ' + e.code : 'threw a non-Error: ' + String(e);
}
async function check(name, fn, expected) {
  let actual;
  try { actual = await fn(); } catch (e) { actual = describeThrown(e); }
  out.push({ name, expected, actual: typeof actual === 'string' ? actual : JSON.stringify(actual) });
}

// Wrong values per kind of parameter: a TypeError for a non-number, a RangeError
// for a number outside the domain (never truncated into it).
const notNumbers = [['no argument', MISSING], ['undefined', undefined], ['null', null], ['a string', '3'],
  ['a bigint', 3n], ['a boolean', true], ['an object with valueOf', { valueOf() { return 3; } }], ['a symbol', Symbol('x')]];
const outOfRange = {
  fd: [['NaN', NaN], ['Infinity', Infinity], ['-Infinity', -Infinity], ['1.5', 1.5], ['-1', -1], ['-2**31', -(2 ** 31)],
    ['2**31', 2 ** 31], ['2**32 + an open fd', 2 ** 32 + openFd], ['Number.MAX_VALUE', Number.MAX_VALUE]],
  len: [['NaN', NaN], ['Infinity', Infinity], ['0.5', 0.5], ['-1', -1], ['-2**63', -(2 ** 63)], ['2**53', 2 ** 53], ['1e300', 1e300]],
  offset: [['NaN', NaN], ['-Infinity', -Infinity], ['-1.5', -1.5], ['-2', -2], ['2**53', 2 ** 53], ['2**64', 2 ** 64]],
  op: [['NaN', NaN], ['-1', -1], ['3', 3], ['0.5', 0.5], ['2**32 (0 if truncated)', 2 ** 32]],
  capacity: [['NaN', NaN], ['Infinity', Infinity], ['0', 0], ['0.5', 0.5], ['-1', -1], ['2**53', 2 ** 53]],
  size: [['NaN', NaN], ['-1', -1], ['1.5', 1.5], ['2**31', 2 ** 31], ['2**40', 2 ** 40]],
  events: [['NaN', NaN], ['0', 0], ['8', 8], ['-1', -1], ['1.5', 1.5], ['2**32 + 1', 2 ** 32 + 1]],
};
const notFunctions = [['no argument', MISSING], ['undefined', undefined], ['null', null], ['an object', {}],
  ['a string', 'cb'], ['a number', 1]];
const notBuffers = [['no argument', MISSING], ['undefined', undefined], ['null', null], ['a string', 'abcde'],
  ['an array', [1, 2, 3]], ['an ArrayBuffer', new ArrayBuffer(8)], ['an array-like', { length: 8, 0: 1 }], ['a number', 8]];

async function battery(label, fn, args, i, argName, kind) {
  const bad = kind === 'function' ? notFunctions.map(([n, v]) => [n, v, T])
    : kind === 'buffer' ? notBuffers.map(([n, v]) => [n, v, T])
    : [...notNumbers.map(([n, v]) => [n, v, T]), ...outOfRange[kind].map(([n, v]) => [n, v, R])];
  for (const [n, v, expected] of bad) {
    const a = args.slice();
    if (v === MISSING) a.length = i; else a[i] = v;
    await check(label + ' ' + argName + ': ' + n, () => { fn(...a); return 'accepted'; }, expected);
  }
}

const groups = {
  async describe() {
    await battery('describe', b.describe, [openFd], 0, 'fd', 'fd');
    const text = (r) => (r[0] ? errnoName(r[0]) : 'ok') + ' type=' + r[1];
    await check('describe a closed fd', () => text(b.describe(closed())), 'EBADF type=0');
    await check('describe fd 2**31 - 1', () => text(b.describe(NEVER)), 'EBADF type=0');
    await check('describe a regular file', () => text(b.describe(openFd)) + ' size=' + b.describe(openFd)[3], 'ok type=1 size=10');
    await check('describe a pipe', () => { const p = pipe(); const r = text(b.describe(p.w)) + ' nonblocking=' + Boolean(b.describe(p.w)[2] & b.O_NONBLOCK); closePipe(p); return r; }, 'ok type=3 nonblocking=true');
    await check('describe /dev/null', () => { const fd = fs.openSync('/dev/null', 'r'); const r = text(b.describe(fd)); fs.closeSync(fd); return r; }, 'ok type=4');
    await check('describe a directory', () => { const fd = fs.openSync(dir, 'r'); const r = text(b.describe(fd)); fs.closeSync(fd); return r; }, 'ok type=0');
    await check('describe an O_APPEND file', () => { const fd = fs.openSync(path.join(dir, 'app'), 'a'); const r = Boolean(b.describe(fd)[2] & b.O_APPEND); fs.closeSync(fd); return 'append=' + r; }, 'append=true');
    await check('describe a listening socket', async () => {
      const server = net.createServer();
      await new Promise((r) => server.listen(0, '127.0.0.1', r));
      const r = text(b.describe(server._handle.fd));
      await new Promise((r2) => server.close(r2));
      return r;
    }, 'ok type=2');
    await check('describe with extra arguments', () => text(b.describe(openFd, 'extra', 1)), 'ok type=1');
  },

  async dup() {
    await battery('dup', b.dup, [openFd], 0, 'fd', 'fd');
    await check('dup a closed fd', () => rc(b.dup(closed())), '-EBADF');
    await check('dup fd 2**31 - 1', () => rc(b.dup(NEVER)), '-EBADF');
    await check('dup an open fd', () => { const d = b.dup(openFd); const r = d >= 0 && d !== openFd ? 'new fd' : rc(d); b.close(d); return r; }, 'new fd');
  },

  async close() {
    await battery('close', b.close, [NEVER], 0, 'fd', 'fd');
    await check('close a closed fd', () => rc(b.close(closed())), '-EBADF');
    await check('close fd 2**31 - 1', () => rc(b.close(NEVER)), '-EBADF');
    await check('close twice', () => { const fd = fs.openSync(file, 'r'); return rc(b.close(fd)) + ' then ' + rc(b.close(fd)); }, '0 then -EBADF');
    await check('close(2**32 + fd) leaves fd open', () => {
      const fd = fs.openSync(file, 'r');
      let r;
      try { b.close(2 ** 32 + fd); r = 'accepted'; } catch (e) { r = describeThrown(e); }
      r += ', fd ' + (b.describe(fd)[0] === 0 ? 'open' : 'closed');
      fs.closeSync(fd);
      return r;
    }, R + ', fd open');
    await check('close an fd an FdWatcher holds', () => {
      const p = pipe();
      const w = new b.FdWatcher(p.r);
      const idle = rc(b.close(p.r));
      w.start(1, () => {});
      const armed = rc(b.close(p.r));
      w.close();
      const after = rc(b.close(p.r));
      b.close(p.w);
      return idle + ', armed ' + armed + ', after watcher.close() ' + after;
    }, '-EBUSY, armed -EBUSY, after watcher.close() 0');
  },

  async spliceSync() {
    const p = pipe();
    await battery('spliceSync', b.spliceSync, [p.r, p.w, 1], 0, 'inFd', 'fd');
    await battery('spliceSync', b.spliceSync, [p.r, p.w, 1], 1, 'outFd', 'fd');
    await battery('spliceSync', b.spliceSync, [p.r, p.w, 1], 2, 'len', 'len');
    closePipe(p);
    const a = pipe(), z = pipe();
    await check('spliceSync from a closed fd', () => rc(b.spliceSync(closed(), z.w, 10)), '-EBADF');
    await check('spliceSync to a closed fd', () => rc(b.spliceSync(a.r, closed(), 10)), '-EBADF');
    await check('spliceSync from fd 2**31 - 1', () => rc(b.spliceSync(NEVER, z.w, 10)), '-EBADF');
    await check('spliceSync between two regular files', () => { const o = outFile(); const r = rc(b.spliceSync(openFd, o, 10)); fs.closeSync(o); return r; }, '-EINVAL');
    await check('spliceSync from an empty non-blocking pipe', () => rc(b.spliceSync(a.r, z.w, 10)), '-EAGAIN');
    await check('spliceSync from a pipe\'s write end', () => rc(b.spliceSync(a.w, z.w, 10)), '-EBADF');
    await check('spliceSync a pipe into itself', () => { fs.writeSync(a.w, 'x'); const r = rc(b.spliceSync(a.r, a.w, 1)); b.readInto(a.r, Buffer.alloc(1)); return r; }, '-EINVAL');
    await check('spliceSync with len 0', () => rc(b.spliceSync(a.r, z.w, 0)), '0');
    await check('spliceSync with len 2**53 - 1 (clamped)', () => {
      fs.writeSync(a.w, 'hello');
      const n = rc(b.spliceSync(a.r, z.w, 2 ** 53 - 1));
      const buf = Buffer.alloc(16);
      const m = b.readInto(z.r, buf);
      return n + ' ' + buf.toString('latin1', 0, Math.max(m, 0));
    }, '5 hello');
    await check('spliceSync from a pipe whose write end is closed (end of input)', () => { const e = pipe(); b.close(e.w); const r = rc(b.spliceSync(e.r, z.w, 10)); b.close(e.r); return r; }, '0');
    closePipe(a); closePipe(z);
  },

  async makePipe() {
    await battery('makePipe', b.makePipe, [0], 0, 'size', 'size');
    const made = (size) => {
      const [err, r, w, cap] = b.makePipe(size);
      if (err !== 0) return errnoName(err);
      const flags = b.describe(r)[2];
      const text = 'ok capacity' + (cap >= 4096 ? '>=4096' : '=' + cap) + ' nonblocking=' + Boolean(flags & b.O_NONBLOCK);
      b.close(r); b.close(w);
      return text;
    };
    await check('makePipe(0): the default size', () => made(0), 'ok capacity>=4096 nonblocking=true');
    await check('makePipe(1): rounded up by the kernel', () => made(1), 'ok capacity>=4096 nonblocking=true');
    await check('makePipe(2**31 - 1): refused by the kernel, the pipe keeps its size', () => made(2 ** 31 - 1), 'ok capacity>=4096 nonblocking=true');
    await check('makePipe(1 MiB)', () => made(1 << 20), 'ok capacity>=4096 nonblocking=true');
  },

  async bytesReadable() {
    await battery('bytesReadable', b.bytesReadable, [openFd], 0, 'fd', 'fd');
    await check('bytesReadable of a closed fd', () => rc(b.bytesReadable(closed())), '-EBADF');
    await check('bytesReadable of fd 2**31 - 1', () => rc(b.bytesReadable(NEVER)), '-EBADF');
    await check('bytesReadable of /dev/null', () => { const fd = fs.openSync('/dev/null', 'r'); const r = rc(b.bytesReadable(fd)); fs.closeSync(fd); return r; }, '-ENOTTY');
    await check('bytesReadable of a pipe', () => {
      const p = pipe();
      const before = rc(b.bytesReadable(p.r));
      fs.writeSync(p.w, 'hello');
      const r = before + ' then ' + rc(b.bytesReadable(p.r));
      closePipe(p);
      return r;
    }, '0 then 5');
  },

  async 'cached io'() {
    const out = new Float64Array(2);
    const notPaths = [['no argument', MISSING], ['undefined', undefined], ['null', null], ['a number', 1], ['a Buffer', Buffer.from(file)]];
    for (const [n, v] of notPaths) {
      await check('lookupCached path: ' + n, () => { const a = [v, out]; if (v === MISSING) a.length = 0; b.lookupCached(...a); return 'accepted'; }, T);
    }
    await check('lookupCached path with a null byte', () => { b.lookupCached(file + '\0x', out); return 'accepted'; }, T);
    for (const [n, v] of [['no argument', MISSING], ['an array', [0, 0, 0]], ['a Float64Array of 1', new Float64Array(1)], ['an Int32Array', new Int32Array(3)]]) {
      await check('lookupCached out: ' + n, () => { const a = [file, v]; if (v === MISSING) a.length = 1; b.lookupCached(...a); return 'accepted'; }, T);
    }
    await check('lookupCached a cached regular file, then reopenCached it', () => {
      fs.readFileSync(file);
      const pfd = b.lookupCached(file, out);
      if (pfd < 0) return rc(pfd);
      const seen = 'regular=' + out[1] + ' mount>0=' + (out[0] > 0);
      const fd = b.reopenCached(file, pfd);
      const buf = Buffer.alloc(16);
      const n = b.readNowait(fd, buf, 0, 16, -1, out);
      const r = seen + ' ' + rc(n) + ' ' + buf.toString('latin1', 0, Math.max(n, 0)) + ' pathFd closed=' + (b.describe(pfd)[0] !== 0 || pfd === fd);
      b.close(fd);
      return r;
    }, 'regular=1 mount>0=true 10 0123456789 pathFd closed=true');
    await check('lookupCached a missing file', () => { const r = b.lookupCached(path.join(dir, 'missing'), out); return r === -2 || r === -11 ? 'ENOENT or EAGAIN' : rc(r); }, 'ENOENT or EAGAIN');
    await check('lookupCached a directory', () => { const pfd = b.lookupCached(dir, out); const r = 'regular=' + out[1]; if (pfd >= 0) b.close(pfd); return r; }, 'regular=0');
    await check('reopenCached a path swapped for another file', () => {
      const f2 = path.join(dir, 'swap');
      fs.writeFileSync(f2, 'a');
      const pfd = b.lookupCached(f2, out);
      fs.renameSync(file + '', path.join(dir, 'ten-copy')); fs.copyFileSync(path.join(dir, 'ten-copy'), file); // keep 'ten' for the others
      fs.writeFileSync(f2 + '.new', 'b'); fs.renameSync(f2 + '.new', f2);
      return rc(b.reopenCached(f2, pfd));
    }, '-ESTALE');
    await battery('reopenCached', b.reopenCached, [file, NEVER], 1, 'pathFd', 'fd');
    await check('reopenCached with a closed pathFd', () => rc(b.reopenCached(file, closed())), '-EBADF');
    const buf = Buffer.alloc(8);
    await battery('readNowait', b.readNowait, [openFd, buf, 0, 4, 0, out], 0, 'fd', 'fd');
    await battery('readNowait', b.readNowait, [openFd, buf, 0, 4, 0, out], 1, 'buffer', 'buffer');
    await battery('readNowait', b.readNowait, [openFd, buf, 0, 4, 0, out], 2, 'offset', 'len');
    await battery('readNowait', b.readNowait, [openFd, buf, 0, 4, 0, out], 3, 'length', 'len');
    await battery('readNowait', b.readNowait, [openFd, buf, 0, 4, 0, out], 4, 'position', 'offset');
    await check('readNowait past the buffer', () => { b.readNowait(openFd, buf, 4, 5, 0, out); return 'accepted'; }, R);
    await check('readNowait at a position', () => { const n = b.readNowait(openFd, buf, 0, 8, 6, out); return rc(n) + ' ' + buf.toString('latin1', 0, Math.max(n, 0)); }, '4 6789');
    await check('readNowait at the end', () => rc(b.readNowait(openFd, buf, 0, 8, 10, out)), '0');
    await check('readNowait a closed fd', () => rc(b.readNowait(closed(), buf, 0, 8, 0, out)), '-EBADF');
    await check('readNowait a pipe (no positions)', () => { const p = pipe(); const r = rc(b.readNowait(p.r, buf, 0, 8, 0, out)); closePipe(p); return r; }, '-ESPIPE');
  },

  async readInto() {
    const p = pipe();
    await battery('readInto', b.readInto, [p.r, Buffer.alloc(4)], 0, 'fd', 'fd');
    await battery('readInto', b.readInto, [p.r, Buffer.alloc(4)], 1, 'buffer', 'buffer');
    await check('readInto from a closed fd', () => rc(b.readInto(closed(), Buffer.alloc(4))), '-EBADF');
    await check('readInto from fd 2**31 - 1', () => rc(b.readInto(NEVER, Buffer.alloc(4))), '-EBADF');
    await check('readInto from a pipe\'s write end', () => rc(b.readInto(p.w, Buffer.alloc(4))), '-EBADF');
    await check('readInto from an empty non-blocking pipe', () => rc(b.readInto(p.r, Buffer.alloc(4))), '-EAGAIN');
    await check('readInto from a directory', () => { const fd = fs.openSync(dir, 'r'); const r = rc(b.readInto(fd, Buffer.alloc(4))); fs.closeSync(fd); return r; }, '-EISDIR');
    const fill = (s) => fs.writeSync(p.w, s);
    const drain = () => { const buf = Buffer.alloc(64); const n = b.readInto(p.r, buf); return n > 0 ? buf.toString('latin1', 0, n) : rc(n); };
    await check('readInto a Buffer', () => { fill('hello'); const buf = Buffer.alloc(8); const n = b.readInto(p.r, buf); return n + ' ' + buf.toString('latin1', 0, n); }, '5 hello');
    await check('readInto an empty Buffer reads nothing', () => { fill('hello'); const n = rc(b.readInto(p.r, Buffer.alloc(0))); return n + ', left ' + drain(); }, '0, left hello');
    await check('readInto a Uint16Array counts bytes', () => { fill('0123456789'); const a = new Uint16Array(2); const n = b.readInto(p.r, a); return n + ' ' + Buffer.from(a.buffer).toString('latin1') + ', left ' + drain(); }, '4 0123, left 456789');
    await check('readInto a Float64Array view at an offset', () => {
      fill('abcdefghijklmnop');
      const ab = new ArrayBuffer(32);
      const n = b.readInto(p.r, new Float64Array(ab, 8, 1));
      return n + ' ' + Buffer.from(ab, 8, 8).toString('latin1') + ' before=' + Buffer.from(ab, 0, 8).every((x) => x === 0) + ', left ' + drain();
    }, '8 abcdefgh before=true, left ijklmnop');
    await check('readInto a DataView at an offset', () => {
      fill('hello');
      const ab = new ArrayBuffer(8);
      const n = b.readInto(p.r, new DataView(ab, 2, 3));
      const bytes = Buffer.from(ab);
      return n + ' ' + bytes.toString('latin1', 2, 5) + ' around=' + (bytes[0] === 0 && bytes[1] === 0 && bytes[5] === 0) + ', left ' + drain();
    }, '3 hel around=true, left lo');
    await check('readInto a subarray stays inside it', () => {
      fill('0123456789');
      const buf = Buffer.alloc(10);
      const n = b.readInto(p.r, buf.subarray(3, 6));
      return n + ' [' + buf.toString('latin1').replace(/\0/g, '.') + '], left ' + drain();
    }, '3 [...012....], left 3456789');
    await check('readInto a detached buffer reads nothing', () => {
      fill('hello');
      const ab = new ArrayBuffer(8);
      const view = new Uint8Array(ab);
      structuredClone(ab, { transfer: [ab] });
      return rc(b.readInto(p.r, view)) + ', left ' + drain();
    }, '0, left hello');
    await check('readInto at the end of a file', () => { const fd = fs.openSync(file, 'r'); const a = b.readInto(fd, Buffer.alloc(64)); const z = b.readInto(fd, Buffer.alloc(64)); fs.closeSync(fd); return a + ' then ' + z; }, '10 then 0');
    closePipe(p);
  },

  async copy() {
    const o = outFile();
    const args = [2, openFd, o, -1, -1, 1, () => {}];
    const names = ['op', 'inFd', 'outFd', 'inOffset', 'outOffset', 'len', 'cb'];
    const kinds = ['op', 'fd', 'fd', 'offset', 'offset', 'len', 'function'];
    for (let i = 0; i < names.length; i++) await battery('copy', b.copy, args, i, names[i], kinds[i]);
    // One copy at a time: a number from closed() must not be reused meanwhile.
    const run = (op, inFd, outFd, inOff, outOff, len) => new Promise((resolve) => {
      let calls = 0, first;
      b.copy(op, inFd, outFd, inOff, outOff, len, (errno, n) => {
        calls++;
        if (calls === 1) first = (errno ? errnoName(errno) : '0') + ' ' + n;
        // Called once: a second call would come before the next macrotask.
        setImmediate(() => setImmediate(() => resolve(calls === 1 ? first : first + ' (called ' + calls + ' times)')));
      });
    });
    const fresh = () => { const fd = outFile(); return fd; };
    for (const [op, name] of [[0, 'sendfile'], [1, 'splice'], [2, 'copy_file_range']]) {
      await check('copy (' + name + ') from a closed fd', () => run(op, closed(), o, -1, -1, 10), 'EBADF 0');
      await check('copy (' + name + ') to fd 2**31 - 1', () => run(op, openFd, NEVER, 0, -1, 10), 'EBADF 0');
      await check('copy (' + name + ') of 0 bytes', () => run(op, openFd, o, 0, -1, 0), '0 0');
    }
    await check('copy (sendfile) with an output offset', () => run(0, openFd, o, 0, 0, 10), 'EINVAL 0');
    await check('copy (splice) between two regular files', () => run(1, openFd, o, 0, 0, 10), 'EINVAL 0');
    await check('copy (splice) from an empty non-blocking pipe', () => { const p = pipe(); return run(1, p.r, o, -1, 0, 10).then((r) => { closePipe(p); return r; }); }, 'EAGAIN 0');
    await check('copy (copy_file_range) with len 2**53 - 1 stops at the end of input', async () => {
      const d = fresh();
      const r = await run(2, openFd, d, 0, 0, 2 ** 53 - 1);
      const got = fs.readFileSync('/proc/self/fd/' + d, 'latin1');
      fs.closeSync(d);
      return r + ' ' + got;
    }, '0 10 0123456789');
    await check('copy (sendfile) with len 2**53 - 1 into a pipe', async () => {
      const p = pipe();
      const r = await run(0, openFd, p.w, 0, -1, 2 ** 53 - 1);
      const buf = Buffer.alloc(16);
      const n = b.readInto(p.r, buf);
      closePipe(p);
      return r + ' ' + buf.toString('latin1', 0, n);
    }, '0 10 0123456789');
    await check('copy (copy_file_range) from offset 2**53 - 1', () => run(2, openFd, o, 2 ** 53 - 1, 0, 10), '0 0');
    await check('copy (sendfile) from offset 2**53 - 1', () => run(0, openFd, o, 2 ** 53 - 1, -1, 10), 'EOVERFLOW 0');
    await check('copy (copy_file_range) to offset 2**53 - 1', () => run(2, openFd, o, 0, 2 ** 53 - 1, 10), 'EFBIG 0');
    await check('copy (copy_file_range) from a pipe', () => { const p = pipe(); fs.writeSync(p.w, 'x'); return run(2, p.r, o, -1, 0, 1).then((r) => { closePipe(p); return r; }); }, 'EINVAL 0');
    await check('copy with a callback that throws: an uncaught exception', () => new Promise((resolve) => {
      const listeners = process.listeners('uncaughtException');
      process.removeAllListeners('uncaughtException');
      process.once('uncaughtException', (e) => {
        for (const l of listeners) process.on('uncaughtException', l);
        resolve('uncaught ' + e.message);
      });
      b.copy(2, openFd, o, 0, 0, 1, () => { throw new Error('from the callback'); });
    }), 'uncaught from the callback');
    await check('64 copies at once each call back once', async () => {
      const all = [];
      for (let i = 0; i < 64; i++) all.push(run(2, openFd, o, 0, i * 10, 10));
      const r = await Promise.all(all);
      return r.every((x) => x === '0 10') ? 'all 0 10' : r.join(',');
    }, 'all 0 10');
    fs.closeSync(o);
  },

  async relay() {
    const o = outFile();
    const spare = pipe();
    const args = [openFd, spare.r, spare.w, o, -1, 0, 65536, 0, 0, () => {}];
    const names = ['inFd', 'pipeReadFd', 'pipeWriteFd', 'outFd', 'outOffset', 'inPipe', 'pipeCapacity', 'take', 'budget', 'cb'];
    const kinds = ['fd', 'fd', 'fd', 'fd', 'offset', 'len', 'capacity', 'len', 'len', 'function'];
    for (let i = 0; i < names.length; i++) await battery('relay', b.relay, args, i, names[i], kinds[i]);
    closePipe(spare);
    // A pipe stands for the socket: relay() only needs a source splice can read.
    const run = (src, p, outFd, outOff, inPipe, take, budget) => new Promise((resolve) => {
      let calls = 0, first;
      b.relay(src, p.r, p.w, outFd, outOff, inPipe, 65536, take, budget, (errno, side, received, delivered) => {
        calls++;
        if (calls === 1) first = (errno ? errnoName(errno) : '0') + ' side=' + side + ' received=' + received + ' delivered=' + delivered;
        setImmediate(() => setImmediate(() => resolve(calls === 1 ? first : first + ' (called ' + calls + ' times)')));
      });
    });
    const scene = async (fill, outFd, outOff, inPipe, take, budget, before) => {
      const src = pipe();
      const mid = pipe();
      if (fill) fs.writeSync(src.w, fill);
      if (before) fs.writeSync(mid.w, before);
      const d = outFd === undefined ? outFile() : outFd;
      const r = await run(src.r, mid, d, outOff, inPipe, take, budget);
      const got = outFd === undefined ? fs.readFileSync('/proc/self/fd/' + d, 'latin1') : '';
      const left = b.bytesReadable(mid.r);
      closePipe(src); closePipe(mid);
      if (outFd === undefined) fs.closeSync(d);
      return r + (got ? ' file=' + got : '') + ' inPipe=' + left;
    };
    await check('relay until the source has nothing (EAGAIN)', () => scene('hello', undefined, -1, 0, 100, 1 << 20), 'EAGAIN side=1 received=5 delivered=5 file=hello inPipe=0');
    await check('relay stops at take', () => scene('hello', undefined, -1, 0, 3, 1 << 20), '0 side=0 received=3 delivered=3 file=hel inPipe=0');
    await check('relay stops filling once budget is delivered', () => scene('hello', undefined, -1, 0, 100, 2), '0 side=0 received=5 delivered=5 file=hello inPipe=0');
    await check('relay delivers the pipe\'s bytes first, take 0: nothing read', () => scene('hello', undefined, -1, 3, 0, 1 << 20, 'abc'), '0 side=0 received=0 delivered=3 file=abc inPipe=0');
    await check('relay to an explicit offset', () => scene('hi', undefined, 4, 0, 2, 1 << 20), '0 side=0 received=2 delivered=2 file=\0\0\0\0hi inPipe=0');
    await check('relay from a closed source: its error, side 1', () => { const mid = pipe(); return run(closed(), mid, o, -1, 0, 10, 10).then((r) => { closePipe(mid); return r; }); }, 'EBADF side=1 received=0 delivered=0');
    await check('relay into a closed fd: the error is the destination\'s, the bytes stay in the pipe', () => scene('hello', closed(), -1, 0, 100, 1 << 20), 'EBADF side=2 received=5 delivered=0 inPipe=5');
    await check('relay into an O_APPEND file: EINVAL, side 2', () => { const fd = fs.openSync(path.join(dir, 'relay-app'), 'a'); return scene('hello', fd, -1, 0, 100, 1 << 20).then((r) => { fs.closeSync(fd); return r; }); }, 'EINVAL side=2 received=5 delivered=0 inPipe=5');
    await check('relay to the end of input', async () => {
      const src = pipe();
      fs.writeSync(src.w, 'bye');
      b.close(src.w);
      const mid = pipe();
      const d = outFile();
      const r = await run(src.r, mid, d, -1, 0, 100, 1 << 20);
      const got = fs.readFileSync('/proc/self/fd/' + d, 'latin1');
      b.close(src.r); closePipe(mid); fs.closeSync(d);
      return r + ' file=' + got;
    }, '0 side=1 received=3 delivered=3 file=bye');
    fs.closeSync(o);
  },

  async FdWatcher() {
    const p = pipe();
    const make = (...a) => new b.FdWatcher(...a);
    await battery('new FdWatcher', (...a) => { make(...a).close(); }, [p.r], 0, 'fd', 'fd');
    await check('FdWatcher called without new', () => { b.FdWatcher(p.r); return 'accepted'; }, 'TypeError undefined');
    const uvError = (fn) => { try { fn(); return 'accepted'; } catch (e) { return describeThrown(e) + ' errno=' + e.errno + ' syscall=' + e.syscall; } };
    await check('new FdWatcher on a closed fd', () => uvError(() => make(closed())), 'Error EBADF errno=-9 syscall=uv_poll_init');
    await check('new FdWatcher on fd 2**31 - 1', () => uvError(() => make(NEVER)), 'Error EBADF errno=-9 syscall=uv_poll_init');
    await check('new FdWatcher on a regular file', () => uvError(() => make(openFd)), 'Error EPERM errno=-1 syscall=uv_poll_init');
    await check('two FdWatchers on one fd: the second cannot start', () => {
      const x = make(p.w), y = make(p.w);
      const r = rc(x.start(2, () => {})) + ', ' + rc(y.start(2, () => {}));
      y.close(); x.close();
      return r;
    }, '0, -EEXIST');

    const wfd = b.dup(p.r);
    const w = make(wfd);
    const start = (...a) => w.start(...a);
    await battery('FdWatcher.start', (...a) => { start(...a); w.stop(); }, [1, () => {}], 0, 'events', 'events');
    await battery('FdWatcher.start', (...a) => { start(...a); w.stop(); }, [1, () => {}], 1, 'cb', 'function');
    await check('stop() and close() before start()', () => { const x = make(p.w); x.stop(); x.close(); return 'ok'; }, 'ok');
    await check('start, stop twice, close twice, start after close', () => {
      const x = make(p.w);
      const r = [rc(x.start(1, () => {}))];
      x.stop(); x.stop(); x.close(); x.close();
      r.push(rc(x.start(1, () => {})));
      x.stop();
      return r.join(', ');
    }, '0, -EBADF');
    await check('start() on an fd closed by fs.closeSync', () => {
      const e = pipe();
      const x = make(e.w);
      fs.closeSync(e.w);
      const r = rc(x.start(2, () => {}));
      x.close();
      b.close(e.r);
      return r;
    }, '-EBADF');
    await check('a writable pipe calls back; close() inside the callback', () => new Promise((resolve) => {
      const x = make(p.w);
      const seen = [];
      x.start(2, (status, events) => {
        seen.push('status=' + status + ' events=' + events);
        x.close();
        setImmediate(() => setImmediate(() => resolve(seen.join(', '))));
      });
    }), 'status=0 events=2');
    await check('a readable pipe calls back until stop()', () => new Promise((resolve) => {
      const x = make(p.r);
      let n = 0;
      x.start(1, (status, events) => {
        if (++n === 3) {
          x.stop();
          const buf = Buffer.alloc(8);
          b.readInto(p.r, buf);
          x.close();
          resolve('status=' + status + ' events=' + events + ' calls=' + n);
        }
      });
      fs.writeSync(p.w, 'x');
    }), 'status=0 events=1 calls=3');
    await check('restart with other events, then the same events again', () => {
      const x = make(p.w);
      const r = [x.start(1, () => {}), x.start(2, () => {}), x.start(2, () => {}), x.start(3, () => {})].map(rc);
      x.close();
      return r.join(',');
    }, '0,0,0,0');
    await check('a callback that throws: an uncaught exception', () => new Promise((resolve) => {
      const x = make(p.w);
      const listeners = process.listeners('uncaughtException');
      process.removeAllListeners('uncaughtException');
      process.once('uncaughtException', (e) => {
        for (const l of listeners) process.on('uncaughtException', l);
        x.close();
        resolve('uncaught ' + e.message);
      });
      x.start(2, () => { x.stop(); throw new Error('from the watcher'); });
    }), 'uncaught from the watcher');
    const proto = b.FdWatcher.prototype;
    for (const m of ['start', 'stop', 'close']) {
      await check('FdWatcher.prototype.' + m + ' on a plain object', () => { proto[m].call({}, 1, () => {}); return 'accepted'; }, THIS);
      await check('FdWatcher.prototype.' + m + ' on Object.create(prototype)', () => { proto[m].call(Object.create(proto), 1, () => {}); return 'accepted'; }, THIS);
      await check('FdWatcher.prototype.' + m + ' on an object inheriting from a watcher', () => { proto[m].call(Object.create(w), 1, () => {}); return 'accepted'; }, THIS);
      await check('FdWatcher.prototype.' + m + ' on a number', () => { proto[m].call(5, 1, () => {}); return 'accepted'; }, THIS);
      await check('FdWatcher.prototype.' + m + ' on undefined', () => { proto[m].call(undefined, 1, () => {}); return 'accepted'; }, THIS);
    }
    await check('FdWatcher.prototype methods', () => Object.getOwnPropertyNames(proto).filter((k) => k !== 'constructor').sort().join(','), 'close,start,stop');
    await check('watchers dropped without close(), then collected', async () => {
      const fds = [];
      for (let i = 0; i < 50; i++) {
        const fd = b.dup(p.w);
        fds.push(fd);
        const x = make(fd);
        if (i % 2) x.start(1, () => {});  // readable never comes: armed until stop()
        if (i % 2) x.stop();
      }
      for (let i = 0; i < 5; i++) { globalThis.gc(); await tick(); }
      // Each fd closes once its watcher has been finalized, else stays held.
      const r = fds.map((fd) => b.close(fd));
      return r.every((x) => x === 0 || x === -os.constants.errno.EBUSY) ? 'ok' : r.join(',');
    }, 'ok');
    w.close();
    b.close(wfd);
    closePipe(p);
  },

  async teardown() {
    // A Worker that ends with watchers open (armed, stopped, never started), a
    // copy in flight and a watcher whose fd is writable (it fires during the
    // Worker's teardown, when JavaScript can no longer run).
    const code = [
      'const b = require(require.resolve("node-gyp-build", { paths: [' + JSON.stringify(root) + '] }))(' + JSON.stringify(root) + ');',
      'const fs = require("fs");',
      'const { parentPort, workerData } = require("worker_threads");',
      'const p = b.makePipe(0);',
      'const armed = workerData !== "end";  // an armed watcher keeps a Worker alive',
      'if (armed) new b.FdWatcher(b.dup(p[1])).start(1, () => {});',
      'if (armed) new b.FdWatcher(b.dup(p[2])).start(2, () => {});',
      'const s = new b.FdWatcher(b.dup(p[1])); s.start(1, () => {}); s.stop();',
      'new b.FdWatcher(b.dup(p[2]));',
      'const zero = fs.openSync("/dev/zero", "r"), sink = fs.openSync("/dev/null", "w");',
      'for (let i = 0; i < 4; i++) b.copy(0, zero, sink, -1, -1, 64 << 20, () => {});',
      'parentPort.postMessage("ready");',
      'if (workerData === "exit") process.exit(0);',
    ].join('\n');
    const once = (how) => new Promise((resolve) => {
      const wk = new Worker(code, { eval: true, workerData: how });
      wk.on('message', () => { if (how === 'terminate') wk.terminate(); });
      wk.on('error', (e) => resolve('error ' + e.message));
      wk.on('exit', (c) => resolve('exit ' + c));
    });
    await check('a Worker calling process.exit() with watchers and copies open', () => once('exit'), 'exit 0');
    await check('a Worker terminated with watchers and copies open', () => once('terminate'), 'exit 1');
    await check('a Worker whose code ends with watchers open and copies in flight', () => once('end'), 'exit 0');
    await check('the main thread works after', () => new Promise((resolve) => {
      const o = outFile();
      b.copy(2, openFd, o, 0, 0, 10, (e, n) => { fs.closeSync(o); resolve(e + ' ' + n); });
    }), '0 10');
    // Left open on purpose: the main environment's own teardown closes it.
    const p = pipe();
    new b.FdWatcher(p.r);
  },

  async constants() {
    await check('O_APPEND', () => b.O_APPEND === fs.constants.O_APPEND, 'true');
    await check('O_NONBLOCK', () => b.O_NONBLOCK === fs.constants.O_NONBLOCK, 'true');
    await check('supported', () => b.supported, 'true');
  },

  // Run under "ulimit -n 64".
  async 'fd exhaustion'() {
    const held = [];
    try { for (;;) held.push(fs.openSync('/dev/null', 'r')); } catch (e) { if (e.code !== 'EMFILE') throw e; }
    await check('makePipe with no fd left', () => errnoName(b.makePipe(0)[0]), 'EMFILE');
    await check('dup with no fd left', () => rc(b.dup(openFd)), '-EMFILE');
    for (const fd of held.splice(0, 4)) fs.closeSync(fd);
    await check('makePipe once fds are free again', () => { const [e, r, w] = b.makePipe(0); b.close(r); b.close(w); return String(e); }, '0');
    for (const fd of held) fs.closeSync(fd);
  },
};

(async () => {
  const fn = groups[group];
  if (!fn) throw new Error('no group ' + group);
  await fn();
  fs.closeSync(openFd);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.writeSync(1, '\n@@' + JSON.stringify(out) + '\n');
})().catch((e) => { console.error(e); process.exitCode = 70; });
`;

interface Case {
  name: string;
  expected: string;
  actual: string;
}

function runGroup(
  group: string,
): Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }> {
  const node = [process.execPath, '--expose-gc', '-e', CHILD, root, group];
  // The fd-exhaustion group needs a low limit; the shell sets it for that child only.
  const [cmd, args] =
    group === 'fd exhaustion'
      ? ['/bin/sh', ['-c', 'ulimit -n 64 && exec "$@"', 'sh', ...node]]
      : [node[0], node.slice(1)];
  return new Promise((resolve) => {
    const child = cp.spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '',
      stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

describe.skipIf(skip)('native addon: every export, called wrongly, throws or returns an errno, never crashes', () => {
  it('the addon is loaded', () => {
    expect(native, `addon not loaded: ${nativeUnavailableReason}`).not.toBeNull();
  });

  it('every export and FdWatcher method has cases here', () => {
    const exports = Object.keys(native ?? {}).sort();
    expect(
      exports.filter((k) => !COVERAGE[k]),
      'exports without cases in test/native-api.test.ts',
    ).toEqual([]);
    const proto = (native!.FdWatcher as unknown as { prototype: object }).prototype;
    const methods = Object.getOwnPropertyNames(proto)
      .filter((k) => k !== 'constructor')
      .sort();
    expect(methods).toEqual(WATCHER_METHODS);
  });

  it.each(GROUPS)('%s', async (group) => {
    const r = await runGroup(group);
    const died = r.signal ? `killed by ${r.signal}` : `exit code ${r.code}`;
    expect(r.signal === null && r.code === 0, `the ${group} child ${died}; stderr:\n${r.stderr.slice(-4000)}`).toBe(
      true,
    );
    const line = r.stdout.split('\n').find((l) => l.startsWith('@@'));
    expect(line, `no results; stderr:\n${r.stderr.slice(-4000)}`).toBeDefined();
    const cases = JSON.parse(line!.slice(2)) as Case[];
    expect(cases.length).toBeGreaterThan(0);
    expect(cases.map((c) => `${c.name} -> ${c.actual}`)).toEqual(cases.map((c) => `${c.name} -> ${c.expected}`));
  });
});
