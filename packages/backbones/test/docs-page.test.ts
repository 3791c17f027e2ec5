import { readFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import * as backbones from '@fsta/backbones';
// @ts-expect-error: a plain .mjs tools script without type declarations
import { render } from '../../../tools/docs/gen-backbones.mjs';

it('docs/backbones.md lists exactly the shipped manifests (regenerate: node tools/docs/gen-backbones.mjs)', async () => {
  const page = readFileSync(new URL('../../../docs/backbones.md', import.meta.url), 'utf8');
  expect(page).toBe(await render(backbones));
  for (const name of backbones.backboneNames()) expect(page).toContain(`\`${name}\``);
});
