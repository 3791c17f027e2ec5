import { FstaError } from '@fsta/core';
import type { Io } from './io.js';
import { printable } from './printable.js';

type Command = { summary: string; run: (argv: readonly string[], io: Io) => Promise<number> };

// Each command is loaded when it runs: startup stays fast, and a command whose
// dependencies fail to load cannot take the others down with it.
const lazy = <M>(load: () => Promise<M>, pick: (m: M) => Command['run']): Command['run'] => async (argv, io) => pick(await load())(argv, io);

const commands: Record<string, Command> = {
  eval: { summary: 'print the paper\'s OOD table for a model on ID and OOD folders', run: lazy(() => import('./commands/eval.js'), (m) => m.evalCommand) },
  calibrate: { summary: 'choose TA stage, k, λ and threshold from ID images and noise; write a config', run: lazy(() => import('./commands/calibrate.js'), (m) => m.calibrateCommand) },
  score: { summary: 'one JSON line per image: scores and ID/OOD verdict', run: lazy(() => import('./commands/score.js'), (m) => m.scoreCommand) },
  demo: { summary: 'eval and calibrate on the bundled demo model and images', run: lazy(() => import('./commands/demo.js'), (m) => m.demoCommand) },
  inspect: { summary: 'print the detected stages (tensors, shapes) and the backbone manifest that matched', run: lazy(() => import('./commands/inspect.js'), (m) => m.inspectCommand) },
  patch: { summary: 'write a copy of the model with FS / FS+TA / fused score outputs', run: lazy(() => import('./commands/patch.js'), (m) => m.patchCommand) },
};

export const mainHelp = () => `Usage: fsta <command> [options]     (fsta <command> --help for details)

Feature Sim (FS) and Threshold Activation (TA) OOD detection.

Commands:
${Object.entries(commands).map(([n, c]) => `  ${n.padEnd(10)} ${c.summary}`).join('\n')}

Exit status: 0 ok, 1 some item failed, 2 usage or fatal error.`;

/**
 * Runs the CLI and returns its exit status. User errors (FstaError) print one line,
 * "fsta: error: <problem>. Fix: <fix>.", never a stack trace; FSTA_DEBUG=1 shows it.
 */
export async function main(argv: readonly string[], io: Io): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    io.out(mainHelp() + '\n');
    return name === undefined ? 2 : 0;
  }
  const command = commands[name];
  if (!command) {
    io.err(`fsta: error: unknown command "${printable(name)}". Fix: use one of ${Object.keys(commands).join(', ')} (fsta --help).\n`);
    return 2;
  }
  try {
    return await command.run(rest, io);
  } catch (e) {
    if (e instanceof FstaError) {
      io.err(`fsta: error: ${printable(e.message)}\n`);
      if (process.env.FSTA_DEBUG) io.err(`${(e.stack ?? '').split('\n').map(printable).join('\n')}\n`);
      return 2;
    }
    io.err(`fsta: internal error: ${printable((e as Error)?.message ?? String(e))}\n${((e as Error)?.stack ?? '').split('\n').map(printable).join('\n')}\nThis is a bug in fsta; please report it with the command you ran.\n`);
    return 2;
  }
}
