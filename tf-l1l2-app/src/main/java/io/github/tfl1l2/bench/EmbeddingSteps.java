package io.github.tfl1l2.bench;

import io.github.tfl1l2.L1L2;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.tensorflow.Graph;
import org.tensorflow.Operand;
import org.tensorflow.Session;
import org.tensorflow.framework.optimizers.GradientDescent;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.op.Op;
import org.tensorflow.op.Ops;
import org.tensorflow.op.core.VarHandleOp;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TInt32;

/**
 * The embedding section of {@code tf-l1l2 bench}: a {@code reg.minimize} GradientDescent step on a
 * model with a 1M × 64 float32 embedding table (a resource variable read by {@code
 * ResourceGather}), 256 random ids a step (32 examples × 8 ids; each example the mean of its rows,
 * then a 64 → 16 dense layer and a squared loss), the penalty on the dense kernel only.
 *
 * <ul>
 *   <li>row-sparse: the table is trained and unpenalized, so it gets a row-sparse update of the 256
 *       gathered rows;
 *   <li>frozen: the same step with the table not listed (not trained);
 *   <li>dense: the same step with the table penalized too, which trains it densely (the penalty
 *       touches every row).
 * </ul>
 *
 * <p>Each column has its own graph and session; they run round-robin, one {@code Session.run} each
 * per round, after warm-up runs; times are medians.
 */
final class EmbeddingSteps {
  private static final long ROWS = 1 << 20;
  private static final long WIDTH = 64;
  private static final int EXAMPLES = 32;
  private static final int IDS_PER_EXAMPLE = 8;
  private static final long UNITS = 16;
  private static final float LEARNING_RATE = 0.01f;

  /** The compared steps. */
  enum Column {
    ROW_SPARSE("row-sparse table"),
    FROZEN("table frozen"),
    DENSE("table penalized (dense)");

    final String title;

    Column(String title) {
      this.title = title;
    }
  }

  private final int warmup;
  private final int reps;

  EmbeddingSteps(int warmup, int reps) {
    this.warmup = warmup;
    this.reps = reps;
  }

  /** Builds, times and prints the three columns and their ratios. */
  void run(PrintWriter out) {
    out.println("running training step, embedding 1M x 64 float32, 256 ids ...");
    out.flush();
    List<Graph> graphs = new ArrayList<>();
    List<Session> sessions = new ArrayList<>();
    try {
      Map<Column, Runnable> runs = new EnumMap<>(Column.class);
      for (Column column : Column.values()) {
        Graph graph = new Graph();
        graphs.add(graph);
        Session session = new Session(graph);
        sessions.add(session);
        Op step = step(graph, column);
        session.initialize();
        runs.put(column, () -> session.runner().addTarget(step).run().close());
      }
      Map<Column, Double> millis = RoundRobin.medians(runs, warmup, reps);
      out.printf(Locale.ROOT, "%nembedding training step, median ms (%d runs)%n%n", reps);
      out.println(
          "| case | "
              + Column.ROW_SPARSE.title
              + " | "
              + Column.FROZEN.title
              + " | "
              + Column.DENSE.title
              + " | sparse ÷ frozen | dense ÷ sparse |");
      out.println("|---|---:|---:|---:|---:|---:|");
      double sparse = millis.get(Column.ROW_SPARSE);
      double frozen = millis.get(Column.FROZEN);
      double dense = millis.get(Column.DENSE);
      out.printf(
          Locale.ROOT,
          "| 1M x 64 float32 table, 256 ids, GD reg.minimize | %.2f | %.2f | %.2f | %.2f | %.1f |%n",
          sparse,
          frozen,
          dense,
          sparse / frozen,
          dense / sparse);
      out.flush();
    } finally {
      sessions.forEach(Session::close);
      graphs.forEach(Graph::close);
    }
  }

  private static Op step(Graph graph, Column column) {
    Ops tf = Ops.create(graph);
    Operand<?> table = resourceVariable(tf, "table", 0.05f, ROWS, WIDTH);
    Operand<?> kernel = resourceVariable(tf, "kernel", 0.1f, WIDTH, UNITS);
    Operand<?> bias = resourceVariable(tf, "bias", 0f, UNITS);
    Operand<TInt32> ids =
        tf.random.randomUniformInt(
            tf.constant(new long[] {EXAMPLES, IDS_PER_EXAMPLE}),
            tf.constant(0),
            tf.constant((int) ROWS));
    Operand<TFloat32> rows = tf.resourceGather(table, ids, TFloat32.class);
    Operand<TFloat32> pooled = tf.math.mean(rows, tf.constant(1));
    Operand<TFloat32> out =
        tf.math.add(
            tf.linalg.matMul(pooled, tf.readVariableOp(kernel, TFloat32.class)),
            tf.readVariableOp(bias, TFloat32.class));
    Operand<TFloat32> target = tf.fill(tf.constant(new long[] {EXAMPLES, UNITS}), tf.constant(1f));
    Operand<TFloat32> loss =
        tf.math.mean(tf.math.squaredDifference(out, target), tf.constant(new int[] {0, 1}));
    L1L2 reg =
        L1L2.builder()
            .l1(1e-5)
            .l2(1e-4)
            .on(column == Column.DENSE ? "kernel|table" : "kernel")
            .build();
    List<Operand<?>> weights =
        column == Column.FROZEN ? List.of(kernel, bias) : List.of(table, kernel, bias);
    return reg.minimize(new GradientDescent(graph, LEARNING_RATE), loss, weights);
  }

  /** A float32 resource variable named {@code name}, uniform in [0, scale). */
  private static Operand<?> resourceVariable(Ops tf, String name, float scale, long... shape) {
    Ops init = tf.withInitScope();
    VarHandleOp handle =
        init.withName(name)
            .varHandleOp(TFloat32.class, Shape.of(shape), VarHandleOp.sharedName(name));
    init.assignVariableOp(
        handle,
        init.math.mul(
            init.random.randomUniform(init.constant(shape), TFloat32.class), init.constant(scale)));
    return handle;
  }
}
