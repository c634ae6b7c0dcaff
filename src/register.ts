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
import { adoptAfterPipe } from './paths/from-socket';
import { makeInLoopStat } from './paths/in-loop-stat';
import { createReadStream, ReadStream } from './streams/read-stream';
import { createWriteStream, WriteStream } from './streams/write-stream';

// The real module objects, not the namespace copies `import * as` would give.
import fs = require('node:fs');
import net = require('node:net');

const kRegistered = Symbol.for('zerocopy.registered');

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

// a.pipe(b) and stream.pipeline(a, b) from sockets and pipes: offer the flow
// to the socket-source fast path right after Node's own pipe() set it up.
const socketProto = net.Socket.prototype as unknown as Record<symbol, unknown> & { pipe: Readable['pipe'] };
if (!socketProto[kRegistered]) {
  const nodePipe = socketProto.pipe;
  socketProto.pipe = function pipe<T extends NodeJS.WritableStream>(
    this: Readable,
    dest: T,
    options?: { end?: boolean },
  ): T {
    const result = nodePipe.call(this, dest, options) as T;
    adoptAfterPipe(this, dest as unknown as Writable);
    return result;
  };
  Object.defineProperty(socketProto, kRegistered, { value: true });
  debug('registered: net.Socket#pipe offers flows to the fast path');
}
