// The core scenarios, run against zerocopy as a user installed it (the app's
// node_modules), not the source tree: used by scripts/pack/pack-check.sh on x64
// and by scripts/pack/arm64-check.sh under qemu-aarch64-static.
//
//   EXPECT=fast    each scenario moves its bytes intact and the diagnostics
//                  channel shows the kernel path that README promises
//   EXPECT=normal  no addon (the no-prebuild fallback): bytes intact, and the
//                  channel says 'normal' with the reason
//
// Prints one line per scenario and exits 1 if any failed.
'use strict';
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const dc = require('node:diagnostics_channel');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const { once } = require('node:events');
const zc = require('zerocopy');
const zcp = require('zerocopy/promises');
// The addon is not public API: its loader is read by path, past the exports map.
const addonLoaded = () =>
  require(require('node:path').join(require.resolve('zerocopy'), '..', 'internal.js')).native !== null;

const expect = process.env.EXPECT || 'fast';
const SIZE = 4 << 20; // well above the 128 KiB small-file threshold
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'zerocopy-scenarios-'));
const data = crypto.randomBytes(SIZE);
const digest = (buf) => crypto.createHash('sha256').update(buf).digest('hex');
const want = digest(data);
const file = path.join(dir, 'src.bin');
fs.writeFileSync(file, data);

const messages = [];
dc.subscribe('zerocopy:transfer', (m) => messages.push({ path: m.path, reason: m.reason, bytes: m.bytes }));

/** A TCP server that hashes everything one connection sends. */
async function sink() {
  let resolve;
  const received = new Promise((r) => {
    resolve = r;
  });
  const server = net.createServer((c) => {
    const h = crypto.createHash('sha256');
    let n = 0;
    c.on('data', (b) => {
      h.update(b);
      n += b.length;
    });
    c.on('end', () => {
      c.end();
      resolve({ hash: h.digest('hex'), bytes: n });
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { server, port: server.address().port, received };
}

const scenarios = {
  async 'file -> socket'() {
    const s = await sink();
    const socket = net.connect(s.port, '127.0.0.1');
    await once(socket, 'connect');
    await zcp.pipeline(zc.createReadStream(file), socket);
    const got = await s.received;
    s.server.close();
    return { got, kernel: ['sendfile'] };
  },
  async 'file -> file'() {
    const dst = path.join(dir, 'dst.bin');
    await zcp.pipeline(zc.createReadStream(file), zc.createWriteStream(dst));
    const buf = fs.readFileSync(dst);
    return { got: { hash: digest(buf), bytes: buf.length }, kernel: ['copy_file_range', 'sendfile'] };
  },
  async 'file -> pipe'() {
    // A FIFO (a real pipe: child.stdin would be a Unix socketpair, which goes
    // by sendfile). mkfifo is a host binary, so this runs under qemu-user too.
    const fifo = path.join(dir, 'fifo');
    const made = spawnSync('mkfifo', [fifo]);
    assert.equal(made.status, 0, `mkfifo: ${made.error || made.stderr}`);
    const h = crypto.createHash('sha256');
    let n = 0;
    const reader = fs.createReadStream(fifo).on('data', (b) => {
      h.update(b);
      n += b.length;
    });
    const drained = once(reader, 'end');
    await zcp.pipeline(zc.createReadStream(file), zc.createWriteStream(fifo));
    await drained;
    return { got: { hash: h.digest('hex'), bytes: n }, kernel: ['splice'] };
  },
  async 'socket -> socket'() {
    // A TCP proxy in the middle: pipeline(client, upstream) between two sockets.
    const s = await sink();
    let proxied;
    const done = new Promise((r) => {
      proxied = r;
    });
    const proxy = net.createServer((client) => {
      const upstream = net.connect(s.port, '127.0.0.1');
      zc.pipeline(client, upstream, (err) => proxied(err));
    });
    proxy.listen(0, '127.0.0.1');
    await once(proxy, 'listening');
    const sender = net.connect(proxy.address().port, '127.0.0.1');
    await once(sender, 'connect');
    sender.end(data);
    const got = await s.received;
    const err = await done; // the proxy's flow has ended, and so published what it did
    assert.ifError(err);
    sender.destroy();
    proxy.close();
    s.server.close();
    // No file is involved: without the addon nothing is published for this flow.
    return { got, kernel: ['splice'], quietWhenNormal: true };
  },
};

(async () => {
  console.log(
    `zerocopy scenarios on Node ${process.version} ${process.platform}-${process.arch}, EXPECT=${expect}, ` +
      `addon: ${addonLoaded() ? 'loaded' : 'none'}`,
  );
  let failed = 0;
  for (const [name, run] of Object.entries(scenarios)) {
    messages.length = 0;
    try {
      const { got, kernel, quietWhenNormal } = await run();
      assert.equal(got.bytes, SIZE, 'byte count');
      assert.equal(got.hash, want, 'sha256 of the bytes received');
      // Let the last 'zerocopy:transfer' messages of this flow arrive.
      await new Promise((r) => setImmediate(r));
      const fast = messages.filter((m) => kernel.includes(m.path) && m.bytes > 0);
      const kernelBytes = fast.reduce((n, m) => n + m.bytes, 0);
      if (expect === 'fast') {
        assert.ok(fast.length > 0, `expected ${kernel.join(' or ')} on the channel, got ${JSON.stringify(messages)}`);
      } else {
        assert.equal(
          messages.filter((m) => m.path !== 'normal').length,
          0,
          `kernel path without the addon: ${JSON.stringify(messages)}`,
        );
        if (!quietWhenNormal) assert.ok(messages.length > 0, 'no diagnostics message for the normal path');
      }
      const paths = [...new Set(messages.map((m) => `${m.path} (${m.reason.split('\n')[0]})`))].join(', ') || 'nothing';
      console.log(`ok   ${name.padEnd(16)} ${SIZE} bytes intact; kernel moved ${kernelBytes}; channel: ${paths}`);
    } catch (err) {
      failed++;
      console.log(`FAIL ${name.padEnd(16)} ${err.message}`);
    }
  }
  fs.rmSync(dir, { recursive: true, force: true });
  console.log(failed ? `${failed} scenario(s) failed` : 'all scenarios passed');
  process.exitCode = failed ? 1 : 0;
})();
