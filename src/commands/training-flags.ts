/** The training settings as flags: every TrainConfig field, `--config file.json`, presets, the dataset. */
import * as fs from 'fs';
import * as path from 'path';
import { bundledDataDir, CifarDataset, loadCifar10 } from '../data/cifar';
import { downloadCifar10 } from '../data/download';
import { RunsRoot } from '../runs';
import { parsePrecision } from '../native/precision';
import { PRESET_DEPTHS, PRESETS, PresetName, TrainConfig } from '../train/config';
import { defined, FlagValues, listFlag, numberFlag, UsageError } from './command';
import { modelOptionFlags, modelOptionsFrom } from './model-flags';
import { ProgressLine } from './progress';

export const trainingFlags = {
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
  'probe-images': { type: 'string' },
  augment: { type: 'string' },
  precision: { type: 'string' },
  warmup: { type: 'string' },
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
    throw new UsageError(
      `--config ${file}: ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : `not valid JSON (${(error as Error).message})`}`,
    );
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    throw new UsageError(`--config ${file}: expected a JSON object of training settings`);
  if ('preset' in parsed) throw new UsageError(`--config ${file}: the preset is chosen with --preset, not in the config file`);
  const known = new Set([...Object.keys(PRESETS.paper).filter((key) => key !== 'preset'), 'trainLimit', 'testLimit', 'warmup']);
  const unknown = Object.keys(parsed).filter((key) => !known.has(key));
  if (unknown.length)
    throw new UsageError(`--config ${file}: unknown setting(s) ${unknown.join(', ')}; known: ${[...known].sort().join(', ')}`);
  return parsed as Partial<TrainConfig>;
}

export function presetOf(values: FlagValues, fallback: PresetName): PresetName {
  const preset = (values.preset as string | undefined) ?? fallback;
  if (!(preset in PRESETS)) throw new UsageError(`unknown preset '${preset}': expected ${Object.keys(PRESETS).join(', ')}`);
  return preset as PresetName;
}

function milestone(text: string): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1) throw new UsageError(`--lr-milestones expects iterations like 32000,48000, got '${text}'`);
  return value;
}

function augmentFlag(values: FlagValues): boolean | undefined {
  const raw = values.augment;
  if (raw === undefined) return undefined;
  if (raw === 'on' || raw === 'off') return raw === 'on';
  throw new UsageError(`--augment expects on (the paper's 4-pixel padding, random crop and flip) or off, got '${String(raw)}'`);
}

/** `--precision fp32` (the default) or `bf16` (mixed precision); fp32 leaves the config as older runs wrote it. */
function precisionFlag(values: FlagValues): { precision?: TrainConfig['precision'] } {
  const raw = values.precision;
  if (raw === undefined) return {};
  const precision = parsePrecision(String(raw));
  if (precision === undefined)
    throw new UsageError(`--precision expects fp32 or bf16 (mixed precision on CPUs with bfloat16 instructions), got '${String(raw)}'`);
  return { precision: precision === 'bfloat16' ? precision : undefined };
}

/** `--warmup none` or `--warmup LR:ERROR` (train at LR until the running training error is below ERROR, a fraction). */
function warmupFlag(values: FlagValues): { warmup?: TrainConfig['warmup'] } {
  const raw = values.warmup;
  if (raw === undefined) return {};
  if (raw === 'none') return { warmup: undefined };
  const [lr, until] = String(raw).split(':').map(Number);
  if (!(lr > 0) || !(until > 0 && until < 1)) {
    throw new UsageError(
      `--warmup expects none or LR:ERROR, e.g. 0.01:0.8 (lr 0.01 until the training error is below 80%), got '${String(raw)}'`,
    );
  }
  return { warmup: { lr, untilTrainError: until } };
}

/** Config overrides from `--config` and flags (flags win; absent ones keep the preset's values). */
export function overridesFrom(values: FlagValues): Partial<TrainConfig> {
  const fromFile = configFile(values);
  const modelOptions = { ...fromFile.modelOptions, ...modelOptionsFrom(values) };
  return {
    ...fromFile,
    ...warmupFlag(values),
    ...precisionFlag(values),
    ...defined({
      modelOptions: Object.keys(modelOptions).length ? modelOptions : undefined,
      iterations: numberFlag(values, 'iterations'),
      batchSize: numberFlag(values, 'batch-size'),
      lr: numberFlag(values, 'lr'),
      lrMilestones:
        typeof values['lr-milestones'] === 'string' ? listFlag(values, 'lr-milestones', '').map((m) => milestone(m)) : undefined,
      lrFactor: numberFlag(values, 'lr-factor'),
      momentum: numberFlag(values, 'momentum'),
      weightDecay: numberFlag(values, 'weight-decay'),
      probeEvery: numberFlag(values, 'probe-every'),
      probeImages: numberFlag(values, 'probe-images'),
      augment: augmentFlag(values),
      trainEvalImages: numberFlag(values, 'train-eval-images'),
      evalEvery: numberFlag(values, 'eval-every'),
      logEvery: numberFlag(values, 'log-every'),
      checkpointEvery: numberFlag(values, 'checkpoint-every'),
      trainLimit: numberFlag(values, 'train-limit'),
      testLimit: numberFlag(values, 'test-limit'),
      validationImages: numberFlag(values, 'validation'),
    }),
  };
}

