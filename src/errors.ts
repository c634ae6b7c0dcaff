// Errors shaped exactly as Node's own fs and net layers shape them, so a caller
// cannot tell whether a failed transfer ran on the fast path.
import * as util from 'node:util';

function describe(errno: number): [string, string] {
  const uv = -Math.abs(errno);
  const entry = util.getSystemErrorMap().get(uv);
  return entry ? [entry[0], entry[1]] : [util.getSystemErrorName(uv), 'unknown error'];
}

export interface SystemError extends Error {
  errno: number;
  code: string;
  syscall: string;
  path?: string;
}

/** Like fs's uvException: "EIO: i/o error, read". */
export function fsError(errno: number, syscall: string, path?: string): SystemError {
  const [code, desc] = describe(errno);
  let message = `${code}: ${desc}, ${syscall}`;
  if (path !== undefined) message += ` '${path}'`;
  const err = new Error(message) as SystemError;
  err.errno = -Math.abs(errno);
  err.code = code;
  err.syscall = syscall;
  if (path !== undefined) err.path = path;
  return err;
}

/** Like net's errnoException: "write EPIPE". */
export function netError(errno: number, syscall: string): SystemError {
  const [code] = describe(errno);
  const err = new Error(`${syscall} ${code}`) as SystemError;
  err.errno = -Math.abs(errno);
  err.code = code;
  err.syscall = syscall;
  return err;
}

/**
 * The source file shrank below bytes already handed to the kernel. sendfile
 * and splice pass page-cache pages by reference, and a truncation zeroes the
 * cut part of a page still queued for the peer: rather than let the peer
 * take zeros for the file's bytes with a clean end, the destination is
 * ended with this error (a TCP peer gets a reset). Node's own path, which
 * copies at read time, has no such window.
 */
export function sourceShrankError(size: number, reached: number): Error & { code: string } {
  const err = new Error(
    `source file shrank to ${size} bytes while bytes up to offset ${reached} were queued ` +
      'for the destination by sendfile/splice (its reader could get zeros for them)',
  ) as Error & { code: string };
  err.code = 'ERR_ZEROCOPY_SOURCE_SHRANK';
  return err;
}
