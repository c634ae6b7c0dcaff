// HTTP request body → file: a client PUTs the content with Content-Length
// over a keep-alive Agent; the server's handler stores it with
// req.pipe(fs.createWriteStream(f)) or stream.pipeline(req, ws) and answers
// 200 once the file holds it. The server's flow is the code under test.
'use strict';
const fs = require('node:fs');
const http = require('node:http');
const path = require('node:path');
const lib = require('../lib.js');
const { reusedFd, streamFault } = require('./common.js');
const { bodySize, routedServer, keepAlive, letGoIdle, flow, peerGone, harnessError } = require('./http-common.js');
const { send } = require('./pipe-file.js');

module.exports = {
  key: 'http-upload',
  name: 'HTTP request body → file',
  fileDestination: true,
  reusedFd: true,
  // reset-src / abort-src: the client goes away mid-body (RST, or a plain close).
  faults: ['none', 'reset-src', 'abort-src', 'destroy-src', 'destroy-dst', 'unpipe', 'slow'],
  size: bodySize,
  async setup({ zc }) {
    // Small bodies too: the soak's sizes say which go to the kernel.
    const previous = zc.configure({ minHttpBodyBytes: 0, minSplicedBodyBytes: 0 });
    return { srv: await routedServer(), agent: keepAlive(), restore: () => zc.configure(previous) };
  },
  async transfer(st, t) {
    const via = t.random() < 0.5 ? 'pipe' : 'pipeline';
    const dest = path.join(t.destDir, `d${t.id}`);
    t.cleanup ??= [];
    t.cleanup.push(dest);
    let finished = false;
    const done = () => finished;
    const creq = http.request({
      port: st.srv.port,
      host: '127.0.0.1',
      method: 'PUT',
      path: `/t/${t.id}`,
      agent: st.agent,
      headers: { 'content-length': t.size },
    });
    t.track(creq);
    // The client goes away at a random moment once the handler has the request.
    const armPeerFault = () => {
      if (t.fault !== 'reset-src' && t.fault !== 'abort-src') return;
      lib.moment(t.random).then(() => {
        if (done() || creq.destroyed || creq.res) return;
        t.fired = true;
        peerGone(t.fault === 'reset-src' ? 'reset' : 'abort', t.fault === 'reset-src' ? creq.socket : creq);
      });
    };
    const served = new Promise((resolve) => {
      st.srv.pending.set(t.id, (req, res) => {
        // fs is patched by the register hook: a zerocopy WriteStream (unless disabled).
        const ws = fs.createWriteStream(dest);
        t.track(req, ws, res);
        req.on('error', () => {}); // late errors, after the flow has reported
        const canary = reusedFd(t, ws, done);
        armPeerFault();
        streamFault(t, req, ws, done, via === 'pipe');
        flow(req, ws, via).then((error) => {
          // The app's answer: 200 once stored; after an error the connection
          // goes, with what is left of the body unread.
          if (error) res.destroy();
          else res.end('stored');
          resolve({ error, req, ws, res, canary });
        });
      });
    });
    const client = new Promise((resolve) => {
      let peerError = null,
        status = 0;
      creq.on('error', (e) => {
        peerError ??= e;
      });
      creq.on('response', (res) => {
        status = res.statusCode;
        res.on('error', (e) => {
          peerError ??= e;
        });
        res.resume();
      });
      creq.on('close', () => resolve({ peerError, status }));
      send(creq, Buffer.from(lib.pattern(t.id, 0, t.size)), t.random, t.fault === 'slow');
    });
    const c = await client;
    // A request that never reached the handler (EMFILE, or gone first) has nothing served.
    const s = st.srv.pending.delete(t.id) ? null : await served;
    finished = true;
    if (s) await Promise.all([s.req, s.ws, s.res].map(lib.whenClosed));
    // The client's own errors are the fault's when it went away itself.
    const own = t.fired && (t.fault === 'reset-src' || t.fault === 'abort-src');
    return {
      error: s ? s.error : null,
      peerError: s
        ? own
          ? null
          : (c.peerError ?? (c.status === 200 ? null : harnessError('HTTP_STATUS', `status ${c.status}`)))
        : (c.peerError ?? harnessError('NO_REQUEST', 'the request never reached the handler')),
      aborted: false,
      canary: s ? s.canary() : 0,
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
  quiesce(st) {
    letGoIdle([st.agent], [st.srv]);
  },
  async teardown(st) {
    st.agent.destroy();
    await st.srv.close();
    st.restore();
  },
};
