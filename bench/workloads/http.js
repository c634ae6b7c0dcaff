'use strict';
// The HTTP static-file workload of `npm run bench` (`-- --only http` for it alone).
//
// Servers, each its own process, load from wrk (`wrk -t1 -cN -dS --latency`),
// in one or both placements (--http-placement): "pinned", the server on core 0
// (`taskset -c 0`) and wrk on core 1 (`taskset -c 1`), so neither takes the
// other's core; "free", neither pinned, the kernel schedules both (as most
// deployments run). Each placement has its own server processes.
//   - node:http, fs.stat for Content-Length, fs.createReadStream(f).pipe(res)
//     (bench/http/node-server.js; mode `chunked`: no Content-Length);
//   - express 5, express.static (bench/http/express-server.js);
//   - fastify 5 + @fastify/static (bench/http/fastify-server.js);
//   each "stock" (`node server.js`) and "zerocopy" (`node --require
//   dist/register.js server.js`, the same script);
//   - each framework's own ceiling: the same server answering GET /empty
//     (status 200, empty body);
//   - anchors: nginx (`sendfile on; worker_processes 1; daemon off;`, its own
//     prefix and config from bench/http/nginx.conf.template in a temp dir) and
//     Bun (`Bun.serve` + `new Response(Bun.file(path))`, bench/http/bun-server.js;
//     the binary from the npm package @oven/bun-linux-x64, installed into
//     ~/.cache/zerocopy-bench/bun, not into the project). nginx and wrk come
//     from Debian (`apt-get install -y nginx wrk` when not on PATH). An anchor
//     that cannot be had is skipped with a line saying so; without wrk the
//     whole workload is skipped, never the bench.
// Files: real random bytes, fsynced, page-cached, one per size. The servers
// start together and stay up through the rounds; each is checked once started
// (and again if it had to be restarted at a round's start): status 200, the
// right Content-Length (or chunked framing), the exact bytes of every file,
// and an empty 200 for /empty.
// Then for each placement, concurrency and size, the variants in rotated order, each a
// short warm-up wrk run then the measured one; server CPU is utime+stime from
// /proc/PID/stat (the server's process tree: nginx's worker too) before and
// after the run, wrk's own CPU from /proc/self/stat at its end (a Lua done()
// hook, bench/http/wrk-report.lua, which also gives exact latency percentiles).
//
// Options: bench/run.js --help (the --http-* ones).
const fs = require('node:fs');
const os = require('node:os');
const http = require('node:http');
const path = require('node:path');
const { spawn } = require('node:child_process');
const {
  which,
  run,
  aptEnsure,
  version,
  pkgVersion,
  ticks,
  treeCpu,
  cpuPressure,
  rssKiB,
  sleep,
  freePort,
  canConnect,
  placed,
} = require('../lib/sys');

const KiB = 1024;
const MiB = 1024 * KiB;
const GiB = 1024 * MiB;
const ROOT = path.join(__dirname, '..', '..');
const HERE = path.join(ROOT, 'bench', 'http');
const REGISTER = path.join(ROOT, 'dist', 'register.js');
const LUA = path.join(HERE, 'wrk-report.lua');
const BUN_DIR = path.join(os.homedir(), '.cache', 'zerocopy-bench', 'bun');

// ---------------------------------------------------------------- config

function parseSize(s) {
  const m = /^(\d+)\s*([kmg]?)(i?b)?$/i.exec(String(s).trim());
  if (!m) throw new Error(`--http-sizes: cannot read ${s}`);
  return Number(m[1]) * { '': 1, k: KiB, m: MiB, g: GiB }[m[2].toLowerCase()];
}

// The run's settings from bench/run.js's options (defaults: full run / --quick).
const PLACEMENTS = ['pinned', 'free'];
function httpConfig(o) {
  const quick = o.quick;
  const placements = o.httpPlacement ?? (quick ? ['pinned'] : PLACEMENTS);
  for (const pl of placements) if (!PLACEMENTS.includes(pl)) throw new Error(`--http-placement: unknown ${pl}`);
  return {
    rounds: o.httpRounds ?? o.rounds ?? (quick ? 2 : 3),
    seconds: o.httpSeconds ?? (quick ? 2 : 3),
    warmupSeconds: o.httpWarmupSeconds ?? 1,
    conns: (o.httpConns ?? (quick ? ['16'] : ['1', '16'])).map(Number),
    sizes: (o.httpSizes ?? (quick ? ['4k', '1m', '64m'] : ['4k', '64k', '1m', '64m']))
      .map(parseSize)
      .sort((a, b) => a - b),
    placements: PLACEMENTS.filter((pl) => placements.includes(pl)),
    chunked: o.httpChunked ?? !quick,
    // Whose GET /empty is measured: the frameworks' own ceilings (and, in the full run, the anchors').
    empty: o.httpEmpty ?? (quick ? ['node', 'express', 'fastify'] : ['node', 'express', 'fastify', 'nginx', 'bun']),
    skip: o.httpSkip ?? [],
    bun: o.bun,
    command: o.command,
  };
}

