package io.github.tfl1l2.gradients;

import static io.github.tfl1l2.gradients.GradientOps.typed;

import java.util.List;
import org.tensorflow.GraphOperation;
import org.tensorflow.Operand;
import org.tensorflow.Output;
import org.tensorflow.op.Ops;
import org.tensorflow.op.math.Cumprod;
import org.tensorflow.op.math.Cumsum;
import org.tensorflow.types.family.TNumber;
import org.tensorflow.types.family.TType;

/**
 * The gradient of {@code Cumprod(x, axis)} with respect to {@code x}, for every combination of its
 * {@code exclusive} and {@code reverse} attributes; {@code axis} gets none.
 *
 * <p>With {@code p} the op's products and {@code g} the upstream gradient, {@code ∂L/∂x_j = Σ_k g_k
 * · p_k / x_j} over the {@code k} whose product contains {@code x_j}: a cumulative sum of {@code g
 * · p} in the opposite direction (same {@code exclusive}), divided by {@code x}. This is Python
 * TensorFlow's formula, with its {@code div_no_nan}: an entry of {@code x} that is exactly 0 gets
 * gradient 0 (its true derivative, the product of the other factors, is not computed); every other
 * entry's gradient is exact, zeros elsewhere in {@code x} included.
 */
final class CumprodGradient {
  private CumprodGradient() {}

  static List<Operand<?>> gradient(Ops tf, GraphOperation op, List<Output<?>> upstream) {
    return build(tf, op, upstream);
  }

  private static <T extends TType> List<Operand<?>> build(
      Ops tf, GraphOperation op, List<Output<?>> upstream) {
    Operand<T> x = typed(op.input(0));
    Operand<? extends TNumber> axis = typed(op.input(1));
    Operand<T> grad = typed(upstream.get(0));
    boolean exclusive = op.attributes().getAttrBool("exclusive");
    boolean reverse = op.attributes().getAttrBool("reverse");
    Operand<T> products =
        tf.math.cumprod(x, axis, Cumprod.exclusive(exclusive), Cumprod.reverse(reverse));
    Operand<T> sums =
        tf.math.cumsum(
            tf.math.mul(products, grad),
            axis,
            Cumsum.exclusive(exclusive),
            Cumsum.reverse(!reverse));
    return List.of(tf.math.divNoNan(sums, x), GradientOps.noGradient(tf, op.input(1)));
  }
}
