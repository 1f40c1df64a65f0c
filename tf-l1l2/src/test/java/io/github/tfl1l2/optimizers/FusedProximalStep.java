package io.github.tfl1l2.optimizers;

import io.github.tfl1l2.internal.DataGradients;
import io.github.tfl1l2.xla.XlaScope;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.tensorflow.GraphOperation;
import org.tensorflow.Operand;
import org.tensorflow.Operation;
import org.tensorflow.Output;
import org.tensorflow.framework.optimizers.Optimizer.GradAndVar;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.op.Op;
import org.tensorflow.op.Ops;
import org.tensorflow.op.Scope;
import org.tensorflow.op.core.AssignVariableOp;
import org.tensorflow.op.core.Constant;
import org.tensorflow.op.core.ReadVariableOp;
import org.tensorflow.op.dtypes.Cast;
import org.tensorflow.op.math.Abs;
import org.tensorflow.op.math.Add;
import org.tensorflow.op.math.Div;
import org.tensorflow.op.math.Maximum;
import org.tensorflow.op.math.Mul;
import org.tensorflow.op.math.Sign;
import org.tensorflow.op.math.Sub;
import org.tensorflow.proto.DataType;
import org.tensorflow.types.family.TNumber;
import org.tensorflow.types.family.TType;

/**
 * The measured alternative to the resource kernel (kept with the tests, not used by the library: on
 * the 2-core bench machine it was slower than {@code ResourceApplyProximalGradientDescent}, which
 * updates in place once the loss's reads are released). The proximal gradient step of large
 * resource variables as XLA computations: one cluster per group of at most {@value
 * #MAX_PER_CLUSTER} variables, each reading its variable once, computing {@code
 * ResourceApplyProximalGradientDescent}'s formula and assigning the result ({@code
 * AssignVariableOp}), so that XLA writes each weight in one loop instead of the kernel's copy on
 * write.
 *
 * <p>The formula is the kernel's, operation for operation and in the variable's dtype: {@code v = w
 * − g·α}, then {@code sign(v)·max(|v| − α·l1, 0) / (1 + l2·α)} (for {@code l1 > 0}; {@code v / (1 +
 * l2·α)} otherwise; {@code v} for an unselected variable). The scalars {@code α}, {@code α·l1} and
 * {@code 1 + l2·α} are computed outside the cluster, so that XLA gets them as parameters and does
 * not turn the division into a multiplication by a rounded reciprocal.
 */
final class FusedProximalStep {
  /** The size of the variables the equality test fuses. */
  static final long MIN_ELEMENTS = 1L << 18;

  /** Variables per cluster: enough to amortize a launch, few enough to compile fast. */
  static final int MAX_PER_CLUSTER = 64;

  private static final AtomicLong CLUSTERS = new AtomicLong();

  private FusedProximalStep() {}

  /** Whether {@code pair}'s update is fused: a float32/float64 resource variable that is large. */
  static boolean pays(GradAndVar<? extends TType> pair) {
    Output<?> variable = pair.getVariable();
    if (!DataGradients.isResource(variable) || pair.getGradient().isClosed()) {
      return false;
    }
    DataType dtype = DataGradients.dtypeOf(variable);
    Shape shape = DataGradients.shapeOf(variable);
    return (dtype == DataType.DT_FLOAT || dtype == DataType.DT_DOUBLE)
        && !shape.isUnknown()
        && !shape.hasUnknownDimension()
        && shape.size() >= MIN_ELEMENTS;
  }

  /** The fused updates of {@code pairs} (all {@link #pays}), in groups of at most 64 a cluster. */
  static List<Op> build(
      Ops tf,
      List<GradAndVar<? extends TType>> pairs,
      float learningRate,
      ProximalTerms terms,
      String name) {
    List<Op> updates = new ArrayList<>();
    String cluster = null;
    for (int i = 0; i < pairs.size(); i++) {
      if (i % MAX_PER_CLUSTER == 0) {
        // Unique in the process, so that no two steps' updates share a cluster.
        cluster = "tfl1l2_" + name + "_" + CLUSTERS.incrementAndGet();
      }
      updates.add(update(tf, pairs.get(i), learningRate, terms, cluster));
    }
    return updates;
  }

  @SuppressWarnings("unchecked")
  private static Op update(
      Ops tf,
      GradAndVar<? extends TType> pair,
      float learningRate,
      ProximalTerms terms,
      String cluster) {
    Output<?> handle = pair.getVariable();
    Class<TNumber> type = (Class<TNumber>) (Class<?>) ProximalTerms.valueType(handle);
    Operand<TNumber> g = (Operand<TNumber>) pair.getGradient();
    Scope outside = DataGradients.besideVariable(tf.scope(), handle);
    List<Operation> reads = new ArrayList<>();
    for (GraphOperation read : DataGradients.readsToOrderBefore(handle)) {
      reads.add(read);
    }
    Scope inside = XlaScope.wrap(outside, cluster);
    if (!reads.isEmpty()) {
      inside = inside.withControlDependencyOps(reads);
    }
    Operand<TNumber> alpha = scalar(outside, learningRate, type);
    Operand<TNumber> w = ReadVariableOp.create(inside, handle, type);
    Operand<TNumber> v = Sub.create(inside, w, Mul.create(inside, g, alpha));
    Operand<TNumber> updated = v;
    if (terms.selects(handle)) {
      Operand<TNumber> l1 = terms.l1(outside, type);
      Operand<TNumber> l2 = terms.l2(outside, type);
      // As the kernel computes them, in the variable's dtype: α·l1 and 1 + l2·α.
      Operand<TNumber> threshold = Mul.create(outside, alpha, l1);
      Operand<TNumber> divisor =
          Add.create(outside, scalar(outside, 1.0, type), Mul.create(outside, l2, alpha));
      if (terms.l1IsPositive(type)) {
        Operand<TNumber> shrunk =
            Maximum.create(
                inside,
                Sub.create(inside, Abs.create(inside, v), threshold),
                scalar(inside, 0.0, type));
        updated = Div.create(inside, Mul.create(inside, Sign.create(inside, v), shrunk), divisor);
      } else {
        updated = Div.create(inside, v, divisor);
      }
    }
    return AssignVariableOp.create(inside, handle, updated);
  }

  /** {@code value} rounded once to {@code type}. */
  static <T extends TType> Operand<T> scalar(Scope scope, double value, Class<T> type) {
    return Cast.create(scope, Constant.scalarOf(scope, value), type);
  }
}
