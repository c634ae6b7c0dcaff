// Event-trace equivalence (see /work/shared/guide/semantics.md): run one
// scenario with Node's own fs streams, then with zerocopy's, recording on every
// stream what a program could observe, and return both traces as plain objects
// that vitest's toEqual can diff.
//
// What is compared, and why:
// - per stream, the sequence of events by name (error events with code and
//   syscall), with one race of Node's own normalized (canonicalEvents).
//   Flow-control events ('data', 'drain', 'pause', 'resume', 'readable')
//   depend on chunk sizes and are counted in `raw`, not compared
//   (differences.test.ts shows how they differ);
// - per stream, the final values of the public counters and flags;
// - cross-stream order only for the pairs a scenario names, because Node
//   itself only guarantees some of them (src 'end' before dst 'finish' is
//   guaranteed by pipe(); src 'close' vs dst 'finish' is not);
// - the bytes that arrived at each output (count and sha256), optionally
//   whether they are an exact prefix of the source range;
// - what pipeline()/finished() callbacks and promises received.
// The zerocopy run sets ZEROCOPY_MIN_BYTES=0 so small files take the fast
// path too, and records the zerocopy:transfer messages (raw.transfers) so a
// test can check the fast path ran, or declined. Events are recorded until
// the final state is captured; cleanup afterwards is not part of the trace.
import * as crypto from 'node:crypto';
import type { EventEmitter } from 'node:events';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import * as stream from 'node:stream';
import * as streamPromises from 'node:stream/promises';
import * as zc from '../../dist/index.js';
import { recordTransfers } from './diag';
import { tmpDir } from './files';

export type Impl = 'node' | 'zerocopy';

export interface Api {
  impl: Impl;
  createReadStream: typeof fs.createReadStream;
  createWriteStream: typeof fs.createWriteStream;
  ReadStream: typeof fs.ReadStream;
  WriteStream: typeof fs.WriteStream;
}

export const nodeApi: Api = {
  impl: 'node',
  createReadStream: (p, o) => fs.createReadStream(p, o),
  createWriteStream: (p, o) => fs.createWriteStream(p, o),
  ReadStream: fs.ReadStream,
  WriteStream: fs.WriteStream,
};

export const zcApi: Api = {
  impl: 'zerocopy',
  createReadStream: zc.createReadStream as typeof fs.createReadStream,
  createWriteStream: zc.createWriteStream as typeof fs.createWriteStream,
  ReadStream: zc.ReadStream as unknown as typeof fs.ReadStream,
  WriteStream: zc.WriteStream as unknown as typeof fs.WriteStream,
};

export interface SerializedError {
  name: string;
  code?: string;
  syscall?: string;
  message: string;
}

export interface StreamTrace {
  events: string[];
  state: Record<string, unknown>;
}

export interface Output {
  bytes: number;
  sha256: string;
  /** Whether the bytes are exactly the first `bytes` bytes of the declared source range. */
  prefix?: boolean;
  /** For socket outputs: the error the receiving side saw, if any. */
  error?: string;
}

export type Order = 'before' | 'after' | 'missing';

export interface Trace {
  streams: Record<string, StreamTrace>;
  snapshots: Record<string, Record<string, Record<string, unknown>>>;
  orderings: Record<string, Order>;
  results: Record<string, unknown>;
  outputs: Record<string, Output>;
  notes: Record<string, unknown>;
  timedOut?: string;
}

/** Not compared: flow-control event counts, the global log, what the fast path did. */
export interface Raw {
  impl: Impl;
  flow: Record<string, Record<string, number>>;
  log: string[];
  transfers: Array<{
    path: string;
    reason: string;
    bytes: number;
    source: string;
    destination: string;
    error?: string;
  }>;
}

export interface RunResult {
  node: Trace;
  zerocopy: Trace;
  raw: { node: Raw; zerocopy: Raw };
}

/** Events compared in sequence. Anything else is counted in raw.flow. */
const FLOW_EVENTS = new Set(['data', 'drain', 'pause', 'resume', 'readable']);

