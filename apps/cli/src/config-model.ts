import { readFileSync } from 'node:fs';
import type { FstaConfig } from '@fsta/core';
import { checkConfigModel, decodeModel, modelFingerprint } from '@fsta/onnx';

// Where a config file meets a model file in the CLI: the fingerprint `fsta calibrate`
// records, and its check (the adapters check it in @fsta/onnx patchForConfig).
// Callers have already read the model once, so a read error cannot surface here first.
const model = (path: string) => decodeModel(new Uint8Array(readFileSync(path)));

/** The fingerprint `fsta calibrate` writes into provenance.modelFingerprint. */
export const modelFileFingerprint = (modelPath: string): string => modelFingerprint(model(modelPath));

/** Refuses a config calibrated on another model unless --force-config was given. */
export function checkConfigFile(config: FstaConfig, modelPath: string, force: boolean): void {
  if (typeof config.provenance?.modelFingerprint === 'string' && !force) checkConfigModel(config, model(modelPath));
}
