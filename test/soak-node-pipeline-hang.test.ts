// The fault soak counts apart a hang that is Node's own: stream.pipeline()
// never calls back when its source is destroyed after it read its end of
// file (push(null)) but before it emitted 'end' — its last chunks buffered
// behind a full destination. The destroy-src fault lands there now and then,
// with ZEROCOPY_DISABLE=1 as well (docs/reliability.md, "Fault soak"). This
// pins both halves: that Node's pipeline() behaves so, with plain streams
// and no zerocopy code at all, and that the soak recognizes the state.

import * as path from 'node:path';
import { pipeline, Readable, Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';

// The soak's helpers are CommonJS without types (bench/soak/lib.js).
const lib = require(path.join(__dirname, '../bench/soak/lib.js')) as {
  pipelineSource<T>(s: T): T;
  nodePipelineHang(s: unknown): boolean;
};

describe("the soak's hang of Node's own pipeline()", () => {
  it('a source destroyed between push(null) and its end: no pipeline() callback, and the soak says so', async () => {
    const src = new Readable({ read() {} });
    // A destination that never completes a write: a full socket or pipe.
    const dst = new Writable({ highWaterMark: 1, write() {} });
    let called = false;
    pipeline(lib.pipelineSource(src), dst, () => {
      called = true;
    });
    src.push(Buffer.alloc(16));
    src.push(Buffer.alloc(16));
    src.push(null);
    await new Promise((r) => setImmediate(r));
    // End of file read, the last chunk still buffered: no 'end' yet.
    expect(src.readableLength).toBeGreaterThan(0);
    expect(lib.nodePipelineHang(src)).toBe(false);
    const closed = new Promise((r) => src.once('close', r));
    src.destroy();
    await closed;
    // pipeline()'s end-of-stream callbacks run on the ticks after 'close'.
    await new Promise((r) => setImmediate(r));
    expect(called).toBe(false);
    expect(dst.destroyed).toBe(false);
    expect(lib.nodePipelineHang(src)).toBe(true);
    dst.destroy();
  });

  it('a source destroyed before its end of file: pipeline() reports ERR_STREAM_PREMATURE_CLOSE, not a hang', async () => {
    const src = new Readable({ read() {} });
    const dst = new Writable({ highWaterMark: 1, write() {} });
    const result = new Promise<NodeJS.ErrnoException | null | undefined>((resolve) =>
      pipeline(lib.pipelineSource(src), dst, (err) => resolve(err)),
    );
    src.push(Buffer.alloc(16));
    await new Promise((r) => setImmediate(r));
    src.destroy();
    expect((await result)?.code).toBe('ERR_STREAM_PREMATURE_CLOSE');
    expect(lib.nodePipelineHang(src)).toBe(false);
  });
});
