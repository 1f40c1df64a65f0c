package io.github.tfl1l2.gradients;

import static io.github.tfl1l2.gradients.GradientOps.typed;

import java.util.List;
import org.tensorflow.GraphOperation;
import org.tensorflow.Operand;
import org.tensorflow.Output;
import org.tensorflow.op.Ops;
import org.tensorflow.op.core.Sum;
import org.tensorflow.types.family.TNumber;

/**
 * The gradient of {@code SparseSoftmaxCrossEntropyWithLogits(logits, labels)} with respect to
 * {@code logits}; the integer {@code labels} get none.
 *
 * <p>The op's outputs are the loss per example, {@code −log softmax(logits)[label]}, and its
 * derivative {@code backprop = softmax(logits) − onehot(label)}. With {@code g} the upstream
 * gradient of the loss and {@code h} that of {@code backprop}, as in Python TensorFlow:
 *
 * <pre>
 *   ∂L/∂logits = g[:, None] · backprop + (h − Σ_j h_j · s_j) · s,   s = softmax(logits)
 * </pre>
 *
 * <p>The second term, {@code backprop}'s own derivative applied to {@code h}, is what a second
 * derivative (a gradient penalty, a Hessian-vector product) needs. It is left out when {@code h} is
 * the {@code ZerosLike} TensorFlow's gradient builder fills in for an unused {@code backprop},
 * which is the usual case: then the gradient is {@code g · backprop}, the op's own output.
 */
final class SparseSoftmaxCrossEntropyWithLogitsGradient {
  private SparseSoftmaxCrossEntropyWithLogitsGradient() {}

  static List<Operand<?>> gradient(Ops tf, GraphOperation op, List<Output<?>> upstream) {
    return build(tf, op, upstream);
  }

  private static <T extends TNumber> List<Operand<?>> build(
      Ops tf, GraphOperation op, List<Output<?>> upstream) {
    Operand<T> logits = typed(op.input(0));
    Operand<T> backprop = typed(op.output(1));
    Operand<T> lossGradient = typed(upstream.get(0));
    Operand<T> backpropGradient = typed(upstream.get(1));
    Operand<T> gradient = tf.math.mul(tf.expandDims(lossGradient, tf.constant(-1)), backprop);
    if (!isFilledInZeros(backpropGradient, op)) {
      Operand<T> softmax = tf.nn.softmax(logits);
      Operand<T> projection =
          tf.sum(tf.math.mul(backpropGradient, softmax), tf.constant(-1), Sum.keepDims(true));
      gradient =
          tf.math.add(gradient, tf.math.mul(tf.math.sub(backpropGradient, projection), softmax));
    }
    return List.of(gradient, GradientOps.noGradient(tf, op.input(1)));
  }

  /**
   * Whether {@code h} is the {@code ZerosLike(backprop)} the builder makes for an unused output.
   */
  private static boolean isFilledInZeros(Operand<?> h, GraphOperation op) {
    if (!"ZerosLike".equals(h.op().type())) {
      return false;
    }
    Output<?> of = ((GraphOperation) h.op()).input(0);
    return of.op().equals(op) && of.index() == 1;
  }
}
