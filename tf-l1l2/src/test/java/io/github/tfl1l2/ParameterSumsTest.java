package io.github.tfl1l2;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.github.tfl1l2.testing.References;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.tensorflow.Graph;
import org.tensorflow.Operand;
import org.tensorflow.op.Ops;
import org.tensorflow.types.TFloat16;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TFloat64;

/** {@link L1L2#sums}: each parameter's Σ|w| and Σw², and the penalty derived from them. */
class ParameterSumsTest {
  /** Sizes around the row width of 32: a vector, a ragged tail, exact rows, a matrix. */
  private static final int[] SIZES = {5, 32, 33, 70_001, 4096};

  private static final L1L2 CONFIG = L1L2.builder().l1(0.25).l2(3.0).weight(0.5).build();

  private static float[][] weights() {
    float[][] weights = new float[SIZES.length][];
    for (int i = 0; i < SIZES.length; i++) {
      weights[i] = Fixtures.randomWeights(40 + i, SIZES[i], 1.5);
    }
    return weights;
  }

  private static Map<String, Operand<?>> constants(Ops tf, float[][] weights) {
    Map<String, Operand<?>> named = new LinkedHashMap<>();
    for (int i = 0; i < weights.length; i++) {
      float[] w = weights[i];
      named.put(
          "w" + i,
          w.length == 4096
              ? tf.constant(Fixtures.tensor(w, 64, 64))
              : tf.constant(Fixtures.tensor(w, w.length)));
    }
    return named;
  }

  @ParameterizedTest
  @EnumSource(Modes.class)
  void absSumsEqualDoubleReferencePerParameter(Modes mode) {
    float[][] weights = weights();
    double[] actual =
        mode.evaluate(tf -> mode.apply(CONFIG).sums(tf, constants(tf, weights)).absSums());
    for (int i = 0; i < weights.length; i++) {
      double expected = References.l1Sum(weights[i]);
      assertEquals(expected, actual[i], 1e-6 * expected, mode + " Σ|w| of w" + i);
    }
  }

  @ParameterizedTest
  @EnumSource(Modes.class)
  void squareSumsEqualDoubleReferencePerParameter(Modes mode) {
    float[][] weights = weights();
    double[] actual =
        mode.evaluate(tf -> mode.apply(CONFIG).sums(tf, constants(tf, weights)).squareSums());
    for (int i = 0; i < weights.length; i++) {
      double expected = References.l2Sum(weights[i]);
      assertEquals(expected, actual[i], 1e-6 * expected, mode + " Σw² of w" + i);
    }
  }

  @ParameterizedTest
  @EnumSource(Modes.class)
  void perParameterAndPenaltyApplyTheCoefficients(Modes mode) {
    float[][] weights = weights();
    double[] perParameter =
        mode.evaluate(tf -> mode.apply(CONFIG).sums(tf, constants(tf, weights)).perParameter());
    double[] penalty =
        mode.evaluate(tf -> mode.apply(CONFIG).sums(tf, constants(tf, weights)).penalty());
    double total = 0;
    for (int i = 0; i < weights.length; i++) {
      double expected = References.penalty(0.25, 3.0, 0.5, weights[i]);
      assertEquals(expected, perParameter[i], 1e-6 * expected, mode + " w" + i);
      total += expected;
    }
    assertEquals(total, penalty[0], 1e-6 * total, mode + " penalty");
  }

  @Test
  void sumsEqualThePenaltyOfTheSameRegularizer() {
    float[][] weights = weights();
    double fromSums =
        Modes.GRAPH_XLA.evaluate(tf -> CONFIG.sums(tf, constants(tf, weights)).penalty())[0];
    double direct =
        Modes.GRAPH_XLA
            .evaluate(tf -> CONFIG.penalty(tf, constants(tf, weights), TFloat64.class))[0];
    assertEquals(direct, fromSums, 1e-6 * direct);
  }

  @Test
  void halfPrecisionWeightsAreSummedInFloat32() {
    // 70 000 float16 ones: a float16 accumulator would stop at 2048 (and Σw² likewise).
    double[] sums =
        Modes.GRAPH_XLA.evaluate(
            tf -> {
              Operand<TFloat16> ones =
                  tf.dtypes.cast(
                      tf.ones(tf.constant(new long[] {70_000}), TFloat32.class), TFloat16.class);
              Ops ops = tf;
              return ops.concat(
                  List.of(
                      CONFIG.sums(tf, List.of(ones)).absSums(),
                      CONFIG.sums(tf, List.of(ones)).squareSums()),
                  ops.constant(0));
            });
    assertEquals(70_000.0, sums[0]);
    assertEquals(70_000.0, sums[1]);
  }

  @Test
  void namesAreTheSelectedKeysInMapOrder() {
    try (Graph graph = new Graph()) {
      Ops tf = Ops.create(graph);
      Map<String, Operand<?>> named = new LinkedHashMap<>();
      named.put("dense/kernel", tf.constant(new float[] {1f}));
      named.put("dense/bias", tf.constant(new float[] {2f}));
      named.put("out/kernel", tf.constant(new float[] {3f}));
      ParameterSums sums = L1L2.builder().l1(1).on("kernel").build().sums(tf, named);
      assertEquals(List.of("dense/kernel", "out/kernel"), sums.names());
    }
  }

  @Test
  void anEmptySelectionGivesEmptyVectorsAndZeroPenalty() {
    double[] perParameter =
        Modes.GRAPH.evaluate(
            tf ->
                L1L2.builder()
                    .l1(1)
                    .on("nothing")
                    .build()
                    .sums(tf, List.of(tf.constant(new float[] {1f})))
                    .perParameter());
    double[] penalty =
        Modes.GRAPH.evaluate(
            tf ->
                L1L2.builder()
                    .l1(1)
                    .on("nothing")
                    .build()
                    .sums(tf, List.of(tf.constant(new float[] {1f})))
                    .penalty());
    assertEquals(0, perParameter.length);
    assertEquals(0.0, penalty[0]);
  }

  @Test
  void aNonFloatingParameterIsRejectedByIndex() {
    try (Graph graph = new Graph()) {
      Ops tf = Ops.create(graph);
      IllegalArgumentException e =
          assertThrows(
              IllegalArgumentException.class,
              () ->
                  CONFIG.sums(
                      tf, List.of(tf.constant(new float[] {1f}), tf.constant(new int[] {1}))));
      assertEquals(true, e.getMessage().startsWith("parameters[1]"), e.getMessage());
    }
  }
}