// ---------------------------------------------------------------- tools

// Bun from the npm package (a prebuilt binary inside it), cached outside the
// repo; the -baseline build on CPUs without AVX2.
function bunEnsure(log, bun) {
  if (bun) return { bin: bun };
  if (process.platform !== 'linux' || process.arch !== 'x64')
    return { why: `no @oven/bun-linux-x64 for ${process.platform}-${process.arch}` };
  const avx2 = /\bavx2\b/.test(fs.readFileSync('/proc/cpuinfo', 'utf8'));
  const pkg = avx2 ? '@oven/bun-linux-x64' : '@oven/bun-linux-x64-baseline';
  const bin = path.join(BUN_DIR, 'node_modules', ...pkg.split('/'), 'bin', 'bun');
  if (!fs.existsSync(bin)) {
    log(`http: installing ${pkg} into ${BUN_DIR} (npm install --prefix) ...`);
    fs.mkdirSync(BUN_DIR, { recursive: true });
    const npm = which('npm') || 'npm';
    const r = run(npm, ['install', '--prefix', BUN_DIR, '--no-audit', '--no-fund', '--loglevel=error', pkg], {
      cwd: BUN_DIR,
    });
    if (!r.ok || !fs.existsSync(bin))
      return {
        why: `npm install --prefix ${BUN_DIR} ${pkg} failed: ${r.out.split('\n').slice(-3).join(' / ') || r.error}`,
      };
  }
  return { bin };
}

