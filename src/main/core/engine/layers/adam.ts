/**
 * Adam with one kernel per variable where the backend has it (wasm with gan-studio-native:
 * './native-kernels' registers `GanStudioAdam`). tfjs's Adam runs about a dozen element-wise
 * kernels per variable and step; the fused kernel makes the same float32 operations in the same
 * order in one pass, so the result does not change. Everything else (moments as variables,
 * iterations, getWeights/setWeights for checkpoints) is tfjs's AdamOptimizer, unchanged; on a
 * backend without the kernel this is exactly tfjs's Adam.
 */
import * as tf from '@tensorflow/tfjs';

/** {w, m, v, g, coef: [1 - beta1^t, 1 - beta2^t]} {consts: [b1, 1-b1, b2, 1-b2, eps, -lr]} -> [w', m', v'] */
export const ADAM_KERNEL = 'GanStudioAdam';

/** The parts of tfjs 4.22's AdamOptimizer that are private in its typings. */
interface AdamState {
  accBeta1: tf.Variable;
  accBeta2: tf.Variable;
  accumulatedFirstMoment: ({ originalName: string; variable: tf.Variable } | undefined)[];
  accumulatedSecondMoment: ({ originalName: string; variable: tf.Variable } | undefined)[];
}

export class FusedAdamOptimizer extends tf.AdamOptimizer {
  override applyGradients(variableGradients: Parameters<tf.AdamOptimizer['applyGradients']>[0]): void {
    if (tf.getKernel(ADAM_KERNEL, tf.getBackend()) == null) {
      super.applyGradients(variableGradients);
      return;
    }
    const state = this as unknown as AdamState;
    if (state.accBeta1 == null || state.accumulatedFirstMoment == null) {
      // Not the AdamOptimizer this was written against: its own code is always right.
      super.applyGradients(variableGradients);
      return;
    }
    const names = Array.isArray(variableGradients) ? variableGradients.map((v) => v.name) : Object.keys(variableGradients);
    const consts = [this.beta1, 1 - this.beta1, this.beta2, 1 - this.beta2, this.epsilon, -this.learningRate];
    tf.tidy(() => {
      const coef = tf.concat([tf.reshape(tf.sub(1, state.accBeta1), [1]), tf.reshape(tf.sub(1, state.accBeta2), [1])]);
      names.forEach((name, i) => {
        const value = tf.engine().registeredVariables[name]!;
        state.accumulatedFirstMoment[i] ??= {
          originalName: `${name}/m`,
          variable: tf.tidy(() => tf.zerosLike(value).variable(false)),
        };
        state.accumulatedSecondMoment[i] ??= {
          originalName: `${name}/v`,
          variable: tf.tidy(() => tf.zerosLike(value).variable(false)),
        };
        const gradient = Array.isArray(variableGradients) ? variableGradients[i]!.tensor : variableGradients[name];
        if (gradient == null) return;
        const m = state.accumulatedFirstMoment[i]!.variable;
        const v = state.accumulatedSecondMoment[i]!.variable;
        if (value.dtype !== 'float32' || gradient.dtype !== 'float32' || gradient.size !== value.size) {
          throw new Error(`Adam: variable ${name} and its gradient must be float32 of the same size`);
        }
        const [w2, m2, v2] = tf.engine().runKernel(ADAM_KERNEL, { w: value, m, v, g: gradient, coef }, { consts }) as tf.Tensor[];
        m.assign(m2!);
        v.assign(v2!);
        value.assign(w2!);
      });
      state.accBeta1.assign(tf.mul(state.accBeta1, this.beta1));
      state.accBeta2.assign(tf.mul(state.accBeta2, this.beta2));
    });
    this.incrementIterations();
  }
}
