package example;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.github.tfl1l2.L1L2;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.tensorflow.Graph;
import org.tensorflow.Operand;
import org.tensorflow.Result;
import org.tensorflow.Session;
import org.tensorflow.op.Ops;
import org.tensorflow.types.TFloat32;

/** A penalty computed through the installed library, checked against arithmetic done here. */
class ConsumerTest {
  @Test
  void penaltyComputesThroughTheInstalledLibrary() {
    float[] w = {0.5f, -1.25f, 2f, 0f};
    double expected = 0;
    for (float v : w) {
      expected += 0.01 * Math.abs(v) + 0.1 * (double) v * v;
    }
    try (Graph graph = new Graph(); Session session = new Session(graph)) {
      Ops tf = Ops.create(graph);
      Operand<TFloat32> penalty = L1L2.of(0.01, 0.1).penalty(tf, List.of(tf.constant(w)));
      try (Result result = session.runner().fetch(penalty).run()) {
        assertEquals(expected, ((TFloat32) result.get(0)).getFloat(), 1e-6);
      }
    }
  }
}