// One GET on a fresh keep-alive connection (the response wrk's requests get):
// status, headers, body, chunked or not, and its bytes on the wire.
function fetchRaw(port, urlPath, timeout = 60000) {
  return new Promise((resolve, reject) => {
    const agent = new http.Agent({ keepAlive: true });
    const req = http.get({ host: '127.0.0.1', port, path: urlPath, agent, timeout }, (res) => {
      const { socket } = res;
      const bufs = [];
      res.on('data', (d) => bufs.push(d));
      res.on('error', reject);
      res.on('end', () => {
        const chunked = /chunked/i.test(res.headers['transfer-encoding'] || '');
        resolve({
          status: res.statusCode,
          headers: res.headers,
          body: Buffer.concat(bufs),
          wireBytes: socket.bytesRead,
          chunked,
        });
        agent.destroy();
      });
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${urlPath}: no complete response in ${timeout} ms`)));
    req.on('error', reject);
  });
}

// ---------------------------------------------------------------- servers

// fw: the framework a zerocopy variant is compared with (its stock variant is
// the server of key fw). `empty`: this server's GET /empty is measured too.
function serverList(cfg) {
  const node = (key, name, script, extra = {}) => [
    { key, name: `${name}, stock`, fw: key, streams: 'stock', script, empty: true, ...extra },
    { key: `${key}-zc`, name: `${name}, zerocopy/register`, fw: key, streams: 'zerocopy', script, zc: true, ...extra },
  ];
  const list = [
    ...node('node', 'node:http + createReadStream().pipe(res)', 'node-server.js'),
    ...(cfg.chunked
      ? node('node-chunked', 'node:http, no Content-Length (chunked)', 'node-server.js', {
          mode: 'chunked',
          empty: false,
        })
      : []),
    ...node('express', 'express.static', 'express-server.js'),
    ...node('fastify', '@fastify/static', 'fastify-server.js'),
    {
      key: 'nginx',
      name: 'nginx (sendfile on, 1 worker)',
      fw: 'nginx',
      streams: 'anchor',
      anchor: 'nginx',
      empty: true,
    },
    { key: 'bun', name: 'Bun.serve + Bun.file', fw: 'bun', streams: 'anchor', anchor: 'bun', empty: true },
  ];
  for (const s of list) if (!cfg.empty.includes(s.key)) s.empty = false;
  return list.filter((s) => !cfg.skip.includes(s.fw));
}

// Children still running (for stopHttp on SIGINT/SIGTERM of the driver).
const live = new Set();

function serverEnv() {
  const env = { ...process.env };
  for (const k of Object.keys(env)) if (k.startsWith('ZEROCOPY_')) delete env[k];
  delete env.NODE_OPTIONS;
  delete env.NODE_DEBUG;
  return env;
}

async function startServer(s, placement, tools, filesDir, prefixBase) {
  let args;
  let port = null;
  if (s.anchor === 'nginx') {
    port = await freePort();
    const prefix = fs.mkdtempSync(path.join(prefixBase, 'nginx-'));
    const conf = fs
      .readFileSync(path.join(HERE, 'nginx.conf.template'), 'utf8')
      .replace(/@@PREFIX@@/g, prefix)
      .replace(/@@PORT@@/g, String(port))
      .replace(/@@ROOT@@/g, filesDir);
    fs.writeFileSync(path.join(prefix, 'nginx.conf'), conf);
    args = [tools.nginx, '-p', prefix, '-c', path.join(prefix, 'nginx.conf'), '-e', path.join(prefix, 'error.log')];
  } else if (s.anchor === 'bun') {
    args = [tools.bun, path.join(HERE, 'bun-server.js'), filesDir];
  } else {
    args = [
      process.execPath,
      ...(s.zc ? ['--require', REGISTER] : []),
      path.join(HERE, s.script),
      filesDir,
      ...(s.mode ? [s.mode] : []),
    ];
  }
  const [cmd, ...rest] = placed(placement, 0, args);
  const child = spawn(cmd, rest, {
    env: serverEnv(),
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  live.add(child);
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => {
    out = (out + d).slice(-4096);
  });
  child.stderr.on('data', (d) => {
    err = (err + d).slice(-4096);
  });
  const exited = new Promise((resolve) =>
    child.once('close', (code, sig) => {
      live.delete(child);
      resolve(code ?? sig);
    }),
  );
  child.once('error', (e) => {
    err += String(e);
  });
  const srv = {
    s,
    placement,
    child,
    port,
    exited,
    get alive() {
      return child.exitCode === null && child.signalCode === null;
    },
    why: () => `${err}${out}`.trim().split('\n').slice(-5).join(' / '),
    async stop() {
      if (this.alive) child.kill('SIGTERM');
      const t = setTimeout(() => {
        if (this.alive) child.kill('SIGKILL');
      }, 3000);
      await exited;
      clearTimeout(t);
    },
  };
  for (let i = 0; i < 300; i++) {
    if (!srv.alive) throw new Error(`${s.key} exited at start: ${srv.why()}`);
    if (port === null) {
      const m = /^PORT (\d+)$/m.exec(out);
      if (m) srv.port = Number(m[1]);
    } else if (await canConnect(port)) {
      srv.port = port;
    }
    if (srv.port) break;
    await sleep(50);
  }
  if (!srv.port) {
    await srv.stop();
    throw new Error(`${s.key} did not listen within 15 s: ${srv.why()}`);
  }
  // taskset (if pinned) has exec'd into the server by now: its pid is the server's.
  srv.pid = child.pid;
  return srv;
}

// Status 200, right Content-Length (or chunked framing), the file's exact
// bytes; /empty: 200 and no body. Returns each file's per-response overhead
// on the wire (headers, chunk framing), to tell body bytes from wrk's count.
async function verify(srv, files) {
  const overhead = {};
  for (const f of files) {
    const r = await fetchRaw(srv.port, `/${f.name}`);
    if (r.status !== 200) throw new Error(`GET /${f.name}: status ${r.status}`);
    if (srv.s.mode === 'chunked') {
      if (!r.chunked) throw new Error(`GET /${f.name}: not chunked (${JSON.stringify(r.headers)})`);
    } else if (Number(r.headers['content-length']) !== f.size) {
      throw new Error(`GET /${f.name}: Content-Length ${r.headers['content-length']}, file has ${f.size}`);
    }
    if (r.body.length !== f.size || !r.body.equals(f.data)) {
      throw new Error(`GET /${f.name}: body of ${r.body.length} bytes differs from the file's ${f.size}`);
    }
    overhead[f.size] = r.wireBytes - f.size;
  }
  if (srv.s.empty) {
    const r = await fetchRaw(srv.port, '/empty');
    if (r.status !== 200 || r.body.length !== 0)
      throw new Error(`GET /empty: status ${r.status}, ${r.body.length} body bytes`);
    overhead[0] = r.wireBytes;
  }
  return overhead;
}

async function getPaths(srv) {
  if (srv.s.anchor) return null;
  const r = await fetchRaw(srv.port, '/__paths', 10000);
  return JSON.parse(r.body.toString('utf8'));
}
function diffCounts(a, b) {
  const d = {};
  for (const [k, v] of Object.entries(b || {})) if (v - (a?.[k] || 0) > 0) d[k] = v - (a?.[k] || 0);
  return d;
}

// ---------------------------------------------------------------- wrk

function runWrk(wrk, placement, port, urlPath, conns, seconds) {
  return new Promise((resolve, reject) => {
    const [cmd, ...args] = placed(placement, 1, [
      wrk,
      '-t1',
      `-c${conns}`,
      `-d${seconds}s`,
      '--latency',
      '--timeout',
      '30s',
      '-s',
      LUA,
      `http://127.0.0.1:${port}${urlPath}`,
    ]);
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], timeout: (seconds + 90) * 1000 });
    live.add(child);
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => {
      out += d;
    });
    child.stderr.on('data', (d) => {
      err += d;
    });
    child.once('error', reject);
    child.once('close', (code, sig) => {
      live.delete(child);
      const m = /^WRKJSON (\{.*\})$/m.exec(out);
      if (code !== 0 || !m)
        return reject(new Error(`wrk ${urlPath}: exit ${code ?? sig}: ${(err + out).trim().slice(-500)}`));
      resolve({ ...JSON.parse(m[1]), text: out });
    });
  });
}

