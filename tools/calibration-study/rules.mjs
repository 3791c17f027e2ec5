// Compares TA selection rules on the scores collect.mjs cached (.cache/study/*.json).
// A rule sees only the ID validation half and synthetic sets; it is scored by the mean
// AUROC of its choice on the real OOD sets against the ID test half. Rules are ranked
// leave-one-model-out: the rule reported for a model is the one with the least mean
// regret on the other model families.
//
//   node tools/calibration-study/rules.mjs [--detail MODEL]
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { auroc, aurocMargin } from '@fsta/core';

const dir = '.cache/study';
const studies = readdirSync(dir).filter((f) => f.endsWith('.json')).sort().map((f) => JSON.parse(readFileSync(join(dir, f), 'utf8')));
const family = (m) => (m.startsWith('mobilenetv2') ? 'mobilenetv2' : m.startsWith('resnet') ? 'cifar-resnet' : m);

/** Candidate 0 is plain FS; then one per (stage, percentile). */
function columns(s) {
  const cands = [{ stage: null, p: null, k: 0 }, ...s.candidates];
  const col = (set, j) => (j === 0 ? set.fs : set.fsTa[j - 1]);
  return { cands, col };
}

const meanOf = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;

function evaluate(s) {
  const { cands, col } = columns(s);
  const real = cands.map((_, j) => meanOf(Object.values(s.ood).map((o) => auroc(col(s.test, j), col(o, j)))));
  const synth = Object.fromEntries(Object.entries(s.synth).map(([name, set]) => [name, cands.map((_, j) => auroc(col(s.val, j), col(set, j)))]));
  return { cands, col, real, synth };
}

const SETS = {
  current: ['gaussian', 'uniform', 'jigsaw'],
  all: ['gaussian', 'uniform', 'jigsaw', 'jigsaw2', 'jigsaw8', 'blur', 'tile', 'phase', 'channels'],
  structured: ['jigsaw', 'jigsaw2', 'jigsaw8', 'blur', 'tile', 'phase', 'channels'],
  textures: ['jigsaw8', 'tile', 'phase'],
  noisePlusTextures: ['gaussian', 'uniform', 'jigsaw', 'tile', 'phase'],
  tilePhase: ['tile', 'phase'],
  tileOnly: ['tile'],
  phaseOnly: ['phase'],
  gaussTilePhase: ['gaussian', 'tile', 'phase'],
  noiseTilePhase: ['gaussian', 'uniform', 'tile', 'phase'],
};

const argmax = (xs) => xs.reduce((b, x, i) => (x > xs[b] ? i : b), 0);
const rank = (xs) => { const idx = xs.map((_, i) => i).sort((a, b) => xs[b] - xs[a]); const r = new Array(xs.length); idx.forEach((i, k) => { r[i] = k; }); return r; };

/** Rules: (evaluation, study, set names) → chosen candidate index. */
const RULES = {
  mean: (e, s, sets) => argmax(e.cands.map((_, j) => meanOf(sets.map((n) => e.synth[n][j])))),
  meanNoHarm: (e, s, sets) => noHarm(e, s, sets, RULES.mean(e, s, sets)),
  meanRank: (e, s, sets) => { const ranks = sets.map((n) => rank(e.synth[n])); return argmax(e.cands.map((_, j) => -meanOf(ranks.map((r) => r[j])))); },
  maximin: (e, s, sets) => argmax(e.cands.map((_, j) => Math.min(...sets.map((n) => e.synth[n][j])))),
  // TA only where it is at least as good as plain FS on every set; the best mean among those, then do-no-harm.
  agree: (e, s, sets) => {
    const ok = e.cands.map((_, j) => j === 0 || sets.every((n) => e.synth[n][j] >= e.synth[n][0]));
    const means = e.cands.map((_, j) => (ok[j] ? meanOf(sets.map((n) => e.synth[n][j])) : -1));
    return noHarm(e, s, sets, argmax(means));
  },
  // Every set's paired-bootstrap gain over plain FS must be clearly positive (its 95% lower end above 0) or saturated (both ≥ 99.5).
  agreeClear: (e, s, sets) => {
    const ok = e.cands.map((_, j) => j === 0 || sets.every((n) => (e.synth[n][j] >= 0.995 && e.synth[n][0] >= 0.995) || marginOn(e, s, [n], j).lo > 0));
    const means = e.cands.map((_, j) => (ok[j] ? meanOf(sets.map((n) => e.synth[n][j])) : -1));
    return argmax(means);
  },
  plain: () => 0,
};

const marginCache = new Map();
function marginOn(e, s, sets, j) {
  const key = `${s.model}|${sets.join(',')}|${j}`;
  if (!marginCache.has(key)) {
    const paired = (jj) => ({ idScores: e.col(s.val, jj), sets: sets.map((n) => ({ name: n, scores: e.col(s.synth[n], jj) })) });
    marginCache.set(key, aurocMargin(paired(j), paired(0), { resamples: 200 }));
  }
  return marginCache.get(key);
}
function noHarm(e, s, sets, j) {
  if (j === 0) return 0;
  return marginOn(e, s, sets, j).lo > 0 ? j : 0;
}

const label = (c) => (c.stage === null ? 'plain FS' : `${c.stage} p${c.p}`);
const pct = (x) => (x * 100).toFixed(2);
const evals = studies.map((s) => ({ s, e: evaluate(s) }));

