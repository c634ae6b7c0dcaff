// WriteStream: a real fs.WriteStream. A kernel transfer may write into it
// directly (from our ReadStream, or from a socket/pipe piped into it); its
// 'close' waits until the native side has let go, so no byte lands after 'close'.
import type * as fs from 'node:fs';
import type { Readable } from 'node:stream';
import { destroyAfterTransfer, transferOf } from '../engine/lifecycle';
import { adoptAfterPipe, kOffersOnPipe } from '../paths/adopt';
import { kOriginal, NodeWriteStream } from './original-fs';

type WriteStreamOptions = Parameters<typeof import('node:fs').createWriteStream>[1];

export type WriteStream = fs.WriteStream;

export interface WriteStreamConstructor {
  new (path: fs.PathLike, options?: WriteStreamOptions): WriteStream;
  (path: fs.PathLike, options?: WriteStreamOptions): WriteStream;
  prototype: WriteStream;
}

function ZeroCopyWriteStream(this: unknown, path: fs.PathLike, options?: WriteStreamOptions): WriteStream {
  if (!(this instanceof NodeWriteStream)) {
    return new (ZeroCopyWriteStream as unknown as WriteStreamConstructor)(path, options);
  }
  (NodeWriteStream as unknown as (this: unknown, ...a: unknown[]) => void).call(this, path, options);
  // socket.pipe(fileStream): the socket is Node's class, so the destination
  // is where we hear of the flow.
  (this as WriteStream).on('pipe', onPipe);
  return this as WriteStream;
}

function onPipe(this: WriteStream, src: Readable): void {
  adoptAfterPipe(src, this);
}

export const WriteStream = ZeroCopyWriteStream as unknown as WriteStreamConstructor;
Object.defineProperty(WriteStream, 'name', { value: 'WriteStream' });
Object.setPrototypeOf(WriteStream.prototype, NodeWriteStream.prototype);
Object.setPrototypeOf(WriteStream, NodeWriteStream);
Object.defineProperty(WriteStream, kOriginal, { value: NodeWriteStream });
Object.defineProperty(WriteStream.prototype, kOffersOnPipe, { value: true });

type DestroyProto = { _destroy(err: Error | null, cb: (err?: Error | null) => void): void };
const nodeProto = NodeWriteStream.prototype as unknown as DestroyProto;

(WriteStream.prototype as unknown as DestroyProto)._destroy = function _destroy(
  this: WriteStream,
  err: Error | null,
  cb: (err?: Error | null) => void,
): void {
  // No transfer (the usual case): Node's own _destroy, no closure made.
  if (transferOf(this) === null) {
    nodeProto._destroy.call(this, err, cb);
    return;
  }
  destroyAfterTransfer(this, () => nodeProto._destroy.call(this, err, cb));
};

export function createWriteStream(path: fs.PathLike, options?: WriteStreamOptions): WriteStream {
  return new WriteStream(path, options);
}
