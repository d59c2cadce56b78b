import { strict as assert } from 'assert';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { parseArgs } from 'util';
import { degradationCommand } from '../src/commands/degradation';
import { gridConfigs, shardFromEnvironment, shardOf } from '../src/experiments/grid';
import { VENV_BIN } from './helpers/jupyter';

const ROOT = path.resolve(__dirname, '..', '..');
const DEPLOY = path.join(ROOT, 'deploy');

/** The fields of the Kubernetes objects that the checks read. */
interface KubernetesObject {
  kind: string;
  metadata: { name: string };
  spec: {
    accessModes?: string[];
    completionMode?: string;
    completions?: number;
    template: { spec: { containers: Array<{ args: string[] }>; volumes: Array<{ persistentVolumeClaim: { claimName: string } }> } };
  };
}

/** Every YAML document of a file, parsed by PyYAML (from the project's .venv). */
function yamlDocuments(file: string): KubernetesObject[] {
  const script = 'import json, sys, yaml; print(json.dumps(list(yaml.safe_load_all(open(sys.argv[1])))))';
  const result = spawnSync(path.join(VENV_BIN, 'python'), ['-c', script, file], { encoding: 'utf8' });
  assert.equal(result.status, 0, result.stderr);
  return JSON.parse(result.stdout) as KubernetesObject[];
}

/** The runs a `degradation` command line sweeps over, parsed with the CLI's own flag definitions. */
function sweepOf(args: string[]): { runs: number; shard?: string } {
  const { values } = parseArgs({ args, options: degradationCommand.options, allowPositionals: false, strict: true });
  const runs = gridConfigs({
    nets: String(values.nets).split(',') as Array<'plain' | 'resnet'>,
    depths: String(values.depths).split(',').map(Number),
    seeds: Array.from({ length: Number(values.seeds ?? 1) }, (_, i) => i),
    preset: String(values.preset) as 'paper',
  }).length;
  return { runs, shard: values.shard as string | undefined };
}

