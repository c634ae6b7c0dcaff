// A raw HTTP/1.1 client over net.Socket, for comparing servers on the wire:
// it writes the requests itself (all in one write — pipelining — or one after
// another on the same keep-alive connection), reads the raw bytes and parses
// the responses itself: status line, headers (as sent: order and case),
// body framed by Content-Length, by chunked encoding (decoded; the chunk
// structure is not kept) or by the connection's close; HEAD, 1xx, 204 and
// 304 responses have no body. Bodies are not kept: their sha256 and length
// are, so 1 GiB bodies cost no memory.
import * as crypto from 'node:crypto';
import * as net from 'node:net';

export type Header = [name: string, value: string];

export interface WireRequest {
  method?: string;
  path: string;
  headers?: Header[];
}

export type Framing = 'length' | 'chunked' | 'close' | 'none';

export interface WireResponse {
  statusLine: string;
  status: number;
  /** As sent, in order, Date removed (it varies between any two runs). */
  headers: Header[];
  framing: Framing;
  /** The body ended where its framing says (for 'close': a clean end of the connection). */
  complete: boolean;
  body: { length: number; digest: string };
  /** With ExchangeOptions.mark: the sha256 of the body's first `mark` bytes (fewer if it is shorter). */
  head?: { length: number; digest: string };
  trailers: Header[];
}

export interface Progress {
  socket: net.Socket;
  /** Index of the response being received (= responses completed so far). */
  index: number;
  /** Body bytes received of that response (0 before its head has arrived). */
  bodyBytes: number;
  /** Bytes received on the connection so far. */
  rawBytes: number;
}

export interface ExchangeOptions {
  /** Write every request in one write (HTTP/1.1 pipelining); otherwise each after the previous response. */
  pipelined?: boolean;
  /** How bodies are digested (default 'sha256'; see BodyDigest). */
  digest?: DigestKind;
  /** Also digest each body's first `mark` bytes apart (WireResponse.head). */
  mark?: number;
  /**
   * Awaited after the last response, before the client ends the connection
   * (given the number of responses): a client that hangs up the moment the
   * last byte arrives races the server's own 'finish' of that response.
   */
  beforeEnd?: (responses: number) => Promise<unknown>;
  /** Size of the client's read buffer: the most one read takes (default 1 MiB). */
  readSize?: number;
  /** After the last response, leave the connection open until the server closes it (an idle timeout). */
  linger?: boolean;
  /**
   * Called after each chunk received has been parsed. A promise returned
   * pauses the socket (the kernel stops taking bytes once its buffers are
   * full) until it settles; 'destroy' destroys the socket there.
   */
  onData?: (p: Progress) => undefined | Promise<unknown> | 'destroy';
}

export interface Exchange {
  responses: WireResponse[];
  /** A response whose head arrived but whose body had not ended when the connection did. */
  partial?: WireResponse;
  /** Who ended the connection: the client after its last response, the server (before that), or a client destroy. */
  closedBy: 'client' | 'server' | 'destroyed';
  rawBytes: number;
  error?: string;
}

const DROPPED_HEADERS = new Set(['date']);

export type DigestKind = 'sha256' | 'sparse';

const BLOCK = 64 * 1024;
const ZERO_BLOCK = Buffer.alloc(BLOCK);

/**
 * A body's digest. 'sha256' is the sha256 of the bytes. 'sparse' is as
 * exact but cheap for mostly-zero bodies (a 1 GiB sparse file): the body is
 * cut into 64 KiB blocks by offset, and the sha256 taken over, per block,
 * 'z' for a block of zeros, else 'd' and the block's bytes, then the length.
 */
export class BodyDigest {
  private hash = crypto.createHash('sha256');
  private block: Buffer | null = null;
  private fill = 0;
  private total = 0;
  constructor(readonly kind: DigestKind = 'sha256') {
    if (kind === 'sparse') this.block = Buffer.alloc(BLOCK);
  }

  update(data: Buffer): void {
    if (!this.block) {
      this.hash.update(data);
      return;
    }
    this.total += data.length;
    for (let off = 0; off < data.length; ) {
      const n = data.copy(this.block, this.fill, off, Math.min(data.length, off + BLOCK - this.fill));
      off += n;
      this.fill += n;
      if (this.fill === BLOCK) this.flush();
    }
  }