/** Public stream properties whose final values are compared. */
const STATE_KEYS = [
  'bytesRead',
  'bytesWritten',
  'pos',
  'pending',
  'destroyed',
  'closed',
  'readableEnded',
  'readableFlowing',
  'readableLength',
  'readableAborted',
  'readableDidRead',
  'writableFinished',
  'writableEnded',
  'writableLength',
  'writableNeedDrain',
  'errored',
] as const;

export interface ReceiverOptions {
  /** Reset the connection (RST) once this many bytes have arrived. */
  resetAfter?: number;
  /** Pause reading for `slowMs` every `slowEvery` bytes. */
  slowEvery?: number;
  slowMs?: number;
  /** Called (synchronously, in the receiver's 'data' handler) with the bytes received so far. */
  onData?: (bytes: number) => void;
}

/** A byte range of a source file; `start` may be computed once the run is over (after earlier outputs). */
export interface SourceRange {
  file: string;
  start?: number | (() => number);
}

export interface RunCtx {
  impl: Impl;
  /** Streams of this run's implementation. */
  api: Api;
  /** A scratch directory of this run; its path is normalized to <run> in traces. */
  dir: string;
  /** Records the stream's events under `label`; returns it. */
  watch<T extends EventEmitter>(label: string, s: T): T;
  /** A source ReadStream of this run's implementation, watched. */
  source(label: string, file: fs.PathLike, options?: Parameters<typeof fs.createReadStream>[1]): fs.ReadStream;
  /**
   * A destination file in this run's directory (`impl: 'node'` forces Node's
   * WriteStream in the zerocopy run too). Its content is an output.
   */
  fileDest(
    label: string,
    options?: WriteStreamOptions & { impl?: 'ours' | 'node'; name?: string; prefixOf?: SourceRange },
  ): fs.WriteStream;
  /** A connected client socket (TCP loopback or Unix socket) to a hashing receiver; the receiver's view is an output. */
  socketDest(
    label: string,
    kind: 'tcp' | 'unix',
    options?: ReceiverOptions & { prefixOf?: SourceRange },
  ): Promise<net.Socket>;
  /** Declares an output whose bytes are read from a file after the run. */
  fileOutput(label: string, file: string, prefixOf?: SourceRange): void;
  /** Declares an output produced by the scenario itself (read once the run is over). */
  output(label: string, read: () => Promise<Output>, options?: { now?: () => number; prefixOf?: SourceRange }): void;
  /** Bytes that have reached an output so far (file size or bytes received). */
  received(label: string): number;
  /** A pseudo-event in the global log (for orderings) and in the label's sequence. */
  event(label: string, name: string): void;
  /** A comparable value. */
  note(key: string, value: unknown): void;
  /** Records the state of every watched stream now. */
  snapshot(name: string): void;
  /** Resolves when the watched stream emits `event` (at once if it already has). */
  once(label: string, event: string): Promise<void>;
  /** Resolves when cond() holds (polled every setImmediate/1 ms). */
  until(cond: () => boolean, what?: string): Promise<void>;
  /** stream.pipeline with a callback, recording what the callback received as results[name] and pseudo-event result:name. */
  pipeline(name: string, ...streams: NodeJS.ReadWriteStream[] | stream.Stream[]): Promise<void>;
  /** stream/promises pipeline, recording how the promise settled. */
  pipelinePromise(name: string, ...streams: stream.Stream[]): Promise<void>;
  /** finished(), recording what its callback received. */
  finished(
    name: string,
    s: NodeJS.ReadableStream | NodeJS.WritableStream,
    options?: stream.FinishedOptions,
  ): Promise<void>;
}

export type Scenario = (ctx: RunCtx) => Promise<void>;

type WriteStreamOptions = Exclude<Parameters<typeof fs.createWriteStream>[1], string | undefined>;

export interface RunOptions {
  /** Cross-stream orderings to record, as [a, b] with a and b written 'label:event'. */
  order?: Array<[string, string]>;
  /** Give up on a run after this long (the trace then says timedOut). */
  timeoutMs?: number;
  /** Which implementations to run (['node', 'node'] checks that a scenario is deterministic in Node). */
  impls?: [Impl, Impl];
  /** Waits after the scenario resolves, so late events land in the trace. */
  settleMs?: number;
}

