import { spawnSync } from 'child_process';
import * as path from 'path';
import { BackendKind } from '../backend';
import { diagnose, Finding, gpuDevices } from '../doctor/checks';
import { currentKernelCheck, ensureKernelCheck } from '../kernels';
import { compareStepChecks, StepCheckResult, StepCheckSettings } from '../doctor/step-check';
import { Command, numberFlag, UsageError } from './command';

/** Float32 noise allowed between two backends after a few steps (different kernels, same maths). */
export const STEP_TOLERANCE = { loss: 1e-3, update: 1e-2 };

const MARK: Record<Finding['status'], string> = { ok: 'ok  ', warn: 'WARN', fail: 'FAIL', info: '    ' };

function backendsFlag(raw: unknown): [BackendKind, BackendKind] {
  const kinds = String(raw)
    .split(',')
    .map((s) => s.trim());
  if (kinds.length !== 2 || kinds.some((k) => k !== 'gpu' && k !== 'cpu' && k !== 'js') || kinds[0] === kinds[1]) {
    throw new UsageError(`--compare-backends expects two different backends of gpu, cpu, js, e.g. gpu,cpu; got '${String(raw)}'`);
  }
  return kinds as [BackendKind, BackendKind];
}

/** Runs the step check on one backend in a fresh process (a process picks its backend once). */
function stepCheck(kind: BackendKind, settings: StepCheckSettings): StepCheckResult {
  const script = path.join(__dirname, '..', 'doctor', 'step-check.js');
  const result = spawnSync(process.execPath, [script, JSON.stringify(settings)], {
    encoding: 'utf8',
    env: { ...process.env, RESLAB_BACKEND: kind },
    maxBuffer: 64 * 1024 * 1024,
  });
  if (result.status !== 0) {
    const last = (result.stderr ?? '')
      .trim()
      .split('\n')
      .filter((l) => !/^\s+at /.test(l))
      .pop();
    throw new Error(`the ${kind} backend could not run ${settings.model} training steps: ${last ?? `exit ${result.status}`}`);
  }
  return JSON.parse(result.stdout.trim().split('\n').pop() as string) as StepCheckResult;
}

export const doctorCommand: Command = {
  usage:
    'reslab doctor [--json] [--kernel-check] [--gpu-check | --compare-backends A,B] [--model resnet20] [--batch-size 128] [--steps 5] [--width 1]',
  summary:
    'what reslab runs on (Node, CPU, tfjs, libtensorflow, backend and why, the kernel self-check, GPUs, CUDA, Jupyter, data); --gpu-check proves the GPU path',
  options: {
    json: { type: 'boolean' },
    'kernel-check': { type: 'boolean' },
    'gpu-check': { type: 'boolean' },
    'compare-backends': { type: 'string' },
    model: { type: 'string' },
    'batch-size': { type: 'string' },
    steps: { type: 'string' },
    width: { type: 'string' },
  },
  details: () =>
    '--kernel-check runs the kernel self-check again now (it runs by itself once per CPU, library version and oneDNN\n' +
    'setting): every convolution kind reslab uses, forward and both gradients, and its fused kernels, against a float64\n' +
    'reference, in child processes; a kernel that crashes or computes wrong numbers switches reslab to a setting\n' +
    'under which all are right. Exit 1 when none is.\n' +
    '--gpu-check trains a few ResNet-20 steps on the GPU and on the CPU from the same weights and data, in fresh\n' +
    `processes, and compares the losses (relative ${STEP_TOLERANCE.loss}) and the first weight update (relative L2 ${STEP_TOLERANCE.update});\n` +
    'it reports images/s of both. Exit 0 when they agree, 1 when they do not or when there is no GPU.\n' +
    '--compare-backends cpu,js runs the same comparison between any two backends.',
  run(positionals, values) {
    if (positionals.length) throw new UsageError(`doctor takes no arguments\nusage: ${doctorCommand.usage}`);
    const compare =
      values['compare-backends'] !== undefined
        ? backendsFlag(values['compare-backends'])
        : values['gpu-check']
          ? (['gpu', 'cpu'] as const)
          : undefined;
    if (values['kernel-check']) ensureKernelCheck({ fresh: true });
    const findings = diagnose();
    let comparison: Record<string, unknown> | undefined;
    let agree = true;
    if (compare) {
      if (compare.includes('gpu') && gpuDevices().length === 0) {
        throw new Error(
          'no GPU: nvidia-smi is not installed and /proc/driver/nvidia/gpus is missing, so there is nothing to check; ' +
            'on a GPU machine run `npm run setup -- --gpu`, then `reslab doctor --gpu-check`',
        );
      }
      const settings: StepCheckSettings = {
        model: (values.model as string | undefined) ?? 'resnet20',
        batchSize: numberFlag(values, 'batch-size') ?? 128,
        steps: numberFlag(values, 'steps') ?? 5,
        width: numberFlag(values, 'width') ?? 1,
      };
      if (!Number.isInteger(settings.steps) || settings.steps < 2)
        throw new UsageError(`--steps expects an integer of at least 2, got ${settings.steps}`);
      const [a, b] = compare.map((kind) => stepCheck(kind, settings));
      const { lossRelative, updateRelative } = compareStepChecks(a, b);
      agree = lossRelative <= STEP_TOLERANCE.loss && updateRelative <= STEP_TOLERANCE.update;
      comparison = {
        settings,
        backends: compare,
        results: [a, b],
        lossRelative,
        updateRelative,
        agree,
        speedup: a.imagesPerSecond / b.imagesPerSecond,
      };
      const line = (kind: string, r: StepCheckResult) =>
        `  ${kind.padEnd(4)} ${r.backend}: losses ${r.losses.map((l) => l.toFixed(4)).join(' ')}, ${r.imagesPerSecond.toFixed(0)} images/s`;
      findings.push({
        check: `${compare[0]} vs ${compare[1]}`,
        status: agree ? 'ok' : 'fail',
        detail:
          `${settings.model} x${settings.width}, batch ${settings.batchSize}, ${settings.steps} steps: losses agree to ${lossRelative.toExponential(1)}, ` +
          `first update to ${updateRelative.toExponential(1)} (${agree ? 'within' : 'OUTSIDE'} float32 noise); ${compare[0]} ${(a.imagesPerSecond / b.imagesPerSecond).toFixed(2)}x ${compare[1]}\n` +
          `${line(compare[0], a)}\n${line(compare[1], b)}`,
      });
    }
    if (values.json) {
      const kernelCheck = currentKernelCheck();
      process.stdout.write(
        `${JSON.stringify({ findings, ...(kernelCheck ? { kernelCheck } : {}), ...(comparison ? { comparison } : {}) })}\n`,
      );
    } else {
      for (const f of findings) console.log(`${MARK[f.status]} ${f.check.padEnd(22)} ${f.detail}`);
    }
    return agree && !findings.some((f) => f.status === 'fail') ? 0 : 1;
  },
};
