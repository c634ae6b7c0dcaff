'use strict';
// The HTTP bodies workload of `npm run bench` (`-- --only bodies` for it
// alone): an http.IncomingMessage body framed by Content-Length, stock Node
// vs the same script under `--require dist/register.js`, in three parts:
//   - uploads: a node:http server doing `req.pipe(fs.createWriteStream(f))`
//     and `res.end()` on 'finish' (bench/bodies/upload-server.js), load from
//     bench/c/http_client (PUT, body by sendfile, one keep-alive connection);
//   - downloads: a Node client doing `http.get(url, (res) =>
//     res.pipe(fs.createWriteStream(f)))` one after another on a keep-alive
//     Agent (bench/bodies/download-client.js), from an nginx origin;
//   - proxy: http-proxy's `proxy.web(req, res)` (bench/bodies/proxy-server.js)
//     in front of the same origin, with nginx proxy_pass and HAProxy
//     (`option splice-auto`) as anchors; load from bench/c/http_client (GET,
//     body spliced to /dev/null, `conns` keep-alive connections).
// The measured process (server, client, proxy) is pinned to core 0; the other
// side (the C client, the origin) to core 1. Body files: real random bytes,
// fsynced, page-cached. What the uploads and downloads write goes to one file
// per process, overwritten by every body, on tmpfs (/dev/shm) unless
// --bodies-dir says otherwise. The servers start once and stay up through the
// rounds (restarted and checked again if one died); in each round every part,
// size and variant runs once, the variants in an order rotated per round and
// per cell, each a warm-up run then the measured one (bench/bodies/measure.js).
// nginx and HAProxy come from Debian (`apt-get install -y` when missing); an
// anchor or part that cannot be had is skipped with a line saying why.
//
// Options: bench/run.js --help (the --bodies-* ones).
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { KiB, MiB, GiB, fmtSize } = require('../lib/md');
const { which, aptEnsure, version, run } = require('../lib/sys');
const { stopDaemons } = require('../lib/daemon');
const servers = require('../bodies/servers');
const { measureUpload, measureDownload, measureProxy } = require('../bodies/measure');

const PARTS = ['uploads', 'downloads', 'proxy'];
const VARIANTS = {
  uploads: [
    { key: 'stock', name: 'node:http, req.pipe(fs.createWriteStream(f))', baseline: true },
    { key: 'register', name: 'the same, --require dist/register.js', zc: true },
  ],
  downloads: [
    { key: 'stock', name: 'http.get, res.pipe(fs.createWriteStream(f))', baseline: true },
    { key: 'register', name: 'the same, --require dist/register.js', zc: true },
  ],
  proxy: [
    { key: 'stock', name: 'http-proxy, proxy.web(req, res)', baseline: true, node: true },
    { key: 'register', name: 'http-proxy, --require dist/register.js', zc: true, node: true },
    { key: 'nginx', name: 'nginx proxy_pass (1 worker)', anchor: 'nginx' },
    { key: 'haproxy', name: 'HAProxy, option splice-auto (1 thread)', anchor: 'haproxy' },
  ],
};

function parseSize(s) {
  const m = /^(\d+)\s*([kmg]?)(i?b)?$/i.exec(String(s).trim());
  if (!m) throw new Error(`--bodies-sizes: cannot read ${s}`);
  return Number(m[1]) * { '': 1, k: KiB, m: MiB, g: GiB }[m[2].toLowerCase()];
}

// The run's settings from bench/run.js's options (defaults: full run / --quick).
function bodiesConfig(o) {
  const quick = !!o.quick;
  const parts = o.bodiesParts ?? PARTS;
  for (const p of parts) if (!PARTS.includes(p)) throw new Error(`--bodies-parts: unknown ${p}`);
  return {
    quick,
    rounds: o.bodiesRounds ?? (quick ? 3 : 5),
    seconds: o.bodiesSeconds ?? (quick ? 2 : 3),
    warmupSeconds: 1,
    // The download client is a new process per run, where the upload servers
    // and proxies live through every round: its JIT is cold at each start.
    // At 1 MiB, V8's optimizations level off only after about 5 s here
    // (--trace-opt), the register's about 400 functions against stock's
    // 250, so a 1 s warm-up measured compile threads: 1.00x stock's CPU per
    // download against 0.65-0.70x after 5 s (2026-12-07).
    downloadWarmupSeconds: quick ? 2 : 5,
    sizes: (o.bodiesSizes ?? (quick ? ['64k', '1m', '16m'] : ['64k', '256k', '1m', '64m']))
      .map(parseSize)
      .sort((a, b) => a - b),
    parts: PARTS.filter((p) => parts.includes(p)),
    proxyConns: 4,
    dir: o.bodiesDir,
    command: o.command,
  };
}

