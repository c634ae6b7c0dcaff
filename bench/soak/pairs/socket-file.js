// TCP socket → file (splice through a pooled intermediate pipe). A client in
// this process sends the content; the server's end of the connection is the
// source.
'use strict';
const fs = require('node:fs');
const net = require('node:net');
const path = require('node:path');
const lib = require('../lib.js');
const { streamFault, reusedFd, pipelineDone } = require('./common.js');
const { send } = require('./pipe-file.js');

/** A client that sends content and may reset its connection (the source's peer). */
function sender(port, t) {
  const client = net.connect(port, '127.0.0.1');
  client.on('error', () => {});
  client.on('data', () => {});
  const connected = new Promise((resolve) => {
    client.once('connect', () => resolve(client.localPort));
    client.once('close', () => resolve(null));
  });
  // A client that will reset never ends (see lib.reset): its RST, whenever
  // it comes, is the source's peer going away.
  client.once('connect', () =>
    send(client, Buffer.from(lib.pattern(t.id, 0, t.size)), t.random, t.fault === 'slow', t.fault !== 'reset-src'),
  );
  // The reset comes at a random moment once the server has its end: a
  // connection reset before accept() never reaches the code under test.
  const armReset = () => {
    if (t.fault !== 'reset-src') return;
    lib.moment(t.random).then(() => {
      if (client.destroyed) return;
      // The kernel drops what the RST overtakes: what the source then
      // delivers, even as a clean end, may be any right prefix.
      t.fired = true;
      t.bounds.lo = 0;
      lib.reset(client);
    });
  };
  return { client, connected, armReset };
}

async function listening(onSocket) {
  const rv = lib.rendezvous();
  // Connections nobody claimed (their other end went away first) are
  // destroyed at teardown: a paused socket never sees its FIN.
  const conns = new Set();
  const server = net.createServer((s) => {
    conns.add(s);
    s.on('close', () => conns.delete(s));
    s.on('error', () => {});
    onSocket?.(s);
    rv.arrive(s);
  });
  server.closeAll = () => {
    for (const s of conns) s.destroy();
  };
  server.on('error', () => {}); // EMFILE on accept: the client sees its connection fail
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return { server, rv, port: server.address().port };
}

module.exports = {
  key: 'socket-file',
  name: 'socket → file',
  fileDestination: true,
  reusedFd: true,
  faults: ['none', 'reset-src', 'destroy-src', 'destroy-dst', 'unpipe', 'slow'],
  sender,
  listening,
  async setup() {
    return listening();
  },
  async transfer(srv, t) {
    const { zc } = t;
    const { client, connected, armReset } = sender(srv.port, t);
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
    // The server's end may never come (EMFILE on accept: libuv accepts and
    // closes it): the client then sees its connection end first.
    const src = await Promise.race([
      srv.rv.expect(port),
      lib.whenClosed(client).then(() => new Promise((r) => setTimeout(() => r(null), 300))),
    ]);
    if (!src)
      return {
        error: null,
        peerError: Object.assign(new Error('server never accepted'), { code: 'NO_ACCEPT' }),
        aborted: false,
        received: Buffer.alloc(0),
        canary: 0,
      };
    armReset();
    const dest = path.join(t.destDir, `d${t.id}`);
    t.cleanup ??= [];
    t.cleanup.push(dest);
    const ws = zc.createWriteStream(dest);
    src.on('error', () => {}); // late errors, after pipeline() has reported
    t.track(src, ws);
    let finished = false;
    const done = () => finished;
    const canary = reusedFd(t, ws, done);
    streamFault(t, src, ws, done);
    t.stage = 'pipeline';
    const error = await pipelineDone(zc, src, ws);
    t.stage = 'closing';
    finished = true;
    if (!client.destroyed) client.destroy();
    await Promise.all([src, ws, client].map(lib.whenClosed));
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
  async teardown(srv) {
    srv.server.closeAll();
    await new Promise((r) => srv.server.close(r));
  },
};
