/**
 * Keeps a tslab kernel from losing its iopub messages (and so from hanging a cell at "busy").
 *
 * tslab sends every iopub message (outputs, display updates, `status: idle`) with zeromq's
 * `send()` without awaiting it. zeromq 6 completes a send synchronously only 512 times in a
 * row; the next one is deferred to the following event-loop turn, and any send issued before
 * that turn is refused with EBUSY and the message is lost. When the lost message is the
 * `status: idle` that ends a cell, the front end waits forever. The counter only resets on a
 * deferred send, so every few hundred messages a kernel is exposed; a live view that updates
 * often makes it more likely, and a burst of more than 512 outputs in one turn makes it certain.
 *
 * The guard serialises sends on tslab's sockets: a send issued while another one is still
 * pending waits for it, in order, instead of being refused. Nothing is dropped and nothing is
 * reordered; a send that can complete at once still does.
 */
import * as path from 'path';

type Send = (this: object, message: unknown) => Promise<void>;
interface SocketPrototype {
  send: Send;
  __reslabSerialisedSends__?: true;
}

/** Sends still pending per socket; a socket absent here has none. */
const pending = new WeakMap<object, Promise<void>>();

/** Wraps `send` so that each send starts only after the previous one on the same socket settled. */
export function serialiseSends(proto: SocketPrototype): void {
  if (proto.__reslabSerialisedSends__) return;
  const send = proto.send;
  // The native `send` is a read-only property of zeromq's Socket prototype: define, do not assign.
  const serialisedSend = function (this: object, message: unknown): Promise<void> {
    const before = pending.get(this);
    const sent = before ? before.then(() => send.call(this, message)) : send.call(this, message);
    const settled = sent.then(
      () => undefined,
      () => undefined,
    );
    pending.set(this, settled);
    void settled.then(() => {
      if (pending.get(this) === settled) pending.delete(this);
    });
    return sent;
  };
  Object.defineProperty(proto, 'send', { value: serialisedSend, writable: true, configurable: true });
  Object.defineProperty(proto, '__reslabSerialisedSends__', { value: true });
}

/**
 * Installs the guard on the zeromq module that the running tslab kernel uses. Returns what it
 * did, for the kernel's log and for tests; outside tslab, or with a zeromq it does not know,
 * it changes nothing.
 */
export function guardTslabIopub(): 'guarded' | 'already guarded' | 'no tslab zeromq' {
  let zeromq: Partial<Record<'Publisher' | 'Router', { prototype: SocketPrototype }>>;
  try {
    const tslabDir = path.dirname(require.resolve('tslab/dist/jupyter'));
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    zeromq = require(require.resolve('zeromq', { paths: [tslabDir] })) as typeof zeromq;
  } catch {
    return 'no tslab zeromq';
  }
  // iopub is a Publisher; shell and control (execute replies) are Routers, with the same send rule.
  const protos = [zeromq.Publisher?.prototype, zeromq.Router?.prototype];
  if (protos.some((proto) => !proto || typeof proto.send !== 'function')) return 'no tslab zeromq';
  if (protos.every((proto) => proto?.__reslabSerialisedSends__)) return 'already guarded';
  try {
    for (const proto of protos) if (proto) serialiseSends(proto);
  } catch {
    return 'no tslab zeromq';
  }
  return 'guarded';
}
