package io.github.tfl1l2;

import org.tensorflow.Operand;
import org.tensorflow.op.Scope;
import org.tensorflow.op.bitwise.BitwiseAnd;
import org.tensorflow.op.bitwise.LeftShift;
import org.tensorflow.op.core.Bitcast;
import org.tensorflow.op.core.Constant;
import org.tensorflow.op.core.Reshape;
import org.tensorflow.op.core.Sum;
import org.tensorflow.op.math.Abs;
import org.tensorflow.op.math.Add;
import org.tensorflow.op.math.Mul;
import org.tensorflow.op.math.Square;
import org.tensorflow.op.nn.L2Loss;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TInt32;
import org.tensorflow.types.family.TFloating;

/**
 * Emits the penalty {@code c1 * sum|x| + c2 * sum x^2} of flat tensors, in two formulations.
 *
 * <p><b>Fused</b> ({@link #fused}), for XLA: one reduction of {@code a*|x| + b*x^2} per tensor, so
 * that XLA emits a single loop that reads every element once and writes nothing of full size. Two
 * passes of XLA's CPU pipeline would otherwise split it into several memory passes:
 *
 * <ul>
 *   <li>the tree-reduction rewriter turns a reduction over a dimension longer than 32 into a {@code
 *       reduce-window} (which no elementwise producer fuses into) plus a reduce, so the elementwise
 *       result is written out in full first;
 *   <li>the fusion pass only fuses an elementwise producer into a reduction over the minor
 *       (contiguous) dimension.
 * </ul>
 *
 * <p>So a length-{@code n} vector is viewed as {@code [n/32, 32]} ({@link RowLayout}) and reduced
 * over its minor dimension of 32 first (fused, vectorized, and split across CPU cores by XLA's
 * parallel task assignment); the {@code n/32} row sums, 1/32 of the data, are then scaled and
 * summed. The scaling sits between the two reductions on purpose: XLA's algebraic simplifier merges
 * a reduction of a reduction into one reduction over both dimensions, which the tree rewriter would
 * split again. The scale is therefore never exactly 1 (see {@link Coefficients}).
 *
 * <p><b>Plain</b> ({@link #plain}), for the unmarked graph and eager mode, where every TensorFlow
 * op writes its result: {@code c1 * Sum(Abs(x)) + 2*c2 * L2Loss(x)}. {@code L2Loss} sums squares
 * without writing them, so the weights are read twice and one full-size buffer is written, instead
 * of read twice and two buffers written by {@code Sum(Square(x))}.
 *
 * <p>A zero coefficient emits no node for its term, so an L2-only penalty never computes {@code
 * Abs}.
 */
final class PartialSums {
  private PartialSums() {}

  /**
   * The two penalty coefficients, split as {@code c1 = scale*a, c2 = scale*b} for the fused form.
   *
   * <p>{@code scale = max(c1, c2)}, so that {@code a, b <= 1} and {@code b*x^2} cannot overflow
   * before {@code x^2} itself does. When that scale would be exactly 1, XLA would drop the
   * multiplication and merge the two reductions, so 2 is used instead (halving {@code a} and {@code
   * b} is exact in binary floating point).
   */
  record Coefficients(double c1, double c2, double a, double b, double scale) {
    static Coefficients of(PenaltySpec spec) {
      return of(spec.c1(), spec.c2());
    }

    static Coefficients of(double c1, double c2) {
      double scale = Math.max(c1, c2);
      if (scale == 1.0) {
        scale = 2.0;
      }
      return new Coefficients(c1, c2, c1 / scale, c2 / scale, scale);
    }
  }

  /**
   * Returns the fused penalty of {@code x}, of shape {@code [k, n]} (per-row penalties, shape
   * {@code [k]}) or {@code [n]} (a scalar), whose last dimension {@code n} is known.
   *
   * <p>{@code x} may also arrive already viewed as {@code [(k,) n/32, 32]} when {@code n} is a
   * multiple of 32 (see {@link RowLayout#view}).
   *
   * @param rows whether {@code x} has a leading row dimension {@code k} (known) to keep
   */
  static <T extends TFloating> Operand<T> fused(
      Scope scope, Operand<T> x, long k, long n, boolean rows, Coefficients c) {
    int lastOfX = rows ? 1 : 0;
    if (n <= RowLayout.ROW) {
      Operand<T> sum =
          Sum.create(scope, elementwise(scope, x, c), Constant.scalarOf(scope, lastOfX));
      return Mul.create(scope, sum, Plumbing.constant(scope, c.scale(), x.type()));
    }
    Parts<T> parts = parts(scope, x, k, n, rows, c);
    Operand<T> scaled =
        Mul.create(scope, parts.rowSums(), Plumbing.constant(scope, c.scale(), x.type()));
    Operand<T> total = Sum.create(scope, scaled, Constant.scalarOf(scope, lastOfX));
    return parts.tail() == null ? total : Add.create(scope, total, parts.tail());
  }

  /**
   * The fused penalty of a tensor in two parts: {@code rowSums}, the unscaled sums of {@code a*|x|
   * + b*x^2} over its rows of 32 ({@code [(k,) n/32]}), and {@code tail}, the scaled penalty of the
   * last {@code n % 32} elements ({@code [(k)]}), or null when {@code n} is a multiple of 32. The
   * penalty is {@code sum(scale * rowSums) + tail}; the caller multiplies by the scale, between the
   * two reductions (see the class comment).
   *
   * <p>Keeping the row sums apart lets {@link PenaltyGraph} reduce those of several weights with
   * one {@code Sum} over their concatenation: XLA then emits one loop over all of those weights,
   * split once across the CPU cores, instead of one loop per weight that all write the same
   * temporary buffer and so run strictly one after another, each split across the cores. The scale
   * must then be applied to the concatenation, not to each part: XLA rewrites a reduction of a
   * concatenation into one reduction per operand.
   */
  record Parts<T extends TFloating>(Operand<T> rowSums, Operand<T> tail) {}

