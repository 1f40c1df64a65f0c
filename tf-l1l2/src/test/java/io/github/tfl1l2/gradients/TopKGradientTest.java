package io.github.tfl1l2.gradients;

import static io.github.tfl1l2.gradients.GradientChecker.assertClose;
import static io.github.tfl1l2.gradients.GradientChecker.assertMatches;
import static io.github.tfl1l2.gradients.GradientChecker.compute;

import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.tensorflow.Operand;
import org.tensorflow.proto.DataType;
import org.tensorflow.types.TInt32;
import org.tensorflow.types.TInt64;
import org.tensorflow.types.family.TNumber;
import org.tensorflow.types.family.TType;

/** The gradient of {@code TopKV2} with respect to its input. */
class TopKGradientTest {

  /**
   * Distinct values, exactly representable in every floating dtype (quarter steps below 16), in a
   * random order: the finite difference never crosses a tie.
   */
  private static double[] distinct(long seed, int size) {
    List<Integer> order = new ArrayList<>();
    for (int i = 0; i < size; i++) {
      order.add(i);
    }
    Collections.shuffle(order, new Random(seed));
    double[] values = new double[size];
    for (int i = 0; i < size; i++) {
      values[i] = (order.get(i) - size / 2) * 0.25;
    }
    return values;
  }

  @SuppressWarnings("unchecked")
  private static <T extends TNumber> Operand<T> number(Operand<TType> x) {
    return (Operand<T>) (Operand<?>) x;
  }

  private static GradientChecker.Gradients topK(DataType dtype, double[] x, long[] shape, int k) {
    return compute(
        dtype,
        List.of(x),
        List.of(shape),
        90 + k,
        (tf, in) -> List.of(tf.nn.topK(number(in.get(0)), tf.constant(k), TInt32.class).values()));
  }

  @ParameterizedTest
  @EnumSource(
      value = DataType.class,
      names = {"DT_HALF", "DT_BFLOAT16", "DT_FLOAT", "DT_DOUBLE"})
  void eachValuesGradientReachesItsInputEntry(DataType dtype) {
    assertMatches(dtype, topK(dtype, distinct(1, 24), new long[] {4, 6}, 3));
    assertMatches(dtype, topK(dtype, distinct(2, 7), new long[] {7}, 2));
    assertMatches(dtype, topK(dtype, distinct(3, 24), new long[] {2, 3, 4}, 4));
    assertMatches(dtype, topK(dtype, distinct(4, 10), new long[] {2, 5}, 5));
    assertMatches(dtype, topK(dtype, distinct(6, 8), new long[] {2, 4}, 0));
  }

  @Test
  void int64IndicesGiveTheSameGradient() {
    double[] x = distinct(5, 24);
    long[] shape = {4, 6};
    GradientChecker.Gradients g =
        compute(
            DataType.DT_FLOAT,
            List.of(x),
            List.of(shape),
            93,
            (tf, in) ->
                List.of(tf.nn.topK(number(in.get(0)), tf.constant(3), TInt64.class).values()));
    assertMatches(DataType.DT_FLOAT, g);
  }

  /**
   * Among equal values TopK returns the lower index first; that entry receives the gradient and its
   * equal twin beyond the k-th place none. The expected gradient places each weight at the index a
   * stable descending sort of the row (lower index first on ties) puts in that place.
   */
  @ParameterizedTest
  @EnumSource(
      value = DataType.class,
      names = {"DT_HALF", "DT_BFLOAT16", "DT_FLOAT", "DT_DOUBLE"})
  void tiesSendTheGradientToTheIndexTopKReturned(DataType dtype) {
    double[] x = {1, 3, 2, 3, 0, 3, -1, 2, 2, 2, 5, 2};
    long[] shape = {2, 6};
    int k = 2;
    GradientChecker.Gradients g = topK(dtype, x, shape, k);
    double[] weights = g.weights().get(0);
    double[] expected = new double[x.length];
    for (int row = 0; row < 2; row++) {
      List<Integer> order = new ArrayList<>();
      for (int col = 0; col < 6; col++) {
        order.add(col);
      }
      int base = row * 6;
      order.sort(Comparator.comparingDouble((Integer col) -> -x[base + col]));
      for (int place = 0; place < k; place++) {
        expected[base + order.get(place)] += weights[row * k + place];
      }
    }
    assertClose(dtype, expected, g.symbolic().get(0), "input with ties");
  }
}
