package io.github.tfl1l2.gradients;

import static io.github.tfl1l2.gradients.GradientChecker.assertMatches;
import static io.github.tfl1l2.gradients.GradientChecker.compute;

import java.util.List;
import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.tensorflow.Operand;
import org.tensorflow.op.Ops;
import org.tensorflow.proto.DataType;
import org.tensorflow.types.family.TNumber;
import org.tensorflow.types.family.TType;

/**
 * The gradients of the sparse segment reductions with respect to {@code data}: rows taken more than
 * once (index 2 three times, index 0 twice), an empty segment in the middle (2) and, with {@code
 * num_segments}, one at the end (4); data of rank 1, 2 and 3.
 */
class SparseSegmentGradientTest {
  private static final int[] INDICES = {0, 2, 2, 5, 1, 2, 0};
  private static final long[] SEGMENT_IDS = {0, 0, 1, 1, 1, 3, 3};
  private static final int NUM_SEGMENTS = 5;

  private enum Reduction {
    SUM,
    MEAN,
    SQRT_N
  }

  @SuppressWarnings("unchecked")
  private static <T extends TNumber> Operand<T> number(Operand<TType> x) {
    return (Operand<T>) (Operand<?>) x;
  }

  private static Operand<?> build(
      Ops tf, Operand<TType> data, Reduction reduction, boolean withNumSegments) {
    Operand<TNumber> d = number(data);
    var indices = tf.constant(INDICES);
    var segments = tf.constant(SEGMENT_IDS); // int64 segment ids, int32 indices
    var n = tf.constant(NUM_SEGMENTS);
    return switch (reduction) {
      case SUM ->
          withNumSegments
              ? tf.sparse.sparseSegmentSumWithNumSegments(d, indices, segments, n)
              : tf.sparse.sparseSegmentSum(d, indices, segments);
      case MEAN ->
          withNumSegments
              ? tf.sparse.sparseSegmentMeanWithNumSegments(d, indices, segments, n)
              : tf.sparse.sparseSegmentMean(d, indices, segments);
      case SQRT_N ->
          withNumSegments
              ? tf.sparse.sparseSegmentSqrtNWithNumSegments(d, indices, segments, n)
              : tf.sparse.sparseSegmentSqrtN(d, indices, segments);
    };
  }

  private static void check(DataType dtype, Reduction reduction, boolean withNumSegments) {
    long[][] shapes = {{6}, {6, 3}, {6, 2, 2}};
    for (int i = 0; i < shapes.length; i++) {
      long[] shape = shapes[i];
      double[] data =
          GradientChecker.signedUniform(new Random(100 + i), GradientChecker.size(shape), 0.5, 1.5);
      assertMatches(
          dtype,
          compute(
              dtype,
              List.of(data),
              List.of(shape),
              110 + i,
              (tf, in) -> List.of(build(tf, in.get(0), reduction, withNumSegments))));
    }
  }

  @ParameterizedTest
  @EnumSource(
      value = DataType.class,
      names = {"DT_HALF", "DT_BFLOAT16", "DT_FLOAT", "DT_DOUBLE"})
  void sparseSegmentSum(DataType dtype) {
    check(dtype, Reduction.SUM, false);
  }

  @ParameterizedTest
  @EnumSource(
      value = DataType.class,
      names = {"DT_HALF", "DT_BFLOAT16", "DT_FLOAT", "DT_DOUBLE"})
  void sparseSegmentSumWithNumSegments(DataType dtype) {
    check(dtype, Reduction.SUM, true);
  }

  @ParameterizedTest
  @EnumSource(
      value = DataType.class,
      names = {"DT_HALF", "DT_BFLOAT16", "DT_FLOAT", "DT_DOUBLE"})
  void sparseSegmentMean(DataType dtype) {
    check(dtype, Reduction.MEAN, false);
  }

  @ParameterizedTest
  @EnumSource(
      value = DataType.class,
      names = {"DT_HALF", "DT_BFLOAT16", "DT_FLOAT", "DT_DOUBLE"})
  void sparseSegmentMeanWithNumSegments(DataType dtype) {
    check(dtype, Reduction.MEAN, true);
  }

  @ParameterizedTest
  @EnumSource(
      value = DataType.class,
      names = {"DT_HALF", "DT_BFLOAT16", "DT_FLOAT", "DT_DOUBLE"})
  void sparseSegmentSqrtN(DataType dtype) {
    check(dtype, Reduction.SQRT_N, false);
  }

  @ParameterizedTest
  @EnumSource(
      value = DataType.class,
      names = {"DT_HALF", "DT_BFLOAT16", "DT_FLOAT", "DT_DOUBLE"})
  void sparseSegmentSqrtNWithNumSegments(DataType dtype) {
    check(dtype, Reduction.SQRT_N, true);
  }
}
