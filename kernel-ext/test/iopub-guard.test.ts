import { strict as assert } from 'assert';
import { serialiseSends, tslabZeromq } from '../src/iopub-guard';

/** The zeromq module tslab loads (the one the guard patches in a kernel). */
interface Socket {
  send(message: string): Promise<void>;
  close(): void;
}
interface ZeroMq {
  Publisher: new () => Socket & { bind(address: string): Promise<void>; readonly lastEndpoint: string | null };
  Subscriber: new () => Socket & { connect(address: string): void; subscribe(): void; receive(): Promise<Buffer[]> };
}
const zeromq = tslabZeromq() as ZeroMq;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A publisher class of its own, so that the test's patience does not touch zeromq's Publisher. */
function guardedPublisher(patienceMs: number) {
  class Guarded extends zeromq.Publisher {}
  serialiseSends(Guarded.prototype as unknown as Parameters<typeof serialiseSends>[0], patienceMs);
  return Guarded;
}

async function pair(patienceMs: number) {
  const publisher = new (guardedPublisher(patienceMs))();
  await publisher.bind('tcp://127.0.0.1:*');
  const subscriber = new zeromq.Subscriber();
  subscriber.connect(publisher.lastEndpoint as string);
  subscriber.subscribe();
  await sleep(200); // the subscription reaches the publisher
  return { publisher, subscriber };
}

/** Sends `count` messages the way tslab does (without awaiting each); resolves when all have settled. */
function burst(publisher: Socket, count: number, from = 0): Promise<void> {
  const sends: Array<Promise<void>> = [];
  for (let i = from; i < from + count; i++) sends.push(publisher.send(`message ${i} ${'x'.repeat(500)}`));
  return Promise.all(sends).then(() => undefined);
}

describe('iopub guard on real zeromq sockets (the publisher of a tslab kernel)', function () {
  this.timeout(60_000);

  it('a subscriber that starts reading 1.5 s late still gets all 30,000 messages, in order', async () => {
    const { publisher, subscriber } = await pair(10_000);
    const sent = burst(publisher, 30_000);
    await sleep(1500);
    for (let i = 0; i < 30_000; i++) {
      const [message] = await subscriber.receive();
      assert.ok(message.toString().startsWith(`message ${i} `), `message ${i}: ${message.toString().slice(0, 20)}`);
    }
    await sent;
    publisher.close();
    subscriber.close();
  });

  it('a subscriber that reads nothing for the whole patience: later sends drop at once (memory stays bounded) until it reads again', async () => {
    const { publisher, subscriber } = await pair(300);
    const started = Date.now();
    await burst(publisher, 30_000);
    const settledAfter = Date.now() - started;
    assert.ok(settledAfter < 15_000, `all 30,000 sends settled after ${settledAfter} ms`);
    // What fitted was queued; the rest was dropped. Drain what arrived (one receive in flight at a time).
    let received = 0;
    let next = subscriber.receive();
    while (await Promise.race([next.then(() => true), sleep(500).then(() => false)])) {
      received++;
      next = subscriber.receive();
    }
    assert.ok(received >= 1000 && received < 30_000, `received ${received}`);
    // Reading again: the next message is delivered.
    await publisher.send('after');
    const [after] = await next;
    assert.equal(after.toString(), 'after');
    publisher.close();
    subscriber.close();
  });
});
