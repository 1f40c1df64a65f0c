package io.github.tfl1l2.gradients;

import java.util.List;
import org.tensorflow.Operand;
import org.tensorflow.Output;
import org.tensorflow.op.Ops;
import org.tensorflow.op.core.BroadcastGradientArgs;
import org.tensorflow.proto.DataType;
import org.tensorflow.types.TInt32;
import org.tensorflow.types.TInt64;
import org.tensorflow.types.family.TNumber;
import org.tensorflow.types.family.TType;

/**
 * The pieces several gradients share: typed views of the untyped operands a gradient function
 * receives, the reduction of a broadcast gradient to an input's shape, a cast to a dtype known only
 * at run time, and the placeholder an input without a gradient gets.
 *
 * <p>Nothing here asks a tensor for its static shape: TensorFlow holds the graph's lock while it
 * builds gradients, and a shape query from a gradient function would wait on it forever. Shapes are
 * read at run time through {@code Shape} ops instead.
 */
final class GradientOps {
  private GradientOps() {}

  /**
   * {@code operand} seen as holding elements of type {@code T} (gradient functions get {@code ?}).
   */
  @SuppressWarnings("unchecked")
  static <T extends TType> Operand<T> typed(Operand<?> operand) {
    return (Operand<T>) operand;
  }

  /**
   * What an input that has no gradient (integer labels, indices, segment ids, an axis) gets back.
   * TF-Java 1.1.0 turns each returned operand into a graph output and has no way to say "no
   * gradient" (a null fails with a NullPointerException), so the input gets zeros of its own shape
   * and dtype: the same value Python's {@code None} stands for. The op is built but never run
   * unless someone asks for that input's gradient.
   */
  static Operand<?> noGradient(Ops tf, Output<?> input) {
    return tf.zerosLike(typed(input));
  }

  /**
   * Reduces {@code gradient}, of the broadcast shape of {@code x} and {@code y}, to the shape of
   * one of them: summed over the axes {@code BroadcastGradientArgs} names for it, then reshaped to
   * that input's shape (so axes of size 1 come back).
   *
   * @return two operands: the part for {@code x} and the part for {@code y}
   */
  static <T extends TType> List<Operand<T>> reduceToInputs(
      Ops tf, Operand<?> x, Operand<?> y, Operand<T> gradientForX, Operand<T> gradientForY) {
    Operand<TInt64> shapeX = tf.shape(x, TInt64.class);
    Operand<TInt64> shapeY = tf.shape(y, TInt64.class);
    BroadcastGradientArgs<TInt64> axes = tf.broadcastGradientArgs(shapeX, shapeY);
    return List.of(
        tf.reshape(tf.sum(gradientForX, axes.r0()), shapeX),
        tf.reshape(tf.sum(gradientForY, axes.r1()), shapeY));
  }

  /** {@code value} cast to {@code dtype}, a dtype known only when the gradient is built. */
  static <T extends TType> Operand<T> castTo(Ops tf, Operand<?> value, DataType dtype) {
    return tf.scope()
        .opBuilder("Cast", "Cast")
        .addInput(value.asOutput())
        .setAttr("DstT", dtype)
        .build()
        .output(0);
  }

  /** The scalar {@code value} in {@code dtype}. */
  static <T extends TType> Operand<T> scalar(Ops tf, double value, DataType dtype) {
    return castTo(tf, tf.constant(value), dtype);
  }

  /**
   * {@code values} (one per row of {@code like}) reshaped so that they broadcast along its rows.
   */
  static <T extends TType> Operand<T> perRow(Ops tf, Operand<T> values, Operand<?> like) {
    // [n] → [n, 1, …, 1], as many 1s as like has dimensions after the first.
    Operand<TInt32> ones =
        tf.fill(
            tf.expandDims(tf.math.sub(tf.rank(like), tf.constant(1)), tf.constant(0)),
            tf.constant(1));
    Operand<TInt32> shape = tf.concat(List.of(tf.shape(values), ones), tf.constant(0));
    return tf.reshape(values, shape);
  }

  /** {@code number} cast to int64 (an index or count whose integer type the op leaves open). */
  static Operand<TInt64> int64(Ops tf, Operand<?> number) {
    Operand<? extends TNumber> n = typed(number);
    return tf.dtypes.cast(n, TInt64.class);
  }
}
