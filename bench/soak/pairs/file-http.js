// file → HTTP response: http.createServer under the register hook, the
// handler piping fs.createReadStream(file, { start, end }) into the response
// with its Content-Length, as static-file servers do. The client asks with
// Connection: close, so a short body shows as an aborted response.
'use strict';
const fs = require('node:fs');
const http = require('node:http');
const stream = require('node:stream');
const lib = require('../lib.js');
const { fileSourceFault } = require('./common.js');

module.exports = {
  key: 'file-http',
  name: 'file → HTTP response',
  fileSource: true,
  faults: ['none', 'reset', 'destroy-src', 'destroy-dst', 'slow', 'truncate', 'grow'],
  async setup() {
    const pending = new Map(); // id -> handler
    const server = http.createServer((req, res) => {
      const h = pending.get(Number(req.url.slice(3)));
      if (!h) {
        res.statusCode = 404;
        res.end();
        return;
      }
      pending.delete(Number(req.url.slice(3)));
      h(req, res);
    });
    server.on('error', () => {});
    server.on('clientError', (_err, sock) => sock.destroy());
    await new Promise((r) => server.listen(0, '127.0.0.1', r));
    return { server, pending, port: server.address().port };
  },
  async transfer(st, t) {
    let finished = false;
    const done = () => finished;
    // Server side: the library's streams and the error its pipeline reports.
    const served = new Promise((resolve) => {
      st.pending.set(t.id, (_req, res) => {
        res.setHeader('Content-Type', 'application/octet-stream');
        res.setHeader('Content-Length', t.size);
        // fs is patched by the register hook: this is a zerocopy ReadStream (unless disabled).
        const rs = fs.createReadStream(t.srcPath, { start: 0, end: t.size - 1 });
        t.track(rs, res);
        fileSourceFault(t, true, done);
        if (t.fault === 'destroy-src' || t.fault === 'destroy-dst') {
          lib.moment(t.random).then(() => {
            if (done() || res.writableFinished) return;
            t.fired = true;
            t.bounds.lo = 0; // destroy() discards what the streams hold (see common.js)
            (t.fault === 'destroy-src' ? rs : res).destroy();
          });
        }
        stream.pipeline(lib.pipelineSource(rs), res, (err) => resolve({ error: err ?? null, res, rs }));
      });
    });
    // Client side: what arrived, and whether it ended as a complete response.
    const client = new Promise((resolve) => {
      const chunks = [];
      let bytes = 0,
        aborted = false,
        peerError = null,
        complete = false;
      const req = http.get({
        port: st.port,
        host: '127.0.0.1',
        path: `/t/${t.id}`,
        headers: { connection: 'close' },
        agent: false,
      });
      const finish = () => resolve({ received: Buffer.concat(chunks, bytes), aborted, peerError, complete });
      req.on('error', (e) => {
        peerError ??= e;
        finish();
      });
      req.on('response', (res) => {
        if (res.statusCode !== 200)
          peerError = Object.assign(new Error(`status ${res.statusCode}`), { code: 'HTTP_STATUS' });
        res.on('data', (d) => {
          chunks.push(d);
          bytes += d.length;
          if (t.fault === 'slow' && t.random() < 0.3) {
            res.pause();
            setTimeout(() => res.resume(), Math.floor(t.random() * 4));
          }
        });
        res.on('end', () => {
          complete = !res.aborted && res.complete;
        });
        res.on('error', (e) => {
          peerError ??= e;
        });
        res.on('close', finish);
        if (t.fault === 'reset') {
          lib.moment(t.random).then(() => {
            if (complete || res.complete || !req.socket || req.socket.destroyed) return;
            t.fired = true;
            aborted = true;
            lib.reset(req.socket);
          });
        }
      });
    });
    const c = await client;
    // A request that never reached the handler (EMFILE) has nothing served.
    const s = st.pending.delete(t.id) ? null : await served;
    finished = true;
    if (s) await Promise.all([lib.whenClosed(s.rs), lib.whenClosed(s.res)]);
    return {
      error: s ? s.error : null,
      peerError:
        c.peerError ??
        (c.complete || c.aborted ? null : Object.assign(new Error('response not complete'), { code: 'INCOMPLETE' })),
      aborted: c.aborted,
      received: c.received,
      canary: 0,
    };
  },
  async teardown(st) {
    st.server.closeAllConnections?.();
    await new Promise((r) => st.server.close(r));
  },
};
