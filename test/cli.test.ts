import { strict as assert } from 'assert';
import { spawnSync } from 'child_process';
import * as path from 'path';

const CLI = path.resolve(__dirname, '..', '..', 'bin', 'reslab.js');

function reslab(...args: string[]) {
  const result = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8' });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('reslab CLI', function () {
  this.timeout(60_000);

  it('summary --json prints one JSON object with model, params and flops', () => {
    const { status, stdout, stderr } = reslab('summary', 'resnet56', '--json');
    assert.equal(status, 0, stderr);
    const summary = JSON.parse(stdout);
    assert.equal(summary.model, 'resnet56');
    assert.equal(summary.params, 853_018);
    assert.equal(summary.flops, summarizeFlopsResnet56());
    assert.match(stderr, /backend: native TensorFlow on the CPU/);
  });

  it('summary prints a table per stage with totals, and honours --shortcut', () => {
    const { status, stdout } = reslab('summary', 'resnet20', '--shortcut', 'B');
    assert.equal(status, 0);
    assert.match(stdout, /^resnet20: input 32x32x3, 272,474 parameters/);
    assert.match(stdout, /stage3\s+8x8x64/);
    assert.match(stdout, /total\s+272,474/);
  });

  it('bad input exits non-zero with a clear message', () => {
    const depth = reslab('summary', 'plain21');
    assert.equal(depth.status, 1);
    assert.match(depth.stderr, /depth must be 6n\+2/);
    const shortcut = reslab('summary', 'resnet20', '--shortcut', 'Z');
    assert.match(shortcut.stderr, /unknown shortcut option 'Z'/);
    const flag = reslab('summary', 'resnet20', '--depth', '3');
    assert.equal(flag.status, 2);
    assert.match(flag.stderr, /Unknown option '--depth'/);
    const command = reslab('trian');
    assert.equal(command.status, 2);
    assert.match(command.stderr, /unknown command 'trian'/);
  });
});

/**
 * ResNet-56 multiply-adds computed by hand: stem 32*32*27*16; stage 1: 18 convs 32*32*144*16;
 * stage 2: first conv 16*16*144*32, 17 convs 16*16*288*32; stage 3 likewise at 8x8, 64 filters; FC 640.
 */
function summarizeFlopsResnet56(): number {
  const stem = 32 * 32 * 27 * 16;
  const stage1 = 18 * 32 * 32 * 144 * 16;
  const stage2 = 16 * 16 * 144 * 32 + 17 * 16 * 16 * 288 * 32;
  const stage3 = 8 * 8 * 288 * 64 + 17 * 8 * 8 * 576 * 64;
  return stem + stage1 + stage2 + stage3 + 64 * 10;
}
