package io.github.tfl1l2.gradients;

import static io.github.tfl1l2.gradients.GradientOps.typed;

import java.util.List;
import org.tensorflow.GraphOperation;
import org.tensorflow.Operand;
import org.tensorflow.Output;
import org.tensorflow.op.Ops;
import org.tensorflow.types.family.TNumber;

/**
 * The gradient of {@code SparseSegmentMean} and {@code SparseSegmentMeanWithNumSegments} with
 * respect to {@code data}: {@code ∂L/∂data[r] = Σ_{i : indices[i] = r} g[s_i] / n[s_i]}, with
 * {@code s_i = segment_ids[i]} and {@code n[s]} the number of entries of segment {@code s} (see
 * {@link SparseSegmentGradients}).
 */
final class SparseSegmentMeanGradient {
  private SparseSegmentMeanGradient() {}

  static List<Operand<?>> gradient(Ops tf, GraphOperation op, List<Output<?>> upstream) {
    return build(tf, op, upstream);
  }

  private static <T extends TNumber> List<Operand<?>> build(
      Ops tf, GraphOperation op, List<Output<?>> upstream) {
    Operand<T> grad = typed(upstream.get(0));
    Operand<T> counts = SparseSegmentGradients.counts(tf, op, grad);
    return SparseSegmentGradients.scatterToData(
        tf, op, tf.math.div(grad, GradientOps.perRow(tf, counts, grad)));
  }
}
