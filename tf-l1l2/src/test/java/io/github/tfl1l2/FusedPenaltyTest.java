package io.github.tfl1l2;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.github.tfl1l2.testing.References;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.tensorflow.EagerSession;
import org.tensorflow.Graph;
import org.tensorflow.Operand;
import org.tensorflow.Result;
import org.tensorflow.Session;
import org.tensorflow.framework.optimizers.GradientDescent;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.ndarray.buffer.DataBuffers;
import org.tensorflow.op.Op;
import org.tensorflow.op.Ops;
import org.tensorflow.types.TBfloat16;
import org.tensorflow.types.TFloat16;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TFloat64;
import org.tensorflow.types.family.TFloating;

/**
 * Checks the grouped and fused penalty against a double-precision reference computed here from the
 * parameter values TensorFlow actually holds, with and without XLA, across sizes that hit every
 * branch of the formulation: below, at and above the 32-wide row, sizes that need padding, small
 * parameters that are concatenated or stacked, and large ones reduced alone.
 */
class FusedPenaltyTest {
  /** Sums of non-negative float32 terms: pairwise/row-wise summation keeps them within this. */
  private static final double REL_TOL = 1e-5;

  private static final long[][] SHAPES = {
    {1},
    {7},
    {31},
    {32},
    {33},
    {1000},
    {1024},
    {65536},
    {65537},
    {70001},
    {131072},
    {300, 301},
    {4, 5, 6},
    {},
    {64, 33}
  };

  private static float[] randomValues(Random random, long size, float spread) {
    float[] values = new float[(int) size];
    for (int i = 0; i < values.length; i++) {
      values[i] = (float) ((random.nextDouble() * 2 - 1) * spread);
    }
    return values;
  }

  private static double reference(float[] values, double c1, double c2) {
    double abs = 0;
    double squares = 0;
    for (float v : values) {
      abs += Math.abs((double) v);
      squares += (double) v * v;
    }
    return c1 * abs + c2 * squares;
  }

  private static float[] fetchFloats(Session session, Operand<?> operand, Ops tf) {
    Operand<TFloat32> asFloat = tf.dtypes.cast(operand, TFloat32.class);
    try (Result result = session.runner().fetch(asFloat).run()) {
      TFloat32 tensor = (TFloat32) result.get(0);
      float[] out = new float[(int) tensor.size()];
      tensor.copyTo(DataBuffers.of(out, false, false));
      return out;
    }
  }

  private static double[] fetchDoubles(Session session, Operand<?> operand, Ops tf) {
    Operand<TFloat64> asDouble = tf.dtypes.cast(operand, TFloat64.class);
    try (Result result = session.runner().fetch(asDouble).run()) {
      TFloat64 tensor = (TFloat64) result.get(0);
      double[] out = new double[(int) tensor.size()];
      tensor.copyTo(DataBuffers.of(out, false, false));
      return out;
    }
  }

  private static Operand<TFloat32> constant(Ops tf, long[] shape, float[] values) {
    return tf.constant(Shape.of(shape), DataBuffers.of(values, true, false));
  }

  private static void assertClose(double expected, double actual, String what) {
    assertEquals(expected, actual, REL_TOL * Math.abs(expected) + 1e-30, what);
  }

  @ParameterizedTest(name = "xla={0}")
  @ValueSource(booleans = {true, false})
  void sumAndPerParameterValuesMatchDoubleReference(boolean xla) {
    Random random = new Random(7);
    double l1 = 3e-3;
    double l2 = 2e-2;
    double weight = 1.5;
    try (Graph graph = new Graph();
        Session session = new Session(graph)) {
      Ops tf = Ops.create(graph);
      List<Operand<TFloat32>> parameters = new ArrayList<>();
      List<float[]> values = new ArrayList<>();
      for (long[] shape : SHAPES) {
        float[] v = randomValues(random, Shape.of(shape).size(), 3f);
        values.add(v);
        parameters.add(constant(tf, shape, v));
      }
      L1L2 sum =
          L1L2.builder().l1(l1).l2(l2).weight(weight).reduction(Reduction.SUM).xla(xla).build();
      L1L2 none = sum.toBuilder().reduction(Reduction.NONE).build();
      float[] total = fetchFloats(session, sum.penalty(tf, parameters), tf);
      float[] each = fetchFloats(session, none.penalty(tf, parameters), tf);

      assertEquals(parameters.size(), each.length);
      double expectedTotal = 0;
      for (int i = 0; i < values.size(); i++) {
        double expected = reference(values.get(i), weight * l1, weight * l2);
        expectedTotal += expected;
        assertClose(expected, each[i], "parameter " + i + " of shape " + Shape.of(SHAPES[i]));
      }
      assertClose(expectedTotal, total[0], "sum");
    }
  }

