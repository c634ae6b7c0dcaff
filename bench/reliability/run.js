'use strict';
// `npm run bench:reliability [-- options]`: threadpool fairness, then cold
// cache (docs/reliability.md); `-- --help` lists the options, `--only` picks one.
const c = require('./common');

const o = c.options();
(async () => {
  const only = o.only ?? ['fairness', 'cold-cache'];
  if (only.includes('fairness')) await require('./fairness').parent(o);
  if (only.includes('cold-cache')) await require('./cold-cache').parent(o);
})().catch((err) => {
  process.stderr.write(`${err?.stack || err}\n`);
  process.exit(1);
});