// One measured run (after its warm-up) of one server at one size and
// concurrency; size 0 = GET /empty.
async function measure(tools, srv, file, conns, cfg, overhead) {
  const url = file ? `/${file.name}` : '/empty';
  const size = file ? file.size : 0;
  if (cfg.warmupSeconds > 0) await runWrk(tools.wrk, srv.placement, srv.port, url, conns, cfg.warmupSeconds);
  const p0 = await getPaths(srv);
  const c0 = treeCpu(srv.pid);
  const psi0 = cpuPressure();
  const w = await runWrk(tools.wrk, srv.placement, srv.port, url, conns, cfg.seconds);
  const psi1 = cpuPressure();
  await sleep(50); // the server's side of the connections' close
  const c1 = treeCpu(srv.pid);
  const p1 = await getPaths(srv);
  if (!srv.alive) throw new Error(`${srv.s.key} died: ${srv.why()}`);
  const errs = ['connect', 'read', 'write', 'status', 'timeout'].filter((k) => w[k] > 0);
  if (errs.length) throw new Error(`wrk ${url}: errors ${errs.map((k) => `${k} ${w[k]}`).join(', ')}`);
  // No complete response is possible (64 MiB × 16 connections in a short
  // run): the bytes still count, per-request figures are then undefined.
  if (w.bytes === 0) throw new Error(`wrk ${url}: no bytes in ${cfg.seconds} s`);
  // wrk's byte count is the wire's; take the verified per-response overhead
  // off for the body bytes, and check the count fits the responses.
  const per = overhead[size];
  const lo = w.requests * (size + per);
  const hi = (w.requests + conns) * (size + per);
  if (w.bytes < lo * 0.999 || w.bytes > hi * 1.001 + 4096) {
    throw new Error(`wrk ${url}: ${w.bytes} bytes for ${w.requests} responses of ${size} + ${per} bytes`);
  }
  const wall = w.duration / 1e6;
  const user = c1.user - c0.user;
  const sys = c1.sys - c0.sys;
  const clientCpu = (Number(w.utime) + Number(w.stime)) / ticks();
  const p = p1 ? diffCounts(p0.paths, p1.paths) : undefined;
  const lat = (us) => (w.requests > 0 ? us / 1e6 : NaN);
  return {
    transfers: w.requests,
    bytes: Math.max(0, w.bytes - w.requests * per),
    wireBytes: w.bytes,
    wall,
    user,
    sys,
    latP50: lat(w.p50),
    latP90: lat(w.p90),
    latP99: lat(w.p99),
    latMax: lat(w.max),
    clientUser: Number(w.utime) / ticks(),
    clientSys: Number(w.stime) / ticks(),
    clientBusy: clientCpu / wall,
    serverBusy: (user + sys) / wall,
    serverRssKiB: rssKiB(srv.pid),
    cpuPressure: (psi1.us - psi0.us) / 1e6 / ((psi1.t - psi0.t) / 1000),
    ...(p ? { paths: p, reasons: diffCounts(p0.reasons, p1.reasons) } : {}),
  };
}

