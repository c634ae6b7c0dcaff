// An app that never imports zerocopy: run as `node --require zerocopy/register
// register-app.cjs`. Plain fs.createReadStream(file).pipe(socket) must go by
// sendfile (EXPECT=fast) or, without the addon, by Node's normal path.
'use strict';
const crypto = require('node:crypto');
const dc = require('node:diagnostics_channel');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');

const expect = process.env.EXPECT || 'fast';
const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'zerocopy-register-')), 'body.bin');
const data = crypto.randomBytes(1 << 20);
fs.writeFileSync(file, data);
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
    fs.rmSync(path.dirname(file), { recursive: true, force: true });
    const intact = n === data.length && h.digest('hex') === crypto.createHash('sha256').update(data).digest('hex');
    const fast = seen.some((s) => s.startsWith('sendfile '));
    const ok = intact && (expect === 'fast' ? fast : seen.length > 0 && seen.every((s) => s.startsWith('normal ')));
    console.log(
      `${ok ? 'ok  ' : 'FAIL'} register (CommonJS, fs.createReadStream is ${fs.ReadStream.name}): ` +
        `${n} bytes ${intact ? 'intact' : 'CORRUPT'}; channel: ${seen.join('; ') || 'nothing'}`,
    );
    process.exitCode = ok ? 0 : 1;
  });
});
server.listen(0, '127.0.0.1', () => {
  const socket = net.connect(server.address().port, '127.0.0.1', () => fs.createReadStream(file).pipe(socket));
});
