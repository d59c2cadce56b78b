import { strict as assert } from 'assert';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { parseArgs } from 'util';
import { degradationCommand } from '../src/commands/degradation';
import { gridConfigs, parseShard, shardOf } from '../src/experiments/grid';
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

describe('cluster recipes (deploy/: static checks; no Docker, Slurm or Kubernetes here)', () => {
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
    assert.equal(shard, `$(JOB_COMPLETION_INDEX)/${runs}`);
    const configs = gridConfigs({ nets: ['plain', 'resnet'], depths: [20, 32, 44, 56, 110], seeds: [0], preset: 'paper' });
    for (let index = 0; index < runs; index++) assert.equal(shardOf(configs, parseShard(`${index}/${runs}`)).length, 1);
    assert.equal(job.spec.template.spec.volumes[0].persistentVolumeClaim.claimName, claim.metadata.name);
    const [report] = yamlDocuments(path.join(DEPLOY, 'kubernetes', 'report.yaml'));
    assert.match(report.spec.template.spec.containers[0].args[0], /reslab\.js report \/shared\/runs/);
  });

  it('the Slurm array has one task per run, the same sweep, and both scripts are valid bash', () => {
    const text = fs.readFileSync(path.join(DEPLOY, 'slurm', 'table6.sbatch'), 'utf8');
    const array = /#SBATCH --array=0-(\d+)/.exec(text);
    const command = /reslab\.js" degradation (.*?) \\\n\s+(.*)\n/.exec(text);
    assert.ok(array && command, 'an array and a degradation command');
    const args = `${command[1]} ${command[2]}`.split(/\s+/).map((a) => a.replace(/^"|"$/g, '').replace('$RUNS', '/shared/runs'));
    const { runs, shard } = sweepOf(args);
    assert.equal(Number(array[1]) + 1, runs);
    assert.equal(shard, `\${SLURM_ARRAY_TASK_ID}/${runs}`);
    for (const script of ['table6.sbatch', 'report.sbatch']) {
      const check = spawnSync('bash', ['-n', path.join(DEPLOY, 'slurm', script)], { encoding: 'utf8' });
      assert.equal(check.status, 0, `${script}: ${check.stderr}`);
    }
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
