import * as tf from '@tensorflow/tfjs';

/**
 * Reference counts over tensors, so one tensor can be held by several nodes (aliases, an Add's
 * gradient going to both branches) and is disposed exactly once, when the last holder lets go.
 * Tensors it did not create (the caller's images) are never disposed.
 */
export class Holdings {
  private readonly counts = new Map<tf.Tensor, number>();

  constructor(private readonly external: tf.Tensor) {}

  hold(tensor: tf.Tensor, times = 1): void {
    if (times > 0 && tensor !== this.external) this.counts.set(tensor, (this.counts.get(tensor) ?? 0) + times);
  }

  release(tensor: tf.Tensor): void {
    const count = this.counts.get(tensor);
    if (count === undefined) return; // not ours
    if (count <= 1) {
      this.counts.delete(tensor);
      tensor.dispose();
    } else {
      this.counts.set(tensor, count - 1);
    }
  }

  /** Disposes `tensor` unless something holds it (a gradient nobody needs, a summand already added). */
  drop(tensor: tf.Tensor): void {
    this.hold(tensor);
    this.release(tensor);
  }

  /** Disposes everything still held (after an error). */
  clear(): void {
    tf.dispose([...this.counts.keys()]);
    this.counts.clear();
  }
}
