package io.github.tfl1l2;

import io.github.tfl1l2.internal.Devices;
import io.github.tfl1l2.internal.FloatingTypes;
import io.github.tfl1l2.xla.XlaScope;
import java.util.ArrayList;
import java.util.List;
import org.tensorflow.Operand;
import org.tensorflow.op.Scope;
import org.tensorflow.op.core.Constant;
import org.tensorflow.op.core.Stack;
import org.tensorflow.op.core.Sum;
import org.tensorflow.op.core.Unstack;
import org.tensorflow.op.dtypes.Cast;
import org.tensorflow.op.math.Abs;
import org.tensorflow.op.math.Add;
import org.tensorflow.op.math.Mul;
import org.tensorflow.op.math.Square;
import org.tensorflow.op.nn.L2Loss;
import org.tensorflow.types.TFloat64;
import org.tensorflow.types.family.TFloating;
import org.tensorflow.types.family.TType;

/**
 * Each selected parameter's {@code Σ|w|} and {@code Σw²}, from one read of it, and what an {@link
 * L1L2} makes of them. Built by {@link L1L2#sums}.
 *
 * <p>This is the one source of every reported figure: the {@code regularization} signature's {@code
 * penalty}, {@code l1_sum}, {@code l2_sum} and {@code per_variable} outputs and the {@code penalty}
 * command's table all derive from {@link #absSums()} and {@link #squareSums()}, so no report
 * reduces a weight more than once.
 *
 * <p>With {@link L1L2#xla()} in a graph, each parameter's two sums are one XLA fusion: the weight
 * is viewed as rows of 32 (the layout of the penalty itself), {@code [|w|, w²]} is stacked per row
 * and reduced over the row, so the loop reads every element once and writes a vector 16 times
 * smaller than the weight (two sibling reductions would be two loops: XLA's CPU backend does not
 * fuse them). Without XLA, and in eager mode, the sums are {@code Sum(Abs(w))} and {@code
 * 2·L2Loss(w)}, two reads and no squared buffer.
 *
 * <p>All outputs are float64. Each parameter is summed in its accumulator precision (float32 for
 * half, bfloat16 and float32 weights, float64 for float64) on its own device, then widened.
 */
public final class ParameterSums {
  private final List<String> names;
  private final Operand<TFloat64> absSums;
  private final Operand<TFloat64> squareSums;
  private final Operand<TFloat64> perParameter;
  private final Operand<TFloat64> penalty;

  private ParameterSums(
      List<String> names,
      Operand<TFloat64> absSums,
      Operand<TFloat64> squareSums,
      Operand<TFloat64> perParameter,
      Operand<TFloat64> penalty) {
    this.names = names;
    this.absSums = absSums;
    this.squareSums = squareSums;
    this.perParameter = perParameter;
    this.penalty = penalty;
  }

  /**
   * The selected parameters' names, in input order: the order of every vector here.
   *
   * @return an immutable list of {@code n} names: map keys, or op names (with {@code :index} past
   *     output 0; a read named after its variable) for an unnamed list
   */
  public List<String> names() {
    return names;
  }

  /**
   * float64 {@code [n]}: {@code Σ|w_i|} of each selected parameter.
   *
   * @return a float64 vector of shape {@code [n]}, in the order of {@link #names()}
   */
  public Operand<TFloat64> absSums() {
    return absSums;
  }

  /**
   * float64 {@code [n]}: {@code Σw_i²} of each selected parameter.
   *
   * @return a float64 vector of shape {@code [n]}, in the order of {@link #names()}
   */
  public Operand<TFloat64> squareSums() {
    return squareSums;
  }

  /**
   * float64 {@code [n]}: {@code weight · (l1 · Σ|w_i| + l2 · Σw_i²)} of each selected parameter,
   * the {@link Reduction#NONE} penalty.
   *
   * @return a float64 vector of shape {@code [n]}, in the order of {@link #names()}
   */
  public Operand<TFloat64> perParameter() {
    return perParameter;
  }

  /**
   * float64 scalar: the sum of {@link #perParameter()}, the {@link Reduction#SUM} penalty.
   *
   * @return a float64 scalar; zero when no parameter is selected
   */
  public Operand<TFloat64> penalty() {
    return penalty;
  }

