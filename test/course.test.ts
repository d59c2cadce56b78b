import { strict as assert } from 'assert';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { executeNotebook, jupyterEnv, notebookDir, NotebookCell, requireJupyter, ROOT, textOf, VENV_BIN } from './helpers/jupyter';

const NOTEBOOKS = path.join(ROOT, 'notebooks');
const COURSE = path.join(NOTEBOOKS, 'course');
const LESSONS = fs
  .readdirSync(COURSE)
  .filter((f) => f.endsWith('.ipynb'))
  .sort();
const FIGURES = fs
  .readdirSync(NOTEBOOKS)
  .filter((f) => f.endsWith('.ipynb'))
  .sort();

/** A committed notebook as GitHub and nbconvert show it: HTML, without executing anything. */
function renderHtml(file: string): string {
  const result = spawnSync(path.join(VENV_BIN, 'jupyter'), ['nbconvert', '--to', 'html', '--stdout', file], {
    env: jupyterEnv(),
    encoding: 'utf8',
    maxBuffer: 256 * 1024 * 1024,
  });
  if (result.status !== 0) throw new Error(`nbconvert --to html ${file} failed (${result.status}):\n${result.stderr.slice(-2000)}`);
  return result.stdout;
}

const shown = (cells: NotebookCell[]) =>
  cells
    .flatMap((c) => c.outputs ?? [])
    .map((o) => textOf(o) + JSON.stringify(o.data ?? {}))
    .join('\n');

describe('the course: notebook-driven lessons (notebooks/course)', function () {
  this.timeout(1_200_000);
  before(requireJupyter);

  it('six lessons, and a start page that lists them and the figure notebooks with what each needs', () => {
    assert.deepEqual(LESSONS, [
      '1-build-a-residual-block.ipynb',
      '2-gradients-and-responses.ipynb',
      '3-lesion-study.ipynb',
      '4-shortcut-options.ipynb',
      '5-first-steps-of-a-deep-net.ipynb',
      '6-pre-activation.ipynb',
    ]);
    const start = fs.readFileSync(path.join(NOTEBOOKS, 'README.md'), 'utf8');
    for (const name of LESSONS) assert.ok(start.includes(`(course/${name})`), `the start page links ${name}`);
    for (const name of FIGURES) assert.ok(start.includes(`(${name})`), `the start page links ${name}`);
    assert.match(start, /\| minutes at `cpu` scale/);
  });

  for (const file of [...FIGURES.map((f) => path.join(NOTEBOOKS, f)), ...LESSONS.map((f) => path.join(COURSE, f))]) {
    const name = path.relative(NOTEBOOKS, file);
    it(`${name} as GitHub shows it: numbered cells, no error, the result ${name.startsWith('course') ? 'and the exercises ' : ''}in the rendered HTML`, () => {
      const html = renderHtml(file);
      const prompts = [...html.matchAll(/jp-InputArea-prompt">In(?:&nbsp;|\s)\[([^\]]*)\]:/g)].map((m) => m[1].trim());
      assert.ok(prompts.length > 0, 'code cells are rendered');
      assert.deepEqual(
        prompts,
        prompts.map((_, i) => String(i + 1)),
        'every code cell has its execution count, in order',
      );
      assert.doesNotMatch(
        html,
        /Traceback|jp-OutputArea-output[^"]*" data-mime-type="application\/vnd\.jupyter\.stderr"/,
        'no error output',
      );
      if (!name.startsWith('course')) return;
      if (name.startsWith('course/1-')) {
        assert.match(html, /The result, measured in this notebook/);
        assert.match(
          html,
          /does the reference block pass <code>check\.block<\/code>\? \| <strong>yes<\/strong>|does the reference block pass <code>check.block<\/code>\?<\/td>\s*<td><strong>yes<\/strong>/,
        );
      } else {
        // The verdict table, computed at cpu scale on real CIFAR-10: 10,000 training images.
        assert.match(html, /This lesson(&#39;|&#x27;|')s result: \d of 1 claims? reproduced/);
        assert.match(html, /<strong>(reproduced|not reproduced|not at this scale|not tested)<\/strong>/);
        assert.match(html, /10,000 of 50,000 training images/);
        assert.match(html, /What these runs show\./);
      }
      assert.match(html, /<h2 id="(Your-turn|Exercise-\d)/, 'an exercise section ("Your turn" or "Exercise 1")');
      assert.match(
        html,
        /check: [^\n]*\n(?:\s+✔[^\n]*\n)*\s+✘[^\n]*\n(?:\s+[✔✘][^\n]*\n)*(?:[^\n]*\n)*?Not yet: /,
        "the exercise's placeholder fails its check, saying why",
      );
      assert.match(html, /Passed: /, 'the solution passes');
    });
  }

  it("every lesson runs at smoke scale with the tslab kernel, in order in one folder (lesson 3 reuses lesson 2's runs)", () => {
    const dir = notebookDir();
    for (const name of LESSONS) {
      const copy = path.join(dir, name);
      fs.copyFileSync(path.join(COURSE, name), copy);
      const started = Date.now();
      const cells = executeNotebook(copy, 1200, { RESLAB_SCALE: 'smoke' });
      console.log(`      ${name}: ${((Date.now() - started) / 1000).toFixed(0)} s`);
      const errors = cells.flatMap((c) => c.outputs ?? []).filter((o) => o.output_type === 'error');
      assert.deepEqual(
        errors.map((e) => `${e.ename}: ${e.evalue}`),
        [],
        name,
      );
      const text = shown(cells);
      assert.match(text, /Not yet: /, `${name}: the placeholder is caught`);
      assert.match(text, /Passed: /, `${name}: the solution passes`);
      if (!name.startsWith('1-'))
        assert.match(text, /This lesson's result: \d of 1 claims? reproduced/, `${name}: a verdict computed at smoke scale`);
      if (name.startsWith('3-'))
        assert.match(text, /all finished before, shown from their files/, 'lesson 3 shows the runs of lesson 2 from their files');
      const last = cells[cells.length - 1];
      assert.equal(last.cell_type, 'markdown');
      assert.match(Array.isArray(last.source) ? last.source.join('') : last.source, /Read next/);
    }
  });
});
