// HTTP bodies through a proxy, both directions in every transfer: client →
// proxy → origin, all in this process, keep-alive Agents on both legs. The
// client PUTs the content with Content-Length; the proxy forwards it with
// http.request (req → proxyReq: a request body into a ClientRequest); the
// origin answers with what it received; the proxy passes the answer on
// (proxyRes → res: a response body into a ServerResponse). The proxy's two
// flows are the code under test; what the client gets back is judged, so a
// byte lost or misplaced on either leg shows.
'use strict';
const http = require('node:http');
const lib = require('../lib.js');
const { bodySize, routedServer, keepAlive, letGoIdle, flow, peerGone, harnessError } = require('./http-common.js');
const { streamFault } = require('./common.js');
const { send } = require('./pipe-file.js');

const noop = () => {};

/**
 * The origin's handler: collects the body (slow: pausing now and then), then
 * sends it back with its Content-Length (pieces: in paced pieces).
 */
function echo(t, slow, pieces, onRequest) {
  return (req, res) => {
    t.track(req, res);
    req.on('error', noop);
    res.on('error', noop);
    onRequest(req, res);
    const got = lib.collect(req, t.random, slow);
    req.on('end', () => {
      const body = got.buffer();
      res.setHeader('content-length', body.length);
      send(res, body, t.random, pieces);
    });
  };
}

