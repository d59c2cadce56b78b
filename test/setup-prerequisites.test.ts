import { strict as assert } from 'assert';
import * as cp from 'child_process';
import * as path from 'path';

const ROOT = path.resolve(__dirname, '..', '..');

describe('npm run setup: prerequisites are checked before anything else runs', function () {
  this.timeout(60_000);
  it('a missing Chromium is reported with the command that installs it, and setup stops before npm install', () => {
    const result = cp.spawnSync(process.execPath, [path.join(ROOT, 'scripts', 'setup.js')], {
      cwd: ROOT,
      encoding: 'utf8',
      env: { ...process.env, RESLAB_CHROMIUM: '/nonexistent/chromium', RESLAB_SETUP_NO_APT: '1' },
      timeout: 60_000,
    });
    assert.equal(result.status, 1, result.stderr);
    assert.match(
      result.stderr,
      /missing Chromium \(\/nonexistent\/chromium\) \(needed for the end-to-end test of the JupyterLab extension\): install Chromium at \/nonexistent\/chromium or unset RESLAB_CHROMIUM/,
    );
    assert.match(result.stderr, /FAILED: 1 prerequisite\(s\) missing; install them and run npm run setup again/);
    assert.doesNotMatch(result.stdout, /installing npm packages/, 'nothing else ran');
    assert.doesNotMatch(result.stderr, /\n\s+at /, 'no stack trace');
  });

  it('on the machine that ran setup, nothing is missing (setup installed what the tests need)', () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { missingPrerequisites } = require(path.join(ROOT, 'scripts', 'prerequisites.js')) as {
      missingPrerequisites: () => Array<{ name: string }>;
    };
    assert.deepEqual(
      missingPrerequisites().map((p) => p.name),
      [],
    );
  });
});
