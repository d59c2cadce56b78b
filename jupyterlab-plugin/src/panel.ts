import { Widget } from '@lumino/widgets';
import { folderOf } from './folder';
import { Chart, errorChart, heatmapChart, runLabel } from './charts';
import { MAX_SMOOTHING, RunsModel, RunView, Scope } from './model';

/** Run ids longer than this are shortened in the list (the full id shows on hover). */
const MAX_ID_CHARS = 48;
import { clear, draw, exportImage, resize } from './plot';

/** A source key as people read it: the notebook's path, or `folder <path>`. */
function sourceName(source: string): string {
  const folder = folderOf(source);
  return folder !== undefined ? `folder ${folder || '/'}` : source;
}

const scopeValue = (scope: Scope) => (typeof scope === 'string' ? scope : `source:${scope.source}`);

function element<K extends keyof HTMLElementTagNameMap>(tag: K, className: string, text?: string): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  node.className = className;
  // Names and labels are always text, never markup.
  if (text !== undefined) node.textContent = text;
  return node;
}

/**
 * The "ResLab" sidebar: the active notebook's runs, their error curves, and a block-wise
 * heatmap. A thin view over {@link RunsModel}; redraws are coalesced to one per animation frame.
 */
export class ResLabPanel extends Widget {
  private readonly header = element('div', 'jp-ResLab-header');
  private readonly warnings = element('ul', 'jp-ResLab-warnings');
  private readonly runList = element('ul', 'jp-ResLab-runs');
  private readonly curves = element('div', 'jp-ResLab-curves');
  private readonly heatmapControls = element('div', 'jp-ResLab-controls');
  private readonly heatmap = element('div', 'jp-ResLab-heatmap');
  private readonly footer = element('div', 'jp-ResLab-footer');
  private readonly logToggle = element('input', 'jp-ResLab-log');
  private readonly seedsToggle = element('input', 'jp-ResLab-seeds');
  private readonly runSelect = element('select', 'jp-ResLab-run-select');
  private readonly metricSelect = element('select', 'jp-ResLab-metric');
  private readonly scopeSelect = element('select', 'jp-ResLab-scope');
  private readonly closeFolder = element('button', 'jp-ResLab-close-folder', 'Close folder');
  private readonly smoothing = element('input', 'jp-ResLab-smoothing');
  private readonly smoothingValue = element('span', 'jp-ResLab-smoothing-value');
  private frame = 0;
  private rendering = false;
  private stale = false;
  /** Time of the last redraw in ms (shown in the footer; read by the end-to-end test). */
  lastUpdateMs = 0;

