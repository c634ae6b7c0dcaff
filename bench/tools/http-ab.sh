#!/usr/bin/env bash
# Usage: bench/tools/http-ab.sh SERVER SIZE [ROUNDS]
#   SERVER: node | express | fastify (bench/http/<SERVER>-server.js); SIZE: e.g. 4k, 64k
#
# A quick A/B of one static-file server, stock against --require dist/register.js:
# both run at once (pinned to core 0, idle one waiting in epoll), wrk -c16 on core 1
# alternates 1 s slices between them, and the median of the per-slice ratios
# (zerocopy / stock req/s) is printed last. On a shared 2-core machine the slices
# of one pair see the same neighbours, which the full bench's longer runs do not.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
server="bench/http/${1:?server}-server.js"; size="${2:?size}"; rounds="${3:-12}"
command -v wrk >/dev/null || apt-get install -y wrk >/dev/null
[ -f dist/register.js ] || npm run build:ts >/dev/null
root=$(mktemp -d); trap 'kill $p1 $p2 2>/dev/null; rm -rf "$root"' EXIT
n=$(node -e "const m=/^(\d+)([km]?)$/i.exec('$size'); console.log(m[1]*({'':1,k:1024,m:1048576})[m[2].toLowerCase()])")
head -c "$n" /dev/urandom > "$root/f"
taskset -c 0 node "$server" "$root" > "$root/stock.out" 2>&1 & p1=$!
taskset -c 0 node --require ./dist/register.js "$server" "$root" > "$root/zc.out" 2>&1 & p2=$!
for _ in $(seq 100); do grep -q PORT "$root/stock.out" && grep -q PORT "$root/zc.out" && break; sleep 0.1; done
ps=$(grep -o 'PORT [0-9]*' "$root/stock.out" | grep -o '[0-9]*'); pz=$(grep -o 'PORT [0-9]*' "$root/zc.out" | grep -o '[0-9]*')
rps() { taskset -c 1 wrk -t1 -c16 -d1s "http://127.0.0.1:$1/f" | awk '/Requests\/sec/ {print $2}'; }
rps "$ps" >/dev/null; rps "$pz" >/dev/null   # warm-up
for _ in $(seq "$rounds"); do a=$(rps "$ps"); b=$(rps "$pz"); echo "$a $b"; done |
  awk '{ printf "stock %s  zerocopy %s  ratio %.3f\n", $1, $2, $2 / $1 }' | sort -k6,6n |
  awk '{ print; v[NR] = $6 } END { printf "median ratio %.3f (%d slices)\n", v[int((NR + 1) / 2)], NR }'
