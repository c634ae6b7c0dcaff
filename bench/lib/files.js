'use strict';
// Bench input files, shared by bench/run.js and bench/reliability/.
const fs = require('node:fs');
const crypto = require('node:crypto');

const MiB = 1024 * 1024;

/**
 * Real data (random, not sparse: a sparse file's holes never touch the disk
 * or the page cache), each 4 MiB block numbered so no two blocks are equal,
 * fsynced so no writeback runs during the measurements.
 */
function makeFile(file, size) {
  const chunk = Buffer.alloc(Math.min(size, 4 * MiB));
  crypto.randomFillSync(chunk);
  const fd = fs.openSync(file, 'w');
  try {
    for (let off = 0, i = 0; off < size; off += chunk.length, i++) {
      chunk.writeUInt32LE(i, 0);
      fs.writeSync(fd, chunk, 0, Math.min(chunk.length, size - off));
    }
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** Whether two files hold the same bytes, compared 1 MiB at a time (a whole read would set the reader's peak RSS). */
function sameFiles(a, b) {
  const [fa, fb] = [fs.openSync(a, 'r'), fs.openSync(b, 'r')];
  const [ba, bb] = [Buffer.alloc(MiB), Buffer.alloc(MiB)];
  try {
    for (let pos = 0; ; pos += MiB) {
      const [na, nb] = [fs.readSync(fa, ba, 0, MiB, pos), fs.readSync(fb, bb, 0, MiB, pos)];
      if (na !== nb || !ba.subarray(0, na).equals(bb.subarray(0, nb))) return false;
      if (na === 0) return true;
    }
  } finally {
    fs.closeSync(fa);
    fs.closeSync(fb);
  }
}

module.exports = { makeFile, sameFiles };
