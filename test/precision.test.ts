import { strict as assert } from 'assert';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { parseMetricsJsonl, runDescriptorProblem, RunStartEvent, TrainEvent } from 'reslab-protocol';
import { bundledDataDir, loadCifar10 } from '../src/data/cifar';
import { parseCpuinfo } from '../src/kernels/cpu';
import { bfloat16CpuProblem, precisionProblem } from '../src/native/precision';
import { RunDirectory } from '../src/runs';
import { InvalidCheckpointError } from '../src/train/checkpoint';
import { configFromPreset } from '../src/train/config';
import { TrainingSession } from '../src/train/session';

/**
 * `--precision bf16` as a user meets it: a run that records its precision everywhere (run id,
 * config, run_start, descriptor, checkpoint), a resume in another precision refused, and a clear
 * one-line refusal wherever bf16 cannot run. The numbers of a bf16 step against fp32 are checked
 * in the CPU matrix (test/matrix/bfloat16.ts), under every oneDNN setting in child processes.
 */

const CLI = path.resolve(__dirname, '..', '..', 'bin', 'reslab.js');
const TINY = ['--preset', 'smoke', '--iterations', '20', '--log-every', '5', '--eval-every', '10', '--checkpoint-every', '10', '--quiet'];
const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'reslab-precision-'));

function train(out: string, env: Record<string, string> = {}, ...flags: string[]) {
  const result = spawnSync(process.execPath, [CLI, 'train', 'resnet8', ...TINY, '--out', out, ...flags], {
    encoding: 'utf8',
    env: { ...process.env, TF_CPP_MIN_LOG_LEVEL: '2', ...env },
  });
  return { status: result.status, stderr: result.stderr, last: result.stderr.trim().split('\n').pop() ?? '' };
}

