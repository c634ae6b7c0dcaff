Prose of the HTTP section of docs/benchmarks.md (bench/render/http.js fills in the {{…}} fields).

@@ head
## HTTP static files: node:http, express.static, @fastify/static — stock vs zerocopy, with nginx and Bun

Command: `{{command}}` (the HTTP part took {{elapsed}} s). {{rounds}} rounds; in each, every variant gets a {{warmup}} s warm-up run, then a measured `wrk -t1 -cN -d{{seconds}}s --latency` run (under `taskset -c 1` when pinned); variants in an order rotated per round and per cell. Cells are the **median (min–max)** over the rounds; ratios are per-round ratios between runs of the same round, median (min–max).
Versions: Node {{node}}, express {{express}}, fastify {{fastify}}, @fastify/static {{static}}, nginx {{nginx}}, Bun {{bun}}, wrk {{wrk}}.

@@ how
- Placements (`--http-placement`; this run: {{placements}}), each with its own server processes, tables and targets: **pinned**, every server pinned to core 0 (`taskset -c 0`) and wrk to core 1 (`taskset -c 1`), so neither takes the other's core; **free**, neither pinned: the kernel schedules server, wrk and the loopback work over both cores. All servers are started together and stay up through the rounds (idle ones wait in epoll); each is checked once started: status 200, the right Content-Length (chunked framing for the chunked variant) and the exact bytes of every file, and an empty 200 for `/empty`.
- **stock** = `node server.js`; **zerocopy** = `node --require dist/register.js server.js`, the same script (bench/http/*-server.js). The `empty` rows are the same stock servers answering `GET /empty` (200, no body): the framework's own ceiling; "body cost" is a variant's server CPU per request minus its framework's empty-body CPU per request (same round and concurrency), and in brackets that share of its CPU per request.
- nginx: `sendfile on; tcp_nopush on; worker_processes 1; daemon off; access_log off; keepalive_requests 1000000` (bench/http/nginx.conf.template, own prefix in a temp dir). Bun: `Bun.serve` + `new Response(Bun.file(path))`.
- Files: real random bytes, fsynced and **page-cached**. MiB/s counts body bytes (wrk's byte count less the verified per-response header overhead, partial responses at the end of a run included). Server CPU = utime+stime of the server's process tree from /proc/PID/stat over the run (every thread, libuv's pool too; 10 ms ticks), per request and per GiB of body. Latency p50/p99 from wrk. "server / wrk CPU" = each one's CPU time over the run's wall time (1 = one core flat out): a server near 100% is the bound; **⚠ wrk-bound** marks runs where wrk (which reads every byte into userspace, 8 KiB per read) used ≥ 90% of its core, so it — not the server — may have set the pace. "wrk CPU s/GiB" is the client's own CPU per GiB of body received: it is not the same for every server (how the bytes were sent changes the receive side's work), so compare it before reading a ratio between wrk-bound rows.
- What zerocopy changes, by size: a body below {{min}} (its Content-Length) still goes through JavaScript, but a page-cached file's `fs.stat`, open, reads and close run in the event loop (no threadpool round trips); from {{min}} the kernel (`sendfile`) carries the body, unless the response is declined (see "fast path").
- "fast path": the share of the zerocopy servers' pipe() flows that the `zerocopy:transfer` diagnostics channel reported as a kernel path (sendfile/splice); 0% = every response's bytes went through JavaScript.

@@ zero
req/s of 0: at most a response or two completed within the {{seconds}} s run ({{conns}} × the file in flight at once), so per-request figures are rough or "–"; MiB/s and CPU/GiB count every body byte received.

@@ bound
At {{sizes}} ({{conns}} conn., {{placement}}) wrk used ≥ 90% of its core against nginx: there the client is the bound, and "vs nginx" compares with a capped figure.

@@ receiver
On loopback, at these sizes the receiver's cost shows in the throughput: wrk reads every byte into userspace, and with zerocopy the socket carries the page-cache pages `sendfile` gave it, so wrk's reads copy every byte out of those pages, and its CPU per GiB rises ({{measured}}). So zerocopy's MiB/s can come out below stock's for the receiver's sake, not the server's: such rows read "receiver-bound", not "slower", and the server's CPU per GiB is the figure that is the server's own. bench/run.js's raw socket workloads (file → socket, small files) receive with bench/c/receiver.c, which splices to /dev/null and does not pay this copy; a real NIC would not either.

@@ psi
CPU pressure during the measured runs (PSI "some" of /proc/pressure/cpu: share of the time in which a runnable task waited for a core; pinned, server and wrk have a core each, so there it is mostly other processes on this shared machine; free, they can also wait for each other): median {{median}}%, max {{max}}%{{contended}}.
