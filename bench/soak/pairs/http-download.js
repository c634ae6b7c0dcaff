// HTTP response body → file: a server sends the content with Content-Length;
// the client asks with http.get over a keep-alive Agent and stores the body
// with res.pipe(fs.createWriteStream(f)) or stream.pipeline(res, ws). The
// client's flow is the code under test.
'use strict';
const fs = require('node:fs');
const http = require('node:http');
const path = require('node:path');
const lib = require('../lib.js');
const { reusedFd, streamFault } = require('./common.js');
const { bodySize, routedServer, keepAlive, letGoIdle, flow, peerGone, harnessError } = require('./http-common.js');
const { send } = require('./pipe-file.js');

module.exports = {
  key: 'http-download',
  name: 'HTTP response body → file',
  fileDestination: true,
  reusedFd: true,
  // reset-src / abort-src: the server goes away mid-body (RST, or a plain close).
  faults: ['none', 'reset-src', 'abort-src', 'destroy-src', 'destroy-dst', 'unpipe', 'slow'],
  size: bodySize,
  async setup({ zc }) {
    const previous = zc.configure({ minHttpBodyBytes: 0, minSplicedBodyBytes: 0 }); // small bodies too
    return { srv: await routedServer(), agent: keepAlive(), restore: () => zc.configure(previous) };
  },
  async transfer(st, t) {
    const via = t.random() < 0.5 ? 'pipe' : 'pipeline';
    const dest = path.join(t.destDir, `d${t.id}`);
    t.cleanup ??= [];
    t.cleanup.push(dest);
    let finished = false;
    const done = () => finished;
    // A server that will go away sends in pieces, so that there is a middle of the body.
    const gone = t.fault === 'reset-src' || t.fault === 'abort-src';
    let server = null; // the handler's request and response, once it runs
    st.srv.pending.set(t.id, (req, res) => {
      server = { req, res, sock: req.socket };
      t.track(req, res);
      res.on('error', () => {}); // writes after the client went away
      res.setHeader('content-length', t.size);
      send(res, Buffer.from(lib.pattern(t.id, 0, t.size)), t.random, t.fault === 'slow' || gone);
    });
    const creq = http.get({ port: st.srv.port, host: '127.0.0.1', path: `/t/${t.id}`, agent: st.agent });
    t.track(creq);
    let peerError = null;
    creq.on('error', (e) => {
      peerError ??= e;
    });
    // The client's flow, once the response's headers are in.
    const stored = new Promise((resolve) => {
      // The request closes at its response's end, or without one (the flow never ran).
      creq.on('close', () => creq.res || resolve(null));
      creq.on('response', (res) => {
        res.on('error', () => {}); // late errors, after the flow has reported
        if (res.statusCode !== 200) peerError ??= harnessError('HTTP_STATUS', `status ${res.statusCode}`);
        // fs is patched by the register hook: a zerocopy WriteStream (unless disabled).
        const ws = fs.createWriteStream(dest);
        t.track(res, ws);
        const canary = reusedFd(t, ws, done);
        // The server goes away at a random moment of the body: before its
        // last byte, or the client could still read the whole response, hand
        // the connection on to another transfer, and that one would see it go.
        if (gone && server) {
          const { sock } = server;
          lib.moment(t.random).then(() => {
            if (done() || server.res.writableEnded || sock.destroyed) return;
            t.fired = true;
            peerGone(t.fault === 'reset-src' ? 'reset' : 'abort', sock);
          });
        }
        streamFault(t, res, ws, done, via === 'pipe');
        flow(res, ws, via).then((error) => resolve({ error, res, ws, canary }));
      });
    });
    const s = await stored;
    finished = true;
    st.srv.pending.delete(t.id);
    await Promise.all([creq, ...(s ? [s.res, s.ws] : []), ...(server ? [server.res] : [])].map(lib.whenClosed));
    return {
      error: s ? s.error : null,
      // The client's own errors are the fault's when the server went away (its
      // flow still must report one, unless it has the whole body).
      peerError: s ? (t.fired && gone ? null : peerError) : (peerError ?? harnessError('NO_RESPONSE', 'no response')),
      aborted: false,
      canary: s ? s.canary() : 0,
      received: () => {
        try {
          return fs.readFileSync(dest);
        } catch {
          return Buffer.alloc(0);
        }
      },
    };
  },
  quiesce(st) {
    letGoIdle([st.agent], [st.srv]);
  },
  async teardown(st) {
    st.agent.destroy();
    await st.srv.close();
    st.restore();
  },
};
