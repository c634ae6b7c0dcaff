// How many of our chunks may be on the libuv threadpool at once. libuv's work
// queue is one FIFO shared with fs and dns: when every transfer queued its
// next chunk the moment the last returned, a program with 1000 transfers had
// ~1000 chunks ahead of each fs request — fs.readFile p99 14.8 s into files,
// dns.lookup practically never answered (docs/reliability.md, "Threadpool
// fairness"). With at most MAX_POOL_JOBS of ours on the pool, the rest wait
// here, in FIFO order (so transfers take turns), and an fs or dns request
// waits for at most that many chunks. One transfer never has more than one
// chunk out, so a single transfer is not slowed by the gate.
import { MAX_POOL_JOBS } from '../config';
import type { NativeBinding } from '../native';

export interface PoolJob {
  /** True if the job had not started: it never will, and its callback never runs. */
  cancel(): boolean;
}

interface Entry {
  start: () => void;
  queued: boolean;
}

let running = 0;
const waiting: Entry[] = [];

/**
 * Starts `run` when fewer than MAX_POOL_JOBS of ours are on the pool; `run`
 * queues one native job and calls the `done` it is given from that job's
 * callback, before anything else.
 */
function gated(run: (done: () => void) => void): PoolJob {
  const entry: Entry = {
    queued: true,
    start: () => {
      entry.queued = false;
      running++;
      run(() => {
        running--;
        // The next in line goes first: a transfer that queues its next chunk
        // from its callback joins the end of the line.
        const next = waiting.shift();
        if (next) next.start();
      });
    },
  };
  if (running < MAX_POOL_JOBS) entry.start();
  else waiting.push(entry);
  return {
    cancel(): boolean {
      if (!entry.queued) return false;
      entry.queued = false;
      waiting.splice(waiting.indexOf(entry), 1);
      return true;
    },
  };
}

/** binding.copy, through the gate. */
export function copyOnPool(
  binding: NativeBinding,
  op: number,
  inFd: number,
  outFd: number,
  inOffset: number,
  outOffset: number,
  len: number,
  cb: (errno: number, bytes: number) => void,
): PoolJob {
  return gated((done) =>
    binding.copy(op, inFd, outFd, inOffset, outOffset, len, (errno, n) => {
      done();
      cb(errno, n);
    }),
  );
}

/** What a relay through an intermediate pipe is given. */
export interface RelayJob {
  inFd: number;
  pipe: { readFd: number; writeFd: number; capacity: number };
  outFd: number;
  outOffset: number;
  inPipe: number;
  take: number;
  budget: number;
}

/** binding.relay, through the gate. */
export function relayOnPool(
  binding: NativeBinding,
  job: RelayJob,
  cb: (errno: number, side: number, received: number, delivered: number) => void,
): PoolJob {
  const { inFd, pipe, outFd, outOffset, inPipe, take, budget } = job;
  return gated((done) =>
    binding.relay(
      inFd,
      pipe.readFd,
      pipe.writeFd,
      outFd,
      outOffset,
      inPipe,
      pipe.capacity,
      take,
      budget,
      (errno, side, received, delivered) => {
        done();
        cb(errno, side, received, delivered);
      },
    ),
  );
}

/** Chunks of ours on the pool now, and waiting for a turn. */
export function poolJobs(): { running: number; waiting: number } {
  return { running, waiting: waiting.length };
}
