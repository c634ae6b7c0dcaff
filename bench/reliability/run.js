'use strict';
// `npm run bench:reliability [-- options]`: threadpool fairness, cold cache,
// then small files cold and cached (docs/reliability.md); `-- --help` lists
// the options, `--only` picks some.
const c = require('./common');

const o = c.options();
(async () => {
  const only = o.only ?? ['fairness', 'cold-cache', 'small-files'];
  if (only.includes('fairness')) await require('./fairness').parent(o);
  if (only.includes('cold-cache')) await require('./cold-cache').parent(o);
  if (only.includes('small-files')) await require('./small-files').parent(o);
})().catch((err) => {
  process.stderr.write(`${err?.stack || err}\n`);
  process.exit(1);
});
