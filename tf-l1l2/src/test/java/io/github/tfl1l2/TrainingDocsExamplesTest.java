package io.github.tfl1l2;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.github.tfl1l2.optimizers.ProximalGradientDescent;
import io.github.tfl1l2.testing.References;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.tensorflow.Graph;
import org.tensorflow.Operand;
import org.tensorflow.Session;
import org.tensorflow.framework.optimizers.GradientDescent;
import org.tensorflow.framework.optimizers.Optimizer;
import org.tensorflow.op.Op;
import org.tensorflow.op.Ops;
import org.tensorflow.op.core.Variable;
import org.tensorflow.types.TFloat32;

/**
 * The Java examples of docs/training.md, as written there ({@code DocumentedExamplesTest} checks
 * that they appear here verbatim), each run once and checked against a step computed in double.
 */
class TrainingDocsExamplesTest {
  private static final float[] START = {0.5f, -1f, 0.00005f, 2f};
  private static final float[] TARGET = {0.25f, -1.5f, 0.00005f, 2f};
  private static final double LEARNING_RATE = 0.1;

  @Test
  void bothWaysToTrainTakeTheSameStepAsADoublePrecisionGradientStep() {
    double l1 = 1e-3;
    double l2 = 1e-2;
    try (Graph graph = new Graph()) {
      Ops tf = Ops.create(graph);
      Variable<TFloat32> kernel = kernel(tf);
      Operand<TFloat32> dataLoss = squaredDistanceToTarget(tf, kernel);
      List<Variable<TFloat32>> weights = List.of(kernel);
      L1L2 reg = L1L2.of(l1, l2);
      Optimizer optimizer = new GradientDescent(graph, (float) LEARNING_RATE);

      // spotless:off (held verbatim by the docs: DocumentedExamplesTest)
      Op viaLoss = optimizer.minimize(reg.addTo(tf, dataLoss, weights));   // any TF-Java code path
      Op fused = reg.minimize(optimizer, dataLoss, weights);               // cheaper: no penalty evaluated
      // spotless:on

      float[] expected = new float[START.length];
      for (int i = 0; i < START.length; i++) {
        double w = START[i];
        double gradient = 2 * (w - TARGET[i]) + References.penaltyGradient(w, l1, l2);
        expected[i] = (float) (w - LEARNING_RATE * gradient);
      }
      assertArrayEquals(expected, oneStep(graph, viaLoss, kernel), 1e-6f, "minimize(addTo)");
      assertArrayEquals(expected, oneStep(graph, fused, kernel), 1e-6f, "reg.minimize");
    }
  }

  @Test
  void proximalStepIsTheClosedFormProxAndLeavesAnExactZero() {
    try (Graph graph = new Graph()) {
      Ops tf = Ops.create(graph);
      Variable<TFloat32> kernel = kernel(tf);
      Operand<TFloat32> dataLoss = squaredDistanceToTarget(tf, kernel);

      // spotless:off (held verbatim by the docs: DocumentedExamplesTest)
      L1L2 reg = L1L2.builder().l1(1e-3).l2(1e-4).on("kernel").build();
      Op step = new ProximalGradientDescent(graph, 0.1f, reg).minimize(dataLoss);  // the data loss alone
      // spotless:on

      float[] trained = oneStep(graph, step, kernel);
      for (int i = 0; i < START.length; i++) {
        double v = START[i] - LEARNING_RATE * 2 * (START[i] - TARGET[i]);
        double prox = References.proximalStep(v, LEARNING_RATE, 1e-3, 1e-4);
        assertEquals(prox, trained[i], 1e-6, "weight " + i);
      }
      assertEquals(0f, trained[2], "a weight within α·l1 of zero becomes exactly 0");
    }
  }

  private static Variable<TFloat32> kernel(Ops tf) {
    return tf.withName("kernel").variable(tf.withInitScope().constant(START));
  }

  /** {@code Σ (w − target)²}, read through {@code Identity} as the library reads ref variables. */
  private static Operand<TFloat32> squaredDistanceToTarget(Ops tf, Variable<TFloat32> kernel) {
    return tf.reduceSum(
        tf.math.square(tf.math.sub(tf.identity(kernel), tf.constant(TARGET))), tf.constant(0));
  }

  private static float[] oneStep(Graph graph, Op step, Variable<TFloat32> kernel) {
    try (Session session = new Session(graph)) {
      session.runner().addTarget(step).run();
      return Fixtures.fetchFloats(session, kernel);
    }
  }
}
