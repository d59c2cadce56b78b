import { strict as assert } from 'assert';
import { debiasedEma, errorChart, heatmapChart, plotlyText, runLabel } from '../src/charts';
import { MAX_POINTS, RunsModel, runKey, RunViewPayload } from '../src/model';

function payload(
  runs: Array<{ runId: string; family: 'resnet' | 'plain'; depth: number; points?: number; probes?: boolean }>,
  updated = 1,
): RunViewPayload {
  return {
    schema: 1,
    title: 't',
    updated,
    runs: runs.map((r) => {
      const n = r.points ?? 3;
      const iteration = Array.from({ length: n }, (_, i) => (i + 1) * 100);
      return {
        runId: r.runId,
        run: {
          model: `${r.family}${r.depth}`,
          family: r.family,
          depth: r.depth,
          width: 1,
          shortcut: 'A',
          seed: 0,
          iterations: 64_000,
          batchSize: 128,
          params: 1,
          preset: 'paper',
        },
        status: 'running',
        iteration: n * 100,
        trainError: { iteration, value: iteration.map((i) => 1 / i) },
        testError: { iteration, value: iteration.map((i) => 2 / i) },
        trainEvalError: { iteration: [], value: [] },
        loss: { iteration, value: iteration.map(() => 1) },
        ...(r.probes
          ? {
              probes: {
                blocks: ['stage1_block1', 'stage1_block2'],
                iteration: [0, 100],
                branchRatio: [
                  [0.1, 0.2],
                  [0.3, 0.4],
                ],
                outputNorm: [
                  [1, 2],
                  [3, 4],
                ],
                latest: [],
              },
            }
          : {}),
      };
    }),
  };
}

