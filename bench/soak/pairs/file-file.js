// file → file: our ReadStream into our WriteStream (copy_file_range).
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { fileSourceFault, streamFault, reusedFd, pipelineDone } = require('./common.js');

module.exports = {
  key: 'file-file',
  name: 'file → file',
  fileSource: true,
  fileDestination: true,
  reusedFd: true,
  faults: ['none', 'destroy-src', 'destroy-dst', 'unpipe', 'truncate', 'grow'],
  async setup() {
    return {};
  },
  async transfer(_state, t) {
    const { zc } = t;
    const dest = path.join(t.destDir, `d${t.id}`);
    t.cleanup ??= [];
    t.cleanup.push(dest);
    const rs = zc.createReadStream(t.srcPath);
    const ws = zc.createWriteStream(dest);
    t.track(rs, ws);
    let finished = false;
    const done = () => finished;
    const canary = reusedFd(t, ws, done);
    fileSourceFault(t, false, done);
    streamFault(t, rs, ws, done);
    const error = await pipelineDone(zc, rs, ws);
    finished = true;
    await Promise.all([rs, ws].map((s) => new Promise((r) => (s.closed ? r() : s.once('close', r)))));
    return {
      error,
      peerError: null,
      aborted: false,
      canary: canary(),
      // Read later: in the EMFILE phase the harness must not need an fd meanwhile.
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
