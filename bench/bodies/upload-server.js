'use strict';
// The uploads part's server (bench/workloads/bodies.js starts it):
//
//   taskset -c 0 node [--require dist/register.js] bench/bodies/upload-server.js <out file>
//
// Every PUT: `req.pipe(fs.createWriteStream(out))`, then `res.end()` on the
// write stream's 'finish' (500 if the file did not get Content-Length bytes).
// The file is overwritten by each request (one client connection, requests one
// after another). GET /__paths answers with the diagnostics counts and the
// body bytes written so far. Listens on 127.0.0.1, port 0; prints `PORT <n>`.
const fs = require('node:fs');
const http = require('node:http');
const { snapshot, listening } = require('./counts');

const out = process.argv[2];
if (!out) {
  process.stderr.write('usage: upload-server.js <out file>\n');
  process.exit(2);
}
let bodyBytes = 0;
let bodies = 0;
let errors = 0;

const server = http.createServer((req, res) => {
  if (req.method === 'GET' && req.url === '/__paths') {
    res.setHeader('Content-Type', 'application/json');
    res.end(JSON.stringify({ ...snapshot(), bodyBytes, bodies, errors }));
    return;
  }
  const ws = fs.createWriteStream(out);
  const fault = () => {
    errors++;
    res.destroy();
  };
  req.on('error', fault);
  ws.on('error', fault);
  req.pipe(ws);
  ws.on('finish', () => {
    const want = Number(req.headers['content-length']);
    if (ws.bytesWritten !== want) {
      errors++;
      res.statusCode = 500;
    } else {
      bodyBytes += ws.bytesWritten;
      bodies++;
    }
    res.end();
  });
});
server.listen(0, '127.0.0.1', () => listening(server));
