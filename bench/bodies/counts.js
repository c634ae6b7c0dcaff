'use strict';
// Shared by the measured Node processes of the bodies workload
// (bench/workloads/bodies.js starts them): counts what the `zerocopy:transfer`
// diagnostics channel reports — flows per path, `path: reason`, and the bytes
// the kernel moved (every path but 'normal'). Subscribed in stock processes
// too, where nothing publishes: their counts stay 0.
const dc = require('node:diagnostics_channel');

// Cheap per message (only the register variants publish, so this is their
// cost alone): no array made per message to count the reasons kept.
// splicedBytes starts as -0 (a double): from a small integer, its growth past
// 2**31 would deoptimize the subscriber (and publish(), where it is inlined)
// in the register variants only.
const counts = { paths: {}, reasons: {}, splicedBytes: -0 };
let reasonsKept = 0;
dc.subscribe('zerocopy:transfer', (m) => {
  counts.paths[m.path] = (counts.paths[m.path] || 0) + 1;
  const k = `${m.path}: ${m.reason}`;
  const had = counts.reasons[k];
  if (had !== undefined) counts.reasons[k] = had + 1;
  else if (reasonsKept < 32) {
    reasonsKept++;
    counts.reasons[k] = 1;
  }
  if (m.path !== 'normal') counts.splicedBytes += m.bytes;
});

/** A copy of the counts so far (the driver takes them before and after a run). */
const snapshot = () => JSON.parse(JSON.stringify(counts));

function die(err) {
  process.stderr.write(`${err?.stack || err}\n`);
  process.exit(1);
}
process.on('uncaughtException', die);
process.on('SIGTERM', () => process.exit(0));

/** Prints `PORT <n>` once the server listens (the driver waits for it). */
const listening = (server) => process.stdout.write(`PORT ${server.address().port}\n`);

module.exports = { counts, snapshot, die, listening };
