// How many file calls one turn of the event loop may make itself. Each costs
// the loop a few microseconds of syscalls that a threadpool call would have
// run on another core; one after another (a server answering, a script
// reading files in turn) that is far cheaper than the round trip, but a burst
// of a thousand streams opened at once would run them all in one turn, on one
// core, while the pool sat idle: measured (bench/reliability/small-files.js,
// 1,000 cached 64 KiB files at once), 0.89x Node's files/s with every call in
// the loop. Past this many calls in a turn the rest go to the pool, as Node's
// do, and the next turn starts afresh.
export const MAX_IN_LOOP_PER_TURN = 32;

let spent = 0;
let armed = false;

function nextTurn(): void {
  spent = 0;
  armed = false;
}

/** True if this call may run in the loop now (and counts it). */
export function takeLoopTurn(): boolean {
  if (spent >= MAX_IN_LOOP_PER_TURN) return false;
  spent++;
  if (!armed) {
    armed = true;
    // Unref'd: it keeps nothing alive; if the loop has nothing else to do, no call is waiting for it.
    setImmediate(nextTurn).unref();
  }
  return true;
}
