import { strict as assert } from 'assert';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { RUN_VIEW_MIME, RunViewPayload, validateRunViewPayload } from 'reslab-protocol';
import { precisionProblem } from '../src/native/precision';
import { executeNotebook, jupyterEnv, notebookDir, requireJupyter, ROOT, textOf, VENV_BIN, writeNotebook } from './helpers/jupyter';

const TINY = `{ modelOptions: { width: 0.25 }, iterations: 30, batchSize: 16, logEvery: 5, evalEvery: 10, checkpointEvery: 10,
  trainLimit: 256, testLimit: 64, trainEvalImages: 32, probeEvery: 10, probeImages: 16 }`;

describe('kernel-ext in a real tslab kernel', function () {
  this.timeout(600_000);
  before(requireJupyter);

  it('a notebook trains live: one display updated in place, holding the reslab MIME bundle and the static fallback', () => {
    const dir = notebookDir();
    const file = path.join(dir, 'live.ipynb');
    writeNotebook(file, [
      "import { degradation, LiveView } from 'reslab-kernel';",
      `const ends = await degradation({ depths: [8], preset: 'demo', out: 'runs', view: { minIntervalMs: 100 }, overrides: ${TINY} });\n` +
        "console.log(ends.map((e) => e.status).join(','));",
    ]);
    const cells = executeNotebook(file);
    const outputs = cells[1].outputs ?? [];
    const displays = outputs.filter((o) => o.output_type === 'display_data');
    assert.equal(displays.length, 1, 'updates replace the one display (display_id), they do not append');
    const data = displays[0].data as Record<string, unknown>;
    assert.deepEqual(Object.keys(data).sort(), [RUN_VIEW_MIME, 'text/html', 'text/plain'].sort());
    const payload = data[RUN_VIEW_MIME] as RunViewPayload;
    assert.equal(validateRunViewPayload(payload), undefined);
    assert.deepEqual(
      payload.runs.map((r) => [r.runId, r.status, r.iteration]),
      [
        ['plain8-w0.25-s0', 'completed', 30],
        ['resnet8-w0.25-s0', 'completed', 30],
      ],
    );
    for (const run of payload.runs) {
      assert.deepEqual(run.trainError.iteration, [5, 10, 15, 20, 25, 30]);
      assert.deepEqual(run.testError.iteration, [0, 10, 20, 30]);
      assert.equal(run.probes?.blocks.length, 3);
      assert.deepEqual(run.probes?.iteration, [0, 10, 20, 30]);
    }
    assert.match(payload.backend ?? '', /native TensorFlow on the CPU/);
    const html = textOf({ output_type: 'display_data', text: data['text/html'] as string | string[] });
    assert.match(html, /<svg[^>]*>.*<polyline/s, 'static SVG curves for viewers without the plugin');
    assert.ok(!/<script/i.test(html), 'no scripts: GitHub and nbconvert show it');
    assert.match(
      textOf({ output_type: 'display_data', text: data['text/plain'] as string | string[] }),
      /ResNet-8 \[completed\] iteration 30\/30/,
    );
    const stdout = outputs
      .filter((o) => o.output_type === 'stream')
      .map(textOf)
      .join('');
    assert.match(stdout, /completed,completed/);
  });

  it('a notebook run in bf16 mixed precision is its own run, labelled as such (or refused in one line where this CPU has no bf16)', () => {
    const dir = notebookDir();
    const file = path.join(dir, 'bf16.ipynb');
    writeNotebook(file, [
      "import { train } from 'reslab-kernel';",
      `const end = await train('resnet8', { preset: 'demo', out: 'runs', overrides: { ...${TINY}, precision: 'bfloat16' } });\n` +
        'console.log(end.status);',
    ]);
    if (precisionProblem('bfloat16')) {
      assert.throws(() => executeNotebook(file), /--precision bf16 cannot run here/);
      return;
    }
    const outputs = executeNotebook(file)[1].outputs ?? [];
    const display = outputs.find((o) => o.output_type === 'display_data');
    const payload = (display?.data as Record<string, unknown>)[RUN_VIEW_MIME] as RunViewPayload;
    assert.deepEqual(
      payload.runs.map((r) => [r.runId, r.status, r.iteration, r.run.precision]),
      [['resnet8-bf16-w0.25-s0', 'completed', 30, 'bf16']],
    );
    const text = textOf({ output_type: 'display_data', text: (display?.data as Record<string, string | string[]>)['text/plain'] });
    assert.match(text, /ResNet-8, bf16 mixed precision \[completed\] iteration 30\/30/);
  });

  it('the notebook interrupt button stops training at the next step, writes a checkpoint, and the next cell runs', () => {
    const dir = notebookDir();
    const result = spawnSync(
      path.join(VENV_BIN, 'python'),
      [path.join(ROOT, 'test', 'helpers', 'interrupt_kernel.py'), dir, path.join(dir, 'runs')],
      {
        env: jupyterEnv(),
        encoding: 'utf8',
        timeout: 300_000,
      },
    );
    assert.equal(result.status, 0, result.stderr.slice(-3000));
    const report = JSON.parse(result.stdout.trim().split('\n').pop() as string);
    assert.equal(report.cell1_status, 'error', 'the training cell ends interrupted');
    assert.ok(report.cell1_outputs.includes('display_data'), 'it showed a live view before');
    assert.equal(report.cell2_status, 'ok');
    assert.equal(report.kernel_alive, true);
    assert.equal(report.checkpoint, true);
    const seen = JSON.parse(report.cell2_stdout.trim());
    assert.equal(seen.end.status, 'stopped');
    assert.equal(seen.end.message, 'interrupted');
    assert.ok(seen.end.iteration > 0 && seen.end.iteration < 5000);
    const state = JSON.parse(fs.readFileSync(path.join(dir, 'runs', 'resnet8-w0.25-s0', 'checkpoint', 'state.json'), 'utf8'));
    assert.equal(state.iteration, seen.end.iteration, 'the checkpoint is at the step where training stopped');
  });

  it('outside tslab (plain node) the same call prints a compact text progress line instead', () => {
    const dir = notebookDir();
    const script =
      `require('reslab-kernel').train('resnet8', { preset: 'demo', out: ${JSON.stringify(path.join(dir, 'runs'))}, overrides: ${TINY} })` +
      '.then((end) => console.log("END " + end.status));';
    const result = spawnSync(process.execPath, ['-e', script], { cwd: dir, encoding: 'utf8', env: { ...jupyterEnv() } });
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stdout, /END completed/);
    assert.match(result.stderr, /ResNet-8 \[running\] iteration \d+\/30 train error/);
    assert.match(result.stderr, /ResNet-8 \[completed\] iteration 30\/30 train error [\d.]+% test error [\d.]+%/);
  });

  describe('iopub bursts (tslab sends without awaiting; zeromq 6 refuses a send while one is deferred)', () => {
    const burst = (setup: string, code: string, readerLagSeconds = 0) => {
      const helper = path.join(ROOT, 'test', 'helpers', 'iopub_burst.py');
      const result = spawnSync(path.join(VENV_BIN, 'python'), [helper, notebookDir(), setup, code, String(readerLagSeconds)], {
        env: jupyterEnv(),
        encoding: 'utf8',
        timeout: 300_000,
      });
      assert.equal(result.status, 0, result.stderr.slice(-3000));
      return JSON.parse(result.stdout.trim().split('\n').pop() as string) as {
        setup: { idle: boolean; stdout: string };
        burst: { types: Record<string, number>; idle: boolean; stdout: string };
      };
    };
    const outputs = (count: number) =>
      `import { display } from 'tslab';\nfor (let i = 0; i < ${count}; i++) display.text(\`output \${i}\`);\nconsole.log('burst done');`;
    const OUTPUTS = outputs(1500);

    it('without the guard, tslab loses outputs and the status idle of a 1,500-output cell (the cell would stay busy)', () => {
      const seen = burst('1 + 1', OUTPUTS);
      assert.equal(seen.setup.idle, true);
      assert.ok((seen.burst.types.display_data ?? 0) < 1500, JSON.stringify(seen.burst.types));
      assert.equal(seen.burst.idle, false, 'the mechanism this guard exists for');
    });

    it("with reslab-kernel loaded, every output, the live view's updates and the status idle arrive", () => {
      const setup = "import { guardTslabIopub, LiveView } from 'reslab-kernel';\nconsole.log(guardTslabIopub());";
      const view = [
        'const view = new LiveView({ minIntervalMs: 0 });',
        'const t = Date.now();',
        "view.push({ type: 'run_start', schema: 1, runId: 'burst', time: t, iteration: 0, backend: 'cpu', run: { model: 'resnet8', family: 'resnet', " +
          "depth: 8, width: 1, shortcut: 'A', seed: 0, iterations: 800, batchSize: 128, params: 78042, preset: 'demo' } });",
        "for (let i = 1; i <= 700; i++) view.push({ type: 'train', runId: 'burst', time: t, iteration: i, trainError: 0.5, loss: 1, lr: 0.1, window: 1, imagesPerSecond: 100 });",
        'view.close();',
      ].join('\n');
      const seen = burst(setup, `${OUTPUTS}\n${view}`);
      assert.match(seen.setup.stdout, /guarded/);
      assert.equal(seen.burst.types.display_data, 1501, JSON.stringify(seen.burst.types));
      assert.equal(seen.burst.types.update_display_data, 701, JSON.stringify(seen.burst.types));
      assert.match(seen.burst.stdout, /burst done/);
      assert.equal(seen.burst.idle, true);
    });

    it('with reslab-kernel loaded, a front end that starts reading 10 s late still gets all 20,000 outputs (zeromq would drop what exceeds its queue)', () => {
      // Without noDrop, the same kernel delivered 11,990 of 30,000 outputs to a reader 15 s late, and no idle.
      const seen = burst("import 'reslab-kernel';", outputs(20_000), 10);
      assert.equal(seen.burst.types.display_data, 20_000, JSON.stringify(seen.burst.types));
      assert.match(seen.burst.stdout, /burst done/);
      assert.equal(seen.burst.idle, true);
    });
  });
});
