package io.github.tfl1l2;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.tfl1l2.testing.References;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.tensorflow.Graph;
import org.tensorflow.Operand;
import org.tensorflow.Session;
import org.tensorflow.framework.optimizers.GradientDescent;
import org.tensorflow.framework.regularizers.Regularizer;
import org.tensorflow.op.Op;
import org.tensorflow.op.Ops;
import org.tensorflow.op.core.Variable;
import org.tensorflow.types.TBfloat16;
import org.tensorflow.types.TFloat16;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TFloat64;
import org.tensorflow.types.TInt32;
import org.tensorflow.types.family.TFloating;

/** {@link L1L2} as the framework's {@link Regularizer}: {@code call(tf, input)}. */
class L1L2RegularizerTest {
  // Powers of two, so that the framework's float coefficients are exactly ours.
  private static final double L1 = 0x1p-7;
  private static final double L2 = 0x1p-9;
  // Exact in float16 and bfloat16 too, so every dtype holds the same stored values.
  private static final float[] VALUES = {0.5f, -1.25f, 2f, -0.75f, 3f, 0.125f, -4f, 0f};

  @ParameterizedTest
  @ValueSource(strings = {"graph", "eager"})
  void callEqualsTheFrameworksL1L2ForWeightOneAndNoSelection(String mode) {
    double reference = References.penalty(L1, L2, 1.0, VALUES);
    try (GraphOrEager env = GraphOrEager.of(mode)) {
      Ops tf = env.tf;
      Regularizer framework =
          new org.tensorflow.framework.regularizers.L1L2((float) L1, (float) L2);
      Regularizer ours = L1L2.of(L1, L2);
      Operand<TFloat32> x32 = tf.constant(VALUES);
      Operand<TFloat64> x64 = tf.dtypes.cast(x32, TFloat64.class);

      assertEquals(
          env.scalar(framework.call(tf, x32)), env.scalar(ours.call(tf, x32)), 1e-6 * reference);
      assertEquals(reference, env.scalar(ours.call(tf, x32)), 1e-6 * reference, "float32");
      assertEquals(
          env.scalar(framework.call(tf, x64)), env.scalar(ours.call(tf, x64)), 1e-12 * reference);
      assertEquals(reference, env.scalar(ours.call(tf, x64)), 1e-12 * reference, "float64");
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {"float16", "bfloat16", "float32", "float64"})
  void callReturnsAScalarInTheInputsDtype(String dtype) {
    Class<? extends TFloating> type =
        switch (dtype) {
          case "float16" -> TFloat16.class;
          case "bfloat16" -> TBfloat16.class;
          case "float32" -> TFloat32.class;
          default -> TFloat64.class;
        };
    // The result is rounded once to the input's dtype: half a unit in its last place.
    double tolerance =
        switch (dtype) {
          case "float16" -> 0x1p-11;
          case "bfloat16" -> 0x1p-8;
          case "float32" -> 1e-6;
          default -> 1e-12;
        };
    double reference = References.penalty(L1, L2, 1.0, VALUES);
    try (Graph graph = new Graph();
        Session session = new Session(graph)) {
      Ops tf = Ops.create(graph);
      Operand<? extends TFloating> input = tf.dtypes.cast(tf.constant(VALUES), type);

      Operand<? extends TFloating> penalty = L1L2.of(L1, L2).call(tf, input);

      assertSame(type, penalty.type());
      assertEquals(0, penalty.shape().numDimensions(), "a scalar");
      assertEquals(reference, Fixtures.fetchScalar(session, penalty), tolerance * reference);
    }
  }

  @Test
  void callMultipliesByTheWeight() {
    double reference = References.penalty(L1, L2, 2.5, VALUES);
    try (Graph graph = new Graph();
        Session session = new Session(graph)) {
      Ops tf = Ops.create(graph);
      Operand<TFloat32> input = tf.constant(VALUES);
      L1L2 weighted = L1L2.builder().l1(L1).l2(L2).weight(2.5).build();
      Regularizer framework =
          new org.tensorflow.framework.regularizers.L1L2((float) L1, (float) L2);

      double ours = Fixtures.fetchScalar(session, weighted.call(tf, input));

      assertEquals(reference, ours, 1e-6 * reference);
      double frameworks = Fixtures.fetchScalar(session, framework.call(tf, input));
      assertEquals(2.5 * frameworks, ours, 1e-6 * reference);
    }
  }

  @Test
  void callGivesZeroForAnOperandThatOnDoesNotSelect() {
    try (Graph graph = new Graph();
        Session session = new Session(graph)) {
      Ops tf = Ops.create(graph);
      Variable<TFloat32> kernel =
          tf.withName("kernel").variable(tf.withInitScope().constant(VALUES));
      Variable<TFloat32> bias = tf.withName("bias").variable(tf.withInitScope().constant(VALUES));
      L1L2 kernelsOnly = L1L2.builder().l1(L1).l2(L2).on("kernel").build();

      Operand<TFloat32> ofBias = kernelsOnly.call(tf, bias);
      Operand<TFloat32> ofKernelRead = kernelsOnly.call(tf, tf.identity(kernel));

      assertEquals(0.0, Fixtures.fetchScalar(session, ofBias));
      double reference = References.penalty(L1, L2, 1.0, VALUES);
      assertEquals(reference, Fixtures.fetchScalar(session, ofKernelRead), 1e-6 * reference);
    }
  }

  @Test
  void callRejectsTheNoneReductionBecauseARegularizerReturnsOneScalar() {
    try (Graph graph = new Graph()) {
      Ops tf = Ops.create(graph);
      L1L2 perParameter = L1L2.builder().l1(L1).reduction(Reduction.NONE).build();
      Operand<TFloat32> input = tf.constant(VALUES);

      IllegalArgumentException e =
          assertThrows(IllegalArgumentException.class, () -> perParameter.call(tf, input));
      assertTrue(e.getMessage().contains("but was NONE"), e.getMessage());
    }
  }

  @Test
  void callRejectsAnIntegerInputNamingItsDtype() {
    try (Graph graph = new Graph()) {
      Ops tf = Ops.create(graph);
      Operand<TInt32> counts = tf.withName("counts").constant(new int[] {1, 2});

      IllegalArgumentException e =
          assertThrows(IllegalArgumentException.class, () -> L1L2.of(L1, L2).call(tf, counts));
      assertTrue(
          e.getMessage().startsWith("input[0] (op \"counts\") has dtype DT_INT32"), e.getMessage());
    }
  }

  @Test
  void callRejectsANullInput() {
    try (Graph graph = new Graph()) {
      Ops tf = Ops.create(graph);
      NullPointerException e =
          assertThrows(NullPointerException.class, () -> L1L2.of(L1, L2).call(tf, null));
      assertEquals("input must not be null", e.getMessage());
    }
  }

  @Test
  void aGradientDescentStepThroughCallOnARefVariableIsTheClosedFormStep() {
    float[] start = {0.5f, -1f, 2f};
    try (Graph graph = new Graph()) {
      Ops tf = Ops.create(graph);
      Variable<TFloat32> kernel =
          tf.withName("kernel").variable(tf.withInitScope().constant(start));

      // spotless:off (held verbatim by the docs: DocumentedExamplesTest)
      Regularizer regularizer = L1L2.of(1e-4, 1e-3);                      // where TF-Java expects a Regularizer
      Operand<TFloat32> kernelPenalty = regularizer.call(tf, kernel);       // l1·Σ|w| + l2·Σw², in kernel's dtype
      // spotless:on
      Op step = new GradientDescent(graph, 0.1f).minimize(kernelPenalty);

      try (Session session = new Session(graph)) {
        session.runner().addTarget(step).run();
        float[] expected = new float[start.length];
        for (int i = 0; i < start.length; i++) {
          expected[i] = (float) (start[i] - 0.1 * References.penaltyGradient(start[i], 1e-4, 1e-3));
        }
        assertArrayEquals(expected, Fixtures.fetchFloats(session, kernel), 1e-7f);
      }
    }
  }
}