  /** Emits the sums of {@code selected} under {@code spec}'s name scope. */
  static ParameterSums emit(PenaltySpec spec, Scope outer, List<Parameter> selected) {
    Scope scope = outer.withSubScope(spec.name());
    boolean fused = spec.xla() && scope.env().isGraph();
    List<String> names = new ArrayList<>(selected.size());
    List<Operand<TFloat64>> abs = new ArrayList<>(selected.size());
    List<Operand<TFloat64>> squares = new ArrayList<>(selected.size());
    for (int i = 0; i < selected.size(); i++) {
      Parameter parameter = selected.get(i);
      names.add(parameter.name());
      Scope plain = Devices.on(scope, parameter.device());
      // One cluster per parameter: a report runs once, so compile time matters more than the
      // per-cluster launch cost that PenaltyGraph's grouping saves in a training loop.
      Scope compute =
          fused
              ? Devices.on(
                  XlaScope.wrap(scope, scope.makeOpName("sums_cluster")), parameter.device())
              : plain;
      Operand<TType> read = Plumbing.read(plain, parameter, spec.checkNumerics());
      Operand<? extends TFloating> x =
          Cast.create(compute, read, FloatingTypes.accumulatorOf(parameter.dtype()));
      List<? extends Operand<TFloat64>> both =
          Unstack.create(
                  compute,
                  Plumbing.castIfNeeded(compute, sums(plain, compute, x, fused), TFloat64.class),
                  2L)
              .output();
      abs.add(both.get(0));
      squares.add(both.get(1));
    }
    Operand<TFloat64> absSums = vector(scope, abs);
    Operand<TFloat64> squareSums = vector(scope, squares);
    Operand<TFloat64> perParameter =
        Add.create(
            scope,
            Mul.create(scope, absSums, Constant.scalarOf(scope, spec.c1())),
            Mul.create(scope, squareSums, Constant.scalarOf(scope, spec.c2())));
    Operand<TFloat64> penalty = Sum.create(scope, perParameter, Constant.scalarOf(scope, 0));
    return new ParameterSums(List.copyOf(names), absSums, squareSums, perParameter, penalty);
  }

  /** {@code [Σ|x|, Σx²]} of {@code x}, in its own type. */
  private static <T extends TFloating> Operand<T> sums(
      Scope plain, Scope compute, Operand<T> x, boolean fused) {
    long n = x.shape().hasUnknownDimension() ? -1 : x.shape().size();
    x = Plumbing.flatten(plain, x);
    if (!fused || n < 0) {
      Operand<T> absSum =
          Sum.create(compute, Abs.create(compute, x), Constant.scalarOf(compute, 0));
      // L2Loss = Σx²/2 without a squared buffer; doubling is exact.
      Operand<T> squareSum =
          Mul.create(compute, L2Loss.create(compute, x), Plumbing.constant(compute, 2.0, x.type()));
      return Stack.create(compute, List.of(absSum, squareSum));
    }
    if (n <= RowLayout.ROW) {
      return rowSums(compute, x, 1);
    }
    RowLayout.Split<T> split = RowLayout.split(compute, x, 1, n, false);
    // [chunks, 2, 32] reduced over the rows of 32: the stack is fused into that reduction. The
    // doubling in between keeps XLA's simplifier from merging the two reductions into one, which
    // its tree-reduction rewriter would split again after writing the stacked [chunks, 2, 32]
    // in full (seen in the dump); both scalings by powers of two are exact.
    Operand<T> perRow =
        Mul.create(
            compute, rowSums(compute, split.rows(), 2), Plumbing.constant(compute, 2.0, x.type()));
    Operand<T> total =
        Mul.create(
            compute,
            Sum.create(compute, perRow, Constant.scalarOf(compute, 0)),
            Plumbing.constant(compute, 0.5, x.type()));
    if (split.tail() == null) {
      return total;
    }
    return Add.create(compute, total, rowSums(compute, split.tail(), 1));
  }

  /**
   * Stacks {@code |x|} and {@code x²} before the last dimension of {@code x} (of rank {@code rank})
   * and sums that last dimension: {@code [2]} for a vector, {@code [rows, 2]} for rows.
   */
  private static <T extends TFloating> Operand<T> rowSums(Scope scope, Operand<T> x, int rank) {
    Operand<T> stacked =
        Stack.create(
            scope, List.of(Abs.create(scope, x), Square.create(scope, x)), Stack.axis(rank - 1L));
    return Sum.create(scope, stacked, Constant.scalarOf(scope, rank));
  }

  private static Operand<TFloat64> vector(Scope scope, List<Operand<TFloat64>> values) {
    if (values.isEmpty()) {
      return Constant.vectorOf(scope, new double[0]);
    }
    return Stack.create(scope, values);
  }
}
