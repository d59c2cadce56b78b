import { strict as assert } from 'assert';
import { ChildProcess, spawn } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { requireJupyter, ROOT } from './helpers/jupyter';
import { freePort } from './helpers/net';

/**
 * `npm run lab` as another local user would see it, and as the user stops it: the token is
 * nowhere another user can read (not on the command line, no file readable by others), and a
 * SIGTERM to npm stops the server.
 */

const TOKEN = `reslab-lab-test-${process.pid}`;

async function waitFor(url: string, ms: number): Promise<number> {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      return (await fetch(url)).status;
    } catch {
      if (Date.now() > deadline) throw new Error(`${url} did not answer within ${ms / 1000} s`);
      await new Promise((r) => setTimeout(r, 300));
    }
  }
}

/** Processes whose command line mentions `text` (other than this test's). */
function processesMentioning(text: string): Array<{ pid: number; cmdline: string }> {
  return fs
    .readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d) && Number(d) !== process.pid)
    .flatMap((pid) => {
      try {
        const cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
        return cmdline.includes(text) ? [{ pid: Number(pid), cmdline }] : [];
      } catch {
        return [];
      }
    });
}

describe('npm run lab: the token, the state files, stopping', function () {
  this.timeout(180_000);
  let npm: ChildProcess | undefined;
  after(() => {
    npm?.kill('SIGKILL');
  });

  it('serves with the token from its environment, never on a command line; state directories 0700, runtime files 0600; SIGTERM to npm stops JupyterLab', async () => {
    requireJupyter();
    const port = await freePort();
    // The token as a careful user passes it: in the environment (a --token flag is on npm's own command line).
    npm = spawn('npm', ['run', 'lab', '--', '--port', String(port)], {
      cwd: ROOT,
      env: { ...process.env, RESLAB_LAB_TOKEN: TOKEN },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    npm.stdout?.on('data', (d) => (output += d));
    npm.stderr?.on('data', (d) => (output += d));
    const base = `http://127.0.0.1:${port}`;
    assert.equal(await waitFor(`${base}/api/status?token=${TOKEN}`, 120_000), 200, output);
    assert.equal(await waitFor(`${base}/api/status?token=wrong`, 5_000), 403, 'another token is refused');
    const servers = processesMentioning(`--port=${port}`);
    assert.ok(servers.length > 0, 'the JupyterLab process is found by its port');
    for (const p of processesMentioning(TOKEN)) assert.fail(`the token is on the command line of process ${p.pid}: ${p.cmdline}`);
    const state = path.join(ROOT, '.jupyter');
    for (const dir of [state, ...['config', 'runtime', 'ipython'].map((d) => path.join(state, d))])
      assert.equal((fs.statSync(dir).mode & 0o777).toString(8), '700', dir);
    const runtime = path.join(state, 'runtime');
    const withToken = fs
      .readdirSync(runtime)
      .filter((f) => fs.statSync(path.join(runtime, f)).isFile() && fs.readFileSync(path.join(runtime, f), 'utf8').includes(TOKEN));
    assert.ok(withToken.length > 0, 'the server writes its runtime files (with the token)');
    for (const f of withToken)
      assert.equal((fs.statSync(path.join(runtime, f)).mode & 0o077).toString(8), '0', `${f} is readable by others`);
    // Stopped as a process manager or a terminal's close would: SIGTERM to npm.
    const exited = new Promise((resolve) => npm?.on('exit', resolve));
    npm.kill('SIGTERM');
    await exited;
    const deadline = Date.now() + 20_000;
    while (processesMentioning(`--port=${port}`).length > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 250));
    assert.deepEqual(processesMentioning(`--port=${port}`), [], 'JupyterLab stopped with npm');
    await assert.rejects(fetch(`${base}/api/status`), 'the port is closed');
  });
});
