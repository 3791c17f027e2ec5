#!/usr/bin/env node
// Regenerates docs/troubleshooting.md from every `new FstaError(code, problem, fix)` in
// packages/*/src and apps/*/src, so the page lists exactly the errors the code throws.
//   node tools/gen-troubleshooting.mjs          write the page
//   node tools/gen-troubleshooting.mjs --check  exit 1 if the page is out of date
import { readFileSync, readdirSync, statSync, writeFileSync, existsSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const out = join(root, 'docs/troubleshooting.md');

function sourceFiles() {
  const files = [];
  const walk = (dir) => {
    for (const name of readdirSync(dir).sort()) {
      const p = join(dir, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (/\.(ts|tsx|mts|js|mjs)$/.test(name) && !/\.(test|d)\.ts$/.test(name) && !name.includes('.generated.')) files.push(p);
    }
  };
  for (const group of ['packages', 'apps']) {
    const g = join(root, group);
    for (const pkg of readdirSync(g).sort()) if (existsSync(join(g, pkg, 'src'))) walk(join(g, pkg, 'src'));
  }
  return files;
}

/** Index just past the string/template literal starting at `i` (quote char at src[i]). */
function skipString(src, i) {
  const q = src[i];
  for (let j = i + 1; j < src.length; j++) {
    if (src[j] === '\\') { j++; continue; }
    if (q === '`' && src[j] === '$' && src[j + 1] === '{') { j = skipBalanced(src, j + 1) - 1; continue; }
    if (src[j] === q) return j + 1;
  }
  return src.length;
}

/** Index just past the bracket group opening at `i`. */
function skipBalanced(src, i) {
  const open = src[i], close = { '(': ')', '{': '}', '[': ']' }[open];
  let depth = 0;
  for (let j = i; j < src.length; j++) {
    const c = src[j];
    if (c === '"' || c === "'" || c === '`') { j = skipString(src, j) - 1; continue; }
    if (c === '/' && src[j + 1] === '/') { j = src.indexOf('\n', j); if (j < 0) return src.length; continue; }
    if (c === open) depth++;
    else if (c === close && --depth === 0) return j + 1;
  }
  return src.length;
}

/** Top-level comma-separated arguments of the call whose '(' is at `i`. */
function callArgs(src, i) {
  const end = skipBalanced(src, i) - 1;
  const args = [];
  let start = i + 1;
  for (let j = i + 1; j < end; j++) {
    const c = src[j];
    if (c === '"' || c === "'" || c === '`') { j = skipString(src, j) - 1; continue; }
    if (c === '(' || c === '{' || c === '[') { j = skipBalanced(src, j) - 1; continue; }
    if (c === ',') { args.push(src.slice(start, j).trim()); start = j + 1; }
  }
  const last = src.slice(start, end).trim();
  if (last) args.push(last);
  return args;
}

/** Readable text of a string expression: literals verbatim, `${x}` and non-literal parts as {x}. */
function text(expr) {
  if (!expr) return '';
  const parts = [];
  for (let j = 0; j < expr.length; j++) {
    const c = expr[j];
    if (c === "'" || c === '"') {
      const e = skipString(expr, j);
      parts.push(expr.slice(j + 1, e - 1).replace(/\\(.)/g, '$1'));
      j = e - 1;
    } else if (c === '`') {
      const e = skipString(expr, j);
      const body = expr.slice(j + 1, e - 1);
      let s = '';
      for (let k = 0; k < body.length; k++) {
        if (body[k] === '\\') { s += body[k + 1]; k++; }
        else if (body[k] === '$' && body[k + 1] === '{') { const close = skipBalanced(body, k + 1); s += `{${body.slice(k + 2, close - 1).trim()}}`; k = close - 1; }
        else s += body[k];
      }
      parts.push(s);
      j = e - 1;
    } else if (!/[\s+]/.test(c)) {
      // A non-literal operand (a variable or call): show it as a placeholder.
      let e = j;
      while (e < expr.length && !/[\s+]/.test(expr[e])) e = '({['.includes(expr[e]) ? skipBalanced(expr, e) : e + 1;
      parts.push(`{${expr.slice(j, e)}}`);
      j = e - 1;
    }
  }
  return parts.join('').replace(/\s+/g, ' ').trim();
}

/**
 * Codes named by the first argument: a literal, or every literal in a conditional. A
 * computed code (`new FstaError(e.code, ...)`) re-wraps an error listed where it is thrown.
 */
function codes(expr) {
  return [...expr.matchAll(/'([A-Z0-9_]+)'|"([A-Z0-9_]+)"/g)].map((m) => m[1] ?? m[2]);
}

export function collectErrors() {
  const entries = [];
  for (const file of sourceFiles()) {
    const src = readFileSync(file, 'utf8');
    const rel = relative(root, file).split('\\').join('/');
    for (const m of src.matchAll(/new FstaError\(/g)) {
      const args = callArgs(src, m.index + m[0].length - 1);
      for (const code of codes(args[0] ?? '')) entries.push({ code, problem: text(args[1]), fix: text(args[2]), file: rel, pkg: rel.split('/').slice(0, 2).join('/') });
    }
  }
  return entries;
}

const esc = (s) => s.replace(/\|/g, '\\|').replace(/</g, '&lt;');

export function render() {
  const entries = collectErrors();
  const byCode = new Map();
  for (const e of entries) {
    if (!byCode.has(e.code)) byCode.set(e.code, []);
    const list = byCode.get(e.code);
    if (!list.some((x) => x.problem === e.problem && x.fix === e.fix && x.file === e.file)) list.push(e);
  }
  const codesSorted = [...byCode.keys()].sort();
  const lines = [
    '# Troubleshooting',
    '',
    '<!-- Generated by `node tools/gen-troubleshooting.mjs` from every `new FstaError(...)` in packages/*/src and apps/*/src. Do not edit by hand: a test fails when this page is out of date. -->',
    '',
    'Every error fsta throws on bad input is an `FstaError` with a stable `code`, a message that names the problem',
    '(and the sample index, where there is one) and a `fix`. The message ends in `Fix: <fix>.`; `error.details`',
    'holds machine-readable fields such as `sample`. Text in `{braces}` below is filled in at run time.',
    '',
    `${entries.length} throw sites, ${codesSorted.length} codes.`,
    '',
    codesSorted.map((c) => `[\`${c}\`](#${c.toLowerCase()})`).join(' · '),
    '',
  ];
  for (const code of codesSorted) {
    const list = byCode.get(code);
    lines.push(`## ${code}`, '', '| problem | fix | thrown in |', '|---|---|---|');
    for (const e of list) lines.push(`| ${esc(e.problem)} | ${esc(e.fix)} | \`${e.file}\` |`);
    lines.push('');
  }
  return lines.join('\n');
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const page = render();
  if (process.argv.includes('--check')) {
    const current = existsSync(out) ? readFileSync(out, 'utf8') : '';
    if (current !== page) {
      console.error('docs/troubleshooting.md is out of date with the FstaErrors in the source: run `node tools/gen-troubleshooting.mjs`');
      process.exit(1);
    }
    console.log('docs/troubleshooting.md is up to date');
  } else {
    writeFileSync(out, page);
    console.log(`wrote ${relative(root, out)}`);
  }
}
