package io.github.tfl1l2;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.tfl1l2.testing.References;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;
import org.tensorflow.Operand;
import org.tensorflow.types.TBfloat16;
import org.tensorflow.types.TFloat16;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TFloat64;
import org.tensorflow.types.family.TFloating;

/** Penalty values against an independent double-precision reference. */
class PenaltyValueTest {
  private static final double L1 = 0.003;
  private static final double L2 = 0.0007;

  static Stream<Arguments> dtypesAndModes() {
    List<Arguments> cases = new ArrayList<>();
    for (String mode : List.of("graph", "eager")) {
      for (Class<?> type :
          List.of(TFloat16.class, TBfloat16.class, TFloat32.class, TFloat64.class)) {
        cases.add(Arguments.of(mode, type));
      }
    }
    return cases.stream();
  }

  /** A parameter of {@code type} holding {@code values} rounded to that type. */
  @SuppressWarnings("unchecked")
  static Operand<?> parameter(GraphOrEager rt, float[] values, Class<?> type, long... shape) {
    Operand<TFloat32> f32 = rt.tf.constant(Fixtures.tensor(values, shape));
    return type == TFloat32.class ? f32 : rt.tf.dtypes.cast(f32, (Class<? extends TFloating>) type);
  }

  @ParameterizedTest(name = "{0} {1}")
  @MethodSource("dtypesAndModes")
  void penaltyOfOneParameterMatchesDoubleReference(String mode, Class<?> type) {
    try (GraphOrEager rt = GraphOrEager.of(mode)) {
      Operand<?> w = parameter(rt, Fixtures.randomWeights(1, 3 * 4 * 5, 2.0), type, 3, 4, 5);
      float[] stored = rt.floats(w);
      double expected = References.penalty(L1, L2, 1.0, stored);
      double actual = rt.scalar(L1L2.of(L1, L2).penalty(rt.tf, List.of(w)));
      assertTrue(References.relativeError(actual, expected) < 1e-6, actual + " vs " + expected);
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {"graph", "eager"})
  void mixedDtypesInOneListSumToTheReference(String mode) {
    try (GraphOrEager rt = GraphOrEager.of(mode)) {
      List<Operand<?>> params = new ArrayList<>();
      List<float[]> stored = new ArrayList<>();
      int seed = 10;
      for (Class<?> type :
          List.of(TFloat16.class, TBfloat16.class, TFloat32.class, TFloat64.class)) {
        Operand<?> w = parameter(rt, Fixtures.randomWeights(seed++, 257, 3.0), type, 257);
        params.add(w);
        stored.add(rt.floats(w));
      }
      double expected = References.penalty(L1, L2, 2.5, stored.toArray(float[][]::new));
      L1L2 reg = L1L2.builder().l1(L1).l2(L2).weight(2.5).build();
      double actual = rt.scalar(reg.penalty(rt.tf, params));
      assertTrue(References.relativeError(actual, expected) < 1e-6, actual + " vs " + expected);
    }
  }

  @ParameterizedTest(name = "result {0}")
  @ValueSource(classes = {TFloat16.class, TBfloat16.class, TFloat32.class, TFloat64.class})
  @SuppressWarnings("unchecked")
  void resultHasTheRequestedTypeRoundedOnceFromTheSum(Class<?> resultType) {
    try (GraphOrEager rt = GraphOrEager.of("graph")) {
      float[] values = Fixtures.randomWeights(3, 1000, 1.0);
      Operand<?> w = parameter(rt, values, TFloat64.class, 1000);
      Operand<? extends TFloating> p =
          L1L2.of(L1, L2).penalty(rt.tf, List.of(w), (Class<? extends TFloating>) resultType);
      assertEquals(resultType, p.type());
      double expected = References.penalty(L1, L2, 1.0, rt.floats(w));
      double tolerance =
          resultType == TFloat64.class
              ? 1e-12
              : resultType == TFloat32.class ? 1e-6 : resultType == TFloat16.class ? 1e-3 : 8e-3;
      double actual = rt.scalar(p);
      assertTrue(
          References.relativeError(actual, expected) < tolerance, actual + " vs " + expected);
    }
  }

  @Test
  void float64ParametersAreSummedInDoublePrecision() {
    try (GraphOrEager rt = GraphOrEager.of("graph")) {
      // 1 + 2^-30 repeated: float32 accumulation would round every term to 1.
      double[] values = new double[4096];
      java.util.Arrays.fill(values, 1.0 + Math.pow(2, -30));
      Operand<TFloat64> w = rt.tf.constant(values);
      double actual = rt.scalar(L1L2.of(1.0, 0).penalty(rt.tf, List.of(w), TFloat64.class));
      assertEquals(4096 * (1.0 + Math.pow(2, -30)), actual, 1e-9);
    }
  }

  @Test
  void float16SquaresDoNotOverflowBecauseTheSumIsNotInHalfPrecision() {
    try (GraphOrEager rt = GraphOrEager.of("graph")) {
      float[] values = new float[64];
      java.util.Arrays.fill(values, 60000f); // 60000^2 is far beyond float16's 65504
      Operand<?> w = parameter(rt, values, TFloat16.class, 64);
      double expected = References.l2Sum(rt.floats(w));
      double actual = rt.scalar(L1L2.of(0, 1).penalty(rt.tf, List.of(w)));
      assertTrue(Double.isFinite(actual));
      assertTrue(References.relativeError(actual, expected) < 1e-6, actual + " vs " + expected);
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {"graph", "eager"})
  void frameworkDocumentedMatrixCase(String mode) {
    try (GraphOrEager rt = GraphOrEager.of(mode)) {
      Operand<TFloat32> w = rt.tf.constant(new float[][] {{1.0f, 0.9f, 0.8f}, {1.2f, 0.7f, 1.1f}});
      double actual = rt.scalar(L1L2.of(0.01, 0.02).penalty(rt.tf, List.of(w)));
      assertEquals(0.1688, actual, 1e-6);
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {"graph", "eager"})
  void frameworkDocumentedScalarCase(String mode) {
    try (GraphOrEager rt = GraphOrEager.of(mode)) {
      double actual = rt.scalar(L1L2.of(0.01, 0.01).penalty(rt.tf, List.of(rt.tf.constant(555f))));
      assertEquals(3085.8, actual, 3085.8 * 1e-6);
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {"graph", "eager"})
  void noneReductionGivesPerParameterPenaltiesInInputOrder(String mode) {
    try (GraphOrEager rt = GraphOrEager.of(mode)) {
      float[][] weights = {
        Fixtures.randomWeights(21, 10, 1),
        Fixtures.randomWeights(22, 100, 5),
        Fixtures.randomWeights(23, 1, 0.1)
      };
      Map<String, Operand<?>> named = new LinkedHashMap<>();
      for (int i = 0; i < weights.length; i++) {
        named.put("w" + i, rt.tf.constant(Fixtures.tensor(weights[i], weights[i].length)));
      }
      L1L2 none = L1L2.builder().l1(L1).l2(L2).weight(3).reduction(Reduction.NONE).build();
      float[] perParameter = rt.floats(none.penalty(rt.tf, named));
      assertEquals(weights.length, perParameter.length);
      double total = 0;
      for (int i = 0; i < weights.length; i++) {
        double expected = References.penalty(L1, L2, 3, weights[i]);
        assertTrue(References.relativeError(perParameter[i], expected) < 1e-6, "parameter " + i);
        total += perParameter[i];
      }
      double sum =
          rt.scalar(none.toBuilder().reduction(Reduction.SUM).build().penalty(rt.tf, named));
      assertTrue(References.relativeError(sum, total) < 1e-6, sum + " vs " + total);
    }
  }

  @Test
  void sumOverBatchSizeEqualsSumForAWeightPenalty() {
    try (GraphOrEager rt = GraphOrEager.of("graph")) {
      Operand<TFloat32> w = rt.tf.constant(Fixtures.tensor(Fixtures.randomWeights(5, 50, 1), 50));
      L1L2 reg = L1L2.of(L1, L2);
      double overBatch =
          rt.scalar(
              reg.toBuilder()
                  .reduction(Reduction.SUM_OVER_BATCH_SIZE)
                  .build()
                  .penalty(rt.tf, List.of(w)));
      double sum =
          rt.scalar(reg.toBuilder().reduction(Reduction.SUM).build().penalty(rt.tf, List.of(w)));
      assertEquals(sum, overBatch);
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {"graph", "eager"})
  void scalarsAndEmptyTensorsAreValidParameters(String mode) {
    try (GraphOrEager rt = GraphOrEager.of(mode)) {
      Operand<TFloat32> scalar = rt.tf.constant(-4f);
      Operand<TFloat32> empty = rt.tf.constant(Fixtures.tensor(new float[0], 0, 3));
      double actual = rt.scalar(L1L2.of(0.5, 0.25).penalty(rt.tf, List.of(scalar, empty)));
      assertEquals(0.5 * 4 + 0.25 * 16, actual, 1e-6);
    }
  }

  @Test
  void onlyTheL2TermEmitsNoAbsAndOnlyTheL1TermEmitsNoSquare() {
    try (GraphOrEager rt = GraphOrEager.of("graph")) {
      float[] values = {-1f, 2f, -3f};
      Operand<TFloat32> w = rt.tf.constant(values);
      assertArrayEquals(
          new double[] {6, 14},
          new double[] {
            rt.scalar(L1L2.builder().l1(1).name("only_l1").build().penalty(rt.tf, List.of(w))),
            rt.scalar(L1L2.builder().l2(1).name("only_l2").build().penalty(rt.tf, List.of(w)))
          },
          1e-6);
      List<String> types = new ArrayList<>();
      ((org.tensorflow.Graph) rt.tf.scope().env())
          .operations()
          .forEachRemaining(
              op -> {
                if (op.name().startsWith("only_l1/")) {
                  types.add("l1:" + op.type());
                } else if (op.name().startsWith("only_l2/")) {
                  types.add("l2:" + op.type());
                }
              });
      assertTrue(types.contains("l1:Abs") && !types.contains("l1:Square"), types.toString());
      assertTrue(types.contains("l2:Square") && !types.contains("l2:Abs"), types.toString());
    }
  }
}
