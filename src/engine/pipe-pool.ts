// Intermediate pipes for splicing socket → socket/file (splice needs a pipe on
// one side). Rules, from HAProxy's and Go's pools:
// - a pipe goes back to the pool only when it is empty; one that may still hold
//   bytes (an error, an abort) is closed, never reused;
// - the pool is bounded, in use and idle, and sized well below the per-user
//   pipe-buffer limit (pipe-user-pages-soft, 64 MiB by default): past it the
//   kernel hands out one-page pipes and refuses F_SETPIPE_SZ;
// - when no pipe can be had, the transfer takes the normal path instead.
import type { NativeBinding } from '../native';

export interface Pipe {
  readFd: number;
  writeFd: number;
  capacity: number;
  /** The binding that made it, and closes it. */
  binding: NativeBinding;
}

/** Each pipe asks for this much buffer; 256 KiB × MAX_IN_USE stays at 48 MiB. */
export const PIPE_SIZE = 256 * 1024;
export const MAX_IN_USE = 192;
const MAX_IDLE = 32;

const idle: Pipe[] = [];
let inUse = 0;

export function pipeStats(): { idle: number; inUse: number } {
  return { idle: idle.length, inUse };
}

/** A clean pipe, or null (pool exhausted, EMFILE, per-user limit...). */
export function acquirePipe(binding: NativeBinding): Pipe | null {
  if (inUse >= MAX_IN_USE) return null;
  let pipe = idle.length > 0 && idle[idle.length - 1].binding === binding ? idle.pop() : undefined;
  if (!pipe) {
    const [err, readFd, writeFd, capacity] = binding.makePipe(PIPE_SIZE);
    if (err !== 0) return null;
    pipe = { readFd, writeFd, capacity, binding };
  }
  inUse++;
  return pipe;
}

/** Returns a pipe; it is pooled only if it is verifiably empty. */
export function releasePipe(pipe: Pipe, maybeDirty: boolean): void {
  inUse--;
  if (!maybeDirty && idle.length < MAX_IDLE && pipe.binding.bytesReadable(pipe.readFd) === 0) {
    idle.push(pipe);
    return;
  }
  closePipe(pipe);
}

/** Closes the idle pipes (tests use it to check that nothing leaks). */
export function drainPipePool(): void {
  for (const p of idle.splice(0)) closePipe(p);
}

function closePipe(pipe: Pipe): void {
  pipe.binding.close(pipe.readFd);
  pipe.binding.close(pipe.writeFd);
}
