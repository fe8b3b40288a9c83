/**
 * The stock Conv2D layer, computing only the gradients a training step uses.
 *
 * tfjs-layers runs a 2-D convolution as `tf.fused.conv2d`, whose gradient is a custom one that
 * computes the input gradient, the filter gradient (and the bias gradient) together, whatever the
 * tape needs. A GAN step needs much less: D's update needs no gradient of D's first layer with
 * respect to the images, and G's update, which backpropagates through D, needs no gradient of
 * D's filters at all. On DCGAN-64 those unused gradients were about a tenth of a training step.
 * `tf.conv2d` has tfjs's registered gradient, one function per input, which the tape calls only
 * for inputs that lead to the variables being trained; with the bias added by `tf.add` (a
 * separate, equally lazy gradient), the layer computes what it did, in the same float operations.
 *
 * `Conv2DLayer` subclasses the stock class: same constructor arguments, weights, `getConfig()`
 * and class name 'Conv2D', so models save and load as stock layers and old checkpoints load.
 * Anything but a channels-last, rank-2 convolution runs the stock `call`.
 */
import * as tf from '@tensorflow/tfjs';
import type { Tensor } from '@tensorflow/tfjs';
import { stockLayerClass } from './batchnorm';

type Conv2DArgs = Parameters<typeof tf.layers.conv2d>[0];

/** The parts of the stock layer's (private) state this module reads. */
interface StockConv2D extends tf.layers.Layer {
  readonly rank: number;
  readonly strides: number[];
  readonly padding: string;
  readonly dataFormat: string;
  readonly dilationRate: number | number[];
  readonly activation: { apply(x: Tensor): Tensor } | null;
  kernel: tf.LayerVariable | null;
  bias: tf.LayerVariable | null;
}

type StockConv2DClass = (new (args: Conv2DArgs) => StockConv2D) & { className: string };

const STOCK_CLASS_NAME = 'Conv2D';

const StockConv2D = stockLayerClass<StockConv2DClass>(STOCK_CLASS_NAME);

export class Conv2DLayer extends StockConv2D {
  /** The stock class name: models save (and load) as plain 'Conv2D'. */
  static override className = STOCK_CLASS_NAME;

  constructor(args: Conv2DArgs) {
    super(args);
  }

  override call(inputs: Tensor | Tensor[], kwargs: Record<string, unknown>): Tensor | Tensor[] {
    const x = Array.isArray(inputs) ? (inputs.length === 1 ? inputs[0]! : null) : inputs;
    if (x === null || x.rank !== 4 || this.rank !== 2 || this.dataFormat !== 'channelsLast' || !this.kernel ||
        (this.padding !== 'same' && this.padding !== 'valid')) {
      return super.call(inputs, kwargs);
    }
    const kernel = this.kernel.read() as tf.Tensor4D;
    const bias = this.bias ? this.bias.read() : null;
    const dilations = typeof this.dilationRate === 'number' ? this.dilationRate : (this.dilationRate as [number, number]);
    return tf.tidy(() => {
      let y: Tensor = tf.conv2d(x as tf.Tensor4D, kernel, this.strides as [number, number], this.padding as 'same' | 'valid', 'NHWC', dilations);
      if (bias) y = tf.add(y, bias);
      return this.activation ? this.activation.apply(y) : y;
    });
  }
}

/** `tf.layers.conv2d`, computing only the gradients the tape uses. */
export function conv2d(args: Conv2DArgs): Conv2DLayer {
  return new Conv2DLayer(args);
}
