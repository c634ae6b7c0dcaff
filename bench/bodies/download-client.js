'use strict';
// The downloads part's measured process (bench/workloads/bodies.js runs it):
//
//   taskset -c 0 node [--require dist/register.js] bench/bodies/download-client.js '<json job>'
//
// Downloads http://127.0.0.1:<job.port><job.path> again and again, one after
// another on a keep-alive Agent (one socket): `http.get(url, (res) =>
// res.pipe(fs.createWriteStream(job.out)))`, the next request on the write
// stream's 'finish'. First one download whose file is compared with
// job.expect (the origin's file), then job.warmupMs of downloads off the
// clock, then job.durationMs timed (the download under way at the end runs to
// its end). Prints one JSON line: the timed part's body bytes, downloads,
// wall time, CPU (process.cpuUsage(), user and sys apart), peak RSS, latency
// per download, and the diagnostics counts over the timed part.
const fs = require('node:fs');
const http = require('node:http');
const { snapshot, die } = require('./counts');
const { sameFiles } = require('../lib/files');

const job = JSON.parse(process.argv[2]);
process.on('unhandledRejection', die);
setTimeout(() => die(new Error('download client timed out')), job.timeoutMs || 120000).unref();

const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
const url = `http://127.0.0.1:${job.port}${job.path}`;

/** One download into job.out; resolves with its body bytes. */
function download() {
  return new Promise((resolve, reject) => {
    http
      .get(url, { agent }, (res) => {
        if (res.statusCode !== 200) return reject(new Error(`GET ${job.path}: status ${res.statusCode}`));
        const want = Number(res.headers['content-length']);
        const ws = fs.createWriteStream(job.out);
        res.on('error', reject);
        ws.on('error', reject);
        res.pipe(ws);
        ws.on('finish', () =>
          ws.bytesWritten === want
            ? resolve(want)
            : reject(new Error(`GET ${job.path}: ${ws.bytesWritten} bytes written, Content-Length ${want}`)),
        );
      })
      .on('error', reject);
  });
}

// Peak RSS of this process (VmHWM), as in bench/workloads/sender.js.
function peakRssKiB() {
  const m = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync('/proc/self/status', 'utf8'));
  return m ? Number(m[1]) : process.resourceUsage().maxRSS;
}

async function main() {
  await download();
  if (!sameFiles(job.out, job.expect))
    throw new Error(`GET ${job.path}: the downloaded file differs from the origin's`);
  for (const end = Date.now() + (job.warmupMs || 0); Date.now() < end; ) await download();
  const c0 = snapshot();
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  const end = t0 + BigInt(job.durationMs) * 1000000n;
  const lat = [];
  let bytes = 0;
  while (process.hrtime.bigint() < end) {
    const s = process.hrtime.bigint();
    bytes += await download();
    lat.push(Number(process.hrtime.bigint() - s) / 1e9);
  }
  const wall = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpu = process.cpuUsage(cpu0);
  const c1 = snapshot();
  lat.sort((a, b) => a - b);
  const pct = (p) => lat[Math.min(lat.length - 1, Math.floor((p / 100) * lat.length))];
  const diff = (a, b) =>
    Object.fromEntries(Object.entries(b).flatMap(([k, v]) => (v - (a[k] || 0) > 0 ? [[k, v - (a[k] || 0)]] : [])));
  process.stdout.write(
    `${JSON.stringify({
      ok: true,
      bytes,
      transfers: lat.length,
      wall,
      user: cpu.user / 1e6,
      sys: cpu.system / 1e6,
      maxRssKiB: peakRssKiB(),
      latP50: pct(50),
      latP99: pct(99),
      latMax: lat[lat.length - 1],
      splicedBytes: c1.splicedBytes - c0.splicedBytes,
      paths: diff(c0.paths, c1.paths),
      reasons: diff(c0.reasons, c1.reasons),
    })}\n`,
  );
  agent.destroy();
}
main().catch(die);