module.exports = {
  key: 'http-proxy',
  name: 'HTTP bodies through a proxy',
  // reset / abort: the client goes away (RST, or a plain close); reset-origin:
  // the origin resets; destroy-src / destroy-dst / unpipe: on one leg, chosen
  // per transfer; slow: the client and the origin send and read in pieces.
  faults: ['none', 'reset', 'abort', 'reset-origin', 'destroy-src', 'destroy-dst', 'unpipe', 'slow'],
  size: bodySize,
  async setup({ zc }) {
    const previous = zc.configure({ minHttpBodyBytes: 0, minSplicedBodyBytes: 0 }); // small bodies too
    return {
      proxy: await routedServer(),
      origin: await routedServer(),
      front: keepAlive(),
      upstream: keepAlive(),
      restore: () => zc.configure(previous),
    };
  },
  async transfer(st, t) {
    const via = t.random() < 0.5 ? 'pipe' : 'pipeline';
    const leg = t.random() < 0.5 ? 'up' : 'down';
    const slow = t.fault === 'slow';
    // A fault on the response's way fires before the origin's last byte, or
    // the client could still read the whole response and hand the connection
    // on to another transfer, which would then see it go: the origin sends
    // in pieces, so that there is a middle of the body.
    const downFault =
      t.fault === 'reset-origin' ||
      (leg === 'down' && (t.fault === 'destroy-src' || t.fault === 'destroy-dst' || t.fault === 'unpipe'));
    let finished = false;
    const done = () => finished;
    const creq = http.request({
      port: st.proxy.port,
      host: '127.0.0.1',
      method: 'PUT',
      path: `/t/${t.id}`,
      agent: st.front,
      headers: { 'content-length': t.size },
    });
    t.track(creq);
    let peerError = null,
      aborted = false,
      complete = false,
      got = null,
      pres = null, // the proxy's response from the origin
      origin = []; // the origin's request and response, once its handler runs
    const originEnded = () => origin[1]?.writableEnded === true;
    creq.on('error', (e) => {
      peerError ??= e;
    });

    // Faults by a peer act on its raw socket only while it carries this
    // exchange: once the response is complete the Agent may hand it on.
    const armClientFault = () => {
      if (t.fault !== 'reset' && t.fault !== 'abort') return;
      lib.moment(t.random).then(() => {
        if (done() || creq.destroyed || creq.res?.complete) return;
        t.fired = true;
        aborted = true;
        peerGone(t.fault, t.fault === 'reset' ? creq.socket : creq);
      });
    };
    st.origin.pending.set(
      t.id,
      echo(t, slow, slow || downFault, (req, res) => {
        origin = [req, res];
        if (t.fault !== 'reset-origin') return;
        const sock = req.socket;
        lib.moment(t.random).then(() => {
          if (done() || sock.destroyed || originEnded()) return;
          t.fired = true;
          lib.reset(sock);
        });
      }),
    );

    const served = new Promise((resolve) => {
      st.proxy.pending.set(t.id, (req, res) => {
        t.track(req, res);
        req.on('error', noop); // late errors, after the flows have reported
        res.on('error', noop);
        armClientFault();
        const preq = http.request({
          port: st.origin.port,
          host: '127.0.0.1',
          method: 'PUT',
          path: req.url,
          agent: st.upstream,
          headers: { 'content-length': req.headers['content-length'] },
        });
        t.track(preq);
        let preqError = null;
        preq.on('error', (e) => {
          preqError ??= e;
        });
        const stage = new Set(); // for --debug-hung: which steps the proxy took
        t.stage = () => `${leg} leg, ${via}: ${[...stage].join(', ')}`;
        const up = flow(req, preq, via);
        up.then((e) => stage.add(`up ${e?.code ?? 'done'}`));
        if (leg === 'up') streamFault(t, req, preq, done, via === 'pipe');
        const down = new Promise((resolveDown) => {
          // The request closes at its response's end, or without one.
          preq.on('close', () => preq.res || resolveDown(preqError ?? harnessError('NO_RESPONSE', 'no response')));
          preq.on('response', (r) => {
            stage.add(`response (res destroyed: ${res.destroyed})`);
            pres = r;
            t.track(pres);
            pres.on('error', noop);
            res.writeHead(pres.statusCode, { 'content-length': pres.headers['content-length'] });
            if (leg === 'down') streamFault(t, pres, res, () => done() || originEnded(), via === 'pipe');
            flow(pres, res, via).then((e) => {
              stage.add(`down ${e?.code ?? 'done'}`);
              resolveDown(e);
            });
          });
        });
        Promise.all([up, down]).then(([upError, downError]) => {
          // The proxy's answer to a failed leg: both connections go. (pipeline()
          // may leave its source alone: an origin response read to its end of
          // file, paused, would otherwise hold its connection for ever.)
          if (upError || downError) for (const x of [res, req, preq, pres]) x?.destroy();
          resolve({ error: upError ?? downError, streams: [req, res, preq, ...(pres ? [pres] : [])] });
        });
      });
    });

    await new Promise((resolve) => {
      creq.on('response', (res) => {
        t.track(res);
        res.on('error', (e) => {
          peerError ??= e;
        });
        if (res.statusCode !== 200) peerError ??= harnessError('HTTP_STATUS', `status ${res.statusCode}`);
        got = lib.collect(res, t.random, slow);
        res.on('end', () => {
          complete = res.complete;
        });
        res.on('close', resolve);
      });
      creq.on('close', () => creq.res || resolve());
      send(creq, Buffer.from(lib.pattern(t.id, 0, t.size)), t.random, slow);
    });
    // A request that never reached the proxy's handler has nothing served.
    const s = st.proxy.pending.delete(t.id) ? null : await served;
    finished = true;
    st.origin.pending.delete(t.id);
    await Promise.all([creq, ...(creq.res ? [creq.res] : []), ...(s ? s.streams : []), ...origin].map(lib.whenClosed));
    return {
      error: s ? s.error : null,
      // The client's own errors are the fault's when it went away itself.
      peerError: aborted
        ? null
        : s
          ? (peerError ?? (complete ? null : harnessError('INCOMPLETE', 'response not complete')))
          : (peerError ?? harnessError('NO_REQUEST', 'the request never reached the proxy')),
      aborted,
      received: got ? got.buffer() : Buffer.alloc(0),
      canary: 0,
    };
  },
  quiesce(st) {
    letGoIdle([st.front, st.upstream], [st.proxy, st.origin]);
  },
  async teardown(st) {
    st.front.destroy();
    st.upstream.destroy();
    await Promise.all([st.proxy.close(), st.origin.close()]);
    st.restore();
  },
};
