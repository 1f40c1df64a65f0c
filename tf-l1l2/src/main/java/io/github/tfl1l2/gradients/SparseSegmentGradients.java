package io.github.tfl1l2.gradients;

import static io.github.tfl1l2.gradients.GradientOps.typed;

import java.util.ArrayList;
import java.util.List;
import org.tensorflow.GraphOperation;
import org.tensorflow.Operand;
import org.tensorflow.op.Ops;
import org.tensorflow.types.TInt64;
import org.tensorflow.types.family.TNumber;
import org.tensorflow.types.family.TType;

/**
 * What the three sparse segment reductions' gradients share. {@code SparseSegment<R>(data, indices,
 * segment_ids[, num_segments])} reduces the rows {@code data[indices[i]]} into output row {@code
 * segment_ids[i]}; its gradient with respect to {@code data} sends each output row's upstream
 * gradient, scaled by the reduction's weight, back to every data row it was built from, summing
 * where a data row was taken more than once. {@code indices}, {@code segment_ids} and {@code
 * num_segments} get none.
 */
final class SparseSegmentGradients {
  private SparseSegmentGradients() {}

  /**
   * The gradient with respect to {@code data}, given the upstream gradient already divided by each
   * segment's weight ({@code scaled}, one row per output row), and placeholders for the rest.
   */
  static <T extends TType> List<Operand<?>> scatterToData(
      Ops tf, GraphOperation op, Operand<T> scaled) {
    Operand<?> data = op.input(0);
    Operand<? extends TNumber> indices = typed(op.input(1));
    Operand<? extends TNumber> segmentIds = typed(op.input(2));
    Operand<TInt64> dataRows =
        tf.gather(tf.shape(data, TInt64.class), tf.constant(0), tf.constant(0));
    List<Operand<?>> gradients = new ArrayList<>();
    gradients.add(
        tf.math.unsortedSegmentSum(
            tf.gather(scaled, segmentIds, tf.constant(0)), indices, dataRows));
    for (int i = 1; i < op.numInputs(); i++) {
      gradients.add(GradientOps.noGradient(tf, op.input(i)));
    }
    return gradients;
  }

  /**
   * How many entries of {@code segment_ids} name each output row, at least 1 (an empty segment's
   * output is 0 and passes no gradient anywhere), in the upstream gradient's dtype.
   */
  static <T extends TNumber> Operand<T> counts(Ops tf, GraphOperation op, Operand<T> upstream) {
    Operand<? extends TNumber> segmentIds = typed(op.input(2));
    Operand<TInt64> outputRows =
        tf.gather(tf.shape(upstream, TInt64.class), tf.constant(0), tf.constant(0));
    Operand<T> one = GradientOps.scalar(tf, 1, upstream.asOutput().dataType());
    Operand<T> counts =
        tf.math.unsortedSegmentSum(tf.fill(tf.shape(segmentIds), one), segmentIds, outputRows);
    return tf.math.maximum(counts, one);
  }
}