const DEFAULT_ORDER: Array<[string, string]> = [['src:end', 'dst:finish']];

export function serializeError(err: unknown, dir?: string): SerializedError | string {
  if (!err || typeof err !== 'object') return String(err);
  const e = err as NodeJS.ErrnoException;
  const out: SerializedError = { name: e.name, message: normalize(String(e.message), dir) };
  if (e.code !== undefined) out.code = e.code;
  if (e.syscall !== undefined) out.syscall = e.syscall;
  return out;
}

function normalize(s: string, dir?: string): string {
  return dir ? s.split(dir).join('<run>') : s;
}

function eventName(name: string, args: unknown[]): string {
  if (name !== 'error') return name;
  const e = args[0] as NodeJS.ErrnoException | undefined;
  const what = e?.code ?? e?.name ?? String(e);
  return e?.syscall ? `error(${what} ${e.syscall})` : `error(${what})`;
}

/**
 * A destination's 'open'/'ready' come from its own open() in the threadpool,
 * its 'unpipe' from the source reaching its end (pipeline(), `end: false`):
 * Node orders the two by a race (a 1-byte source often ends before the
 * destination file is open, not always), so an 'open'/'ready' right after
 * 'unpipe' is moved before it. Everything else keeps its recorded order.
 */
export function canonicalEvents(events: string[]): string[] {
  const out = [...events];
  for (let i = 1; i < out.length; i++) {
    if (out[i] !== 'open' && out[i] !== 'ready') continue;
    for (let j = i; j > 0 && out[j - 1] === 'unpipe'; j--) [out[j - 1], out[j]] = [out[j], out[j - 1]];
  }
  return out;
}

export function captureState(s: object, dir?: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const any = s as Record<string, unknown>;
  for (const k of STATE_KEYS) {
    if (!(k in s)) continue;
    const v = any[k];
    if (v === undefined) continue;
    out[k] = k === 'errored' ? (v ? serializeError(v, dir) : null) : v;
  }
  if ('fd' in s) out.fd = any.fd === null || any.fd === undefined ? any.fd : typeof any.fd;
  return out;
}

function sha256File(file: string): Output {
  const h = crypto.createHash('sha256');
  let bytes = 0;
  if (fs.existsSync(file)) {
    const fd = fs.openSync(file, 'r');
    const buf = Buffer.allocUnsafe(1 << 20);
    for (;;) {
      const n = fs.readSync(fd, buf, 0, buf.length, null);
      if (n === 0) break;
      h.update(buf.subarray(0, n));
      bytes += n;
    }
    fs.closeSync(fd);
  }
  return { bytes, sha256: h.digest('hex') };
}

/** sha256 of `length` bytes of `file` from `start`. */
export function rangeHash(file: string, start: number, length: number): string {
  const h = crypto.createHash('sha256');
  const fd = fs.openSync(file, 'r');
  const buf = Buffer.allocUnsafe(1 << 20);
  let pos = start;
  let left = length;
  while (left > 0) {
    const n = fs.readSync(fd, buf, 0, Math.min(buf.length, left), pos);
    if (n === 0) break;
    h.update(buf.subarray(0, n));
    pos += n;
    left -= n;
  }
  fs.closeSync(fd);
  return h.digest('hex');
}

interface Conn {
  bytes: number;
  hash: crypto.Hash;
  error?: string;
  done: Promise<Output>;
}

class Receiver {
  readonly conns: Conn[] = [];
  private waiting: Array<(c: Conn) => void> = [];
  constructor(
    readonly server: net.Server,
    private readonly opts: ReceiverOptions,
  ) {
    server.on('connection', (s) => this.accept(s));
  }

