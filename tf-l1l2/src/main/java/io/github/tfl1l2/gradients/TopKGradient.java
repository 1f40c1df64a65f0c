package io.github.tfl1l2.gradients;

import static io.github.tfl1l2.gradients.GradientOps.typed;

import java.util.ArrayList;
import java.util.List;
import org.tensorflow.GraphOperation;
import org.tensorflow.Operand;
import org.tensorflow.Output;
import org.tensorflow.op.Ops;
import org.tensorflow.types.TInt64;
import org.tensorflow.types.family.TType;

/**
 * The gradient of {@code TopKV2(input, k)} (and of the older {@code TopK}, whose {@code k} is an
 * attribute) with respect to {@code input}: the upstream gradient of each returned value goes to
 * the input entry its index names, every other entry gets 0; {@code k} gets none, and the gradient
 * reaching the {@code indices} output is ignored (indices are not differentiable).
 *
 * <p>Ties follow the op's own choice: the entry whose index {@code TopK} returned (the lower index
 * first among equal values, as its kernel orders them) receives the gradient, as in Python
 * TensorFlow. The indices of one row are distinct, so no entry receives two values' gradients.
 */
final class TopKGradient {
  private TopKGradient() {}

  static List<Operand<?>> gradient(Ops tf, GraphOperation op, List<Output<?>> upstream) {
    return build(tf, op, upstream);
  }

  private static <T extends TType> List<Operand<?>> build(
      Ops tf, GraphOperation op, List<Output<?>> upstream) {
    Operand<T> input = typed(op.input(0));
    Operand<T> grad = typed(upstream.get(0));
    Operand<TInt64> indices = GradientOps.int64(tf, op.output(1));

    Operand<TInt64> inputShape = tf.shape(input, TInt64.class);
    Operand<TInt64> lastAxis = tf.math.sub(tf.size(inputShape, TInt64.class), tf.constant(1L));
    Operand<TInt64> columns = tf.gather(inputShape, lastAxis, tf.constant(0));
    Operand<TInt64> k = tf.gather(tf.shape(indices, TInt64.class), lastAxis, tf.constant(0));
    // The row count is the product of the leading dimensions, given explicitly: Reshape cannot
    // infer a -1 for an empty tensor (k = 0).
    Operand<TInt64> rows =
        tf.prod(
            tf.slice(
                inputShape,
                tf.constant(new long[] {0}),
                tf.reshape(lastAxis, tf.constant(new long[] {1}))),
            tf.constant(0));
    Operand<TInt64> rowsByK = tf.reshape(indices, tf.stack(List.of(rows, k)));
    // Each returned index becomes row · columns + index, a position in the flattened input.
    Operand<TInt64> offsets =
        tf.expandDims(
            tf.math.mul(tf.range(tf.constant(0L), rows, tf.constant(1L)), columns),
            tf.constant(-1));
    Operand<TInt64> flatPositions =
        tf.reshape(tf.math.add(rowsByK, offsets), tf.constant(new long[] {-1, 1}));
    Operand<T> flatGradient =
        tf.scatterNd(
            flatPositions,
            tf.reshape(grad, tf.constant(new long[] {-1})),
            tf.reshape(tf.size(input, TInt64.class), tf.constant(new long[] {1})));

    List<Operand<?>> gradients = new ArrayList<>();
    gradients.add(tf.reshape(flatGradient, inputShape));
    for (int i = 1; i < op.numInputs(); i++) {
      gradients.add(GradientOps.noGradient(tf, op.input(i)));
    }
    return gradients;
  }
}
