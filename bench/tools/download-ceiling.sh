#!/bin/bash
# bench/tools/download-ceiling.sh [SIZE] [ROUNDS]   (SIZE in bytes, default 1 MiB; ROUNDS default 3)
#
# What a download costs the client, against a C ceiling: in each round, one
# after another, bench/bodies/download-client.js stock and under
# --require dist/register.js (http.get, res.pipe(fs.createWriteStream(f))),
# and bench/c/http_client writing each body to its file by read/write
# ("c-copy") and by splice socket → pipe → file ("c-splice"); every client
# pinned to core 0, one keep-alive connection to an nginx origin on core 1 (as
# the bench's downloads part), 5 s warm-up (a fresh Node process's JIT takes
# about that to settle at 1 MiB), 4 s measured. Prints downloads per second and
# the client's CPU (user + sys, every thread) per download: the Node clients'
# from process.cpuUsage(), the C client's from getrusage, both over the
# measured part. Every client opens its file with O_TRUNC per download, as
# fs.createWriteStream does, on /dev/shm (tmpfs); its last file is checked
# against the body.
set -euo pipefail
cd "$(dirname "$0")/../.."
size=${1:-1048576}
rounds=${2:-3}
command -v nginx > /dev/null || { echo "needs nginx (apt-get install -y nginx)" >&2; exit 2; }
node bench/lib/cprogs.js http_client
[ -f dist/register.js ] || npm run build:ts > /dev/null
d=$(mktemp -d /dev/shm/download-ceiling-XXXX)
chmod 755 "$d"
nginx_pid=
trap '[ -n "$nginx_pid" ] && kill "$nginx_pid" 2> /dev/null; rm -rf "$d"' EXIT
mkdir -p "$d/root" "$d/nginx"
head -c "$size" /dev/urandom > "$d/root/body"
chmod 644 "$d/root/body"
port=$(node -e "const s = require('node:net').createServer().listen(0, '127.0.0.1', () => { console.log(s.address().port); s.close(); })")
sed "s#@@PREFIX@@#$d/nginx#g; s#@@PORT@@#$port#; s#@@ROOT@@#$d/root#" bench/http/nginx.conf.template > "$d/nginx/nginx.conf"
taskset -c 1 nginx -p "$d/nginx" -c "$d/nginx/nginx.conf" -e "$d/nginx/error.log" &
nginx_pid=$!
for _ in $(seq 100); do (exec 3<> "/dev/tcp/127.0.0.1/$port") 2> /dev/null && break; sleep 0.05; done
field() { node -e "const j = JSON.parse(require('fs').readFileSync(0, 'utf8').trim().split('\n').pop());
if (!j.ok) { console.error(j.error); process.exit(1); }
const n = j.transfers ?? j.requests;
console.log(Math.round(n / j.wall) + ' downloads/s, ' + Math.round(((j.user + j.sys) * 1e6) / n) + ' µs CPU/download')"; }
for r in $(seq "$rounds"); do
  for v in stock register c-copy c-splice; do
    out="$d/out-$v"
    case $v in
      stock | register)
        args=(); [ "$v" = register ] && args=(--require ./dist/register.js)
        job="{\"port\":$port,\"path\":\"/body\",\"out\":\"$out\",\"expect\":\"$d/root/body\",\"warmupMs\":5000,\"durationMs\":4000}"
        line=$(taskset -c 0 node "${args[@]}" bench/bodies/download-client.js "$job" | field) ;;
      c-copy | c-splice)
        taskset -c 0 bench/bin/http_client "$port" GET /body 1 5000 "$out" "${v#c-}" > /dev/null
        line=$(taskset -c 0 bench/bin/http_client "$port" GET /body 1 4000 "$out" "${v#c-}" | field) ;;
    esac
    ok=$(cmp -s "$d/root/body" "$out" && echo ok || echo 'FILE DIFFERS')
    echo "round $r $v: $line ($ok)"
  done
done
