'use strict';
// What bench/tools/bodies-ab.js and js-profile.js share: a body of SIZE bytes
// in a scratch directory (on tmpfs when there is one), Node servers started
// pinned to a core (resolved at their `PORT <n>` line), the proxy's origin,
// and bench/bin/http_client driving a server from core 1.
const { spawn, execFileSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { ensureC } = require('../lib/cprogs');

const ROOT = path.join(__dirname, '..', '..');

/** "64k", "1m", "512" → bytes; NaN when it is none of those. */
function parseSize(arg) {
  const m = /^(\d+)([km]?)$/i.exec(arg || '');
  return m ? Number(m[1]) * { '': 1, k: 1024, m: 1048576 }[m[2].toLowerCase()] : Number.NaN;
}

/**
 * The rig of one tool run: the client and dist/ built when missing, a scratch
 * directory holding `body` (random bytes), removed with every started child
 * when this process exits.
 */
function rig(prefix, size) {
  const client = ensureC('http_client');
  if (!fs.existsSync(path.join(ROOT, 'dist', 'register.js'))) execFileSync('npm', ['run', 'build:ts'], { cwd: ROOT });
  const dir = fs.mkdtempSync(path.join(fs.existsSync('/dev/shm') ? '/dev/shm' : os.tmpdir(), prefix));
  const body = path.join(dir, 'body');
  fs.writeFileSync(body, require('node:crypto').randomBytes(size));
  const children = [];
  process.on('exit', () => {
    for (const c of children) c.kill();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  /** Node with `args`, pinned to `core`: resolves with { child, pid, port } at its PORT line. */
  async function start(args, core) {
    const child = spawn('taskset', ['-c', String(core), process.execPath, ...args], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    children.push(child);
    const [, port] = await printed(child, /PORT (\d+)/);
    return { child, pid: child.pid, port: Number(port) };
  }

  /**
   * One http_client run of `ms` against `port` from core 1: uploads PUT the
   * body on one keep-alive connection, proxy GETs /body on 4. Its JSON line.
   */
  function load(part, port, ms) {
    const args =
      part === 'uploads'
        ? [String(port), 'PUT', '/upload', '1', String(ms), body]
        : [String(port), 'GET', '/body', '4', String(ms)];
    const out = execFileSync('taskset', ['-c', '1', client, ...args], { encoding: 'utf8' });
    const w = JSON.parse(out.trim().split('\n').pop());
    if (!w.ok) throw new Error(`http_client: ${w.error}`);
    return w;
  }

  /**
   * A server's warm-up, JIT included, on three connections of 1 s: its first
   * few connections throw away code optimized for the sockets before them
   * (--trace-deopt counts in bench/tools/upload-ceiling.sh), which the
   * measured connections should not pay.
   */
  function warmUp(part, port) {
    for (let i = 0; i < 3; i++) load(part, port, 1000);
  }

  return { dir, body, start, load, warmUp };
}

/** Resolves with the first match of `re` in the child's stdout; rejects if it exits first. */
function printed(child, re) {
  return new Promise((resolve, reject) => {
    let out = '';
    const onData = (d) => {
      out += d;
      const match = re.exec(out);
      if (!match) return;
      child.stdout.removeListener('data', onData);
      resolve(match);
    };
    child.stdout.on('data', onData);
    child.once('exit', (code) =>
      reject(new Error(`${child.spawnargs.join(' ')} exited (${code}) before printing ${re}`)),
    );
  });
}

// The proxy's origin (node -e ORIGIN BODY [close]): the body from memory, with
// Content-Length; `close` answers `Connection: close`, as the bench's nginx
// origin does to http-proxy (which passes it on: every request then opens two
// connections).
const ORIGIN = `const b = require('node:fs').readFileSync(process.argv[1]);
const close = process.argv[2] === 'close';
require('node:http').createServer((q, r) => { r.setHeader('Content-Length', b.length); if (close) r.setHeader('Connection', 'close'); r.end(b); })
  .listen(0, '127.0.0.1', function () { console.log('PORT ' + this.address().port); });`;

/** The http-proxy server of the bench (bench/bodies/proxy-server.js) args, in front of `originPort`. */
const proxyArgs = (originPort) => [
  path.join('bench', 'bodies', 'proxy-server.js'),
  String(originPort),
  path.join(ROOT, 'node_modules', 'http-proxy'),
];

const UPLOAD_SERVER = path.join('bench', 'bodies', 'upload-server.js');

module.exports = { ROOT, parseSize, rig, printed, ORIGIN, proxyArgs, UPLOAD_SERVER };
