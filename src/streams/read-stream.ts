// ReadStream: a real fs.ReadStream whose pipe() flows may run in the kernel.
// Node's pipe() machinery is untouched: it asks for data through _read(), and
// that is the one place we may answer with a kernel transfer instead of a read.
import type * as fs from 'node:fs';
import { destroyAfterTransfer, transferOf } from '../engine/lifecycle';
import { type FileSource, fastPath } from '../facts/source';
import { forgetSource, pipeFromFile, readNeedsDecision } from '../paths/from-file';
import { withInLoopFs } from '../paths/in-loop-fs';
import { noteGivenFd } from '../paths/replay-unseen';
import { kOriginal, NodeReadStream } from './original-fs';

type ReadStreamOptions = Parameters<typeof import('node:fs').createReadStream>[1];

export type ReadStream = fs.ReadStream;

export interface ReadStreamConstructor {
  new (path: fs.PathLike, options?: ReadStreamOptions): ReadStream;
  (path: fs.PathLike, options?: ReadStreamOptions): ReadStream;
  prototype: ReadStream;
}

// A function, not a class, like Node's: old code calls fs.ReadStream(path)
// without `new`, and fs.ReadStream.call(this, ...) from util.inherits subclasses.
function ZeroCopyReadStream(this: unknown, path: fs.PathLike, options?: ReadStreamOptions): ReadStream {
  if (!(this instanceof NodeReadStream)) {
    return new (ZeroCopyReadStream as unknown as ReadStreamConstructor)(path, options);
  }
  // A path Node would open with its own fs: open, read and close cached files in the loop.
  const fp = fastPath();
  const opts = 'on' in fp ? withInLoopFs(options, fp.on) : options;
  (NodeReadStream as unknown as (this: unknown, ...a: unknown[]) => void).call(this, path, opts);
  // Node opens a path later; an fd set already is the caller's, at a position we cannot know.
  if ((this as FileSource).fd !== null) noteGivenFd(this as object);
  return this as ReadStream;
}

export const ReadStream = ZeroCopyReadStream as unknown as ReadStreamConstructor;
Object.defineProperty(ReadStream, 'name', { value: 'ReadStream' });
Object.setPrototypeOf(ReadStream.prototype, NodeReadStream.prototype);
Object.setPrototypeOf(ReadStream, NodeReadStream);
Object.defineProperty(ReadStream, kOriginal, { value: NodeReadStream });

const proto = ReadStream.prototype as unknown as FileSource & {
  _read(n: number): void;
  _destroy(err: Error | null, cb: (err?: Error | null) => void): void;
};
const nodeProto = NodeReadStream.prototype as unknown as typeof proto;

proto._read = function _read(this: FileSource, n: number): void {
  if (readNeedsDecision(this)) pipeFromFile(this, () => nodeProto._read.call(this, n));
  else nodeProto._read.call(this, n);
};

proto._destroy = function _destroy(this: FileSource, err: Error | null, cb: (err?: Error | null) => void): void {
  forgetSource(this);
  // No transfer (every small file): Node's own _destroy, no closure made.
  if (transferOf(this) === null) {
    nodeProto._destroy.call(this, err, cb);
    return;
  }
  destroyAfterTransfer(this, () => nodeProto._destroy.call(this, err, cb));
};

// unpipe() and a destination's backpressure both end in pause(): stop a
// transfer that is waiting on a full socket now, not when it next drains.
proto.pause = function pause(this: FileSource) {
  const r = nodeProto.pause.call(this);
  transferOf(this)?.poke();
  return r;
};

export function createReadStream(path: fs.PathLike, options?: ReadStreamOptions): ReadStream {
  return new ReadStream(path, options);
}
