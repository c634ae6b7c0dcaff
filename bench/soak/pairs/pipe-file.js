// pipe → file (splice from the pipe straight into the file). A writer socket
// on the pipe's write end sends the content from JavaScript.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const lib = require('../lib.js');
const { streamFault, reusedFd, pipelineDone } = require('./common.js');
const { socketPipe } = require('./file-pipe.js');

/** Writes `content` to `writable`, in one go or (slow) in small paced pieces. */
async function send(writable, content, random, slow, end = true) {
  if (!slow) {
    if (end) writable.end(content);
    else writable.write(content);
    return;
  }
  for (let off = 0; off < content.length && !writable.destroyed; ) {
    const n = Math.min(content.length - off, 4096 + Math.floor(random() * 60000));
    // The last piece goes with end(): writableEnded then says every byte was handed over.
    if (end && off + n === content.length) {
      writable.end(content.subarray(off));
      return;
    }
    const ok = writable.write(content.subarray(off, off + n));
    off += n;
    if (!ok) {
      await new Promise((r) => {
        const done = () => {
          writable.off('drain', done);
          writable.off('close', done);
          r();
        };
        writable.on('drain', done);
        writable.on('close', done);
      });
    }
    if (random() < 0.3) await new Promise((r) => setTimeout(r, Math.floor(random() * 3)));
  }
  if (!writable.destroyed && end) writable.end();
}

module.exports = {
  key: 'pipe-file',
  name: 'pipe → file',
  fileDestination: true,
  reusedFd: true,
  faults: ['none', 'destroy-src', 'destroy-dst', 'unpipe', 'slow'],
  send,
  async setup() {
    return {};
  },
  async transfer(_state, t) {
    const { zc } = t;
    const [reader, writer, perr] = socketPipe();
    if (perr) return { error: perr, peerError: null, aborted: false, received: Buffer.alloc(0), canary: 0 };
    const dest = path.join(t.destDir, `d${t.id}`);
    t.cleanup ??= [];
    t.cleanup.push(dest);
    const ws = zc.createWriteStream(dest);
    t.track(reader, ws, writer);
    writer.on('error', () => {}); // EPIPE once the reading side is gone: the harness's end, not the library's
    let finished = false;
    const done = () => finished;
    const canary = reusedFd(t, ws, done);
    streamFault(t, reader, ws, done);
    const p = pipelineDone(zc, reader, ws);
    send(writer, Buffer.from(lib.pattern(t.id, 0, t.size)), t.random, t.fault === 'slow');
    const error = await p;
    finished = true;
    if (!writer.destroyed) writer.destroy();
    await Promise.all([reader, ws, writer].map(lib.whenClosed));
    return {
      error,
      peerError: null,
      aborted: false,
      canary: canary(),
      received: () => {
        try {
          return fs.readFileSync(dest);
        } catch {
          return Buffer.alloc(0);
        }
      },
    };
  },
  async teardown() {},
};
