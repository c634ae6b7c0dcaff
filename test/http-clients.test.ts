// Real HTTP libraries, unchanged, under the register (issue #17): http-proxy
// and http-proxy-middleware (with express) proxying bodies both ways, and
// node-fetch v2 and needle uploading a file stream. Each scenario runs in a
// child process stock and with --require zerocopy/register; what every side
// received must be the same, and under the register the kernel moved the
// bodies (test/fixtures/http-clients.js).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { firstLine } from './helpers/child-line';
import { fixture } from './helpers/strace';

const root = path.join(__dirname, '..');
const fastPathOff = process.env.ZEROCOPY_DISABLE === '1';
const MiB = 1024 * 1024;

interface Outcome {
  got: string[];
  moved: { splice: number; sendfile: number; normal: string[] };
}

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'zerocopy-clients-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

async function scenario(name: string, register: boolean): Promise<Outcome> {
  const args = [...(register ? ['--require', 'zerocopy/register'] : []), fixture('http-clients.js'), name, dir];
  return JSON.parse(await firstLine(args, root)) as Outcome;
}

describe('real HTTP libraries move the same bytes, by the kernel under the register', () => {
  // What Node may read of each body before the kernel takes it: a socket's
  // first read (with the headers), a file's read-ahead while the request's
  // socket connects (two reads).
  const FIRST_READ = 64 * 1024;
  const READ_AHEAD = 2 * 64 * 1024;
  it.each([
    // Two 4 MiB downloads and two 4 MiB uploads through the proxy, one keep-alive connection each side.
    ['http-proxy', 'splice', 4, FIRST_READ],
    ['http-proxy-middleware', 'splice', 4, FIRST_READ],
    // A 4 MiB file stream uploaded with and without Content-Length.
    ['node-fetch', 'sendfile', 2, READ_AHEAD],
    ['needle', 'sendfile', 1, READ_AHEAD],
  ] as const)('%s', async (name, syscall, count, nodeMayRead) => {
    const stock = await scenario(name, false);
    const ours = await scenario(name, true);
    expect(ours.got).toEqual(stock.got);
    expect(stock.moved).toEqual({ splice: 0, sendfile: 0, normal: [] });
    if (fastPathOff) expect(ours.moved[syscall]).toBe(0);
    else expect(ours.moved[syscall], ours.moved.normal.join()).toBeGreaterThanOrEqual(count * (4 * MiB - nodeMayRead));
  });
});
