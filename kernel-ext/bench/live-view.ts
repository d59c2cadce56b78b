/**
 * Messages and bytes that a live view sends over a long run.
 *
 *   node kernel-ext/dist/bench/live-view.js [--iterations 64000] [--rate 2000] [--interval 250]
 *
 * Replays the event stream of a paper-scale ResNet-56 run (train every 100 iterations, eval and
 * a 27-block probe every 1,000) at `rate` iterations per second through a LiveView whose sink
 * builds the full Jupyter bundle (reslab MIME + static HTML + text), as the tslab sink does.
 */
import { BlockProbe, RUN_VIEW_MIME, RunEvent, RunViewPayload } from 'reslab-protocol';
import { parseScriptFlags, runScript } from 'reslab/dist/src/scripts';
import { LiveView, staticHtml, textSummary, ViewSink } from '../src';

class MeasuringSink implements ViewSink {
  messages = 0;
  bytes = 0;
  largest = 0;
  show(payload: RunViewPayload): void {
    const size = Buffer.byteLength(
      JSON.stringify({ [RUN_VIEW_MIME]: payload, 'text/html': staticHtml(payload), 'text/plain': textSummary(payload) }),
    );
    this.messages += 1;
    this.bytes += size;
    this.largest = Math.max(this.largest, size);
  }
}

async function main(): Promise<void> {
  const values = parseScriptFlags('node kernel-ext/dist/bench/live-view.js [--iterations 64000] [--rate 2000] [--interval 250]', {
    iterations: { type: 'string', default: '64000' },
    rate: { type: 'string', default: '2000' },
    interval: { type: 'string', default: '250' },
  });
  const iterations = Number(values.iterations);
  const rate = Number(values.rate);
  const sink = new MeasuringSink();
  const view = new LiveView({ sink, minIntervalMs: Number(values.interval) });
  const runId = 'resnet56-w1-s0';
  const run = {
    model: 'resnet56',
    family: 'resnet' as const,
    depth: 56,
    width: 1,
    shortcut: 'A',
    seed: 0,
    iterations,
    batchSize: 128,
    params: 853_018,
    preset: 'paper',
  };
  const blocks: BlockProbe[] = Array.from({ length: 27 }, (_, b) => ({
    block: `stage${Math.floor(b / 9) + 1}_block${(b % 9) + 1}`,
    responseStd: [0.5, 0.4],
    inputNorm: 10,
    branchNorm: 2,
    outputNorm: 10.5,
    branchRatio: 0.2 + b / 100,
    gradNorm: 0.01,
    deadReluFraction: 0.1,
  }));
  const start = Date.now();
  view.push({ runId, time: start, type: 'run_start', schema: 1, run, iteration: 0, backend: 'gpu' });
  let events = 1;
  for (let it = 100; it <= iterations; it += 100) {
    const due = start + (it / rate) * 1000;
    const wait = due - Date.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    const time = Date.now();
    const batch: RunEvent[] = [
      {
        runId,
        time,
        type: 'train',
        iteration: it,
        trainError: Math.exp(-it / 20_000),
        loss: 2 * Math.exp(-it / 20_000),
        lr: 0.1,
        window: 100,
        imagesPerSecond: rate * 128,
      },
    ];
    if (it % 1000 === 0) {
      batch.push({ runId, time, type: 'eval', iteration: it, testError: 0.1 + Math.exp(-it / 20_000), testImages: 10_000 });
      batch.push({ runId, time, type: 'probe', iteration: it, blocks });
    }
    for (const event of batch) view.push(event);
    events += batch.length;
  }
  view.push({
    runId,
    time: Date.now(),
    type: 'run_end',
    iteration: iterations,
    status: 'completed',
    wallSeconds: (Date.now() - start) / 1000,
  });
  view.close();
  const seconds = (Date.now() - start) / 1000;
  console.log(`replayed ${iterations} iterations (${events + 1} events) in ${seconds.toFixed(1)} s, update interval ${values.interval} ms`);
  console.log(
    `messages: ${sink.messages} (${(sink.messages / seconds).toFixed(2)}/s), bytes: ${(sink.bytes / 1024).toFixed(0)} KiB (${(sink.bytes / 1024 / seconds).toFixed(1)} KiB/s), largest message ${(sink.largest / 1024).toFixed(1)} KiB`,
  );
}

runScript(main);
