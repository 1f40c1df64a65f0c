package io.github.tfl1l2;

import io.github.tfl1l2.optimizers.ProximalGradientDescent;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.tensorflow.ConcreteFunction;
import org.tensorflow.Graph;
import org.tensorflow.Operand;
import org.tensorflow.Operation;
import org.tensorflow.Output;
import org.tensorflow.Session;
import org.tensorflow.Signature;
import org.tensorflow.framework.optimizers.GradientDescent;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.op.Op;
import org.tensorflow.op.Ops;
import org.tensorflow.op.core.NoOp;
import org.tensorflow.op.core.Placeholder;
import org.tensorflow.op.core.VarHandleOp;
import org.tensorflow.proto.DataType;
import org.tensorflow.types.TFloat32;

/**
 * Times XLA's in-place resource update against the current resource paths, side by side in one
 * process (notes/in-place-updates.md). The in-place candidates are TensorFlow functions that take
 * the variables' handles, read, compute the update and assign, called through a {@code
 * StatefulPartitionedCall} node with {@code _XlaMustCompile=true}: TensorFlow runs such a call as
 * one {@code XlaLaunch}, which donates each variable's buffer to XLA ({@code input_output_alias}),
 * where autoclustering's {@code _XlaCompile}/{@code _XlaRun} pair writes a fresh buffer.
 *
 * <p>Arguments: variables, elements per variable, reps, variables per call. Set {@code
 * XLA_FLAGS=--xla_dump_to=DIR} to see the HLO modules and their LLVM IR.
 */
final class InPlaceUpdateBenchMain {
  private InPlaceUpdateBenchMain() {}

  private static final float LR = 0.01f;
  private static final float L1 = 1e-5f;
  private static final float L2 = 1e-4f;

  /** The data gradient of the proximal columns: the linear loss Σ 1e-3·Σ w has it everywhere. */
  private static final float DATA_SLOPE = 1e-3f;