// Every rule × set family, per model: regret to hindsight and gain over plain FS (AUROC points).
const results = [];
for (const [rule, fn] of Object.entries(RULES)) {
  for (const [setName, sets] of Object.entries(SETS)) {
    if (rule === 'plain' && setName !== 'current') continue;
    const per = evals.map(({ s, e }) => {
      if (!sets.every((n) => e.synth[n])) return null;
      const j = fn(e, s, sets);
      const best = Math.max(...e.real);
      return { model: s.model, choice: label(e.cands[j]), real: e.real[j], regret: best - e.real[j], vsPlain: e.real[j] - e.real[0] };
    });
    if (per.some((p) => p === null)) continue;
    results.push({ id: rule === 'plain' ? 'plain' : `${rule}/${setName}`, per });
  }
}

console.log('## Hindsight per model (mean AUROC over the real OOD sets on the ID test half)');
for (const { s, e } of evals) {
  const b = argmax(e.real);
  console.log(`${s.model}: plain FS ${pct(e.real[0])}, best ${label(e.cands[b])} ${pct(e.real[b])}; OOD sets ${Object.keys(s.ood).join(', ')}; ${s.val.n} val, ${s.test.n} test`);
}

console.log('\n## Rules: regret to hindsight per model (points), mean, worst, and worst loss to plain FS');
const models = evals.map(({ s }) => s.model);
console.log(['rule/sets'.padEnd(28), ...models.map((m) => m.slice(0, 12).padStart(13)), '   mean', '  worst', ' vsPlain'].join(''));
for (const r of results.sort((a, b) => meanOf(a.per.map((p) => p.regret)) - meanOf(b.per.map((p) => p.regret)))) {
  console.log([r.id.padEnd(28), ...r.per.map((p) => pct(p.regret).padStart(13)), pct(meanOf(r.per.map((p) => p.regret))).padStart(7), pct(Math.max(...r.per.map((p) => p.regret))).padStart(7), pct(Math.min(...r.per.map((p) => p.vsPlain))).padStart(8)].join(''));
}

// Sets chosen leave-one-family-out: the synthetic sets whose candidate ranking tracks the real
// OOD ranking best (mean Spearman rho over the other families' models), then mean + do no harm.
const rho = (a, b) => { const ra = rank(a), rb = rank(b), n = a.length; return 1 - (6 * ra.reduce((s, r, i) => s + (r - rb[i]) ** 2, 0)) / (n * (n * n - 1)); };
const allSets = SETS.all;
for (const top of [2, 3, 4]) {
  const per = evals.map(({ s, e }) => {
    const others = evals.filter((x) => family(x.s.model) !== family(s.model));
    const score = allSets.map((n) => ({ n, r: meanOf(others.map((x) => rho(x.e.synth[n], x.e.real))) })).sort((a, b) => b.r - a.r);
    const sets = score.slice(0, top).map((x) => x.n);
    const j = RULES.meanNoHarm(e, s, sets);
    const best = Math.max(...e.real);
    return { model: s.model, choice: `${label(e.cands[j])} [${sets.join('+')}]`, real: e.real[j], regret: best - e.real[j], vsPlain: e.real[j] - e.real[0] };
  });
  console.log(`\n## LOMO sets (top ${top} by rho on other families), mean + do no harm`);
  for (const p of per) console.log(`${p.model}: ${p.choice}: ${pct(p.real)}, regret ${pct(p.regret)}, vs plain ${pct(p.vsPlain)}`);
}

console.log('\n## Leave one model family out: the rule with least mean regret on the other families, scored on the held-out one');
for (const fam of [...new Set(models.map(family))]) {
  const others = (r) => meanOf(r.per.filter((p) => family(p.model) !== fam).map((p) => p.regret));
  const best = results.filter((r) => r.id !== 'plain').sort((a, b) => others(a) - others(b) || a.id.localeCompare(b.id))[0];
  for (const p of best.per.filter((q) => family(q.model) === fam)) {
    console.log(`${p.model}: rule ${best.id} (mean regret elsewhere ${pct(others(best))}) chose ${p.choice}: ${pct(p.real)}, regret ${pct(p.regret)}, vs plain ${pct(p.vsPlain)}`);
  }
}

const detail = process.argv.indexOf('--detail');
if (detail > 0) {
  const { s, e } = evals.find((x) => x.s.model === process.argv[detail + 1]);
  console.log(`\n## ${s.model}: AUROC per candidate, real OOD (test half) and each synthetic set (val half)`);
  const names = Object.keys(e.synth);
  console.log(['cand'.padEnd(10), 'real'.padStart(7), ...names.map((n) => n.slice(0, 8).padStart(9))].join(''));
  e.cands.forEach((c, j) => console.log([label(c).padEnd(10), pct(e.real[j]).padStart(7), ...names.map((n) => pct(e.synth[n][j]).padStart(9))].join('')));
  // How each synthetic set ranks candidates compared with the real sets: Spearman's rho.
  const rho = (a, b) => { const ra = rank(a), rb = rank(b), n = a.length; return 1 - (6 * ra.reduce((s, r, i) => s + (r - rb[i]) ** 2, 0)) / (n * (n * n - 1)); };
  console.log('rho with real: ' + names.map((n) => `${n} ${rho(e.synth[n], e.real).toFixed(2)}`).join(', '));
}
