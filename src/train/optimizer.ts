import * as tf from '@tensorflow/tfjs';

/** Hyper-parameters of {@link SgdMomentum}. */
export interface SgdOptions {
  momentum: number;
  /**
   * L2 weight decay, applied as PyTorch's SGD and the paper's Caffe solver do: the gradient of
   * every trainable parameter (conv, BN gamma/beta, FC) gets `weightDecay * w` added before the
   * momentum update.
   */
  weightDecay: number;
}

/**
 * SGD with (heavy-ball) momentum and coupled weight decay:
 *   v <- momentum * v + (g + weightDecay * w);  w <- w - lr * v.
 * Its state (one velocity per variable) is exposed for checkpoints.
 */
export class SgdMomentum {
  readonly velocities: tf.Variable[];

  constructor(readonly variables: tf.Variable[], readonly options: SgdOptions) {
    this.velocities = variables.map((v) => {
      const zeros = tf.zerosLike(v);
      const velocity = tf.variable(zeros, false, `${v.name}/velocity`);
      zeros.dispose(); // the variable keeps its own reference to the data
      return velocity;
    });
  }

  /** Applies one update with learning rate `lr`; `grads` maps variable names to gradients. */
  apply(grads: tf.NamedTensorMap, lr: number): void {
    const { momentum, weightDecay } = this.options;
    tf.tidy(() => {
      this.variables.forEach((variable, i) => {
        const grad = grads[variable.name];
        if (!grad) throw new Error(`no gradient for ${variable.name}`);
        const velocity = this.velocities[i];
        const decayed = weightDecay > 0 ? grad.add(variable.mul(weightDecay)) : grad;
        velocity.assign(velocity.mul(momentum).add(decayed));
        variable.assign(variable.sub(velocity.mul(lr)));
      });
    });
  }

  dispose(): void {
    tf.dispose(this.velocities);
  }
}
