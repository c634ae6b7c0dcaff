// file → TCP socket and file → Unix socket (sendfile). Each connection starts
// with an 8-byte header (magic + transfer id) the client writes before
// piping, so the receiver knows whose bytes it holds; the fast path must let
// that queued write go first.
'use strict';
const net = require('node:net');
const path = require('node:path');
const lib = require('../lib.js');
const { fileSourceFault, streamFault, pipelineDone } = require('./common.js');

const MAGIC = 0x4b53435a; // 'ZCSK'

/** A server whose connections announce their transfer id in an 8-byte header. */
async function headerServer(listen) {
  const receivers = new Map(); // id -> attach(socket, firstChunk)
  const server = net.createServer((s) => {
    let head = Buffer.alloc(0);
    s.on('error', () => {});
    const onData = (d) => {
      head = Buffer.concat([head, d]);
      if (head.length < 8) return;
      s.removeListener('data', onData);
      s.pause();
      const id = head.readUInt32LE(4);
      const attach = head.readUInt32LE(0) === MAGIC ? receivers.get(id) : null;
      if (!attach) {
        s.destroy();
        return;
      }
      receivers.delete(id);
      attach(s, head.subarray(8));
    };
    s.on('data', onData);
  });
  server.on('error', () => {}); // EMFILE on accept: the client sees its connection fail
  await listen(server);
  return { server, receivers };
}

function header(id) {
  const h = Buffer.alloc(8);
  h.writeUInt32LE(MAGIC, 0);
  h.writeUInt32LE(id, 4);
  return h;
}

/**
 * The receiving end of one transfer: collects, and applies the receiver's
 * faults (reset: resetAndDestroy() at a random moment; slow: pauses).
 */
function receiveFor(srv, t) {
  let attached = false;
  const result = new Promise((resolve) => {
    srv.receivers.set(t.id, (s, first) => {
      attached = true;
      const chunks = [first];
      let bytes = first.length;
      let aborted = false,
        error = null,
        ended = false;
      s.on('data', (d) => {
        chunks.push(d);
        bytes += d.length;
        if (t.fault === 'slow' && t.random() < 0.3) {
          s.pause();
          setTimeout(() => s.resume(), Math.floor(t.random() * 4));
        }
      });
      s.on('end', () => {
        ended = true;
      });
      s.on('error', (e) => {
        error = e;
      });
      s.on('close', () => resolve({ received: Buffer.concat(chunks, bytes), aborted, error, ended }));
      s.resume();
      if (t.fault === 'reset') {
        lib.moment(t.random).then(() => {
          if (s.destroyed || ended) return;
          t.fired = true;
          aborted = true;
          // (A Unix socket has no RST: closing it with bytes unread is its reset.)
          lib.reset(s);
        });
      }
    });
  });
  return {
    result,
    get attached() {
      return attached;
    },
    forget: () => srv.receivers.delete(t.id),
  };
}

function make(kind) {
  return {
    key: kind === 'tcp' ? 'file-tcp' : 'file-unix',
    name: kind === 'tcp' ? 'file → TCP' : 'file → Unix socket',
    fileSource: true,
    faults: ['none', 'reset', 'destroy-src', 'destroy-dst', 'unpipe', 'slow', 'truncate', 'grow'],
    async setup({ dir }) {
      const sockPath = path.join(dir, `${kind}-${process.pid}.sock`);
      const srv = await headerServer(
        (server) =>
          new Promise((r) => (kind === 'tcp' ? server.listen(0, '127.0.0.1', r) : server.listen(sockPath, r))),
      );
      srv.connect = () =>
        kind === 'tcp' ? net.connect(srv.server.address().port, '127.0.0.1') : net.connect(sockPath);
      return srv;
    },
    async transfer(srv, t) {
      const { zc } = t;
      const recv = receiveFor(srv, t);
      const sock = srv.connect();
      sock.on('error', () => {}); // after pipeline() is done (a late RST); the transfer's error is pipeline's
      let headerSent = false;
      sock.write(header(t.id), (err) => {
        if (!err) headerSent = true;
      });
      const rs = zc.createReadStream(t.srcPath);
      t.track(rs, sock);
      let finished = false;
      const done = () => finished;
      fileSourceFault(t, false, done);
      streamFault(t, rs, sock, done);
      const error = await pipelineDone(zc, rs, sock);
      finished = true;
      await lib.whenClosed(sock);
      // A connection whose header never left is never attributed: nothing arrived.
      let r;
      if (recv.attached || headerSent) {
        let timer;
        r = await Promise.race([
          recv.result,
          new Promise((res) => {
            timer = setTimeout(() => res(null), 2000);
          }),
        ]);
        clearTimeout(timer);
      }
      if (!r) {
        recv.forget();
        r = { received: Buffer.alloc(0), aborted: false, error: null, ended: false, lostHeader: headerSent };
      }
      return {
        error,
        peerError:
          r.error ??
          (r.ended || r.aborted ? null : Object.assign(new Error('receiver saw no end'), { code: 'NO_END' })),
        aborted: r.aborted,
        received: r.received,
        canary: 0,
      };
    },
    async teardown(srv) {
      await new Promise((r) => srv.server.close(r));
    },
  };
}

module.exports = { tcp: make('tcp'), unix: make('unix') };
