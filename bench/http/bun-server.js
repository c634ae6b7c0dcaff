// Bun anchor: Bun.serve answering `new Response(Bun.file(path))` (Bun sends
// such a body with sendfile when it can). Run by bench/http.js as
//   taskset -c 0 bun bench/http/bun-server.js <root>
// Same routes as the Node servers: GET /<name>, GET /empty (200, empty body).
const fs = require('node:fs');
const path = require('node:path');

const root = process.argv[2];
const files = new Map(fs.readdirSync(root).map((n) => [`/${n}`, path.join(root, n)]));
const server = Bun.serve({
  hostname: '127.0.0.1',
  port: 0,
  fetch(req) {
    const p = new URL(req.url).pathname;
    if (p === '/empty') return new Response('');
    const file = files.get(p);
    if (!file) return new Response('', { status: 404 });
    return new Response(Bun.file(file));
  },
});
process.on('SIGTERM', () => process.exit(0));
console.log(`PORT ${server.port}`);
