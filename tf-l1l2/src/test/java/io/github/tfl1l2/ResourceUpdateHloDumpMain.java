package io.github.tfl1l2;

import java.util.ArrayList;
import java.util.List;
import org.tensorflow.Graph;
import org.tensorflow.Operand;
import org.tensorflow.Session;
import org.tensorflow.framework.optimizers.GradientDescent;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.op.Op;
import org.tensorflow.op.Ops;
import org.tensorflow.op.core.VarHandleOp;
import org.tensorflow.types.TFloat32;

/**
 * Runs one {@link L1L2#minimize} {@code GradientDescent} step on resource variables, so that a
 * parent process, which set {@code XLA_FLAGS=--xla_dump_to=DIR} for this JVM, can inspect the
 * optimized HLO of the fused updates. Three penalty-only variables at the XLA threshold share one
 * cluster; a fourth, which the data loss reaches, has a cluster of its own.
 */
public final class ResourceUpdateHloDumpMain {
  private ResourceUpdateHloDumpMain() {}

  public static void main(String[] args) {
    long size = ResourceUpdates.XLA_MIN_ELEMENTS;
    try (Graph graph = new Graph();
        Session session = new Session(graph)) {
      Ops tf = Ops.create(graph);
      Ops init = tf.withInitScope();
      List<Operand<?>> handles = new ArrayList<>();
      for (int i = 0; i < 4; i++) {
        String name = "w" + i;
        VarHandleOp handle =
            init.withName(name)
                .varHandleOp(TFloat32.class, Shape.of(size), VarHandleOp.sharedName(name));
        init.assignVariableOp(
            handle, init.random.randomUniform(init.constant(new long[] {size}), TFloat32.class));
        handles.add(handle);
      }
      Operand<TFloat32> dataLoss =
          tf.math.mean(
              tf.math.square(tf.readVariableOp(handles.get(3), TFloat32.class)), tf.constant(0));
      L1L2 reg = L1L2.builder().l1(1e-3).l2(1e-2).build();
      Op step = reg.minimize(new GradientDescent(graph, 0.1f), dataLoss, handles);
      session.initialize();
      session.runner().addTarget(step).run();
      System.out.println("trained one step");
    }
  }
}
