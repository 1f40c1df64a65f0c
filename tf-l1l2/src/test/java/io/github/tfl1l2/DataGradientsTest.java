package io.github.tfl1l2;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.tfl1l2.internal.DataGradients;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.tensorflow.DeviceSpec;
import org.tensorflow.DeviceSpec.DeviceType;
import org.tensorflow.Graph;
import org.tensorflow.GraphOperation;
import org.tensorflow.Operand;
import org.tensorflow.Output;
import org.tensorflow.Session;
import org.tensorflow.framework.optimizers.Optimizer.GradAndVar;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.op.Ops;
import org.tensorflow.op.core.VarHandleOp;
import org.tensorflow.op.core.Variable;
import org.tensorflow.proto.DataType;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TFloat64;

/** The one rule for which variables a data loss reaches, and their gradients. */
class DataGradientsTest {
  private static final float[] BIAS = {1f, -2f};

  /** A graph with a reached {@code bias}, an unreached {@code kernel} and a frozen one. */
  private static final class Model {
    final Ops tf;
    final Variable<TFloat32> bias;
    final Variable<TFloat32> kernel;
    final Variable<TFloat32> frozen;
    final Operand<TFloat32> loss;

    Model(Graph g) {
      tf = Ops.create(g);
      bias = tf.withName("bias").variable(tf.withInitScope().constant(BIAS));
      kernel = tf.withName("kernel").variable(tf.withInitScope().constant(new float[] {3f, 4f}));
      frozen = tf.withName("frozen").variable(tf.withInitScope().constant(new float[] {5f}));
      // loss = Σ bias² + Σ stopGradient(frozen): frozen is an ancestor, but has no gradient.
      loss =
          tf.math.add(
              tf.reduceSum(tf.math.square(tf.identity(bias)), tf.constant(0)),
              tf.reduceSum(tf.stopGradient(tf.identity(frozen)), tf.constant(0)));
    }

    List<Output<?>> variables() {
      return List.of(kernel.asOutput(), bias.asOutput(), frozen.asOutput());
    }
  }

  @Test
  void reachedVariablesGetTheirGradientAndOthersNoPairWhenNoZeroIsAsked() {
    try (Graph g = new Graph()) {
      Model m = new Model(g);
      List<GradAndVar<?>> pairs = DataGradients.of(m.tf.scope(), m.loss, m.variables(), v -> false);
      assertEquals(1, pairs.size(), "only bias: " + pairs);
      assertEquals(m.bias.asOutput(), pairs.get(0).getVariable());
      try (Session s = new Session(g)) {
        s.initialize();
        float[] gradient = Fixtures.fetchFloats(s, pairs.get(0).getGradient());
        assertArrayEquals(
            new float[] {(float) (2.0 * BIAS[0]), (float) (2.0 * BIAS[1])},
            gradient,
            "∂Σb²/∂b = 2b");
      }
    }
  }

  @Test
  void unreachedAndStopGradientOnlyVariablesGetZerosOfTheirShapeWhenAsked() {
    try (Graph g = new Graph()) {
      Model m = new Model(g);
      List<GradAndVar<?>> pairs =
          DataGradients.of(m.tf.scope(), m.loss, m.variables(), v -> v != m.bias.asOutput());
      assertEquals(
          m.variables(),
          pairs.stream().map(GradAndVar::getVariable).toList(),
          "one pair per variable, in the given order");
      try (Session s = new Session(g)) {
        s.initialize();
        assertArrayEquals(new float[2], Fixtures.fetchFloats(s, pairs.get(0).getGradient()));
        assertArrayEquals(new float[1], Fixtures.fetchFloats(s, pairs.get(2).getGradient()));
      }
    }
  }

  @Test
  void anOutputThatIsNotAVariableV2IsRejectedNamingIt() {
    try (Graph g = new Graph()) {
      Model m = new Model(g);
      Output<?> read = m.tf.withName("read").identity(m.bias).asOutput();
      IllegalArgumentException e =
          assertThrows(
              IllegalArgumentException.class,
              () ->
                  DataGradients.of(
                      m.tf.scope(), m.loss, List.of(m.bias.asOutput(), read), v -> true));
      assertTrue(e.getMessage().contains("variables[1] (op \"read\", a Identity)"), e.getMessage());
    }
  }

  @Test
  void aVariableOfAnotherGraphIsRejected() {
    try (Graph g = new Graph();
        Graph other = new Graph()) {
      Model m = new Model(g);
      Model elsewhere = new Model(other);
      IllegalArgumentException e =
          assertThrows(
              IllegalArgumentException.class,
              () ->
                  DataGradients.of(
                      m.tf.scope(), m.loss, List.of(elsewhere.bias.asOutput()), v -> true));
      assertTrue(
          e.getMessage().contains("must be a VariableV2 or VarHandleOp of the loss's graph"),
          e.getMessage());
    }
  }

  /** A resource variable {@code name} of {@code shape}, initialized to {@code values}. */
  private static Operand<?> resource(Ops tf, String name, float[] values, long... shape) {
    Operand<?> handle =
        tf.withName(name)
            .varHandleOp(TFloat32.class, Shape.of(shape), VarHandleOp.sharedName(name));
    tf.withInitScope().assignVariableOp(handle, tf.constant(Fixtures.tensor(values, shape)));
    return handle;
  }

