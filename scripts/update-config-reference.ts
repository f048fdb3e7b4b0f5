// Rewrites the configuration reference in README.md from the schema (`npm run docs`).
import { readFileSync, writeFileSync } from 'node:fs';
import { configReference, README_MARKERS, withConfigReference } from '../runtime/config-reference.ts';

const path = new URL('../README.md', import.meta.url);
const before = readFileSync(path, 'utf8');
const after = withConfigReference(before, configReference());
if (after === before) console.log(`README.md configuration reference is up to date (${README_MARKERS.start})`);
else {
  writeFileSync(path, after);
  console.log('README.md configuration reference updated');
}
