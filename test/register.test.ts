// zerocopy/register: no code change, fs hands out our streams (CJS and ESM).

import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeFile, tmpDir } from './helpers/files';
import { fixture } from './helpers/strace';

const root = path.join(__dirname, '..');
let dir: string;
let file: string;
beforeAll(() => {
  dir = tmpDir();
  file = makeFile(dir, 'src.bin', 2 * 1024 * 1024);
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function run(args: string[]): string {
  return execFileSync(process.execPath, args, { cwd: root, encoding: 'utf8' });
}

describe('zerocopy/register', () => {
  for (const flag of ['--require', '--import']) {
    it(`${flag} makes fs streams ours, also for ESM imports and old-style callers`, () => {
      const out = JSON.parse(run([flag, 'zerocopy/register', fixture('register-check.cjs'), file]));
      expect(out).toEqual({
        createReadStream: true,
        withoutNew: true,
        legacySubclass: true,
        writeStream: true,
        esmNamed: true,
        esmDefault: true,
      });
    });
  }

  it('an unchanged ESM app copies with the fast path', () => {
    const dst = path.join(dir, 'out.bin');
    const paths = JSON.parse(run(['--import', 'zerocopy/register', fixture('register-esm.mjs'), file, dst]));
    expect(fs.readFileSync(dst).equals(fs.readFileSync(file))).toBe(true);
    expect(paths).toEqual([process.env.ZEROCOPY_DISABLE === '1' ? 'normal' : 'copy_file_range']);
  });

  it('plain a.pipe(b) between sockets is spliced, with no code change', () => {
    const out = JSON.parse(run(['--require', 'zerocopy/register', fixture('plain-proxy.js')]));
    expect(out.reply).toBe(String(4 * 1024 * 1024));
    if (process.env.ZEROCOPY_DISABLE === '1') expect(out.paths.every((p: string) => p === 'normal')).toBe(true);
    else expect(out.paths).toContain('splice');
  });

  it('an upload piped into fs.createWriteStream is offered once: one message per flow', () => {
    // The IncomingMessage#pipe hook and our WriteStream's 'pipe' listener both
    // hear of the same pipe(); a flow declined there was told twice.
    const out = JSON.parse(run(['--require', 'zerocopy/register', fixture('body-offers.js'), dir]));
    const off = process.env.ZEROCOPY_DISABLE === '1';
    const small = off ? 'normal: ZEROCOPY_DISABLE' : 'normal: body smaller than minSplicedBodyBytes';
    expect(out.small).toEqual([small]);
    expect(out['pipeline-small']).toEqual([small]);
    expect(out['below-threshold']).toEqual([small]);
    expect(out.big).toEqual([off ? 'normal: ZEROCOPY_DISABLE' : 'splice']);
    expect(out['pipeline-big']).toEqual([off ? 'normal: ZEROCOPY_DISABLE' : 'splice']);
  });

  it("after kernel transfers the sockets and streams keep V8's fast shapes, as after Node's own", () => {
    // A socket turned into a dictionary stays one: every later request on a
    // kept-alive connection runs Node's HTTP code on slow property lookups.
    const shapes = (register: boolean) =>
      JSON.parse(
        run([
          '--allow-natives-syntax',
          ...(register ? ['--require', 'zerocopy/register'] : []),
          fixture('fast-shapes.js'),
          fs.mkdtempSync(path.join(dir, 'shapes-')),
        ]),
      );
    const stock = shapes(false);
    expect(Object.keys(stock.objects).sort()).toEqual([
      'download',
      'socketToFile',
      'socketToSocket',
      'static',
      'upload',
    ]);
    const ours = shapes(true);
    expect(ours.objects).toEqual(stock.objects);
    expect(stock.messages).toEqual({ count: 0, oneMap: true });
    // One per flow: upload, download, static, socket → file, socket → socket, 40 file copies.
    expect(ours.messages.count).toBe(45);
    expect(ours.messages.oneMap).toBe(true);
  });

  it("a socket's kernel byte counters past 2**31 leave its V8 shape as it was", () => {
    // A byte counter of ours that outgrew a small integer retired every
    // socket's shape, and with it every optimized function that had seen one
    // (2 GiB through one kept-alive socket). The counters are driven directly:
    // the bytes themselves need no kernel here.
    const out = JSON.parse(run(['--allow-natives-syntax', fixture('counter-shapes.js')]));
    expect(out).toEqual({ sameMap: true, fast: true, bytesRead: 2 ** 31 + 5, bytesWritten: 2 ** 32 });
  });

  it("registering loads none of Node's TLS or crypto modules", () => {
    // Telling a TLS socket apart used to import node:tls, and with it all of
    // crypto: some 250 KB of heap in every process that registers us.
    const added: string[] = JSON.parse(run([fixture('register-loads.js'), 'zerocopy/register']));
    expect(added.length).toBeGreaterThan(0);
    expect(added.filter((m) => /tls|crypto/.test(m))).toEqual([]);
  });

  it('package entry points resolve from CommonJS and ESM', () => {
    const cjs = run([
      '-e',
      "const z=require('zerocopy'),p=require('zerocopy/promises');console.log(typeof z.createReadStream, typeof z.pipeline, typeof p.pipeline)",
    ]);
    expect(cjs.trim()).toBe('function function function');
    const esm = run([
      '--input-type=module',
      '-e',
      "import {createReadStream, pipeline} from 'zerocopy'; import {pipeline as p} from 'zerocopy/promises'; console.log(typeof createReadStream, typeof pipeline, typeof p)",
    ]);
    expect(esm.trim()).toBe('function function function');
  });
});
