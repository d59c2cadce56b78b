import { Widget } from '@lumino/widgets';
import { errorChart, heatmapChart, RunsModel, runLabel } from './model';
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
        return element('li', 'jp-ResLab-run', `${runLabel(r)} · ${r.runId} · ${r.status} · it ${r.iteration}/${r.run.iterations} · train ${last(r.trainError.value)} · test ${last(r.testError.value)}`);
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
    if (runs.length) await draw(this.curves, errorChart(runs, model.logScale));
    else clear(this.curves);
    const heat = heatRun ? heatmapChart(heatRun, model.heatmapMetric) : undefined;
    if (heat) await draw(this.heatmap, heat);
    else clear(this.heatmap);
    this.lastUpdateMs = performance.now() - start;
    this.footer.textContent = `${runs.length} run(s) · last update ${this.lastUpdateMs.toFixed(0)} ms`;
    this.footer.dataset.updateMs = String(this.lastUpdateMs);
  }

  protected override onResize(): void {
    resize(this.curves);
    resize(this.heatmap);
  }

  protected override onAfterShow(): void {
    this.schedule();
  }
}
