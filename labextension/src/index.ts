/**
 * nbmodels for JupyterLab: the "Models" tab in the left sidebar. It follows the active
 * notebook's folder and refreshes when a tracking cell (`%%track`, `%register`, `%stage`) finishes.
 */
import {
  ILayoutRestorer,
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { PathExt } from '@jupyterlab/coreutils';
import { INotebookTracker, NotebookActions } from '@jupyterlab/notebook';
import { IStateDB } from '@jupyterlab/statedb';
import { LabIcon } from '@jupyterlab/ui-components';
import { Widget } from '@lumino/widgets';

import { restoreInKernel } from './kernel';
import { ModelsPanel } from './panel';

const PANEL_ID = 'nbmodels-panel';
const SHOWN_ONCE = 'nbmodels:panel-shown-once';
const REFRESHING_CELL = /^\s*(%%track|%register|%stage)\b/;

export const modelsIcon = new LabIcon({
  name: 'nbmodels:models',
  svgstr:
    '<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16" viewBox="0 0 24 24">' +
    '<g class="jp-icon3" fill="#616161">' +
    '<path d="M12 2 3 6.5v11L12 22l9-4.5v-11L12 2zm0 2.2 6.6 3.3L12 10.8 5.4 7.5 12 4.2z' +
    'M5 9.1l6 3v7.6l-6-3V9.1zm8 10.6v-7.6l6-3v7.6l-6 3z"/></g></svg>'
});

const plugin: JupyterFrontEndPlugin<void> = {
  id: 'nbmodels:panel',
  description: 'The Models sidebar: browse, compare, restore and promote registered models.',
  autoStart: true,
  requires: [INotebookTracker],
  optional: [ILayoutRestorer, IStateDB],
  activate: (
    app: JupyterFrontEnd,
    notebooks: INotebookTracker,
    restorer: ILayoutRestorer | null,
    state: IStateDB | null
  ) => {
    const panel = new ModelsPanel({
      restore: ref => {
        const notebook = notebooks.currentWidget;
        if (!notebook) {
          throw new Error('open the notebook to restore into first');
        }
        return restoreInKernel(notebook.sessionContext, ref);
      },
      showCard: (ref, html) => app.shell.add(cardWidget(ref, html), 'main')
    });
    panel.id = PANEL_ID;
    panel.title.icon = modelsIcon;
    panel.title.caption = 'Models';
    app.shell.add(panel, 'left', { rank: 650 });
    restorer?.add(panel, PANEL_ID);
    // Open the tab the first time nbmodels runs in this JupyterLab; later the user's layout wins.
    void Promise.all([app.restored, state?.fetch(SHOWN_ONCE)]).then(([, shown]) => {
      if (state && !shown) {
        app.shell.activateById(PANEL_ID);
        void state.save(SHOWN_ONCE, true);
      }
    });

    const follow = () => {
      const current = notebooks.currentWidget;
      panel.path = current ? PathExt.dirname(current.context.localPath) : '';
    };
    notebooks.currentChanged.connect(follow);
    follow();
    void panel.refresh();

    NotebookActions.executed.connect((_, { notebook, cell }) => {
      const source = cell.model.sharedModel.getSource();
      if (
        cell.model.type === 'code' &&
        REFRESHING_CELL.test(source) &&
        notebook === notebooks.currentWidget?.content
      ) {
        void panel.refresh();
      }
    });
  }
};

export default plugin;

/**
 * A main-area tab showing a model card: the server's self-contained HTML page in a frame
 * sandboxed with nothing allowed (no script, an origin of its own).
 */
function cardWidget(ref: string, html: string): Widget {
  const widget = new Widget();
  widget.id = `nbmodels-card-${ref.replace(/[^A-Za-z0-9_.-]/g, '_')}-${Date.now()}`;
  widget.title.label = `Card ${ref}`;
  widget.title.caption = `Model card of ${ref}`;
  widget.title.closable = true;
  widget.addClass('jp-nbmodels-card-page');
  const frame = document.createElement('iframe');
  frame.setAttribute('sandbox', '');
  frame.setAttribute('title', `Model card of ${ref}`);
  frame.className = 'jp-nbmodels-card-frame';
  frame.srcdoc = html;
  widget.node.append(frame);
  return widget;
}