  /** `openFolder` asks for a runs directory and opens it (the JupyterLab command). */
  constructor(
    readonly model: RunsModel,
    openFolder: () => void = () => undefined,
  ) {
    super();
    this.addClass('jp-ResLab-panel');
    this.id = 'reslab-sidebar';
    this.title.label = 'ResLab';
    this.title.caption = 'reslab: live training curves and block-wise statistics';
    this.logToggle.type = 'checkbox';
    this.logToggle.addEventListener('change', () => model.setLogScale(this.logToggle.checked));
    const logLabel = element('label', 'jp-ResLab-log-label');
    logLabel.append(this.logToggle, document.createTextNode(' log scale'));
    // Several seeds of one net: a mean with a band (min to max) unless this asks for every seed.
    this.seedsToggle.type = 'checkbox';
    this.seedsToggle.title = 'one line per seed instead of the mean of the seeds with a band from the lowest to the highest';
    this.seedsToggle.addEventListener('change', () => model.setSeeds(this.seedsToggle.checked ? 'each' : 'mean'));
    const seedsLabel = element('label', 'jp-ResLab-seeds-label');
    seedsLabel.append(this.seedsToggle, document.createTextNode(' each seed'));
    for (const [value, text] of [
      ['branchRatio', '‖F(x)‖/‖x‖'],
      ['outputNorm', '‖output‖'],
    ]) {
      const option = element('option', '', text);
      option.value = value;
      this.metricSelect.append(option);
    }
    this.metricSelect.addEventListener('change', () => model.setHeatmapMetric(this.metricSelect.value as 'branchRatio' | 'outputNorm'));
    this.runSelect.addEventListener('change', () => model.selectRun(this.runSelect.value || undefined));
    this.heatmapControls.append(this.runSelect, this.metricSelect);
    // Which runs: the active notebook's, one notebook's or runs directory's, or all of them.
    this.scopeSelect.title = 'which runs the sidebar shows';
    this.scopeSelect.addEventListener('change', () => {
      const value = this.scopeSelect.value;
      model.setScope(value === 'active' || value === 'all' ? value : { source: value.slice('source:'.length) });
    });
    const openFolderButton = element('button', 'jp-ResLab-open-folder', 'Open runs folder…');
    openFolderButton.title = 'show the runs of a directory (a CLI sweep, a shared Slurm folder); it refreshes while they train';
    openFolderButton.addEventListener('click', () => openFolder());
    this.closeFolder.addEventListener('click', () => {
      const folder = typeof model.scope === 'object' ? folderOf(model.scope.source) : undefined;
      if (folder !== undefined) model.closeFolder(folder);
    });
    const sources = element('div', 'jp-ResLab-controls');
    sources.append(this.scopeSelect, openFolderButton, this.closeFolder);
    // TensorBoard's smoothing of the (noisy) running training error; the raw curve stays faint.
    this.smoothing.type = 'range';
    this.smoothing.min = '0';
    this.smoothing.max = String(MAX_SMOOTHING);
    this.smoothing.step = '0.01';
    this.smoothing.title = 'debiased exponential moving average of the training error (0: raw)';
    this.smoothing.addEventListener('input', () => model.setSmoothing(Number(this.smoothing.value)));
    const smoothingLabel = element('label', 'jp-ResLab-smoothing-label', 'smoothing ');
    smoothingLabel.append(this.smoothing, this.smoothingValue);
    const exports = ['png', 'svg'].map((format) => {
      const button = element('button', `jp-ResLab-export-${format}`, format.toUpperCase());
      button.title = `download the error curves as ${format.toUpperCase()}, with legend and axis titles`;
      button.addEventListener('click', () => void exportImage(this.curves, format as 'png' | 'svg', 'reslab-error-curves'));
      return button;
    });
    const controls = element('div', 'jp-ResLab-controls');
    controls.append(logLabel, seedsLabel, smoothingLabel, ...exports);
    this.node.append(
      this.header,
      this.warnings,
      sources,
      controls,
      this.runList,
      this.curves,
      this.heatmapControls,
      this.heatmap,
      this.footer,
    );
    model.onChange(() => this.schedule());
    this.schedule();
  }