  private static Operand<TFloat32> read(Ops tf, Operand<?> handle) {
    return tf.readVariableOp(handle, TFloat32.class);
  }

  private static Operand<TFloat32> sum(Ops tf, Operand<TFloat32> x) {
    return tf.reduceSum(x, tf.constant(0));
  }

  @Test
  void aResourceVariableReadOnceGetsTheGradientOfItsRead() {
    float[] w = {0.5f, -1.25f, 3f};
    try (Graph g = new Graph()) {
      Ops tf = Ops.create(g);
      Operand<?> kernel = resource(tf, "kernel", w, 3);
      Operand<TFloat32> loss = sum(tf, tf.math.square(read(tf, kernel)));
      List<GradAndVar<?>> pairs =
          DataGradients.of(tf.scope(), loss, List.of(kernel.asOutput()), v -> false);
      assertEquals(1, pairs.size());
      assertEquals(kernel.asOutput(), pairs.get(0).getVariable());
      try (Session s = new Session(g)) {
        s.initialize();
        float[] gradient = Fixtures.fetchFloats(s, pairs.get(0).getGradient());
        for (int i = 0; i < w.length; i++) {
          assertEquals((float) (2.0 * w[i]), gradient[i], "∂Σw²/∂w = 2w at " + i);
        }
      }
    }
  }

  @Test
  void theGradientsOfSeveralReadsOfOneResourceVariableSum() {
    float[] w = {0.5f, -1.25f, 3f};
    try (Graph g = new Graph()) {
      Ops tf = Ops.create(g);
      Operand<?> kernel = resource(tf, "kernel", w, 3);
      // loss = Σ r1² + Σ 3·r2 with r1, r2 two reads of the same variable: ∂/∂w = 2w + 3.
      Operand<TFloat32> loss =
          tf.math.add(
              sum(tf, tf.math.square(read(tf, kernel))),
              sum(tf, tf.math.mul(tf.constant(3f), read(tf, kernel))));
      List<GradAndVar<?>> pairs =
          DataGradients.of(tf.scope(), loss, List.of(kernel.asOutput()), v -> false);
      assertEquals(1, pairs.size(), "one pair for the variable, not one per read");
      try (Session s = new Session(g)) {
        s.initialize();
        float[] gradient = Fixtures.fetchFloats(s, pairs.get(0).getGradient());
        for (int i = 0; i < w.length; i++) {
          assertEquals((float) (2.0 * w[i] + 3.0), gradient[i], "2w + 3 at " + i);
        }
      }
    }
  }

  @Test
  void refAndResourceVariablesInOneListGetTheirGradientsInTheGivenOrder() {
    float[] w = {2f, -0.75f};
    try (Graph g = new Graph()) {
      Model m = new Model(g);
      Operand<?> kernel = resource(m.tf, "resource_kernel", w, 2);
      // loss' = loss + Σ w·b: ∂/∂w = b, ∂/∂b = 2b + w.
      Operand<TFloat32> loss =
          m.tf.math.add(
              m.loss, sum(m.tf, m.tf.math.mul(read(m.tf, kernel), m.tf.identity(m.bias))));
      List<Output<?>> variables = List.of(kernel.asOutput(), m.bias.asOutput());
      List<GradAndVar<?>> pairs = DataGradients.of(m.tf.scope(), loss, variables, v -> false);
      assertEquals(variables, pairs.stream().map(GradAndVar::getVariable).toList());
      try (Session s = new Session(g)) {
        s.initialize();
        float[] dw = Fixtures.fetchFloats(s, pairs.get(0).getGradient());
        float[] db = Fixtures.fetchFloats(s, pairs.get(1).getGradient());
        for (int i = 0; i < w.length; i++) {
          assertEquals(BIAS[i], dw[i], "∂/∂w = b at " + i);
          assertEquals((float) (2.0 * BIAS[i] + w[i]), db[i], "∂/∂b = 2b + w at " + i);
        }
      }
    }
  }

  @Test
  void anUnreachedResourceVariableGetsZerosOfItsShapeAndDtypeOnItsDevice() {
    try (Graph g = new Graph()) {
      Model m = new Model(g);
      Operand<?> unread =
          m.tf
              .withDevice(DeviceSpec.newBuilder().deviceType(DeviceType.CPU).deviceIndex(0).build())
              .withName("unread")
              .varHandleOp(TFloat64.class, Shape.of(2, 3), VarHandleOp.sharedName("unread"));
      List<GradAndVar<?>> pairs =
          DataGradients.of(m.tf.scope(), m.loss, List.of(unread.asOutput()), v -> true);
      assertEquals(1, pairs.size());
      Output<?> zeros = pairs.get(0).getGradient();
      assertEquals(DataType.DT_DOUBLE, zeros.dataType());
      assertEquals(Shape.of(2, 3), zeros.shape());
      assertTrue(
          ((GraphOperation) zeros.op()).device().contains("CPU:0"),
          ((GraphOperation) zeros.op()).device());
      try (Session s = new Session(g)) {
        assertArrayEquals(new float[6], Fixtures.fetchFloats(s, zeros));
      }
    }
  }

