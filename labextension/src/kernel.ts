/**
 * "Restore": run `%restore REF` in a notebook's kernel (loading the extension first) and
 * read back what it bound. Models are live objects, so they never travel through the server.
 */
import { ISessionContext } from '@jupyterlab/apputils';
import { KernelMessage } from '@jupyterlab/services';

/** A REF as the registry writes it: `NAME@VERSION`. Anything else is refused, so no
 * registry content is ever spliced into kernel code unchecked. */
const SAFE_REF = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}@[A-Za-z0-9.]+$/;

export interface IRestoreResult {
  ok: boolean;
  /** The variable the model was bound to, when `%restore` said so. */
  name: string | null;
  /** Everything the kernel printed or displayed, for the status line. */
  text: string;
}

async function execute(
  session: ISessionContext,
  code: string,
  silent: boolean
): Promise<{ ok: boolean; text: string }> {
  const kernel = session.session?.kernel;
  if (!kernel) {
    throw new Error('the notebook has no running kernel');
  }
  const parts: string[] = [];
  const future = kernel.requestExecute({
    code,
    silent,
    store_history: false
  });
  future.onIOPub = (msg: KernelMessage.IIOPubMessage) => {
    const content: any = msg.content;
    switch (msg.header.msg_type) {
      case 'stream':
        parts.push(String(content.text));
        break;
      case 'display_data':
      case 'execute_result':
        parts.push(String(content.data?.['text/plain'] ?? ''));
        break;
      case 'error':
        parts.push(`${content.ename}: ${content.evalue}`);
        break;
    }
  };
  const reply = await future.done;
  return {
    ok: reply.content.status === 'ok',
    text: parts.join('').trim()
  };
}

export async function restoreInKernel(
  session: ISessionContext,
  ref: string
): Promise<IRestoreResult> {
  if (!SAFE_REF.test(ref)) {
    throw new Error(`not a model version REF: ${ref}`);
  }
  // Loading again is harmless; silent, so its "already loaded" note stays out of the text.
  await execute(session, '%load_ext nbmodels', true);
  const { ok, text } = await execute(session, `%restore ${ref}`, false);
  const bound = /Restored \S+ as ([A-Za-z_][A-Za-z0-9_]*)/.exec(text);
  return { ok: ok && bound !== null, name: bound ? bound[1] : null, text };
}
