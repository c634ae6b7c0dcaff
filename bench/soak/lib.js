// Building blocks the soak's pairs share: attributable content, random
// moments, fd counting, and a rendezvous between the two ends of a TCP
// connection made in this process.
'use strict';
const fs = require('node:fs');

// Every transfer's content is a run of 8-byte stamps: its id (uint32 LE) and
// the stamp's index (offset / 8, uint32 LE). Any received byte then says
// which transfer it belongs to and where in it it should be.
const STAMP = 8;

function pattern(id, start, length) {
  // Whole stamps from the one before `start`, cut to [start, start + length).
  const first = Math.floor(start / STAMP);
  const count = Math.ceil((start + length) / STAMP) - first;
  const words = new Uint32Array(count * 2);
  for (let i = 0; i < count; i++) {
    words[2 * i] = id;
    words[2 * i + 1] = first + i;
  }
  const buf = Buffer.from(words.buffer);
  const skip = start - first * STAMP;
  return buf.subarray(skip, skip + length);
}

/**
 * What a destination holds, judged against transfer `id`'s content:
 * prefix — bytes from offset 0 that are exactly right;
 * foreign — bytes (in whole aligned stamps after the prefix) that carry
 *           another known transfer's id: misdirected here;
 * wrong — the rest after the prefix (holes, bytes out of place, garbage).
 */
function analyze(received, id, knownId) {
  const expected = pattern(id, 0, received.length);
  if (received.equals(expected)) return { prefix: received.length, foreign: 0, wrong: 0 };
  let prefix = 0;
  // Find the first differing byte (Buffer.compare on halves keeps this fast).
  let lo = 0,
    hi = received.length;
  while (hi - lo > 64) {
    const mid = (lo + hi) >>> 1;
    if (received.subarray(lo, mid).equals(expected.subarray(lo, mid))) lo = mid;
    else hi = mid;
  }
  prefix = lo;
  while (prefix < hi && received[prefix] === expected[prefix]) prefix++;
  let foreign = 0;
  for (let off = Math.ceil(prefix / STAMP) * STAMP; off + STAMP <= received.length; off += STAMP) {
    const other = received.readUInt32LE(off);
    if (other !== id && knownId(other)) foreign += STAMP;
  }
  return { prefix, foreign, wrong: received.length - prefix - foreign };
}

// A seeded PRNG (mulberry32): a run can be repeated with SOAK_SEED.
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * A random moment: some turns of the event loop (a transfer's own steps run
 * on those turns), or a few milliseconds (threadpool chunks finish then).
 */
function moment(random) {
  return new Promise((resolve) => {
    if (random() < 0.5) {
      let turns = Math.floor(random() * 24);
      const hop = () => (turns-- <= 0 ? resolve() : setImmediate(hop));
      hop();
    } else {
      setTimeout(resolve, Math.floor(random() * 6));
    }
  });
}

/** Open fds, and how many of them are pipes. */
function fdCounts() {
  let fds = 0,
    pipes = 0;
  for (const fd of fs.readdirSync('/proc/self/fd')) {
    let target;
    try {
      target = fs.readlinkSync(`/proc/self/fd/${fd}`);
    } catch {
      continue;
    }
    fds++;
    if (target.startsWith('pipe:')) pipes++;
  }
  // readdirSync's own directory fd was counted and is closed again.
  return { fds: fds - 1, pipes };
}

/** fd → what it is, for naming what leaked. */
function fdTargets() {
  const out = new Map();
  for (const fd of fs.readdirSync('/proc/self/fd')) {
    try {
      out.set(fd, fs.readlinkSync(`/proc/self/fd/${fd}`));
    } catch {
      /* the directory's own fd */
    }
  }
  return out;
}

/**
 * The RLIMIT_NOFILE that leaves exactly `spare` fd numbers free (a new fd
 * takes the lowest free number; fds open above the limit stay usable).
 */
