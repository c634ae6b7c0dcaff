// What the HTTP-body pairs share: a server that hands each request to the
// transfer its URL names, keep-alive agents, a body flow written as an app
// writes it, a peer going away. Content-Length frames every body here: a
// peer that goes away mid-body leaves the bounds whole (a flow that then ends
// without an error must have all of it); destroy() still lowers them
// (common.js: Node's own path reports no error for what it discards).
'use strict';
const http = require('node:http');
const stream = require('node:stream');
const lib = require('../lib.js');

const KiB = 1024;

/**
 * Body sizes: one in five small (1 B - 64 KiB: bodies the parser may hold
 * whole or in part when pipe() is called), the rest the soak's default.
 */
function bodySize(random) {
  return random() < 0.2 ? 1 + Math.floor(random() * 64 * KiB) : undefined;
}

/** A server handing each request for /t/<id> to the handler transfer <id> registered. */
async function routedServer() {
  const pending = new Map(); // id -> (req, res) => void
  const server = http.createServer((req, res) => {
    const id = Number(req.url.slice(3));
    const h = pending.get(id);
    if (!h) {
      res.statusCode = 404;
      res.end();
      return;
    }
    pending.delete(id);
    h(req, res);
  });
  // A kept-alive connection the server closes as the client reuses it is a
  // race of its own ('socket hang up'), in either mode: not while the soak runs.
  server.keepAliveTimeout = 120_000;
  server.on('error', () => {}); // EMFILE on accept: the client sees its connection fail
  server.on('clientError', (_err, sock) => sock.destroy());
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return {
    server,
    pending,
    port: server.address().port,
    close() {
      server.closeAllConnections();
      return new Promise((r) => server.close(r));
    },
  };
}

/** An Agent that keeps connections for the next transfer: the parser a body leaves behind is used again. */
function keepAlive() {
  return new http.Agent({ keepAlive: true });
}

/** Closes the idle kept-alive connections, both ends: the fds they hold go at once. */
function letGoIdle(agents, servers) {
  for (const agent of agents) for (const list of Object.values(agent.freeSockets)) for (const s of list) s.destroy();
  for (const srv of servers) srv.server.closeIdleConnections();
}

/**
 * src → dst as an app writes it: 'pipeline' is stream.pipeline(); 'pipe' is
 * src.pipe(dst) with the app's own error handling — pipe() passes no error
 * on, so either side failing destroys both. Resolves with the error, or null
 * once dst has finished.
 */
function flow(src, dst, via) {
  return new Promise((resolve) => {
    if (via === 'pipeline') {
      stream.pipeline(lib.pipelineSource(src), dst, (err) => resolve(err ?? null));
      return;
    }
    let settled = false;
    const settle = (err) => {
      if (settled) return;
      settled = true;
      if (err) {
        src.destroy();
        dst.destroy();
      }
      resolve(err);
    };
    // Not finished(src): like pipeline(), it waits for ever on a source
    // destroyed between its end of file and its 'end' (lib.js).
    src.once('close', () => src.readableEnded || settle(src.errored ?? prematureClose()));
    stream.finished(dst, (err) => settle(err ?? null));
    src.pipe(dst);
  });
}

/** A peer going away mid-body: an RST (reset), or a plain close (abort). */
function peerGone(how, sockOrStream) {
  if (how === 'reset') lib.reset(sockOrStream.socket ?? sockOrStream);
  else sockOrStream.destroy();
}

function prematureClose() {
  return Object.assign(new Error('Premature close'), { code: 'ERR_STREAM_PREMATURE_CLOSE' });
}

/** An error of the soak's own making, shaped like Node's (a code). */
function harnessError(code, message) {
  return Object.assign(new Error(message), { code });
}

module.exports = { bodySize, routedServer, keepAlive, letGoIdle, flow, peerGone, harnessError };
