// Faults more than one pair injects: on a file source (truncate, grow), on a
// file destination (its fd closed and reused by a canary), and the generic
// destroy/unpipe moves.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const lib = require('../lib.js');

/**
 * truncate: ftruncate the source to a random length at a random moment (the
 * destination then holds a right prefix at least that long); grow: append
 * the stamps that follow (an unbounded source may deliver any of them).
 * `bounded`: the source stops at the original size (an `end` option).
 */
async function fileSourceFault(t, bounded, done) {
  if (t.fault !== 'truncate' && t.fault !== 'grow') return;
  await lib.moment(t.random);
  if (done()) return;
  t.fired = true;
  if (t.fault === 'truncate') {
    const to = Math.floor(t.random() * t.size);
    fs.truncateSync(t.srcPath, to);
    t.bounds.lo = to;
    t.truncated = true;
  } else {
    const more = 1 + Math.floor(t.random() * t.size);
    fs.appendFileSync(t.srcPath, lib.pattern(t.id, t.size, more));
    if (!bounded) t.bounds.hi = t.size + more;
  }
}

/**
 * destroy-src / destroy-dst / unpipe (and re-pipe) at a random moment.
 * `end`: the re-pipe ends dst (a plain pipe() lost its end with the unpipe).
 */
async function streamFault(t, src, dst, done, end = false) {
  if (t.fault !== 'destroy-src' && t.fault !== 'destroy-dst' && t.fault !== 'unpipe') return;
  await lib.moment(t.random);
  if (done()) return;
  t.fired = true;
  // destroy() discards what the streams hold: on Node's path too, what then
  // arrives, even with no error reported, may be any right prefix.
  if (t.fault !== 'unpipe') t.bounds.lo = 0;
  if (t.fault === 'destroy-src') src.destroy();
  else if (t.fault === 'destroy-dst') dst.destroy();
  else {
    src.unpipe(dst);
    await lib.moment(t.random);
    // pipeline() piped with { end: false } and ends dst on src's 'end' itself.
    if (!src.destroyed && !dst.destroyed) src.pipe(dst, { end });
  }
}

/**
 * reused-fd: once the destination WriteStream is open (and, under zerocopy,
 * once a kernel transfer is writing into it), close its fd behind its back
 * and open a canary file, which gets the same fd number. Returns a function
 * telling, after the stream has closed, how many bytes the canary received.
 */
function reusedFd(t, ws, done) {
  if (t.fault !== 'reused-fd') return () => 0;
  const canaryPath = path.join(t.dir, `canary${t.id}`);
  t.cleanup ??= [];
  t.cleanup.push(canaryPath);
  let swapped = false;
  const ready = () =>
    typeof ws.fd === 'number' && (t.mode === 'baseline' ? ws.bytesWritten > 0 : t.transferOf(ws) !== null);
  const wait = (turns) => {
    if (done() || ws.destroyed) return;
    if (!ready()) {
      if (turns < 20000) setImmediate(() => wait(turns + 1));
      return;
    }
    const n = ws.fd;
    fs.closeSync(n);
    const c = fs.openSync(canaryPath, 'w+');
    swapped = true;
    t.fired = true;
    // Another open in this process took the number first (nothing else runs
    // in this phase, so it should not happen); say so rather than guess.
    if (c !== n) t.reuseMissed = true;
  };
  ws.once('open', () => setImmediate(() => wait(0)));
  return () => (swapped ? fs.statSync(canaryPath).size : 0);
}

function pipelineDone(zc, src, dst) {
  return new Promise((resolve) => zc.pipeline(lib.pipelineSource(src), dst, (err) => resolve(err ?? null)));
}

module.exports = { fileSourceFault, streamFault, reusedFd, pipelineDone };
