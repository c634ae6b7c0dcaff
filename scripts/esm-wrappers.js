// Writes dist/*.mjs: ESM entry points that re-export the CommonJS build, so
// `import { createReadStream } from 'zerocopy'` gets named exports.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const dist = path.join(__dirname, '..', 'dist');
for (const name of ['index', 'promises', 'register']) {
  const cjs = require(path.join(dist, `${name}.js`));
  const names = Object.keys(cjs).filter((k) => k !== 'default' && k !== '__esModule');
  const lines = [`import cjs from './${name}.js';`];
  if (names.length) lines.push(`export const { ${names.join(', ')} } = cjs;`);
  lines.push('export default cjs;', '');
  fs.writeFileSync(path.join(dist, `${name}.mjs`), lines.join('\n'));
}
