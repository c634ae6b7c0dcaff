// A 1 GiB file (sparse: holes but for three islands of random bytes, one at
// an odd offset) served whole (plain) and by ranges (both), stock vs
// zerocopy; the zerocopy run moves ≥ 99% of its bodies with sendfile. Bodies
// are digested by 64 KiB blocks ('sparse', see BodyDigest): exact, and cheap
// for runs of zeros. Express gets the last 256 MiB rather than the whole
// GiB: the same code path, at a quarter of the suite's time.

import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tmpDir } from '../helpers/files';
import {
  addFile,
  type Both,
  bodyBytes,
  type Corpus,
  expectSame,
  FILES,
  fastPathOff,
  get,
  MiB,
  makeCorpus,
  PROBE,
  range,
  rangeHash,
  runBoth,
} from '../helpers/http-scenarios';
import { closePair, type Pair, type Stats, startPair } from '../helpers/http-server';
import { BodyDigest } from '../helpers/http-wire';

const GiB = 1024 * MiB;
const ISLANDS: Array<[offset: number, length: number]> = [
  [0, 256 * 1024],
  [300 * MiB + 12345, MiB],
  [GiB - 200 * 1024, 200 * 1024],
];

let corpus: Corpus;
beforeAll(async () => {
  corpus = await makeCorpus(
    tmpDir(),
    FILES.filter(([name]) => name === 'f1.txt'),
    'sparse',
  );
  const file = path.join(corpus.dir, 'sparse-1g.txt');
  const fd = fs.openSync(file, 'w');
  fs.ftruncateSync(fd, GiB);
  const islands = ISLANDS.map(([offset, length]) => [offset, crypto.randomBytes(length)] as const);
  for (const [offset, data] of islands) fs.writeSync(fd, data, 0, data.length, offset);
  fs.closeSync(fd);
  // What the file holds is known: its digests are made from that, not by
  // reading the GiB back (and paging it in) in this process.
  corpus.digestOf = (p, start, length) =>
    p === '/sparse-1g.txt'
      ? virtualDigest(islands, start, length)
      : rangeHash(path.join(corpus.dir, p), start, length, 'sparse');
  addFile(corpus, 'sparse-1g.txt', file);
});

/** The 'sparse' digest of `length` bytes from `start` of a file of zeros but for `islands`. */
function virtualDigest(islands: ReadonlyArray<readonly [number, Buffer]>, start: number, length: number): string {
  const d = new BodyDigest('sparse');
  const zeros = Buffer.alloc(MiB);
  const end = start + length;
  let pos = start;
  for (const [offset, data] of [...islands, [end, Buffer.alloc(0)] as const]) {
    const from = Math.max(offset, start);
    const to = Math.min(offset + data.length, end);
    const upTo = Math.min(from, end);
    while (pos < upTo) {
      const n = Math.min(zeros.length, upTo - pos);
      d.update(zeros.subarray(0, n));
      pos += n;
    }
    if (to > from) {
      d.update(data.subarray(from - offset, to - offset));
      pos = to;
    }
  }
  return d.digest();
}
afterAll(() => fs.rmSync(corpus.dir, { recursive: true, force: true }));

const RANGES = [
  range('/sparse-1g.txt', `bytes=${300 * MiB}-${302 * MiB - 1}`), // across the odd island
  range('/sparse-1g.txt', 'bytes=-150000'),
  PROBE,
];
const REQUESTS = {
  plain: [get('/sparse-1g.txt'), ...RANGES],
  express: [range('/sparse-1g.txt', `bytes=${768 * MiB}-`), ...RANGES],
};
const BODIES = { plain: GiB + 2 * MiB, express: 256 * MiB + 2 * MiB };

describe.each(['plain', 'express'] as const)('%s: a 1 GiB sparse file, stock vs zerocopy', (framework) => {
  let pair: Pair;
  beforeAll(async () => {
    pair = await startPair(framework, corpus.dir);
  });
  afterAll(() => closePair(pair));

  // The sendfile proof below is about this run's bodies.
  let run: { both: Both; stats: Stats } | undefined;

  it(
    framework === 'plain'
      ? 'whole and by ranges, on one keep-alive connection'
      : 'its last 256 MiB and more ranges, on one keep-alive connection',
    async () => {
      const requests = REQUESTS[framework];
      const both = await runBoth(pair, requests, { digest: 'sparse' });
      const stats = await pair.zerocopy.stats();
      expectSame(both, corpus, requests);
      expect(both.stock.responses.map((r) => r.status)).toEqual([framework === 'plain' ? 200 : 206, 206, 206, 200]);
      run = { both, stats };
    },
  );

  it('sendfile moved ≥ 99% of the bytes of its bodies of 1 MiB and more', () => {
    expect(run, 'the transfer test ran to its end').toBeDefined();
    const { both, stats } = run!;
    const total = bodyBytes(both.zerocopy.responses);
    expect(total).toBe(BODIES[framework]);
    if (fastPathOff) expect(stats.sendfileBytes).toBe(0);
    else
      expect(
        stats.sendfileBytes / total,
        `sendfile moved ${stats.sendfileBytes} of ${total}; declined: ${JSON.stringify(stats.reasons)}`,
      ).toBeGreaterThanOrEqual(0.99);
  });
});