/** The presets' settings side by side, for `--help`: each column as wide as its widest value. */
export function presetTable(): string {
  const names = Object.keys(PRESETS) as PresetName[];
  type Value = (p: (typeof PRESETS)[PresetName], name: PresetName) => unknown;
  const rows: Array<[string, Value]> = [
    ['--width', (p) => p.modelOptions.width],
    ['--iterations', (p) => p.iterations],
    ['--batch-size', (p) => p.batchSize],
    ['--lr', (p) => p.lr],
    ['--lr-milestones', (p) => p.lrMilestones.join(',') || 'none'],
    ['--lr-factor', (p) => p.lrFactor],
    ['--momentum', (p) => p.momentum],
    ['--weight-decay', (p) => p.weightDecay],
    ['--train-limit', (p) => p.trainLimit],
    ['--test-limit', (p) => p.testLimit],
    ['--train-eval-images', (p) => p.trainEvalImages],
    ['--log-every', (p) => p.logEvery],
    ['--eval-every', (p) => p.evalEvery],
    ['--checkpoint-every', (p) => p.checkpointEvery],
    ['--probe-every', (p) => p.probeEvery],
    ['--probe-images', (p) => p.probeImages],
    ['--augment', (p) => (p.augment ? 'on' : 'off')],
    ['--precision', (p) => (p.precision === 'bfloat16' ? 'bf16' : 'fp32')],
    ['--warmup', (p) => `${p.lr / 10}:0.8 (110+)`],
    ['--validation', (p) => p.validationImages],
    ['depths', (_p, n) => PRESET_DEPTHS[n].join(',')],
  ];
  const cells = rows.map(([label, value]) => [label, ...names.map((n) => String(value(PRESETS[n], n) ?? 'all'))]);
  const header = ['', ...names];
  const widths = header.map((_, k) => 2 + Math.max(...[header, ...cells].map((row) => row[k].length)));
  const line = (row: string[]) => `  ${row.map((cell, k) => cell.padEnd(widths[k])).join('')}`.trimEnd();
  const notes = [
    '  (--warmup: lr 0.01 until the training error is below 80%, for depth 110 and deeper, §4.2)',
    '  (--precision bf16: mixed precision on CPUs with bfloat16 instructions; `reslab doctor` says whether this one runs it)',
  ].join('\n');
  return ['presets (--preset; flags override):', line(header), ...cells.map(line), notes].join('\n');
}

/**
 * `--out` (default `runs`) as a runs root, checked before any data loads: it, or the nearest
 * directory above it that exists, must be a writable directory. Nothing is created here.
 */
export function runsRootFrom(values: FlagValues): RunsRoot {
  const dir = (values.out as string | undefined) ?? 'runs';
  let existing = path.resolve(dir);
  while (!fs.existsSync(existing) && path.dirname(existing) !== existing) existing = path.dirname(existing);
  try {
    if (!fs.statSync(existing).isDirectory()) throw new UsageError(`--out ${dir}: ${existing} is a file, not a directory`);
    fs.accessSync(existing, fs.constants.W_OK);
  } catch (error) {
    if (error instanceof UsageError) throw error;
    throw new UsageError(
      `--out ${dir} cannot be written: ${existing} is not writable (${(error as NodeJS.ErrnoException).code}); choose another directory`,
    );
  }
  return new RunsRoot(dir);
}

/** The dataset: --data-dir, else --download (official archive, cached), else the bundled subset. */
export async function datasetFrom(values: FlagValues): Promise<CifarDataset> {
  if (typeof values['data-dir'] === 'string') return loadCifar10(values['data-dir']);
  if (values.download) {
    const bar = new ProgressLine();
    const dir = await downloadCifar10({
      onProgress: (received, total) =>
        bar.update(`downloading CIFAR-10 ${(received / 2 ** 20).toFixed(1)}${total ? ` / ${(total / 2 ** 20).toFixed(1)}` : ''} MiB`),
    });
    bar.done();
    return loadCifar10(dir);
  }
  return loadCifar10(bundledDataDir());
}
