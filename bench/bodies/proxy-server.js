'use strict';
// The proxy part's Node proxy (bench/workloads/bodies.js starts it):
//
//   taskset -c 0 node [--require dist/register.js] bench/bodies/proxy-server.js <origin port> <http-proxy dir>
//
// http-proxy as its README has it: `httpProxy.createProxyServer({ target })`
// and `proxy.web(req, res)` in a node:http server, in front of the origin on
// 127.0.0.1:<origin port>. <http-proxy dir> is the package's directory
// (node_modules/http-proxy, or the bench's own install of it). GET /__paths
// answers with the diagnostics counts instead. A proxy error answers 502
// (or ends the response) and is counted. Listens on 127.0.0.1, port 0; prints
// `PORT <n>`.
const http = require('node:http');
const { snapshot, listening } = require('./counts');

const [originPort, moduleDir] = process.argv.slice(2);
if (!originPort || !moduleDir) {
  process.stderr.write('usage: proxy-server.js <origin port> <http-proxy dir>\n');
  process.exit(2);
}
const httpProxy = require(moduleDir);

let errors = 0;
const proxy = httpProxy.createProxyServer({ target: `http://127.0.0.1:${originPort}` });
proxy.on('error', (_err, _req, res) => {
  errors++;
  if (res.headersSent === false) {
    res.writeHead(502, { 'Content-Length': 0 });
    res.end();
  } else res.destroy();
});

const server = http.createServer((req, res) => {
  if (req.url === '/__paths') {
    res.setHeader('Content-Type', 'application/json');
    res.end(JSON.stringify({ ...snapshot(), errors }));
    return;
  }
  proxy.web(req, res);
});
server.listen(0, '127.0.0.1', () => listening(server));
