package io.github.tfl1l2.bench;

import io.github.tfl1l2.L1L2;
import io.github.tfl1l2.Reduction;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import org.tensorflow.Graph;
import org.tensorflow.Operand;
import org.tensorflow.Result;
import org.tensorflow.Session;
import org.tensorflow.TensorFlow;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.op.Ops;
import org.tensorflow.types.TBfloat16;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.family.TFloating;
import org.tensorflow.types.family.TNumber;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code tf-l1l2 bench}: times this library's penalty against the framework's {@code L1L2}, a
 * plain {@code Abs/Square/Sum} graph and the executor's floor, next to the machine's memory-read
 * bandwidth, then one training step built each way ({@link TrainingSteps}), all in one process,
 * and prints two tables on the command line's standard output.
 *
 * <p>Every case builds one graph holding all columns over the same variables; after each
 * column's first run (which includes graph optimization and, for XLA, compilation) and a
 * warm-up, the columns are timed in turn, one {@code Session.run} each, round after round, so
 * that load from other processes hits all columns alike. Times are medians.
 */
@Command(
    name = "bench",
    mixinStandardHelpOptions = true,
    description =
        "Benchmark the penalty against the framework's L1L2 and a plain graph, next to the"
            + " measured memory-read bandwidth; prints one table.")
public final class BenchCommand implements Callable<Integer> {
  private static final float L1 = 1e-5f;
  private static final float L2 = 1e-4f;

  @Spec CommandSpec spec;

  /** The command line's standard output, as for every other command. */
  private PrintWriter out;

  @Option(names = "--reps", defaultValue = "21", description = "timed runs per column (median)")
  int reps;

  @Option(names = "--warmup", defaultValue = "3", description = "untimed runs per column")
  int warmup;

  /** The compared implementations. */
  enum Column {
    OURS_XLA("ours, XLA"),
    OURS_PLAIN("ours, no XLA"),
    FRAMEWORK("framework L1L2"),
    PLAIN("plain Abs/Sq/Sum"),
    /**
     * The executor's floor for a forward pass: one {@code ConcatV2} reading every variable, then
     * one {@code Sum}; each variable is read once by one op.
     */
    FLOOR("executor floor");

    final String title;

    Column(String title) {
      this.title = title;
    }
  }

  private record Row(String label, Map<Column, Double> millis, String notes) {}

  private final List<Row> rows = new ArrayList<>();

  @Override
  public Integer call() throws Exception {
    out = spec.commandLine().getOut();
    out.printf(
        "tf-l1l2 bench: TensorFlow %s, %d cores, Java %s, %s %s%n",
        TensorFlow.version(),
        Runtime.getRuntime().availableProcessors(),
        System.getProperty("java.version"),
        System.getProperty("os.name"),
        System.getProperty("os.arch"));
    out.printf("load average before: %s%n", loadAverage());
    warmUpXla();

    double bw2 = Bandwidth.measure(256L << 20, 2, reps);
    double bw1 = Bandwidth.measure(256L << 20, 1, reps);
    out.printf(
        "memory-read bandwidth (Java float[] sum, 256 MiB): 2 threads %.1f GB/s, 1 thread %.1f"
            + " GB/s%n",
        bw2 / 1e9, bw1 / 1e9);

    penaltyCase("64 x 1M float32 (256 MiB)", 64, 1 << 20, false, bw2, "64 vars");
    penaltyCase("2000 x 1k float32 (7.8 MiB)", 2000, 1 << 10, false, bw2, "2000 vars");
    penaltyCase("16 x 4M bfloat16 (128 MiB)", 16, 4 << 20, true, bw2, null);
    buildCase(10_000);
    TrainingSteps training = new TrainingSteps(warmup, reps);
    training.penaltyOnly(out);
    training.mlp(out);

    printTable(bw2);
    training.print(out);
    out.printf("load average after: %s%n", loadAverage());
    out.flush();
    return 0;
  }

  // ---------------------------------------------------------------- cases

