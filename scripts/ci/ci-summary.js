#!/usr/bin/env node
// Usage: node scripts/ci/ci-summary.js LABEL=EXITCODE=REPORT.json ...
//
// Reads the vitest JSON reports written by .ci/run, prints one line per run
// plus the failing tests, then, as its last line, "N passed, N failed" summed
// over all runs. Exits 1 if any run failed.
//
// A run counts as failed when vitest exited non-zero, its report is missing or
// unreadable, it reports success=false, or it executed zero tests. Failures
// that are not individual tests (a test file that fails to load, a crashed or
// timed-out run, zero tests) add one to the failed count each, so the final
// line never reads "0 failed" for a failing run.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const runs = process.argv.slice(2).map((arg) => {
  const m = /^([^=]+)=(-?\d+)=(.+)$/.exec(arg);
  if (!m) {
    console.error(`ci-summary: bad argument ${JSON.stringify(arg)} (want LABEL=EXITCODE=REPORT)`);
    process.exit(2);
  }
  return { label: m[1], code: Number(m[2]), file: m[3] };
});

const firstLine = (s) =>
  String(s || '')
    .split('\n')
    .find((l) => l.trim()) || '';
const rel = (f) => path.relative(process.cwd(), f) || f;

let totalPassed = 0;
let totalFailed = 0;
let anyRunFailed = false;
const details = [];

for (const run of runs) {
  let report = null;
  let readError = '';
  try {
    report = JSON.parse(fs.readFileSync(run.file, 'utf8'));
  } catch (err) {
    readError = err.code === 'ENOENT' ? 'no JSON report written' : `unreadable JSON report: ${err.message}`;
  }

  const problems = [];
  let passed = 0;
  let failed = 0;
  let skipped = 0;
  let executed = 0;
  if (report) {
    passed = report.numPassedTests || 0;
    failed = report.numFailedTests || 0;
    skipped = (report.numPendingTests || 0) + (report.numTodoTests || 0);
    executed = passed + failed;
    for (const file of report.testResults || []) {
      const failedTests = (file.assertionResults || []).filter((t) => t.status === 'failed');
      for (const t of failedTests) {
        details.push(
          `  [${run.label}] FAIL ${rel(file.name)} > ${t.fullName}: ${firstLine((t.failureMessages || [])[0])}`,
        );
      }
      if (file.status === 'failed' && failedTests.length === 0) {
        // The file itself failed (import error, hook error, ...): no test carries it.
        failed += 1;
        details.push(
          `  [${run.label}] FAIL ${rel(file.name)} (file): ${firstLine(file.message) || 'failed outside any test'}`,
        );
      }
    }
    if (report.success === false) problems.push('vitest reported success=false');
  } else {
    problems.push(readError);
  }
  if (run.code !== 0) problems.push(run.code === 124 ? 'timed out' : `exit code ${run.code}`);
  if (report && executed === 0) problems.push('executed zero tests');

  const runFailed = problems.length > 0 || failed > 0;
  if (runFailed && failed === 0) {
    failed = 1; // the run failed as a whole (crash, timeout, zero tests, unhandled error)
    details.push(`  [${run.label}] FAIL (run): ${problems.join('; ')}`);
  }
  anyRunFailed = anyRunFailed || runFailed;
  totalPassed += passed;
  totalFailed += failed;
  console.log(
    `  ${runFailed ? 'FAIL' : 'ok  '} ${run.label.padEnd(28)} ${String(passed).padStart(5)} passed ` +
      `${String(failed).padStart(4)} failed ${String(skipped).padStart(4)} skipped` +
      (problems.length ? `   (${problems.join('; ')})` : ''),
  );
}

if (runs.length === 0) {
  anyRunFailed = true;
  console.log('  no test runs were recorded');
}
if (details.length) {
  console.log('Failures:');
  const max = 200;
  for (const line of details.slice(0, max)) console.log(line.length > 400 ? `${line.slice(0, 400)}…` : line);
  if (details.length > max) console.log(`  ... and ${details.length - max} more`);
}
console.log(`${totalPassed} passed, ${totalFailed} failed`);
process.exit(anyRunFailed ? 1 : 0);
