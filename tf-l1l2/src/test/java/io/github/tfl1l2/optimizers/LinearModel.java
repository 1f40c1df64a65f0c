package io.github.tfl1l2.optimizers;

import org.tensorflow.Graph;
import org.tensorflow.Operand;
import org.tensorflow.Result;
import org.tensorflow.Session;
import org.tensorflow.ndarray.buffer.DataBuffers;
import org.tensorflow.op.Op;
import org.tensorflow.op.Ops;
import org.tensorflow.op.core.Variable;
import org.tensorflow.types.TFloat32;

/**
 * A graph holding {@code kernel} ({@code p × 1}, float32) and the data loss {@code mean((X·kernel −
 * y)²)} of a {@link LeastSquares} problem; the caller adds an optimizer and opens the session.
 */
final class LinearModel implements AutoCloseable {
  final Graph graph = new Graph();
  final Ops tf = Ops.create(graph);
  final Variable<TFloat32> kernel;
  final Operand<TFloat32> dataLoss;
  private Session session;

  LinearModel(LeastSquares problem, float[] initialKernel) {
    float[][] column = new float[initialKernel.length][1];
    for (int j = 0; j < initialKernel.length; j++) {
      column[j][0] = initialKernel[j];
    }
    kernel = tf.withName("kernel").variable(tf.withInitScope().constant(column));
    // Read through Identity: gradients through ops applied straight to a ref variable can crash.
    Operand<TFloat32> prediction =
        tf.linalg.matMul(tf.constant(problem.xFloats()), tf.identity(kernel));
    dataLoss =
        tf.math.mean(
            tf.math.square(tf.math.sub(prediction, tf.constant(problem.yColumn()))),
            tf.constant(new int[] {0, 1}));
  }

  /** Runs {@code step} {@code times} times (the first run initializes the variables). */
  void run(Op step, int times) {
    if (session == null) {
      session = new Session(graph);
    }
    for (int i = 0; i < times; i++) {
      session.runner().addTarget(step).run();
    }
  }

  /** The current value of a float32 variable, flattened. */
  float[] values(Operand<TFloat32> variable) {
    try (Result result = session.runner().fetch(variable).run()) {
      TFloat32 floats = (TFloat32) result.get(0);
      float[] values = new float[(int) floats.size()];
      floats.copyTo(DataBuffers.of(values, false, false));
      return values;
    }
  }

  float[] kernel() {
    return values(kernel);
  }

  @Override
  public void close() {
    if (session != null) {
      session.close();
    }
    graph.close();
  }
}
