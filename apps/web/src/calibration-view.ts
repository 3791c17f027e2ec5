import type { ConfigChoice, FstaConfig } from '@fsta/core';

const pct = (x: number) => `${(x * 100).toPrecision(4)}%`;
const sig = (x: number) => Number(x.toPrecision(4)).toString();

/** A table under its title; on a narrow screen the table scrolls sideways and the title wraps. */
function table(caption: string, head: string[], rows: { cells: string[]; chosen: boolean }[]): HTMLElement {
  const figure = document.createElement('figure');
  figure.className = 'calibration';
  const title = document.createElement('figcaption');
  title.textContent = caption;
  const scroll = document.createElement('div');
  scroll.className = 'scroll';
  const t = document.createElement('table');
  t.className = 'calibration';
  t.setAttribute('aria-label', caption);
  scroll.append(t);
  figure.append(title, scroll);
  const hr = t.createTHead().insertRow();
  for (const h of head) {
    const th = document.createElement('th');
    th.scope = 'col';
    th.textContent = h;
    hr.append(th);
  }
  const body = t.createTBody();
  for (const r of rows) {
    const tr = body.insertRow();
    if (r.chosen) tr.className = 'chosen';
    for (const c of r.cells) tr.insertCell().textContent = c;
  }
  return figure;
}

/** What calibration compared, per candidate and synthetic set, with the chosen rows marked, and why. */
export function calibrationTables(choice: ConfigChoice): HTMLElement[] {
  const sets = choice.ta.table[0]?.sets.map((s) => s.name) ?? [];
  const ta = table(
    'TA candidates: AUROC of ID validation vs each synthetic set (ranked by the mean AUROC, then the mean FPR95)',
    ['TA stage', 'k', ...sets, 'mean AUROC', 'mean FPR95'],
    choice.ta.table.map((r) => ({
      cells: [r.taStage ?? 'none (FS)', r.taStage === null ? '–' : `${sig(r.k)}${r.kPercentile !== undefined ? ` (p${r.kPercentile})` : ''}`, ...r.sets.map((s) => pct(s.auroc)), pct(r.auroc), pct(r.fpr95)],
      chosen: r === choice.ta.choice,
    })),
  );
  const fusion = table(
    'Fusion candidates on the chosen TA setting',
    ['fused with', 'λ', ...sets, 'mean AUROC', 'mean FPR95'],
    choice.fusions.map((f) => ({ cells: [f.classifier ?? 'none', f.classifier ? sig(f.lambda) : '–', ...f.sets.map((s) => pct(s.auroc)), pct(f.auroc), pct(f.fpr95)], chosen: f === choice.fusion })),
  );
  const why = document.createElement('p');
  why.className = 'why';
  why.textContent = `Chosen: ${configSummary(choice.config)}. Chosen without OOD test data.`;
  return [why, ta, fusion];
}

/**
 * A config's settings in words: TA, fusion, threshold. With `idScores` (the page's ID images
 * under this config) it says how many of them the threshold keeps, rather than the share the
 * config was calibrated for on other images.
 */
export function configSummary(c: FstaConfig, idScores?: readonly number[]): string {
  const kept = idScores?.length ? `${idScores.filter((v) => c.threshold !== null && v >= c.threshold).length} of the ${idScores.length} ID images here score at or above it` : c.targetTpr ? `keeps ${pct(c.targetTpr)} of the ID images` : '';
  const threshold = c.threshold === null ? 'no threshold (no verdict)' : `threshold ${sig(c.threshold)}${kept ? ` (${kept})` : ''}`;
  return `${c.taStage ? `TA at ${c.taStage} with k = ${sig(c.k)}` : 'no TA (plain FS)'}, ${c.classifier ? `fused with ${c.classifier} (λ = ${sig(c.lambda)})` : 'no fused classifier score'}, ${threshold}`;
}

const near = (a: number | null, b: number | null, tol: number) => (a === null || b === null ? a === b : Math.abs(a - b) <= tol * Math.max(1, Math.abs(b)));

/**
 * Whether an imported config has the settings the page's own calibration chose (the same TA
 * stage, fusion and feature score; k, λ and threshold within float noise between runtimes).
 */
export function sameSettings(a: FstaConfig, b: FstaConfig): boolean {
  return a.fsStage === b.fsStage && a.taStage === b.taStage && a.featureScore === b.featureScore && a.classifier === b.classifier
    && (a.taStage === null || near(a.k, b.k, 1e-3)) && (a.classifier === null || near(a.lambda, b.lambda, 1e-3)) && near(a.threshold, b.threshold, 1e-3);
}
