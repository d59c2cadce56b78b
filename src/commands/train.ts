import * as fs from 'fs';
import * as path from 'path';
import { bundledDataDir, CifarDataset, loadCifar10 } from '../data/cifar';
import { downloadCifar10 } from '../data/download';
import { completedEnd, gridConfigs, parseShard, runGrid, shardOf } from '../experiments/grid';
import { loadRuns, table6Markdown } from '../experiments/figures';
import { responseCurves } from '../probes/responses';
import { writeReport } from '../experiments/report';
import { verdictLines } from '../experiments/claims';
import { RunEvent } from '../protocol';
import { configFromPreset, PRESET_DEPTHS, PRESETS, PresetName, runIdOf, TrainConfig, validateConfigForData } from '../train/config';
import { readRunEvents, StepProgress, Trainer } from '../train/trainer';
import { Command, defined, FlagValues, listFlag, numberFlag, UsageError } from './command';
import { modelOptionFlags, modelOptionsFrom } from './model-flags';

const trainingFlags = {
  ...modelOptionFlags,
  preset: { type: 'string' },
  iterations: { type: 'string' },
  'batch-size': { type: 'string' },
  lr: { type: 'string' },
  'lr-milestones': { type: 'string' },
  'lr-factor': { type: 'string' },
  momentum: { type: 'string' },
  'weight-decay': { type: 'string' },
  'probe-every': { type: 'string' },
  'train-eval-images': { type: 'string' },
  'eval-every': { type: 'string' },
  'log-every': { type: 'string' },
  'checkpoint-every': { type: 'string' },
  'train-limit': { type: 'string' },
  'test-limit': { type: 'string' },
  validation: { type: 'string' },
  'data-dir': { type: 'string' },
  download: { type: 'boolean' },
  out: { type: 'string' },
  quiet: { type: 'boolean' },
  config: { type: 'string' },
} as const;

