// The package's install script. A prebuilt binary (prebuilds/, see
// scripts/build/prebuild.sh) needs no install step at all: node-gyp-build finds it
// at run time, so zerocopy keeps its fast path where install scripts are
// skipped (pnpm 10, Bun, npm's allowScripts). This script only matters where
// no prebuild fits this machine: it compiles the addon from native/ when a
// toolchain is there, and otherwise says once, on stderr, that the normal
// stream path will be used. It never fails the install: without the addon
// every stream still works, on Node's own path.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { spawnSync } = require('node:child_process');

const root = path.join(__dirname, '..', '..');
// node-gyp-build's own libc rule: the prebuilds are tagged glibc, Alpine is musl.
const libc = process.env.LIBC || (fs.existsSync('/etc/alpine-release') ? 'musl' : 'glibc');
const target = `${process.platform}-${process.arch}`;

function warn(why) {
  console.error(
    `zerocopy: ${why}; the kernel fast path is off and every stream takes Node's normal path ` +
      '(same results). To build it: install python3, make and a C++ compiler, then run `npm rebuild zerocopy`.',
  );
}

/**
 * The addon node-gyp-build would load, or the reason it cannot. Probed in a
 * child process: a binary that crashes as it loads (a truncated file maps past
 * its end and dies of SIGBUS) must not take the install down with it.
 */
function tryLoad() {
  const probe = `
    const build = require('node-gyp-build');
    let out;
    try {
      const binding = build(process.argv[1]);
      out = binding.supported ? { ok: true, file: build.resolve(process.argv[1]) }
        : { ok: false, reason: 'the addon was built without its fast paths' };
    } catch (err) {
      out = { ok: false, reason: String(err && err.message).split('\\n')[0] };
    }
    process.stdout.write(JSON.stringify(out));`;
  const r = spawnSync(process.execPath, ['-e', probe, root], { cwd: root, encoding: 'utf8' });
  try {
    return JSON.parse(r.stdout);
  } catch {
    return {
      ok: false,
      reason: r.signal ? `loading it killed node with ${r.signal}` : `loading it failed (exit ${r.status})`,
    };
  }
}

function hasPrebuild() {
  try {
    return fs
      .readdirSync(path.join(root, 'prebuilds', target))
      .some((f) => f.endsWith('.node') && f.split('.').includes(libc));
  } catch {
    return false;
  }
}

function onPath(names) {
  const dirs = (process.env.PATH || '').split(path.delimiter).filter(Boolean);
  return names.some((name) => {
    if (path.isAbsolute(name)) return isExecutable(name);
    return dirs.some((dir) => isExecutable(path.join(dir, name)));
  });
}

function isExecutable(file) {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

/** What node-gyp needs and this machine lacks. */
function missingTools() {
  const env = process.env;
  const first = (v) => (v ? [v.split(/\s+/)[0]] : []);
  const missing = [];
  if (!onPath([...first(env.npm_config_python || env.PYTHON), 'python3', 'python'])) missing.push('python3');
  if (!onPath(['make', 'gmake'])) missing.push('make');
  if (!onPath([...first(env.CXX), 'c++', 'g++', 'clang++'])) missing.push('a C++ compiler');
  return missing;
}

function nodeGyp() {
  // npm and pnpm point npm_config_node_gyp at the node-gyp they bundle.
  const bundled = process.env.npm_config_node_gyp;
  if (bundled && fs.existsSync(bundled)) return [process.execPath, bundled];
  try {
    return [process.execPath, require.resolve('node-gyp/bin/node-gyp.js')];
  } catch {
    /* not installed */
  }
  return onPath(['node-gyp']) ? ['node-gyp'] : null;
}

function main() {
  // The fast paths are Linux syscalls: elsewhere there is nothing to build.
  if (process.platform !== 'linux') return;
  // Our own knob, and node-gyp-build's (npm 11 warns that it will stop passing that one).
  const fromSource =
    ['1', 'true'].includes(process.env.ZEROCOPY_BUILD_FROM_SOURCE || '') ||
    process.env.npm_config_build_from_source === 'true';
  let reason = 'no addon';
  if (!fromSource) {
    const loaded = tryLoad();
    if (loaded.ok) {
      console.log(`zerocopy: using ${path.relative(root, loaded.file)}`);
      return;
    }
    reason = loaded.reason;
  }
  const noPrebuild = fromSource
    ? 'building from source was asked for'
    : hasPrebuild()
      ? `the prebuilt binary for ${target} (${libc}) does not load here (${reason})`
      : `no prebuilt binary for ${target} (${libc})`;
  const missing = missingTools();
  if (missing.length) return warn(`${noPrebuild} and no toolchain to compile one (missing: ${missing.join(', ')})`);
  const gyp = nodeGyp();
  if (!gyp) return warn(`${noPrebuild} and node-gyp was not found`);

  console.log(`zerocopy: ${noPrebuild}; compiling the addon with node-gyp`);
  const r = spawnSync(gyp[0], [...gyp.slice(1), 'rebuild'], { cwd: root, stdio: 'inherit' });
  if (r.status !== 0)
    return warn(`${noPrebuild} and compiling it failed (${r.error ? r.error.message : `node-gyp exit ${r.status}`})`);
  const built = tryLoad();
  if (!built.ok) return warn(`${noPrebuild} and the addon compiled here does not load (${built.reason})`);
  console.log(`zerocopy: built ${path.relative(root, built.file)}`);
}

main();
