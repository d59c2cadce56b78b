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

describe('hostile run data, round 2: every field checked, names isolated, cells safe', () => {
  const start = (runId: string) => ({ runId, time: 0, type: 'run_start', schema: 1, iteration: 0, backend: 'cpu', run: descriptor });
  const line = (event: object) => `${JSON.stringify(event)}\n`;

  it('every field of every event type is checked: a string where the schema has a number is refused, naming it', () => {
    const cases: Array<[object, RegExp]> = [
      [
        { runId: 'r', time: 1, type: 'train', iteration: 5, trainError: 0.5, loss: 2, lr: 0.1, window: 5, imagesPerSecond: 'fast' },
        /train event: imagesPerSecond is not a number \(got "fast"\)/,
      ],
      [
        { runId: 'r', time: 1, type: 'train', iteration: 5, trainError: '=1+1', loss: 2, lr: 0.1, window: 5, imagesPerSecond: 1 },
        /trainError is not a number/,
      ],
      [
        { runId: 'r', time: 1, type: 'eval', iteration: 5, testError: 1.5, testImages: 10 },
        /testError is not a fraction in \[0, 1\] \(got 1\.5\)/,
      ],
      [
        { runId: 'r', time: 1, type: 'run_end', iteration: 5, status: 5, wallSeconds: 1 },
        /status is not one of completed, stopped, failed \(got 5\)/,
      ],
      [{ runId: 'r', time: 1, type: 'probe', iteration: 5, blocks: 'all' }, /probe event: blocks is not a list/],
      [
        {
          runId: 'r',
          time: 1,
          type: 'probe',
          iteration: 5,
          blocks: [
            { block: 7, responseStd: [1], inputNorm: 1, branchNorm: 1, outputNorm: 1, branchRatio: 1, gradNorm: 1, deadReluFraction: 0 },
          ],
        },
        /blocks\[0\]\.block is not a string \(got 7\)/,
      ],
      [
        {
          runId: 'r',
          time: 1,
          type: 'probe',
          iteration: 5,
          blocks: [
            {
              block: 'b',
              responseStd: [1],
              inputNorm: 1,
              branchNorm: 1,
              outputNorm: 1,
              branchRatio: 'x',
              gradNorm: 1,
              deadReluFraction: 0,
            },
          ],
        },
        /blocks\[0\]\.branchRatio is not a number/,
      ],
      [{ ...start('r'), time: 'now' }, /run_start event: time is not a number/],
      [{ runId: 'x'.repeat(300), time: 1, type: 'checkpoint', iteration: 1 }, /runId is longer than 256 characters/],
    ];
    for (const [event, message] of cases) {
      assert.match(validateEvent(event) ?? '', message, JSON.stringify(event).slice(0, 80));
      assert.throws(() => parseMetricsJsonl(line(start('r')) + line(event), 'm.jsonl'), new RegExp(`m\\.jsonl:2: .*${message.source}`));
    }
  });

  it('the report isolates names (a right-to-left override stays inside them) and writes no formula into a CSV cell', () => {
    const runs = fs.mkdtempSync(path.join(os.tmpdir(), 'reslab-hostile2-'));
    const id = '=HYPERLINK("http://evil","x")';
    const events = [
      { ...start(id), run: { ...descriptor, preset: 'demo\u202Eevil' } },
      {
        runId: id,
        time: 1,
        type: 'probe',
        iteration: 10,
        blocks: [
          {
            block: 'stage1_block1',
            responseStd: [0.5, 0.4],
            inputNorm: 1,
            branchNorm: 1,
            outputNorm: 1,
            branchRatio: 1,
            gradNorm: 1,
            deadReluFraction: 0,
          },
        ],
      },
      { runId: id, time: 2, type: 'train', iteration: 10, trainError: 0.5, loss: 1, lr: 0.1, window: 10, imagesPerSecond: 100 },
      { runId: id, time: 3, type: 'eval', iteration: 10, testError: 0.5, testImages: 10 },
      { runId: id, time: 4, type: 'run_end', iteration: 10, status: 'completed', wallSeconds: 1 },
    ];
    fs.mkdirSync(path.join(runs, 'r'));
    fs.writeFileSync(path.join(runs, 'r', 'metrics.jsonl'), events.map(line).join(''));
    const out = path.join(runs, 'report');
    writeReport(runs, out);
    const html = fs.readFileSync(path.join(out, 'index.html'), 'utf8');
    assert.match(html, /<bdi>demo\u202Eevil<\/bdi> preset/);
    const csv = fs.readFileSync(path.join(out, 'responses.csv'), 'utf8').split('\n')[1];
    assert.ok(csv.startsWith(`"'=HYPERLINK(""http://evil"",""x"")"`), csv);
  });
});