function nofileLeaving(spare) {
  const open = new Set(fs.readdirSync('/proc/self/fd').map(Number));
  let n = 0;
  for (let free = 0; free < spare; n++) if (!open.has(n)) free++;
  return n;
}

/**
 * Pairs the two ends of loopback TCP connections made in this process: the
 * client knows its local port at once, the server learns it as remotePort.
 */
function rendezvous() {
  const waiting = new Map();
  const arrived = new Map();
  return {
    expect(port) {
      return new Promise((resolve) => {
        const s = arrived.get(port);
        if (s) {
          arrived.delete(port);
          resolve(s);
        } else waiting.set(port, resolve);
      });
    },
    arrive(socket) {
      const port = socket.remotePort;
      const w = waiting.get(port);
      if (w) {
        waiting.delete(port);
        w(socket);
      } else arrived.set(port, socket);
    },
    get size() {
      return waiting.size + arrived.size;
    },
  };
}

/** Collects what a readable delivers; `slow` pauses it now and then. */
function collect(readable, random, slow) {
  const chunks = [];
  let bytes = 0;
  readable.on('data', (d) => {
    chunks.push(d);
    bytes += d.length;
    if (slow && random() < 0.3) {
      readable.pause();
      setTimeout(() => readable.resume(), Math.floor(random() * 4));
    }
  });
  return {
    get bytes() {
      return bytes;
    },
    buffer: () => Buffer.concat(chunks, bytes),
  };
}

/** An error as the table compares it: code and syscall, Node-style or not. */
function errorKey(err) {
  if (!err) return null;
  const code = typeof err.code === 'string' ? err.code : null;
  return code ? `${code}${err.syscall ? `/${err.syscall}` : ''}` : `NON-NODE:${err.name}:${err.message}`;
}

/**
 * Resets a TCP connection (RST). Node's resetAndDestroy() on a socket that
 * has called end() leaks its fd (libuv's uv_tcp_close_reset() refuses a
 * shutting stream with EINVAL, and Node then never closes the handle):
 * such a socket is destroyed instead.
 */
function reset(sock) {
  if (sock.writableEnded || !(typeof sock.remotePort === 'number' || sock.connecting)) sock.destroy();
  else {
    sock.on('error', () => {});
    sock.resetAndDestroy();
  }
}

function whenClosed(stream) {
  return new Promise((resolve) => {
    if (stream.closed || (stream.destroyed && !stream.emitClose)) resolve();
    else stream.once('close', resolve);
  });
}

function errnoError(errno, syscall) {
  const os = require('node:os');
  const name = Object.entries(os.constants.errno).find(([, v]) => v === errno)?.[0] ?? `E${errno}`;
  const err = new Error(`${name}: ${syscall} failed`);
  err.code = name;
  err.errno = -errno;
  err.syscall = syscall;
  return err;
}

/**
 * Node's own stream.pipeline() never calls back when its source is destroyed
 * after it read its end of file (push(null)) but before it emitted 'end' —
 * its last chunks still buffered behind a full destination: the source's
 * end-of-stream check sees ERR_STREAM_PREMATURE_CLOSE with the readable
 * state ended, and waits for an 'end' or 'error' that a destroyed stream
 * never emits (Node 20, lib/internal/streams/pipeline.js, pipe()). The
 * destroy-src fault lands in that window now and then, on Node's path too.
 * `pipelineSource(s)` marks a stream given to pipeline() as its source;
 * `nodePipelineHang(s)` says whether it is in that state.
 */
const pipelineSources = new WeakSet();
function pipelineSource(s) {
  pipelineSources.add(s);
  return s;
}
function nodePipelineHang(s) {
  return pipelineSources.has(s) && s.destroyed && s._readableState?.ended === true && !s.readableEnded;
}

module.exports = {
  pipelineSource,
  nodePipelineHang,
  STAMP,
  pattern,
  analyze,
  rng,
  moment,
  fdCounts,
  fdTargets,
  nofileLeaving,
  rendezvous,
  collect,
  errorKey,
  reset,
  whenClosed,
  errnoError,
};
