'use strict';
// Plain node:http static server: fs.stat for Content-Length, then
// fs.createReadStream(file).pipe(res). Mode `chunked`: no Content-Length, so
// Node sends the body with Transfer-Encoding: chunked.
const http = require('node:http');
const fs = require('node:fs');
const path = require('node:path');
const { root, mode, pathsJson, listening } = require('./common');

const chunked = mode === 'chunked';
// Only the files that were there at start; names map to absolute paths.
const files = new Map(fs.readdirSync(root).map((n) => [`/${n}`, path.join(root, n)]));

const server = http.createServer((req, res) => {
  if (req.url === '/empty') {
    res.writeHead(200, { 'Content-Length': 0 });
    res.end();
    return;
  }
  if (req.url === '/__paths') {
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end(pathsJson());
    return;
  }
  const file = files.get(req.url);
  if (!file) {
    res.writeHead(404, { 'Content-Length': 0 });
    res.end();
    return;
  }
  fs.stat(file, (err, st) => {
    if (err) {
      res.writeHead(500, { 'Content-Length': 0 });
      res.end();
      return;
    }
    res.statusCode = 200;
    res.setHeader('Content-Type', 'application/octet-stream');
    if (!chunked) res.setHeader('Content-Length', st.size);
    const src = fs.createReadStream(file);
    src.on('error', () => res.destroy());
    src.pipe(res);
  });
});
server.listen(0, '127.0.0.1', () => listening(server));
