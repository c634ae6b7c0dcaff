Prose of the HTTP bodies section of docs/benchmarks.md (bench/render/bodies.js fills in the {{…}} fields).

@@ head
## HTTP bodies: uploads, downloads, proxied — stock Node vs `--require zerocopy/register`

Command: `{{command}}` (the bodies part took {{elapsed}} s). {{rounds}} rounds; in each, every part, size and variant runs once — a {{warmup}} s warm-up run (downloads: longer, below), then {{seconds}} s measured — the variants in an order rotated per round and per cell. Cells are the **median (min–max)** over the rounds; ratios are per-round ratios between runs of the same round, median (min–max).
Versions: Node {{node}}, http-proxy {{httpProxy}}, nginx {{nginx}}, HAProxy {{haproxy}}.

@@ how
- An `http.IncomingMessage` body framed by Content-Length, piped to a file (uploads, downloads) or to another HTTP message (the proxy: `proxyRes.pipe(res)`, `req.pipe(proxyReq)`). **stock** = `node script.js`; **register** = `node --require dist/register.js script.js`, the same script. Bodies of {{min}} and more (`{{minName}}`) are spliced by the kernel, socket → pipe → file or socket; smaller ones decline at `pipe()` and take Node's path.
- The measured process (upload server, download client, proxy) is pinned to core 0 (`taskset -c 0`), alone; the other side — bench/c/http_client and the nginx origin — to core 1. bench/c/http_client is a C client: PUT bodies come from a page-cached file by `sendfile`, GET bodies go socket → pipe → /dev/null by `splice`, so no body byte reaches its user space; requests one after another on keep-alive connections (a new connection when the server answers `Connection: close`).
- Body files: real random bytes, fsynced and **page-cached**. What uploads and downloads write lands in one file per process, overwritten by every body, on {{outFs}} ({{outDir}}).
- CPU s/GiB: the measured process's CPU (utime+stime of its process tree from /proc/PID/stat before and after the run — every thread, libuv's pool too; the download client: `process.cpuUsage()` over its timed part) per GiB of body delivered. GiB/s and req/s over whole bodies only (a request under way at the end of the run runs to its end). "busy": the measured process's CPU over the run's wall time (1 = one core flat out); "other side": the C client's and the origin's (1 = one core), to tell whether they, not the measured process, set the pace.
- "spliced": bytes the `zerocopy:transfer` diagnostics channel reported moved by the kernel (every message's `bytes` but `path: 'normal'`), over body bytes delivered, in the measured process; every Node process subscribes, so stock's is 0 by construction of the channel (nothing publishes there without the library). Below 100%: the part of a body Node had already read with the headers goes through JavaScript.
- Each run checks its bodies: the upload server answers 500 unless its file got Content-Length bytes, and after every warm-up the uploaded file is compared with the body sent; the download client checks every file's length and compares its first download with the origin's file; every proxy is checked once started (status, Content-Length, exact bytes of each file).

@@ uploads
### Uploads: `req.pipe(fs.createWriteStream(f))`, `res.end()` on 'finish'

bench/bodies/upload-server.js; load: `http_client PUT`, one keep-alive connection.

@@ downloads
### Downloads: `http.get(url, (res) => res.pipe(fs.createWriteStream(f)))`

bench/bodies/download-client.js, one download after another on a keep-alive Agent (one socket), from the origin (nginx `sendfile on`, 1 worker); a new process per run, which first downloads for {{downloadWarmup}} s off the clock (its warm-up run): the upload servers and proxies live through every round, and a process's JIT needs seconds to settle.

@@ proxy
### Proxied: http-proxy `proxy.web(req, res)`, with nginx and HAProxy

bench/bodies/proxy-server.js (`httpProxy.createProxyServer({ target })`, its defaults: a new connection to the origin per request, whose `Connection: close` it passes on, so the client reconnects per request too) in front of the origin; anchors on the same core: nginx `proxy_pass` (defaults: `proxy_buffering on`, HTTP/1.0 to the origin; 1 worker) and HAProxy (`option splice-auto`, 1 thread, keep-alive both sides). Load: `http_client GET`, {{conns}} keep-alive connections. "vs HAProxy" and "vs nginx": ratios to the anchor's run of the same round.

@@ psi
CPU pressure during the measured runs (PSI "some" of /proc/pressure/cpu: share of the time a runnable task waited for a core — on this shared machine mostly other processes): median {{median}}%, max {{max}}%{{contended}}.
