/**
 * Training and inference throughput of the CIFAR nets on the active backend, optionally against
 * an equivalent PyTorch reference measured in the same run, interleaved model by model.
 *
 *   npm run bench -- [--models resnet20,resnet56,resnet110,plain20,plain56] [--width 1] [--batch 128]
 *                    [--steps 10] [--warmup 3] [--rounds 3] [--vs-pytorch] [--python PATH] [--threads 2]
 *                    [--torch-configs eager,channels_last,compile] [--json]
 *
 * Each measurement runs in a fresh process (so peak memory is its own): median step time over
 * `steps` timed steps after `warmup` steps; a training step is a full SGD update (forward,
 * backward, momentum + weight decay), inference is `predictLogits` on the same batch. With
 * `--rounds R` every model is measured R times, reslab and PyTorch alternating, and the table
 * shows the medians (of images/s and of the per-round ratios), so a noisy machine shows as spread
 * rather than as a wrong ratio. PyTorch is measured in each configuration a CPU user would try
 * (eager NCHW, channels_last, torch.compile); the ratios are against the fastest of them in each
 * round, and against each one. Kernel calls are the native TensorFlow kernels of one training
 * step. `RESLAB_NATIVE=0 npm run bench` measures tfjs's autodiff path instead.
 */
import * as os from 'os';
import * as tf from '@tensorflow/tfjs';
import { describeBackend, nativeUnsupportedReason, selectBackend } from '../src';
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
async function measureHere(name: string, width: number, batch: number, steps: number, warmup: number): Promise<Figures> {
  const { model, train, infer, dispose } = workload(name, width, batch);
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

/** The fastest configuration of a PyTorch run for one figure. */
function fastest(run: TorchRun, pick: (c: TorchConfig) => number | undefined): { config: string; value: number } {
  const ran = run.configs.filter((c) => pick(c) !== undefined) as TorchConfig[];
  if (ran.length === 0) throw new Error(`no PyTorch configuration ran: ${run.configs.map((c) => `${c.config}: ${c.error}`).join('; ')}`);
  const best = ran.reduce((a, b) => ((pick(b) as number) > (pick(a) as number) ? b : a));
  return { config: best.config, value: pick(best) as number };
}

/** The value seen most often (the configuration that was fastest in most rounds). */
function mostCommon(values: string[]): string {
  const counts = new Map<string, number>();
  for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
  return [...counts.entries()].sort((a, b) => b[1] - a[1])[0]?.[0] ?? '';
}

/** Median of `pick` over the rounds of one model. */
function medianOf<T>(rounds: T[], pick: (round: T) => number): number {
  return median(rounds.map(pick));
}

async function main(): Promise<void> {
  const values = parseScriptFlags(
    'npm run bench -- [--models resnet20,resnet56] [--width 1] [--batch 128] [--steps 10] [--warmup 3] [--rounds 3] [--vs-pytorch --python PATH] [--torch-configs eager,channels_last,compile] [--threads 2] [--json]',
    {
      models: { type: 'string', default: 'resnet20,resnet56,resnet110,plain20,plain56' },
      batch: { type: 'string', default: '128' },
      width: { type: 'string', default: '1' },
      steps: { type: 'string', default: '10' },
      warmup: { type: 'string', default: '3' },
      rounds: { type: 'string', default: '1' },
      json: { type: 'boolean', default: false },
      'vs-pytorch': { type: 'boolean', default: false },
      python: { type: 'string', default: process.env.RESLAB_TORCH_PYTHON ?? 'python3' },
      'torch-configs': { type: 'string', default: 'eager,channels_last,compile' },
      threads: { type: 'string', default: String(os.cpus().length) },
      single: { type: 'string' },
    },
  );
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
  if (values.single) {
    console.log(JSON.stringify(await measureHere(values.single, width, batch, steps, warmup)));
    return;
  }
  const info = selectBackend();
  const vsTorch = values['vs-pytorch'] === true;
  const models = (values.models ?? '')
    .split(',')
    .map((m) => m.trim())
    .filter(Boolean);
  const measured = new Map<string, Array<{ reslab: Figures; pytorch?: TorchRun }>>(models.map((m) => [m, []]));
  const common = [String(width), String(batch), String(steps), String(warmup)];
  for (let round = 1; round <= rounds; round++) {
    for (const model of models) {
      // Interleaved: reslab, then PyTorch, for each model in turn, so both see the same machine state.
      const reslab = runJson<Figures>(process.execPath, [
        __filename,
        '--single',
        model,
        '--width',
        common[0],
        '--batch',
        common[1],
        '--steps',
        common[2],
        '--warmup',
        common[3],
      ]);
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
    const reslab = {
      train: medianOf(all, (r) => r.reslab.trainImagesPerSecond),
      infer: medianOf(all, (r) => r.reslab.inferImagesPerSecond),
      maxRssBytes: medianOf(all, (r) => r.reslab.maxRssBytes),
    };
    if (!vsTorch) return { model, path: all[0]?.reslab.path, kernelsPerTrainStep: all[0]?.reslab.kernelsPerTrainStep, reslab, rounds: all };
    const torchRuns = all.map((r) => r.pytorch as TorchRun);
    // Against the fastest configuration of each round (per figure), then against every configuration.
    const pytorch = {
      torch: torchRuns[0]?.torch,
      bestTrain: {
        config: mostCommon(torchRuns.map((t) => fastest(t, trainOf).config)),
        value: median(torchRuns.map((t) => fastest(t, trainOf).value)),
      },
      bestInfer: {
        config: mostCommon(torchRuns.map((t) => fastest(t, inferOf).config)),
        value: median(torchRuns.map((t) => fastest(t, inferOf).value)),
      },
      maxRssBytes: median(torchRuns.map((t) => t.maxRssBytes)),
      configs: (torchRuns[0]?.configs ?? []).map((c) => {
        const per = (pick: (x: TorchConfig) => number | undefined) =>
          all
            .map((r) => ({ reslab: r.reslab, torch: (r.pytorch as TorchRun).configs.find((x) => x.config === c.config) }))
            .filter((x) => x.torch && pick(x.torch) !== undefined);
        const train = per(trainOf);
        const infer = per(inferOf);
        return {
          config: c.config,
          error: c.error,
          train: train.length ? median(train.map((x) => trainOf(x.torch as TorchConfig) as number)) : undefined,
          infer: infer.length ? median(infer.map((x) => inferOf(x.torch as TorchConfig) as number)) : undefined,
          trainRatio: train.length
            ? median(train.map((x) => x.reslab.trainImagesPerSecond / (trainOf(x.torch as TorchConfig) as number)))
            : undefined,
          inferRatio: infer.length
            ? median(infer.map((x) => x.reslab.inferImagesPerSecond / (inferOf(x.torch as TorchConfig) as number)))
            : undefined,
        };
      }),
    };
    const ratios = {
      train: medianOf(all, (r) => r.reslab.trainImagesPerSecond / fastest(r.pytorch as TorchRun, trainOf).value),
      infer: medianOf(all, (r) => r.reslab.inferImagesPerSecond / fastest(r.pytorch as TorchRun, inferOf).value),
      memory: medianOf(all, (r) => r.reslab.maxRssBytes / (r.pytorch as TorchRun).maxRssBytes),
    };
    return {
      model,
      path: all[0]?.reslab.path,
      kernelsPerTrainStep: all[0]?.reslab.kernelsPerTrainStep,
      reslab,
      pytorch,
      ratios,
      rounds: all,
    };
  });
  if (values.json) {
    console.log(JSON.stringify({ backend: info.kind, tfjs: tf.version.tfjs, batch, width, steps, warmup, rounds, results: rows }));
    return;
  }
  console.log(describeBackend(info));
  console.log(
    `batch ${batch}, width ${width}, median of ${steps} timed steps after ${warmup} warm-up steps, ${rounds} round(s)` +
      (vsTorch
        ? `, PyTorch ${rows[0] && 'pytorch' in rows[0] ? rows[0].pytorch?.torch : ''} with ${values.threads} threads; ratios are medians of per-round ratios against PyTorch's fastest configuration of that round`
        : ''),
  );
  const table = (header: string[], lines: string[][]) => {
    const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
    for (const line of [header, ...lines])
      console.log(line.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  '));
  };
  const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(0)} MiB`;
  const header = ['model', 'path', 'train img/s', 'infer img/s', 'peak RSS', 'kernels/step'];
  if (vsTorch) header.push('torch best train', 'torch best infer', 'torch RSS', 'train ratio', 'infer ratio', 'memory ratio');
  table(
    header,
    rows.map((row) => {
      const cells = [
        row.model,
        row.path === 'native' ? 'native' : 'autodiff',
        row.reslab.train.toFixed(1),
        row.reslab.infer.toFixed(1),
        mib(row.reslab.maxRssBytes),
        String(row.kernelsPerTrainStep ?? ''),
      ];
      if ('pytorch' in row && row.pytorch && row.ratios) {
        cells.push(
          `${row.pytorch.bestTrain.value.toFixed(1)} (${row.pytorch.bestTrain.config})`,
          `${row.pytorch.bestInfer.value.toFixed(1)} (${row.pytorch.bestInfer.config})`,
          mib(row.pytorch.maxRssBytes),
          row.ratios.train.toFixed(2),
          row.ratios.infer.toFixed(2),
          row.ratios.memory.toFixed(2),
        );
      }
      return cells;
    }),
  );
  if (vsTorch) {
    console.log('\nreslab against each PyTorch configuration (img/s; ratio = reslab / PyTorch):');
    const lines: string[][] = [];
    for (const row of rows) {
      if (!('pytorch' in row) || !row.pytorch) continue;
      for (const c of row.pytorch.configs) {
        const f = (v: number | undefined, digits: number) => (v === undefined ? '–' : v.toFixed(digits));
        lines.push([
          row.model,
          c.config,
          f(c.train, 1),
          f(c.infer, 1),
          f(c.trainRatio, 2),
          f(c.inferRatio, 2),
          c.error ? c.error.slice(0, 60) : '',
        ]);
      }
    }
    table(['model', 'torch config', 'train', 'infer', 'train ratio', 'infer ratio', 'error'], lines);
    if (rounds > 1) {
      for (const row of rows) {
        const spread = row.rounds
          .map((r) => (r.reslab.trainImagesPerSecond / fastest(r.pytorch as TorchRun, trainOf).value).toFixed(2))
          .join(', ');
        console.log(`${row.model}: training ratio against the fastest PyTorch configuration, per round: ${spread}`);
      }
    }
  }
  for (const row of rows) if (row.path && row.path !== 'native') console.log(`${row.model} ran on tfjs's autodiff path: ${row.path}`);
}

runScript(main);
