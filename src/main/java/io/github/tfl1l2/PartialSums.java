package io.github.tfl1l2;

import org.tensorflow.Operand;
import org.tensorflow.op.Scope;
import org.tensorflow.op.core.Constant;
import org.tensorflow.op.core.Reshape;
import org.tensorflow.op.core.Sum;
import org.tensorflow.op.dtypes.Cast;
import org.tensorflow.op.math.Abs;
import org.tensorflow.op.math.Add;
import org.tensorflow.op.math.Mul;
import org.tensorflow.op.math.Square;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TFloat64;
import org.tensorflow.types.family.TFloating;

/**
 * Emits the penalty of one parameter, {@code c1 * sum|x| + c2 * sum x^2}, as TensorFlow ops.
 *
 * <p>A zero coefficient emits no node for its term, so an L2-only penalty never computes
 * {@code Abs}.
 */
final class PartialSums {
  private PartialSums() {}

  /**
   * Returns {@code c1 * sum(|x|) + c2 * sum(x^2)} over every element of {@code x}, as a scalar of
   * {@code x}'s dtype. At least one coefficient must be non-zero.
   */
  static <T extends TFloating> Operand<T> weighted(Scope scope, Operand<T> x, double c1, double c2) {
    Operand<T> flat = Reshape.create(scope, x, Constant.vectorOf(scope, new int[] {-1}));
    Operand<T> l1Term = c1 == 0.0 ? null : scaled(scope, sum(scope, Abs.create(scope, flat)), c1);
    Operand<T> l2Term =
        c2 == 0.0 ? null : scaled(scope, sum(scope, Square.create(scope, flat)), c2);
    if (l1Term == null) {
      return l2Term;
    }
    return l2Term == null ? l1Term : Add.create(scope, l1Term, l2Term);
  }

  private static <T extends TFloating> Operand<T> sum(Scope scope, Operand<T> flat) {
    return Sum.create(scope, flat, Constant.scalarOf(scope, 0));
  }

  private static <T extends TFloating> Operand<T> scaled(
      Scope scope, Operand<T> value, double coefficient) {
    if (coefficient == 1.0) {
      return value;
    }
    return Mul.create(scope, value, constant(scope, coefficient, value.type()));
  }

  /** A scalar constant of {@code type} holding {@code value} rounded once to that type. */
  @SuppressWarnings("unchecked")
  static <T extends TFloating> Operand<T> constant(Scope scope, double value, Class<T> type) {
    if (type == TFloat64.class) {
      return (Operand<T>) Constant.scalarOf(scope, value);
    }
    if (type == TFloat32.class) {
      return (Operand<T>) Constant.scalarOf(scope, (float) value);
    }
    return Cast.create(scope, Constant.scalarOf(scope, (float) value), type);
  }
}
