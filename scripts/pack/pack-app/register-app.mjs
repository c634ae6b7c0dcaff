// The ESM twin of register-app.cjs, run as `node --import zerocopy/register
// register-app.mjs`: a named import of createReadStream from node:fs must be
// zerocopy's too.
import crypto from 'node:crypto';
import dc from 'node:diagnostics_channel';
import { createReadStream, mkdtempSync, rmSync, writeFileSync, ReadStream } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

const expect = process.env.EXPECT || 'fast';
const dir = mkdtempSync(path.join(os.tmpdir(), 'zerocopy-register-'));
const file = path.join(dir, 'body.bin');
const data = crypto.randomBytes(1 << 20);
writeFileSync(file, data);
const seen = [];
dc.subscribe('zerocopy:transfer', (m) => seen.push(`${m.path} ${m.bytes} (${m.reason.split('\n')[0]})`));

const server = net.createServer((c) => {
  const h = crypto.createHash('sha256');
  let n = 0;
  c.on('data', (b) => {
    h.update(b);
    n += b.length;
  });
  c.on('end', () => {
    server.close();
    rmSync(dir, { recursive: true, force: true });
    const intact = n === data.length && h.digest('hex') === crypto.createHash('sha256').update(data).digest('hex');
    const fast = seen.some((s) => s.startsWith('sendfile '));
    const ok = intact && (expect === 'fast' ? fast : seen.length > 0 && seen.every((s) => s.startsWith('normal ')));
    console.log(
      `${ok ? 'ok  ' : 'FAIL'} register (ESM, named import createReadStream is ${ReadStream.name}): ` +
        `${n} bytes ${intact ? 'intact' : 'CORRUPT'}; channel: ${seen.join('; ') || 'nothing'}`,
    );
    process.exitCode = ok ? 0 : 1;
  });
});
server.listen(0, '127.0.0.1', () => {
  const socket = net.connect(server.address().port, '127.0.0.1', () => createReadStream(file).pipe(socket));
});