  private flush(): void {
    const b = this.block!.subarray(0, this.fill);
    if (b.equals(ZERO_BLOCK.subarray(0, this.fill))) this.hash.update('z');
    else {
      this.hash.update('d');
      this.hash.update(b);
    }
    this.fill = 0;
  }

  digest(): string {
    if (this.block) {
      if (this.fill > 0) this.flush();
      this.hash.update(`#${this.total}`);
    }
    return this.hash.digest('hex');
  }
}

const emptyDigest = (kind: DigestKind): string => new BodyDigest(kind).digest();

export function requestBytes(r: WireRequest): Buffer {
  const lines = [`${r.method ?? 'GET'} ${r.path} HTTP/1.1`, 'Host: 127.0.0.1'];
  for (const [k, v] of r.headers ?? []) lines.push(`${k}: ${v}`);
  return Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1');
}

export function header(res: { headers: Header[] } | undefined, name: string): string | undefined {
  const lower = name.toLowerCase();
  return res?.headers.find(([k]) => k.toLowerCase() === lower)?.[1];
}

type State = 'head' | 'length' | 'chunk-size' | 'chunk-data' | 'chunk-crlf' | 'trailers' | 'close' | 'done';

/**
 * Incremental response parser: push() the bytes as they come, finish() when
 * the connection has ended. `nextMethod()` says which request the next
 * response answers (a HEAD response has no body whatever it says).
 */
export class ResponseParser {
  readonly responses: WireResponse[] = [];
  /** The response the connection ended inside of, if any (complete: false). */
  partialResponse: WireResponse | undefined;
  current: WireResponse | null = null;
  error: string | null = null;
  private state: State = 'head';
  private head = Buffer.alloc(0);
  private line = Buffer.alloc(0);
  private remaining = 0;
  private hash: BodyDigest | null = null;
  private markHash: BodyDigest | null = null;

  constructor(
    private readonly nextMethod: () => string,
    private readonly digestKind: DigestKind = 'sha256',
    private readonly mark?: number,
  ) {}

  get bodyBytes(): number {
    return this.current?.body.length ?? 0;
  }

  push(chunk: Buffer): void {
    let off = 0;
    while (off < chunk.length && !this.error) {
      switch (this.state) {
        case 'done':
        case 'head': {
          if (this.state === 'done') this.state = 'head';
          const start = Math.max(this.head.length - 3, 0);
          this.head = Buffer.concat([this.head, chunk.subarray(off)]);
          const end = this.head.indexOf('\r\n\r\n', start, 'latin1');
          if (end < 0) {
            off = chunk.length;
            if (this.head.length > 64 * 1024) this.fail('response head longer than 64 KiB');
            break;
          }
          const used = end + 4 - (this.head.length - (chunk.length - off));
          off += used;
          const text = this.head.subarray(0, end).toString('latin1');
          this.head = Buffer.alloc(0);
          this.startResponse(text);
          break;
        }
        case 'length': {
          const n = Math.min(this.remaining, chunk.length - off);
          this.body(chunk.subarray(off, off + n));
          off += n;
          this.remaining -= n;
          if (this.remaining === 0) this.endResponse(true);
          break;
        }
        case 'chunk-size':
        case 'trailers': {
          const nl = chunk.indexOf('\n', off);
          const piece = chunk.subarray(off, nl < 0 ? chunk.length : nl + 1);
          off += piece.length;
          this.line = Buffer.concat([this.line, piece]);
          if (this.line.length > 8192) {
            this.fail('chunk-size or trailer line longer than 8 KiB');
            break;
          }
          if (nl < 0) break;
          const text = this.line.toString('latin1');
          this.line = Buffer.alloc(0);
          if (!text.endsWith('\r\n')) {
            this.fail(`bare LF in chunked framing: ${JSON.stringify(text)}`);
            break;
          }
          const content = text.slice(0, -2);
          if (this.state === 'trailers') {
            if (content === '') this.endResponse(true);
            else this.current!.trailers.push(splitHeader(content));
            break;
          }
          const size = content.split(';')[0].trim();
          if (!/^[0-9a-fA-F]+$/.test(size)) {
            this.fail(`bad chunk size ${JSON.stringify(content)}`);
            break;
          }
          this.remaining = parseInt(size, 16);
          this.state = this.remaining === 0 ? 'trailers' : 'chunk-data';
          break;
        }
        case 'chunk-data': {
          const n = Math.min(this.remaining, chunk.length - off);
          this.body(chunk.subarray(off, off + n));
          off += n;
          this.remaining -= n;
          if (this.remaining === 0) {
            this.state = 'chunk-crlf';
            this.remaining = 2;
          }
          break;
        }
        case 'chunk-crlf': {
          const expected = '\r\n'.slice(2 - this.remaining);
          const n = Math.min(this.remaining, chunk.length - off);
          if (chunk.toString('latin1', off, off + n) !== expected.slice(0, n)) {
            this.fail('chunk data not followed by CRLF');
            break;
          }
          off += n;
          this.remaining -= n;
          if (this.remaining === 0) this.state = 'chunk-size';
          break;
        }
        case 'close':
          this.body(chunk.subarray(off));
          off = chunk.length;
          break;
      }
    }
  }