const fsType = (dir) => run('findmnt', ['-n', '-o', 'FSTYPE', '-T', dir]).out.split('\n')[0] || '?';
const rotated = (list, k) => {
  const n = ((k % list.length) + list.length) % list.length;
  return list.slice(n).concat(list.slice(0, n));
};
const fileName = (n) => `${n % MiB === 0 ? `${n / MiB}m` : n % KiB === 0 ? `${n / KiB}k` : `${n}b`}.bin`;

const cleanupDirs = new Set();
/** Stops every server the workload started and removes its files (also on the driver's SIGINT/SIGTERM). */
function stopBodies() {
  stopDaemons();
  for (const d of cleanupDirs) fs.rmSync(d, { recursive: true, force: true });
  cleanupDirs.clear();
}

// The tools and packages each part needs; what cannot be had is skipped (info.skipped).
function tools(cfg, info, log) {
  const t = {};
  const skip = (key, why) => {
    info.skipped.push({ key, why });
    log(`bodies: ${key} SKIPPED: ${why}`);
  };
  if (!which('taskset')) {
    for (const p of cfg.parts) skip(p, 'needs taskset (util-linux) to pin the processes');
    return t;
  }
  t.parts = [...cfg.parts];
  if (cfg.parts.some((p) => p !== 'uploads')) {
    const r = aptEnsure('nginx', 'nginx', log, 'bodies');
    if (r.bin) {
      t.nginx = r.bin;
      info.versions.nginx = version(r.bin, ['-v'], /nginx\/(\S+)/);
    } else {
      for (const p of ['downloads', 'proxy'].filter((x) => cfg.parts.includes(x))) skip(p, `no nginx origin: ${r.why}`);
      t.parts = t.parts.filter((p) => p === 'uploads');
    }
  }
  t.skipVariants = new Set();
  if (t.parts.includes('proxy')) {
    const hp = servers.httpProxyEnsure(log);
    if (hp.dir) {
      t.httpProxy = hp.dir;
      info.versions['http-proxy'] = hp.version;
    } else {
      skip('http-proxy variants', hp.why);
      t.skipVariants.add('stock').add('register');
    }
    const ha = aptEnsure('haproxy', 'haproxy', log, 'bodies');
    if (ha.bin) {
      t.haproxy = ha.bin;
      info.versions.haproxy = version(ha.bin, ['-v'], /version (\S+)/);
    } else {
      skip('haproxy', ha.why);
      t.skipVariants.add('haproxy');
    }
  }
  return t;
}

/**
 * ctx: { opts (bench/run.js's options), log, makeFile(path, size), failures: [], push(run) }.
 * Returns what the report needs to know of the setup (config.bodies).
 */
