// Which kind of destination a stream is, and so whose facts describe it: a
// socket, an HTTP response, an fs.WriteStream, process.stdout on a file.
import * as fs from 'node:fs';
import * as net from 'node:net';
import type { Writable } from 'node:stream';
import { fsError } from '../errors';
import type { NativeBinding } from '../native';
import { type DestinationFacts, declined } from './destination';
import { describeFd, describeSocket, describeWriteStream } from './fd-destination';
import { describeResponse, isHttp2Response, isOutgoingBody } from './http-response';
import { syncWriteStreamFd, writeIsWrapped } from './node-internals';

/** `sourceEncoding`: the Content-Encoding a body source's bytes already carry (see describeResponse). */
/**
 * Could this stream be written by the kernel at all (a socket, an HTTP
 * message, an fs.WriteStream, stdout on a file)? The cheap look a flow takes
 * before it holds anything; describeDestination() takes the full one.
 */
export function mayHaveFd(dest: Writable): boolean {
  return (
    dest instanceof net.Socket || dest instanceof fs.WriteStream || isOutgoingBody(dest) || syncWriteStreamFd(dest) >= 0
  );
}

export function describeDestination(binding: NativeBinding, dest: Writable, sourceEncoding?: string): DestinationFacts {
  if (dest === null || typeof dest !== 'object') return declined('destination is not a stream');
  if (dest.writableObjectMode) return declined('destination in object mode');
  if (dest.destroyed || dest.writableEnded) return declined('destination ended');
  if (dest.writableCorked) return declined('destination corked');
  if (writeIsWrapped(dest)) return declined('destination write() is wrapped');

  if (dest instanceof net.Socket) return describeSocket(binding, dest);
  if (isOutgoingBody(dest)) return describeResponse(binding, dest, sourceEncoding);
  if (dest instanceof fs.WriteStream) return describeWriteStream(binding, dest);
  const fd = syncWriteStreamFd(dest);
  if (fd >= 0)
    return describeFd(
      binding,
      dest,
      fd,
      -1,
      () => undefined,
      (e) => fsError(e, 'write'),
    );
  if (isHttp2Response(dest)) return declined('HTTP/2 response');
  return declined('destination has no fd');
}
