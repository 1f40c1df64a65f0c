package io.github.tfl1l2.bench;

import io.github.tfl1l2.L1L2;
import io.github.tfl1l2.Reduction;
import io.github.tfl1l2.optimizers.ProximalGradientDescent;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import org.tensorflow.Graph;
import org.tensorflow.Operand;
import org.tensorflow.Session;
import org.tensorflow.framework.optimizers.GradientDescent;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.ndarray.buffer.DataBuffers;
import org.tensorflow.op.Op;
import org.tensorflow.op.Ops;
import org.tensorflow.op.core.VarHandleOp;
import org.tensorflow.op.core.Variable;
import org.tensorflow.types.TFloat32;

/**
 * The training-step section of {@code tf-l1l2 bench}: one optimizer step with the penalty, built
 * each way a user can build it, timed side by side in one process.
 *
 * <ul>
 *   <li>64 × 1M float32, a penalty-only {@code GradientDescent} step, against the in-place floor:
 *       one bare {@code w -= c·w} pass over the same variables ({@code ApplyGradientDescent(w, c,
 *       w)}: TensorFlow's own kernel reading and writing each weight once, the least any update can
 *       cost), timed in the same rounds.
 *   <li>The 784-512-512-10 MLP step (batch 128, softmax cross-entropy, {@code GradientDescent}),
 *       against the same step without a penalty.
 * </ul>
 *
 * <p>The resource columns train the same shapes held in resource variables ({@code VarHandleOp}s
 * with their own {@code shared_name}, read through {@code ReadVariableOp}), still against the ref
 * variables' bare pass or penalty-free step.
 *
 * <p>Each cell reports its time and its multiple of the row's base (the floor, or the step without
 * a penalty).
 *
 * <p>Columns are timed round-robin, one {@code Session.run} each per round, after warm-up runs, so
 * that load from other processes hits them alike; times are medians.
 */
final class TrainingSteps {
  private static final float L1 = 1e-5f;
  private static final float L2 = 1e-4f;
  private static final float LEARNING_RATE = 0.01f;

  /** The compared ways to train. */
  enum Column {
    BARE("bare w -= c·w"),
    WITHOUT("no penalty"),
    ADD_TO_XLA("minimize(addTo), XLA"),
    ADD_TO_PLAIN("minimize(addTo), no XLA"),
    REG_MINIMIZE("reg.minimize, XLA"),
    PROXIMAL("ProximalGradientDescent"),
    FRAMEWORK("framework L1L2"),
    RESOURCE_WITHOUT("resource, no penalty"),
    RESOURCE_MINIMIZE("resource reg.minimize"),
    RESOURCE_PROXIMAL("resource ProximalGradientDescent");

    final String title;

    Column(String title) {
      this.title = title;
    }
  }

  /** One table row; every cell is also reported as a multiple of {@code base}. */
  private record Row(String label, Map<Column, Double> millis, double base, String notes) {}

  private final int warmup;
  private final int reps;
  private final List<Row> rows = new ArrayList<>();

  TrainingSteps(int warmup, int reps) {
    this.warmup = warmup;
    this.reps = reps;
  }

  private static L1L2 regularizer(boolean xla) {
    return L1L2.builder().l1(L1).l2(L2).reduction(Reduction.SUM).xla(xla).build();
  }