function rotated(list, k) {
  const n = ((k % list.length) + list.length) % list.length;
  return list.slice(n).concat(list.slice(0, n));
}

const fmt = (n) => (n >= MiB ? `${n / MiB} MiB` : n >= KiB ? `${n / KiB} KiB` : `${n} B`);
const fileName = (n) =>
  `${n >= MiB && n % MiB === 0 ? `${n / MiB}m` : n >= KiB && n % KiB === 0 ? `${n / KiB}k` : `${n}b`}.bin`;

// ---------------------------------------------------------------- the workload

/**
 * ctx: { opts (bench/run.js's options), log, makeFile(path, size), failures: [], push(run) }.
 * Returns what the report needs to know of the setup (config.http).
 */
async function runHttp(ctx) {
  const { log } = ctx;
  const started = Date.now();
  const cfg = httpConfig(ctx.opts);
  const info = { ...cfg, skipped: [], problems: [], versions: {} };
  const problem = (msg) => {
    info.problems.push(msg);
    ctx.failures.push(`http: ${msg}`);
    log(`http: ${msg}`);
  };
  const tools = {};
  const wrk = aptEnsure('wrk', 'wrk', log);
  if (!wrk.bin) {
    info.skipped.push({ key: 'all', why: `the HTTP workload needs wrk: ${wrk.why}` });
    log(`http: SKIPPED, no wrk: ${wrk.why}`);
    return info;
  }
  if (cfg.placements.includes('pinned') && !which('taskset')) {
    info.skipped.push({ key: 'all', why: 'the HTTP workload needs taskset (util-linux)' });
    log('http: SKIPPED, no taskset');
    return info;
  }
  tools.wrk = wrk.bin;
  info.versions.wrk = version(wrk.bin, ['-v'], /^wrk (\S+)/m);
  let servers = serverList(cfg);
  if (servers.some((s) => s.anchor === 'nginx')) {
    const r = aptEnsure('nginx', 'nginx', log);
    if (r.bin) {
      tools.nginx = r.bin;
      info.versions.nginx = version(r.bin, ['-v'], /nginx\/(\S+)/);
    } else {
      info.skipped.push({ key: 'nginx', why: r.why });
      log(`http: nginx anchor SKIPPED: ${r.why}`);
    }
  }
  if (servers.some((s) => s.anchor === 'bun')) {
    const r = bunEnsure(log, cfg.bun);
    const v = r.bin ? version(r.bin, ['--version'], /^(\d\S*)/m) : '?';
    if (r.bin && v !== '?') {
      tools.bun = r.bin;
      info.versions.bun = v;
    } else {
      const why = r.why || `${r.bin} --version did not answer`;
      info.skipped.push({ key: 'bun', why });
      log(`http: Bun anchor SKIPPED: ${why}`);
    }
  }
  servers = servers.filter((s) => !s.anchor || tools[s.anchor]);
  for (const p of ['express', 'fastify', '@fastify/static']) info.versions[p] = pkgVersion(p);
  info.versions.node = process.version;
  if (!fs.existsSync(REGISTER)) throw new Error(`${REGISTER} is missing: run \`npm run build:ts\``);
  info.servers = servers.map((s) => ({ key: s.key, name: s.name, fw: s.fw, streams: s.streams, empty: !!s.empty }));

  // Files (readable by nginx's worker, which runs as nobody under root).
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'zerocopy-bench-http-'));
  fs.chmodSync(tmp, 0o755);
  const filesDir = path.join(tmp, 'files');
  fs.mkdirSync(filesDir, { mode: 0o755 });
  cleanupDirs.add(tmp);
  const files = cfg.sizes.map((size) => {
    const f = { size, name: fileName(size), file: path.join(filesDir, fileName(size)) };
    ctx.makeFile(f.file, size);
    fs.chmodSync(f.file, 0o644);
    f.data = fs.readFileSync(f.file);
    return f;
  });
  // Every cell of a round: placement, concurrency, then size (0 = the empty
  // body), then the variants in an order rotated per round and per cell.
  const cells = [];
  for (const placement of cfg.placements) {
    for (const conns of cfg.conns) {
      for (const f of [null, ...files]) cells.push({ placement, conns, file: f, size: f ? f.size : 0 });
    }
  }
  // One server process per server and placement: a pinned one stays pinned.
  const instances = cfg.placements.flatMap((placement) => servers.map((s) => ({ s, placement })));
  const perRound = cells.reduce((n, c) => n + servers.filter((s) => c.file || s.empty).length, 0);
  log(
    `http: ${servers.length} servers × ${cfg.placements.join(', ')}, ${perRound} runs per round × ${cfg.rounds} rounds, ` +
      `${cfg.warmupSeconds} s warm-up + ${cfg.seconds} s each (≈${Math.round((perRound * cfg.rounds * (cfg.seconds + cfg.warmupSeconds + 0.3)) / 60)} min)`,
  );
  for (const sk of info.skipped) log(`http: skipped ${sk.key}: ${sk.why}`);

  const up = new Map();
  try {
    for (let round = 0; round < cfg.rounds; round++) {
      // The servers stay up from round to round (each measured run has its
      // own warm-up); one that is not running is (re)started and checked.
      const t0 = Date.now();
      const need = instances.filter((x) => !up.has(x) || !up.get(x).alive);
      const starts = await Promise.allSettled(need.map((x) => startServer(x.s, x.placement, tools, filesDir, tmp)));
      for (const [i, st] of starts.entries()) {
        const x = need[i];
        up.delete(x);
        try {
          if (st.status === 'rejected') throw st.reason;
          st.value.overhead = await verify(st.value, files);
          up.set(x, st.value);
        } catch (err) {
          problem(`r${round} ${x.placement} ${x.s.key}: left out of this round: ${String(err.message).split('\n')[0]}`);
          if (st.status === 'fulfilled') await st.value.stop();
        }
      }
      const ordered = instances.map((x) => up.get(x)).filter(Boolean);
      log(
        `http: round ${round + 1}/${cfg.rounds}: ${ordered.length} servers up${need.length ? `, ${need.length} started and verified` : ''} (${Date.now() - t0} ms)`,
      );
      let k = round;
      for (const cell of cells) {
        const vs = ordered.filter((srv) => srv.placement === cell.placement && (cell.file || srv.s.empty));
        for (const srv of rotated(vs, k++)) {
          const label = `http ${cell.placement} c${cell.conns} ${cell.file ? fmt(cell.size) : 'empty'} r${round} ${srv.s.key}`;
          const tc = Date.now();
          let res;
          for (let tryNo = 0; tryNo < 2 && !res; tryNo++) {
            if (!srv.alive) break;
            try {
              res = await measure(tools, srv, cell.file, cell.conns, cfg, srv.overhead);
            } catch (err) {
              problem(`${label}${tryNo ? ' (retry)' : ''}: ${String(err.message).split('\n')[0]}`);
            }
          }
          if (!res) continue;
          const variant = cell.file ? srv.s.key : `${srv.s.key}-empty`;
          ctx.push({
            variant,
            name: srv.s.name,
            server: srv.s.key,
            fw: srv.s.fw,
            streams: srv.s.streams,
            placement: cell.placement,
            size: cell.size,
            conns: cell.conns,
            round,
            ...res,
          });
          const fast =
            res.paths && Object.keys(res.paths).length
              ? `, paths ${Object.entries(res.paths)
                  .map(([a, b]) => `${a} ${b}`)
                  .join(' ')}`
              : '';
          log(
            `${label}: ${(res.transfers / res.wall).toFixed(0)} req/s, ${(res.bytes / res.wall / MiB).toFixed(0)} MiB/s, ` +
              `server ${(((res.user + res.sys) / res.transfers) * 1e6).toFixed(0)} µs/req (${(res.serverBusy * 100).toFixed(0)}% of a core), ` +
              `wrk ${(res.clientBusy * 100).toFixed(0)}%, p50 ${(res.latP50 * 1e3).toFixed(2)} ms, ` +
              `CPU pressure ${(res.cpuPressure * 100).toFixed(0)}%${fast} (${Date.now() - tc} ms)`,
          );
        }
      }
      log(`http: round ${round + 1}/${cfg.rounds} took ${Math.round((Date.now() - t0) / 1000)} s`);
    }
  } finally {
    await Promise.all([...up.values()].map((srv) => srv.stop()));
    await stopHttp();
  }
  info.elapsed = Math.round((Date.now() - started) / 1000);
  log(`http: done in ${info.elapsed} s`);
  return info;
}

const cleanupDirs = new Set();
async function stopHttp() {
  for (const c of live) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  for (const d of cleanupDirs) fs.rmSync(d, { recursive: true, force: true });
  cleanupDirs.clear();
}

module.exports = { runHttp, stopHttp, httpConfig };