  @ParameterizedTest(name = "l1={0}")
  @ValueSource(doubles = {1.0, 0.0, 0.25})
  void unitAndZeroCoefficientsMatchReferenceWithAndWithoutXla(double l1) {
    // A scale of exactly 1 between the two reductions would be optimized away; check the
    // substitute scale keeps the value exact, and that one-term penalties are right.
    Random random = new Random(11);
    double[] l2s = {1.0, 0.0, 0.5};
    for (double l2 : l2s) {
      if (l1 == 0.0 && l2 == 0.0) {
        continue;
      }
      float[] values = randomValues(random, 100_003, 2f);
      double expected = reference(values, l1, l2);
      for (boolean xla : new boolean[] {true, false}) {
        try (Graph graph = new Graph();
            Session session = new Session(graph)) {
          Ops tf = Ops.create(graph);
          L1L2 reg = L1L2.builder().l1(l1).l2(l2).xla(xla).build();
          float[] got =
              fetchFloats(
                  session,
                  reg.penalty(tf, List.of(constant(tf, new long[] {100_003}, values))),
                  tf);
          assertClose(expected, got[0], "l1=" + l1 + " l2=" + l2 + " xla=" + xla);
        }
      }
    }
  }

  @Test
  void fusedEqualsUnfusedToFloat32Rounding() {
    Random random = new Random(3);
    float[] big = randomValues(random, 1 << 20, 1f);
    float[] small = randomValues(random, 500, 1f);
    float[] result = new float[2];
    for (int run = 0; run < 2; run++) {
      try (Graph graph = new Graph();
          Session session = new Session(graph)) {
        Ops tf = Ops.create(graph);
        L1L2 reg = L1L2.builder().l1(1e-3).l2(1e-2).xla(run == 0).build();
        List<Operand<TFloat32>> parameters =
            List.of(constant(tf, new long[] {1 << 20}, big), constant(tf, new long[] {500}, small));
        result[run] = fetchFloats(session, reg.penalty(tf, parameters), tf)[0];
      }
    }
    assertClose(result[1], result[0], "fused vs unfused");
  }

  @ParameterizedTest(name = "xla={0}")
  @ValueSource(booleans = {true, false})
  void halfTypesSumInAtLeastFloat32(boolean xla) {
    // Values near 300 square to ~90 000, past float16's largest finite value (65 504): a
    // float16 accumulation would overflow to infinity.
    Random random = new Random(5);
    try (Graph graph = new Graph();
        Session session = new Session(graph)) {
      Ops tf = Ops.create(graph);
      List<Operand<? extends TFloating>> parameters = new ArrayList<>();
      parameters.add(
          tf.dtypes.cast(
              constant(tf, new long[] {4096}, randomValues(random, 4096, 300f)), TFloat16.class));
      parameters.add(
          tf.dtypes.cast(
              constant(tf, new long[] {70_000}, randomValues(random, 70_000, 300f)),
              TBfloat16.class));
      parameters.add(
          tf.dtypes.cast(
              constant(tf, new long[] {100}, randomValues(random, 100, 300f)), TBfloat16.class));
      parameters.add(constant(tf, new long[] {333}, randomValues(random, 333, 300f)));
      L1L2 reg = L1L2.builder().l1(1e-3).l2(1e-4).reduction(Reduction.NONE).xla(xla).build();
      float[] each = fetchFloats(session, reg.penalty(tf, parameters), tf);
      for (int i = 0; i < parameters.size(); i++) {
        // The reference reads the values TensorFlow holds after rounding to the half type.
        double[] held = fetchDoubles(session, parameters.get(i), tf);
        float[] asFloat = new float[held.length];
        for (int j = 0; j < held.length; j++) {
          asFloat[j] = (float) held[j];
        }
        assertClose(reference(asFloat, 1e-3, 1e-4), each[i], "parameter " + i);
      }
    }
  }

  @ParameterizedTest(name = "l1={0}")
  @ValueSource(doubles = {1e-3, 1e-5})
  void bfloat16WeightsSummedWithXlaMatchTheReference(double l1) {
    // Sizes that are multiples of 64 (read as 32-bit words, two weights each), one that is not,
    // and small ones joined into one group; l1 above and below l2 (both elementwise forms).
    Random random = new Random(11);
    try (Graph graph = new Graph();
        Session session = new Session(graph)) {
      Ops tf = Ops.create(graph);
      List<Operand<? extends TFloating>> parameters = new ArrayList<>();
      for (long size : new long[] {70_016, 131_072, 70_001, 640, 128}) {
        float[] v = randomValues(random, (int) size, 300f);
        parameters.add(tf.dtypes.cast(constant(tf, new long[] {size}, v), TBfloat16.class));
      }
      L1L2 reg = L1L2.builder().l1(l1).l2(1e-4).reduction(Reduction.SUM).xla(true).build();
      float[] total = fetchFloats(session, reg.penalty(tf, parameters), tf);
      double expected = 0;
      for (Operand<? extends TFloating> parameter : parameters) {
        // The reference reads the values TensorFlow holds after rounding to bfloat16.
        double[] held = fetchDoubles(session, parameter, tf);
        float[] asFloat = new float[held.length];
        for (int j = 0; j < held.length; j++) {
          asFloat[j] = (float) held[j];
        }
        expected += reference(asFloat, l1, 1e-4);
      }
      assertClose(expected, total[0], "sum");
    }
  }

