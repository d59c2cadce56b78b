/**
 * Training and inference throughput of the CIFAR nets on the active backend, optionally against
 * an equivalent PyTorch reference measured in the same run, interleaved model by model.
 *
 *   npm run bench -- [--models resnet20,resnet56,resnet110,plain20,plain56] [--width 1] [--batch 128]
 *                    [--steps 10] [--warmup 3] [--rounds 3] [--precisions fp32,bf16] [--vs-pytorch]
 *                    [--python PATH] [--threads 2] [--torch-configs eager,channels_last,compile,...] [--json]
 *
 * Each measurement runs in a fresh process (so peak memory is its own): median step time over
 * `steps` timed steps after `warmup` steps; a training step is a full SGD update (forward,
 * backward, momentum + weight decay), inference is `predictLogits` on the same batch. With
 * `--rounds R` every model is measured R times, reslab and PyTorch alternating, and the table
 * shows the medians (of images/s and of the per-round ratios), so a noisy machine shows as spread
 * rather than as a wrong ratio. reslab trains in each precision asked for (fp32, and bf16 mixed
 * precision where this CPU has it; inference is float32 in both). PyTorch is measured in each
 * configuration a CPU user would try (eager NCHW, channels_last, torch.compile, and the last two
 * under bf16 autocast); the ratios are reslab's fastest against PyTorch's fastest in each round,
 * then precision by precision (reslab fp32 against PyTorch's fastest fp32 configuration, bf16
 * against its fastest bf16 one), and against each configuration. Kernel calls are the native
 * TensorFlow kernels of one training step. `RESLAB_NATIVE=0 npm run bench` measures tfjs's
 * autodiff path instead.
 */
import * as os from 'os';
import * as tf from '@tensorflow/tfjs';
import { describeBackend, nativeUnsupportedReason, selectBackend } from '../src';
import { parsePrecision, Precision, precisionName, precisionProblem } from '../src/native';
import { parseScriptFlags, runScript, UsageError } from '../src/scripts';
import { logKernels } from './kernel-log';
import { workload } from './workload';
import { benchScript, runJson } from './run-json';
import { median } from './timing';

interface Figures {
  trainImagesPerSecond: number;
  inferImagesPerSecond: number;
  trainStepMs: number;
  inferStepMs: number;
  /** Peak resident memory of the measuring process. */
  maxRssBytes: number;
  /** Native kernel calls of one training step (reslab only). */
  kernelsPerTrainStep?: number;
  /** `native` or why the model ran on tfjs's autodiff path (reslab only). */
  path?: string;
}

