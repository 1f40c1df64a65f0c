package io.github.tfl1l2;

import java.util.List;
import org.tensorflow.Graph;
import org.tensorflow.Operand;
import org.tensorflow.Result;
import org.tensorflow.Session;
import org.tensorflow.op.Ops;
import org.tensorflow.types.TFloat32;

/**
 * Runs {@link L1L2#sums} once, XLA-compiled, over a 1M-float variable (rows of 32) and a 70 001
 * float one (ragged tail), so that {@link SumsHloTest} can read the optimized HLO.
 */
public final class SumsHloDumpMain {
  private SumsHloDumpMain() {}

  public static void main(String[] args) {
    try (Graph graph = new Graph();
        Session session = new Session(graph)) {
      Ops tf = Ops.create(graph);
      Ops init = tf.withInitScope();
      Operand<TFloat32> large =
          tf.variable(
              init.random.randomUniform(init.constant(new long[] {1 << 20}), TFloat32.class));
      Operand<TFloat32> ragged =
          tf.variable(
              init.random.randomUniform(init.constant(new long[] {70_001}), TFloat32.class));
      ParameterSums sums = L1L2.of(1e-3, 1e-2).sums(tf, List.of(large, ragged));
      session.initialize();
      try (Result result = session.runner().fetch(sums.absSums()).fetch(sums.squareSums()).run()) {
        System.out.println("sums computed: " + result.size() + " outputs");
      }
    }
  }
}
