package io.github.tfl1l2.gradients;

import static io.github.tfl1l2.gradients.GradientOps.typed;

import java.util.List;
import org.tensorflow.GraphOperation;
import org.tensorflow.Operand;
import org.tensorflow.Output;
import org.tensorflow.op.Ops;
import org.tensorflow.types.family.TType;

/**
 * The gradient of {@code SparseSegmentSum} and {@code SparseSegmentSumWithNumSegments} with respect
 * to {@code data}: {@code ∂L/∂data[r] = Σ_{i : indices[i] = r} g[segment_ids[i]]} (see {@link
 * SparseSegmentGradients}).
 */
final class SparseSegmentSumGradient {
  private SparseSegmentSumGradient() {}

  static List<Operand<?>> gradient(Ops tf, GraphOperation op, List<Output<?>> upstream) {
    return build(tf, op, upstream);
  }

  private static <T extends TType> List<Operand<?>> build(
      Ops tf, GraphOperation op, List<Output<?>> upstream) {
    Operand<T> grad = typed(upstream.get(0));
    return SparseSegmentGradients.scatterToData(tf, op, grad);
  }
}