  /**
   * Returns the {@link Parts} of the fused penalty of {@code x}; arguments as for {@link #fused},
   * with {@code n > 32}.
   */
  static <T extends TFloating> Parts<T> parts(
      Scope scope, Operand<T> x, long k, long n, boolean rows, Coefficients c) {
    int lastOfX = rows ? 1 : 0;
    RowLayout.Split<T> split = RowLayout.split(scope, x, k, n, rows);
    Operand<T> inner =
        Sum.create(
            scope, elementwise(scope, split.rows(), c), Constant.scalarOf(scope, lastOfX + 1));
    if (split.tail() == null) {
      return new Parts<>(inner, null);
    }
    Operand<T> tailSum =
        Sum.create(scope, elementwise(scope, split.tail(), c), Constant.scalarOf(scope, lastOfX));
    return new Parts<>(
        inner, Mul.create(scope, tailSum, Plumbing.constant(scope, c.scale(), x.type())));
  }

  /**
   * The unscaled row sums ({@link Parts#rowSums}) of the bfloat16 weights packed in {@code words}
   * ({@link RowLayout#bfloat16Words}), in float32: a bfloat16 is the upper half of the float32 of
   * the same value, so each word's two weights are {@code word & 0xFFFF0000} and {@code word <<
   * 16}, read as float32. That is the exact value a {@code Cast} gives, with two integer operations
   * per two weights instead of a widening per weight, and a row of 32 words carries 64 weights,
   * which halves the per-row work of XLA's loop. Which half holds which weight does not matter to a
   * sum.
   */
  static Operand<TFloat32> bfloat16RowSums(Scope scope, Operand<TInt32> words, Coefficients c) {
    Operand<TFloat32> high =
        Bitcast.create(
            scope,
            BitwiseAnd.create(scope, words, Constant.scalarOf(scope, 0xFFFF0000)),
            TFloat32.class);
    Operand<TFloat32> low =
        Bitcast.create(
            scope, LeftShift.create(scope, words, Constant.scalarOf(scope, 16)), TFloat32.class);
    Operand<TFloat32> both =
        Add.create(scope, elementwise(scope, high, c), elementwise(scope, low, c));
    return Sum.create(scope, both, Constant.scalarOf(scope, 1));
  }

  /**
   * {@code a*|x| + b*x^2}, leaving out a zero term and a factor of 1. With {@code b = 1} (so {@code
   * c2 >= c1}) it is computed as {@code |x|*(a + |x|)}: one multiplication fewer per element, which
   * counts where XLA's loop is bound by arithmetic rather than by memory (16-bit weights).
   */
  private static <T extends TFloating> Operand<T> elementwise(
      Scope scope, Operand<T> x, Coefficients c) {
    if (c.a() != 0.0 && c.b() == 1.0) {
      Operand<T> abs = Abs.create(scope, x);
      return Mul.create(
          scope, abs, Add.create(scope, abs, Plumbing.constant(scope, c.a(), x.type())));
    }
    Operand<T> l1 = c.a() == 0.0 ? null : times(scope, Abs.create(scope, x), c.a());
    Operand<T> l2 = c.b() == 0.0 ? null : times(scope, Square.create(scope, x), c.b());
    if (l1 == null) {
      return l2;
    }
    return l2 == null ? l1 : Add.create(scope, l1, l2);
  }

  /**
   * Returns the plain penalty of {@code x}: a scalar for {@code rows == false} (any shape), or
   * per-row penalties of a {@code [k, n]} tensor.
   */
  static <T extends TFloating> Operand<T> plain(
      Scope scope, Operand<T> x, boolean rows, Coefficients c) {
    Operand<TInt32> axes;
    if (rows) {
      axes = Constant.scalarOf(scope, 1);
    } else if (x.shape().isUnknown()) {
      x = Reshape.create(scope, x, Constant.vectorOf(scope, new int[] {-1}));
      axes = Constant.scalarOf(scope, 0);
    } else {
      axes = Constant.vectorOf(scope, allAxes(x.shape().numDimensions()));
    }
    Operand<T> l1 =
        c.c1() == 0.0 ? null : times(scope, Sum.create(scope, Abs.create(scope, x), axes), c.c1());
    Operand<T> l2 = null;
    if (c.c2() != 0.0) {
      // L2Loss = sum(x^2)/2 in one pass without a squared buffer; it reduces every dimension.
      l2 =
          rows
              ? times(scope, Sum.create(scope, Square.create(scope, x), axes), c.c2())
              : times(scope, L2Loss.create(scope, x), 2.0 * c.c2());
    }
    if (l1 == null) {
      return l2;
    }
    return l2 == null ? l1 : Add.create(scope, l1, l2);
  }

  private static int[] allAxes(int rank) {
    int[] axes = new int[Math.max(rank, 0)];
    for (int i = 0; i < axes.length; i++) {
      axes[i] = i;
    }
    return axes;
  }

  private static <T extends TFloating> Operand<T> times(
      Scope scope, Operand<T> value, double coefficient) {
    if (coefficient == 1.0) {
      return value;
    }
    return Mul.create(scope, value, Plumbing.constant(scope, coefficient, value.type()));
  }
}
