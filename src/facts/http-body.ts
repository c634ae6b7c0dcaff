// An HTTP/1 message body as a source: a server's request (uploads) or a
// client's response (downloads), an http.IncomingMessage on a plain socket,
// framed by Content-Length. What may be taken from the kernel is exactly the
// bytes the parser has not seen yet; everything else about the message stays
// Node's. Every decision particular to a body source lives here.
import * as http from 'node:http';
import * as net from 'node:net';
import type { Readable } from 'node:stream';
import { takeOffShadow } from '../engine/shapes';
import {
  continueSent,
  dataEmitted,
  type HttpParser,
  httpParserOf,
  lenientParser,
  readableState,
  socketCurrentResponse,
  socketHandle,
  socketPausedByServer,
} from './node-internals';
import { socketSourceDecline } from './source';

export function isIncomingMessage(src: Readable): src is http.IncomingMessage & Readable {
  return src instanceof http.IncomingMessage;
}

export interface BodySource {
  msg: http.IncomingMessage;
  sock: net.Socket;
  parser: HttpParser;
  kOnBody: number;
  /**
   * Gives the parser bytes as Node's own reads would: the server's parser
   * executes them; the client's are passed to the socket's 'data' listener
   * (Node's socketOnData), which executes them and, once the response is
   * complete, takes its listeners off the socket and frees the parser. False
   * when the bytes were not all accepted (then the socket is destroyed).
   */
  feed(chunk: Buffer): boolean;
  /** The server's parser reads the handle itself; the client's is fed from 'data'. */
  side: 'server' | 'client';
  /** The body's Content-Length. */
  length: number;
}

const DIGITS = /^[0-9]+$/;

/**
 * The one Content-Length, with no Transfer-Encoding, read from the raw header
 * lines (Node's `headers` keeps the first of duplicates); else why not.
 */
export function contentLength(msg: http.IncomingMessage): number | string {
  let cl: string | null = null;
  const raw = msg.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) {
    // Lower-cased only at the two lengths that matter: every message pays
    // this look, and a new string per header name is garbage per request.
    const len = raw[i].length;
    if (len !== 14 && len !== 17) continue;
    const name = raw[i].toLowerCase();
    if (name === 'transfer-encoding') return 'Transfer-Encoding (chunked) body';
    if (name === 'content-length') {
      if (cl !== null) return 'several Content-Length headers';
      cl = raw[i + 1].trim();
    }
  }
  if (cl === null) return 'no Content-Length';
  if (!DIGITS.test(cl)) return 'Content-Length not a number';
  const n = Number(cl);
  return Number.isSafeInteger(n) ? n : 'Content-Length too large';
}

const NO_BODY_STATUS = new Set([204, 304]);

/**
 * A message whose remaining body the kernel may take, or why not. Asked on a
 * later turn than the one the parser delivered the headers in, never from
 * inside its execute().
 */
export function describeBody(msg: http.IncomingMessage): BodySource | { declined: string } {
  if (msg.complete) return { declined: 'body complete' };
  if (msg.destroyed) return { declined: 'message destroyed' };
  const sock = msg.socket;
  if (!(sock instanceof net.Socket)) return { declined: 'message socket is not a net.Socket' };
  const unfit = socketSourceDecline(sock);
  if (unfit) return { declined: unfit };
  const side = typeof msg.method === 'string' ? 'server' : 'client';
  if (side === 'server') {
    if (msg.method === 'CONNECT') return { declined: 'CONNECT' };
    const expect = msg.headers.expect;
    if (expect !== undefined) {
      const res = socketCurrentResponse(sock) as { req?: unknown } | null;
      if (!res || res.req !== msg || !continueSent(res)) return { declined: 'Expect: 100-continue not answered' };
    }
  } else {
    const status = msg.statusCode ?? 0;
    const method = (msg as unknown as { req?: { method?: string } }).req?.method;
    if (method === 'HEAD' || status < 200 || NO_BODY_STATUS.has(status))
      return { declined: 'response has no body (HEAD, 1xx, 204, 304)' };
  }
  if (msg.headers.upgrade !== undefined || msg.headers.connection?.toLowerCase().includes('upgrade'))
    return { declined: 'upgrade' };
  const length = contentLength(msg);
  if (typeof length === 'string') return { declined: length };
  if (lenientParser(sock, msg)) return { declined: 'lenient HTTP parser' };
  const p = httpParserOf(sock);
  if (!p || p.parser.incoming !== msg) return { declined: 'unknown HTTP parser state' };
  if (side === 'server') {
    if (!p.consumed || !socketHandle(sock)) return { declined: 'server parser does not read the socket itself' };
    if (socketPausedByServer(sock)) return { declined: 'socket paused behind pipelined responses' };
  } else if (p.consumed) {
    return { declined: 'unknown HTTP parser state' };
  }
  const parser = p.parser;
  if (side === 'server') {
    const feed = (chunk: Buffer): boolean => parser.execute(chunk) === chunk.length;
    return { msg, sock, parser, kOnBody: p.kOnBody, feed, side, length };
  }
  const onData = sock.listeners('data').find((f) => f.name === 'socketOnData') as
    | ((this: net.Socket, chunk: Buffer) => void)
    | undefined;
  if (!onData) return { declined: 'unknown HTTP client state' };
  const feed = (chunk: Buffer): boolean => {
    onData.call(sock, chunk);
    return !sock.destroyed;
  };
  return { msg, sock, parser, kOnBody: p.kOnBody, feed, side, length };
}

/** Body bytes the parser has handed to the message since the flow was piped. */
export interface BodyCounter {
  /** Every body byte the parser has pushed into the message so far. */
  seen(): number;
  /** Stops counting (the message's own push() again). */
  release(): void;
}

/**
 * Body bytes the parser has handed the message before pipe(), all still in
 * its buffer; null when some have already left it (a 'data' listener, a
 * read()): how many is not known.
 */
export function bodySeenSoFar(msg: http.IncomingMessage): number | null {
  const st = readableState(msg);
  if (!st || st.objectMode || dataEmitted(msg) !== false) return null;
  return st.length;
}

/**
 * Starts counting body bytes at pipe() time: those already buffered in the
 * message (bodySeenSoFar, not null), then every slice the parser pushes.
 * Only for a flow the kernel may take: shadowing push() changes the
 * message's shape, which costs Node's stream code on every message after.
 */
export function countBody(msg: http.IncomingMessage, seenSoFar: number): BodyCounter {
  let seen = seenSoFar;
  const m = msg as unknown as { push(chunk: unknown, encoding?: unknown): boolean };
  const hadOwn = Object.hasOwn(m, 'push');
  const push = m.push;
  // The parser's body callback pushes each slice into the message: count
  // there, on this message only (the parser moves on to the next one).
  m.push = function countedPush(this: unknown, chunk: unknown, encoding?: unknown): boolean {
    if (chunk !== null && typeof chunk === 'object' && 'length' in chunk) seen += (chunk as Buffer).length;
    return push.call(this, chunk, encoding);
  };
  return {
    seen: () => seen,
    release() {
      takeOffShadow(m, 'push', hadOwn, push);
    },
  };
}
