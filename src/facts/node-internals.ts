// biome-ignore-all lint/suspicious/noExplicitAny: Node's private fields have no types; every access is guarded
// Every read of Node's private stream/socket state lives here, each one
// guarded: if a future Node moves a field, the answer is "unknown" and the
// caller declines the fast path instead of breaking. (Writes to that state
// are in node-writes.ts; methods shadowed on instances in engine/guards.ts.)
import fs = require('node:fs');

import type * as net from 'node:net';
import type { Readable, Writable } from 'node:stream';

/** The kernel fd under a net.Socket (TCP, Unix socket or pipe), or -1. */
export function socketFd(sock: net.Socket): number {
  const fd = (sock as any)._handle?.fd;
  return typeof fd === 'number' && fd >= 0 ? fd : -1;
}

/** Bytes accepted by write() that have not reached the kernel yet. */
export function socketQueuedBytes(sock: net.Socket): number {
  const handleQueue = (sock as any)._handle?.writeQueueSize;
  return sock.writableLength + (typeof handleQueue === 'number' ? handleQueue : 0);
}

// Told without importing node:tls, which would load all of crypto (23 built-in
// modules, some 250 KB of heap) into every process that only registers us.
// TLSSocket's constructor sets `encrypted`; its handle is a TLSWrap, whose fd
// is the TCP socket's, carrying ciphertext: that alone must decline.
export function isTlsSocket(sock: net.Socket): boolean {
  return (sock as any).encrypted === true || (sock as any)._handle?.constructor?.name === 'TLSWrap';
}

/** process.stdout/stderr redirected to a file: fs.writeSync on a fixed fd. */
export function syncWriteStreamFd(stream: Writable): number {
  const s = stream as any;
  if (s?.constructor?.name === 'SyncWriteStream' && typeof s.fd === 'number' && s.fd >= 0) return s.fd;
  return -1;
}

function symbolNamed(obj: object, description: string): symbol | null {
  for (const sym of Object.getOwnPropertySymbols(obj)) if (sym.description === description) return sym;
  return null;
}

/**
 * A reader of one field Node keeps behind a private symbol: the symbol is
 * found by its description once, then read directly (listing a socket's
 * symbols made an array of some twenty for every transfer). Looked for again
 * on an object that lacks it, so a Node without the field reads undefined.
 */
function privateField(description: string): (obj: object) => unknown {
  let sym: symbol | null = null;
  return (obj) => {
    if (sym === null || !(sym in obj)) sym = symbolNamed(obj, description);
    return sym === null ? undefined : (obj as any)[sym];
  };
}

const fsMethodsOf = privateField('kFs'); // an fs stream's fs methods
const fileHandleOf = privateField('kHandle'); // an fs stream's FileHandle, when given one as `fd`
const onreadBufferOf = privateField('kBuffer'); // a socket's `onread` buffer

// fs option objects that do real I/O on real fds (ours: paths/in-loop-fs.ts).
const realFs = new WeakSet<object>();

/** Says that streams given `impl` as their `fs` option have real fds. */
export function markRealFs(impl: object): void {
  realFs.add(impl);
}

/**
 * True when an fs stream was given a custom `fs` option (its fd may not be
 * real). A FileHandle given as `fd` also replaces the stream's fs methods,
 * but with the handle's own: its fd is real, so that is not "custom".
 */
export function hasCustomFs(stream: fs.ReadStream | fs.WriteStream): boolean {
  const impl = fsMethodsOf(stream) as object | undefined;
  if (impl === undefined || impl === fs || realFs.has(impl)) return false;
  const handle = fileHandleOf(stream) as any;
  const isFileHandle =
    handle != null &&
    typeof handle.fd === 'number' &&
    typeof handle.read === 'function' &&
    (stream as any).fd === handle.fd;
  return !isFileHandle;
}

export interface ReadableStateView {
  pipes: Writable[];
  flowing: boolean | null;
  length: number;
  objectMode: boolean;
  encoding: string | null;
  ended: boolean;
}

export function readableState(stream: Readable): ReadableStateView | null {
  const st = (stream as any)._readableState;
  if (!st || !Array.isArray(st.pipes)) return null;
  return st as ReadableStateView;
}

/**
 * A write()/_write() replaced on the instance, or overridden by a subclass of
 * `base` (the Node class whose writes we stand in for), means someone
 * watches the bytes.
 */
export function writeIsWrapped(stream: Writable, base?: object): boolean {
  // By value: an own property holding the class's own function is what a
  // finished transfer leaves on Node 22+ (engine/shapes.ts), not a wrapper.
  const s = stream as any;
  const b = (base ?? Object.getPrototypeOf(stream) ?? {}) as any;
  return s.write !== b.write || s._write !== b._write || s._writev !== b._writev;
}

