// The package's install script. A prebuilt binary (prebuilds/, see
// scripts/prebuild.sh) needs no install step at all: node-gyp-build finds it
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

const root = path.join(__dirname, '..');
const target = `${process.platform}-${process.arch}`;

function warn(why) {
  console.error(
    `zerocopy: ${why}; the kernel fast path is off and every stream takes Node's normal path ` +
    '(same results). To build it: install python3, make and a C++ compiler, then run `npm rebuild zerocopy`.');
}

/** The addon node-gyp-build would load, or the reason it cannot. */
function tryLoad() {
  try {
    const binding = require('node-gyp-build')(root);
    if (!binding.supported) return { ok: false, reason: 'the addon was built without its fast paths' };
    return { ok: true, file: require('node-gyp-build').resolve(root) };
  } catch (err) {
    return { ok: false, reason: String(err && err.message).split('\n')[0] };
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
  try { fs.accessSync(file, fs.constants.X_OK); return fs.statSync(file).isFile(); } catch { return false; }
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
  try { return [process.execPath, require.resolve('node-gyp/bin/node-gyp.js')]; } catch { /* not installed */ }
  return onPath(['node-gyp']) ? ['node-gyp'] : null;
}

function main() {
  // The fast paths are Linux syscalls: elsewhere there is nothing to build.
  if (process.platform !== 'linux') return;
  const fromSource = process.env.npm_config_build_from_source === 'true';
  let reason = 'no addon';
  if (!fromSource) {
    const loaded = tryLoad();
    if (loaded.ok) {
      console.log(`zerocopy: using ${path.relative(root, loaded.file)}`);
      return;
    }
    reason = loaded.reason;
  }
  const noPrebuild = fromSource ? 'building from source was asked for'
    : fs.existsSync(path.join(root, 'prebuilds', target))
      ? `the prebuilt binary for ${target} does not load here (${reason})`
      : `no prebuilt binary for ${target}`;
  const missing = missingTools();
  if (missing.length) return warn(`${noPrebuild} and no toolchain to compile one (missing: ${missing.join(', ')})`);
  const gyp = nodeGyp();
  if (!gyp) return warn(`${noPrebuild} and node-gyp was not found`);

  console.log(`zerocopy: ${noPrebuild}; compiling the addon with node-gyp`);
  const r = spawnSync(gyp[0], [...gyp.slice(1), 'rebuild'], { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) return warn(`${noPrebuild} and compiling it failed (${r.error ? r.error.message : `node-gyp exit ${r.status}`})`);
  const built = tryLoad();
  if (!built.ok) return warn(`${noPrebuild} and the addon compiled here does not load (${built.reason})`);
  console.log(`zerocopy: built ${path.relative(root, built.file)}`);
}

main();
