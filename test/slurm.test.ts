import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { RunEvent, TrainEvent } from 'reslab-protocol';
import { bundledDataDir } from '../src/data/cifar';
import { readRunEvents } from '../src/runs';
import { SlurmCluster } from './helpers/slurm';

/**
 * The repository's own Slurm scripts (deploy/slurm/), submitted to a real single-node Slurm at a
 * small scale: the Table 6 array and the report after it, then faults: a task cancelled mid-run
 * and requeued, and an index submitted twice.
 */

const ROOT = path.resolve(__dirname, '..', '..');
const TABLE6 = path.join(ROOT, 'deploy', 'slurm', 'table6.sbatch');
const REPORT = path.join(ROOT, 'deploy', 'slurm', 'report.sbatch');
/** What the paper's task asks for (8 CPUs, 32 GB) is more than this machine has: the test asks for less on the command line, as a user of a small cluster would. */
const SMALL = ['--cpus-per-task=1', '--mem=3G', '--parsable'];

const iterationsOf = (events: RunEvent[], type: 'train' | 'checkpoint') =>
  events.filter((e) => e.type === type).map((e) => (e as TrainEvent).iteration);

describe('Slurm: the repository scripts on a real single-node cluster', function () {
  this.timeout(900_000);
  const cluster = new SlurmCluster();
  let work: string;

  before(async function () {
    this.timeout(120_000);
    const why = SlurmCluster.unavailable();
    if (why) throw new Error(why);
    await cluster.start(4);
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'reslab-slurm-work-'));
    fs.mkdirSync(path.join(work, 'logs'));
  });

  after(() => {
    cluster.stop();
    assert.equal(cluster.running(), false, 'no daemon of the test cluster is left running');
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  /** The sweep's environment: the scripts' settings, a small scale, this checkout, the bundled data. */
  const sweep = (runs: string, settings: Record<string, string>) => ({
    RESLAB: ROOT,
    RUNS: runs,
    PRESET: 'smoke',
    NETS: 'plain,resnet',
    DEPTHS: '8',
    DATA_DIR: bundledDataDir(),
    ...settings,
  });

  it('table6.sbatch trains every run of the sweep exactly once; report.sbatch after it writes the report with its verdicts; the logs are where the script says', async () => {
    const runs = path.join(work, 'sweep', 'runs');
    const env = sweep(runs, { ITERATIONS: '20' });
    const job = cluster.run('sbatch', ['--array=0-1', ...SMALL, TABLE6], work, env).trim();
    const report = cluster
      .run('sbatch', [`--dependency=afterany:${job}`, ...SMALL, REPORT], work, { ...env, REPORT: path.join(work, 'sweep', 'report') })
      .trim();
    assert.deepEqual(await cluster.waitUntilDone(job, 300_000), ['COMPLETED', 'COMPLETED']);
    assert.deepEqual(await cluster.waitUntilDone(report, 300_000), ['COMPLETED']);
    for (const id of ['plain8-w0.25-s0', 'resnet8-w0.25-s0']) {
      const events = readRunEvents(path.join(runs, id));
      assert.deepEqual(iterationsOf(events, 'train'), [10, 20], `${id}: every logged iteration once`);
      assert.equal(events.filter((e) => e.type === 'run_end').length, 1);
    }
    const summary = JSON.parse(fs.readFileSync(path.join(work, 'sweep', 'report', 'summary.json'), 'utf8'));
    assert.deepEqual(
      summary.claims.map((c: { id: string }) => c.id),
      ['degradation', 'residual-fixes-degradation', 'residual-gains-from-depth', 'smaller-responses'],
    );
    assert.ok(summary.claims.every((c: { verdict: string }) => typeof c.verdict === 'string'));
    assert.match(fs.readFileSync(path.join(work, 'sweep', 'report', 'index.html'), 'utf8'), /The paper's claims/);
    for (const task of ['0', '1']) {
      const log = fs.readFileSync(path.join(work, 'logs', `table6-${job}_${task}.out`), 'utf8');
      assert.match(log, /\[1\/1\] (plain|resnet)8-w0\.25-s0 completed at iteration 20/);
    }
    assert.match(fs.readFileSync(path.join(work, 'logs', `report-${report}.out`), 'utf8'), /The paper's claims: /);
  });

  it('a task cancelled mid-run checkpoints on SIGTERM; requeued, it resumes and logs every iteration once; a duplicated index is refused by the lock', async () => {
    const runs = path.join(work, 'faults', 'runs');
    // Long enough that both tasks are still training when they are cancelled or duplicated.
    const env = sweep(runs, { ITERATIONS: '360' });
    const job = cluster.run('sbatch', ['--array=0-1', ...SMALL, TABLE6], work, env).trim();
    const plain = path.join(runs, 'plain8-w0.25-s0');
    const resnet = path.join(runs, 'resnet8-w0.25-s0');
    const until = async (what: string, ok: () => boolean) => {
      const deadline = Date.now() + 300_000;
      while (!ok()) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\n${cluster.log()}`);
        await new Promise((r) => setTimeout(r, 200));
      }
    };
    const has = (dir: string, type: 'train' | 'checkpoint', at = 1) =>
      fs.existsSync(path.join(dir, 'metrics.jsonl')) && iterationsOf(readRunEvents(dir), type).some((i) => i >= at);
    await until('the first checkpoint of task 0', () => has(plain, 'checkpoint'));
    cluster.run('scancel', [`${job}_0`]);
    // The same index once more, while task 1 trains: the run directory's lock refuses it.
    await until('task 1 training', () => has(resnet, 'train'));
    const duplicate = cluster.run('sbatch', ['--array=1', ...SMALL, TABLE6], work, { ...env, RESLAB_SHARD_COUNT: '2' }).trim();
    assert.deepEqual(await cluster.waitUntilDone(duplicate, 120_000), ['FAILED']);
    assert.match(
      fs.readFileSync(path.join(work, 'logs', `table6-${duplicate}_1.out`), 'utf8'),
      /resnet8-w0\.25-s0 is being trained by process \d+ on .*; wait for it to finish, or delete .*lock if that process is gone/,
    );
    await until('task 0 to stop', () => /CANCELLED|FAILED|COMPLETED/.test(cluster.job(`${job}_0`).state));
    const last = readRunEvents(plain).pop();
    assert.equal(last?.type === 'run_end' ? last.status : last?.type, 'stopped', 'SIGTERM: a checkpoint, then the end');
    cluster.run('scontrol', ['requeue', `${job}_0`]);
    try {
      cluster.run('scontrol', ['update', `jobid=${job}_0`, 'StartTime=now']); // Slurm holds a requeued job for two minutes
    } catch {
      // it may have started already
    }
    assert.deepEqual(await cluster.waitUntilDone(job, 600_000), ['COMPLETED', 'COMPLETED']);
    const every = Array.from({ length: 36 }, (_, i) => 10 * (i + 1));
    for (const dir of [plain, resnet]) {
      const events = readRunEvents(dir);
      assert.deepEqual(iterationsOf(events, 'train'), every, `${path.basename(dir)}: every logged iteration exactly once`);
      const end = events[events.length - 1];
      assert.ok(end.type === 'run_end' && end.status === 'completed');
    }
    const resumed = readRunEvents(plain).filter((e) => e.type === 'run_start');
    assert.equal(resumed.length, 2, 'task 0 started twice');
    assert.ok(resumed[1].iteration > 0, `the requeued task resumed at iteration ${resumed[1].iteration}`);
  });
});