/** A socket created with the `onread` option reads into the caller's buffer: not ours to take. */
export function socketHasUserBuffer(sock: net.Socket): boolean {
  return Boolean(onreadBufferOf(sock));
}

/** A TCP socket (Node's TCP handle), not a Unix one: only TCP has resets. */
export function isTcpSocket(sock: net.Socket): boolean {
  const h = (sock as any)._handle;
  return typeof h?.reset === 'function';
}

/** What an http.ServerResponse knows of its own framing; null if Node moved the fields. */
export interface ResponseFacts {
  /** The header block has been handed to the socket (it went with the first body write). */
  headerSent: boolean;
  /** False for HEAD and for 204/304: Node discards body writes. */
  hasBody: boolean;
  /** Node frames each write as a chunk (no Content-Length, HTTP/1.1). */
  chunked: boolean;
  trailers: boolean;
  strictContentLength: boolean;
  /** Writes held in the response because its socket is busy with an earlier one. */
  queued: number;
}

export function responseFacts(res: Writable): ResponseFacts | null {
  const r = res as any;
  if (typeof r._headerSent !== 'boolean' || typeof r._hasBody !== 'boolean' || !Array.isArray(r.outputData))
    return null;
  return {
    headerSent: r._headerSent && typeof r._header === 'string',
    hasBody: r._hasBody,
    chunked: r.chunkedEncoding === true,
    trailers: typeof r._trailer === 'string' && r._trailer !== '',
    strictContentLength: r.strictContentLength === true,
    queued: r.outputData.length,
  };
}

/** The response a server socket is writing now (later pipelined ones wait behind it). */
export function socketCurrentResponse(sock: net.Socket): unknown {
  return (sock as any)._httpMessage;
}

/**
 * The HTTP/1 parser a socket carries while a message is being read: the
 * server's consumes the socket's handle in C++ (`_consumed`), the client's is
 * fed from the socket's 'data' events. `kOnBody` is the slot of the callback
 * that pushes each body slice into the IncomingMessage.
 */
export interface HttpParser {
  execute(buf: Buffer): number | Error;
  consume(handle: unknown): void;
  unconsume(): void;
  incoming: unknown;
  _consumed?: boolean;
  [slot: number]: unknown;
}

export interface HttpParserFacts {
  parser: HttpParser;
  kOnBody: number;
  /** The parser reads the socket's handle itself (the server's). */
  consumed: boolean;
}

export function httpParserOf(sock: net.Socket): HttpParserFacts | null {
  const p = (sock as any).parser;
  if (!p || typeof p.execute !== 'function' || typeof p.consume !== 'function' || typeof p.unconsume !== 'function')
    return null;
  const kOnBody = p.constructor?.kOnBody;
  if (typeof kOnBody !== 'number' || typeof p[kOnBody] !== 'function') return null;
  return { parser: p as HttpParser, kOnBody, consumed: p._consumed === true };
}

/** The socket's libuv handle (what a consuming parser reads), or null. */
export function socketHandle(sock: net.Socket): object | null {
  const h = (sock as any)._handle;
  return h && typeof h.readStart === 'function' ? h : null;
}

/** A server socket held back by Node while pipelined responses queue (its parser then waits too). */
export function socketPausedByServer(sock: net.Socket): boolean {
  return (sock as any)._paused === true;
}

/** Node answered `Expect: 100-continue` on this response (res.writeContinue()). */
export function continueSent(res: unknown): boolean {
  return (res as any)?._sent100 === true;
}

/** The parser was made lenient (insecureHTTPParser) for this server or request. */
export function lenientParser(sock: net.Socket, msg: unknown): boolean {
  if ((sock as any).server?.insecureHTTPParser === true) return true;
  if ((msg as any)?.req?.insecureHTTPParser === true) return true;
  return lenientProcess();
}

// Node reads --insecure-http-parser once, at startup: so is it read here
// (process.env is a getenv() per access, and this runs for every body).
let lenientByFlag: boolean | undefined;
function lenientProcess(): boolean {
  if (lenientByFlag === undefined) {
    const flag = '--insecure-http-parser';
    lenientByFlag = process.execArgv.includes(flag) || (process.env.NODE_OPTIONS ?? '').includes(flag);
  }
  return lenientByFlag;
}

/** Readable has emitted 'data' (or returned bytes from read()) at least once; null if unknown. */
export function dataEmitted(stream: Readable): boolean | null {
  const v = (stream as any)._readableState?.dataEmitted;
  return typeof v === 'boolean' ? v : null;
}

/** Node drops the rest of this request's body (its response ended first). */
export function messageDumped(msg: unknown): boolean {
  return (msg as any)._dumped === true;
}