describe('bf16 mixed precision (--precision bf16)', function () {
  this.timeout(300_000);
  const refusedHere = precisionProblem('bfloat16');

  it('trains, and records the precision in the run id, config, run_start, descriptor and checkpoint (or is refused in one line on this CPU)', () => {
    const out = tmp();
    const run = train(out, {}, '--precision', 'bf16');
    if (refusedHere) {
      assert.equal(run.status, 2, run.stderr);
      assert.match(run.last, /--precision bf16 cannot run here: /);
      assert.deepEqual(fs.readdirSync(out), [], 'nothing written');
      return;
    }
    assert.equal(run.status, 0, run.stderr);
    const dir = path.join(out, 'resnet8-bf16-w0.25-s0');
    assert.equal(JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8')).precision, 'bfloat16');
    const events = parseMetricsJsonl(fs.readFileSync(path.join(dir, 'metrics.jsonl'), 'utf8'));
    const start = events.find((e): e is RunStartEvent => e.type === 'run_start');
    assert.ok(start);
    assert.equal(start.engine, 'native step (oneDNN kernels, bf16 mixed precision)');
    assert.equal(start.run.variant, 'bf16 mixed precision');
    assert.equal(start.run.precision, 'bf16');
    assert.equal(runDescriptorProblem(start.run), undefined);
    assert.match(runDescriptorProblem({ ...start.run, precision: '<b>fp16</b>' }) ?? '', /precision is not one of fp32, bf16/);
    const losses = events.filter((e): e is TrainEvent => e.type === 'train').map((e) => e.loss);
    assert.equal(losses.length, 4);
    assert.ok(losses.every(Number.isFinite) && losses[3] < losses[0], `losses ${losses.join(', ')}`);
    const state = JSON.parse(fs.readFileSync(path.join(dir, 'checkpoint', 'state.json'), 'utf8'));
    assert.equal(state.precision, 'bfloat16');
    assert.equal(state.iteration, 20);
    // fp32 beside it is another run (another id), untouched by the bf16 one.
    assert.equal(train(out).status, 0);
    assert.deepEqual(fs.readdirSync(out).sort(), ['resnet8-bf16-w0.25-s0', 'resnet8-w0.25-s0']);
    // The report names the precision of its runs and tells the two nets apart.
    const report = spawnSync(process.execPath, [CLI, 'report', out, '--out', path.join(out, 'report')], { encoding: 'utf8' });
    assert.equal(report.status, 0, report.stderr);
    const html = fs.readFileSync(path.join(out, 'report', 'index.html'), 'utf8');
    assert.match(html, /training images, fp32 and bf16 mixed precision \(1 of 2 runs\)\./);
    const table = fs.readFileSync(path.join(out, 'report', 'table6.csv'), 'utf8');
    assert.match(table, /^"ResNet-8, bf16 mixed precision",8,\d+,1,20,/m);
    assert.match(table, /^ResNet-8,8,\d+,1,20,/m);
  });

  it('a checkpoint trained in one precision is not resumed in the other', function () {
    if (refusedHere) this.skip();
    const out = tmp();
    assert.equal(train(out, {}, '--precision', 'bf16').status, 0);
    const data = loadCifar10(bundledDataDir());
    const run = new RunDirectory(path.join(out, 'resnet8-bf16-w0.25-s0'));
    const config = configFromPreset('resnet8', 'smoke', { iterations: 20, logEvery: 5, evalEvery: 10, checkpointEvery: 10 });
    for (const precision of [undefined, 'float32'] as const) {
      const session = new TrainingSession({ ...config, precision }, data);
      try {
        assert.throws(
          () => session.restore(run),
          (error: Error) =>
            error instanceof InvalidCheckpointError &&
            /was trained in bf16, this run asks for fp32\. Nothing was changed; resume with --precision bf16/.test(error.message),
        );
      } finally {
        session.dispose();
      }
    }
    const same = new TrainingSession({ ...config, precision: 'bfloat16' }, data);
    try {
      assert.equal(same.restore(run)?.metricsBytes !== undefined, true);
      assert.equal(same.iteration, 20);
    } finally {
      same.dispose();
    }
  });

  it('is refused in one line, writing nothing, where oneDNN has no bf16 path; a bad value is a usage error', () => {
    const cases: Array<[Record<string, string>, RegExp]> = [
      [{ RESLAB_NATIVE: '0' }, /runs on the native step, which RESLAB_NATIVE=0 turns off/],
      [{ RESLAB_NATIVE: 'portable' }, /oneDNN's kernels, which RESLAB_NATIVE=portable \(standard kernels only\) leaves out/],
      [{ TF_ENABLE_ONEDNN_OPTS: '0' }, /oneDNN's kernels, which TF_ENABLE_ONEDNN_OPTS=0 turns off/],
      [{ ONEDNN_MAX_CPU_ISA: 'AVX2' }, /ONEDNN_MAX_CPU_ISA=AVX2 keeps oneDNN below its bfloat16 code path|has no bfloat16 instructions/],
    ];
    for (const [env, message] of cases) {
      const out = tmp();
      const run = train(out, env, '--precision', 'bf16');
      assert.equal(run.status, 2, `${JSON.stringify(env)}: ${run.stderr}`);
      assert.match(run.last, /^reslab train: --precision bf16 cannot run here: /);
      assert.match(run.last, message);
      assert.doesNotMatch(run.stderr, /\n\s+at /, 'no stack trace');
      assert.deepEqual(fs.readdirSync(out), [], 'nothing written');
    }
    const bad = train(tmp(), {}, '--precision', 'fp16');
    assert.equal(bad.status, 2);
    assert.match(bad.last, /--precision expects fp32 or bf16 \(mixed precision on CPUs with bfloat16 instructions\), got 'fp16'/);
  });

  it('knows which CPUs and oneDNN caps have bf16: AVX-512 BF16 or AMX on x86 (from AVX512_CORE_BF16 up), BF16 on ARM', () => {
    const x86 = (flags: string) => parseCpuinfo(`vendor_id : AuthenticAMD\nmodel name : Test CPU\nflags : ${flags}\n`, 'x64', 2);
    assert.match(bfloat16CpuProblem(x86('avx2 avx512f'), {}) ?? '', /this CPU \(Test CPU\) has no bfloat16 instructions/);
    assert.equal(bfloat16CpuProblem(x86('avx2 avx512f avx512_bf16'), {}), undefined);
    assert.equal(bfloat16CpuProblem(x86('avx512f amx_tile amx_bf16'), {}), undefined);
    assert.equal(bfloat16CpuProblem(x86('avx512f avx512_bf16'), { ONEDNN_MAX_CPU_ISA: 'avx512_core_bf16' }), undefined);
    assert.equal(bfloat16CpuProblem(x86('avx512f avx512_bf16'), { ONEDNN_MAX_CPU_ISA: 'AVX512_CORE_AMX' }), undefined);
    assert.match(
      bfloat16CpuProblem(x86('avx512f avx512_bf16'), { ONEDNN_MAX_CPU_ISA: 'AVX512_CORE_VNNI' }) ?? '',
      /ONEDNN_MAX_CPU_ISA=AVX512_CORE_VNNI keeps/,
    );
    const arm = parseCpuinfo('CPU implementer : 0x41\nFeatures : fp asimd sve bf16\n', 'arm64', 4);
    assert.equal(bfloat16CpuProblem(arm, {}), undefined);
  });
});
