import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { bundledDataDir, loadCifar10 } from '../src/data/cifar';
import { figure1, figure6, table6 } from '../src/experiments/figures';
import * as tf from '@tensorflow/tfjs';
import { exampleTensors } from '../src/data/tensors';
import { loadRuns, readRunEvents, runSplit } from '../src/runs';
import { gridConfigs, GridSpec, parseShard, runSweep, shardOf } from '../src/experiments/grid';
import { RunsRoot } from '../src/runs';
import { writeReport } from '../src/experiments/report';
import { figure7, responseCurves } from '../src/experiments/figure7';
import { EvalEvent } from 'reslab-protocol';
import { runIdOf } from '../src/train/config';

const data = loadCifar10(bundledDataDir());

const TINY: GridSpec['overrides'] = {
  modelOptions: { width: 0.25 },
  iterations: 10,
  batchSize: 16,
  logEvery: 5,
  evalEvery: 5,
  checkpointEvery: 10,
  probeEvery: 0,
  trainLimit: 256,
  testLimit: 64,
  trainEvalImages: 32,
};

describe('degradation grid', function () {
  this.timeout(300_000);
  const spec: GridSpec = { nets: ['plain', 'resnet'], depths: [8, 14], seeds: [0, 1], preset: 'demo', overrides: TINY };
  let runsDir: string;

  before(async () => {
    runsDir = fs.mkdtempSync(path.join(os.tmpdir(), 'reslab-grid-'));
    await runSweep(gridConfigs({ ...spec, depths: [8] }), data, new RunsRoot(runsDir));
  });

  it('enumerates {plain, resnet} x depths x seeds in a stable order with stable ids', () => {
    const ids = gridConfigs(spec).map(runIdOf);
    assert.deepEqual(ids, [
      'plain8-w0.25-s0',
      'plain8-w0.25-s1',
      'plain14-w0.25-s0',
      'plain14-w0.25-s1',
      'resnet8-w0.25-s0',
      'resnet8-w0.25-s1',
      'resnet14-w0.25-s0',
      'resnet14-w0.25-s1',
    ]);
  });

  it('--shard i/N splits the sweep into disjoint parts that cover it', () => {
    const all = gridConfigs(spec).map(runIdOf);
    const parts = [0, 1, 2].map((index) => shardOf(all, { index, count: 3 }));
    assert.deepEqual(parts.flat().sort(), [...all].sort());
    assert.equal(new Set(parts.flat()).size, all.length);
    assert.deepEqual(parseShard('2/3'), { index: 2, count: 3 });
    assert.throws(() => parseShard('3/3'), /--shard expects i\/N with 0 <= i < N/);
    assert.throws(() => parseShard('a'), /--shard expects/);
  });

  it('finished runs are skipped when the sweep runs again', async () => {
    const sizes = () => fs.readdirSync(runsDir).map((id) => fs.statSync(path.join(runsDir, id, 'metrics.jsonl')).size);
    const before = sizes();
    const skipped: string[] = [];
    await runSweep(gridConfigs({ ...spec, depths: [8] }), data, new RunsRoot(runsDir), {
      onRunEnd: ({ run, alreadyFinished }) => alreadyFinished && skipped.push(run.runId),
    });
    assert.deepEqual(skipped.sort(), ['plain8-w0.25-s0', 'plain8-w0.25-s1', 'resnet8-w0.25-s0', 'resnet8-w0.25-s1']);
    assert.deepEqual(sizes(), before);
  });

  it('a shard runs only its own runs into the shared directory', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'reslab-shard-'));
    await runSweep(shardOf(gridConfigs({ ...spec, depths: [8], seeds: [0] }), { index: 1, count: 2 }), data, new RunsRoot(dir));
    assert.deepEqual(fs.readdirSync(dir), ['resnet8-w0.25-s0']);
  });

  it('Table 6 aggregates seeds: mean and sample std of the final test errors', () => {
    const rows = table6(loadRuns(runsDir));
    assert.deepEqual(
      rows.map((r) => r.net),
      ['plain-8', 'ResNet-8'],
    );
    for (const row of rows) {
      const finals = [0, 1].map((seed) => {
        const events = readRunEvents(path.join(runsDir, `${row.family}8-w0.25-s${seed}`));
        const evals = events.filter((e): e is EvalEvent => e.type === 'eval');
        return evals[evals.length - 1].testError * 100;
      });
      const mean = (finals[0] + finals[1]) / 2;
      assert.ok(Math.abs(row.testError.mean - mean) < 1e-9);
      assert.ok(Math.abs(row.testError.std - Math.abs(finals[0] - finals[1]) / Math.SQRT2) < 1e-9);
      assert.equal(row.seeds, 2);
      assert.equal(row.iterations, 10);
    }
    assert.equal(rows[1].paper, undefined, 'the paper has no ResNet-8');
  });

  it('figures: Fig. 1 needs plain nets of two depths; Fig. 6 puts plain left and ResNet right, seeds as a mean with a min–max band', () => {
    const records = loadRuns(runsDir);
    assert.equal(figure1(records).data.length, 0, 'one plain depth only');
    const fig6 = figure6(records);
    type Trace = {
      name: string;
      xaxis: string;
      line: { dash?: string; width: number };
      x: number[];
      y: number[];
      showlegend?: boolean;
      fill?: string;
    };
    const traces = fig6.data as Trace[];
    const lines = traces.filter((t) => t.showlegend !== false);
    assert.deepEqual(
      lines.map((t) => t.name),
      [
        'plain-8 (mean of 2 seeds) train',
        'plain-8 (mean of 2 seeds) test',
        'ResNet-8 (mean of 2 seeds) train',
        'ResNet-8 (mean of 2 seeds) test',
      ],
    );
    assert.equal(traces.length, 3 * lines.length, 'each line has its band: upper edge, lower edge filled to it');
    // The values are the runs' own, in percent: the mean and the extremes of the two seeds at each logged window.
    const trainOf = (seed: number) =>
      new Map(
        readRunEvents(path.join(runsDir, `resnet8-w0.25-s${seed}`)).flatMap((e) =>
          e.type === 'train' ? [[e.iteration, e.trainError * 100] as const] : [],
        ),
      );
    const [s0, s1] = [trainOf(0), trainOf(1)];
    const resnetTrain = traces.findIndex((t) => t.name === 'ResNet-8 (mean of 2 seeds) train');
    const [upper, lower, mean] = traces.slice(resnetTrain - 2, resnetTrain + 1);
    assert.ok(mean.x.length > 0);
    mean.x.forEach((it, k) => {
      const [a, b] = [s0.get(it), s1.get(it)];
      assert.ok(a !== undefined && b !== undefined, `iteration ${it} logged by both seeds`);
      assert.ok(Math.abs(mean.y[k] - (a + b) / 2) < 0.006, `mean at ${it}`);
      assert.ok(Math.abs(upper.y[k] - Math.max(a, b)) < 0.006 && Math.abs(lower.y[k] - Math.min(a, b)) < 0.006, `band at ${it}`);
    });
    assert.equal(lower.fill, 'tonexty');
    assert.ok(lines.filter((t) => t.name.startsWith('plain')).every((t) => t.xaxis === 'x'));
    assert.ok(lines.filter((t) => t.name.startsWith('ResNet')).every((t) => t.xaxis === 'x2'));
    assert.ok(lines.filter((t) => t.name.endsWith('train')).every((t) => t.line.dash === 'dash'));
    assert.ok(lines.filter((t) => t.name.endsWith('test')).every((t) => t.line.dash === 'solid'));
  });

  it('writes a self-contained HTML report with plotly.js inlined, CSV and JSON', () => {
    const out = fs.mkdtempSync(path.join(os.tmpdir(), 'reslab-report-'));
    writeReport(runsDir, out);
    const html = fs.readFileSync(path.join(out, 'index.html'), 'utf8');
    assert.ok(html.includes(fs.readFileSync(require.resolve('plotly.js-dist-min'), 'utf8')), 'plotly.js is inlined, whole');
    assert.ok(!/<script[^>]+src=/.test(html), 'no external scripts: opens offline');
    assert.match(html, /Plotly\.newPlot/);
    assert.match(html, /<td>ResNet-8<\/td>/);
    assert.match(html, /256 training images, fp32\. Dashed/);
    const csv = fs.readFileSync(path.join(out, 'table6.csv'), 'utf8').trim().split('\n');
    assert.equal(csv.length, 3);
    assert.match(csv[0], /^net,depth,params,seeds,iterations,test_error_mean/);
    const json = JSON.parse(fs.readFileSync(path.join(out, 'table6.json'), 'utf8'));
    assert.equal(json.length, 2);
    // summary.json: the scale, a verdict per claim and the per-net figures behind them.
    const summary = JSON.parse(fs.readFileSync(path.join(out, 'summary.json'), 'utf8'));
    assert.deepEqual(summary.scale, { iterations: 10, width: 0.25, trainImages: 256, batchSize: 16 });
    assert.deepEqual(
      summary.nets.map((n: { family: string; depth: number }) => `${n.family}${n.depth}`),
      ['plain8', 'resnet8'],
    );
    for (const net of summary.nets) {
      assert.equal(net.trainError, json.find((r: { net: string }) => r.net === net.net).trainError);
      assert.ok(Number.isFinite(net.trainEvalError) && Number.isFinite(net.testError));
    }
    assert.deepEqual(
      summary.claims.map((c: { id: string }) => c.id),
      ['degradation', 'residual-fixes-degradation', 'residual-gains-from-depth', 'smaller-responses'],
    );
    // One depth only: degradation and depth gains cannot be judged; the plain-8 vs ResNet-8 comparison can.
    assert.equal(summary.claims[0].verdict, 'not tested');
    assert.equal(summary.claims[2].verdict, 'not tested');
    assert.ok(['reproduced', 'not at this scale'].includes(summary.claims[1].verdict));
    assert.match(summary.claims[1].evidence, /ResNet-8 \d+\.\d% vs plain-8 \d+\.\d% running training error \(mean over seeds\)/);
    // The report opens with the same verdicts and numbers.
    const claims = html.slice(html.indexOf("The paper's claims"), html.indexOf('Figure 6'));
    for (const claim of summary.claims) {
      assert.ok(claims.includes(`<td class="verdict">${claim.verdict}</td>`), claim.verdict);
      assert.ok(claims.includes(claim.evidence.replace(/'/g, '&#39;')), claim.evidence);
    }
    assert.match(
      claims,
      /10 of the paper&#39;s 64,000 iterations, width 0\.25 \(4\/8\/16 filters instead of 16\/32\/64\), 256 of 50,000 training images/,
    );
  });

  it('Figure 7 from the trained models: one std per 3x3 layer, layer order and sorted', async () => {
    const records = loadRuns(runsDir);
    const curves = await responseCurves(records, runsDir, data, 100);
    assert.equal(curves.length, 4);
    for (const c of curves) {
      assert.equal(c.source, 'model');
      assert.equal(c.stds.length, 6, 'ResNet-8: 3 blocks x 2 convs');
    }
    // Independently: the trained ResNet-8 (seed 0) cut at its first 3x3 layer's batch norm, on the
    // same 100 test images minus the run's training mean, and the population std of all its values in float64.
    const runDir = path.join(runsDir, 'resnet8-w0.25-s0');
    const model = await tf.loadLayersModel(`file://${path.join(runDir, 'model', 'model.json')}`);
    const cut = tf.model({ inputs: model.inputs, outputs: model.getLayer('stage1_block1_bn1').output as tf.SymbolicTensor });
    const { mean } = runSplit(data, JSON.parse(fs.readFileSync(path.join(runDir, 'config.json'), 'utf8')));
    const { images, labels } = exampleTensors(data.test, mean, 100);
    const values = Array.from((cut.predict(images) as tf.Tensor).dataSync());
    const average = values.reduce((a, v) => a + v, 0) / values.length;
    const expected = Math.sqrt(values.reduce((a, v) => a + (v - average) ** 2, 0) / values.length);
    const resnet8 = curves.find((c) => c.runId === 'resnet8-w0.25-s0');
    assert.ok(resnet8 && Math.abs(resnet8.stds[0] - expected) < 1e-4 * expected, `${resnet8?.stds[0]} vs ${expected}`);
    tf.dispose([images, labels]);
    model.dispose();
    const figure = figure7(curves);
    // Per run: its stds in layer order (left) and sorted by magnitude (right).
    curves.forEach((c, k) => {
      const [ordered, sorted] = figure.data.slice(2 * k, 2 * k + 2) as Array<{ name: string; y: number[]; xaxis: string }>;
      // Seeds 0 and 1 of each net: the legend tells them apart.
      const label = `${c.family === 'plain' ? 'plain' : 'ResNet'}-${c.depth} (seed ${c.runId.slice(-1)})`;
      assert.deepEqual([ordered.name, ordered.xaxis, sorted.xaxis], [label, 'x', 'x2']);
      assert.deepEqual(ordered.y, c.stds);
      assert.deepEqual(
        sorted.y,
        [...c.stds].sort((a, b) => b - a),
      );
    });
    const out = fs.mkdtempSync(path.join(os.tmpdir(), 'reslab-fig7-'));
    writeReport(runsDir, out, curves);
    assert.match(fs.readFileSync(path.join(out, 'index.html'), 'utf8'), /Figure 7/);
    assert.equal(fs.readFileSync(path.join(out, 'responses.csv'), 'utf8').trim().split('\n').length, 1 + 4 * 6);
  });

  it('a report of an empty directory fails clearly', () => {
    const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'reslab-empty-'));
    assert.throws(() => writeReport(empty, path.join(empty, 'out')), /no runs with metrics\.jsonl in/);
  });
});