  private schedule(): void {
    if (this.rendering) {
      // Drawn once more when the render in progress ends: a slow draw (a million points) never
      // lets an older state overwrite a newer one.
      this.stale = true;
      return;
    }
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      void this.renderLatest();
    });
  }

  /** Renders until what is drawn is the model's latest state; one render at a time. */
  private async renderLatest(): Promise<void> {
    this.rendering = true;
    try {
      do {
        this.stale = false;
        await this.render();
      } while (this.stale);
    } finally {
      this.rendering = false;
    }
  }

  private async render(): Promise<void> {
    const { model } = this;
    const sourced = model.sourcedRuns();
    const runs = sourced.map((r) => r.view);
    const scope = model.scope;
    this.header.textContent =
      scope === 'all'
        ? `All runs, ${model.sources().length} source(s)`
        : typeof scope === 'object'
          ? `Runs of ${sourceName(scope.source)}`
          : model.activeNotebook
            ? `Runs of ${model.activeNotebook}`
            : 'Open a notebook that trains with reslab-kernel, or a runs folder';
    if (typeof scope === 'object' && folderOf(scope.source) !== undefined && runs.length === 0) {
      this.header.append(
        element('div', 'jp-ResLab-note', 'no runs (directories with a metrics.jsonl) here yet; the folder is re-read every few seconds'),
      );
    }
    const restarted = scope === 'active' ? model.restartedAt() : undefined;
    if (restarted) this.header.append(element('div', 'jp-ResLab-note', 'kernel restarted: runs from before are kept'));
    this.warnings.replaceChildren(...model.warnings.map((w) => element('li', 'jp-ResLab-warning', `⚠ ${w}`)));
    const options: Array<[string, string]> = [
      ['active', 'Active notebook'],
      ...model.sources().map((s): [string, string] => [`source:${s}`, sourceName(s)]),
      ['all', 'All sources (compare)'],
    ];
    this.scopeSelect.replaceChildren(
      ...options.map(([value, text]) => {
        const option = element('option', '', text);
        option.value = value;
        option.selected = value === scopeValue(scope);
        return option;
      }),
    );
    this.closeFolder.hidden = !(typeof scope === 'object' && folderOf(scope.source) !== undefined);
    // Across sources the same run id can appear twice: say where each comes from.
    const several = new Set(sourced.map((r) => r.source)).size > 1;
    const sourceOf = new Map(sourced.map((r) => [r.view, r.source]));
    const shown = sourced.map((r) => r.view);
    const label = (view: RunView) =>
      several ? `${runLabel(view, shown)} · ${sourceName(sourceOf.get(view) ?? '')}` : runLabel(view, shown);
    this.runList.replaceChildren(
      ...sourced.map(({ view: r, key }) => {
        const last = (values: number[]) => (values.length ? `${(values[values.length - 1] * 100).toFixed(1)}%` : '–');
        const item = element('li', 'jp-ResLab-run');
        // The run picker: which runs the charts draw.
        const toggle = element('input', 'jp-ResLab-run-toggle');
        toggle.type = 'checkbox';
        toggle.checked = !model.isHidden(key);
        toggle.title = 'draw this run in the charts';
        toggle.addEventListener('change', () => model.setHidden(key, !toggle.checked));
        // The run id is user text: isolated (a right-to-left override stays inside it) and
        // shortened (a 10,000-character id does not push the charts away); the full id on hover.
        const id = element('bdi', 'jp-ResLab-run-id', r.runId.length > MAX_ID_CHARS ? `${r.runId.slice(0, MAX_ID_CHARS)}…` : r.runId);
        id.title = r.runId;
        item.append(
          toggle,
          `${label(r)} · `,
          id,
          ` · ${r.status} · it ${r.iteration}/${r.run.iterations} · train ${last(r.trainError.value)} · test ${last(r.testError.value)}`,
        );
        return item;
      }),
    );
    this.smoothing.value = String(model.smoothing);
    this.smoothingValue.textContent = ` ${model.smoothing.toFixed(2)}`;
    const visible = model.visibleRuns().map((r) => r.view);
    this.logToggle.checked = model.logScale;
    this.seedsToggle.checked = model.seeds === 'each';
    const heatRun = model.heatmapRun();
    this.runSelect.replaceChildren(
      ...visible
        .filter((r) => r.probes)
        .map((r) => {
          const option = element('option', '', label(r));
          option.value = r.runId;
          option.selected = r.runId === heatRun?.runId;
          return option;
        }),
    );
    const start = performance.now();
    // Each chart on its own: data that breaks one never stops the other (or the next update).
    await this.drawSafely(
      this.curves,
      () =>
        visible.length
          ? errorChart(
              visible,
              model.logScale,
              model.smoothing,
              several ? (view) => sourceName(sourceOf.get(view) ?? '') : undefined,
              model.seeds,
            )
          : undefined,
      'the error curves',
    );
    await this.drawSafely(
      this.heatmap,
      () => (heatRun ? heatmapChart(heatRun, model.heatmapMetric) : undefined),
      `the heatmap of ${heatRun?.runId ?? ''}`,
    );
    this.lastUpdateMs = performance.now() - start;
    this.footer.textContent = `${runs.length} run(s), ${visible.length} drawn · last update ${this.lastUpdateMs.toFixed(0)} ms`;
    this.footer.dataset.updateMs = String(this.lastUpdateMs);
  }

  private async drawSafely(node: HTMLElement, chart: () => Chart | undefined, what: string): Promise<void> {
    try {
      const built = chart();
      if (built) await draw(node, built);
      else clear(node);
    } catch (error) {
      clear(node);
      const message = `could not draw ${what}: ${error instanceof Error ? error.message : String(error)}`;
      if (this.model.warnings[this.model.warnings.length - 1] !== message) this.model.warn(message);
    }
  }

  protected override onResize(): void {
    resize(this.curves);
    resize(this.heatmap);
  }

  protected override onAfterShow(): void {
    this.schedule();
  }
}