describe('ResLab sidebar model', () => {
  it('keeps runs per notebook and shows the active notebook only', () => {
    const model = new RunsModel();
    model.ingest('a.ipynb', payload([{ runId: 'resnet20-s0', family: 'resnet', depth: 20 }]));
    model.ingest('b.ipynb', payload([{ runId: 'plain56-s0', family: 'plain', depth: 56 }]));
    assert.deepEqual(model.runs(), []);
    model.setActive('a.ipynb');
    assert.deepEqual(
      model.runs().map((r) => r.runId),
      ['resnet20-s0'],
    );
    model.setActive('b.ipynb');
    assert.deepEqual(
      model.runs().map((r) => r.runId),
      ['plain56-s0'],
    );
  });

  it('merges payloads of several displays; a stale payload never overwrites a newer one', () => {
    const model = new RunsModel();
    model.setActive('n');
    model.ingest('n', payload([{ runId: 'r1', family: 'resnet', depth: 20, points: 5 }], 10));
    model.ingest('n', payload([{ runId: 'r2', family: 'plain', depth: 20 }], 11));
    model.ingest('n', payload([{ runId: 'r1', family: 'resnet', depth: 20, points: 2 }], 5));
    assert.deepEqual(
      model.runs().map((r) => [r.runId, r.trainError.iteration.length]),
      [
        ['r2', 3],
        ['r1', 5],
      ],
    );
  });

  it('ignores malformed and unknown-version payloads with a visible warning, and keeps working', () => {
    const model = new RunsModel();
    model.setActive('n');
    let changes = 0;
    model.onChange(() => changes++);
    assert.equal(model.ingest('n', { schema: 2, runs: [] }), false);
    assert.equal(model.ingest('n', 'garbage'), false);
    assert.equal(model.ingest('n', { schema: 1, runs: [{ runId: 3 }] }), false);
    assert.equal(model.warnings.length, 3);
    assert.match(model.warnings[0], /unsupported schema version 2/);
    assert.ok(changes >= 3);
    assert.equal(model.ingest('n', payload([{ runId: 'ok', family: 'resnet', depth: 56 }])), true);
    assert.equal(model.runs().length, 1);
    for (let i = 0; i < 10; i++) model.ingest('n', null);
    assert.equal(model.warnings.length, 5, 'warnings are bounded');
  });

  it("one bad run of a payload is ignored with its own warning; the payload's other runs are shown", () => {
    const model = new RunsModel();
    model.setActive('n');
    const mixed = payload([
      { runId: 'good', family: 'resnet', depth: 20 },
      { runId: 'x'.repeat(10_000), family: 'resnet', depth: 56 },
      { runId: 'also-good', family: 'plain', depth: 20 },
    ]);
    assert.equal(model.ingest('n', mixed), true);
    assert.deepEqual(
      model
        .runs()
        .map((r) => r.runId)
        .sort(),
      ['also-good', 'good'],
    );
    assert.equal(model.warnings.length, 1);
    assert.match(model.warnings[0], /ignored a reslab run in n: runs\[1\] has no runId of at most 256 characters/);
  });

  it('a kernel restart keeps the runs and marks it', () => {
    const model = new RunsModel();
    model.setActive('n');
    model.ingest('n', payload([{ runId: 'r', family: 'resnet', depth: 20 }]));
    model.kernelRestarted('n');
    assert.equal(model.runs().length, 1);
    assert.ok(model.restartedAt());
  });

  it('error chart as in the paper and the report: training thin dashed, test bold solid, plain and ResNet in their own panels, colour by depth, paper reference in the ResNet panel, log toggle', () => {
    const model = new RunsModel();
    model.setActive('n');
    model.ingest(
      'n',
      payload([
        { runId: 'p56', family: 'plain', depth: 56 },
        { runId: 'r56', family: 'resnet', depth: 56 },
      ]),
    );
    const chart = errorChart(model.runs(), true);
    const traces = chart.data as Array<{ name: string; line: { dash: string; color: string; width: number }; y: number[]; yaxis: string }>;
    assert.deepEqual(
      traces.map((t) => t.name),
      ['plain-56 train', 'plain-56 test', 'ResNet-56 train', 'ResNet-56 test'],
    );
    assert.deepEqual(
      traces.map((t) => t.line.dash),
      ['dash', 'solid', 'dash', 'solid'],
    );
    assert.deepEqual(
      traces.map((t) => t.yaxis),
      ['y', 'y', 'y2', 'y2'],
      'plain on the first panel, ResNet on the second',
    );
    assert.equal(traces[0].line.color, traces[3].line.color);
    assert.ok(traces[1].line.width > traces[0].line.width, 'test error bold');
    // Errors 1/100, 1/200, 1/300 in percent.
    [1, 0.5, 1 / 3].forEach((v, i) => assert.ok(Math.abs(traces[0].y[i] - v) < 1e-12, `${traces[0].y[i]} vs ${v}`));
    const layout = chart.layout as {
      yaxis: { type: string; title: { text: string } };
      yaxis2: { type: string; title: { text: string } };
      annotations: Array<{ text: string; yref: string }>;
    };
    assert.deepEqual([layout.yaxis.type, layout.yaxis2.type], ['log', 'log']);
    assert.deepEqual([layout.yaxis.title.text, layout.yaxis2.title.text], ['plain: error (%)', 'ResNet: error (%)']);
    assert.deepEqual(
      layout.annotations.map((a) => [a.text, a.yref]),
      [['paper ResNet-56: 6.97%', 'y2']],
    );
    const resnetOnly = errorChart(
      model.runs().filter((r) => r.run.family === 'resnet'),
      false,
    ).data as Array<{ yaxis: string }>;
    assert.deepEqual(
      resnetOnly.map((t) => t.yaxis),
      ['y', 'y'],
      'one family: one panel',
    );
  });

  it('heatmap: blocks x iterations of the chosen metric, for the selected run', () => {
    const model = new RunsModel();
    model.setActive('n');
    model.ingest(
      'n',
      payload([
        { runId: 'a', family: 'resnet', depth: 20, probes: true },
        { runId: 'b', family: 'plain', depth: 20 },
      ]),
    );
    const run = model.heatmapRun();
    assert.equal(run?.runId, 'a');
    const chart = heatmapChart(run!, 'outputNorm');
    assert.deepEqual((chart?.data[0] as { z: number[][] }).z, [
      [1, 2],
      [3, 4],
    ]);
    assert.equal(heatmapChart(model.runs()[0], 'branchRatio'), undefined, 'no probes, no heatmap');
    assert.equal(runLabel(model.runs()[0]), 'plain-20');
  });

  it('a million-point payload is downsampled on ingest and drawn; the next run still draws', () => {
    const model = new RunsModel();
    model.setActive('nb');
    assert.equal(model.ingest('nb', payload([{ runId: 'huge', family: 'plain', depth: 20, points: 1_000_000 }])), true);
    model.ingest('nb', payload([{ runId: 'next', family: 'resnet', depth: 20 }]));
    const chart = errorChart(model.runs(), false);
    assert.equal(chart.data.length, 4);
    const huge = chart.data.find((t) => String(t.name).startsWith('plain-20')) as { x: number[] };
    assert.equal(huge.x.length, MAX_POINTS);
    assert.equal(huge.x[huge.x.length - 1], 100_000_000, 'the latest point is kept');
  });

  it('rejects probes without latest values (or rows of the wrong size) with a warning, keeping other runs', () => {
    const model = new RunsModel();
    model.setActive('nb');
    model.ingest('nb', payload([{ runId: 'good', family: 'resnet', depth: 20, probes: true }]));
    const broken = payload([{ runId: 'bad', family: 'resnet', depth: 56, probes: true }], 2) as unknown as {
      runs: Array<{ probes: Record<string, unknown> }>;
    };
    delete broken.runs[0].probes.latest;
    assert.equal(model.ingest('nb', broken), false);
    assert.match(model.warnings[0], /runs\[0\]\.probes has no latest per-block values/);
    const uneven = payload([{ runId: 'bad2', family: 'resnet', depth: 56, probes: true }], 3) as unknown as {
      runs: Array<{ probes: { branchRatio: number[][] } }>;
    };
    uneven.runs[0].probes.branchRatio = [[0.1]];
    assert.equal(model.ingest('nb', uneven), false);
    assert.deepEqual(
      model.runs().map((r) => r.runId),
      ['good'],
    );
    assert.ok(heatmapChart(model.runs()[0], 'branchRatio'));
  });

  it('a payload time in the future does not pin its run', () => {
    const model = new RunsModel();
    model.setActive('nb');
    model.ingest('nb', payload([{ runId: 'r', family: 'resnet', depth: 20, points: 1 }], Date.now() + 1e12));
    model.ingest('nb', payload([{ runId: 'r', family: 'resnet', depth: 20, points: 5 }], Date.now() + 1000));
    assert.equal(model.runs()[0].trainError.iteration.length, 5);
  });

  it('block names reach Plotly as text, never as markup', () => {
    const markup = '<a href="https://example.com">click</a><span style="font-size:40px">BIG</span>';
    assert.equal(
      plotlyText(markup),
      '&lt;a href="https://example.com"&gt;click&lt;/a&gt;&lt;span style="font-size:40px"&gt;BIG&lt;/span&gt;',
    );
    const p = payload([{ runId: 'r', family: 'resnet', depth: 20, probes: true }]);
    const probes = p.runs[0].probes as NonNullable<(typeof p.runs)[0]['probes']>;
    probes.blocks[0] = markup;
    probes.latest = [
      { block: markup, responseStd: [1], inputNorm: 1, branchNorm: 1, outputNorm: 1, branchRatio: 1, gradNorm: 1, deadReluFraction: 0 },
    ];
    const chart = heatmapChart(p.runs[0], 'branchRatio') as unknown as { data: Array<{ y: string[] }> };
    assert.ok(chart.data.every((t) => t.y.every((name) => !name.includes('<'))));
  });

  it("smoothing is TensorBoard's debiased EMA: the first point is kept, a constant stays constant, 0 is raw", () => {
    // Straightforward recomputation of the definition: s_n = sum_k w^(n-k) (1-w) v_k / (1 - w^n).
    const values = [50, 40, 45, 30, Number.NaN, 35, 20];
    const weight = 0.6;
    const finite = values.filter(Number.isFinite);
    const expected = finite.map(
      (_, n) => finite.slice(0, n + 1).reduce((s, v, k) => s + weight ** (n - k) * (1 - weight) * v, 0) / (1 - weight ** (n + 1)),
    );
    const smoothed = debiasedEma(values, weight);
    assert.ok(Number.isNaN(smoothed[4]), 'a non-finite value passes through');
    smoothed.filter(Number.isFinite).forEach((v, i) => assert.ok(Math.abs(v - expected[i]) < 1e-9, `${i}: ${v} vs ${expected[i]}`));
    assert.equal(smoothed[0], 50, 'not pulled towards zero at the start');
    assert.deepEqual(
      debiasedEma([7, 7, 7], 0.9).map((v) => Math.round(v * 1e9) / 1e9),
      [7, 7, 7],
    );
    assert.deepEqual(debiasedEma(values.slice(0, 4), 0), values.slice(0, 4));
  });

  it('with smoothing, each training curve is drawn smoothed over its faint raw copy; test curves stay raw', () => {
    const p = payload([{ runId: 'r', family: 'resnet', depth: 20, points: 6 }]);
    const raw = errorChart(p.runs, false).data as Array<{ name: string; y: number[]; opacity?: number; showlegend?: boolean }>;
    assert.deepEqual(
      raw.map((t) => t.name),
      ['ResNet-20 train', 'ResNet-20 test'],
    );
    const smooth = errorChart(p.runs, false, 0.8).data as typeof raw;
    assert.deepEqual(
      smooth.map((t) => t.name),
      ['ResNet-20 train (raw)', 'ResNet-20 train', 'ResNet-20 test'],
    );
    assert.deepEqual(smooth[0].y, raw[0].y);
    assert.equal(smooth[0].opacity, 0.25);
    assert.equal(smooth[0].showlegend, false);
    assert.deepEqual(smooth[1].y, debiasedEma(raw[0].y, 0.8));
    assert.deepEqual(smooth[2].y, raw[1].y);
  });

  it('scopes: the active notebook, one source, or all sources compared; the run picker hides runs from the charts', () => {
    const model = new RunsModel();
    model.ingest('a.ipynb', payload([{ runId: 'resnet20-s0', family: 'resnet', depth: 20 }]));
    model.openFolder('sweep/runs');
    model.ingest(
      'folder:sweep/runs',
      payload([
        { runId: 'resnet20-s0', family: 'resnet', depth: 20 },
        { runId: 'plain56-s0', family: 'plain', depth: 56 },
      ]),
    );
    model.setActive('a.ipynb');
    assert.deepEqual(model.sources(), ['a.ipynb', 'folder:sweep/runs']);
    assert.deepEqual(
      model.runs().map((r) => r.runId),
      ['resnet20-s0'],
    );
    model.setScope({ source: 'folder:sweep/runs' });
    assert.deepEqual(
      model.runs().map((r) => r.runId),
      ['plain56-s0', 'resnet20-s0'],
    );
    model.setScope('all');
    assert.deepEqual(
      model.sourcedRuns().map((r) => `${r.view.runId}@${r.source}`),
      ['plain56-s0@folder:sweep/runs', 'resnet20-s0@a.ipynb', 'resnet20-s0@folder:sweep/runs'],
    );
    model.setHidden(runKey('a.ipynb', 'resnet20-s0'), true);
    assert.deepEqual(
      model.visibleRuns().map((r) => `${r.view.runId}@${r.source}`),
      ['plain56-s0@folder:sweep/runs', 'resnet20-s0@folder:sweep/runs'],
    );
    assert.equal(model.runs().length, 3, 'a hidden run stays in the list (unticked)');
    model.closeFolder('sweep/runs');
    assert.deepEqual(model.sources(), ['a.ipynb']);
    assert.deepEqual(model.visibleRuns(), []);
  });

  it('its state survives a reload (a round trip through JSON); malformed saved state falls back to defaults', () => {
    const model = new RunsModel();
    model.setLogScale(true);
    model.setSmoothing(0.7);
    model.setHeatmapMetric('outputNorm');
    model.openFolder('runs');
    model.setScope({ source: 'folder:runs' });
    model.setHidden(runKey('folder:runs', 'plain56-s0'), true);
    model.setSeeds('each');
    const reloaded = new RunsModel();
    reloaded.restore(JSON.parse(JSON.stringify(model.state())));
    assert.deepEqual(reloaded.state(), model.state());
    const defaults = new RunsModel();
    defaults.restore({
      logScale: 'yes',
      smoothing: 5,
      seeds: 'all',
      heatmapMetric: '<b>',
      scope: { source: 3 },
      hidden: [1, 'x'],
      folders: 'runs',
    });
    assert.deepEqual(defaults.state(), {
      logScale: false,
      smoothing: 0.99,
      seeds: 'mean',
      heatmapMetric: 'branchRatio',
      scope: 'active',
      hidden: ['x'],
      folders: [],
    });
    defaults.setSmoothing(Number.NaN);
    assert.equal(defaults.smoothing, 0);
  });

  it('several seeds of one net are one mean line with a band from the lowest to the highest seed; "each seed" draws them all', () => {
    const p = payload([
      { runId: 'r-s0', family: 'resnet', depth: 20, points: 3 },
      { runId: 'r-s1', family: 'resnet', depth: 20, points: 3 },
    ]);
    p.runs[1].run = { ...p.runs[1].run, seed: 1 };
    p.runs[1].trainError = { iteration: p.runs[0].trainError.iteration, value: p.runs[0].trainError.value.map((v) => v + 0.1) };
    const mean = errorChart(p.runs, false).data as Array<{ name: string; y: number[]; fill?: string; showlegend?: boolean }>;
    const train = mean.filter((t) => t.name.includes('train'));
    assert.deepEqual(
      train.map((t) => t.name),
      [
        'ResNet-20 (mean of 2 seeds) train (highest seed)',
        'ResNet-20 (mean of 2 seeds) train (lowest seed)',
        'ResNet-20 (mean of 2 seeds) train',
      ],
    );
    const [upper, lower, line] = train;
    assert.equal(lower.fill, 'tonexty');
    assert.ok(upper.showlegend === false && lower.showlegend === false);
    line.y.forEach((v, i) => {
      assert.ok(Math.abs(v - (p.runs[0].trainError.value[i] * 100 + 5)) < 1e-9, 'the mean of the two seeds');
      assert.ok(Math.abs(upper.y[i] - lower.y[i] - 10) < 1e-9, 'the band spans the seeds');
    });
    const each = errorChart(p.runs, false, 0, undefined, 'each').data as Array<{ name: string }>;
    assert.deepEqual(
      each.map((t) => t.name),
      ['ResNet-20 (seed 0) train', 'ResNet-20 (seed 0) test', 'ResNet-20 (seed 1) train', 'ResNet-20 (seed 1) test'],
    );
  });
});
