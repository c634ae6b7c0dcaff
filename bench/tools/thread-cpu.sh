#!/bin/bash
# bench/tools/thread-cpu.sh uploads|downloads stock|register SIZE [SECONDS]   (SIZE in bytes)
#
# Where a body's CPU goes, by thread, in the process that moves it:
#   uploads:   bench/bodies/upload-server.js (req.pipe(file)), with
#              bench/bin/http_client on core 1 (PUT, one keep-alive connection);
#   downloads: bench/bodies/download-client.js (http.get, res.pipe(file)),
#              from a Node origin on core 1 answering the body from memory.
# The measured process runs stock or under --require dist/register.js
# (REG=FILE: that file instead), pinned to core 0; after a 3 s warm-up
# (uploads: on three connections) its threads' CPU (/proc/PID/task/*/stat)
# is read over SECONDS (default 4).
# Prints µs of CPU per request (user+sys) of the main thread, the libuv pool
# threads (the ones in the kernel more than in user mode) and V8's (the
# others). Files land on /dev/shm.
set -euo pipefail
cd "$(dirname "$0")/../.."
part=${1:?uploads|downloads}; mode=${2:?stock|register}; size=${3:?SIZE}; secs=${4:-4}
node bench/lib/cprogs.js http_client
[ -f dist/register.js ] || npm run build:ts > /dev/null
d=$(mktemp -d /dev/shm/thread-cpu-XXXX)
pids=()
trap 'kill "${pids[@]}" 2>/dev/null; rm -rf "$d"' EXIT
head -c "$size" /dev/urandom > "$d/body"
args=(); [ "$mode" = register ] && args=(--require "${REG:-./dist/register.js}")
port_of() { for _ in $(seq 50); do grep -q PORT "$1" && break; sleep 0.1; done; grep -o 'PORT [0-9]*' "$1" | cut -d' ' -f2; }
snap() { for t in /proc/$pid/task/*; do echo "$(basename "$t") $(cut -d')' -f2 "$t/stat" | awk '{print $12, $13}')"; done | sort; }
if [ "$part" = uploads ]; then
  taskset -c 0 node "${args[@]}" bench/bodies/upload-server.js "$d/out" > "$d/log" 2>&1 &
  pid=$!; pids+=("$pid")
  port=$(port_of "$d/log")
  # Warm-up on three connections: a server's first few connections throw away
  # code optimized for the sockets before them (upload-ceiling.sh).
  for _ in 1 2 3; do taskset -c 1 bench/bin/http_client "$port" PUT /upload 1 1000 "$d/body" > /dev/null; done
  snap > "$d/a"
  r=$(taskset -c 1 bench/bin/http_client "$port" PUT /upload 1 $((secs * 1000)) "$d/body" | tail -1 | grep -o '"requests":[0-9]*' | cut -d: -f2)
  snap > "$d/b"
else
  taskset -c 1 node -e "const b = require('node:fs').readFileSync(process.argv[1]);
require('node:http').createServer((q, r) => { r.setHeader('Content-Length', b.length); r.end(b); })
  .listen(0, '127.0.0.1', function () { console.log('PORT ' + this.address().port); });" "$d/body" > "$d/olog" &
  pids+=($!)
  port=$(port_of "$d/olog")
  job="{\"port\":$port,\"path\":\"/\",\"out\":\"$d/out\",\"expect\":\"$d/body\",\"warmupMs\":3000,\"durationMs\":$((secs * 1000 + 2000))}"
  taskset -c 0 node "${args[@]}" bench/bodies/download-client.js "$job" > "$d/out.json" &
  pid=$!; pids+=("$pid")
  sleep 4; snap > "$d/a"; sleep "$secs"; snap > "$d/b"
  wait "$pid"
  # Downloads in the window, at the timed part's average rate.
  r=$(node -e "const j = JSON.parse(require('fs').readFileSync(process.argv[1], 'utf8').trim().split('\n').pop());
console.log(Math.round((j.transfers * $secs) / j.wall))" "$d/out.json")
fi
tick_us=$(( 1000000 / $(getconf CLK_TCK) ))
join "$d/a" "$d/b" | awk -v pid="$pid" -v r="$r" -v what="$part $mode" -v t="$tick_us" '
  { du = ($4 - $2) * t / r; ds = ($5 - $3) * t / r
    if ($1 == pid) { mu += du; ms += ds } else if (ds > du) { pu += du; ps += ds } else { vu += du; vs += ds } }
  END { printf "%-18s %d req  main %4.0f+%4.0f  pool %4.0f+%4.0f  v8 %4.0f+%4.0f  total %4.0f µs/req (user+sys)\n",
        what, r, mu, ms, pu, ps, vu, vs, mu + ms + pu + ps + vu + vs }'