  private void penaltyCase(
      String label, int count, int size, boolean bf16, double bandwidth, String firstRunLabel) {
    out.printf("running %s ...%n", label);
    try (Graph graph = new Graph(); Session session = new Session(graph)) {
      Ops tf = Ops.create(graph);
      Ops init = tf.withInitScope();
      List<Operand<? extends TNumber>> variables = new ArrayList<>();
      for (int i = 0; i < count; i++) {
        Operand<TFloat32> values =
            init.random.randomUniform(init.constant(new long[] {size}), TFloat32.class);
        variables.add(
            bf16 ? tf.variable(init.dtypes.cast(values, TBfloat16.class)) : tf.variable(values));
      }
      Map<Column, Operand<?>> fetches = new EnumMap<>(Column.class);
      for (Column column : Column.values()) {
        fetches.put(column, penalty(tf, column, variables));
      }
      session.initialize();
      Timed timed = time(session, fetches);
      long bytes = (long) count * size * (bf16 ? 2 : 4);
      double limitMs = bytes / bandwidth * 1e3;
      double ours = timed.median.get(Column.OURS_XLA);
      String notes =
          String.format(
              Locale.ROOT,
              "limit %.2f ms; ours÷limit %.2f (= %.2f of bandwidth); ours÷floor %.2f;"
                  + " framework÷ours %.2f; no-XLA÷XLA %.2f",
              limitMs,
              ours / limitMs,
              limitMs / ours,
              ours / timed.median.get(Column.FLOOR),
              timed.median.get(Column.FRAMEWORK) / ours,
              timed.median.get(Column.OURS_PLAIN) / ours);
      rows.add(new Row(label, timed.median, notes));
      if (firstRunLabel != null) {
        rows.add(new Row("first run, " + firstRunLabel + " (compile incl.)", timed.first, ""));
      }
      out.printf("  values: %s%n", timed.values);
    }
  }

  /** Time to build the penalty ops over {@code count} variables of 32x32 floats. */
  private void buildCase(int count) {
    out.printf("running graph build, %d vars ...%n", count);
    Map<Column, Double> millis = new EnumMap<>(Column.class);
    for (Column column : Column.values()) {
      if (column == Column.FLOOR) {
        continue; // a floor for running, not for building
      }
      try (Graph graph = new Graph()) {
        Ops tf = Ops.create(graph);
        // Bare VariableV2 ops: this graph is only built, never run. (Initializers built through
        // sub-scopes would cost time proportional to the graph size each, which is not timed
        // here but would slow the benchmark down.)
        List<Operand<? extends TNumber>> variables = new ArrayList<>();
        for (int i = 0; i < count; i++) {
          variables.add(tf.variable(Shape.of(32, 32), TFloat32.class));
        }
        long start = System.nanoTime();
        penalty(tf, column, variables);
        millis.put(column, (System.nanoTime() - start) / 1e6);
      }
    }
    rows.add(new Row("graph build, " + count + " vars 32x32", millis, "ops construction only"));
  }

  // ---------------------------------------------------------------- the compared penalties

  /** Builds the summed penalty of {@code column} over {@code variables}, in float32. */
  static Operand<?> penalty(Ops tf, Column column, List<Operand<? extends TNumber>> variables) {
    switch (column) {
      case OURS_XLA:
      case OURS_PLAIN:
        return L1L2.builder()
            .l1(L1)
            .l2(L2)
            .reduction(Reduction.SUM)
            .xla(column == Column.OURS_XLA)
            .name(column == Column.OURS_XLA ? "ours_xla" : "ours_plain")
            .build()
            .penalty(tf, variables);
      case FRAMEWORK:
        {
          // What a user of the framework writes: one call per variable, summed. The framework
          // keeps the input dtype; a bfloat16 result is widened only to add it up.
          org.tensorflow.framework.regularizers.L1L2 framework =
              new org.tensorflow.framework.regularizers.L1L2(L1, L2);
          List<Operand<TFloat32>> terms = new ArrayList<>();
          for (Operand<? extends TNumber> variable : variables) {
            terms.add(toFloat(tf, framework.call(tf, tf.identity(variable))));
          }
          return terms.size() == 1 ? terms.get(0) : tf.math.addN(terms);
        }
      case PLAIN:
        {
          // Abs, Square and Sum per variable, in float32 (bfloat16 is widened first).
          List<Operand<TFloat32>> terms = new ArrayList<>();
          for (Operand<? extends TNumber> variable : variables) {
            Operand<TFloat32> v = toFloat(tf, tf.identity(variable));
            Operand<TFloat32> flat = tf.reshape(v, tf.constant(new int[] {-1}));
            Operand<TFloat32> l1 =
                tf.math.mul(tf.sum(tf.math.abs(flat), tf.constant(0)), tf.constant(L1));
            Operand<TFloat32> l2 =
                tf.math.mul(tf.sum(tf.math.square(flat), tf.constant(0)), tf.constant(L2));
            terms.add(tf.math.add(l1, l2));
          }
          return terms.size() == 1 ? terms.get(0) : tf.math.addN(terms);
        }
      case FLOOR:
        {
          // The variables are vectors: one ConcatV2 reads each once, one Sum reduces the result.
          List<Operand<TFloat32>> reads = new ArrayList<>();
          for (Operand<? extends TNumber> variable : variables) {
            reads.add(toFloat(tf, tf.identity(variable)));
          }
          return tf.sum(tf.concat(reads, tf.constant(0)), tf.constant(0));
        }
      default:
        throw new AssertionError(column);
    }
  }

