import { strict as assert } from 'assert';
import { precisionProblem } from '../src/native/precision';
import { spawnSync } from 'child_process';
import * as path from 'path';
import { STEP_TOLERANCE } from '../src/commands/doctor';
import { Finding } from '../src/doctor/checks';
import { compareStepChecks, StepCheckResult } from '../src/doctor/step-check';
import { KernelCheckReport } from '../src/kernels';
import { cpuInfo } from '../src/kernels/cpu';
import { nativeOps } from '../src/native/ops';

const ROOT = path.resolve(__dirname, '..', '..');

function reslab(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [path.join(ROOT, 'bin', 'reslab.js'), 'doctor', ...args], {
    encoding: 'utf8',
    timeout: 300_000,
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('reslab doctor', function () {
  this.timeout(300_000);

  it('--json reports the runtime, the backend and why, libtensorflow, the step engine, no GPU here, the Jupyter side and the data', () => {
    const { status, stdout, stderr } = reslab('--json');
    assert.equal(status, 0, stderr);
    const { findings, kernelCheck } = JSON.parse(stdout) as { findings: Finding[]; kernelCheck: KernelCheckReport };
    const find = (check: string) => findings.filter((f) => f.check === check);
    assert.equal(find('node')[0].status, 'ok');
    // The CPU as /proc/cpuinfo has it, oneDNN's code path and the kernel self-check's verdict.
    const cpu = cpuInfo();
    assert.ok(find('cpu')[0].detail.startsWith(cpu.model), find('cpu')[0].detail);
    for (const flag of cpu.isaFlags) assert.ok(find('cpu')[0].detail.includes(flag), `${flag} in ${find('cpu')[0].detail}`);
    if (nativeOps()?.oneDnn) assert.match(find('oneDNN')[0].detail, /^on .*code path: Intel (AVX|SSE)/);
    assert.equal(find('kernel self-check')[0].status, 'ok', find('kernel self-check')[0].detail);
    assert.match(find('kernel self-check')[0].detail, /^(\d+) of \1 kernels reslab uses are right \(oneDNN /);
    assert.equal(kernelCheck.route.kind, 'as is');
    assert.ok(kernelCheck.results.filter((r) => !r.routedAround).every((r) => r.status === 'ok'));
    assert.deepEqual(kernelCheck.identity.cpu.isaFlags, cpu.isaFlags);
    assert.match(find('backend')[0].detail, /native TensorFlow on the CPU via @tensorflow\/tfjs-node/);
    assert.ok(
      find('backend').some((f) => /not used: gpu: no NVIDIA GPU visible/.test(f.detail)),
      'why the GPU backend was not chosen',
    );
    assert.match(find('tfjs')[0].detail, /@tensorflow\/tfjs 4\.22\.0; @tensorflow\/tfjs-node 4\.22\.0; libtensorflow \d+\.\d+\.\d+/);
    assert.match(find('training step')[0].detail, /ResNet-20: native step/);
    // The same machine and setting as the doctor's process: it fuses where this one does.
    if (nativeOps()?.fusedConv)
      assert.match(
        find('inference')[0].detail,
        /ResNet-20: native \(each conv with its batch norm, residual add and ReLU in one oneDNN kernel\)/,
      );
    // bf16 mixed precision: runs here, naming the CPU's bf16 flags, or refused with this process's reason.
    const bf16Refused = precisionProblem('bfloat16');
    assert.equal(
      find('bf16')[0].detail,
      bf16Refused
        ? `--precision bf16 is refused here: ${bf16Refused}`
        : `--precision bf16 runs here (mixed precision on oneDNN's bfloat16 kernels; ${cpu.isaFlags.filter((f) => f.includes('bf16')).join(', ')})`,
    );
    assert.match(find('gpu')[0].detail, /no NVIDIA GPU/);
    assert.equal(find('jupyterlab extension')[0].status, 'ok', find('jupyterlab extension')[0].detail);
    assert.match(find('jupyterlab extension')[0].detail, /reslab-jupyterlab .* enabled OK/);
    assert.equal(find('tslab kernel')[0].status, 'ok');
    assert.match(find('tensorboard')[0].detail, /^\d+\.\d+/);
    assert.equal(find('bundled data')[0].status, 'ok');
    assert.ok(!findings.some((f) => f.status === 'fail'), JSON.stringify(findings.filter((f) => f.status === 'fail')));
  });

  it('--gpu-check on a machine without a GPU says so in one line and exits 1', () => {
    const { status, stderr } = reslab('--gpu-check');
    assert.equal(status, 1);
    assert.match(
      stderr,
      /error: no GPU: nvidia-smi is not installed and \/proc\/driver\/nvidia\/gpus is missing.*reslab doctor --gpu-check/,
    );
    assert.doesNotMatch(stderr, /\n\s+at /, 'no stack trace');
  });

  it('the same comparison between two backends that exist here (native CPU step vs pure-JS autodiff) agrees within float32 noise', () => {
    const { status, stdout, stderr } = reslab(
      '--json',
      '--compare-backends',
      'cpu,js',
      '--width',
      '0.25',
      '--batch-size',
      '8',
      '--steps',
      '3',
    );
    assert.equal(status, 0, stderr);
    const { comparison } = JSON.parse(stdout) as {
      comparison: { agree: boolean; lossRelative: number; updateRelative: number; results: StepCheckResult[] };
    };
    assert.equal(comparison.agree, true);
    assert.ok(comparison.lossRelative < STEP_TOLERANCE.loss && comparison.updateRelative < STEP_TOLERANCE.update);
    assert.deepEqual(
      comparison.results.map((r) => r.losses.length),
      [3, 3],
    );
    assert.match(comparison.results[0].backend, /native TensorFlow on the CPU/);
    assert.match(comparison.results[1].backend, /pure-JavaScript/);
    assert.ok(comparison.results.every((r) => r.imagesPerSecond > 0 && r.firstUpdateNorm > 0));
  });

  it('a real difference is caught: a changed update or loss is far outside the tolerance', () => {
    const base: StepCheckResult = {
      backend: 'a',
      losses: [2.3, 2.1],
      firstUpdateNorm: 1,
      firstUpdateSample: [0.1, -0.2, 0.3],
      imagesPerSecond: 1,
    };
    assert.deepEqual(compareStepChecks(base, base), { lossRelative: 0, updateRelative: 0 });
    const wrongSign = { ...base, firstUpdateSample: [0.1, 0.2, 0.3] };
    assert.ok(compareStepChecks(wrongSign, base).updateRelative > STEP_TOLERANCE.update);
    const otherLoss = { ...base, losses: [2.3, 2.2] };
    assert.ok(compareStepChecks(otherLoss, base).lossRelative > STEP_TOLERANCE.loss);
  });

  it('bad flags are one line and exit 2', () => {
    const same = reslab('--compare-backends', 'cpu,cpu');
    assert.equal(same.status, 2);
    assert.match(same.stderr, /--compare-backends expects two different backends of gpu, cpu, js/);
  });
});
