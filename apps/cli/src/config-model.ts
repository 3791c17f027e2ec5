import type { FstaConfig } from '@fsta/core';
import { checkConfigModel } from '@fsta/onnx';
import type { ModelSpec } from './engine/model.js';

// Where a config file meets a model file in the CLI: the fingerprint `fsta calibrate`
// records, and its check (the adapters check it in @fsta/onnx patchForConfig).

/** The fingerprint `fsta calibrate` writes into provenance.modelFingerprint. */
export const modelFileFingerprint = (spec: ModelSpec): string => spec.decoded.fingerprint;

/** Refuses a config calibrated on another model unless --force-config was given. */
export function checkConfigFile(config: FstaConfig, spec: ModelSpec, force: boolean): void {
  if (typeof config.provenance?.modelFingerprint === 'string' && !force) checkConfigModel(config, spec.decoded.model);
}