  /** 64 × 1M float32 variables, a step on the penalty alone. */
  void penaltyOnly(PrintWriter out) {
    out.println("running training step, 64 x 1M float32, penalty only ...");
    out.flush();
    try (Graph graph = new Graph();
        Session session = new Session(graph)) {
      Ops tf = Ops.create(graph);
      Ops init = tf.withInitScope();
      List<Variable<TFloat32>> variables = new ArrayList<>();
      for (int i = 0; i < 64; i++) {
        variables.add(
            tf.withName("w" + i)
                .variable(
                    init.random.randomUniform(
                        init.constant(new long[] {1 << 20}), TFloat32.class)));
      }
      Operand<TFloat32> noData = tf.constant(0f);
      Map<Column, Op> steps = new EnumMap<>(Column.class);
      List<Op> bare = new ArrayList<>();
      for (Variable<TFloat32> w : variables) {
        bare.add(tf.train.applyGradientDescent(w, tf.constant(LEARNING_RATE * 2 * L2), w));
      }
      steps.put(Column.BARE, tf.withControlDependencies(bare).noOp());
      steps.put(
          Column.ADD_TO_XLA,
          new GradientDescent(graph, LEARNING_RATE)
              .minimize(regularizer(true).addTo(tf, noData, variables)));
      steps.put(
          Column.ADD_TO_PLAIN,
          new GradientDescent(graph, LEARNING_RATE)
              .minimize(regularizer(false).addTo(tf, noData, variables)));
      steps.put(
          Column.REG_MINIMIZE,
          regularizer(true).minimize(new GradientDescent(graph, LEARNING_RATE), noData, variables));
      // A proximal step refuses a loss that reaches no variable (it would not train on the data):
      // the cheapest data loss that reaches them all, Σ 1e-3·Σ w (its gradient is a constant).
      Operand<TFloat32> linear = tf.constant(0f);
      for (Variable<TFloat32> w : variables) {
        linear =
            tf.math.add(
                linear,
                tf.math.mul(tf.constant(1e-3f), tf.reduceSum(tf.identity(w), tf.constant(0))));
      }
      steps.put(
          Column.PROXIMAL,
          new ProximalGradientDescent(graph, LEARNING_RATE, regularizer(true)).minimize(linear));
      steps.put(
          Column.FRAMEWORK,
          new GradientDescent(graph, LEARNING_RATE).minimize(frameworkPenalty(tf, variables)));
      List<Operand<?>> handles = new ArrayList<>();
      for (int i = 0; i < 64; i++) {
        handles.add(resourceVariable(tf, "r" + i, 1 << 20));
      }
      steps.put(
          Column.RESOURCE_MINIMIZE,
          regularizer(true).minimize(new GradientDescent(graph, LEARNING_RATE), noData, handles));
      // The same cheapest data loss as the ref proximal column, over the handles' reads.
      Operand<TFloat32> linearOnHandles = tf.constant(0f);
      for (Operand<?> handle : handles) {
        linearOnHandles =
            tf.math.add(
                linearOnHandles,
                tf.math.mul(
                    tf.constant(1e-3f),
                    tf.reduceSum(tf.readVariableOp(handle, TFloat32.class), tf.constant(0))));
      }
      steps.put(
          Column.RESOURCE_PROXIMAL,
          new ProximalGradientDescent(graph, LEARNING_RATE, regularizer(true))
              .minimize(linearOnHandles, handles));
      session.initialize();
      Map<Column, Runnable> runs = new EnumMap<>(Column.class);
      steps.forEach(
          (column, step) -> runs.put(column, () -> session.runner().addTarget(step).run()));
      Map<Column, Double> millis = RoundRobin.medians(runs, warmup, reps);
      rows.add(
          new Row(
              "64 x 1M float32, penalty-only GD step",
              millis,
              millis.get(Column.BARE),
              "(N×) = ÷ the in-place floor ApplyGradientDescent(w, c, w)"));
    }
  }

  /** The MLP step with each penalty, and without. */
  void mlp(PrintWriter out) {
    out.println("running training step, MLP 784-512-512-10 ...");
    out.flush();
    List<Graph> graphs = new ArrayList<>();
    List<Session> sessions = new ArrayList<>();
    try {
      Map<Column, Runnable> runs = new EnumMap<>(Column.class);
      for (Column column : Column.values()) {
        if (column == Column.BARE) {
          continue;
        }
        Graph graph = new Graph();
        graphs.add(graph);
        Session session = new Session(graph);
        sessions.add(session);
        Op step = mlpStep(graph, column);
        session.initialize();
        runs.put(column, () -> session.runner().addTarget(step).run());
      }
      Map<Column, Double> millis = RoundRobin.medians(runs, warmup, reps);
      rows.add(
          new Row(
              "MLP 784-512-512-10, b=128, GD step",
              millis,
              millis.get(Column.WITHOUT),
              "(N×) = ÷ the step without a penalty"));
    } finally {
      sessions.forEach(Session::close);
      graphs.forEach(Graph::close);
    }
  }

  private static Op mlpStep(Graph graph, Column column) {
    Ops tf = Ops.create(graph);
    Ops init = tf.withInitScope();
    Random random = new Random(1);
    int batch = 128;
    float[] input = new float[batch * 784];
    for (int i = 0; i < input.length; i++) {
      input[i] = random.nextFloat();
    }
    float[] labels = new float[batch * 10];
    for (int i = 0; i < batch; i++) {
      labels[i * 10 + random.nextInt(10)] = 1f;
    }
    Operand<TFloat32> x = tf.constant(Shape.of(batch, 784), DataBuffers.of(input, true, false));
    Operand<TFloat32> y = tf.constant(Shape.of(batch, 10), DataBuffers.of(labels, true, false));
    int[] widths = {784, 512, 512, 10};
    if (column == Column.RESOURCE_WITHOUT
        || column == Column.RESOURCE_MINIMIZE
        || column == Column.RESOURCE_PROXIMAL) {
      return resourceMlpStep(graph, tf, x, y, widths, column);
    }
    List<Variable<TFloat32>> parameters = new ArrayList<>();
    Operand<TFloat32> h = x;
    for (int layer = 0; layer < 3; layer++) {
      Variable<TFloat32> kernel =
          tf.variable(
              init.math.mul(
                  init.random.randomUniform(
                      init.constant(new long[] {widths[layer], widths[layer + 1]}), TFloat32.class),
                  init.constant(0.05f)));
      Variable<TFloat32> bias =
          tf.variable(init.zeros(init.constant(new long[] {widths[layer + 1]}), TFloat32.class));
      parameters.add(kernel);
      parameters.add(bias);
      h = tf.math.add(tf.linalg.matMul(h, kernel), bias);
      if (layer < 2) {
        h = tf.nn.relu(h);
      }
    }
    Operand<TFloat32> loss =
        tf.math.mean(tf.nn.softmaxCrossEntropyWithLogits(h, y).loss(), tf.constant(0));
    GradientDescent gd = new GradientDescent(graph, LEARNING_RATE);
    return switch (column) {
      case WITHOUT -> gd.minimize(loss);
      case ADD_TO_XLA -> gd.minimize(regularizer(true).addTo(tf, loss, parameters));
      case ADD_TO_PLAIN -> gd.minimize(regularizer(false).addTo(tf, loss, parameters));
      case REG_MINIMIZE -> regularizer(true).minimize(gd, loss, parameters);
      case PROXIMAL ->
          new ProximalGradientDescent(graph, LEARNING_RATE, regularizer(true)).minimize(loss);
      case FRAMEWORK -> gd.minimize(tf.math.add(loss, frameworkPenalty(tf, parameters)));
      case BARE -> throw new IllegalArgumentException("no bare pass in the MLP case");
      case RESOURCE_WITHOUT, RESOURCE_MINIMIZE, RESOURCE_PROXIMAL ->
          throw new AssertionError(column);
    };
  }