function timeSteps(count: number, step: () => void): number[] {
  const times: number[] = [];
  for (let i = 0; i < count; i++) {
    const start = process.hrtime.bigint();
    step();
    times.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  return times;
}

/** Measures one model in this process. */
async function measureHere(
  name: string,
  width: number,
  batch: number,
  steps: number,
  warmup: number,
  precision: Precision,
): Promise<Figures> {
  const { model, train, infer, dispose } = workload(name, width, batch, precision);
  timeSteps(warmup, train);
  const trainMs = median(timeSteps(steps, train));
  const log = logKernels(train);
  const kernels = log ? [...log.values()].reduce((sum, k) => sum + k.calls, 0) : undefined;
  timeSteps(warmup, infer);
  const inferMs = median(timeSteps(steps, infer));
  const path = nativeUnsupportedReason(model) ?? 'native';
  dispose();
  return {
    trainImagesPerSecond: (batch * 1000) / trainMs,
    inferImagesPerSecond: (batch * 1000) / inferMs,
    trainStepMs: trainMs,
    inferStepMs: inferMs,
    maxRssBytes: process.resourceUsage().maxRSS * 1024,
    kernelsPerTrainStep: kernels,
    path,
  };
}

/** One PyTorch configuration's figures (bench/pytorch_reference.py), or why it could not run. */
interface TorchConfig {
  config: string;
  trainImagesPerSecond?: number;
  inferImagesPerSecond?: number;
  error?: string;
}

/** What bench/pytorch_reference.py prints: every configuration of one model. */
interface TorchRun {
  torch: string;
  configs: TorchConfig[];
  maxRssBytes: number;
}

/** The precision of a PyTorch configuration: `+bf16` ones run under autocast. */
const torchPrecision = (config: string): Precision => (config.endsWith('+bf16') ? 'bfloat16' : 'float32');

/** The fastest configuration of a PyTorch run for one figure (among those of `precision`, if given), or undefined if none ran. */
function fastest(
  run: TorchRun,
  pick: (c: TorchConfig) => number | undefined,
  precision?: Precision,
): { config: string; value: number } | undefined {
  const ran = run.configs.filter((c) => pick(c) !== undefined && (precision === undefined || torchPrecision(c.config) === precision));
  if (ran.length === 0) return undefined;
  const best = ran.reduce((a, b) => ((pick(b) as number) > (pick(a) as number) ? b : a));
  return { config: best.config, value: pick(best) as number };
}

/** The value seen most often (the configuration that was fastest in most rounds). */
function mostCommon(values: string[]): string {
  const counts = new Map<string, number>();
  for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
  return [...counts.entries()].sort((a, b) => b[1] - a[1])[0]?.[0] ?? '';
}

/** One round of one model: reslab in each precision, PyTorch in each configuration. */
interface Round {
  reslab: Map<Precision, Figures>;
  pytorch?: TorchRun;
}

/** The median over rounds of a per-round value, skipping rounds where it is undefined (undefined if all are). */
function medianDefined(rounds: Round[], pick: (round: Round) => number | undefined): number | undefined {
  const values = rounds.map(pick).filter((v): v is number => v !== undefined);
  return values.length ? median(values) : undefined;
}

/** reslab's fastest precision of a round for one figure. */
function reslabBest(round: Round, pick: (f: Figures) => number): number {
  return Math.max(...[...round.reslab.values()].map(pick));
}

async function main(): Promise<void> {
  const usage =
    'npm run bench -- [--models resnet20,resnet56] [--width 1] [--batch 128] [--steps 10] [--warmup 3] [--rounds 3] [--precisions fp32,bf16] [--vs-pytorch --python PATH] [--torch-configs eager,channels_last,compile,channels_last+bf16,compile+bf16] [--threads 2] [--json]';
  const values = parseScriptFlags(usage, {
    models: { type: 'string', default: 'resnet20,resnet56,resnet110,plain20,plain56' },
    batch: { type: 'string', default: '128' },
    width: { type: 'string', default: '1' },
    steps: { type: 'string', default: '10' },
    warmup: { type: 'string', default: '3' },
    rounds: { type: 'string', default: '1' },
    precisions: { type: 'string', default: 'fp32,bf16' },
    precision: { type: 'string', default: 'fp32' },
    json: { type: 'boolean', default: false },
    'vs-pytorch': { type: 'boolean', default: false },
    python: { type: 'string', default: process.env.RESLAB_TORCH_PYTHON ?? 'python3' },
    'torch-configs': { type: 'string', default: 'eager,channels_last,compile,channels_last+bf16,compile+bf16' },
    threads: { type: 'string', default: String(os.cpus().length) },
    single: { type: 'string' },
  });
  const [batch, width, steps, warmup, rounds] = [
    Number(values.batch),
    Number(values.width),
    Number(values.steps),
    Number(values.warmup),
    Number(values.rounds),
  ];
  for (const [name, value] of Object.entries({ batch, steps, warmup, rounds })) {
    if (!Number.isInteger(value) || value < (name === 'warmup' ? 0 : 1))
      throw new UsageError(`--${name} must be a positive integer, got ${String(values[name as keyof typeof values])}`);
  }
  const precisionOf = (text: string, flag: string): Precision => {
    const precision = parsePrecision(text);
    if (!precision) throw new UsageError(`${flag} expects fp32 or bf16, got '${text}'`);
    return precision;
  };
  if (values.single) {
    const precision = precisionOf(String(values.precision), '--precision');
    console.log(JSON.stringify(await measureHere(values.single, width, batch, steps, warmup, precision)));
    return;
  }
  const info = selectBackend();
  const vsTorch = values['vs-pytorch'] === true;
  const models = (values.models ?? '')
    .split(',')
    .map((m) => m.trim())
    .filter(Boolean);
  const asked = [
    ...new Set(
      String(values.precisions)
        .split(',')
        .map((p) => precisionOf(p, '--precisions')),
    ),
  ];
  const skipped = asked.map((p) => ({ precision: p, problem: precisionProblem(p) })).filter((p) => p.problem !== undefined);
  const precisions = asked.filter((p) => !skipped.some((s) => s.precision === p));
  if (precisions.length === 0) throw new UsageError(`no precision can run here: ${skipped.map((s) => s.problem).join('; ')}`);
  const measured = new Map<string, Round[]>(models.map((m) => [m, []]));
  const common = [String(width), String(batch), String(steps), String(warmup)];
  for (let round = 1; round <= rounds; round++) {
    for (const model of models) {
      // Interleaved: reslab in each precision, then PyTorch, for each model in turn, so all see the same machine state.
      const reslab = new Map<Precision, Figures>();
      for (const precision of precisions)
        reslab.set(
          precision,
          runJson<Figures>(process.execPath, [
            __filename,
            '--single',
            model,
            '--precision',
            precision,
            ...['--width', common[0], '--batch', common[1], '--steps', common[2], '--warmup', common[3]],
          ]),
        );
      const pytorch = vsTorch
        ? runJson<TorchRun>(values.python as string, [
            benchScript('pytorch_reference.py'),
            model,
            ...common,
            String(values.threads),
            values['torch-configs'] as string,
          ])
        : undefined;
      measured.get(model)?.push({ reslab, pytorch });
      if (!values.json) process.stderr.write(`measured ${model} (round ${round}/${rounds})\n`);
    }
  }
  const trainOf = (c: TorchConfig) => c.trainImagesPerSecond;
  const inferOf = (c: TorchConfig) => c.inferImagesPerSecond;
  const rows = models.map((model) => {
    const all = measured.get(model) ?? [];
    const first = all[0]?.reslab.get(precisions[0]);
    const reslab = Object.fromEntries(
      precisions.map((p) => [
        precisionName(p),
        {
          train: median(all.map((r) => (r.reslab.get(p) as Figures).trainImagesPerSecond)),
          infer: median(all.map((r) => (r.reslab.get(p) as Figures).inferImagesPerSecond)),
          maxRssBytes: median(all.map((r) => (r.reslab.get(p) as Figures).maxRssBytes)),
          kernelsPerTrainStep: all[0]?.reslab.get(p)?.kernelsPerTrainStep,
        },
      ]),
    );
    if (!vsTorch) return { model, path: first?.path, reslab, rounds: all };
    const torchRuns = all.map((r) => r.pytorch as TorchRun);
    const bestOf = (pick: (c: TorchConfig) => number | undefined, precision?: Precision) => {
      const per = torchRuns.map((t) => fastest(t, pick, precision)).filter((b): b is { config: string; value: number } => b !== undefined);
      return per.length ? { config: mostCommon(per.map((b) => b.config)), value: median(per.map((b) => b.value)) } : undefined;
    };
    const pytorch = {
      torch: torchRuns[0]?.torch,
      bestTrain: bestOf(trainOf),
      bestInfer: bestOf(inferOf),
      maxRssBytes: median(torchRuns.map((t) => t.maxRssBytes)),
      // Each configuration against reslab in the same precision (bf16 configurations against fp32 where reslab has no bf16).
      configs: (torchRuns[0]?.configs ?? []).map((c) => {
        const against = precisions.includes(torchPrecision(c.config)) ? torchPrecision(c.config) : precisions[0];
        const ratio = (pick: (x: TorchConfig) => number | undefined, mine: (f: Figures) => number) =>
          medianDefined(all, (r) => {
            const theirs = r.pytorch?.configs.find((x) => x.config === c.config);
            const value = theirs ? pick(theirs) : undefined;
            return value === undefined ? undefined : mine(r.reslab.get(against) as Figures) / value;
          });
        const figure = (pick: (x: TorchConfig) => number | undefined) =>
          medianDefined(all, (r) => {
            const theirs = r.pytorch?.configs.find((x) => x.config === c.config);
            return theirs ? pick(theirs) : undefined;
          });
        return {
          config: c.config,
          against: precisionName(against),
          error: c.error,
          train: figure(trainOf),
          infer: figure(inferOf),
          trainRatio: ratio(trainOf, (f) => f.trainImagesPerSecond),
          inferRatio: ratio(inferOf, (f) => f.inferImagesPerSecond),
        };
      }),
    };
    /** reslab in `precision` (its fastest over precisions when undefined) against PyTorch's fastest of the same precision (of all). */
    const ratioOf = (pick: (c: TorchConfig) => number | undefined, mine: (f: Figures) => number, precision?: Precision) =>
      medianDefined(all, (r) => {
        const theirs = fastest(r.pytorch as TorchRun, pick, precision);
        if (!theirs) return undefined;
        if (precision === undefined) return reslabBest(r, mine) / theirs.value;
        const figures = r.reslab.get(precision);
        return figures ? mine(figures) / theirs.value : undefined;
      });
    const train = (f: Figures) => f.trainImagesPerSecond;
    const ratios = {
      train: ratioOf(trainOf, train),
      trainFp32: ratioOf(trainOf, train, 'float32'),
      trainBf16: ratioOf(trainOf, train, 'bfloat16'),
      infer: ratioOf(inferOf, (f) => f.inferImagesPerSecond),
      memory: median(all.map((r) => (r.reslab.get(precisions[0]) as Figures).maxRssBytes / (r.pytorch as TorchRun).maxRssBytes)),
    };
    return { model, path: first?.path, reslab, pytorch, ratios, rounds: all };
  });
  if (values.json) {
    const json = rows.map((row) => ({
      ...row,
      rounds: row.rounds.map((r) => ({ reslab: Object.fromEntries(r.reslab), pytorch: r.pytorch })),
    }));
    console.log(JSON.stringify({ backend: info.kind, tfjs: tf.version.tfjs, batch, width, steps, warmup, rounds, skipped, results: json }));
    return;
  }
  console.log(describeBackend(info));
  for (const s of skipped) console.log(`${precisionName(s.precision)} not measured: ${s.problem}`);
  console.log(
    `batch ${batch}, width ${width}, median of ${steps} timed steps after ${warmup} warm-up steps, ${rounds} round(s)` +
      (vsTorch
        ? `, PyTorch ${rows[0] && 'pytorch' in rows[0] ? rows[0].pytorch?.torch : ''} with ${values.threads} threads; ratios are medians of per-round ratios against PyTorch's fastest configuration of that round (overall, then of the same precision)`
        : ''),
  );
  const table = (header: string[], lines: string[][]) => {
    const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
    for (const line of [header, ...lines])
      console.log(line.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  '));
  };
  const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(0)} MiB`;
  const f = (v: number | undefined, digits: number) => (v === undefined ? '–' : v.toFixed(digits));
  const names = precisions.map(precisionName);
  const header = [
    'model',
    'path',
    ...names.map((n) => `train img/s ${n}`),
    'infer img/s',
    'peak RSS',
    ...names.map((n) => `kernels/step ${n}`),
  ];
  if (vsTorch)
    header.push(
      'torch best train',
      'torch best infer',
      'torch RSS',
      'train ratio',
      ...names.map((n) => `${n} ratio`),
      'infer ratio',
      'memory ratio',
    );
  table(
    header,
    rows.map((row) => {
      const cells = [
        row.model,
        row.path === 'native' ? 'native' : 'autodiff',
        ...names.map((n) => row.reslab[n].train.toFixed(1)),
        row.reslab[names[0]].infer.toFixed(1),
        mib(row.reslab[names[0]].maxRssBytes),
        ...names.map((n) => String(row.reslab[n].kernelsPerTrainStep ?? '')),
      ];
      if ('pytorch' in row && row.pytorch && row.ratios) {
        const best = (b: { config: string; value: number } | undefined) => (b ? `${b.value.toFixed(1)} (${b.config})` : '–');
        cells.push(
          best(row.pytorch.bestTrain),
          best(row.pytorch.bestInfer),
          mib(row.pytorch.maxRssBytes),
          f(row.ratios.train, 2),
          ...precisions.map((p) => f(p === 'bfloat16' ? row.ratios.trainBf16 : row.ratios.trainFp32, 2)),
          f(row.ratios.infer, 2),
          row.ratios.memory.toFixed(2),
        );
      }
      return cells;
    }),
  );
  if (vsTorch) {
    console.log('\nreslab against each PyTorch configuration, in the same precision (img/s; ratio = reslab / PyTorch):');
    const lines: string[][] = [];
    for (const row of rows) {
      if (!('pytorch' in row) || !row.pytorch) continue;
      for (const c of row.pytorch.configs)
        lines.push([
          row.model,
          c.config,
          c.against,
          f(c.train, 1),
          f(c.infer, 1),
          f(c.trainRatio, 2),
          f(c.inferRatio, 2),
          c.error ? c.error.slice(0, 60) : '',
        ]);
    }
    table(['model', 'torch config', 'reslab', 'train', 'infer', 'train ratio', 'infer ratio', 'error'], lines);
    if (rounds > 1) {
      for (const row of rows) {
        const spread = row.rounds
          .map((r) => {
            const theirs = fastest(r.pytorch as TorchRun, trainOf);
            return theirs ? (reslabBest(r, (x) => x.trainImagesPerSecond) / theirs.value).toFixed(2) : '–';
          })
          .join(', ');
        console.log(`${row.model}: reslab's fastest training against PyTorch's fastest configuration, per round: ${spread}`);
      }
    }
  }
  for (const row of rows) if (row.path && row.path !== 'native') console.log(`${row.model} ran on tfjs's autodiff path: ${row.path}`);
}

runScript(main);