  /** The connection ended: cleanly (`clean`, a FIN) or not. */
  finish(clean: boolean): void {
    if (this.state === 'close' && clean) this.endResponse(true);
    else if (this.current) this.endResponse(false);
    else if (this.head.length > 0 && !this.error)
      this.fail(`connection ended inside a response head (${this.head.length} bytes)`);
  }

  private startResponse(text: string): void {
    const lines = text.split('\r\n');
    const statusLine = lines.shift()!;
    const m = /^HTTP\/1\.[01] (\d{3})(?: .*)?$/.exec(statusLine);
    if (!m) {
      this.fail(`bad status line ${JSON.stringify(statusLine)}`);
      return;
    }
    const status = Number(m[1]);
    const all = lines.map(splitHeader);
    const res: WireResponse = {
      statusLine,
      status,
      headers: all.filter(([k]) => !DROPPED_HEADERS.has(k.toLowerCase())),
      framing: 'none',
      complete: false,
      body: { length: 0, digest: emptyDigest(this.digestKind) },
      trailers: [],
    };
    if (status >= 100 && status < 200) return; // informational: the real response follows
    const method = this.nextMethod();
    const te = header({ headers: all }, 'transfer-encoding');
    const cl = header({ headers: all }, 'content-length');
    this.current = res;
    this.hash = new BodyDigest(this.digestKind);
    if (this.mark !== undefined) this.markHash = new BodyDigest('sha256');
    if (method === 'HEAD' || status === 204 || status === 304) {
      this.endResponse(true);
    } else if (te !== undefined && /(^|,)\s*chunked\s*$/i.test(te)) {
      res.framing = 'chunked';
      this.state = 'chunk-size';
    } else if (cl !== undefined) {
      if (!/^\d+$/.test(cl)) {
        this.fail(`bad Content-Length ${JSON.stringify(cl)}`);
        return;
      }
      res.framing = 'length';
      this.remaining = Number(cl);
      this.state = 'length';
      if (this.remaining === 0) this.endResponse(true);
    } else {
      res.framing = 'close';
      this.state = 'close';
    }
  }

  private body(data: Buffer): void {
    const before = this.current!.body.length;
    if (this.markHash && before < this.mark!) this.markHash.update(data.subarray(0, this.mark! - before));
    this.hash!.update(data);
    this.current!.body.length += data.length;
  }

  private endResponse(complete: boolean): void {
    const res = this.current!;
    res.complete = complete;
    res.body.digest = this.hash!.digest();
    if (this.markHash) {
      res.head = { length: Math.min(res.body.length, this.mark!), digest: this.markHash.digest() };
      this.markHash = null;
    }
    this.current = null;
    this.hash = null;
    this.state = 'done';
    if (complete) this.responses.push(res);
    else this.partialResponse = res;
  }

  private fail(why: string): void {
    this.error = why;
  }
}

function splitHeader(line: string): Header {
  const i = line.indexOf(':');
  if (i < 0) return [line, ''];
  return [line.slice(0, i), line.slice(i + 1).trim()];
}

