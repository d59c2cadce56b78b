#!/usr/bin/env node
/*
 * npm run notebooks [-- --scale smoke|cpu|paper] [--data-dir DIR] [names...]
 * Executes the notebooks in place with the project's Jupyter and the tslab kernel, so that their
 * committed outputs come from a real run. Stops at the first cell error.
 */
'use strict';
const { spawnSync } = require('child_process');
const fs = require('fs');
const path = require('path');
const { jupyterEnv, JUPYTER } = require('./lab.js');

const ROOT = path.resolve(__dirname, '..');
const DIR = path.join(ROOT, 'notebooks');
const argv = process.argv.slice(2);
const flag = (name) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv.splice(i, 2)[1] : undefined;
};
const scale = flag('scale') ?? 'cpu';
if (!['smoke', 'cpu', 'paper'].includes(scale)) {
  console.error(`--scale expects smoke, cpu or paper, got '${scale}'`);
  process.exit(2);
}
const dataDir = flag('data-dir');
const wanted = argv;
const notebooks = fs
  .readdirSync(DIR)
  .filter((f) => f.endsWith('.ipynb') && (wanted.length === 0 || wanted.some((w) => f.includes(w))))
  .sort();
const env = {
  ...jupyterEnv(path.join(ROOT, '.jupyter')),
  RESLAB_SCALE: scale,
  ...(dataDir ? { RESLAB_DATA_DIR: path.resolve(dataDir) } : {}),
};
for (const name of notebooks) {
  const started = Date.now();
  const result = spawnSync(
    JUPYTER,
    ['nbconvert', '--to', 'notebook', '--execute', '--inplace', '--ExecutePreprocessor.timeout=-1', path.join(DIR, name)],
    { env, stdio: 'inherit', cwd: DIR },
  );
  if (result.status !== 0) {
    console.error(`${name}: failed`);
    process.exit(1);
  }
  console.log(`${name}: executed at ${scale} scale in ${((Date.now() - started) / 1000).toFixed(0)} s`);
}
