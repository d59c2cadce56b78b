import { strict as assert } from 'assert';
import { spawnSync } from 'child_process';
import * as path from 'path';

const ROOT = path.resolve(__dirname, '..', '..');

/** Runs a snippet in a fresh Node.js process (backend selection happens once per process). */
function inFreshProcess(code: string, env: Record<string, string>): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, ['-e', code], { cwd: ROOT, env: { ...process.env, ...env }, encoding: 'utf8' });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

const REPORT = `const r = require('./dist/src'); const tf = require('@tensorflow/tfjs');
console.log(JSON.stringify({ kind: r.selectBackend().kind, tf: tf.getBackend() }));`;

describe('backend selection', function () {
  this.timeout(60_000);

  it('picks the native CPU backend here (no GPU) and says so', () => {
    const { status, stdout } = inFreshProcess(REPORT, { RESLAB_BACKEND: '' });
    assert.equal(status, 0);
    assert.deepEqual(JSON.parse(stdout), { kind: 'cpu', tf: 'tensorflow' });
  });

  it('RESLAB_BACKEND=js forces the pure-JS backend', () => {
    const { status, stdout } = inFreshProcess(REPORT, { RESLAB_BACKEND: 'js' });
    assert.equal(status, 0);
    assert.deepEqual(JSON.parse(stdout), { kind: 'js', tf: 'cpu' });
  });

  it('RESLAB_BACKEND=gpu fails with a clear message when no GPU is available', () => {
    const { status, stderr } = inFreshProcess(REPORT, { RESLAB_BACKEND: 'gpu' });
    assert.notEqual(status, 0);
    assert.match(stderr, /RESLAB_BACKEND=gpu, but (no NVIDIA GPU is visible|@tensorflow\/tfjs-node-gpu is unavailable)/);
  });

  it('an invalid RESLAB_BACKEND is refused', () => {
    const { status, stderr } = inFreshProcess(REPORT, { RESLAB_BACKEND: 'tpu' });
    assert.notEqual(status, 0);
    assert.match(stderr, /RESLAB_BACKEND must be gpu, cpu or js; got 'tpu'/);
  });
});
