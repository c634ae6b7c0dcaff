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