/** Settings from `--config file.json` (any TrainConfig fields but the model); flags override them. */
function configFile(values: FlagValues): Partial<TrainConfig> {
  const file = values.config;
  if (typeof file !== 'string') return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (error) {
    throw new UsageError(`--config ${file}: ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : `not valid JSON (${(error as Error).message})`}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new UsageError(`--config ${file}: expected a JSON object of training settings`);
  const known = new Set([...Object.keys(PRESETS.paper), 'trainLimit', 'testLimit', 'warmup']);
  const unknown = Object.keys(parsed).filter((key) => !known.has(key));
  if (unknown.length) throw new UsageError(`--config ${file}: unknown setting(s) ${unknown.join(', ')}; known: ${[...known].sort().join(', ')}`);
  return parsed as Partial<TrainConfig>;
}

function presetOf(values: FlagValues, fallback: PresetName): PresetName {
  const preset = (values.preset as string | undefined) ?? fallback;
  if (!(preset in PRESETS)) throw new UsageError(`unknown preset '${preset}': expected ${Object.keys(PRESETS).join(', ')}`);
  return preset as PresetName;
}

function milestone(text: string): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1) throw new UsageError(`--lr-milestones expects iterations like 32000,48000, got '${text}'`);
  return value;
}

/** Config overrides from `--config` and flags (flags win; absent ones keep the preset's values). */
function overridesFrom(values: FlagValues): Partial<TrainConfig> {
  const fromFile = configFile(values);
  const modelOptions = { ...fromFile.modelOptions, ...modelOptionsFrom(values) };
  return { ...fromFile, ...defined({
    modelOptions: Object.keys(modelOptions).length ? modelOptions : undefined,
    iterations: numberFlag(values, 'iterations'),
    batchSize: numberFlag(values, 'batch-size'),
    lr: numberFlag(values, 'lr'),
    lrMilestones: typeof values['lr-milestones'] === 'string' ? listFlag(values, 'lr-milestones', '').map((m) => milestone(m)) : undefined,
    lrFactor: numberFlag(values, 'lr-factor'),
    momentum: numberFlag(values, 'momentum'),
    weightDecay: numberFlag(values, 'weight-decay'),
    probeEvery: numberFlag(values, 'probe-every'),
    trainEvalImages: numberFlag(values, 'train-eval-images'),
    evalEvery: numberFlag(values, 'eval-every'),
    logEvery: numberFlag(values, 'log-every'),
    checkpointEvery: numberFlag(values, 'checkpoint-every'),
    trainLimit: numberFlag(values, 'train-limit'),
    testLimit: numberFlag(values, 'test-limit'),
    validationImages: numberFlag(values, 'validation'),
  }) };
}

/** The presets' settings side by side, for `--help`. */
function presetTable(): string {
  const names = Object.keys(PRESETS) as PresetName[];
  const row = (label: string, value: (p: (typeof PRESETS)[PresetName], name: PresetName) => unknown) =>
    `  ${label.padEnd(20)}${names.map((n) => String(value(PRESETS[n], n) ?? 'all').padEnd(16)).join('')}`;
  return [
    `presets (--preset; flags override):\n  ${''.padEnd(20)}${names.map((n) => n.padEnd(16)).join('')}`,
    row('--width', (p) => p.modelOptions.width),
    row('--iterations', (p) => p.iterations),
    row('--batch-size', (p) => p.batchSize),
    row('--lr', (p) => p.lr),
    row('--lr-milestones', (p) => p.lrMilestones.join(',') || 'none'),
    row('--lr-factor', (p) => p.lrFactor),
    row('--momentum', (p) => p.momentum),
    row('--weight-decay', (p) => p.weightDecay),
    row('--train-limit', (p) => p.trainLimit),
    row('--test-limit', (p) => p.testLimit),
    row('--train-eval-images', (p) => p.trainEvalImages),
    row('--log-every', (p) => p.logEvery),
    row('--eval-every', (p) => p.evalEvery),
    row('--checkpoint-every', (p) => p.checkpointEvery),
    row('--probe-every', (p) => p.probeEvery),
    row('--validation', (p) => p.validationImages),
    row('depths', (_p, n) => PRESET_DEPTHS[n].join(',')),
  ].join('\n');
}

/** A bad setting (flag value) is a usage error: one line, exit 2, nothing created. */
function settingsOrUsageError<T>(make: () => T): T {
  try {
    return make();
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
}

/** The dataset: --data-dir, else --download (official archive, cached), else the bundled subset. */
async function datasetFrom(values: FlagValues): Promise<CifarDataset> {
  if (typeof values['data-dir'] === 'string') return loadCifar10(values['data-dir']);
  if (values.download) {
    const bar = new ProgressLine();
    const dir = await downloadCifar10({
      onProgress: (received, total) => bar.update(`downloading CIFAR-10 ${(received / 2 ** 20).toFixed(1)}${total ? ` / ${(total / 2 ** 20).toFixed(1)}` : ''} MiB`),
    });
    bar.done();
    return loadCifar10(dir);
  }
  return loadCifar10(bundledDataDir());
}

/** One status line on stderr, rewritten in place on a terminal, printed every 15 s otherwise. */
export class ProgressLine {
  private lastPrint = 0;
  private readonly tty = process.stderr.isTTY === true;

  update(text: string): void {
    if (this.tty) {
      process.stderr.write(`\r\x1b[K${text}`);
    } else if (Date.now() - this.lastPrint > 15_000) {
      process.stderr.write(`${text}\n`);
      this.lastPrint = Date.now();
    }
  }

  done(text?: string): void {
    if (this.tty) process.stderr.write(`\r\x1b[K${text ? `${text}\n` : ''}`);
    else if (text) process.stderr.write(`${text}\n`);
  }
}

function formatSeconds(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  const s = Math.round(seconds);
  return s >= 3600 ? `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m` : `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
}

/** Attaches a progress bar and signal handling to a trainer. */
function attach(trainer: Trainer, prefix: string, quiet: boolean): { progress: (p: StepProgress) => void; detach: () => void } {
  const line = new ProgressLine();
  let trainError = NaN;
  let testError = NaN;
  let rate = NaN;
  const unsubscribe = trainer.on((event: RunEvent) => {
    if (event.type === 'run_start' && !quiet) line.done(`${prefix}: ${event.backend} backend, ${event.engine ?? 'tfjs autodiff'}${event.iteration > 0 ? `, resuming at iteration ${event.iteration}` : ''}`);
    if (event.type === 'train') trainError = event.trainError;
    if (event.type === 'eval') testError = event.testError;
    if (event.type === 'run_end') line.done(`${prefix} ${event.status} at iteration ${event.iteration} in ${formatSeconds(event.wallSeconds)}${event.message ? `: ${event.message}` : ''}`);
  });
  let interrupts = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    interrupts += 1;
    if (interrupts > 1) process.exit(signal === 'SIGINT' ? 130 : 143);
    line.done(`${prefix}: ${signal} received, stopping after this step and writing a checkpoint (again to quit at once)`);
    trainer.stop(signal);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const progress = (p: StepProgress) => {
    if (quiet) return;
    rate = Number.isFinite(rate) ? 0.9 * rate + 0.1 * p.imagesPerSecond : p.imagesPerSecond;
    const width = 24;
    const filled = Math.round((p.iteration / p.iterations) * width);
    const eta = ((p.iterations - p.iteration) * trainer.config.batchSize) / rate;
    const pct = (v: number) => (Number.isFinite(v) ? `${(v * 100).toFixed(1)}%` : '–');
    line.update(
      `${prefix} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${p.iteration}/${p.iterations} ` +
        `loss ${p.loss.toFixed(3)} train err ${pct(trainError)} test err ${pct(testError)} ${rate.toFixed(0)} img/s ETA ${formatSeconds(eta)}`,
    );
  };
  return {
    progress,
    detach: () => {
      unsubscribe();
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}

export const trainCommand: Command = {
  usage: 'reslab train <model> [--preset cpu|demo|smoke|paper] [--iterations N] [--width W] [--shortcut A|B|C] [--data-dir DIR | --download] [--out runs/] [--seed S]',
  summary: 'train one CIFAR-10 net; resumes from runs/<id>/checkpoint if present',
  details: presetTable,
  options: { ...trainingFlags, seed: { type: 'string' } },
  async run(positionals, values) {
    if (positionals.length !== 1) throw new UsageError(`expected one model name, e.g. resnet20\nusage: ${trainCommand.usage}`);
    const config = settingsOrUsageError(() => configFromPreset(positionals[0], presetOf(values, 'cpu'), { ...overridesFrom(values), ...defined({ seed: numberFlag(values, 'seed') }) }));
    const data = await datasetFrom(values);
    settingsOrUsageError(() => validateConfigForData(config, data.train.count, data.test.count));
    const runDir = path.join((values.out as string | undefined) ?? 'runs', runIdOf(config));
    const finished = completedEnd(readRunEvents(runDir));
    if (finished) {
      console.error(`${runDir} is already finished (iteration ${finished.iteration}); nothing to do. Delete it, or use another --out or --seed, to train again.`);
      return 0;
    }
    let hooks: ReturnType<typeof attach> | undefined;
    const trainer = new Trainer(config, data, { runDir, onStep: (p) => hooks?.progress(p) });
    hooks = attach(trainer, runIdOf(config), values.quiet === true);
    console.error(`training ${config.model} (${config.preset} preset, ${config.iterations} iterations) on ${data.source}: ${data.train.count} training, ${data.test.count} test images → ${runDir}`);
    if (values.quiet !== true) console.error(`config: ${JSON.stringify(config)}`);
    try {
      const end = await trainer.run();
      return end.status === 'stopped' ? 130 : 0;
    } finally {
      hooks.detach();
    }
  },
};

export const degradationCommand: Command = {
  usage: 'reslab degradation [--nets plain,resnet] [--depths 8,44] [--seeds 1] [--preset cpu|demo|smoke|paper] [--iterations N] [--width W] [--data-dir DIR | --download] [--out runs/] [--shard i/N] [--report report/]',
  summary: 'the degradation grid {plain, resnet} x depths x seeds; resumable, shardable; writes a report',
  details: presetTable,
  options: { ...trainingFlags, nets: { type: 'string' }, depths: { type: 'string' }, seeds: { type: 'string' }, shard: { type: 'string' }, report: { type: 'string' } },
  async run(positionals, values) {
    if (positionals.length) throw new UsageError(`unexpected argument '${positionals[0]}'\nusage: ${degradationCommand.usage}`);
    const nets = listFlag(values, 'nets', 'plain,resnet') as Array<'plain' | 'resnet'>;
    const preset = presetOf(values, 'cpu');
    const depths = listFlag(values, 'depths', PRESET_DEPTHS[preset].join(',')).map(Number);
    const seedCount = numberFlag(values, 'seeds') ?? 1;
    if (!Number.isInteger(seedCount) || seedCount < 1) throw new UsageError(`--seeds expects a positive count, got ${seedCount}`);
    const seeds = Array.from({ length: seedCount }, (_, i) => i);
    const shard = typeof values.shard === 'string' ? parseShard(values.shard) : undefined;
    const outDir = (values.out as string | undefined) ?? 'runs';
    // Every run's settings are checked before the data loads or any run directory is created.
    const spec = { nets, depths, seeds, preset, overrides: overridesFrom(values) };
    const all = settingsOrUsageError(() => gridConfigs(spec));
    if (shard && shardOf(all, shard).length === 0) {
      // Array jobs may have more tasks than runs: say so, and succeed (nothing failed).
      console.error(`shard ${shard.index}/${shard.count} has no runs: the sweep has only ${all.length} (${all.map(runIdOf).join(', ')}); nothing to do`);
      return 0;
    }
    const data = await datasetFrom(values);
    for (const config of gridConfigs(spec)) settingsOrUsageError(() => validateConfigForData(config, data.train.count, data.test.count));
    let hooks: ReturnType<typeof attach> | undefined;
    let stopped = false;
    console.error(`degradation sweep: ${nets.join(',')} x depths ${depths.join(',')} x ${seedCount} seed(s), ${preset} preset, data ${data.source}${shard ? `, shard ${shard.index}/${shard.count}` : ''} → ${outDir}`);
    const ends = await runGrid(
      spec,
      {
        outDir,
        data,
        shard,
        trainer: { onStep: (p) => hooks?.progress(p) },
        onRun: (trainer, index, total) => {
          hooks?.detach();
          hooks = attach(trainer, `[${index + 1}/${total}] ${trainer.runId}`, values.quiet === true);
        },
        onRunEnd: (runId, end, skipped) => {
          if (skipped) console.error(`${runId}: already finished, skipped`);
          if (end.status === 'stopped') stopped = true;
        },
        shouldStop: () => stopped,
      },
    );
    hooks?.detach();
    if (stopped || ends.some((e) => e.status !== 'completed')) {
      console.error('sweep stopped; run the same command again to resume');
      return 130;
    }
    const reportDir = values.report as string | undefined;
    if (reportDir) {
      const { rows, verdicts, scale } = writeReport(outDir, reportDir);
      console.log(table6Markdown(rows));
      console.log(`\n${verdictLines(verdicts, scale).join('\n')}`);
      console.error(`report: ${path.join(reportDir, 'index.html')}`);
    }
  },
};

export const responsesCommand: Command = {
  usage: 'reslab responses <runs-dir> [--out report/] [--images 500] [--data-dir DIR | --download]',
  summary: 'paper Fig. 7: std of each 3x3 layer response of the trained nets, layer order and sorted',
  options: { out: { type: 'string' }, images: { type: 'string' }, 'data-dir': { type: 'string' }, download: { type: 'boolean' } },
  async run(positionals, values) {
    if (positionals.length !== 1) throw new UsageError(`expected the runs directory\nusage: ${responsesCommand.usage}`);
    const runsDir = positionals[0];
    const outDir = (values.out as string | undefined) ?? 'report';
    const data = await datasetFrom(values);
    const curves = await responseCurves(loadRuns(runsDir), runsDir, data, numberFlag(values, 'images') ?? 500);
    if (curves.length === 0) throw new Error(`no trained models or probe events in ${runsDir}`);
    writeReport(runsDir, outDir, curves);
    for (const c of curves) {
      const mean = c.stds.reduce((a, b) => a + b, 0) / c.stds.length;
      console.log(`${c.runId.padEnd(22)} ${String(c.stds.length).padStart(3)} layers  mean std ${mean.toFixed(3)}  max ${Math.max(...c.stds).toFixed(3)}  (${c.source})`);
    }
    console.error(`Figure 7: ${path.join(outDir, 'index.html')}, ${path.join(outDir, 'responses.csv')}`);
  },
};

export const reportCommand: Command = {
  usage: 'reslab report <runs-dir> [--out report/]',
  summary: 'Figure 1, Figure 6, Table 6 (CSV, JSON) and a self-contained HTML report from a runs directory',
  options: { out: { type: 'string' } },
  run(positionals, values) {
    if (positionals.length !== 1) throw new UsageError(`expected the runs directory\nusage: ${reportCommand.usage}`);
    const outDir = (values.out as string | undefined) ?? 'report';
    const { rows, verdicts, scale } = writeReport(positionals[0], outDir);
    console.log(table6Markdown(rows));
    console.log(`\n${verdictLines(verdicts, scale).join('\n')}`);
    console.error(`report: ${path.join(outDir, 'index.html')}`);
  },
};
