import { MAX_JSON_BYTES, readRegularFileSync } from '@fsta/onnxruntime-node/read-file';
import { FstaError, defaultConfig, parseConfig } from '@fsta/core';
import type { FstaConfig } from '@fsta/core';

/** The config written by `fsta calibrate`, or core's defaults without a path. */
export function loadConfig(path: string | undefined): FstaConfig {
  if (path === undefined) return defaultConfig();
  let text: string;
  try {
    text = readRegularFileSync(path, { maxBytes: MAX_JSON_BYTES, what: 'config' }).toString('utf8');
  } catch (e) {
    if (e instanceof FstaError) throw e;
    throw new FstaError('NOT_FOUND', `config ${path} cannot be read`, 'pass --config with the file written by `fsta calibrate`');
  }
  return parseConfig(text);
}