  @Test
  void aResourceVariableReadOnlyThroughStopGradientCountsAsUnreached() {
    try (Graph g = new Graph()) {
      Model m = new Model(g);
      Operand<?> frozen = resource(m.tf, "frozen_resource", new float[] {1f, 2f}, 2);
      Operand<TFloat32> loss =
          m.tf.math.add(m.loss, sum(m.tf, m.tf.stopGradient(read(m.tf, frozen))));
      List<Output<?>> variables = List.of(frozen.asOutput());
      assertEquals(List.of(), DataGradients.of(m.tf.scope(), loss, variables, v -> false));
      List<GradAndVar<?>> zeros = DataGradients.of(m.tf.scope(), loss, variables, v -> true);
      try (Session s = new Session(g)) {
        s.initialize();
        assertArrayEquals(new float[2], Fixtures.fetchFloats(s, zeros.get(0).getGradient()));
      }
    }
  }

  @Test
  void aReadThroughStopGradientAddsNothingToAReachedResourceVariablesGradient() {
    float[] w = {1.5f, -4f};
    try (Graph g = new Graph()) {
      Ops tf = Ops.create(g);
      Operand<?> kernel = resource(tf, "kernel", w, 2);
      Operand<TFloat32> loss =
          tf.math.add(
              sum(tf, tf.math.square(read(tf, kernel))),
              sum(tf, tf.stopGradient(read(tf, kernel))));
      List<GradAndVar<?>> pairs =
          DataGradients.of(tf.scope(), loss, List.of(kernel.asOutput()), v -> false);
      try (Session s = new Session(g)) {
        s.initialize();
        float[] gradient = Fixtures.fetchFloats(s, pairs.get(0).getGradient());
        for (int i = 0; i < w.length; i++) {
          assertEquals((float) (2.0 * w[i]), gradient[i], "only the square's 2w at " + i);
        }
      }
    }
  }

  @Test
  void aReadOfAResourceVariableIsRejectedAsAVariableNamingIt() {
    try (Graph g = new Graph()) {
      Ops tf = Ops.create(g);
      Operand<?> kernel = resource(tf, "kernel", new float[] {1f}, 1);
      Operand<TFloat32> value = tf.withName("value").readVariableOp(kernel, TFloat32.class);
      Operand<TFloat32> loss = sum(tf, value);
      IllegalArgumentException e =
          assertThrows(
              IllegalArgumentException.class,
              () -> DataGradients.of(tf.scope(), loss, List.of(value.asOutput()), v -> true));
      assertTrue(
          e.getMessage().contains("variables[0] (op \"value\", a ReadVariableOp)"), e.getMessage());
    }
  }

  @Test
  void variableOfMapsEveryAcceptedFormOfAWeightToItsVariable() {
    try (Graph g = new Graph()) {
      Model m = new Model(g);
      Operand<?> kernel = resource(m.tf, "resource_kernel", new float[] {1f}, 1);
      Output<?> handle = kernel.asOutput();
      assertEquals(m.bias.asOutput(), DataGradients.variableOf("w", 0, m.bias, g));
      assertEquals(m.bias.asOutput(), DataGradients.variableOf("w", 0, m.tf.identity(m.bias), g));
      assertEquals(handle, DataGradients.variableOf("w", 0, kernel, g));
      assertEquals(handle, DataGradients.variableOf("w", 0, read(m.tf, kernel), g));
    }
  }

  @Test
  void variableOfRejectsANonVariableNamingTheIndexAndOp() {
    try (Graph g = new Graph()) {
      Model m = new Model(g);
      Operand<TFloat32> scaled = m.tf.withName("scaled").math.mul(m.bias, m.tf.constant(2f));
      IllegalArgumentException e =
          assertThrows(
              IllegalArgumentException.class,
              () -> DataGradients.variableOf("variables", 3, scaled, g));
      assertTrue(
          e.getMessage().startsWith("variables[3] (op \"scaled\", a Mul) is not a variable"),
          e.getMessage());
    }
  }

  @Test
  void variableOfRejectsAWeightOfAnotherGraph() {
    try (Graph g = new Graph();
        Graph other = new Graph()) {
      Model elsewhere = new Model(other);
      IllegalArgumentException e =
          assertThrows(
              IllegalArgumentException.class,
              () -> DataGradients.variableOf("variables", 0, elsewhere.bias, g));
      assertTrue(
          e.getMessage().contains("variables[0] (op \"bias\") belongs to another"), e.getMessage());
    }
  }

  @Test
  void variablesOfListsRefAndResourceVariablesInGraphOrder() {
    try (Graph g = new Graph()) {
      Model m = new Model(g);
      Operand<?> kernel = resource(m.tf, "resource_kernel", new float[] {1f}, 1);
      assertEquals(
          List.of(m.bias.asOutput(), m.kernel.asOutput(), m.frozen.asOutput(), kernel.asOutput()),
          DataGradients.variablesOf(g));
    }
  }
}
