import { strict as assert } from 'assert';
import { BlockProbe, downsample, RunEvent, RunViewPayload, validateRunViewPayload } from 'reslab-protocol';
import { LiveView, staticHtml, textSummary, ViewSink } from '../src';

/** Records what a view sends. */
class RecordingSink implements ViewSink {
  readonly payloads: RunViewPayload[] = [];
  readonly bytes: number[] = [];
  show(payload: RunViewPayload): void {
    this.payloads.push(payload);
    this.bytes.push(Buffer.byteLength(JSON.stringify(payload)));
  }
}

const RUN = {
  model: 'resnet56',
  family: 'resnet' as const,
  depth: 56,
  width: 1,
  shortcut: 'A',
  seed: 0,
  iterations: 64_000,
  batchSize: 128,
  params: 853_018,
  preset: 'paper',
};

/** The events of a paper-scale run (64k iterations), as the trainer emits them. */
function* paperRun(runId = 'resnet56-w1-s0'): Generator<RunEvent> {
  const base = { runId, time: 0 };
  yield { ...base, type: 'run_start', schema: 1, run: { ...RUN }, iteration: 0, backend: 'gpu' };
  const blocks: BlockProbe[] = Array.from({ length: 27 }, (_, b) => ({
    block: `stage${Math.floor(b / 9) + 1}_block${(b % 9) + 1}`,
    responseStd: [0.5, 0.4],
    inputNorm: 10,
    branchNorm: 2,
    outputNorm: 10.5,
    branchRatio: 0.2,
    gradNorm: 0.01,
    deadReluFraction: 0.1,
  }));
  for (let it = 100; it <= 64_000; it += 100) {
    yield {
      ...base,
      type: 'train',
      iteration: it,
      trainError: 1 - it / 70_000,
      loss: 2 - it / 40_000,
      lr: 0.1,
      window: 100,
      imagesPerSecond: 5000,
    };
    if (it % 1000 === 0) {
      yield { ...base, type: 'eval', iteration: it, testError: 1 - it / 68_000, testImages: 10_000 };
      yield { ...base, type: 'probe', iteration: it, blocks };
    }
  }
  yield { ...base, type: 'run_end', iteration: 64_000, status: 'completed', wallSeconds: 3600 };
}

