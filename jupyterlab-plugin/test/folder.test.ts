import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { spawnSync } from 'child_process';
import { validateRunViewPayload } from 'reslab-protocol';
import { folderKey, folderOf, folderPayload } from '../src/folder';

const ROOT = path.resolve(__dirname, '..', '..', '..');

describe('ResLab sidebar: runs folders', () => {
  it('folds the metrics.jsonl of real runs (written by reslab train) into one valid payload; a bad file is one warning', function () {
    this.timeout(120_000);
    const out = fs.mkdtempSync(path.join(os.tmpdir(), 'reslab-folder-'));
    const result = spawnSync(
      process.execPath,
      [
        path.join(ROOT, 'bin', 'reslab.js'),
        'train',
        'resnet8',
        '--preset',
        'smoke',
        '--iterations',
        '10',
        '--log-every',
        '5',
        '--eval-every',
        '5',
        '--batch-size',
        '16',
        '--train-limit',
        '64',
        '--test-limit',
        '32',
        '--quiet',
        '--out',
        out,
      ],
      { encoding: 'utf8' },
    );
    assert.equal(result.status, 0, result.stderr);
    const text = fs.readFileSync(path.join(out, 'resnet8-w0.25-s0', 'metrics.jsonl'), 'utf8');
    const { payload, warnings } = folderPayload(
      'sweep',
      [
        { name: 'resnet8-w0.25-s0', text },
        { name: 'broken', text: '{"type":"train"}\n{"also":"bad"}\n' },
      ],
      1234,
    );
    assert.equal(validateRunViewPayload(payload), undefined);
    assert.equal(payload.updated, 1234);
    assert.deepEqual(
      payload.runs.map((r) => [r.runId, r.status, r.iteration]),
      [['resnet8-w0.25-s0', 'completed', 10]],
    );
    assert.deepEqual(payload.runs[0].trainError.iteration, [5, 10]);
    assert.deepEqual(payload.runs[0].testError.iteration, [0, 5, 10]);
    assert.equal(warnings.length, 1);
    assert.match(warnings[0], /skipped broken: sweep\/broken\/metrics\.jsonl:1: /);
  });

  it('folder source keys are distinct from notebook paths', () => {
    assert.equal(folderOf(folderKey('a/runs')), 'a/runs');
    assert.equal(folderOf('a/runs.ipynb'), undefined);
    assert.equal(folderOf(folderKey('')), '');
  });
});
