#!/usr/bin/env node
// Re-renders docs/performance.md from the JSON a bench run wrote, without measuring
// again (after a change to report.mjs): node tools/bench/render.mjs docs/performance.json
import { readFileSync, writeFileSync } from 'node:fs';
import { report } from './report.mjs';

const json = process.argv[2] ?? new URL('../../docs/performance.json', import.meta.url).pathname;
const results = JSON.parse(readFileSync(json, 'utf8'));
const { markdown } = report(results, results.command ?? `node tools/bench/run.mjs${results.quick ? ' --quick' : ''}`);
writeFileSync(json.replace(/\.json$/, '.md'), markdown);