  private accept(s: net.Socket): void {
    let resolve!: (o: Output) => void;
    const conn: Conn = {
      bytes: 0,
      hash: crypto.createHash('sha256'),
      done: new Promise((r) => {
        resolve = r;
      }),
    };
    this.conns.push(conn);
    let nextSlow = this.opts.slowEvery ?? Infinity;
    s.on('data', (d: Buffer) => {
      if (this.opts.resetAfter !== undefined && conn.bytes >= this.opts.resetAfter) return;
      conn.hash.update(d);
      conn.bytes += d.length;
      if (this.opts.resetAfter !== undefined && conn.bytes >= this.opts.resetAfter) {
        // RST on TCP; a Unix socket has none, closing it is the closest.
        try {
          s.resetAndDestroy();
        } catch {
          s.destroy();
        }
        return;
      }
      this.opts.onData?.(conn.bytes);
      if (conn.bytes >= nextSlow) {
        nextSlow += this.opts.slowEvery!;
        s.pause();
        setTimeout(() => s.resume(), this.opts.slowMs ?? 1);
      }
    });
    s.on('error', (e: NodeJS.ErrnoException) => {
      conn.error = e.code ?? e.message;
    });
    s.on('close', () => {
      const out: Output = { bytes: conn.bytes, sha256: conn.hash.digest('hex') };
      if (conn.error) out.error = conn.error;
      resolve(out);
    });
    const w = this.waiting.shift();
    if (w) w(conn);
  }

