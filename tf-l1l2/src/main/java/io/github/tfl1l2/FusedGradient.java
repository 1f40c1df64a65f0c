package io.github.tfl1l2;

import io.github.tfl1l2.internal.Devices;
import io.github.tfl1l2.internal.FloatingTypes;
import io.github.tfl1l2.internal.PinnedScope;
import io.github.tfl1l2.xla.XlaScope;
import java.util.ArrayList;
import java.util.List;
import org.tensorflow.Operand;
import org.tensorflow.op.Scope;
import org.tensorflow.op.math.Add;
import org.tensorflow.op.math.Mul;
import org.tensorflow.op.math.Sign;
import org.tensorflow.op.math.Sub;
import org.tensorflow.proto.DataType;
import org.tensorflow.types.family.TFloating;

/**
 * The penalty's gradient of each weight, {@code upstream · (c1 · sign(w) + 2 · c2 · w) + data},
 * built as one fused computation that reads {@code w} (and the data gradient) once and writes the
 * gradient once. Three callers build it: the surrogate's registered gradient ({@link
 * GradientSurrogate}), the ref-variable step of {@code minimize} ({@link FusedMinimize}), and the
 * resource-variable updates ({@link ResourceUpdates}).
 */
final class FusedGradient {
  private FusedGradient() {}

  /**
   * One weight's share of a fused gradient: {@code upstream · (c1·sign(w) + 2·c2·w) + data}, where
   * a null {@code upstream} means 1 and a null {@code dataGradient} means 0.
   */
  record Term(
      Operand<?> weight, Operand<?> upstream, Operand<?> dataGradient, double c1, double c2) {}

  /**
   * Builds the gradient of each term in the weight's own dtype (computed in float32 for half
   * precision, float64 for float64), pinned to the weight's device (the scope may be the one
   * TensorFlow hands a gradient function, which ignores {@code withDevice}). With {@code xla}, at
   * most {@link PenaltyGraph#ENTRIES_PER_CLUSTER} consecutive terms share one XLA cluster, in which
   * XLA emits one fused loop per weight.
   */
  static List<Operand<?>> build(Scope scope, List<Term> terms, boolean xla) {
    List<Operand<?>> gradients = new ArrayList<>(terms.size());
    String cluster = null;
    int inCluster = 0;
    for (Term term : terms) {
      Scope compute = PinnedScope.on(scope, Devices.deviceOf(term.weight()));
      if (xla) {
        if (cluster == null || inCluster == PenaltyGraph.ENTRIES_PER_CLUSTER) {
          // makeOpName, not makeUnique: the cluster name must be unique in the whole graph.
          cluster = scope.makeOpName("gradient_xla");
          inCluster = 0;
        }
        inCluster++;
        compute = XlaScope.wrap(compute, cluster);
      }
      gradients.add(of(compute, term, false));
    }
    return gradients;
  }

  /**
   * One term's gradient, built in {@code scope} as it is (no cluster or device of its own); with
   * {@code noAddChain}, {@code c1·sign(w) + 2·c2·w} is built as {@code 2·c2·w − (−c1)·sign(w)}, the
   * same value to the last bit, so that the gradient holds no chain of two {@code Add}s. Grappler's
   * arithmetic optimizer rewrites such a chain into a new {@code AddN} node without the XLA marks,
   * which splits an XLA cluster in two (measured: the penalty terms in one cluster, the sum and the
   * update outside, each weight read twice).
   */
  static Operand<?> of(Scope scope, Term term, boolean noAddChain) {
    DataType dtype = FloatingTypes.baseOf(term.weight().asOutput().dataType());
    Class<? extends TFloating> type = FloatingTypes.classOf(dtype);
    Class<? extends TFloating> accumulator = FloatingTypes.accumulatorOf(dtype);
    Operand<? extends TFloating> x = Plumbing.castIfNeeded(scope, term.weight(), accumulator);
    Operand<? extends TFloating> slope = null;
    boolean subtract = noAddChain && term.c1() != 0.0 && term.c2() != 0.0;
    if (term.c1() != 0.0) {
      slope = times(scope, Sign.create(scope, x), subtract ? -term.c1() : term.c1());
    }
    if (term.c2() != 0.0) {
      Operand<? extends TFloating> l2 = times(scope, x, 2.0 * term.c2());
      slope = slope == null ? l2 : subtract ? subtract(scope, l2, slope) : add(scope, slope, l2);
    }
    Operand<? extends TFloating> gradient = slope;
    if (term.upstream() != null) {
      gradient =
          multiply(scope, gradient, Plumbing.castIfNeeded(scope, term.upstream(), accumulator));
    }
    if (term.dataGradient() != null) {
      gradient =
          add(scope, Plumbing.castIfNeeded(scope, term.dataGradient(), accumulator), gradient);
    }
    return Plumbing.castIfNeeded(scope, gradient, type);
  }

  @SuppressWarnings({"unchecked", "rawtypes"})
  private static Operand<? extends TFloating> times(
      Scope scope, Operand<? extends TFloating> x, double coefficient) {
    return Mul.create(scope, (Operand) x, Plumbing.constant(scope, coefficient, (Class) x.type()));
  }

  @SuppressWarnings({"unchecked", "rawtypes"})
  private static Operand<? extends TFloating> multiply(
      Scope scope, Operand<? extends TFloating> a, Operand<? extends TFloating> b) {
    return Mul.create(scope, (Operand) a, (Operand) b);
  }

  @SuppressWarnings({"unchecked", "rawtypes"})
  private static Operand<? extends TFloating> subtract(
      Scope scope, Operand<? extends TFloating> a, Operand<? extends TFloating> b) {
    return Sub.create(scope, (Operand) a, (Operand) b);
  }

  @SuppressWarnings({"unchecked", "rawtypes"})
  private static Operand<? extends TFloating> add(
      Scope scope, Operand<? extends TFloating> a, Operand<? extends TFloating> b) {
    return Add.create(scope, (Operand) a, (Operand) b);
  }
}
