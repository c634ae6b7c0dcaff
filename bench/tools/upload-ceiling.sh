#!/bin/bash
# bench/tools/upload-ceiling.sh [SIZE] [ROUNDS]   (SIZE in bytes, default 1 MiB; ROUNDS default 3)
#
# What an upload costs the server, against a C ceiling: in each round, one
# after another, bench/bodies/upload-server.js stock and under
# --require dist/register.js, and bench/c/upload_server.c by read/write
# ("c-copy") and by splice socket → pipe → file ("c-splice"), each pinned to
# core 0 with bench/bin/http_client on core 1 (PUT, one keep-alive connection
# at a time; 5 s warm-up on five connections of 1 s, then 4 s measured on a
# sixth: a fresh Node process's JIT takes about 5 s to settle at 1 MiB, and a
# server's first few connections throw away code optimized for the sockets
# before them — `--trace-deopt`, 1 MiB uploads, connections one after another,
# deoptimizations per connection: of 1 s each, register 4, 8, 3, 1, 1, 0, 0…;
# of 3 s each, register 11, 39, 10, 11, 2, 0 and stock 7, 17, 0, 1, 0, 0 —
# while the bench's upload servers have served many). Prints
# requests per second and the server's CPU
# (utime + stime of every thread, /proc/PID/stat) per request; every server's
# file is checked against the body. Bodies land on /dev/shm (tmpfs).
set -euo pipefail
cd "$(dirname "$0")/../.."
size=${1:-1048576}
rounds=${2:-3}
node bench/lib/cprogs.js http_client upload_server
[ -f dist/register.js ] || npm run build:ts > /dev/null
d=$(mktemp -d /dev/shm/upload-ceiling-XXXX)
trap 'rm -rf "$d"' EXIT
head -c "$size" /dev/urandom > "$d/body"
cpu_ticks() { local f; f=$(cat "/proc/$1/stat"); set -- ${f##*) }; echo $(( ${12} + ${13} )); }
tick_us=$(( 1000000 / $(getconf CLK_TCK) ))
for r in $(seq "$rounds"); do
  for v in stock register c-copy c-splice; do
    case $v in
      stock) cmd=(node bench/bodies/upload-server.js "$d/out-$v") ;;
      register) cmd=(node --require ./dist/register.js bench/bodies/upload-server.js "$d/out-$v") ;;
      c-copy) cmd=(bench/bin/upload_server copy "$d/out-$v") ;;
      c-splice) cmd=(bench/bin/upload_server splice "$d/out-$v") ;;
    esac
    taskset -c 0 "${cmd[@]}" > "$d/log" 2>&1 &
    pid=$!
    for _ in $(seq 100); do grep -q PORT "$d/log" && break; sleep 0.05; done
    port=$(grep -o 'PORT [0-9]*' "$d/log" | cut -d' ' -f2)
    for _ in 1 2 3 4 5; do taskset -c 1 bench/bin/http_client "$port" PUT /upload 1 1000 "$d/body" > /dev/null; done
    c0=$(cpu_ticks $pid)
    req=$(taskset -c 1 bench/bin/http_client "$port" PUT /upload 1 4000 "$d/body" | tail -1 | grep -o '"requests":[0-9]*' | cut -d: -f2)
    c1=$(cpu_ticks $pid)
    kill $pid; wait $pid 2> /dev/null || true
    ok=$(cmp -s "$d/body" "$d/out-$v" && echo ok || echo 'FILE DIFFERS')
    echo "round $r $v: $((req / 4)) req/s, $(( (c1 - c0) * tick_us / req )) µs CPU/request ($ok)"
  done
done