  @SuppressWarnings("unchecked")
  private static Operand<TFloat32> toFloat(Ops tf, Operand<? extends TNumber> value) {
    if (value.type() == TFloat32.class) {
      return (Operand<TFloat32>) value;
    }
    return tf.dtypes.cast(value, TFloat32.class);
  }

  // ---------------------------------------------------------------- timing

  private static final class Timed {
    final Map<Column, Double> first = new EnumMap<>(Column.class);
    final Map<Column, Double> median = new EnumMap<>(Column.class);
    final Map<Column, Float> values = new EnumMap<>(Column.class);
  }

  private Timed time(Session session, Map<Column, Operand<?>> fetches) {
    Timed timed = new Timed();
    for (Map.Entry<Column, Operand<?>> entry : fetches.entrySet()) {
      long start = System.nanoTime();
      float value = run(session, entry.getValue());
      timed.first.put(entry.getKey(), (System.nanoTime() - start) / 1e6);
      timed.values.put(entry.getKey(), value);
    }
    for (int w = 0; w < warmup; w++) {
      for (Operand<?> fetch : fetches.values()) {
        run(session, fetch);
      }
    }
    Map<Column, double[]> samples = new EnumMap<>(Column.class);
    for (Column column : fetches.keySet()) {
      samples.put(column, new double[reps]);
    }
    for (int r = 0; r < reps; r++) {
      for (Map.Entry<Column, Operand<?>> entry : fetches.entrySet()) {
        long start = System.nanoTime();
        run(session, entry.getValue());
        samples.get(entry.getKey())[r] = (System.nanoTime() - start) / 1e6;
      }
    }
    for (Column column : fetches.keySet()) {
      timed.median.put(column, median(samples.get(column)));
    }
    return timed;
  }

  private static float run(Session session, Operand<?> fetch) {
    try (Result result = session.runner().fetch(fetch).run()) {
      Object tensor = result.get(0);
      if (tensor instanceof TFloat32 f) {
        return f.getFloat();
      }
      return ((TFloating) tensor).shape().size() >= 0 ? Float.NaN : 0f;
    }
  }

  static double median(double[] samples) {
    double[] sorted = samples.clone();
    Arrays.sort(sorted);
    return sorted[sorted.length / 2];
  }

  /** Compiles and runs one tiny XLA cluster so that XLA's one-time start-up is not billed. */
  private static void warmUpXla() {
    try (Graph graph = new Graph(); Session session = new Session(graph)) {
      Ops tf = Ops.create(graph);
      Operand<TFloat32> x = tf.constant(new float[] {1f, -2f, 3f});
      run(session, L1L2.builder().l1(1).l2(1).build().penalty(tf, List.of(x)));
    }
  }

  private static String loadAverage() {
    try {
      return new String(java.nio.file.Files.readAllBytes(java.nio.file.Path.of("/proc/loadavg")))
          .trim();
    } catch (java.io.IOException | RuntimeException e) {
      return "n/a";
    }
  }

  // ---------------------------------------------------------------- output

  private void printTable(double bandwidth) {
    StringBuilder table = new StringBuilder();
    table.append(
        String.format(
            Locale.ROOT,
            "%nmedian ms (%d runs); bandwidth limit = bytes / %.1f GB/s (2-thread Java read)%n%n",
            reps,
            bandwidth / 1e9));
    table.append("| case |");
    for (Column column : Column.values()) {
      table.append(' ').append(column.title).append(" |");
    }
    table.append(" ratios |\n|---|");
    for (int i = 0; i < Column.values().length; i++) {
      table.append("---:|");
    }
    table.append("---|\n");
    for (Row row : rows) {
      table.append("| ").append(row.label).append(" |");
      for (Column column : Column.values()) {
        Double ms = row.millis.get(column);
        table.append(ms == null ? " – |" : String.format(Locale.ROOT, " %.2f |", ms));
      }
      table.append(' ').append(row.notes).append(" |\n");
    }
    out.print(table);
  }
}
