import { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { InputDialog } from '@jupyterlab/apputils';
import { IDefaultFileBrowser } from '@jupyterlab/filebrowser';
import { INotebookTracker, NotebookPanel } from '@jupyterlab/notebook';
import { KernelMessage } from '@jupyterlab/services';
import { IStateDB } from '@jupyterlab/statedb';
import { ReadonlyPartialJSONValue } from '@lumino/coreutils';
import { folderKey } from './folder';
import { FolderWatcher } from './folder-watcher';
import { RUN_VIEW_MIME, RunsModel } from './model';
import { ResLabPanel } from './panel';

const PLUGIN_ID = 'reslab-jupyterlab:sidebar';
/** The command behind the file browser's "Open in ResLab" and the sidebar's "Open runs folder…". */
export const OPEN_FOLDER_COMMAND = 'reslab:open-runs-folder';

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
  id: PLUGIN_ID,
  description: 'ResLab sidebar: live training curves and block-wise activation norms of notebooks and runs directories.',
  autoStart: true,
  requires: [INotebookTracker],
  optional: [IStateDB, IDefaultFileBrowser],
  activate(app: JupyterFrontEnd, tracker: INotebookTracker, state: IStateDB | null, browser: IDefaultFileBrowser | null) {
    const model = new RunsModel();
    const panel = new ResLabPanel(model, () => void app.commands.execute(OPEN_FOLDER_COMMAND, {}));
    app.shell.add(panel, 'right', { rank: 700 });

    // Runs directories: opened from the file browser's context menu or the sidebar, read through
    // the contents API, one watcher per open folder (kept in step with the model's list).
    const watchers = new Map<string, FolderWatcher>();
    const syncWatchers = () => {
      for (const [path, watcher] of watchers) {
        if (!model.folders.includes(path)) {
          watcher.dispose();
          watchers.delete(path);
        }
      }
      for (const path of model.folders) {
        if (watchers.has(path)) continue;
        const watcher = new FolderWatcher(app.serviceManager.contents, path, model);
        watchers.set(path, watcher);
        watcher.start();
      }
    };
    app.commands.addCommand(OPEN_FOLDER_COMMAND, {
      label: 'Open in ResLab',
      caption: 'Show the runs of this directory in the ResLab sidebar (refreshed while they train)',
      execute: async (args) => {
        let path = typeof args.path === 'string' ? args.path : undefined;
        const selected = browser ? [...browser.selectedItems()].find((item) => item.type === 'directory') : undefined;
        if (path === undefined && selected && args.fromContextMenu === true) path = selected.path;
        if (path === undefined) {
          const answer = await InputDialog.getText({
            title: 'Open a runs folder in ResLab',
            label: 'Directory (relative to the Jupyter root) whose subdirectories hold metrics.jsonl',
            text: selected?.path ?? browser?.model.path ?? '',
          });
          if (!answer.button.accept || answer.value === null) return;
          path = answer.value;
        }
        path = path.replace(/^\/+|\/+$/g, '');
        model.openFolder(path);
        model.setScope({ source: folderKey(path) });
        app.shell.activateById(panel.id);
      },
    });
    app.contextMenu.addItem({
      command: OPEN_FOLDER_COMMAND,
      args: { fromContextMenu: true },
      selector: '.jp-DirListing-item[data-isdir="true"]',
      rank: 3,
    });

    // Settings, chosen runs and open folders survive a page reload (JupyterLab's state database).
    let restored = !state;
    let saveTimer: ReturnType<typeof setTimeout> | undefined;
    model.onChange(() => {
      syncWatchers();
      if (!state || !restored || saveTimer) return;
      saveTimer = setTimeout(() => {
        saveTimer = undefined;
        void state.save(PLUGIN_ID, model.state() as unknown as ReadonlyPartialJSONValue);
      }, 300);
    });
    if (state) {
      void Promise.all([state.fetch(PLUGIN_ID), app.restored]).then(
        ([saved]) => {
          restored = true;
          model.restore(saved);
        },
        () => {
          restored = true;
        },
      );
    }

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
