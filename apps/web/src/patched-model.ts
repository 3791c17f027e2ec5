import type { FstaConfig } from '@fsta/core';

/** The settings a patched graph bakes in; two configs that agree on them share one detector. */
export const patchKey = (c: FstaConfig): string => JSON.stringify([c.fsStage, c.taStage, c.k, c.classifier, c.lambda, c.featureScore, c.temperature]);
