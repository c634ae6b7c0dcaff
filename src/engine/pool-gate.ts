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

/** A binding method's arguments before its callback, and that callback. */
type ArgsOf<F> = F extends (...a: [...infer A, infer _Cb]) => void ? A : never;
type CallbackOf<F> = F extends (...a: [...infer _A, infer Cb]) => void ? Cb : never;

/**
 * Starts `run` when fewer than MAX_POOL_JOBS of ours are on the pool. `run`
 * queues one native job whose callback is the `settle` it is given: the gate
 * lets the next one in line start, then calls `cb`.
 */
function gated<R extends unknown[]>(run: (settle: (...r: R) => void) => void, cb: (...r: R) => void): PoolJob {
  const entry: Entry = {
    queued: true,
    start: () => {
      entry.queued = false;
      running++;
      run((...r) => {
        running--;
        // The next in line goes first: a transfer that queues its next chunk
        // from cb joins the end of the line.
        const next = waiting.shift();
        if (next) next.start();
        cb(...r);
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

type Copy = NativeBinding['copy'];
type Relay = NativeBinding['relay'];
export type RelayArgs = ArgsOf<Relay>;

/** binding.copy(...args, cb), through the gate. */
export function copyOnPool(binding: NativeBinding, args: ArgsOf<Copy>, cb: CallbackOf<Copy>): PoolJob {
  return gated((settle) => binding.copy(...args, settle), cb);
}

/** binding.relay(...args, cb), through the gate. */
export function relayOnPool(binding: NativeBinding, args: RelayArgs, cb: CallbackOf<Relay>): PoolJob {
  return gated((settle) => binding.relay(...args, settle), cb);
}

/** Chunks of ours on the pool now, and waiting for a turn. */
export function poolJobs(): { running: number; waiting: number } {
  return { running, waiting: waiting.length };
}
