// Intermediate pipes for splicing socket → socket/file (splice needs a pipe on
// one side). Rules, from HAProxy's and Go's pools:
// - a pipe goes back to the pool only when it is empty; one that may still hold
//   bytes (an error, an abort) is closed, never reused;
// - the pool is bounded, in use and idle, and sized well below the per-user
//   pipe-buffer limit (pipe-user-pages-soft, 64 MiB by default): past it the
//   kernel hands out one-page pipes and refuses F_SETPIPE_SZ;
// - when no pipe can be had, the transfer takes the normal path instead.
import { native } from '../native';

export interface Pipe { readFd: number; writeFd: number; capacity: number }

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
export function acquirePipe(): Pipe | null {
  if (!native || inUse >= MAX_IN_USE) return null;
  let pipe = idle.pop();
  if (!pipe) {
    const [err, readFd, writeFd, capacity] = native.makePipe(PIPE_SIZE);
    if (err !== 0) return null;
    pipe = { readFd, writeFd, capacity };
  }
  inUse++;
  return pipe;
}

/** Returns a pipe; it is pooled only if it is verifiably empty. */
export function releasePipe(pipe: Pipe, maybeDirty: boolean): void {
  inUse--;
  if (!maybeDirty && idle.length < MAX_IDLE && native!.bytesReadable(pipe.readFd) === 0) {
    idle.push(pipe);
    return;
  }
  native!.close(pipe.readFd);
  native!.close(pipe.writeFd);
}

/** Closes the idle pipes (tests use it to check that nothing leaks). */
export function drainPipePool(): void {
  for (const p of idle.splice(0)) {
    native!.close(p.readFd);
    native!.close(p.writeFd);
  }
}
