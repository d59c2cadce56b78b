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
 * cell's output is delayed, not lost (a front end that reads nothing for two minutes gets
 * ZeroMQ's dropping back until it reads again, so the kernel's memory stays bounded).
 */
import * as path from 'path';

type Send = (this: object, message: unknown) => Promise<void>;
interface SocketPrototype {
  send: Send;
  __reslabSerialisedSends__?: true;
}

/** How long a publisher waits for room for one message before it stops waiting (see {@link serialiseSends}). */
export const PUBLISHER_PATIENCE_MS = 120_000;

/** Sends still pending per socket; a socket absent here has none. */
const pending = new WeakMap<object, Promise<void>>();

/** Publishers whose `noDrop` the guard has turned on. */
const waitingForRoom = new WeakSet<object>();

/** Publishers whose front end has read nothing for a whole patience: they drop, as ZeroMQ does, until it reads again. */
const stalled = new WeakSet<object>();

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

const isFull = (error: unknown) => (error as { code?: string }).code === 'EAGAIN';

/**
 * Sends on a publisher with `noDrop`: zeromq refuses with EAGAIN while the subscriber's queue is
 * full (it offers no way to await room), so retry with a growing pause, up to `patienceMs`. A
 * front end that reads nothing for that long is stalled: this message and every later one that
 * finds no room are dropped at once (ZeroMQ's own behaviour, so a kernel's memory stays bounded),
 * until a send succeeds again. Both changes are said once on the kernel's stderr.
 */
async function sendWhenThereIsRoom(send: Send, socket: object, message: unknown, patienceMs: number): Promise<void> {
  if (stalled.has(socket)) {
    try {
      await send.call(socket, message);
      stalled.delete(socket);
      process.stderr.write('reslab-kernel: the front end reads iopub again; outputs wait for it again\n');
    } catch (error) {
      if (!isFull(error)) throw error;
    }
    return;
  }
  const started = Date.now();
  for (let pause = 1; ; pause = Math.min(2 * pause, 50)) {
    try {
      return await send.call(socket, message);
    } catch (error) {
      if (!isFull(error)) throw error;
      if (Date.now() - started > patienceMs) {
        stalled.add(socket);
        process.stderr.write(
          `reslab-kernel: the front end read no iopub message for ${patienceMs / 1000} s; outputs are dropped until it reads again\n`,
        );
        return;
      }
      await sleep(pause);
    }
  }
}

/**
 * Sets `noDrop` on a socket that is already bound. zeromq warns that options set after a bind
 * wait for the next one; ZMQ_XPUB_NODROP does not (it is read at every send, as the tests show),
 * so that one warning is kept out of the kernel's output.
 */
function turnOnNoDrop(socket: { noDrop?: boolean }): void {
  const emitWarning = process.emitWarning;
  process.emitWarning = function (this: NodeJS.Process, warning: string | Error, ...rest: unknown[]) {
    if (String(warning).startsWith('Socket option will not take effect until next connect/bind')) return;
    (emitWarning as (...args: unknown[]) => void).call(this, warning, ...rest);
  } as typeof process.emitWarning;
  try {
    socket.noDrop = true;
  } finally {
    process.emitWarning = emitWarning;
  }
}

/**
 * Wraps `send` so that each send starts only after the previous one on the same socket settled.
 * With `patienceMs` (publishers), a full subscriber queue delays a send, up to that long, instead
 * of dropping it (see {@link sendWhenThereIsRoom}).
 */
export function serialiseSends(proto: SocketPrototype, patienceMs?: number): void {
  if (proto.__reslabSerialisedSends__) return;
  const send = proto.send;
  const sendOnce = (socket: object, message: unknown): Promise<void> => {
    if (patienceMs === undefined) return send.call(socket, message);
    if (!waitingForRoom.has(socket)) {
      waitingForRoom.add(socket);
      turnOnNoDrop(socket as { noDrop?: boolean });
    }
    return sendWhenThereIsRoom(send, socket, message, patienceMs);
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

/** The zeromq module tslab loads (its sockets are the kernel's); throws where tslab or its zeromq is missing. */
export function tslabZeromq(): unknown {
  const tslabDir = path.dirname(require.resolve('tslab/dist/jupyter'));
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require(require.resolve('zeromq', { paths: [tslabDir] }));
}

/**
 * Installs the guard on the zeromq module that the running tslab kernel uses. Returns what it
 * did, for the kernel's log and for tests; outside tslab, or with a zeromq it does not know,
 * it changes nothing.
 */
export function guardTslabIopub(): 'guarded' | 'already guarded' | 'no tslab zeromq' {
  let zeromq: Partial<Record<'Publisher' | 'Router', { prototype: SocketPrototype }>>;
  try {
    zeromq = tslabZeromq() as typeof zeromq;
  } catch {
    return 'no tslab zeromq';
  }
  // iopub is a Publisher; shell and control (execute replies) are Routers, with the same send rule.
  const publisher = zeromq.Publisher?.prototype;
  const router = zeromq.Router?.prototype;
  if (!publisher || !router || typeof publisher.send !== 'function' || typeof router.send !== 'function') return 'no tslab zeromq';
  if (publisher.__reslabSerialisedSends__ && router.__reslabSerialisedSends__) return 'already guarded';
  try {
    serialiseSends(publisher, PUBLISHER_PATIENCE_MS);
    serialiseSends(router);
  } catch {
    return 'no tslab zeromq';
  }
  return 'guarded';
}
