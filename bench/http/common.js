'use strict';
// Shared by the Node HTTP servers of the bench (bench/http.js starts them):
//
//   taskset -c 0 node [--require dist/register.js] bench/http/<server>.js <root> [mode]
//
// Every server serves the files in <root> by name (GET /<name>), answers
// GET /empty with status 200 and an empty body (the framework's own ceiling),
// and GET /__paths with the zerocopy:transfer counts seen so far (how many
// pipe() flows took which path: the driver reads it around each run; nothing
// publishes there in a stock process). It listens on 127.0.0.1, port 0, and
// prints `PORT <n>` once listening.
const fs = require('node:fs');
const dc = require('node:diagnostics_channel');

const root = process.argv[2];
if (!root || !fs.statSync(root).isDirectory()) {
  process.stderr.write('usage: server.js <root dir> [mode]\n');
  process.exit(2);
}
const mode = process.argv[3] || '';

// Path counts, keyed `path` (flows) and `path: reason` (why), kept small.
const paths = {};
const reasons = {};
dc.subscribe('zerocopy:transfer', (m) => {
  paths[m.path] = (paths[m.path] || 0) + 1;
  const k = `${m.path}: ${m.reason}`;
  if (k in reasons || Object.keys(reasons).length < 32) reasons[k] = (reasons[k] || 0) + 1;
});
const pathsJson = () => JSON.stringify({ paths, reasons });

function listening(server) {
  const { port } = server.address();
  process.stdout.write(`PORT ${port}\n`);
}

function die(err) {
  process.stderr.write(`${err?.stack || err}\n`);
  process.exit(1);
}
process.on('uncaughtException', die);
process.on('SIGTERM', () => process.exit(0));

module.exports = { root, mode, pathsJson, listening };
