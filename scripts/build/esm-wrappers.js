// Writes dist/*.mjs: ESM entry points that re-export the CommonJS build, so
// `import { createReadStream } from 'zerocopy'` gets named exports, and beside
// each one a dist/*.d.mts, so that TypeScript (node16/nodenext from ESM) reads
// the types of an ESM file as ESM: one .d.ts for both would make the `import`
// condition "masquerade as CJS" (attw) and its `types` be read as CommonJS
// (publint). The .d.mts re-exports the .d.ts, so the types are written once.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const dist = path.join(__dirname, '..', '..', 'dist');
for (const name of ['index', 'promises', 'register']) {
  const cjs = require(path.join(dist, `${name}.js`));
  const names = Object.keys(cjs).filter((k) => k !== 'default' && k !== '__esModule');
  const lines = [`import cjs from './${name}.js';`];
  if (names.length) lines.push(`export const { ${names.join(', ')} } = cjs;`);
  lines.push('export default cjs;', '');
  fs.writeFileSync(path.join(dist, `${name}.mjs`), lines.join('\n'));

  // The default export is the CommonJS module object, as in the .mjs above.
  const types = names.length
    ? [`export * from './${name}.js';`, `import * as cjs from './${name}.js';`, 'export default cjs;', '']
    : ['export {};', ''];
  fs.writeFileSync(path.join(dist, `${name}.d.mts`), types.join('\n'));
}
