#!/usr/bin/env node
// Usage: node bench/tools/copy-soak.js [ROUNDS] [PER_ROUND]
//
// Many concurrent copies through zerocopy, every byte checked: positional
// (start/end into an r+ WriteStream with start) and whole-file copies into
// Node's and zerocopy's WriteStreams, and file → TCP socket sends. Spawns a
// busy process beside itself (CPU load on these 2-core machines is what
// exposes ordering races). Prints the counts per kind and the Node version.
'use strict';
const cp = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const zc = require('../../dist/index.js');

const ROUNDS = Number(process.argv[2] ?? 10);
const PER_ROUND = Number(process.argv[3] ?? 120);
const MiB = 1 << 20;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'zerocopy-soak-'));
const srcFile = path.join(dir, 'src.bin');
const content = crypto.randomBytes(4 * MiB + 777);
fs.writeFileSync(srcFile, content);
const range = { start: 1000, end: 1000 + 2 * MiB - 1 };
const rangeBuf = content.subarray(range.start, range.end + 1);
const sha = (b) => crypto.createHash('sha256').update(b).digest('hex');
const wholeHash = sha(content);

const counts = {};
const count = (kind, ok) => {
  counts[kind] ??= { copies: 0, wrong: 0 };
  counts[kind].copies++;
  if (!ok) counts[kind].wrong++;
};
let kernel = 0;
require('node:diagnostics_channel').subscribe('zerocopy:transfer', (m) => {
  if (m.path !== 'normal') kernel++;
});

function fileCopy(i) {
  const positional = i % 2 === 0;
  const ours = i % 4 < 2;
  const kind = `${positional ? 'positional' : 'whole-file'} → ${ours ? 'zerocopy' : 'node'} WriteStream`;
  const target = path.join(dir, `d${i}.bin`);
  if (positional) fs.writeFileSync(target, Buffer.alloc(4096 + rangeBuf.length));
  const make = ours ? zc.createWriteStream : fs.createWriteStream;
  const dst = positional ? make(target, { flags: 'r+', start: 4096 }) : make(target);
  const src = positional ? zc.createReadStream(srcFile, range) : zc.createReadStream(srcFile);
  return new Promise((resolve) =>
    zc.pipeline(src, dst, (err) => {
      const got = fs.readFileSync(target);
      count(
        kind,
        !err &&
          (positional
            ? got.subarray(4096).equals(rangeBuf) && got.length === 4096 + rangeBuf.length
            : got.equals(content)),
      );
      fs.rmSync(target);
      resolve();
    }),
  );
}

function socketSend(port) {
  return new Promise((resolve) => {
    const sock = net.connect(port, '127.0.0.1');
    zc.pipeline(zc.createReadStream(srcFile), sock, () => resolve());
  });
}

async function main() {
  const busy = cp.spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' });
  const server = net.createServer((s) => {
    const h = crypto.createHash('sha256');
    s.on('data', (d) => h.update(d));
    s.on('end', () => count('file → TCP socket', h.digest('hex') === wholeHash));
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const port = server.address().port;
  let sockets = 0;
  for (let round = 0; round < ROUNDS; round++) {
    const jobs = [];
    for (let i = 0; i < PER_ROUND; i++) {
      if (i % 6 === 5) {
        sockets++;
        jobs.push(socketSend(port));
      } else jobs.push(fileCopy(i));
    }
    await Promise.all(jobs);
  }
  // Every socket's receiving end has ended before the counts are read.
  await new Promise((resolve) => {
    const check = () => ((counts['file → TCP socket']?.copies ?? 0) >= sockets ? resolve() : setImmediate(check));
    check();
  });
  server.close();
  busy.kill('SIGKILL');
  fs.rmSync(dir, { recursive: true, force: true });
  let total = 0,
    wrong = 0;
  for (const [kind, c] of Object.entries(counts)) {
    console.log(`${process.version}  ${kind.padEnd(36)} ${String(c.copies).padStart(6)} copies  ${c.wrong} wrong`);
    total += c.copies;
    wrong += c.wrong;
  }
  console.log(`${process.version}  total ${total} copies, ${wrong} wrong, ${kernel} took the kernel path`);
  process.exitCode = wrong === 0 ? 0 : 1;
}
main();
