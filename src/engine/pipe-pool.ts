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
  /** Asked for BIG_PIPE_SIZE (whatever the kernel granted): goes back to the big pipes. */
  big: boolean;
  /** The binding that made it, and closes it. */
  binding: NativeBinding;
}

/** Each pipe asks for this much buffer. */
export const PIPE_SIZE = 256 * 1024;
/**
 * A transfer into a file with a MiB or more to go asks for a pipe this big:
 * the kernel takes at most a pipeful per splice, and the pool job that fills
 * and drains it pays per splice (64 MiB uploads side by side, 8 slices:
 * 1.22x the requests per second, 0.79x the CPU per request of 256 KiB pipes).
 */
export const BIG_PIPE_SIZE = 1024 * 1024;
/** (MAX_IN_USE - MAX_BIG_IN_USE) × 256 KiB + MAX_BIG_IN_USE × 1 MiB = 60 MiB, under the 64 MiB per user. */
export const MAX_IN_USE = 192;
export const MAX_BIG_IN_USE = 16;
const MAX_IDLE = 32;
const MAX_BIG_IDLE = 4;

const idle: Pipe[] = [];
const idleBig: Pipe[] = [];
let inUse = 0;
let bigInUse = 0;

export function pipeStats(): { idle: number; inUse: number } {
  return { idle: idle.length + idleBig.length, inUse };
}

/**
 * A clean pipe, or null (pool exhausted, EMFILE, per-user limit...). `big`:
 * one of BIG_PIPE_SIZE if one may be had, else one of PIPE_SIZE.
 */
export function acquirePipe(binding: NativeBinding, big = false): Pipe | null {
  if (inUse >= MAX_IN_USE) return null;
  const wantBig = big && bigInUse < MAX_BIG_IN_USE;
  const list = wantBig ? idleBig : idle;
  let pipe = list.length > 0 && list[list.length - 1].binding === binding ? list.pop() : undefined;
  if (!pipe) {
    const [err, readFd, writeFd, capacity] = binding.makePipe(wantBig ? BIG_PIPE_SIZE : PIPE_SIZE);
    if (err !== 0) return null;
    pipe = { readFd, writeFd, capacity, big: wantBig, binding };
  }
  inUse++;
  if (pipe.big) bigInUse++;
  return pipe;
}

/** Returns a pipe; it is pooled only if it is verifiably empty. */
export function releasePipe(pipe: Pipe, maybeDirty: boolean): void {
  inUse--;
  if (pipe.big) bigInUse--;
  const list = pipe.big ? idleBig : idle;
  if (
    !maybeDirty &&
    list.length < (pipe.big ? MAX_BIG_IDLE : MAX_IDLE) &&
    pipe.binding.bytesReadable(pipe.readFd) === 0
  ) {
    list.push(pipe);
    return;
  }
  closePipe(pipe);
}

/** Closes the idle pipes (tests use it to check that nothing leaks). */
export function drainPipePool(): void {
  for (const p of [...idle.splice(0), ...idleBig.splice(0)]) closePipe(p);
}

function closePipe(pipe: Pipe): void {
  pipe.binding.close(pipe.readFd);
  pipe.binding.close(pipe.writeFd);
}
