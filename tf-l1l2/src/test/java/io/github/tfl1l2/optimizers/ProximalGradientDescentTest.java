package io.github.tfl1l2.optimizers;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.tfl1l2.L1L2;
import io.github.tfl1l2.testing.References;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.tensorflow.Graph;
import org.tensorflow.Operand;
import org.tensorflow.Result;
import org.tensorflow.Session;
import org.tensorflow.ndarray.buffer.DataBuffers;
import org.tensorflow.op.Op;
import org.tensorflow.op.Ops;
import org.tensorflow.op.core.Variable;
import org.tensorflow.types.TBfloat16;
import org.tensorflow.types.TFloat16;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TFloat64;
import org.tensorflow.types.family.TFloating;

/**
 * {@link ProximalGradientDescent} minimizes {@code (1/n)·|y − X·w|² + reg.penalty(w)} with exact
 * zeros: checked against coordinate descent in double and the closed-form prox in double.
 */
class ProximalGradientDescentTest {
  private static final LeastSquares PROBLEM = LeastSquares.random(11, 40, 8);

  @Test
  void lassoIteratesReachTheCoordinateDescentOptimumWithItsExactZeros() {
    double l1 = 0.3 * PROBLEM.l1Max();
    assertReachesOptimum(L1L2.l1(l1), l1, 0.0);
  }

  @Test
  void elasticNetIteratesReachTheCoordinateDescentOptimumWithItsExactZeros() {
    // weight 2: the optimizer must apply l1·weight and 2·l2·weight, not l1 and l2.
    L1L2 reg = L1L2.builder().l1(0.15 * PROBLEM.l1Max()).l2(0.4).weight(2.0).build();
    assertReachesOptimum(reg, 2.0 * reg.l1(), 2.0 * reg.l2());
  }

  @Test
  void oneStepIsTheClosedFormProxOfTheGradientStep() {
    float lr = 0.05f;
    L1L2 reg = L1L2.builder().l1(1.2).l2(0.7).weight(1.5).build();
    float[] w0 = {0.8f, -0.02f, 0.03f, -1.1f, 0.0f, 0.5f, -0.3f, 0.01f};
    double[] w0d = toDouble(w0);
    double[] g = PROBLEM.gradient(w0d);
    double shrink = lr * reg.weight() * reg.l1();
    double[] expected = new double[w0.length];
    int zeros = 0;
    for (int j = 0; j < w0.length; j++) {
      double v = w0d[j] - lr * g[j];
      assertTrue(
          Math.abs(Math.abs(v) - shrink) > 1e-3, "fixture: v[" + j + "] clear of the threshold");
      expected[j] =
          References.proximalStep(v, lr, reg.weight() * reg.l1(), reg.weight() * reg.l2());
      zeros += expected[j] == 0.0 ? 1 : 0;
    }
    assertTrue(zeros > 0 && zeros < w0.length, "fixture: some but not all weights land on zero");
    try (LinearModel model = new LinearModel(PROBLEM, w0)) {
      model.run(new ProximalGradientDescent(model.graph, lr, reg).minimize(model.dataLoss), 1);
      assertClose(expected, model.kernel(), 1e-5);
    }
  }

  @Test
  void unselectedVariablesTakeAPlainGradientStep() {
    float lr = 0.1f;
    L1L2 reg = L1L2.builder().l1(5.0).l2(3.0).on("kernel").build();
    float[] w0 = {0.4f, -0.2f, 0.1f, 0.3f, -0.5f, 0.2f, 0.6f, -0.1f};
    try (LinearModel model = new LinearModel(PROBLEM, w0)) {
      // bias enters the loss as Σ (bias · c): its gradient is c, whatever the penalty.
      Variable<TFloat32> bias =
          model
              .tf
              .withName("bias")
              .variable(model.tf.withInitScope().constant(new float[] {0.5f, -2f}));
      float[] c = {3f, -4f};
      var loss =
          model.tf.math.add(
              model.dataLoss,
              model.tf.reduceSum(
                  model.tf.math.mul(model.tf.identity(bias), model.tf.constant(c)),
                  model.tf.constant(0)));
      model.run(new ProximalGradientDescent(model.graph, lr, reg).minimize(loss), 1);
      float[] after = model.values(bias);
      assertEquals(0.5f - lr * 3f, after[0], 1e-6);
      assertEquals(-2f + lr * 4f, after[1], 1e-6);
    }
  }

