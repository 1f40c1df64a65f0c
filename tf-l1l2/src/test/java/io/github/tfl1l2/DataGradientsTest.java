package io.github.tfl1l2;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.tensorflow.Graph;
import org.tensorflow.Operand;
import org.tensorflow.Output;
import org.tensorflow.Session;
import org.tensorflow.framework.optimizers.Optimizer.GradAndVar;
import org.tensorflow.op.Ops;
import org.tensorflow.op.core.Variable;
import org.tensorflow.types.TFloat32;

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
      loss = tf.math.add(
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
      List<GradAndVar<?>> pairs =
          DataGradients.of(m.tf.scope(), m.loss, m.variables(), v -> false);
      assertEquals(1, pairs.size(), "only bias: " + pairs);
      assertEquals(m.bias.asOutput(), pairs.get(0).getVariable());
      try (Session s = new Session(g)) {
        s.initialize();
        float[] gradient = Fixtures.fetchFloats(s, pairs.get(0).getGradient());
        assertArrayEquals(new float[] {(float) (2.0 * BIAS[0]), (float) (2.0 * BIAS[1])},
            gradient, "∂Σb²/∂b = 2b");
      }
    }
  }

  @Test
  void unreachedAndStopGradientOnlyVariablesGetZerosOfTheirShapeWhenAsked() {
    try (Graph g = new Graph()) {
      Model m = new Model(g);
      List<GradAndVar<?>> pairs =
          DataGradients.of(m.tf.scope(), m.loss, m.variables(), v -> v != m.bias.asOutput());
      assertEquals(m.variables(), pairs.stream().map(GradAndVar::getVariable).toList(),
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
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
          () -> DataGradients.of(m.tf.scope(), m.loss, List.of(m.bias.asOutput(), read), v -> true));
      assertTrue(e.getMessage().contains("variables[1] (op \"read\", a Identity)"), e.getMessage());
    }
  }

  @Test
  void aVariableOfAnotherGraphIsRejected() {
    try (Graph g = new Graph();
        Graph other = new Graph()) {
      Model m = new Model(g);
      Model elsewhere = new Model(other);
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
          () -> DataGradients.of(m.tf.scope(), m.loss, List.of(elsewhere.bias.asOutput()),
              v -> true));
      assertTrue(e.getMessage().contains("must be a VariableV2 of the loss's graph"),
          e.getMessage());
    }
  }
}