/**
 * Sends the requests on one connection to 127.0.0.1:`port` and collects the
 * responses. After the last response the client ends the connection; when
 * the server ends it first (Connection: close, a timeout, an error), the
 * exchange holds what came until then. A response carrying
 * `Connection: close` is the last one the client waits for, in either mode.
 */
export function exchange(port: number, requests: WireRequest[], options: ExchangeOptions = {}): Promise<Exchange> {
  return new Promise((resolve) => {
    const methods = requests.map((r) => r.method ?? 'GET');
    let answered = 0;
    const parser = new ResponseParser(() => methods[answered++] ?? 'GET', options.digest, options.mark);
    // Reads of up to 1 MiB into one buffer (onread): a 1 GiB body is 1024
    // reads, not 16384 'data' events of a fresh 64 KiB buffer each. Nothing
    // keeps a reference to the buffer: the parser copies or hashes at once.
    const socket = net.connect({
      port,
      host: '127.0.0.1',
      onread: {
        buffer: Buffer.allocUnsafe(options.readSize ?? 1 << 20),
        callback: (n: number, buf: Buffer) => onChunk(buf.subarray(0, n)),
      },
    });
    let rawBytes = 0;
    let sent = 0;
    let clientEnded = false;
    let destroyed = false;
    let serverEnded = false;
    let error: string | undefined;
    let settled = false;

    const sendNext = (): void => {
      if (options.pipelined) {
        socket.write(Buffer.concat(requests.map(requestBytes)));
        sent = requests.length;
      } else {
        socket.write(requestBytes(requests[sent++]));
      }
    };
    const lastHadClose = (): boolean =>
      /(^|,)\s*close\s*($|,)/i.test(header(parser.responses[parser.responses.length - 1], 'connection') ?? '');

    const afterResponses = (before: number): void => {
      if (parser.responses.length === before || clientEnded || destroyed) return;
      if (parser.responses.length >= requests.length) {
        if (options.linger) return;
        clientEnded = true;
        const end = (): void => {
          if (!destroyed) socket.end();
        };
        if (options.beforeEnd) options.beforeEnd(parser.responses.length).then(end, end);
        else end();
      } else if (!options.pipelined && !lastHadClose() && sent === parser.responses.length) {
        sendNext();
      }
    };

    socket.on('connect', sendNext);
    /** One read's bytes; false pauses the socket (onread's way). */
    const onChunk = (chunk: Buffer): boolean => {
      rawBytes += chunk.length;
      const before = parser.responses.length;
      parser.push(chunk);
      if (parser.error) {
        error = `parse: ${parser.error}`;
        destroyed = true;
        socket.destroy();
        return false;
      }
      const r = options.onData?.({ socket, index: parser.responses.length, bodyBytes: parser.bodyBytes, rawBytes });
      if (r === 'destroy') {
        destroyed = true;
        socket.destroy();
        return false;
      }
      afterResponses(before);
      if (r && typeof (r as Promise<unknown>).then === 'function') {
        (r as Promise<unknown>).then(
          () => {
            if (!socket.destroyed) socket.resume();
          },
          (e) => {
            error = `onData: ${String(e)}`;
            destroyed = true;
            socket.destroy();
          },
        );
        return false;
      }
      return true;
    };
    socket.on('end', () => {
      if (!clientEnded) serverEnded = true;
      // allowHalfOpen is off: Node ends our side too.
    });
    socket.on('error', (e: NodeJS.ErrnoException) => {
      error ??= e.code ?? e.message;
    });
    socket.on('close', () => {
      if (settled) return;
      settled = true;
      parser.finish(serverEnded || clientEnded ? error === undefined : false);
      resolve({
        responses: parser.responses,
        ...(parser.partialResponse ? { partial: parser.partialResponse } : {}),
        closedBy: destroyed ? 'destroyed' : clientEnded && !serverEnded ? 'client' : 'server',
        rawBytes,
        ...(error !== undefined ? { error } : {}),
      });
    });
  });
}

/** What is compared between the stock and the zerocopy server: everything but timing-dependent counts. */
export function comparable(x: Exchange): Omit<Exchange, 'rawBytes' | 'error'> {
  const { rawBytes: _r, error: _e, ...rest } = x;
  return rest;
}