  /**
   * The same MLP on resource variables, trained by {@link L1L2#minimize} or by {@code
   * ProximalGradientDescent.minimize(loss, variables)}.
   */
  private static Op resourceMlpStep(
      Graph graph, Ops tf, Operand<TFloat32> x, Operand<TFloat32> y, int[] widths, Column column) {
    List<Operand<?>> parameters = new ArrayList<>();
    Operand<TFloat32> h = x;
    for (int layer = 0; layer < 3; layer++) {
      Operand<?> kernel = resourceVariable(tf, "kernel" + layer, widths[layer], widths[layer + 1]);
      Operand<?> bias = resourceVariable(tf, "bias" + layer, widths[layer + 1]);
      parameters.add(kernel);
      parameters.add(bias);
      h =
          tf.math.add(
              tf.linalg.matMul(h, tf.readVariableOp(kernel, TFloat32.class)),
              tf.readVariableOp(bias, TFloat32.class));
      if (layer < 2) {
        h = tf.nn.relu(h);
      }
    }
    Operand<TFloat32> loss =
        tf.math.mean(tf.nn.softmaxCrossEntropyWithLogits(h, y).loss(), tf.constant(0));
    if (column == Column.RESOURCE_PROXIMAL) {
      return new ProximalGradientDescent(graph, LEARNING_RATE, regularizer(true))
          .minimize(loss, parameters);
    }
    L1L2 reg = column == Column.RESOURCE_MINIMIZE ? regularizer(true) : L1L2.of(0, 0);
    return reg.minimize(new GradientDescent(graph, LEARNING_RATE), loss, parameters);
  }

  /**
   * A float32 resource variable as TF2 and Keras build one: a {@code VarHandleOp} whose {@code
   * shared_name} is its name, initialised (to uniform values × 0.05) by an init op.
   */
  private static Operand<?> resourceVariable(Ops tf, String name, long... shape) {
    Ops init = tf.withInitScope();
    VarHandleOp handle =
        init.withName(name)
            .varHandleOp(TFloat32.class, Shape.of(shape), VarHandleOp.sharedName(name));
    init.assignVariableOp(
        handle,
        init.math.mul(
            init.random.randomUniform(init.constant(shape), TFloat32.class), init.constant(0.05f)));
    return handle;
  }

  /**
   * The framework's {@code L1L2} as a user of the framework writes it: called per variable (read
   * through {@code Identity}: {@code Square} straight on a ref variable crashes TensorFlow's
   * gradient builder), summed; the same as the forward bench's column.
   */
  @SuppressWarnings("unchecked")
  private static Operand<TFloat32> frameworkPenalty(Ops tf, List<Variable<TFloat32>> variables) {
    return (Operand<TFloat32>)
        BenchCommand.penalty(tf, BenchCommand.Column.FRAMEWORK, new ArrayList<>(variables));
  }

  /** Prints the section's table. */
  void print(PrintWriter out) {
    out.printf(Locale.ROOT, "%ntraining step, median ms (%d runs)%n%n", reps);
    out.print("| case |");
    for (Column column : Column.values()) {
      out.print(" " + column.title + " |");
    }
    out.print(" notes |\n|---|");
    for (int i = 0; i < Column.values().length; i++) {
      out.print("---:|");
    }
    out.println("---|");
    for (Row row : rows) {
      out.print("| " + row.label() + " |");
      for (Column column : Column.values()) {
        Double ms = row.millis().get(column);
        out.print(
            ms == null
                ? " – |"
                : String.format(Locale.ROOT, " %.2f (%.2f×) |", ms, ms / row.base()));
      }
      out.println(" " + row.notes() + " |");
    }
    out.flush();
  }
}