  public static void main(String[] args) throws Exception {
    int count = Integer.parseInt(args[0]);
    int size = Integer.parseInt(args[1]);
    int reps = Integer.parseInt(args[2]);
    int perCall = Integer.parseInt(args[3]);
    Shape shape = Shape.of(size);
    try (Graph g = new Graph()) {
      Ops tf = Ops.create(g);
      Ops init = tf.withInitScope();
      Map<String, Op> steps = new LinkedHashMap<>();
      List<Op> bare = new ArrayList<>();
      for (int i = 0; i < count; i++) {
        Operand<TFloat32> w =
            tf.withName("w" + i)
                .variable(
                    init.random.randomUniform(init.constant(shape.asArray()), TFloat32.class));
        bare.add(tf.train.applyGradientDescent(w, tf.constant(LR * 2e-4f), w));
      }
      steps.put(
          "bare ref pass ApplyGradientDescent(w, c, w)", tf.withControlDependencies(bare).noOp());
      L1L2 reg = L1L2.builder().l1(L1).l2(L2).build();
      steps.put(
          "L1L2.minimize(GradientDescent), resource (autoclustered, fresh buffer)",
          reg.minimize(
              new GradientDescent(g, LR), tf.constant(0f), handles(tf, "m", count, shape)));
      for (String body : List.of("assign", "apply")) {
        List<Operand<?>> handles = handles(tf, body, count, shape);
        List<Operation> calls = new ArrayList<>();
        for (int s = 0; s < count; s += perCall) {
          List<Operand<?>> group = handles.subList(s, Math.min(count, s + perCall));
          calls.add(xlaCall(tf, penaltyStep(body + "_step" + s, group.size(), body), group));
        }
        steps.put(
            body.equals("assign")
                ? "XlaLaunch {read, penalty step, AssignVariableOp} (in place)"
                : "XlaLaunch {read, penalty gradient, ResourceApplyGradientDescent} (in place)",
            NoOp.create(tf.scope().withControlDependencyOps(calls)));
      }
      List<Operand<?>> proximal = handles(tf, "p", count, shape);
      Operand<TFloat32> loss = tf.constant(0f);
      for (Operand<?> h : proximal) {
        loss =
            tf.math.add(
                loss,
                tf.math.mul(
                    tf.constant(DATA_SLOPE),
                    tf.reduceSum(tf.readVariableOp(h, TFloat32.class), tf.constant(0))));
      }
      steps.put(
          "ProximalGradientDescent.minimize(loss, variables), resource",
          new ProximalGradientDescent(g, LR, reg).minimize(loss, proximal));
      List<Operand<?>> kernel = handles(tf, "k", count, shape);
      List<Op> applies = new ArrayList<>();
      for (Operand<?> h : kernel) {
        applies.add(
            tf.train.resourceApplyProximalGradientDescent(
                h, tf.constant(LR), tf.constant(L1), tf.constant(2 * L2), slope(tf, shape)));
      }
      steps.put(
          "ResourceApplyProximalGradientDescent, constant gradient",
          tf.withControlDependencies(applies).noOp());
      List<Operand<?>> fused = handles(tf, "f", count, shape);
      List<Operation> proxCalls = new ArrayList<>();
      for (int s = 0; s < count; s += perCall) {
        int e = Math.min(count, s + perCall);
        List<Operand<?>> inputs = new ArrayList<>(fused.subList(s, e));
        for (int i = s; i < e; i++) {
          inputs.add(slope(tf, shape));
        }
        proxCalls.add(xlaCall(tf, proximalStep("prox_step" + s, e - s, shape), inputs));
      }
      steps.put(
          "XlaLaunch {read, prox, AssignVariableOp}, constant gradient (in place)",
          NoOp.create(tf.scope().withControlDependencyOps(proxCalls)));
      try (Session session = new Session(g)) {
        session.initialize();
        Map<String, double[]> samples = new LinkedHashMap<>();
        steps.keySet().forEach(k -> samples.put(k, new double[reps]));
        for (int warm = 0; warm < 3; warm++) {
          steps.values().forEach(op -> session.runner().addTarget(op).run());
        }
        for (int r = 0; r < reps; r++) {
          for (Map.Entry<String, Op> e : steps.entrySet()) {
            long t0 = System.nanoTime();
            session.runner().addTarget(e.getValue()).run();
            samples.get(e.getKey())[r] = (System.nanoTime() - t0) / 1e6;
          }
        }
        double bare0 = median(samples.values().iterator().next());
        System.out.printf(
            "%d x %d float32, %d per call, medians of %d, XLA_FLAGS=%s, load %s%n",
            count,
            size,
            perCall,
            reps,
            System.getenv("XLA_FLAGS"),
            Files.readString(Path.of("/proc/loadavg")).trim());
        samples.forEach(
            (k, v) -> System.out.printf("| %s | %.2f | %.2f |%n", k, median(v), median(v) / bare0));
      }
    }
  }

