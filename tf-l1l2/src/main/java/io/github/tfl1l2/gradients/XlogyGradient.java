package io.github.tfl1l2.gradients;

import static io.github.tfl1l2.gradients.GradientOps.typed;

import java.util.List;
import org.tensorflow.GraphOperation;
import org.tensorflow.Operand;
import org.tensorflow.Output;
import org.tensorflow.op.Ops;
import org.tensorflow.types.family.TType;

/**
 * The gradient of {@code Xlogy(x, y)} ({@code x · log(y)}, and 0 where {@code x == 0}) with respect
 * to both inputs, which may broadcast against each other.
 *
 * <p>{@code ∂/∂x = log(y)} and {@code ∂/∂y = x / y}, both taken as 0 where {@code x == 0}, as
 * Python TensorFlow's gradient takes them ({@code xlogy(x ≠ 0, y)} and {@code xdivy(x, y)}): the
 * zeros an {@code x == 0} entry stands for (a probability that is exactly 0 in an entropy or a KL
 * divergence) send no gradient, not even to {@code x}, where the one-sided derivative would be
 * {@code log(y)}. Each part is summed over the axes its input was broadcast along and reshaped to
 * that input's shape.
 */
final class XlogyGradient {
  private XlogyGradient() {}

  static List<Operand<?>> gradient(Ops tf, GraphOperation op, List<Output<?>> upstream) {
    return build(tf, op, upstream);
  }

  private static <T extends TType> List<Operand<?>> build(
      Ops tf, GraphOperation op, List<Output<?>> upstream) {
    Operand<T> x = typed(op.input(0));
    Operand<T> y = typed(op.input(1));
    Operand<T> grad = typed(upstream.get(0));
    Operand<T> zeros = tf.zerosLike(x);
    Operand<T> xIsNonZero = tf.select(tf.math.notEqual(x, zeros), tf.onesLike(x), zeros);
    Operand<T> partialX = tf.math.xlogy(xIsNonZero, y);
    Operand<T> partialY = tf.math.xdivy(x, y);
    return List.copyOf(
        GradientOps.reduceToInputs(
            tf, x, y, tf.math.mul(partialX, grad), tf.math.mul(partialY, grad)));
  }
}
