import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { writeReport } from '../src/experiments/report';
import { parseMetricsJsonl, RunEvent, validateEvent, RunViewBuilder, validateRunViewPayload } from 'reslab-protocol';

const SCRIPT = '<img src=x onerror=alert(22)>';
const descriptor = {
  model: 'resnet8',
  family: 'resnet',
  depth: 8,
  width: 0.25,
  shortcut: 'A',
  seed: 0,
  iterations: 10,
  batchSize: 16,
  params: 1,
  preset: 'demo',
};
const hostileStart = (field: string, value: unknown) => ({
  runId: 'r',
  time: 0,
  type: 'run_start',
  schema: 1,
  iteration: 0,
  backend: 'cpu',
  run: { ...descriptor, [field]: value },
});

describe('hostile run data never reaches HTML as markup', () => {
  for (const field of ['iterations', 'width', 'batchSize', 'depth', 'seed', 'params']) {
    it(`a run_start whose ${field} is markup is rejected at the boundary, naming the field`, () => {
      assert.match(validateEvent(hostileStart(field, SCRIPT)) ?? '', new RegExp(`run descriptor ${field} is not a number`));
    });
  }

  it('reslab report refuses a metrics.jsonl with markup in a number field and writes no index.html', () => {
    const runs = fs.mkdtempSync(path.join(os.tmpdir(), 'reslab-hostile-'));
    fs.mkdirSync(path.join(runs, 'r'));
    fs.writeFileSync(path.join(runs, 'r', 'metrics.jsonl'), `${JSON.stringify(hostileStart('iterations', SCRIPT))}\n`);
    const out = path.join(runs, 'report');
    assert.throws(() => writeReport(runs, out), /metrics\.jsonl:1: run_start: run descriptor iterations is not a number/);
    assert.equal(fs.existsSync(path.join(out, 'index.html')), false);
    assert.throws(() => parseMetricsJsonl(`${JSON.stringify(hostileStart('family', SCRIPT))}\n`), /family/);
  });

  it('the live view (kernel extension) rejects the same event instead of rendering it; payloads are checked the same way', () => {
    const builder = new RunViewBuilder('t');
    assert.throws(
      () => builder.push(hostileStart('iterations', SCRIPT) as unknown as RunEvent),
      /invalid run event: run_start: run descriptor iterations is not a number/,
    );
    builder.push(hostileStart('iterations', 10) as unknown as RunEvent);
    const payload = builder.payload();
    assert.equal(validateRunViewPayload(payload), undefined);
    (payload.runs[0].run as unknown as Record<string, unknown>).iterations = SCRIPT;
    assert.match(validateRunViewPayload(payload) ?? '', /run descriptor iterations is not a number/);
  });
});
