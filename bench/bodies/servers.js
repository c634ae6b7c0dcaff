'use strict';
// The servers of the bodies workload (bench/workloads/bodies.js), each its
// own process, pinned: the measured side (upload servers, proxies) on core 0,
// the other side (the origin nginx, beside the C client) on core 1.
//   - origin: nginx serving the body files (bench/http/nginx.conf.template:
//     sendfile on, 1 worker, its own prefix);
//   - upload servers: bench/bodies/upload-server.js, stock or under
//     --require dist/register.js;
//   - proxies in front of the origin: bench/bodies/proxy-server.js
//     (http-proxy) stock or under the register, nginx proxy_pass
//     (bench/bodies/nginx-proxy.conf.template), HAProxy
//     (bench/bodies/haproxy.cfg.template).
// http-proxy comes from node_modules (a devDependency), or when that copy
// lacks it, from the bench's own install in ~/.cache/zerocopy-bench/http-proxy
// (npm install --prefix, the version range package.json names).
const fs = require('node:fs');
const os = require('node:os');
const http = require('node:http');
const path = require('node:path');
const { startDaemon } = require('../lib/daemon');
const { which, run, freePort, placed } = require('../lib/sys');

const ROOT = path.join(__dirname, '..', '..');
const REGISTER = path.join(ROOT, 'dist', 'register.js');
const PROXY_DIR = path.join(os.homedir(), '.cache', 'zerocopy-bench', 'http-proxy');

/** { dir, version } of an http-proxy to load, or { why } there is none. */
function httpProxyEnsure(log) {
  const local = path.join(ROOT, 'node_modules', 'http-proxy');
  const cached = path.join(PROXY_DIR, 'node_modules', 'http-proxy');
  const at = (dir) => {
    try {
      return { dir, version: JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')).version };
    } catch {
      return null;
    }
  };
  const found = at(local) || at(cached);
  if (found) return found;
  const range = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')).devDependencies?.['http-proxy'];
  const pkg = `http-proxy@${range || 'latest'}`;
  log(`bodies: http-proxy is not in node_modules: npm install --prefix ${PROXY_DIR} ${pkg} ...`);
  fs.mkdirSync(PROXY_DIR, { recursive: true });
  const r = run(
    which('npm') || 'npm',
    ['install', '--prefix', PROXY_DIR, '--no-audit', '--no-fund', '--loglevel=error', pkg],
    {
      cwd: PROXY_DIR,
    },
  );
  return (
    at(cached) || { why: `npm install --prefix ${PROXY_DIR} ${pkg} failed: ${r.out.split('\n').slice(-3).join(' / ')}` }
  );
}

function serverEnv() {
  const env = { ...process.env };
  for (const k of Object.keys(env)) if (k.startsWith('ZEROCOPY_')) delete env[k];
  delete env.NODE_OPTIONS;
  delete env.NODE_DEBUG;
  return env;
}

const node = (zc, script, ...args) => [
  process.execPath,
  ...(zc ? ['--require', REGISTER] : []),
  path.join(__dirname, script),
  ...args,
];

// A config from a template with @@NAME@@ fields, in its own prefix directory under `base`.
function configure(template, base, name, fields) {
  const prefix = fs.mkdtempSync(path.join(base, `${name}-`));
  fs.chmodSync(prefix, 0o755); // nginx's worker (nobody, under root) creates its proxy temp files in there
  let text = fs.readFileSync(template, 'utf8').replace(/@@PREFIX@@/g, prefix);
  for (const [k, v] of Object.entries(fields)) text = text.replace(new RegExp(`@@${k}@@`, 'g'), String(v));
  const conf = path.join(prefix, name === 'haproxy' ? 'haproxy.cfg' : 'nginx.conf');
  fs.writeFileSync(conf, text);
  return { prefix, conf };
}

async function startNginx(nginx, template, base, name, fields, core) {
  const port = await freePort();
  const { prefix, conf } = configure(template, base, name, { PORT: port, ...fields });
  const args = [nginx, '-p', prefix, '-c', conf, '-e', path.join(prefix, 'error.log')];
  return startDaemon(placed('pinned', core, args), { port, env: serverEnv(), cwd: ROOT, label: name });
}

/** The origin: nginx serving filesDir, on core 1. */
const startOrigin = (tools, filesDir, base) =>
  startNginx(
    tools.nginx,
    path.join(ROOT, 'bench', 'http', 'nginx.conf.template'),
    base,
    'origin',
    { ROOT: filesDir },
    1,
  );

/** An upload server writing every body to `out`, on core 0. */
const startUploadServer = (v, out) =>
  startDaemon(placed('pinned', 0, node(v.zc, 'upload-server.js', out)), {
    env: serverEnv(),
    cwd: ROOT,
    label: `upload server ${v.key}`,
  });

/** A proxy variant in front of the origin, on core 0. */
async function startProxy(v, tools, originPort, base) {
  if (v.anchor === 'nginx')
    return startNginx(
      tools.nginx,
      path.join(__dirname, 'nginx-proxy.conf.template'),
      base,
      'nginx-proxy',
      {
        ORIGIN: originPort,
      },
      0,
    );
  if (v.anchor === 'haproxy') {
    const port = await freePort();
    const { conf } = configure(path.join(__dirname, 'haproxy.cfg.template'), base, 'haproxy', {
      PORT: port,
      ORIGIN: originPort,
    });
    return startDaemon(placed('pinned', 0, [tools.haproxy, '-db', '-f', conf]), {
      port,
      env: serverEnv(),
      cwd: ROOT,
      label: 'haproxy',
    });
  }
  return startDaemon(placed('pinned', 0, node(v.zc, 'proxy-server.js', String(originPort), tools.httpProxy)), {
    env: serverEnv(),
    cwd: ROOT,
    label: `http-proxy ${v.key}`,
  });
}

/** GET on a fresh connection: { status, headers, body }. */
function get(port, urlPath, timeout = 60000) {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: urlPath, agent: false, timeout }, (res) => {
      const bufs = [];
      res.on('data', (d) => bufs.push(d));
      res.on('error', reject);
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(bufs) }));
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${urlPath}: no complete response in ${timeout} ms`)));
    req.on('error', reject);
  });
}

/** A Node server's diagnostics counts (GET /__paths). */
async function counts(port) {
  const r = await get(port, '/__paths', 10000);
  if (r.status !== 200) throw new Error(`GET /__paths: status ${r.status}`);
  return JSON.parse(r.body.toString('utf8'));
}

/** Every file through `d` (the origin or a proxy): status 200, its Content-Length, its exact bytes. */
async function verifyFiles(d, files) {
  for (const f of files) {
    const r = await get(d.port, `/${f.name}`);
    if (r.status !== 200) throw new Error(`${d.label}: GET /${f.name}: status ${r.status}`);
    if (Number(r.headers['content-length']) !== f.size)
      throw new Error(`${d.label}: GET /${f.name}: Content-Length ${r.headers['content-length']}, file has ${f.size}`);
    if (!r.body.equals(fs.readFileSync(f.file)))
      throw new Error(`${d.label}: GET /${f.name}: body of ${r.body.length} bytes differs from the file`);
  }
}

module.exports = {
  httpProxyEnsure,
  serverEnv,
  startOrigin,
  startUploadServer,
  startProxy,
  counts,
  verifyFiles,
  REGISTER,
};
