import { parseArgs } from 'util';
import { describeBackend, selectBackend } from './backend';
import { buildModel } from './models/zoo';
import { formatSummary, summarize } from './models/summary';
import { SettingsError } from './train/config';

import { Command, commandHelp, FlagValues, UsageError } from './commands/command';
import { modelOptionFlags, modelOptionsFrom } from './commands/model-flags';
import { degradationCommand } from './commands/degradation';
import { doctorCommand } from './commands/doctor';
import { reportCommand, responsesCommand } from './commands/report';
import { tensorBoardExportCommand } from './commands/tensorboard-export';
import { trainCommand } from './commands/train';

const commands: Record<string, Command> = {
  summary: {
    usage: 'reslab summary <model> [--shortcut A|B|C] [--order post|pre] [--width W] [--bottleneck-stride 1x1|3x3] [--layers] [--json]',
    summary: 'layers, output shapes, parameters and FLOPs (multiply-adds) per stage and in total',
    options: { ...modelOptionFlags, json: { type: 'boolean' }, layers: { type: 'boolean' } },
    run(positionals, values) {
      if (positionals.length !== 1) throw new UsageError(`expected one model name, e.g. resnet20\nusage: ${commands.summary.usage}`);
      const model = buildModel(positionals[0], modelOptionsFrom(values));
      const summary = summarize(model);
      model.dispose();
      if (values.json) {
        process.stdout.write(`${JSON.stringify({ ...summary, backend: selectBackend().kind })}\n`);
      } else {
        console.log(formatSummary(summary, { layers: values.layers === true }));
      }
    },
  },
  train: trainCommand,
  degradation: degradationCommand,
  report: reportCommand,
  responses: responsesCommand,
  'tensorboard-export': tensorBoardExportCommand,
  doctor: doctorCommand,
};

function help(): string {
  const lines = Object.entries(commands).map(([name, c]) => `  ${name.padEnd(12)} ${c.summary}\n    ${c.usage}`);
  return (
    `reslab: residual networks and the degradation problem (He et al. 2015)\n\ncommands:\n${lines.join('\n')}\n\n` +
    'environment: RESLAB_BACKEND=gpu|cpu|js forces a backend'
  );
}

/**
 * `--lr -1` as `--lr=-1`: a value that is a negative number belongs to the flag before it (Node's
 * parser would take it for a flag and refuse it), so that the value gets the setting's own message.
 */
function joinNegativeValues(args: string[], command: Command): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const flag = /^--([^=]+)$/.exec(args[i])?.[1];
    if (flag && command.options[flag]?.type === 'string' && /^-(\d|\.\d|Infinity)/.test(args[i + 1] ?? '')) {
      out.push(`${args[i]}=${args[i + 1]}`);
      i++;
    } else out.push(args[i]);
  }
  return out;
}

/** Runs the CLI with `argv` (without node and script); returns the exit code. */
export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    console.log(help());
    return name ? 0 : 2;
  }
  const command = commands[name];
  try {
    if (!command) throw new UsageError(`unknown command '${name}'\n\n${help()}`);
    if (rest.includes('--help') || rest.includes('-h')) {
      console.log(commandHelp(name, command));
      return 0;
    }
    const { values, positionals } = parseArgs({
      args: joinNegativeValues(rest, command),
      options: command.options,
      allowPositionals: true,
      strict: true,
    });
    const info = selectBackend();
    // stdout may be JSON for machines; the backend line goes to stderr.
    console.error(`reslab ${name}: ${describeBackend(info)}`);
    return (await command.run(positionals, values as FlagValues)) ?? 0;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const isUsage =
      error instanceof UsageError || error instanceof SettingsError || (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS');
    console.error(`reslab ${name}: ${isUsage ? '' : 'error: '}${message}`);
    if (!isUsage && process.env.RESLAB_DEBUG && error instanceof Error) console.error(error.stack);
    return isUsage ? 2 : 1;
  }
}
