import { readFileSync } from 'node:fs';
import { FstaError, defaultConfig, parseConfig } from '@fsta/core';
import type { FstaConfig } from '@fsta/core';

/** The config written by `fsta calibrate`, or core's defaults without a path. */
export function loadConfig(path: string | undefined): FstaConfig {
  if (path === undefined) return defaultConfig();
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    throw new FstaError('NOT_FOUND', `config ${path} cannot be read`, 'pass --config with the file written by `fsta calibrate`');
  }
  return parseConfig(text);
}
