import { Widget } from '@lumino/widgets';
import { Chart, errorChart, heatmapChart, RunsModel, runLabel } from './model';

/** Run ids longer than this are shortened in the list (the full id shows on hover). */
const MAX_ID_CHARS = 48;
import { clear, draw, resize } from './plot';

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
  private readonly runSelect = element('select', 'jp-ResLab-run-select');
  private readonly metricSelect = element('select', 'jp-ResLab-metric');
  private frame = 0;
  /** Time of the last redraw in ms (shown in the footer; read by the end-to-end test). */
  lastUpdateMs = 0;

  constructor(readonly model: RunsModel) {
    super();
    this.addClass('jp-ResLab-panel');
    this.id = 'reslab-sidebar';
    this.title.label = 'ResLab';
    this.title.caption = 'reslab: live training curves and block-wise statistics';
    this.logToggle.type = 'checkbox';
    this.logToggle.addEventListener('change', () => model.setLogScale(this.logToggle.checked));
    const logLabel = element('label', 'jp-ResLab-log-label');
    logLabel.append(this.logToggle, document.createTextNode(' log scale'));
    for (const [value, text] of [['branchRatio', '‖F(x)‖/‖x‖'], ['outputNorm', '‖output‖']]) {
      const option = element('option', '', text);
      option.value = value;
      this.metricSelect.append(option);
    }
    this.metricSelect.addEventListener('change', () => model.setHeatmapMetric(this.metricSelect.value as 'branchRatio' | 'outputNorm'));
    this.runSelect.addEventListener('change', () => model.selectRun(this.runSelect.value || undefined));
    this.heatmapControls.append(this.runSelect, this.metricSelect);
    const controls = element('div', 'jp-ResLab-controls');
    controls.append(logLabel);
    this.node.append(this.header, this.warnings, controls, this.runList, this.curves, this.heatmapControls, this.heatmap, this.footer);
    model.onChange(() => this.schedule());
    this.schedule();
  }

  private schedule(): void {
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      void this.render();
    });
  }

  private async render(): Promise<void> {
    const { model } = this;
    const runs = model.runs();
    this.header.textContent = model.activeNotebook ? `Runs of ${model.activeNotebook}` : 'Open a notebook that trains with reslab-kernel';
    const restarted = model.restartedAt();
    if (restarted) this.header.append(element('div', 'jp-ResLab-note', 'kernel restarted: runs from before are kept'));
    this.warnings.replaceChildren(...model.warnings.map((w) => element('li', 'jp-ResLab-warning', `⚠ ${w}`)));
    this.runList.replaceChildren(
      ...runs.map((r) => {
        const last = (values: number[]) => (values.length ? `${(values[values.length - 1] * 100).toFixed(1)}%` : '–');
        const item = element('li', 'jp-ResLab-run');
        // The run id is user text: isolated (a right-to-left override stays inside it) and
        // shortened (a 10,000-character id does not push the charts away); the full id on hover.
        const id = element('bdi', 'jp-ResLab-run-id', r.runId.length > MAX_ID_CHARS ? `${r.runId.slice(0, MAX_ID_CHARS)}…` : r.runId);
        id.title = r.runId;
        item.append(`${runLabel(r)} · `, id, ` · ${r.status} · it ${r.iteration}/${r.run.iterations} · train ${last(r.trainError.value)} · test ${last(r.testError.value)}`);
        return item;
      }),
    );
    this.logToggle.checked = model.logScale;
    const heatRun = model.heatmapRun();
    this.runSelect.replaceChildren(
      ...runs.filter((r) => r.probes).map((r) => {
        const option = element('option', '', runLabel(r));
        option.value = r.runId;
        option.selected = r.runId === heatRun?.runId;
        return option;
      }),
    );
    const start = performance.now();
    // Each chart on its own: data that breaks one never stops the other (or the next update).
    await this.drawSafely(this.curves, () => (runs.length ? errorChart(runs, model.logScale) : undefined), 'the error curves');
    await this.drawSafely(this.heatmap, () => (heatRun ? heatmapChart(heatRun, model.heatmapMetric) : undefined), `the heatmap of ${heatRun?.runId ?? ''}`);
    this.lastUpdateMs = performance.now() - start;
    this.footer.textContent = `${runs.length} run(s) · last update ${this.lastUpdateMs.toFixed(0)} ms`;
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
