'use strict';
// Markdown pieces the reports share: tables (markdown-table), number and size
// formats, and prose templates (bench/render/*.tpl: sections `@@ name`, `{{var}}`).
const fs = require('node:fs');
const path = require('node:path');
const { markdownTable } = require('markdown-table');

const KiB = 1024;
const MiB = 1024 * KiB;
const GiB = 1024 * MiB;

/** align: per column 'l' | 'r' | '' (default: the first plain, the rest right). */
const table = (head, rows, align = head.map((_, i) => (i ? 'r' : ''))) =>
  markdownTable([head, ...rows.map((r) => r.map(String))], { align, alignDelimiters: false });

function fmtSize(n) {
  for (const [u, f] of [
    ['GiB', GiB],
    ['MiB', MiB],
    ['KiB', KiB],
  ])
    if (n >= f && n % f === 0) return `${n / f} ${u}`;
  return `${n} B`;
}

function num(x, digits) {
  if (!Number.isFinite(x)) return '–';
  if (digits !== undefined) return x.toFixed(digits);
  const a = Math.abs(x);
  return a >= 100 ? x.toFixed(0) : a >= 10 ? x.toFixed(1) : a >= 1 ? x.toFixed(2) : x.toPrecision(2);
}

const ratio = (r) => (r && Number.isFinite(r.med) ? `${num(r.med, 2)}× (${num(r.lo, 2)}–${num(r.hi, 2)})` : '–');

const sections = new Map();
/** The template section `name` of bench/render/<file>.tpl with {{var}} filled in. */
function tpl(file, name, vars = {}) {
  if (!sections.has(file)) {
    const text = fs.readFileSync(path.join(__dirname, '..', 'render', `${file}.tpl`), 'utf8');
    for (const part of text.split(/^@@ /m).slice(1)) {
      const i = part.indexOf('\n');
      sections.set(`${file}/${part.slice(0, i).trim()}`, part.slice(i + 1).replace(/\n+$/, ''));
    }
    sections.set(file, true);
  }
  const s = sections.get(`${file}/${name}`);
  if (s === undefined) throw new Error(`no template ${file}/${name}`);
  return s.replace(/\{\{(\w+)\}\}/g, (_, k) => {
    if (vars[k] === undefined) throw new Error(`template ${file}/${name}: {{${k}}} not given`);
    return vars[k];
  });
}

module.exports = { KiB, MiB, GiB, table, fmtSize, num, ratio, tpl };