  @Test
  void selectedVariablesTheLossDoesNotReachStillTakeTheProxStep() {
    float lr = 0.1f;
    L1L2 reg = L1L2.builder().l1(2.0).l2(1.5).build();
    try (LinearModel model = new LinearModel(PROBLEM, new float[PROBLEM.p])) {
      Variable<TFloat32> unused =
          model
              .tf
              .withName("unused")
              .variable(model.tf.withInitScope().constant(new float[] {1f, -0.1f, 0.3f}));
      model.run(new ProximalGradientDescent(model.graph, lr, reg).minimize(model.dataLoss), 1);
      double shrink = lr * 2.0;
      double scale = 1.0 + lr * 2.0 * 1.5;
      float[] after = model.values(unused);
      assertEquals((1.0 - shrink) / scale, after[0], 1e-6);
      assertTrue(after[1] == 0f, "exact zero (±0), was " + after[1]);
      assertEquals((0.3 - shrink) / scale, after[2], 1e-6);
    }
  }

  @Test
  void float64VariablesStepInDoublePrecision() {
    double lr = 0.1;
    L1L2 reg = L1L2.builder().l1(0.7).l2(0.2).build();
    double[] w0 = {0.9, -0.05, 0.3};
    double[] c = {0.5, 0.2, -1.25}; // loss = Σ c·w, so g = c
    try (Graph graph = new Graph()) {
      Ops tf = Ops.create(graph);
      Variable<TFloat64> w = tf.withName("w").variable(tf.withInitScope().constant(w0));
      Operand<TFloat64> loss =
          tf.reduceSum(tf.math.mul(tf.constant(c), tf.identity(w)), tf.constant(0));
      Op step = new ProximalGradientDescent(graph, (float) lr, reg).minimize(loss);
      try (Session session = new Session(graph)) {
        session.runner().addTarget(step).run();
        double[] after = new double[3];
        try (Result result = session.runner().fetch(w).run()) {
          ((TFloat64) result.get(0)).copyTo(DataBuffers.of(after, false, false));
        }
        double alpha = (float) lr; // the learning rate is a float
        for (int j = 0; j < 3; j++) {
          double v = w0[j] - alpha * c[j];
          double expected = References.proximalStep(v, alpha, 0.7, 0.2);
          assertEquals(expected, after[j], 1e-15, "w[" + j + "]");
        }
      }
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {"float16", "bfloat16"})
  void unselectedHalfPrecisionVariablesTakeAPlainStepInTheirOwnDtype(String dtype) {
    Class<? extends TFloating> type = dtype.equals("float16") ? TFloat16.class : TBfloat16.class;
    float[] after = stepHalf(type, L1L2.builder().l1(0.5).on("kernel").build(), 1);
    for (int j = 0; j < 3; j++) {
      assertEquals(HALF_W0[j] - 0.25f * HALF_C[j], after[j], 0.0, "w[" + j + "]");
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {"float16", "bfloat16"})
  void selectedHalfPrecisionVariablesAreRejectedNamingTheVariable(String dtype) {
    Class<? extends TFloating> type = dtype.equals("float16") ? TFloat16.class : TBfloat16.class;
    IllegalArgumentException e =
        org.junit.jupiter.api.Assertions.assertThrows(
            IllegalArgumentException.class, () -> stepHalf(type, L1L2.l1(0.5), 0));
    assertTrue(
        e.getMessage()
            .startsWith(
                "ProximalGradientDescent applies TensorFlow's proximal"
                    + " kernels, which exist for float32 and float64 only, but the selected variable 'w' is "
                    + (dtype.equals("float16") ? "DT_HALF" : "DT_BFLOAT16")),
        e.getMessage());
  }

  private static final float[] HALF_W0 = {1.0f, -0.0625f, 0.5f};
  private static final float[] HALF_C = {0.5f, 0.25f, -1.0f}; // every number exact in half

  /** Builds {@code loss = Σ c·w} over a half-precision {@code w}, steps, returns w as floats. */
  private static <T extends TFloating> float[] stepHalf(Class<T> type, L1L2 reg, int steps) {
    try (Graph graph = new Graph()) {
      Ops tf = Ops.create(graph);
      Variable<T> w =
          tf.withName("w")
              .variable(tf.withInitScope().dtypes.cast(tf.withInitScope().constant(HALF_W0), type));
      Operand<T> loss =
          tf.reduceSum(
              tf.math.mul(tf.dtypes.cast(tf.constant(HALF_C), type), tf.identity(w)),
              tf.constant(0));
      Op step = new ProximalGradientDescent(graph, 0.25f, reg).minimize(loss);
      try (Session session = new Session(graph)) {
        for (int i = 0; i < steps; i++) {
          session.runner().addTarget(step).run();
        }
        try (Result result = session.runner().fetch(tf.dtypes.cast(w, TFloat32.class)).run()) {
          float[] values = new float[3];
          ((TFloat32) result.get(0)).copyTo(DataBuffers.of(values, false, false));
          return values;
        }
      }
    }
  }

  @Test
  void variablesTheLossDoesNotReachAreNoObstacleAndUnselectedOnesStayPut() {
    L1L2 reg = L1L2.builder().l1(1.0).on("kernel").build();
    try (LinearModel model = new LinearModel(PROBLEM, new float[PROBLEM.p])) {
      Variable<TFloat32> counter =
          model
              .tf
              .withName("counter")
              .variable(model.tf.withInitScope().constant(new float[] {7f}));
      // The framework's computeGradients asks for every VariableV2 and fails on "counter".
      model.run(new ProximalGradientDescent(model.graph, 0.01f, reg).minimize(model.dataLoss), 1);
      assertEquals(7f, model.values(counter)[0]);
    }
  }

  private static void assertReachesOptimum(L1L2 reg, double l1, double l2) {
    double[] optimum = References.elasticNet(PROBLEM.x, PROBLEM.y, l1, l2, false).weights();
    assertStrictOptimality(optimum, l1, l2);
    float lr = (float) (1.0 / (PROBLEM.lipschitzBound() + 2.0 * l2));
    try (LinearModel model = new LinearModel(PROBLEM, new float[PROBLEM.p])) {
      model.run(new ProximalGradientDescent(model.graph, lr, reg).minimize(model.dataLoss), 3000);
      float[] w = model.kernel();
      assertClose(optimum, w, 1e-4);
      assertEquals(zeroSet(optimum), zeroSet(w), "exact zeros (w == 0)");
    }
  }

  /**
   * Fixture check: the optimum has zeros and non-zeros, and each zero is strictly inside its
   * subgradient interval (|∂f/∂w_j| < l1 by a margin), so the zero set is well defined.
   */
  static void assertStrictOptimality(double[] optimum, double l1, double l2) {
    double[] g = PROBLEM.gradient(optimum);
    int zeros = 0;
    for (int j = 0; j < optimum.length; j++) {
      if (optimum[j] == 0.0) {
        zeros++;
        assertTrue(Math.abs(g[j]) < 0.95 * l1, "fixture: zero " + j + " strictly inside");
      } else {
        assertEquals(0.0, g[j] + References.penaltyGradient(optimum[j], l1, l2), 1e-9);
      }
    }
    assertTrue(zeros > 0 && zeros < optimum.length, "fixture: optimum has zeros and non-zeros");
  }

  static List<Integer> zeroSet(double[] w) {
    List<Integer> zeros = new ArrayList<>();
    for (int j = 0; j < w.length; j++) {
      if (w[j] == 0.0) {
        zeros.add(j);
      }
    }
    return zeros;
  }

  static List<Integer> zeroSet(float[] w) {
    return zeroSet(toDouble(w));
  }

  static void assertClose(double[] expected, float[] actual, double tolerance) {
    assertEquals(expected.length, actual.length, "length");
    for (int j = 0; j < expected.length; j++) {
      assertEquals(expected[j], actual[j], tolerance, "w[" + j + "]");
    }
  }

  static double[] toDouble(float[] values) {
    double[] result = new double[values.length];
    for (int j = 0; j < values.length; j++) {
      result[j] = values[j];
    }
    return result;
  }
}
