import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { RunViewPayload } from 'reslab';
import { degradation, train, ViewSink } from '../src';

class RecordingSink implements ViewSink {
  readonly payloads: RunViewPayload[] = [];
  show(payload: RunViewPayload): void {
    this.payloads.push(payload);
  }
}

const TINY = {
  iterations: 4,
  batchSize: 16,
  logEvery: 2,
  evalEvery: 2,
  checkpointEvery: 4,
  probeEvery: 0,
  trainLimit: 64,
  testLimit: 32,
  trainEvalImages: 0,
};

describe('train() and degradation() in a notebook: one launcher', function () {
  this.timeout(120_000);

  it('a finished run is not trained again: its log is untouched and the view shows it from its files', async () => {
    const out = fs.mkdtempSync(path.join(os.tmpdir(), 'reslab-kernel-train-'));
    try {
      const first = new RecordingSink();
      const end = await train('resnet8', { preset: 'smoke', overrides: TINY, out, view: { sink: first, minIntervalMs: 0 } });
      assert.equal(end.status, 'completed');
      const log = path.join(out, 'resnet8-w0.25-s0', 'metrics.jsonl');
      const before = fs.readFileSync(log, 'utf8');
      const again = new RecordingSink();
      const second = await train('resnet8', { preset: 'smoke', overrides: TINY, out, view: { sink: again, minIntervalMs: 0 } });
      assert.equal(fs.readFileSync(log, 'utf8'), before, 'metrics.jsonl unchanged');
      assert.deepEqual(second, end, 'the run_end of the finished run');
      const shown = again.payloads[again.payloads.length - 1];
      assert.equal(shown.runs[0].status, 'completed');
      assert.equal(shown.runs[0].iteration, 4);
      assert.deepEqual(shown.runs[0].trainError.iteration, [2, 4]);
      assert.match(shown.title, /finished before, shown from its files/);
    } finally {
      fs.rmSync(out, { recursive: true, force: true });
    }
  });

  it('degradation() skips finished runs, says how many in its title, and shows every run of the sweep', async () => {
    const out = fs.mkdtempSync(path.join(os.tmpdir(), 'reslab-kernel-sweep-'));
    try {
      const options = { preset: 'smoke' as const, depths: [8], overrides: TINY, out };
      await degradation({ ...options, nets: ['resnet'], view: { sink: new RecordingSink() } });
      const size = fs.statSync(path.join(out, 'resnet8-w0.25-s0', 'metrics.jsonl')).size;
      const sink = new RecordingSink();
      const ends = await degradation({ ...options, view: { sink, minIntervalMs: 0 } });
      assert.deepEqual(
        ends.map((e) => e.status),
        ['completed', 'completed'],
      );
      assert.equal(fs.statSync(path.join(out, 'resnet8-w0.25-s0', 'metrics.jsonl')).size, size, 'the finished ResNet was not appended to');
      const last = sink.payloads[sink.payloads.length - 1];
      assert.deepEqual(last.runs.map((r) => r.runId).sort(), ['plain8-w0.25-s0', 'resnet8-w0.25-s0']);
      assert.equal(last.title, 'reslab: degradation plain/resnet x 8 (smoke): 1 finished before, shown from their files');
    } finally {
      fs.rmSync(out, { recursive: true, force: true });
    }
  });

  it('degradation() with a finished run whose log has a field of the wrong kind names it and shows the others', async () => {
    const out = fs.mkdtempSync(path.join(os.tmpdir(), 'reslab-kernel-bad-'));
    try {
      const options = { preset: 'smoke' as const, depths: [8], overrides: TINY, out };
      await degradation({ ...options, view: { sink: new RecordingSink() } });
      const log = path.join(out, 'plain8-w0.25-s0', 'metrics.jsonl');
      fs.writeFileSync(log, fs.readFileSync(log, 'utf8').replace(/"imagesPerSecond":[\d.e+]+/, '"imagesPerSecond":"fast"'));
      const sink = new RecordingSink();
      const errors: string[] = [];
      const original = console.error;
      console.error = (...args: unknown[]) => void errors.push(args.join(' '));
      let ends;
      try {
        ends = await degradation({ ...options, view: { sink, minIntervalMs: 0 } });
      } finally {
        console.error = original;
      }
      assert.deepEqual(
        ends.map((e) => e.runId),
        ['resnet8-w0.25-s0'],
      );
      assert.ok(
        errors.some((e) =>
          /plain8-w0\.25-s0 is not shown: .*metrics\.jsonl:\d+: train event: imagesPerSecond is not a number \(got "fast"\)/.test(e),
        ),
        errors.join('\n'),
      );
      const shown = sink.payloads[sink.payloads.length - 1];
      assert.deepEqual(
        shown.runs.map((r) => r.runId),
        ['resnet8-w0.25-s0'],
      );
    } finally {
      fs.rmSync(out, { recursive: true, force: true });
    }
  });
});