async function runBodies(ctx) {
  const { log } = ctx;
  const started = Date.now();
  const cfg = bodiesConfig(ctx.opts);
  const info = { ...cfg, skipped: [], problems: [], versions: { node: process.version } };
  const problem = (msg) => {
    info.problems.push(msg);
    ctx.failures.push(`bodies: ${msg}`);
    log(`bodies: ${msg}`);
  };
  const t = tools(cfg, info, log);
  const parts = t.parts || [];
  info.parts = parts;
  if (!parts.length) return info;
  if (!fs.existsSync(servers.REGISTER)) throw new Error(`${servers.REGISTER} is missing: run \`npm run build:ts\``);

  // Body files (readable by nginx's worker, which runs as nobody under root), and where bodies land.
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'zerocopy-bench-bodies-'));
  cleanupDirs.add(tmp);
  fs.chmodSync(tmp, 0o755);
  const filesDir = path.join(tmp, 'files');
  fs.mkdirSync(filesDir, { mode: 0o755 });
  const files = cfg.sizes.map((size) => {
    const f = { size, name: fileName(size), file: path.join(filesDir, fileName(size)) };
    ctx.makeFile(f.file, size);
    fs.chmodSync(f.file, 0o644);
    return f;
  });
  const outBase = cfg.dir ?? (fsType('/dev/shm') === 'tmpfs' ? '/dev/shm' : tmp);
  const outDir = fs.mkdtempSync(path.join(outBase, 'zerocopy-bench-bodies-out-'));
  cleanupDirs.add(outDir);
  info.outDir = outBase;
  info.outFs = fsType(outDir);

  // The long-lived processes: the origin, the upload servers, the proxies.
  const wanted = [];
  if (parts.some((p) => p !== 'uploads'))
    wanted.push({ key: 'origin', start: () => servers.startOrigin(t, filesDir, tmp) });
  if (parts.includes('uploads'))
    for (const v of VARIANTS.uploads) {
      const out = path.join(outDir, `upload-${v.key}.bin`);
      wanted.push({
        key: `uploads ${v.key}`,
        start: async () => Object.assign(await servers.startUploadServer(v, out), { out }),
      });
    }
  const proxyVariants = VARIANTS.proxy.filter((v) => !t.skipVariants.has(v.key));
  if (parts.includes('proxy'))
    for (const v of proxyVariants)
      wanted.push({
        key: `proxy ${v.key}`,
        needs: 'origin',
        start: async (origin) => Object.assign(await servers.startProxy(v, t, origin.port, tmp), { anchor: v.anchor }),
      });
  const up = new Map();
  // Starts (and checks) whatever is not running; one that fails sits the round out.
  const ensureUp = async (round) => {
    for (const w of wanted) {
      if (up.get(w.key)?.alive) continue;
      up.delete(w.key);
      const dep = w.needs && up.get(w.needs);
      if (w.needs && !dep) continue;
      let d;
      try {
        d = await w.start(dep);
        if (w.key === 'origin' || w.key.startsWith('proxy')) await servers.verifyFiles(d, files);
        up.set(w.key, d);
      } catch (err) {
        problem(`r${round} ${w.key}: left out of this round: ${String(err.message).split('\n')[0]}`);
        await d?.stop();
      }
    }
  };

  const cells = parts.flatMap((part) => files.map((file) => ({ part, file })));
  log(
    `bodies: ${parts.join(', ')} × ${files.map((f) => fmtSize(f.size)).join(', ')}, ${cfg.rounds} rounds, ` +
      `${cfg.warmupSeconds} s warm-up + ${cfg.seconds} s each; bodies written to ${info.outDir} (${info.outFs})`,
  );
  try {
    for (let round = 0; round < cfg.rounds; round++) {
      const t0 = Date.now();
      await ensureUp(round);
      let k = round;
      for (const { part, file } of cells) {
        const vs = part === 'proxy' ? proxyVariants : VARIANTS[part];
        for (const v of rotated(vs, k++)) {
          const label = `bodies ${part} ${fmtSize(file.size)} r${round} ${v.key}`;
          const srv = part === 'downloads' ? null : up.get(`${part} ${v.key}`);
          const origin = up.get('origin');
          if ((part !== 'downloads' && !srv) || (part !== 'uploads' && !origin)) continue;
          const once = () => {
            if (part === 'uploads') return measureUpload(srv, file, cfg);
            if (part === 'downloads')
              return measureDownload(v, origin, file, cfg, path.join(outDir, `download-${v.key}.bin`));
            return measureProxy(srv, origin, file, cfg);
          };
          let res;
          for (let tryNo = 0; tryNo < 2 && !res; tryNo++) {
            if (srv && !srv.alive) break;
            try {
              res = await once();
            } catch (err) {
              problem(`${label}${tryNo ? ' (retry)' : ''}: ${String(err.message).split('\n')[0]}`);
            }
          }
          if (!res) continue;
          ctx.push({
            part,
            variant: v.key,
            name: v.name,
            size: file.size,
            conns: part === 'proxy' ? cfg.proxyConns : 1,
            round,
            ...res,
          });
          const share = Number.isFinite(res.splicedShare) ? `, spliced ${(res.splicedShare * 100).toFixed(0)}%` : '';
          log(
            `${label}: ${(res.bytes / res.wall / GiB).toFixed(2)} GiB/s, ${(res.transfers / res.wall).toFixed(0)} req/s, ` +
              `CPU ${((res.user + res.sys) / (res.bytes / GiB)).toFixed(3)} s/GiB${share}`,
          );
        }
      }
      log(`bodies: round ${round + 1}/${cfg.rounds} took ${Math.round((Date.now() - t0) / 1000)} s`);
    }
  } finally {
    await Promise.all([...up.values()].map((d) => d.stop()));
    stopBodies();
  }
  info.elapsed = Math.round((Date.now() - started) / 1000);
  log(`bodies: done in ${info.elapsed} s`);
  return info;
}

module.exports = { runBodies, stopBodies, bodiesConfig, VARIANTS };
