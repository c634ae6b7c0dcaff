#!/bin/bash
# bench/tools/thread-cpu.sh stock|register SIZE [SECONDS]   (SIZE in bytes)
#
# Where an upload's CPU goes, by thread: bench/bodies/upload-server.js, stock
# or under --require dist/register.js (REG=FILE: that file instead), pinned to
# core 0, with bench/bin/http_client on core 1 (PUT, one keep-alive
# connection, 3 s warm-up, SECONDS measured, default 4). Prints µs of CPU per
# request (user+sys, /proc/PID/task/*/stat) of the main thread, the libuv
# pool threads (the ones in the kernel more than in user mode) and V8's
# (the others), and minor faults per request. Bodies land on /dev/shm.
set -euo pipefail
cd "$(dirname "$0")/../.."
mode=${1:?stock|register}; size=${2:?SIZE}; secs=${3:-4}
node bench/lib/cprogs.js http_client
[ -f dist/register.js ] || npm run build:ts > /dev/null
d=$(mktemp -d /dev/shm/thread-cpu-XXXX)
trap 'kill $pid 2>/dev/null; rm -rf "$d"' EXIT
head -c "$size" /dev/urandom > "$d/body"
args=(); [ "$mode" = register ] && args=(--require "${REG:-./dist/register.js}")
taskset -c 0 node "${args[@]}" bench/bodies/upload-server.js "$d/out" > "$d/log" 2>&1 &
pid=$!
for _ in $(seq 50); do grep -q PORT "$d/log" && break; sleep 0.1; done
port=$(grep -o 'PORT [0-9]*' "$d/log" | cut -d' ' -f2)
taskset -c 1 bench/bin/http_client "$port" PUT /upload 1 3000 "$d/body" > /dev/null
snap() { for t in /proc/$pid/task/*; do echo "$(basename "$t") $(cut -d')' -f2 "$t/stat" | awk '{print $12, $13, $8}')"; done; }
snap | sort > "$d/a"
r=$(taskset -c 1 bench/bin/http_client "$port" PUT /upload 1 $((secs * 1000)) "$d/body" | tail -1 | grep -o '"requests":[0-9]*' | cut -d: -f2)
snap | sort > "$d/b"
tick_us=$(( 1000000 / $(getconf CLK_TCK) ))
join "$d/a" "$d/b" | awk -v pid=$pid -v r="$r" -v mode="$mode" -v t="$tick_us" '
  { du = ($5 - $2) * t / r; ds = ($6 - $3) * t / r; flt += ($7 - $4) / r
    if ($1 == pid) { mu += du; ms += ds } else if (ds > du) { pu += du; ps += ds } else { vu += du; vs += ds } }
  END { printf "%-8s %d req  main %4.0f+%4.0f  pool %4.0f+%4.0f  v8 %4.0f+%4.0f  total %4.0f µs/req (user+sys), minflt %.1f/req\n",
        mode, r, mu, ms, pu, ps, vu, vs, mu + ms + pu + ps + vu + vs, flt }'