  @Test
  void float64ParametersSumInFloat64() {
    Random random = new Random(9);
    double[] values = new double[5000];
    double expected = 0;
    for (int i = 0; i < values.length; i++) {
      values[i] = 1 + random.nextDouble() * 1e-9;
      expected += 0.5 * values[i] * values[i];
    }
    try (Graph graph = new Graph();
        Session session = new Session(graph)) {
      Ops tf = Ops.create(graph);
      Operand<TFloat64> parameter =
          tf.constant(Shape.of(values.length), DataBuffers.of(values, true, false));
      L1L2 reg = L1L2.builder().l2(0.5).build();
      double[] got = fetchDoubles(session, reg.penalty(tf, List.of(parameter), TFloat64.class), tf);
      assertEquals(expected, got[0], 1e-12 * expected);
    }
  }

  @Test
  void manySmallParametersKeepTheirOrderWithNoneReduction() {
    Random random = new Random(13);
    int count = 300;
    long[] sizes = {10, 1024, 50, 1024, 7};
    try (Graph graph = new Graph();
        Session session = new Session(graph)) {
      Ops tf = Ops.create(graph);
      List<Operand<TFloat32>> parameters = new ArrayList<>();
      List<float[]> values = new ArrayList<>();
      for (int i = 0; i < count; i++) {
        long size = i % 97 == 0 ? 70_000 : sizes[i % sizes.length];
        float[] v = randomValues(random, size, 1f + i);
        values.add(v);
        parameters.add(constant(tf, new long[] {size}, v));
      }
      L1L2 none = L1L2.builder().l1(1e-3).l2(1e-3).reduction(Reduction.NONE).build();
      L1L2 sum = none.toBuilder().reduction(Reduction.SUM).build();
      float[] each = fetchFloats(session, none.penalty(tf, parameters), tf);
      float[] total = fetchFloats(session, sum.penalty(tf, parameters), tf);
      double expectedTotal = 0;
      for (int i = 0; i < count; i++) {
        double expected = reference(values.get(i), 1e-3, 1e-3);
        expectedTotal += expected;
        assertClose(expected, each[i], "parameter " + i);
      }
      assertClose(expectedTotal, total[0], "sum");
    }
  }

  @ParameterizedTest(name = "xla={0}")
  @ValueSource(booleans = {true, false})
  void gradientDescentStepMatchesClosedForm(boolean xla) {
    Random random = new Random(17);
    double c1 = 1e-2;
    double c2 = 5e-2;
    float lr = 0.1f;
    long[][] shapes = {{100}, {1024}, {70_001}, {64, 33}, {3, 3}};
    try (Graph graph = new Graph();
        Session session = new Session(graph)) {
      Ops tf = Ops.create(graph);
      Ops init = tf.withInitScope();
      List<float[]> before = new ArrayList<>();
      List<Operand<TFloat32>> variables = new ArrayList<>();
      for (long[] shape : shapes) {
        float[] v = randomValues(random, Shape.of(shape).size(), 1f);
        before.add(v);
        variables.add(tf.variable(init.constant(Shape.of(shape), DataBuffers.of(v, true, false))));
      }
      L1L2 reg = L1L2.builder().l1(c1).l2(c2).reduction(Reduction.SUM).xla(xla).build();
      Operand<TFloat32> loss = reg.addTo(tf, tf.constant(0f), variables);
      Op step = new GradientDescent(graph, lr).minimize(loss);
      session.initialize();
      session.runner().addTarget(step).run();
      for (int i = 0; i < shapes.length; i++) {
        float[] after = fetchFloats(session, variables.get(i), tf);
        float[] w = before.get(i);
        for (int j = 0; j < w.length; j++) {
          double expected = w[j] - lr * References.penaltyGradient(w[j], c1, c2);
          assertEquals(expected, after[j], 1e-6, "variable " + i + " element " + j);
        }
      }
    }
  }

  @Test
  void eagerModeMatchesReference() {
    Random random = new Random(19);
    try (EagerSession eager = EagerSession.create()) {
      Ops tf = Ops.create(eager);
      List<Operand<TFloat32>> parameters = new ArrayList<>();
      List<float[]> values = new ArrayList<>();
      for (long size : new long[] {5, 5, 70_000, 1000}) {
        float[] v = randomValues(random, size, 2f);
        values.add(v);
        parameters.add(constant(tf, new long[] {size}, v));
      }
      L1L2 none = L1L2.builder().l1(0.1).l2(0.2).reduction(Reduction.NONE).build();
      TFloat32 each = none.penalty(tf, parameters).asTensor();
      for (int i = 0; i < values.size(); i++) {
        assertClose(reference(values.get(i), 0.1, 0.2), each.getFloat(i), "parameter " + i);
      }
    }
  }
}
