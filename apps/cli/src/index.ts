export { main, mainHelp } from './main.js';
export type { Io } from './io.js';
export { runEval, evalInputs } from './commands/eval.js';
export type { EvalResult } from './commands/eval.js';
export type { ReportData } from './report/data.js';
