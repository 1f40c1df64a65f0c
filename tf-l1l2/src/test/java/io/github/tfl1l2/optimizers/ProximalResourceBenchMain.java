package io.github.tfl1l2.optimizers;

import io.github.tfl1l2.L1L2;
import io.github.tfl1l2.internal.DataGradients;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.tensorflow.Graph;
import org.tensorflow.Operand;
import org.tensorflow.Output;
import org.tensorflow.Session;
import org.tensorflow.framework.optimizers.Optimizer.GradAndVar;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.op.Op;
import org.tensorflow.op.Ops;
import org.tensorflow.op.core.VarHandleOp;
import org.tensorflow.types.TFloat32;

/**
 * Times the proximal step on resource variables, side by side in one process: the bare ref pass
 * {@code ApplyGradientDescent(w, c, w)}, {@code ProximalGradientDescent.minimize(loss, variables)}
 * on resource variables (XLA-fused where large), the same step in the plain resource kernel, and
 * the step on ref variables. Arguments: count, elements per variable, reps.
 */
final class ProximalResourceBenchMain {
  private ProximalResourceBenchMain() {}

  public static void main(String[] args) throws Exception {
    int count = Integer.parseInt(args[0]);
    int size = Integer.parseInt(args[1]);
    int reps = Integer.parseInt(args[2]);
    L1L2 reg = L1L2.builder().l1(1e-5).l2(1e-4).build();
    float lr = 0.01f;
    try (Graph g = new Graph()) {
      Ops tf = Ops.create(g);
      Ops init = tf.withInitScope();
      Operand<TFloat32> resLoss = tf.constant(0f);
      Operand<TFloat32> refLoss = tf.constant(0f);
      List<Operand<?>> handles = new ArrayList<>();
      List<Operand<TFloat32>> refs = new ArrayList<>();
      for (int i = 0; i < count; i++) {
        Operand<?> h =
            tf.withName("h" + i)
                .varHandleOp(TFloat32.class, Shape.of(size), VarHandleOp.sharedName("h" + i));
        init.assignVariableOp(
            h, init.random.randomUniform(init.constant(new long[] {size}), TFloat32.class));
        handles.add(h);
        var w =
            tf.withName("w" + i)
                .variable(
                    init.random.randomUniform(init.constant(new long[] {size}), TFloat32.class));
        refs.add(w);
        // A linear data loss: its gradient, 1e-3 everywhere, folds into a constant.
        resLoss =
            tf.math.add(
                resLoss,
                tf.math.mul(
                    tf.constant(1e-3f),
                    tf.reduceSum(tf.readVariableOp(h, TFloat32.class), tf.constant(0))));
        refLoss =
            tf.math.add(
                refLoss,
                tf.math.mul(tf.constant(1e-3f), tf.reduceSum(tf.identity(w), tf.constant(0))));
      }
      Map<String, Op> steps = new LinkedHashMap<>();
      List<Op> bare = new ArrayList<>();
      for (Operand<TFloat32> w : refs) {
        bare.add(tf.train.applyGradientDescent(w, tf.constant(lr * 2e-4f), w));
      }
      steps.put("bare ref pass", tf.withControlDependencies(bare).noOp());
      steps.put(
          "PGD.minimize(loss, vars), resource (kernel)",
          new ProximalGradientDescent(g, lr, reg).minimize(resLoss, handles));
      List<Output<?>> outs = handles.stream().<Output<?>>map(Operand::asOutput).toList();
      List<Op> plain = new ArrayList<>();
      for (GradAndVar<?> p : DataGradients.of(tf.scope(), resLoss, outs, v -> true)) {
        @SuppressWarnings("unchecked")
        Operand<TFloat32> grad = (Operand<TFloat32>) p.getGradient();
        plain.add(
            tf.train.resourceApplyProximalGradientDescent(
                p.getVariable(), tf.constant(lr), tf.constant(1e-5f), tf.constant(2e-4f), grad));
      }
      steps.put(
          "ResourceApplyProximalGradientDescent, no XLA", tf.withControlDependencies(plain).noOp());
      List<GradAndVar<? extends org.tensorflow.types.family.TType>> pairs = new ArrayList<>();
      for (GradAndVar<?> pair : DataGradients.of(tf.scope(), resLoss, outs, v -> true)) {
        pairs.add(pair);
      }
      steps.put(
          "XLA {read, prox, AssignVariableOp}, 32 per cluster",
          tf.withControlDependencies(
                  FusedProximalStep.build(tf, pairs, lr, new ProximalTerms(reg), "bench"))
              .noOp());
      ProximalGradientDescent onRefs =
          new ProximalGradientDescent(
              g, lr, L1L2.builder().l1(1e-5).l2(1e-4).on("w[0-9]+").build());
      steps.put("PGD.minimize(loss), ref", onRefs.minimize(refLoss, refs));
      try (Session s = new Session(g)) {
        s.initialize();
        Map<String, double[]> samples = new LinkedHashMap<>();
        steps.keySet().forEach(k -> samples.put(k, new double[reps]));
        for (int w = 0; w < 5; w++) {
          steps.values().forEach(op -> s.runner().addTarget(op).run());
        }
        for (int r = 0; r < reps; r++) {
          for (var e : steps.entrySet()) {
            long t0 = System.nanoTime();
            s.runner().addTarget(e.getValue()).run();
            samples.get(e.getKey())[r] = (System.nanoTime() - t0) / 1e6;
          }
        }
        double bare0 = median(samples.get("bare ref pass"));
        System.out.printf(
            "%d x %d float32, medians of %d, load %s%n",
            count, size, reps, Files.readString(Path.of("/proc/loadavg")).trim());
        samples.forEach(
            (k, v) -> System.out.printf("| %s | %.2f | %.2f |%n", k, median(v), median(v) / bare0));
      }
    }
  }

  private static double median(double[] v) {
    double[] c = v.clone();
    Arrays.sort(c);
    return c[c.length / 2];
  }
}
