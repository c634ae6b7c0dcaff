// Settings come from the environment once, at load: each threshold from its
// own variable, else from the more general one, else its default.
import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';

const root = path.join(__dirname, '..');

function settingsWith(env: Record<string, string>): Record<string, unknown> {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('ZEROCOPY_')));
  const out = execFileSync(
    process.execPath,
    ['-e', 'process.stdout.write(JSON.stringify(require("./dist/config.js").settings))'],
    { cwd: root, env: { ...clean, ...env }, encoding: 'utf8' },
  );
  return JSON.parse(out) as Record<string, unknown>;
}

describe('settings from the environment', () => {
  it('default thresholds: 384 KiB for files, 128 KiB for a file as an HTTP body, 512 KiB for a spliced body', () => {
    expect(settingsWith({})).toMatchObject({
      disabled: false,
      minFastPathBytes: 384 * 1024,
      minHttpBodyBytes: 128 * 1024,
      minSplicedBodyBytes: 512 * 1024,
      inLoop: true,
    });
  });

  it('each threshold falls back to the more general variable', () => {
    expect(settingsWith({ ZEROCOPY_MIN_BYTES: '7' })).toMatchObject({
      minFastPathBytes: 7,
      minHttpBodyBytes: 7,
      minSplicedBodyBytes: 7,
    });
    expect(settingsWith({ ZEROCOPY_MIN_BYTES: '7', ZEROCOPY_MIN_HTTP_BYTES: '0' })).toMatchObject({
      minFastPathBytes: 7,
      minHttpBodyBytes: 0,
      minSplicedBodyBytes: 0,
    });
    expect(settingsWith({ ZEROCOPY_MIN_HTTP_BYTES: '0', ZEROCOPY_MIN_SPLICED_BYTES: '9' })).toMatchObject({
      minHttpBodyBytes: 0,
      minSplicedBodyBytes: 9,
    });
  });

  it('a value that is not a count is ignored', () => {
    expect(settingsWith({ ZEROCOPY_MIN_SPLICED_BYTES: 'lots', ZEROCOPY_MIN_HTTP_BYTES: '-1' })).toMatchObject({
      minHttpBodyBytes: 128 * 1024,
      minSplicedBodyBytes: 512 * 1024,
    });
  });
});
