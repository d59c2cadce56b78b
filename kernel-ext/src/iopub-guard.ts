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
 *
 * A second way to lose messages: a publisher drops silently what does not fit in its queue
 * (1,000 messages) while a front end is slow to read, e.g. on a loaded machine. The guard turns
 * the iopub publisher's `noDrop` on, so such a send waits for room instead of vanishing; the
 * cell's output is delayed, never lost.
 */
import * as path from 'path';

type Send = (this: object, message: unknown) => Promise<void>;
interface SocketPrototype {
  send: Send;
  __reslabSerialisedSends__?: true;
}

/** How long a publisher waits for room for one message before it drops it, as zeromq would have at once. */
export const PUBLISHER_PATIENCE_MS = 120_000;

/** Sends still pending per socket; a socket absent here has none. */
const pending = new WeakMap<object, Promise<void>>();

/** Publishers whose `noDrop` the guard has turned on. */
const waitingForRoom = new WeakSet<object>();

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Sends on a publisher with `noDrop`: zeromq refuses with EAGAIN while the subscriber's queue is
 * full (it offers no way to await room), so retry with a growing pause, up to
 * `PUBLISHER_PATIENCE_MS`; then drop this one message and say so on the kernel's stderr.
 */
async function sendWhenThereIsRoom(send: Send, socket: object, message: unknown): Promise<void> {
  const started = Date.now();
  for (let pause = 1; ; pause = Math.min(2 * pause, 50)) {
    try {
      return await send.call(socket, message);
    } catch (error) {
      if ((error as { code?: string }).code !== 'EAGAIN') throw error;
      if (Date.now() - started > PUBLISHER_PATIENCE_MS) {
        process.stderr.write(
          `reslab-kernel: the front end read no iopub message for ${PUBLISHER_PATIENCE_MS / 1000} s; one message dropped\n`,
        );
        return;
      }
      await sleep(pause);
    }
  }
}

/**
 * Wraps `send` so that each send starts only after the previous one on the same socket settled.
 * With `waitForRoom` (publishers), a full subscriber queue delays a send instead of dropping it.
 */
export function serialiseSends(proto: SocketPrototype, waitForRoom = false): void {
  if (proto.__reslabSerialisedSends__) return;
  const send = proto.send;
  const sendOnce = (socket: object, message: unknown): Promise<void> => {
    if (!waitForRoom) return send.call(socket, message);
    if (!waitingForRoom.has(socket)) {
      waitingForRoom.add(socket);
      (socket as { noDrop?: boolean }).noDrop = true;
    }
    return sendWhenThereIsRoom(send, socket, message);
  };
  // The native `send` is a read-only property of zeromq's Socket prototype: define, do not assign.
  const serialisedSend = function (this: object, message: unknown): Promise<void> {
    const before = pending.get(this);
    const sent = before ? before.then(() => sendOnce(this, message)) : sendOnce(this, message);
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
  const publisher = zeromq.Publisher?.prototype;
  const router = zeromq.Router?.prototype;
  if (!publisher || !router || typeof publisher.send !== 'function' || typeof router.send !== 'function') return 'no tslab zeromq';
  if (publisher.__reslabSerialisedSends__ && router.__reslabSerialisedSends__) return 'already guarded';
  try {
    serialiseSends(publisher, true);
    serialiseSends(router);
  } catch {
    return 'no tslab zeromq';
  }
  return 'guarded';
}
