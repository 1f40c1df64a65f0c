package io.github.tfl1l2;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.tensorflow.Graph;
import org.tensorflow.Operand;
import org.tensorflow.Session;
import org.tensorflow.framework.optimizers.GradientDescent;
import org.tensorflow.op.Op;
import org.tensorflow.op.Ops;
import org.tensorflow.op.core.Variable;
import org.tensorflow.types.TFloat32;

/** The README's usage example, verbatim, plus a check of what one step does. */
class ReadmeExampleTest {

  @Test
  void readmeExampleTrainsKernelsWithThePenaltyAndLeavesBiasesToTheDataLoss() {
    try (Graph graph = new Graph()) {
      Ops tf = Ops.create(graph);
      Variable<TFloat32> kernel = tf.withName("kernel").variable(tf.withInitScope().constant(new float[][] {{0.5f, -1f}}));
      Variable<TFloat32> bias = tf.withName("bias").variable(tf.withInitScope().constant(new float[] {0.1f}));
      Operand<TFloat32> dataLoss = /* your model's loss */ tf.reduceSum(tf.math.square(tf.identity(bias)), tf.constant(0));

      L1L2 reg = L1L2.builder().l1(1e-4).l2(1e-3).on("kernel").build();   // regularize kernels, not biases
      Operand<TFloat32> loss = reg.addTo(tf, dataLoss, List.of(kernel, bias));
      Op train = new GradientDescent(graph, 0.1f).minimize(loss);

      try (Session session = new Session(graph)) {
        session.runner().addTarget(train).run();            // one step on data loss + penalty

        // kernel: w - 0.1 * (1e-4 * sign(w) + 2e-3 * w); bias: b - 0.1 * 2b
        double k0 = 0.5 - 0.1 * (1e-4 + 2e-3 * 0.5);
        double k1 = -1.0 - 0.1 * (-1e-4 - 2e-3);
        assertArrayEquals(new float[] {(float) k0, (float) k1}, Fixtures.fetchFloats(session, kernel), 1e-7f);
        assertArrayEquals(new float[] {(float) (0.1 - 0.1 * 0.2)}, Fixtures.fetchFloats(session, bias), 1e-7f);
      }
    }
  }
}