  nextConn(): Promise<Conn> {
    const c = this.conns.find((x) => !(x as { taken?: boolean }).taken);
    if (c) {
      (c as { taken?: boolean }).taken = true;
      return Promise.resolve(c);
    }
    return new Promise((r) =>
      this.waiting.push((x) => {
        (x as { taken?: boolean }).taken = true;
        r(x);
      }),
    );
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    p,
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timeout: ${what}`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

/** Runs the scenario once with one implementation. */
export async function runOnce(
  impl: Impl,
  scenario: Scenario,
  options: RunOptions = {},
  base?: string,
): Promise<{ trace: Trace; raw: Raw }> {
  if (base === undefined) {
    // A run of its own: its base folder goes with it.
    const own = tmpDir();
    try {
      return await runOnce(impl, scenario, options, own);
    } finally {
      fs.rmSync(own, { recursive: true, force: true });
    }
  }
  const dir = fs.mkdtempSync(path.join(base, `${impl}-`));
  const api = impl === 'node' ? nodeApi : zcApi;
  const labels = new Map<object, string>();
  const streams = new Map<string, EventEmitter>();
  const trace: Trace = { streams: {}, snapshots: {}, orderings: {}, results: {}, outputs: {}, notes: {} };
  const raw: Raw = { impl, flow: {}, log: [], transfers: [] };
  const seen = new Map<string, Array<() => void>>();
  const fired = new Set<string>();
  const outputs = new Map<string, { read(): Promise<Output>; now(): number; prefixOf?: SourceRange }>();
  const servers: net.Server[] = [];

  let recording = true;
  const log = (label: string, name: string): void => {
    const key = `${label}:${name}`;
    raw.log.push(key);
    fired.add(key);
    for (const cb of seen.get(key)?.splice(0) ?? []) cb();
  };

  const streamTrace = (label: string): StreamTrace => (trace.streams[label] ??= { events: [], state: {} });

  const ctx: RunCtx = {
    impl,
    api,
    dir,
    watch(label, s) {
      if (streams.has(label)) throw new Error(`label ${label} used twice`);
      streams.set(label, s);
      labels.set(s, label);
      streamTrace(label);
      const emit = s.emit;
      // An own `emit` is not something the fast path checks (it looks at
      // write/_write and at listeners), and it sees every event without
      // adding a listener that could change what the stream does.
      (s as { emit: typeof emit }).emit = function (this: EventEmitter, name: string | symbol, ...args: unknown[]) {
        if (typeof name === 'string' && recording) {
          if (FLOW_EVENTS.has(name)) {
            raw.flow[label] ??= {};
            const f = raw.flow[label];
            f[name] = (f[name] ?? 0) + 1;
          } else {
            streamTrace(label).events.push(eventName(name, args));
          }
          log(label, name);
        }
        return emit.call(this, name, ...args);
      } as typeof emit;
      // Errors are recorded through emit; this listener only keeps an
      // unhandled 'error' from crashing the test process (same in both runs).
      s.on('error', () => {});
      return s;
    },
    source(label, file, options) {
      return ctx.watch(label, api.createReadStream(file, options));
    },
    fileDest(label, options = {}) {
      const { impl: which, name, prefixOf, ...wsOptions } = options;
      const file = path.join(dir, name ?? `${label}.out`);
      const create = which === 'node' ? nodeApi.createWriteStream : api.createWriteStream;
      const ws = ctx.watch(label, create(file, wsOptions));
      ctx.fileOutput(label, file, prefixOf);
      return ws;
    },
    fileOutput(label, file, prefixOf) {
      outputs.set(label, {
        read: async () => sha256File(file),
        now: () => {
          try {
            return fs.statSync(file).size;
          } catch {
            return 0;
          }
        },
        prefixOf,
      });
    },
    async socketDest(label, kind, options = {}) {
      const { prefixOf, ...recvOptions } = options;
      const server = net.createServer();
      servers.push(server);
      const receiver = new Receiver(server, recvOptions);
      let connectTo: net.NetConnectOpts;
      if (kind === 'tcp') {
        await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
        connectTo = { port: (server.address() as net.AddressInfo).port, host: '127.0.0.1' };
      } else {
        const p = path.join(dir, `${label}.sock`);
        await new Promise<void>((r) => server.listen(p, r));
        connectTo = { path: p };
      }
      const sock = await new Promise<net.Socket>((resolve, reject) => {
        const c = net.connect(connectTo, () => {
          c.removeListener('error', reject);
          resolve(c);
        });
        c.once('error', reject);
      });
      const conn = await receiver.nextConn();
      ctx.watch(label, sock);
      outputs.set(label, { read: () => conn.done, now: () => conn.bytes, prefixOf });
      return sock;
    },
    output(label, read, options = {}) {
      outputs.set(label, { read, now: options.now ?? (() => 0), prefixOf: options.prefixOf });
    },
    received(label) {
      const o = outputs.get(label);
      if (!o) throw new Error(`no output ${label}`);
      return o.now();
    },
    event(label, name) {
      streamTrace(label).events.push(name);
      log(label, name);
    },
    note(key, value) {
      trace.notes[key] = value;
    },
    snapshot(name) {
      const snap: Record<string, Record<string, unknown>> = {};
      for (const [label, s] of streams) snap[label] = captureState(s, dir);
      trace.snapshots[name] = snap;
    },
    once(label, event) {
      const key = `${label}:${event}`;
      if (fired.has(key)) return Promise.resolve();
      return new Promise((r) => {
        const list = seen.get(key) ?? [];
        list.push(r);
        seen.set(key, list);
      });
    },
    async until(cond) {
      let spins = 0;
      while (!cond()) {
        if (++spins % 16 === 0) await delay(1);
        else await new Promise((r) => setImmediate(r));
      }
    },
    pipeline(name, ...list) {
      return new Promise((resolve) => {
        (stream.pipeline as (...a: unknown[]) => unknown)(...list, (err: unknown) => {
          trace.results[name] = err ? serializeError(err, dir) : err === undefined ? 'undefined' : err;
          log('result', name); // global log only: the order of two callbacks is cross-stream timing
          resolve();
        });
      });
    },
    async pipelinePromise(name, ...list) {
      try {
        const v = await (streamPromises.pipeline as (...a: unknown[]) => Promise<unknown>)(...list);
        trace.results[name] = { resolved: v === undefined ? 'undefined' : v };
      } catch (err) {
        trace.results[name] = { rejected: serializeError(err, dir) };
      }
      log('result', name); // global log only: the order of two callbacks is cross-stream timing
    },
    finished(name, s, options) {
      return new Promise((resolve) => {
        stream.finished(s, options ?? {}, (err) => {
          trace.results[name] = err ? serializeError(err, dir) : err === undefined ? 'undefined' : err;
          log('result', name); // global log only: the order of two callbacks is cross-stream timing
          resolve();
        });
      });
    },
  };

  const previous = zc.configure(impl === 'zerocopy' ? { minFastPathBytes: 0 } : {});
  const rec = recordTransfers();
  try {
    try {
      await withTimeout(scenario(ctx), options.timeoutMs ?? 30_000, 'scenario');
    } catch (err) {
      trace.timedOut = String((err as Error).message ?? err);
    }
    // Late events (a 'close' after the awaited 'finish', an unpipe) land here.
    await delay(options.settleMs ?? 20);
    for (let i = 0; i < 3; i++) await new Promise((r) => setImmediate(r));

    recording = false;
    for (const [label, s] of streams) {
      const t = streamTrace(label);
      t.state = captureState(s, dir);
      t.events = canonicalEvents(t.events);
    }
    for (const [a, b] of options.order ?? DEFAULT_ORDER) {
      const ia = raw.log.indexOf(a);
      const ib = raw.log.indexOf(b);
      trace.orderings[`${a} < ${b}`] = ia < 0 || ib < 0 ? 'missing' : ia < ib ? 'before' : 'after';
    }
  } finally {
    rec.stop();
    zc.configure(previous);
    for (const m of rec.messages) {
      raw.transfers.push({
        path: m.path,
        reason: m.reason,
        bytes: m.bytes,
        source: labels.get(m.source as object) ?? '?',
        destination: labels.get(m.destination as object) ?? '?',
        ...(m.error ? { error: String(m.error.message) } : {}),
      });
    }
    // Cleanup after the state was captured: nothing is left open.
    for (const s of streams.values()) {
      const d = s as unknown as { destroyed?: boolean; destroy?: () => void };
      if (d.destroyed === false && typeof d.destroy === 'function') d.destroy();
    }
  }
  for (const [label, o] of outputs) {
    try {
      const out = await withTimeout(o.read(), 10_000, `output ${label}`);
      if (o.prefixOf) {
        const start = typeof o.prefixOf.start === 'function' ? o.prefixOf.start() : (o.prefixOf.start ?? 0);
        out.prefix = out.sha256 === rangeHash(o.prefixOf.file, start, out.bytes);
      }
      trace.outputs[label] = out;
    } catch (err) {
      trace.outputs[label] = { bytes: -1, sha256: String((err as Error).message) };
    }
  }
  for (const server of servers) await new Promise<void>((r) => server.close(() => r()));
  fs.rmSync(dir, { recursive: true, force: true });
  return { trace, raw };
}

/** Runs the scenario with Node's streams, then with zerocopy's (ZEROCOPY_MIN_BYTES=0). */
export async function runBoth(scenario: Scenario, options: RunOptions = {}): Promise<RunResult> {
  const [a, b] = options.impls ?? ['node', 'zerocopy'];
  const base = tmpDir();
  try {
    const first = await runOnce(a, scenario, options, base);
    const second = await runOnce(b, scenario, options, base);
    return { node: first.trace, zerocopy: second.trace, raw: { node: first.raw, zerocopy: second.raw } };
  } finally {
    fs.rmSync(base, { recursive: true, force: true });
  }
}

/**
 * A copy of the trace with the given dotted paths replaced by '~' — for
 * values that legitimately depend on the moment something happened (how many
 * bytes got through before a destroy). Invariants on them are checked apart.
 */
export function mask(trace: Trace, paths: string[]): Trace {
  const copy = structuredClone(trace) as Trace;
  for (const p of paths) {
    const parts = p.split('.');
    let obj: Record<string, unknown> | undefined = copy as unknown as Record<string, unknown>;
    for (const part of parts.slice(0, -1)) {
      obj = obj?.[part] as Record<string, unknown> | undefined;
    }
    const last = parts[parts.length - 1];
    // A path inside one already masked (or absent) is masked already.
    if (obj && typeof obj === 'object' && last in obj) obj[last] = '~';
  }
  return copy;
}

/** The fast path moved this run's bytes (at least one transfer not 'normal'). */
/** The whole test run has the fast path switched off (ZEROCOPY_DISABLE=1). */
export const fastPathOff = process.env.ZEROCOPY_DISABLE === '1';

/**
 * Some transfer of this run went through the kernel — or the fast path is
 * switched off for the whole test run (ZEROCOPY_DISABLE=1, the second CI
 * pass), where the traces are still compared but nothing can take it.
 */
export function tookFastPath(raw: Raw): boolean {
  if (fastPathOff) return true;
  return raw.transfers.some((t) => t.path !== 'normal');
}

/** Every transfer decision of this run was 'normal' (or none was published). */
export function declinedFastPath(raw: Raw): boolean {
  return raw.transfers.every((t) => t.path === 'normal');
}
