// socket → socket: a TCP proxy in this process (splice in, splice out).
// client → [proxy: server side A → B] → sink; all three ends are here.
'use strict';
const net = require('node:net');
const lib = require('../lib.js');
const { streamFault, pipelineDone } = require('./common.js');
const { sender, listening } = require('./socket-file.js');

module.exports = {
  key: 'proxy',
  name: 'socket → socket (proxy)',
  faults: ['none', 'reset', 'reset-src', 'destroy-src', 'destroy-dst', 'unpipe', 'slow'],
  async setup() {
    return { front: await listening(), sink: await listening((s) => s.pause()) };
  },
  async transfer(st, t) {
    const { zc } = t;
    const { client, connected, armReset } = sender(st.front.port, t);
    t.track(client);
    const port = await connected;
    if (port === null) {
      await lib.whenClosed(client);
      return {
        error: null,
        peerError: Object.assign(new Error('client could not connect'), { code: 'NO_CONNECT' }),
        aborted: false,
        received: Buffer.alloc(0),
        canary: 0,
      };
    }
    const a = await Promise.race([
      st.front.rv.expect(port),
      lib.whenClosed(client).then(() => new Promise((r) => setTimeout(() => r(null), 300))),
    ]);
    if (!a)
      return {
        error: null,
        peerError: Object.assign(new Error('proxy never accepted'), { code: 'NO_ACCEPT' }),
        aborted: false,
        received: Buffer.alloc(0),
        canary: 0,
      };
    armReset();
    const b = net.connect(st.sink.port, '127.0.0.1');
    a.on('error', () => {});
    b.on('error', () => {}); // late errors, after pipeline() has reported
    t.track(a, b);
    // The sink's end of B, found by B's local port once B has connected.
    let aborted = false,
      peerError = null,
      ended = false;
    const sinkSide = new Promise((resolve) => {
      b.once('connect', () => st.sink.rv.expect(b.localPort).then(resolve));
      b.once('close', () => {
        if (b.localPort === undefined) resolve(null);
      });
    });
    let finished = false;
    const done = () => finished;
    const got = sinkSide.then((s) => {
      if (!s) return null;
      t.track(s);
      s.on('error', (e) => {
        peerError = e;
      });
      s.on('end', () => {
        ended = true;
      });
      const c = lib.collect(s, t.random, t.fault === 'slow');
      s.resume();
      if (t.fault === 'reset') {
        lib.moment(t.random).then(() => {
          if (!s.destroyed && !ended) {
            t.fired = true;
            aborted = true;
            lib.reset(s);
          }
        });
      }
      return lib.whenClosed(s).then(() => c.buffer());
    });
    streamFault(t, a, b, done);
    const error = await pipelineDone(zc, a, b);
    finished = true;
    if (!client.destroyed) client.destroy();
    await Promise.all([a, b, client].map(lib.whenClosed));
    let timer;
    const received = await Promise.race([
      got,
      new Promise((r) => {
        timer = setTimeout(() => r(undefined), 2000);
      }),
    ]);
    clearTimeout(timer);
    return {
      error,
      peerError:
        peerError ??
        (received === undefined
          ? Object.assign(new Error('sink never closed'), { code: 'NO_CLOSE' })
          : received === null
            ? Object.assign(new Error('sink never connected'), { code: 'NO_CONNECT' })
            : ended || aborted
              ? null
              : Object.assign(new Error('sink saw no end'), { code: 'NO_END' })),
      aborted,
      received: received ?? Buffer.alloc(0),
      canary: 0,
    };
  },
  async teardown(st) {
    await Promise.all(
      [st.front, st.sink].map((l) => {
        l.server.closeAll();
        return new Promise((r) => l.server.close(r));
      }),
    );
  },
};
