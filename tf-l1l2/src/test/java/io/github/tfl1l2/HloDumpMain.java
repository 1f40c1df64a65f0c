package io.github.tfl1l2;

import java.util.ArrayList;
import java.util.List;
import org.tensorflow.Graph;
import org.tensorflow.Operand;
import org.tensorflow.Result;
import org.tensorflow.Session;
import org.tensorflow.op.Ops;
import org.tensorflow.types.TFloat32;

/**
 * Runs one XLA-compiled penalty so that a parent process, which set {@code XLA_FLAGS=
 * --xla_dump_to=DIR} for this JVM, can inspect the optimized HLO. Parameters: 1M floats (a multiple
 * of 32), 70 001 floats (padded), and five small ones (concatenated).
 */
public final class HloDumpMain {
  private HloDumpMain() {}

  public static void main(String[] args) {
    try (Graph graph = new Graph();
        Session session = new Session(graph)) {
      Ops tf = Ops.create(graph);
      Ops init = tf.withInitScope();
      List<Operand<TFloat32>> variables = new ArrayList<>();
      for (long size : new long[] {1 << 20, 70_001, 100, 200, 300, 400, 500}) {
        variables.add(
            tf.variable(
                init.random.randomUniform(init.constant(new long[] {size}), TFloat32.class)));
      }
      Operand<TFloat32> penalty = L1L2.builder().l1(1e-3).l2(1e-2).build().penalty(tf, variables);
      session.initialize();
      try (Result result = session.runner().fetch(penalty).run()) {
        System.out.println("penalty " + ((TFloat32) result.get(0)).getFloat());
      }
    }
  }
}
