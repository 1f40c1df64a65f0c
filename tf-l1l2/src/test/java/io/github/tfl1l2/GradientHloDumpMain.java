package io.github.tfl1l2;

import java.util.ArrayList;
import java.util.List;
import org.tensorflow.Graph;
import org.tensorflow.Operand;
import org.tensorflow.Session;
import org.tensorflow.framework.optimizers.GradientDescent;
import org.tensorflow.op.Op;
import org.tensorflow.op.Ops;
import org.tensorflow.types.TFloat32;

/**
 * Runs one {@code GradientDescent} step on a loss holding the XLA-marked penalty, so that a parent
 * process, which set {@code XLA_FLAGS=--xla_dump_to=DIR} for this JVM, can inspect the optimized
 * HLO of the gradient. Parameters: 1M floats, 70 001 floats and three small ones, whose gradients
 * share one XLA cluster.
 */
public final class GradientHloDumpMain {
  private GradientHloDumpMain() {}

  public static void main(String[] args) {
    try (Graph graph = new Graph();
        Session session = new Session(graph)) {
      Ops tf = Ops.create(graph);
      Ops init = tf.withInitScope();
      List<Operand<TFloat32>> variables = new ArrayList<>();
      for (long size : new long[] {1 << 20, 70_001, 100, 200, 300}) {
        variables.add(
            tf.variable(
                init.random.randomUniform(init.constant(new long[] {size}), TFloat32.class)));
      }
      L1L2 reg = L1L2.builder().l1(1e-3).l2(1e-2).build();
      Op step =
          new GradientDescent(graph, 0.1f).minimize(reg.addTo(tf, tf.constant(0f), variables));
      session.initialize();
      session.runner().addTarget(step).run();
      System.out.println("trained one step");
    }
  }
}