describe('cluster recipes (deploy/: static checks; Slurm runs for real in test/slurm.test.ts)', () => {
  it('the Kubernetes Indexed Job has one index per run of its sweep, and every index trains exactly one run', () => {
    const [claim, job] = yamlDocuments(path.join(DEPLOY, 'kubernetes', 'table6.yaml'));
    assert.equal(claim.kind, 'PersistentVolumeClaim');
    assert.deepEqual(claim.spec.accessModes, ['ReadWriteMany']);
    assert.equal(job.kind, 'Job');
    assert.equal(job.spec.completionMode, 'Indexed');
    const container = job.spec.template.spec.containers[0];
    const args = container.args.slice(1);
    assert.equal(container.args[0], 'degradation');
    const { runs, shard } = sweepOf(args);
    assert.equal(runs, 10, 'plain and ResNet at 20, 32, 44, 56, 110');
    assert.equal(job.spec.completions, runs);
    assert.equal(shard, 'auto');
    const env = (container as unknown as { env: Array<{ name: string; value: string }> }).env;
    assert.equal(env.find((e) => e.name === 'RESLAB_SHARD_COUNT')?.value, String(runs), 'the completions count, which a pod is not told');
    const configs = gridConfigs({ nets: ['plain', 'resnet'], depths: [20, 32, 44, 56, 110], seeds: [0], preset: 'paper' });
    for (let index = 0; index < runs; index++)
      assert.equal(
        shardOf(configs, shardFromEnvironment({ JOB_COMPLETION_INDEX: String(index), RESLAB_SHARD_COUNT: String(runs) })).length,
        1,
      );
    assert.equal(job.spec.template.spec.volumes[0].persistentVolumeClaim.claimName, claim.metadata.name);
    const [report] = yamlDocuments(path.join(DEPLOY, 'kubernetes', 'report.yaml'));
    assert.match(report.spec.template.spec.containers[0].args[0], /reslab\.js report \/shared\/runs/);
  });

  it("the Slurm array has one task per run of the script's default sweep, and both scripts are valid bash", () => {
    const text = fs.readFileSync(path.join(DEPLOY, 'slurm', 'table6.sbatch'), 'utf8');
    const array = /#SBATCH --array=0-(\d+)/.exec(text);
    const defaults = (name: string) => new RegExp(`\\$\\{${name}:-([^}]*)\\}`).exec(text)?.[1];
    const runs = gridConfigs({
      nets: String(defaults('NETS')).split(',') as Array<'plain' | 'resnet'>,
      depths: String(defaults('DEPTHS')).split(',').map(Number),
      seeds: [0],
      preset: defaults('PRESET') as 'paper',
    }).length;
    assert.ok(array, 'an array');
    assert.equal(Number(array[1]) + 1, runs);
    assert.match(text, /--shard auto/);
    assert.doesNotMatch(text, /#SBATCH --gres/, 'a GPU is asked for on the sbatch command line, not always');
    for (const script of ['table6.sbatch', 'report.sbatch']) {
      const check = spawnSync('bash', ['-n', path.join(DEPLOY, 'slurm', script)], { encoding: 'utf8' });
      assert.equal(check.status, 0, `${script}: ${check.stderr}`);
    }
  });

  it('--shard auto reads Slurm and Kubernetes array indices; without them it says what is missing', () => {
    assert.deepEqual(shardFromEnvironment({ SLURM_ARRAY_TASK_ID: '3', SLURM_ARRAY_TASK_COUNT: '10' }), { index: 3, count: 10 });
    assert.deepEqual(shardFromEnvironment({ SLURM_ARRAY_TASK_ID: '3', SLURM_ARRAY_TASK_COUNT: '1', RESLAB_SHARD_COUNT: '10' }), {
      index: 3,
      count: 10,
    });
    assert.throws(
      () => shardFromEnvironment({}),
      /--shard auto needs an array job: SLURM_ARRAY_TASK_ID .* or JOB_COMPLETION_INDEX .* is not set/,
    );
    assert.throws(
      () => shardFromEnvironment({ JOB_COMPLETION_INDEX: '2' }),
      /Kubernetes does not tell a pod its completions.*set RESLAB_SHARD_COUNT/,
    );
    assert.throws(
      () => shardFromEnvironment({ SLURM_ARRAY_TASK_ID: '5', SLURM_ARRAY_TASK_COUNT: '2' }),
      /--shard auto \(task 5 of 2\) expects i\/N/,
    );
  });

  it('the Dockerfiles run the setup command CI runs (GPU: with --gpu) on Node 20 and CUDA 12, and start the CLI', () => {
    const ci = fs.readFileSync(path.join(ROOT, '.ci', 'run'), 'utf8');
    assert.match(ci, /npm run setup/);
    const cpu = fs.readFileSync(path.join(DEPLOY, 'docker', 'Dockerfile.cpu'), 'utf8');
    const gpu = fs.readFileSync(path.join(DEPLOY, 'docker', 'Dockerfile.gpu'), 'utf8');
    assert.match(cpu, /^FROM node:20-/m);
    assert.match(cpu, /^RUN npm run setup -- --no-jupyter$/m);
    assert.match(gpu, /^FROM nvidia\/cuda:12\.[\d.]+-cudnn-runtime-/m);
    assert.match(gpu, /^ARG NODE_VERSION=20\./m);
    assert.match(gpu, /^RUN npm run setup -- --gpu --no-jupyter$/m);
    for (const file of [cpu, gpu]) {
      assert.match(file, /^ENTRYPOINT \["node", "\/opt\/reslab\/bin\/reslab\.js"\]$/m);
      // Every package setup's prerequisite check asks for (scripts/prerequisites.js), Chromium aside (no Jupyter here).
      for (const pkg of ['python3-pip', 'python3-venv', 'g++', 'make']) assert.ok(file.includes(` ${pkg}`), pkg);
    }
    assert.ok(fs.existsSync(path.join(ROOT, 'bin', 'reslab.js')));
  });
});
