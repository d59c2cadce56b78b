import { strict as assert } from 'assert';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

const ROOT = path.resolve(__dirname, '..', '..');
const SETUP_GPU = path.join(ROOT, 'scripts', 'setup-gpu.js');

function setupGpu(args: string[], env: NodeJS.ProcessEnv = {}): { status: number | null; output: string } {
  const result = spawnSync(process.execPath, [SETUP_GPU, ...args], { encoding: 'utf8', env: { ...process.env, ...env }, timeout: 600_000 });
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

describe('the GPU install route (npm run setup -- --gpu)', function () {
  this.timeout(600_000);
  const prefixes: string[] = [];
  const prefix = () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'reslab-gpu-'));
    prefixes.push(dir);
    return dir;
  };
  after(() => prefixes.forEach((dir) => fs.rmSync(dir, { recursive: true, force: true })));

  it('where no GPU libtensorflow is reachable, stops with one message: each route tried, why it failed, what to run online', () => {
    // Both routes fail the same way whatever the network: the download goes to a closed local port,
    // pip asks for a TensorFlow version that does not exist.
    const { status, output } = setupGpu(['--prefix', prefix()], {
      TFJS_NODE_BASE_URI: 'http://127.0.0.1:9/',
      RESLAB_TF_WHEEL_VERSION: '0.0.0',
    });
    assert.equal(status, 1, output);
    assert.match(output, /FAILED: no libtensorflow for the GPU could be installed\. Tried:/);
    assert.match(output, /1\. @tensorflow\/tfjs-node-gpu's own download of libtensorflow-gpu 2\.9\.1: network: .*ECONNREFUSED/);
    assert.match(
      output,
      /2\. the tensorflow==0\.0\.0 wheel with its and-cuda runtime wheels: pip could not install tensorflow\[and-cuda\]==0\.0\.0: .*No matching distribution/,
    );
    assert.match(output, /npm run setup -- --gpu --libtensorflow DIR/);
    assert.match(output, /The CPU backend stays installed/);
    assert.doesNotMatch(output, /\n\s+at .*\.js:\d+/, 'no stack trace');
  });

  it('--libtensorflow DIR builds tfjs-node-gpu against a libtensorflow the user has (the CPU library stands in) and it loads', () => {
    const dir = prefix();
    const cpuLibrary = path.join(ROOT, 'node_modules', '@tensorflow', 'tfjs-node', 'deps');
    const { status, output } = setupGpu(['--prefix', dir, '--libtensorflow', cpuLibrary]);
    assert.equal(status, 0, output.slice(-3000));
    assert.match(output, /@tensorflow\/tfjs-node-gpu: ready \(libtensorflow from .*\); check it with: reslab doctor --gpu-check/);
    const probe = spawnSync(
      process.execPath,
      [
        '-e',
        "const tf = require('@tensorflow/tfjs-node-gpu'); const b = tf.backend(); console.log(JSON.stringify({ backend: tf.getBackend(), gpuPackage: b.isGPUPackage, version: b.binding.TF_Version }))",
      ],
      { cwd: dir, encoding: 'utf8', env: { ...process.env, TF_CPP_MIN_LOG_LEVEL: '3' } },
    );
    assert.equal(probe.status, 0, probe.stderr);
    const loaded = JSON.parse(probe.stdout.trim().split('\n').pop() as string);
    assert.deepEqual([loaded.backend, loaded.gpuPackage], ['tensorflow', true]);
    assert.match(loaded.version, /^2\.\d+\.\d+$/);
  });

  it('--libtensorflow with a directory that is not a libtensorflow names what is missing and the layout it expects', () => {
    const empty = prefix();
    const { status, output } = setupGpu(['--prefix', prefix(), '--libtensorflow', empty]);
    assert.equal(status, 1);
    assert.match(
      output,
      /--libtensorflow .*: .*lib holds no libtensorflow\.so\* .*expected DIR\/lib\/libtensorflow\.so\* and libtensorflow_framework\.so\*, DIR\/include\/tensorflow\/c\/c_api\.h/,
    );
  });

  it('CUDA libraries are loaded by absolute path before TensorFlow, so that nobody sets LD_LIBRARY_PATH', () => {
    // A library Node does not load itself stands in for libcudart: after the preload it is mapped.
    const library = ['/usr/lib/x86_64-linux-gnu/libbz2.so.1.0', '/lib/x86_64-linux-gnu/libbz2.so.1.0'].find((f) => fs.existsSync(f));
    assert.ok(library, 'libbz2 (Debian: libbz2-1.0) is present');
    const script = `const { preloadSharedLibraries } = require(${JSON.stringify(path.join(ROOT, 'dist', 'src', 'backend.js'))});
const mapped = () => require('fs').readFileSync('/proc/self/maps', 'utf8').includes('libbz2');
const before = mapped();
const problems = preloadSharedLibraries([${JSON.stringify(library)}, '/nonexistent/libcudnn.so.9']);
console.log(JSON.stringify({ before, after: mapped(), problems }));`;
    const result = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8' });
    assert.equal(result.status, 0, result.stderr);
    const seen = JSON.parse(result.stdout.trim());
    assert.deepEqual([seen.before, seen.after], [false, true]);
    assert.equal(seen.problems.length, 1);
    assert.match(seen.problems[0], /\/nonexistent\/libcudnn\.so\.9: /);
  });
});
