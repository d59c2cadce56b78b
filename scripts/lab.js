#!/usr/bin/env node
/*
 * npm run lab: the project's JupyterLab (from .venv) on 127.0.0.1 with the tslab kernel and the
 * reslab extension. Jupyter's state stays in .jupyter/, not in the home directory.
 *   npm run lab -- --port 8899 --token secret
 */
'use strict';
const { spawn, spawnSync } = require('child_process');
const fs = require('fs');
const path = require('path');

const ROOT = path.resolve(__dirname, '..');
const JUPYTER = path.join(ROOT, '.venv', 'bin', 'jupyter');

/** Environment that keeps Jupyter's configuration, runtime files and IPython state under `stateDir`. */
function jupyterEnv(stateDir) {
  for (const sub of ['config', 'runtime', 'ipython']) fs.mkdirSync(path.join(stateDir, sub), { recursive: true });
  return {
    ...process.env,
    JUPYTER_CONFIG_DIR: path.join(stateDir, 'config'),
    JUPYTER_RUNTIME_DIR: path.join(stateDir, 'runtime'),
    IPYTHONDIR: path.join(stateDir, 'ipython'),
    JUPYTER_PLATFORM_DIRS: '1',
  };
}

/** Arguments for a local, offline-friendly JupyterLab server. */
function labArgs({ port, token, rootDir }) {
  const args = [
    'lab',
    '--no-browser',
    '--ip=127.0.0.1',
    `--port=${port}`,
    `--IdentityProvider.token=${token}`,
    `--ServerApp.root_dir=${rootDir}`,
    '--LabApp.extension_manager=readonly',
    '--ServerApp.port_retries=0',
  ];
  if (typeof process.getuid === 'function' && process.getuid() === 0) args.push('--allow-root');
  return args;
}

/** Turns off the startup announcements, which would go online. */
function disableAnnouncements(env) {
  spawnSync(JUPYTER, ['labextension', 'disable', '@jupyterlab/apputils-extension:announcements'], { env, stdio: 'ignore' });
}

function main() {
  if (!fs.existsSync(JUPYTER)) {
    console.error('npm run lab: .venv is missing; run `npm run setup` first');
    process.exit(1);
  }
  const argv = process.argv.slice(2);
  const option = (name, fallback) => {
    const i = argv.indexOf(`--${name}`);
    return i >= 0 && argv[i + 1] ? argv[i + 1] : fallback;
  };
  const port = option('port', '8888');
  const token = option('token', process.env.RESLAB_LAB_TOKEN || require('crypto').randomBytes(12).toString('hex'));
  const env = jupyterEnv(path.join(ROOT, '.jupyter'));
  disableAnnouncements(env);
  console.log(`JupyterLab with tslab + reslab: http://127.0.0.1:${port}/lab?token=${token}`);
  const child = spawn(JUPYTER, labArgs({ port, token, rootDir: ROOT }), { env, stdio: 'inherit' });
  for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal));
  child.on('exit', (code) => process.exit(code ?? 0));
}

if (require.main === module) main();
module.exports = { jupyterEnv, labArgs, disableAnnouncements, JUPYTER };
