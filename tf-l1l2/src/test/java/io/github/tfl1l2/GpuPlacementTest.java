package io.github.tfl1l2;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.tfl1l2.testing.References;
import java.util.List;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.tensorflow.DeviceSpec;
import org.tensorflow.Graph;
import org.tensorflow.Operand;
import org.tensorflow.Result;
import org.tensorflow.Session;
import org.tensorflow.op.Ops;
import org.tensorflow.proto.ConfigProto;
import org.tensorflow.proto.GraphDef;
import org.tensorflow.proto.NodeDef;
import org.tensorflow.proto.RunOptions;
import org.tensorflow.types.TFloat32;

/**
 * On a machine with a GPU and the {@code -Pgpu} natives, the marked penalty compiles and runs as an
 * XLA cluster on the GPU. Skipped where no GPU is visible (the CPU twin is {@code XlaMarkingTest}).
 */
@Tag("gpu")
class GpuPlacementTest {

  private static final ConfigProto STRICT_PLACEMENT =
      ConfigProto.newBuilder().setAllowSoftPlacement(false).build();

  private static boolean gpuVisible() {
    try (Graph g = new Graph()) {
      Ops tf =
          Ops.create(g)
              .withDevice(
                  DeviceSpec.newBuilder()
                      .deviceType(DeviceSpec.DeviceType.GPU)
                      .deviceIndex(0)
                      .build());
      Operand<TFloat32> probe = tf.math.add(tf.constant(1f), tf.constant(1f));
      try (Session s = new Session(g, STRICT_PLACEMENT)) {
        s.runner().fetch(probe).run().close();
        return true;
      } catch (RuntimeException noGpu) {
        return false;
      }
    }
  }

  @Test
  void markedPenaltyRunsAsAnXlaClusterOnTheGpu() {
    Assumptions.assumeTrue(gpuVisible(), "no GPU visible to TensorFlow");
    float[] values = Fixtures.randomWeights(1, 1 << 16, 1.0);
    try (Graph g = new Graph()) {
      Ops tf =
          Ops.create(g)
              .withDevice(
                  DeviceSpec.newBuilder()
                      .deviceType(DeviceSpec.DeviceType.GPU)
                      .deviceIndex(0)
                      .build());
      Operand<TFloat32> w = tf.constant(Fixtures.tensor(values, values.length));
      Operand<TFloat32> penalty = L1L2.of(0.01, 0.02).penalty(tf, List.of(w));
      RunOptions options = RunOptions.newBuilder().setOutputPartitionGraphs(true).build();
      try (Session s = new Session(g, STRICT_PLACEMENT);
          Result r = s.runner().fetch(penalty).setOptions(options).runAndFetchMetadata()) {
        boolean xlaOnGpu = false;
        for (GraphDef partition : r.getMetadata().orElseThrow().getPartitionGraphsList()) {
          for (NodeDef node : partition.getNodeList()) {
            xlaOnGpu |= node.getOp().startsWith("_Xla") && node.getDevice().contains("GPU");
          }
        }
        assertTrue(xlaOnGpu, "no XLA launch op placed on the GPU");
        double expected = References.penalty(0.01, 0.02, 1.0, values);
        assertEquals(expected, Fixtures.scalar(r.get(0)), expected * 1e-5);
      }
    }
  }
}