  /** {@code count} float32 resource variables, each with its own {@code shared_name}. */
  private static List<Operand<?>> handles(Ops tf, String prefix, int count, Shape shape) {
    Ops init = tf.withInitScope();
    List<Operand<?>> handles = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      String name = prefix + "_h" + i;
      VarHandleOp h =
          init.withName(name).varHandleOp(TFloat32.class, shape, VarHandleOp.sharedName(name));
      init.assignVariableOp(
          h, init.random.randomUniform(init.constant(shape.asArray()), TFloat32.class));
      handles.add(h);
    }
    return handles;
  }

  /** A weight-sized gradient of {@link #DATA_SLOPE} (Grappler folds it into a constant). */
  private static Operand<TFloat32> slope(Ops tf, Shape shape) {
    return tf.fill(tf.constant(shape.asArray()), tf.constant(DATA_SLOPE));
  }

  /** A resource handle argument of a function body. */
  private static Output<?> resourceArgument(Ops tf, String name) {
    return tf.scope()
        .opBuilder(Placeholder.OP_NAME, name)
        .setAttr("dtype", DataType.DT_RESOURCE)
        .setAttr("shape", Shape.scalar())
        .build()
        .output(0);
  }

  /**
   * A function over {@code n} handles that applies the penalty-only GD step {@code w − lr·(l1·sign
   * w + 2·l2·w)} to each: as {@code AssignVariableOp} of the new value, or as {@code
   * ResourceApplyGradientDescent} of the penalty gradient.
   */
  private static ConcreteFunction penaltyStep(String name, int n, String body) {
    Graph fg = new Graph();
    Ops tf = Ops.create(fg);
    Signature.Builder signature = Signature.builder().key(name);
    List<Op> updates = new ArrayList<>();
    for (int k = 0; k < n; k++) {
      Output<?> h = resourceArgument(tf, "h" + k);
      signature.input("h" + k, h);
      Operand<TFloat32> w = tf.readVariableOp(h, TFloat32.class);
      Operand<TFloat32> gradient =
          tf.math.add(
              tf.math.mul(tf.constant(L1), tf.math.sign(w)), tf.math.mul(tf.constant(2 * L2), w));
      updates.add(
          body.equals("assign")
              ? tf.assignVariableOp(h, tf.math.sub(w, tf.math.mul(tf.constant(LR), gradient)))
              : tf.train.resourceApplyGradientDescent(h, tf.constant(LR), gradient));
    }
    return finish(tf, signature, updates, fg);
  }

  /**
   * A function over {@code n} handles and then {@code n} gradients that applies the proximal step
   * of {@code ApplyProximalGradientDescent} to each and assigns it.
   */
  private static ConcreteFunction proximalStep(String name, int n, Shape shape) {
    Graph fg = new Graph();
    Ops tf = Ops.create(fg);
    Signature.Builder signature = Signature.builder().key(name);
    List<Output<?>> handles = new ArrayList<>();
    for (int k = 0; k < n; k++) {
      handles.add(resourceArgument(tf, "h" + k));
      signature.input("h" + k, handles.get(k));
    }
    List<Op> updates = new ArrayList<>();
    for (int k = 0; k < n; k++) {
      Operand<TFloat32> gradient =
          tf.withName("g" + k).placeholder(TFloat32.class, Placeholder.shape(shape));
      signature.input("g" + k, gradient);
      Operand<TFloat32> w = tf.readVariableOp(handles.get(k), TFloat32.class);
      Operand<TFloat32> v = tf.math.sub(w, tf.math.mul(gradient, tf.constant(LR)));
      Operand<TFloat32> shrunk =
          tf.math.mul(
              tf.math.sign(v),
              tf.math.maximum(tf.math.sub(tf.math.abs(v), tf.constant(LR * L1)), tf.constant(0f)));
      updates.add(
          tf.assignVariableOp(handles.get(k), tf.math.div(shrunk, tf.constant(1 + LR * 2 * L2))));
    }
    return finish(tf, signature, updates, fg);
  }

  /** Closes the body: one boolean output that waits for every update. */
  private static ConcreteFunction finish(
      Ops tf, Signature.Builder signature, List<Op> updates, Graph fg) {
    Op done = tf.withControlDependencies(updates).withName("done").noOp();
    signature.output("done", tf.withControlDependencies(List.of(done)).constant(true));
    return ConcreteFunction.create(signature.build(), fg);
  }

  /**
   * Calls {@code f} (and closes it) through {@code StatefulPartitionedCall} with {@code
   * _XlaMustCompile=true}.
   */
  private static Operation xlaCall(Ops tf, ConcreteFunction f, List<Operand<?>> inputs) {
    DataType[] in = new DataType[inputs.size()];
    for (int i = 0; i < in.length; i++) {
      in[i] = inputs.get(i).asOutput().dataType();
    }
    // The graph keeps its own copy of the function.
    try (f) {
      return tf.scope()
          .opBuilder("StatefulPartitionedCall", f.signature().key() + "_call")
          .addInputList(inputs.stream().map(Operand::asOutput).toArray(Output<?>[]::new))
          .setAttr("Tin", in)
          .setAttr("Tout", new DataType[] {DataType.DT_BOOL})
          .setAttr("f", f)
          .setAttr("config", "")
          .setAttr("config_proto", "")
          .setAttr("executor_type", "")
          .setAttr("_XlaMustCompile", true)
          .build();
    }
  }

  private static double median(double[] v) {
    double[] c = v.clone();
    Arrays.sort(c);
    return c[c.length / 2];
  }
}
