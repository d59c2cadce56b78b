/*
 * What `npm run setup` and `npm test` need from the operating system (Chromium and Slurm for the
 * tests only), checked before anything
 * else runs. As root with apt-get, setup installs what is missing (after saying so); otherwise it
 * stops with one line per missing prerequisite and the command that installs it.
 *
 * Plain Node.js with no dependencies: it runs before `npm install`.
 */
'use strict';

const cp = require('child_process');
const fs = require('fs');

/** The Chromium that the end-to-end test drives (Debian's; RESLAB_CHROMIUM overrides). */
function chromiumPath() {
  return process.env.RESLAB_CHROMIUM || '/usr/bin/chromium';
}

function succeeds(command, args) {
  const result = cp.spawnSync(command, args, { stdio: 'ignore' });
  return !result.error && result.status === 0;
}

/**
 * Every prerequisite: what it is for, how to check it, and the Debian package that provides it.
 * `testsOnly`: needed by the test suite (and the project's JupyterLab), not to train; not asked for
 * with `--no-jupyter` (an image that only trains).
 * @type {Array<{ name: string, purpose: string, debian: string[], present: () => boolean, testsOnly?: boolean }>}
 */
const PREREQUISITES = [
  {
    name: 'python3 with pip',
    purpose: 'fetches the TensorFlow wheel and JupyterLab',
    debian: ['python3-pip'],
    present: () => succeeds('python3', ['-m', 'pip', '--version']),
  },
  {
    name: 'python3 venv',
    purpose: "the project's JupyterLab environment (.venv)",
    debian: ['python3-venv'],
    present: () => succeeds('python3', ['-c', 'import venv, ensurepip']),
  },
  { name: 'g++', purpose: 'compiles the native TensorFlow addon', debian: ['g++'], present: () => succeeds('g++', ['--version']) },
  { name: 'make', purpose: 'compiles the native TensorFlow addon', debian: ['make'], present: () => succeeds('make', ['--version']) },
  {
    name: `Chromium (${chromiumPath()})`,
    purpose: 'the end-to-end test of the JupyterLab extension',
    debian: ['chromium'],
    present: () => fs.existsSync(chromiumPath()),
    testsOnly: true,
  },
  {
    name: 'Slurm (slurmctld, slurmd, sbatch) and munge',
    purpose: 'the test that submits deploy/slurm/ to a real single-node Slurm',
    debian: ['slurm-wlm', 'munge'],
    present: () => ['slurmctld', 'slurmd', 'sbatch', 'munged'].every((tool) => succeeds('sh', ['-c', `command -v ${tool}`])),
    testsOnly: true,
  },
];

/**
 * The prerequisites that are missing on this machine; without Jupyter (`--no-jupyter`, e.g. a
 * cluster image that only trains) Chromium is not needed.
 */
function missingPrerequisites({ jupyter = true } = {}) {
  return PREREQUISITES.filter((p) => (jupyter || !p.testsOnly) && !p.present());
}

function canInstallWithApt() {
  const root = typeof process.getuid === 'function' && process.getuid() === 0;
  return root && process.env.RESLAB_SETUP_NO_APT !== '1' && succeeds('apt-get', ['--version']);
}

/**
 * Makes sure every prerequisite is there: installs missing Debian packages as root, else returns
 * the lines that tell the user what to install (empty when nothing is missing).
 * @param {(message: string) => void} log
 * @param {{ jupyter?: boolean }} [options]
 * @returns {string[]} one line per prerequisite still missing
 */
function ensurePrerequisites(log, options = {}) {
  let missing = missingPrerequisites(options);
  if (missing.length === 0) return [];
  const packages = [...new Set(missing.flatMap((p) => p.debian))];
  if (canInstallWithApt()) {
    log(`installing missing system packages with apt-get: ${packages.join(' ')} (${missing.map((p) => p.name).join(', ')})`);
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    cp.spawnSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
    cp.spawnSync('apt-get', ['install', '-y', '-qq', ...packages], { stdio: 'inherit', env });
    missing = missingPrerequisites(options);
  }
  const how = (p) =>
    p.debian.includes('chromium') && process.env.RESLAB_CHROMIUM
      ? `install Chromium at ${chromiumPath()} or unset RESLAB_CHROMIUM`
      : `sudo apt-get install ${p.debian.join(' ')}`;
  return missing.map((p) => `missing ${p.name} (needed for ${p.purpose}): ${how(p)}`);
}

module.exports = { chromiumPath, ensurePrerequisites, missingPrerequisites };
