// zerocopy/register: `node --require zerocopy/register app.js` (or --import)
// makes fs.createReadStream/createWriteStream and fs.ReadStream/WriteStream
// return ours, for CommonJS callers and for ESM named imports of fs alike, and
// offers socket/pipe → fd flows set up by net.Socket#pipe() to the fast path.
import * as mod from 'node:module';
import type { Readable, Writable } from 'node:stream';
import { settings } from './config';
import { debug } from './diagnostics';
import { learnMounts } from './facts/mounts';
import { fastPath } from './facts/source';
import { adoptAfterPipe, kOffersOnPipe, kPipeHooked } from './paths/adopt';
import { makeInLoopStat } from './paths/in-loop-stat';
import { createReadStream, ReadStream } from './streams/read-stream';
import { createWriteStream, WriteStream } from './streams/write-stream';

// The real module objects, not the namespace copies `import * as` would give.
import fs = require('node:fs');
import http = require('node:http');
import net = require('node:net');

if ((fs.ReadStream as unknown) !== ReadStream) {
  // fs defines ReadStream/WriteStream as accessors whose setter also changes
  // what fs.createReadStream constructs; set both explicitly all the same.
  const target = fs as unknown as Record<string, unknown>;
  target.ReadStream = ReadStream;
  target.WriteStream = WriteStream;
  target.createReadStream = createReadStream;
  target.createWriteStream = createWriteStream;
  // Static servers stat each file before streaming it: cached paths too skip the threadpool.
  const fp = fastPath();
  if ('on' in fp && settings.inLoop) {
    target.stat = makeInLoopStat(fp.on, fs.stat);
    learnMounts();
  }
  mod.syncBuiltinESMExports();
  debug(
    'registered: fs streams are zerocopy streams%s',
    'on' in fp && settings.inLoop ? '; fs.stat runs cached lookups in the loop' : '',
  );
}

// a.pipe(b) and stream.pipeline(a, b) from sockets, pipes and HTTP message
// bodies: offer the flow to the fast path right after Node's own pipe() set
// it up (before any byte has flowed).
function offerPipes(proto: Record<symbol, unknown> & { pipe: Readable['pipe'] }, what: string): void {
  if (Object.hasOwn(proto, kPipeHooked)) return;
  const nodePipe = proto.pipe;
  proto.pipe = function pipe<T extends NodeJS.WritableStream>(this: Readable, dest: T, options?: { end?: boolean }): T {
    const result = nodePipe.call(this, dest, options) as T;
    // Our WriteStream heard of it already, from its own 'pipe' event.
    if ((dest as unknown as Record<symbol, unknown>)[kOffersOnPipe] !== true)
      adoptAfterPipe(this, dest as unknown as Writable);
    return result;
  };
  Object.defineProperty(proto, kPipeHooked, { value: true });
  debug('registered: %s#pipe offers flows to the fast path', what);
}

type PipeProto = Record<symbol, unknown> & { pipe: Readable['pipe'] };
offerPipes(net.Socket.prototype as unknown as PipeProto, 'net.Socket');
offerPipes(http.IncomingMessage.prototype as unknown as PipeProto, 'http.IncomingMessage');
