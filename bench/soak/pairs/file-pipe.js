// file → pipe (splice straight into the pipe). The pipe is made here
// (pipe2 through the addon, both ends wrapped in net.Sockets as Node wraps a
// child's stdio); the read end collects in JavaScript.
'use strict';
const net = require('node:net');
const { native } = require('../../../dist/internal.js');
const lib = require('../lib.js');
const { fileSourceFault, streamFault, pipelineDone } = require('./common.js');

/** [reader, writer] sockets over a fresh pipe, or an error Node-style. */
function socketPipe() {
  const [err, r, w] = native.makePipe(0);
  if (err !== 0) return [null, null, lib.errnoError(err, 'pipe')];
  return [
    new net.Socket({ fd: r, readable: true, writable: false }),
    new net.Socket({ fd: w, readable: false, writable: true }),
    null,
  ];
}

module.exports = {
  key: 'file-pipe',
  name: 'file → pipe',
  fileSource: true,
  faults: ['none', 'reset', 'destroy-src', 'destroy-dst', 'unpipe', 'slow', 'truncate', 'grow'],
  socketPipe,
  async setup() {
    return {};
  },
  async transfer(_state, t) {
    const { zc } = t;
    const [reader, writer, perr] = socketPipe();
    if (perr) return { error: perr, peerError: null, aborted: false, received: Buffer.alloc(0), canary: 0 };
    const rs = zc.createReadStream(t.srcPath);
    t.track(rs, writer, reader);
    writer.on('error', () => {}); // late errors, after pipeline() has reported
    let aborted = false,
      peerError = null,
      ended = false;
    reader.on('error', (e) => {
      peerError = e;
    });
    reader.on('end', () => {
      ended = true;
    });
    const got = lib.collect(reader, t.random, t.fault === 'slow');
    const readerClosed = lib.whenClosed(reader);
    let finished = false;
    const done = () => finished;
    if (t.fault === 'reset') {
      // The reading end goes away: the writer's next write is EPIPE.
      lib.moment(t.random).then(() => {
        if (!ended && !finished) {
          t.fired = true;
          aborted = true;
          reader.destroy();
        }
      });
    }
    fileSourceFault(t, false, done);
    streamFault(t, rs, writer, done);
    const error = await pipelineDone(zc, rs, writer);
    finished = true;
    await lib.whenClosed(writer);
    // The write end is closed: the reader sees the end of what is buffered.
    await readerClosed;
    return {
      error,
      peerError:
        peerError ?? (ended || aborted ? null : Object.assign(new Error('reader saw no end'), { code: 'NO_END' })),
      aborted,
      received: got.buffer(),
      canary: 0,
    };
  },
  async teardown() {},
};
