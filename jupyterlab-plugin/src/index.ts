import { ILabShell, JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { INotebookTracker, NotebookPanel } from '@jupyterlab/notebook';
import { KernelMessage } from '@jupyterlab/services';
import { RUN_VIEW_MIME, RunsModel } from './model';
import { ResLabPanel } from './panel';

/** The key under which a notebook's runs are kept: its path (stable across kernel restarts). */
function keyOf(panel: NotebookPanel): string {
  return panel.sessionContext.path || panel.id;
}

/** Feeds saved outputs of a notebook into the model (a notebook opened after its run). */
function ingestSavedOutputs(model: RunsModel, panel: NotebookPanel): void {
  const cells = panel.model?.cells;
  if (!cells) return;
  for (let c = 0; c < cells.length; c++) {
    const cell = cells.get(c) as { type: string; outputs?: { length: number; get(i: number): { data: Record<string, unknown> } } };
    if (cell.type !== 'code' || !cell.outputs) continue;
    for (let o = 0; o < cell.outputs.length; o++) {
      const data = cell.outputs.get(o).data[RUN_VIEW_MIME];
      if (data !== undefined) model.ingest(keyOf(panel), data);
    }
  }
}

/** Follows every notebook's kernel messages and shows the active notebook's runs in the sidebar. */
const sidebar: JupyterFrontEndPlugin<void> = {
  id: 'reslab-jupyterlab:sidebar',
  description: 'ResLab sidebar: live training curves and block-wise activation norms of the active notebook.',
  autoStart: true,
  requires: [INotebookTracker],
  optional: [ILabShell],
  activate(app: JupyterFrontEnd, tracker: INotebookTracker) {
    const model = new RunsModel();
    const panel = new ResLabPanel(model);
    app.shell.add(panel, 'right', { rank: 700 });

    const follow = (notebook: NotebookPanel) => {
      const session = notebook.sessionContext;
      session.iopubMessage.connect((_, message: KernelMessage.IMessage) => {
        const type = message.header.msg_type;
        if (type !== 'display_data' && type !== 'update_display_data') return;
        const data = (message.content as { data?: Record<string, unknown> }).data?.[RUN_VIEW_MIME];
        if (data !== undefined) model.ingest(keyOf(notebook), data);
      });
      session.statusChanged.connect((_, status) => {
        if (status === 'restarting' || status === 'autorestarting') model.kernelRestarted(keyOf(notebook));
      });
      void notebook.context.ready.then(() => ingestSavedOutputs(model, notebook));
    };
    tracker.forEach(follow);
    tracker.widgetAdded.connect((_, notebook) => follow(notebook));
    tracker.currentChanged.connect((_, notebook) => model.setActive(notebook ? keyOf(notebook) : undefined));
    if (tracker.currentWidget) model.setActive(keyOf(tracker.currentWidget));
  },
};

export default sidebar;
