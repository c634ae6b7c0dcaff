'use strict';
// Command-line options of the bench, soak and reliability runs (util.parseArgs),
// with `--help`. An option with `env` also reads that variable as its default:
// kept only where README, docs/ or CI use it.
const { parseArgs } = require('node:util');

const camel = (s) => s.replace(/-(\w)/g, (_, c) => c.toUpperCase());

/**
 * spec: { 'option-name': { type: 'boolean' | 'string' | 'int' | 'list', env?, help, default? } }.
 * Returns the values keyed in camelCase; unset options without a default are undefined.
 */
function options(usage, spec, args = process.argv.slice(2)) {
  const cfg = { help: { type: 'boolean', short: 'h' } };
  for (const [k, o] of Object.entries(spec)) cfg[k] = { type: o.type === 'boolean' ? 'boolean' : 'string' };
  const { values } = parseArgs({ args, options: cfg, allowNegative: true });
  if (values.help) {
    const rows = Object.entries(spec).map(([k, o]) => {
      const flag = `--${k}${o.type === 'boolean' ? '' : o.type === 'list' ? ' a,b' : o.type === 'int' ? ' N' : ' S'}`;
      const dflt = o.default === undefined || o.default === false ? '' : ` (default ${o.default})`;
      return `  ${flag.padEnd(30)} ${o.help}${dflt}${o.env ? ` [env ${o.env}]` : ''}`;
    });
    process.stdout.write(`${usage}\n\nOptions:\n${rows.join('\n')}\n  ${'--help'.padEnd(30)} this list\n`);
    process.exit(0);
  }
  const out = {};
  for (const [k, o] of Object.entries(spec)) {
    let v = values[k];
    const env = o.env && process.env[o.env];
    if (v === undefined && env) v = o.type === 'boolean' ? env === '1' : env;
    if (v === undefined) v = o.default;
    else if (o.type === 'int') {
      if (!/^\d+$/.test(String(v))) throw new Error(`--${k}: expected a whole number, got ${v}`);
      v = Number(v);
    } else if (o.type === 'list')
      v = String(v)
        .split(',')
        .map((x) => x.trim())
        .filter(Boolean);
    out[camel(k)] = v;
  }
  return out;
}

module.exports = { options };
