// Node's own fs stream classes, captured before zerocopy/register replaces the
// fs exports, so our subclasses always extend the real ones.
import * as fs from 'node:fs';

export const kOriginal = Symbol.for('zerocopy.original');

type WithOriginal<T> = T & { [kOriginal]?: T };

export const NodeReadStream: typeof fs.ReadStream =
  (fs.ReadStream as WithOriginal<typeof fs.ReadStream>)[kOriginal] ?? fs.ReadStream;
export const NodeWriteStream: typeof fs.WriteStream =
  (fs.WriteStream as WithOriginal<typeof fs.WriteStream>)[kOriginal] ?? fs.WriteStream;
