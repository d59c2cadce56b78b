import { execFileSync, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

/**
 * A real single-node Slurm cluster for the tests: munged, slurmctld and slurmd from Debian's
 * packages (installed by `npm run setup` as root), every file of theirs in a temporary directory,
 * torn down whatever happens (also when the test process exits early).
 */
export class SlurmCluster {
  readonly dir = fs.mkdtempSync(path.join(os.tmpdir(), 'reslab-slurm-'));
  readonly conf = path.join(this.dir, 'slurm.conf');
  private readonly pidFiles = ['munge/munged.pid', 'slurmctld.pid', 'slurmd.pid'].map((f) => path.join(this.dir, f));
  private readonly onExit = () => this.stop();

  /** Why Slurm cannot run here, in one line with the fix, or undefined. */
  static unavailable(): string | undefined {
    if (process.getuid?.() !== 0) return 'the Slurm test starts slurmd and slurmctld, which need root';
    for (const tool of ['munged', 'slurmctld', 'slurmd', 'sbatch']) {
      if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0)
        return `${tool} is missing: run \`npm run setup\` as root, or \`apt-get install slurm-wlm munge\``;
    }
    return undefined;
  }

  /** The environment for the Slurm commands of this cluster. */
  get env(): NodeJS.ProcessEnv {
    return { ...process.env, SLURM_CONF: this.conf };
  }

  /** Starts munged (as the munge user), slurmctld and slurmd; resolves when `sinfo` shows the node idle. */
  async start(cpus: number): Promise<void> {
    process.on('exit', this.onExit);
    const munge = path.join(this.dir, 'munge');
    const socketDir = path.join(this.dir, 'socket');
    for (const [dir, mode] of [
      [munge, 0o700],
      [socketDir, 0o755],
    ] as const) {
      fs.mkdirSync(dir, { mode });
      execFileSync('chown', ['munge:munge', dir]);
    }
    fs.chmodSync(this.dir, 0o755); // munged checks that every directory up to its socket is searchable
    fs.copyFileSync('/etc/munge/munge.key', path.join(munge, 'munge.key'));
    execFileSync('chown', ['munge:munge', path.join(munge, 'munge.key')]);
    fs.chmodSync(path.join(munge, 'munge.key'), 0o600);
    const socket = path.join(socketDir, 'munge.socket');
    execFileSync('su', [
      'munge',
      '-s',
      '/bin/sh',
      '-c',
      `munged --socket=${socket} --key-file=${munge}/munge.key --pid-file=${munge}/munged.pid --log-file=${munge}/munged.log --seed-file=${munge}/munged.seed`,
    ]);
    const host = os.hostname().split('.')[0];
    const port = 20_000 + (process.pid % 20_000);
    fs.mkdirSync(path.join(this.dir, 'state'));
    fs.mkdirSync(path.join(this.dir, 'spool'));
    fs.writeFileSync(
      this.conf,
      [
        'ClusterName=reslab-test',
        `SlurmctldHost=${host}`,
        'SlurmUser=root',
        'AuthType=auth/munge',
        `AuthInfo=socket=${socket}`,
        'CredType=cred/munge',
        'ProctrackType=proctrack/linuxproc',
        'TaskPlugin=task/none',
        'SelectType=select/cons_tres',
        'SelectTypeParameters=CR_Core',
        // The node may be given more CPUs than the machine has (tasks then share them).
        'SlurmdParameters=config_overrides',
        `StateSaveLocation=${this.dir}/state`,
        `SlurmdSpoolDir=${this.dir}/spool`,
        `SlurmctldPidFile=${this.dir}/slurmctld.pid`,
        `SlurmdPidFile=${this.dir}/slurmd.pid`,
        `SlurmctldLogFile=${this.dir}/slurmctld.log`,
        `SlurmdLogFile=${this.dir}/slurmd.log`,
        `SlurmctldPort=${port}`,
        `SlurmdPort=${port + 1}`,
        'ReturnToService=2',
        'MpiDefault=none',
        'JobCompType=jobcomp/none',
        'AccountingStorageType=accounting_storage/none',
        'JobAcctGatherType=jobacct_gather/none',
        'MinJobAge=3600',
        'KillWait=30',
        `NodeName=${host} CPUs=${cpus} RealMemory=${Math.floor(os.totalmem() / 2 ** 20 / 2)} State=UNKNOWN`,
        `PartitionName=main Nodes=${host} Default=YES MaxTime=INFINITE State=UP`,
        '',
      ].join('\n'),
    );
    // The configuration on the command line too: `pkill -f <dir>` then finds every daemon of this cluster.
    execFileSync('slurmctld', ['-c', '-f', this.conf], { env: this.env });
    execFileSync('slurmd', ['-f', this.conf], { env: this.env });
    const deadline = Date.now() + 60_000;
    while (!/\bidle\b/.test(this.run('sinfo', ['-h', '-o', '%t']))) {
      if (Date.now() > deadline) throw new Error(`the Slurm node did not become idle:\n${this.log()}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  /** Runs a Slurm command (sbatch, scontrol, ...) of this cluster; its stdout. */
  run(command: string, args: string[], cwd = this.dir, env: NodeJS.ProcessEnv = {}): string {
    const result = spawnSync(command, args, { cwd, env: { ...this.env, ...env }, encoding: 'utf8' });
    if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} failed: ${result.stderr.trim()}`);
    return result.stdout;
  }

  /** A job's (or array task's) state and exit code, as scontrol shows it. */
  job(id: string): { state: string; exitCode: string } {
    const text = this.run('scontrol', ['show', 'job', id]);
    return { state: /JobState=(\S+)/.exec(text)?.[1] ?? 'UNKNOWN', exitCode: /ExitCode=(\S+)/.exec(text)?.[1] ?? '' };
  }

  /** Resolves when every task of `id` has ended, with their states. */
  async waitUntilDone(id: string, timeoutMs: number): Promise<string[]> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const states = [...this.run('scontrol', ['show', 'job', id]).matchAll(/JobState=(\S+)/g)].map((m) => m[1]);
      if (states.length > 0 && states.every((s) => !/PENDING|RUNNING|CONFIGURING|COMPLETING|REQUEUED|SUSPENDED/.test(s))) return states;
      if (Date.now() > deadline) throw new Error(`job ${id} still ${states.join(', ')} after ${timeoutMs / 1000} s\n${this.log()}`);
      await new Promise((r) => setTimeout(r, 500));
    }
  }

  /** The daemons' logs, for a failure message. */
  log(): string {
    return ['slurmctld.log', 'slurmd.log']
      .map((f) => path.join(this.dir, f))
      .filter((f) => fs.existsSync(f))
      .map((f) => `${f}:\n${fs.readFileSync(f, 'utf8').split('\n').slice(-15).join('\n')}`)
      .join('\n');
  }

  /** Cancels every job and stops the three daemons; nothing of this cluster keeps running. */
  stop(): void {
    process.off('exit', this.onExit);
    spawnSync('scancel', ['--full', '--user', 'root'], { env: this.env });
    const jobsGone = Date.now() + 15_000;
    while (/\S/.test(spawnSync('squeue', ['-h'], { env: this.env, encoding: 'utf8' }).stdout ?? '') && Date.now() < jobsGone)
      spawnSync('sleep', ['0.3']);
    const pids = this.pidFiles.flatMap((file) => {
      try {
        return [Number(fs.readFileSync(file, 'utf8').trim())];
      } catch {
        return []; // not started
      }
    });
    const alive = (pid: number) => {
      try {
        process.kill(pid, 0);
        return !/^State:\s+Z/m.test(fs.readFileSync(`/proc/${pid}/status`, 'utf8')); // a zombie has ended
      } catch {
        return false;
      }
    };
    for (const pid of pids.slice().reverse()) if (alive(pid)) process.kill(pid, 'SIGTERM');
    // Whatever the pid files missed (a daemon that had not written one yet), by its configuration.
    spawnSync('pkill', ['-f', this.dir]);
    const deadline = Date.now() + 20_000;
    while ((pids.some(alive) || this.running()) && Date.now() < deadline) spawnSync('sleep', ['0.2']);
    for (const pid of pids) if (alive(pid)) process.kill(pid, 'SIGKILL');
    spawnSync('pkill', ['-KILL', '-f', this.dir]);
    fs.rmSync(this.dir, { recursive: true, force: true });
  }

  /** Whether a process of this cluster (a daemon, a job step) is still running. */
  running(): boolean {
    const ours = (pid: string) => {
      try {
        const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
        return /^Name:\s+(munged|slurmctld|slurmd|slurmstepd)$/m.test(status) && !/^State:\s+Z/m.test(status);
      } catch {
        return false;
      }
    };
    return fs.readdirSync('/proc').some((pid) => /^\d+$/.test(pid) && ours(pid));
  }
}