describe('LiveView (kernel extension)', () => {
  it('throttles: a burst of a whole 64k-iteration run becomes a handful of messages, latest state last', async () => {
    const sink = new RecordingSink();
    const view = new LiveView({ sink, minIntervalMs: 250 });
    for (const event of paperRun()) view.push(event);
    // run_start and run_end are sent at once; everything between coalesces.
    assert.ok(sink.payloads.length <= 3, `${sink.payloads.length} messages`);
    const last = sink.payloads[sink.payloads.length - 1];
    assert.equal(last.runs[0].status, 'completed');
    assert.equal(last.runs[0].iteration, 64_000);
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.ok(sink.payloads.length <= 3, 'no stray update after the end');
  });

  it('updates at most every minIntervalMs while events trickle in', async () => {
    const sink = new RecordingSink();
    const view = new LiveView({ sink, minIntervalMs: 100 });
    const events = [...paperRun()].slice(0, 60);
    const start = Date.now();
    for (const event of events) {
      view.push(event);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    view.close();
    const seconds = (Date.now() - start) / 1000;
    // At most one message per 100 ms, plus run_start and the final one.
    assert.ok(sink.payloads.length <= Math.ceil(seconds * 10) + 2, `${sink.payloads.length} messages in ${seconds} s`);
    assert.ok(sink.payloads.length >= 3, 'but it does update while the run goes on');
  });

  it('rejects options it cannot honour with a message naming the option and what it expects', () => {
    assert.throws(
      () => new LiveView({ minIntervalMs: -1, sink: new RecordingSink() }),
      /minIntervalMs expects a number of at least 0, got -1/,
    );
    assert.throws(() => new LiveView({ maxPoints: 1.5, sink: new RecordingSink() }), /maxPoints expects an integer of at least 2, got 1.5/);
    assert.throws(() => new LiveView({ maxProbes: Number.NaN, sink: new RecordingSink() }), /maxProbes expects an integer of at least 1/);
  });

  it('bounds the payload: long curves downsampled, the last point always kept', () => {
    const sink = new RecordingSink();
    const view = new LiveView({ sink, maxPoints: 200, maxProbes: 50 });
    for (const event of paperRun()) view.push(event);
    view.close();
    const run = sink.payloads[sink.payloads.length - 1].runs[0];
    assert.equal(run.trainError.iteration.length, 200);
    assert.equal(run.trainError.iteration[199], 64_000);
    assert.equal(run.trainError.iteration[0], 100);
    assert.equal(run.testError.iteration.length, 64);
    assert.equal(run.probes?.iteration.length, 50);
    assert.equal(run.probes?.iteration[49], 64_000);
    assert.equal(run.probes?.branchRatio.length, 27);
    assert.ok(Math.max(...sink.bytes) < 120_000, `largest payload ${Math.max(...sink.bytes)} bytes`);
    assert.equal(validateRunViewPayload(sink.payloads[sink.payloads.length - 1]), undefined);
  });

  it('downsample keeps first and last and spaces the rest evenly', () => {
    const curve = { iteration: Array.from({ length: 1000 }, (_, i) => i), value: Array.from({ length: 1000 }, (_, i) => i * 2) };
    const small = downsample(curve, 11);
    assert.deepEqual(small.iteration, [0, 100, 200, 300, 400, 500, 599, 699, 799, 899, 999]);
    assert.deepEqual(
      small.value,
      small.iteration.map((i) => i * 2),
    );
    assert.deepEqual(downsample({ iteration: [1, 2], value: [3, 4] }, 5), { iteration: [1, 2], value: [3, 4] });
  });

  it('the static HTML shows names as text, never as markup', () => {
    const sink = new RecordingSink();
    const view = new LiveView({ sink, title: '<img src=x onerror=alert(1)>' });
    for (const event of [...paperRun('<b>bold</b>')].slice(0, 30)) view.push(event);
    view.close();
    const html = staticHtml(sink.payloads[sink.payloads.length - 1]);
    assert.ok(html.includes('&lt;img src=x onerror=alert(1)&gt;'));
    assert.ok(!html.includes('<img'));
  });

  it('validateRunViewPayload rejects malformed payloads and other versions', () => {
    assert.match(validateRunViewPayload(null) ?? '', /not an object/);
    assert.match(validateRunViewPayload({ schema: 2, runs: [] }) ?? '', /unsupported schema version 2/);
    assert.match(validateRunViewPayload({ schema: 1 }) ?? '', /no runs array/);
    assert.match(validateRunViewPayload({ schema: 1, runs: [] }) ?? '', /no numeric updated time/);
    const run = {
      model: 'resnet20',
      family: 'resnet',
      depth: 20,
      width: 1,
      shortcut: 'A',
      seed: 0,
      iterations: 10,
      batchSize: 128,
      params: 1,
      preset: 'demo',
    };
    const view = {
      runId: 'r',
      run,
      status: 'running',
      iteration: 1,
      trainError: { iteration: [1], value: [] },
      testError: { iteration: [], value: [] },
      trainEvalError: { iteration: [], value: [] },
      loss: { iteration: [], value: [] },
    };
    assert.match(
      validateRunViewPayload({ schema: 1, updated: 1, runs: [view] }) ?? '',
      /runs\[0\]\.trainError has 1 iterations but 0 values/,
    );
    assert.match(
      validateRunViewPayload({ schema: 1, updated: 1, runs: [{ ...view, run: { depth: 20, family: 'resnet' } }] }) ?? '',
      /runs\[0\] \(r\): run descriptor model is not a string/,
    );
  });
});

/** A short run of `family`-20 and `seed`: errors offset by the seed, every block's ‖F(x)‖/‖x‖ = `ratio`. */
function* shortRun(family: 'plain' | 'resnet', seed: number, ratio: number): Generator<RunEvent> {
  const runId = `${family}20-w1-s${seed}`;
  const base = { runId, time: 0 };
  const run = { ...RUN, model: `${family}20`, family, depth: 20, seed, iterations: 300 };
  yield { ...base, type: 'run_start', schema: 1, run, iteration: 0, backend: 'cpu' };
  const blocks: BlockProbe[] = Array.from({ length: 9 }, (_, b) => ({
    block: `stage${Math.floor(b / 3) + 1}_block${(b % 3) + 1}`,
    responseStd: [0.5],
    inputNorm: 10,
    branchNorm: 10 * ratio,
    outputNorm: 10,
    branchRatio: ratio,
    gradNorm: 0.01,
    deadReluFraction: 0.1,
  }));
  for (let it = 100; it <= 300; it += 100) {
    yield {
      ...base,
      type: 'train',
      iteration: it,
      trainError: 0.8 - it / 1000 + seed / 100,
      loss: 2,
      lr: 0.1,
      window: 100,
      imagesPerSecond: 500,
    };
    yield { ...base, type: 'eval', iteration: it, testError: 0.85 - it / 1000 + seed / 100, testImages: 1000 };
  }
  yield { ...base, type: 'probe', iteration: 300, blocks };
  yield { ...base, type: 'run_end', iteration: 300, status: 'completed', wallSeconds: 10 };
}

describe('the static view of many runs (what nbconvert and GitHub show)', () => {
  const sink = new RecordingSink();
  const view = new LiveView({ sink, title: 'Fig. 6' });
  for (const [family, seed, ratio] of [
    ['plain', 0, 0.9],
    ['plain', 1, 1.1],
    ['resnet', 0, 0.2],
    ['resnet', 1, 0.4],
  ] as const)
    for (const event of shortRun(family, seed, ratio)) view.push(event);
  view.close();
  const html = staticHtml(sink.payloads[sink.payloads.length - 1]);

  it('draws plain nets and ResNets in separate panels, each net once: its seeds as a mean line and a band', () => {
    const panels = html.match(/<svg[^>]*viewBox[^>]*>.*?<\/svg>/g) ?? [];
    assert.equal(panels.length, 2);
    assert.match(panels[0], /font-weight="bold">plain</);
    assert.match(panels[1], /font-weight="bold">ResNet</);
    for (const panel of panels) {
      assert.equal((panel.match(/<polyline/g) ?? []).length, 2, 'one training and one test line per net');
      assert.equal((panel.match(/<polygon/g) ?? []).length, 2, 'and a band under each');
    }
    assert.match(panels[0], /<title>plain-20 \(mean of 2 seeds\) test<\/title>/);
    assert.match(html, /each line: the mean of 2 seeds, shaded from the lowest to the highest seed/);
    assert.match(html, /━ <bdi>ResNet-20<\/bdi>/, 'the legend names the net once');
    // The mean test error at iteration 300 is 0.85 − 0.3 + 0.005 = 55.5%, the band 55% to 56%: y = 22 + (1 − e/100)·222.
    const [x300, yMean, yLow, yHigh] = [400, 22 + 0.445 * 222, 22 + 0.45 * 222, 22 + 0.44 * 222].map((v) =>
      (Math.round(v * 10) / 10).toFixed(1),
    );
    assert.ok(panels[0].includes(`${x300},${yMean}"><title>plain-20 (mean of 2 seeds) test`), 'the mean line ends at the mean');
    assert.ok(panels[0].includes(`${x300},${yHigh} `) && panels[0].includes(`${x300},${yLow}`), 'the band spans both seeds');
  });

  it("one row per net in the table, the seeds' range beside their mean", () => {
    assert.match(
      html,
      /<tr><td><bdi>ResNet-20 \(mean of 2 seeds\)<\/bdi><\/td><td>2 completed<\/td><td>300\/300<\/td><td>50\.5% <small>\(50\.0%–51\.0%\)<\/small><\/td><td>55\.5% <small>\(55\.0%–56\.0%\)/,
    );
    assert.equal((html.match(/<tr><td>/g) ?? []).length, 2);
  });

  it("block statistics as one heatmap per family, a row per net with its seeds' mean", () => {
    const maps = html.split('‖F(x)‖/‖x‖ of every block').slice(1);
    assert.equal(maps.length, 2);
    assert.equal((maps[0].match(/<rect[^>]*><title>/g) ?? []).length, 9, 'plain-20: 9 blocks, one row');
    assert.match(maps[0], /plain-20 \(mean of 2 seeds\), stage1_block1: 1\.000 \(iteration 300\)/);
    assert.match(maps[1], /ResNet-20 \(mean of 2 seeds\), stage3_block3: 0\.300/);
    assert.doesNotMatch(html, /per block at iteration/, 'no bar chart per run');
  });

  it('the text summary keeps one line per run', () => {
    const text = textSummary(sink.payloads[sink.payloads.length - 1]).split('\n');
    assert.equal(text.length, 4);
    assert.match(text[1], /^plain-20 \(seed 1\) \[completed\] iteration 300\/300 train error 51\.0% test error 56\.0% 500 img\/s$/);
  });
});

describe('the static view of an invalid payload', () => {
  it('says what is wrong instead of throwing (a hand-made payload with a string where a number belongs)', () => {
    const bad = {
      schema: 1,
      title: 't',
      updated: 1,
      runs: [
        {
          runId: 'r',
          run: RUN,
          status: 'running',
          iteration: 1,
          imagesPerSecond: 'fast',
          trainError: { iteration: [], value: [] },
          testError: { iteration: [], value: [] },
          trainEvalError: { iteration: [], value: [] },
          loss: { iteration: [], value: [] },
        },
      ],
    } as unknown as RunViewPayload;
    assert.match(staticHtml(bad), /this view cannot be drawn: runs\[0\] \(r\) imagesPerSecond is not a finite number/);
    assert.match(textSummary(bad), /this view cannot be drawn/);
    const rtl = { schema: 1, title: 'a\u202Eb', updated: 1, runs: [] } as RunViewPayload;
    assert.match(staticHtml(rtl), /<bdi>a\u202Eb<\/bdi>/);
  });
});
