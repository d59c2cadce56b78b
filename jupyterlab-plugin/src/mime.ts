import { IRenderMime } from '@jupyterlab/rendermime-interfaces';
import { Widget } from '@lumino/widgets';
import { PLOTLY_MIME } from 'reslab-protocol';
import { Chart, errorChart, heatmapChart } from './charts';
import { RUN_VIEW_MIME, RunsModel } from './model';
import { draw } from './plot';

/** Renders a reslab live view inline in the output area; updates in place on update_display_data. */
class RunViewRenderer extends Widget implements IRenderMime.IRenderer {
  private readonly warning = document.createElement('div');
  private readonly curves = document.createElement('div');
  private readonly heatmap = document.createElement('div');
  private readonly model = new RunsModel();
  private drawn: Promise<void> = Promise.resolve();

  constructor() {
    super();
    this.addClass('jp-ResLab-inline');
    this.warning.className = 'jp-ResLab-warning';
    this.node.append(this.warning, this.curves, this.heatmap);
    this.model.setActive('output');
  }

  async renderModel(mimeModel: IRenderMime.IMimeModel): Promise<void> {
    const data = mimeModel.data[RUN_VIEW_MIME];
    if (!this.model.ingest('output', data)) {
      // Malformed or from another version: say so, never break the output area.
      this.warning.textContent = `⚠ ${this.model.warnings[this.model.warnings.length - 1]}`;
      return;
    }
    this.warning.textContent = '';
    const title = (data as { title?: unknown }).title;
    this.curves.title = typeof title === 'string' ? title : '';
    // Draws one after another, each from the model's state when it starts: an update that
    // arrives during a slow draw is drawn after it, never overwritten by it.
    this.drawn = this.drawn.catch(() => undefined).then(() => this.drawCharts());
    return this.drawn;
  }

  private async drawCharts(): Promise<void> {
    await draw(this.curves, errorChart(this.model.runs(), false));
    const heatRun = this.model.heatmapRun();
    const heat = heatRun ? heatmapChart(heatRun, 'branchRatio') : undefined;
    if (heat) await draw(this.heatmap, heat);
  }
}

const rendererFactory: IRenderMime.IRendererFactory = {
  safe: true,
  mimeTypes: [RUN_VIEW_MIME],
  // Preferred over the bundle's text/html fallback (lower rank wins).
  defaultRank: 20,
  createRenderer: () => new RunViewRenderer(),
};

/** Renders reslab's figures (Plotly specs sent by reslab-kernel's showFigure) interactively. */
class FigureRenderer extends Widget implements IRenderMime.IRenderer {
  private readonly plot = document.createElement('div');

  constructor() {
    super();
    this.addClass('jp-ResLab-inline');
    this.node.append(this.plot);
  }

  async renderModel(mimeModel: IRenderMime.IMimeModel): Promise<void> {
    const figure = mimeModel.data[PLOTLY_MIME] as { data?: unknown; layout?: unknown } | undefined;
    if (!figure || !Array.isArray(figure.data) || typeof figure.layout !== 'object' || figure.layout === null) {
      this.plot.textContent = '⚠ reslab: ignored a figure without data and layout';
      return;
    }
    await draw(this.plot, { data: figure.data as Chart['data'], layout: { height: 380, ...(figure.layout as Chart['layout']) } });
  }
}

const extensions: IRenderMime.IExtension[] = [
  {
    id: 'reslab-jupyterlab:renderer',
    description: 'Renders reslab live training views inline.',
    rendererFactory,
    rank: 20,
    dataType: 'json',
  },
  {
    id: 'reslab-jupyterlab:figures',
    description: 'Renders Plotly figures sent by reslab notebooks.',
    rendererFactory: { safe: true, mimeTypes: [PLOTLY_MIME], defaultRank: 20, createRenderer: () => new FigureRenderer() },
    rank: 20,
    dataType: 'json',
  },
];

export default extensions;
