#!/usr/bin/env node
/*
 * npm run notebooks [-- --scale smoke|cpu|paper] [--data-dir DIR] [names...]
 * Executes the notebooks (notebooks/ and the course in notebooks/course/) in place with the
 * project's Jupyter and the tslab kernel, so that their committed outputs come from a real run,
 * and numbers their code cells in the order they ran (tslab reports no execution counts).
 * Stops at the first cell error.
 *
 * npm run notebooks -- --redraw [names...]
 * Executes nothing: draws the static renderings (text/html, text/plain) of every live view and
 * figure output again from the data stored with it (the view's payload, the Plotly figure), so
 * that a change of the static renderer shows in committed notebooks without training again.
 */
'use strict';
const { spawnSync } = require('child_process');
const fs = require('fs');
const path = require('path');
const { jupyterEnv, JUPYTER } = require('./lab.js');

const ROOT = path.resolve(__dirname, '..');
const DIRS = [path.join(ROOT, 'notebooks'), path.join(ROOT, 'notebooks', 'course')];

/** Numbers the code cells 1, 2, ... as they ran top to bottom (and their results with them). */
function numberCells(file) {
  const notebook = JSON.parse(fs.readFileSync(file, 'utf8'));
  let count = 0;
  for (const cell of notebook.cells) {
    if (cell.cell_type !== 'code') continue;
    cell.execution_count = ++count;
    for (const output of cell.outputs ?? []) if (output.output_type === 'execute_result') output.execution_count = count;
  }
  fs.writeFileSync(file, `${JSON.stringify(notebook, null, 1)}\n`);
}

/** Draws every reslab output's static renderings again from its stored payload or figure. */
function redraw(file) {
  const { staticHtml, textSummary, figureHtml } = require(path.join(ROOT, 'kernel-ext'));
  const { RUN_VIEW_MIME, PLOTLY_MIME } = require(path.join(ROOT, 'protocol'));
  const notebook = JSON.parse(fs.readFileSync(file, 'utf8'));
  let drawn = 0;
  for (const cell of notebook.cells)
    for (const output of cell.outputs ?? []) {
      const data = output.data ?? {};
      if (data[RUN_VIEW_MIME]) {
        data['text/html'] = staticHtml(data[RUN_VIEW_MIME]);
        data['text/plain'] = textSummary(data[RUN_VIEW_MIME]);
        drawn++;
      } else if (data[PLOTLY_MIME] && data['text/html'] !== undefined) {
        data['text/html'] = figureHtml(data[PLOTLY_MIME]);
        drawn++;
      }
    }
  fs.writeFileSync(file, `${JSON.stringify(notebook, null, 1)}\n`);
  return drawn;
}

const USAGE = `usage: npm run notebooks [-- --scale smoke|cpu|paper] [--data-dir DIR] [names...]
       npm run notebooks -- --redraw [names...]
Executes the notebooks in place (notebooks/ and notebooks/course/, or those whose path contains a
name), numbering their cells; --redraw only draws their static renderings again from stored data.`;

function main() {
  const argv = process.argv.slice(2);
  if (argv.includes('--help') || argv.includes('-h')) return void console.log(USAGE);
  const unknown = argv.find((a) => a.startsWith('--') && !['--scale', '--data-dir', '--redraw'].includes(a));
  if (unknown) {
    console.error(`unknown flag ${unknown}\n${USAGE}`);
    process.exit(2);
  }
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
  const redrawOnly = argv.includes('--redraw');
  const wanted = argv.filter((a) => a !== '--redraw');
  const notebooks = DIRS.flatMap((dir) =>
    fs
      .readdirSync(dir)
      .filter((f) => f.endsWith('.ipynb'))
      .sort()
      .map((f) => path.join(dir, f)),
  ).filter((file) => wanted.length === 0 || wanted.some((w) => path.relative(ROOT, file).includes(w)));
  if (notebooks.length === 0) {
    console.error(`no notebook matches ${wanted.join(', ')}`);
    process.exit(2);
  }
  if (redrawOnly) {
    for (const file of notebooks) console.log(`${path.relative(ROOT, file)}: ${redraw(file)} outputs drawn again from their stored data`);
    return;
  }
  const env = {
    ...jupyterEnv(path.join(ROOT, '.jupyter')),
    RESLAB_SCALE: scale,
    ...(dataDir ? { RESLAB_DATA_DIR: path.resolve(dataDir) } : {}),
  };
  for (const file of notebooks) {
    const name = path.relative(ROOT, file);
    const started = Date.now();
    const result = spawnSync(
      JUPYTER,
      ['nbconvert', '--to', 'notebook', '--execute', '--inplace', '--ExecutePreprocessor.timeout=-1', file],
      {
        env,
        stdio: 'inherit',
        cwd: path.dirname(file),
      },
    );
    if (result.status !== 0) {
      console.error(`${name}: failed`);
      process.exit(1);
    }
    numberCells(file);
    console.log(`${name}: executed at ${scale} scale in ${((Date.now() - started) / 1000).toFixed(0)} s`);
  }
}

if (require.main === module) main();
module.exports = { numberCells, redraw };
