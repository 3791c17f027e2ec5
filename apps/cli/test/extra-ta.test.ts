import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FstaError } from '@fsta/core';
import { DEMO, demoModel } from './helpers.js';
import { parse } from '../src/args.js';
import { evalInputs, evalOptions, runEval } from '../src/commands/eval.js';
import type { Io } from '../src/io.js';

const io: Io = { out: () => {}, err: () => {}, errIsTty: false, cwd: process.cwd() };
const data = ['--id', join(DEMO, 'images', 'id'), '--ood', `mnist=${join(DEMO, 'images', 'ood', 'mnist')}`, '--ood', `uniform=${join(DEMO, 'images', 'ood', 'uniform')}`, '--limit', '12'];
const inputs = (...more: string[]) => evalInputs(parse('eval', [...demoModel, ...data, ...more], evalOptions).values);

describe('runEval extraTa (the demo scores the paper setting in the calibrated run\'s pass)', () => {
  it('gives each extra row the FS+TA scores and metrics of a separate eval at that stage and k, beside the run\'s own rows', async () => {
    // The run's own setting has no TA stage (as the demo's calibrated config may not); the extra rows add two tails.
    const one = await runEval(inputs('--ta-stage', 'none', '--methods', 'MSP,FS'), io, { extraTa: [{ row: 'paper', taStage: 'C4', k: 0.5 }, { row: 'other', taStage: 'C3', k: 0.2 }] });
    expect(Object.keys(one.data.results)).toEqual(['MSP', 'FS', 'paper', 'other']);
    for (const [row, stage, k] of [['paper', 'C4', '0.5'], ['other', 'C3', '0.2']] as const) {
      // The independent computation: its own eval, its own engine with that one TA setting.
      const alone = await runEval(inputs('--ta-stage', stage, '--k', k, '--methods', 'FS+TA'), io);
      expect(one.data.files).toEqual(alone.data.files);
      const a = one.data.scores[row]!, b = alone.data.scores['FS+TA']!;
      a.id.forEach((v, i) => expect(v).toBeCloseTo(b.id[i]!, 5));
      for (const set of ['mnist', 'uniform']) a.ood[set]!.forEach((v, i) => expect(v).toBeCloseTo(b.ood[set]![i]!, 5));
      expect(one.data.results[row]!.average!.auroc).toBeCloseTo(alone.data.results['FS+TA']!.average!.auroc, 6);
    }
    // FS is the same with or without the extra tails; the extra rows differ from it.
    const plain = await runEval(inputs('--ta-stage', 'none', '--methods', 'FS'), io);
    one.data.scores.FS!.id.forEach((v, i) => expect(v).toBeCloseTo(plain.data.scores.FS!.id[i]!, 5));
    expect(one.data.scores.paper!.id).not.toEqual(one.data.scores.FS!.id);
    // The run's own setting has no TA, so its sample maps carry none.
    expect(one.data.settings.taStage).toBeNull();
  }, 120_000);

  it('keeps the run\'s own TA setting in its rows when an extra row adds another stage', async () => {
    const one = await runEval(inputs('--ta-stage', 'C3', '--k', '0.3', '--methods', 'FS+TA'), io, { extraTa: [{ row: 'paper', taStage: 'C4', k: 0.5 }] });
    const own = await runEval(inputs('--ta-stage', 'C3', '--k', '0.3', '--methods', 'FS+TA'), io);
    const paper = await runEval(inputs('--ta-stage', 'C4', '--k', '0.5', '--methods', 'FS+TA'), io);
    one.data.scores['FS+TA']!.id.forEach((v, i) => expect(v).toBeCloseTo(own.data.scores['FS+TA']!.id[i]!, 5));
    one.data.scores.paper!.id.forEach((v, i) => expect(v).toBeCloseTo(paper.data.scores['FS+TA']!.id[i]!, 5));
    expect(one.data.settings.taStage).toBe('C3');
  }, 120_000);

  it('refuses a row name the run uses and a stage the model does not have', async () => {
    await expect(runEval(inputs('--ta-stage', 'none', '--methods', 'FS'), io, { extraTa: [{ row: 'FS', taStage: 'C4', k: 0.5 }] })).rejects.toThrow(/extra FS\+TA row "FS" has the name of a row/);
    const e = await runEval(inputs('--ta-stage', 'none', '--methods', 'FS'), io, { extraTa: [{ row: 'x', taStage: 'C9', k: 0.5 }] }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(FstaError);
    expect((e as FstaError).code).toBe('UNKNOWN_STAGE');
  });
});
