// Prints the suite's closing line in the plain "N passed, N failed" form that CI reads.
import { readFileSync } from 'node:fs';

interface VitestReport {
  numPassedTests: number;
  numFailedTests: number;
  numPendingTests: number;
  numTodoTests: number;
}

const report = JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as VitestReport;
const skipped = report.numPendingTests + report.numTodoTests;
console.log(`tests: ${report.numPassedTests} passed, ${report.numFailedTests} failed, ${skipped} skipped`);
