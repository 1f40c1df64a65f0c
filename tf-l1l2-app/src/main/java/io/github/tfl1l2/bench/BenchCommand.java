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
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.TypeConversionException;

/**
 * {@code tf-l1l2 bench}: times this library's penalty against the framework's {@code L1L2}, a plain
 * {@code Abs/Square/Sum} graph, the executor's floor and TensorFlow's own read floor, then one
 * training step built each way ({@link TrainingSteps}), all in one process, and prints two tables
 * on the command line's standard output.
 *
 * <p>The read floor of a forward case is TensorFlow's {@code Sum} over one contiguous variable of
 * the case's total size and dtype: what TensorFlow's own (Eigen) kernels need to read the same
 * bytes once, measured in the same rounds as the penalty, so that both see the same load. Every
 * forward cell reports its time and its multiple of that floor.
 *
 * <p>Every case builds one graph holding all columns over the same variables; after each column's
 * first run (which includes graph optimization and, for XLA, compilation) and a warm-up, the
 * columns are timed in turn, one {@code Session.run} each, round after round, so that load from
 * other processes hits all columns alike. Times are medians.
 */
@Command(
    name = "bench",
    mixinStandardHelpOptions = true,
    description =
        "Benchmark the penalty against the framework's L1L2, a plain graph and TensorFlow's own"
            + " read floor (Sum over the same bytes), then one training step built each way"
            + " against the in-place update floor; prints two tables.")
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

  /** The parts of the benchmark, each runnable alone. */
  enum Section {
    /** The forward cases: the penalty's value, evaluated each way. */
    FORWARD,
    /** The graph-build case: constructing the penalty over 10 000 variables. */
    BUILD,
    /** The training-step cases of {@link TrainingSteps}. */
    TRAINING,
    /** The embedding-table steps of {@link EmbeddingSteps}. */
    EMBEDDING
  }

  /** Reads a section's name in any case ({@code --section embedding}). */
  static final class SectionConverter implements ITypeConverter<Section> {
    @Override
    public Section convert(String value) {
      try {
        return Section.valueOf(value.trim().toUpperCase(Locale.ROOT));
      } catch (IllegalArgumentException e) {
        throw new TypeConversionException(
            "'" + value + "' is not a section; allowed: " + Arrays.toString(Section.values()));
      }
    }
  }

  @Option(
      names = "--section",
      split = ",",
      paramLabel = "SECTION",
      converter = SectionConverter.class,
      description =
          "parts to run, comma-separated, in any case: FORWARD, BUILD, TRAINING, EMBEDDING"
              + " (default: all)",
      defaultValue = "FORWARD,BUILD,TRAINING,EMBEDDING")
  List<Section> sections;

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
    FLOOR("executor floor"),
    /**
     * TensorFlow's read floor: one {@code Sum} over one contiguous variable of the case's total
     * size and dtype, which reads every byte once with TensorFlow's own kernel on all cores.
     */
    READ_FLOOR("TF Sum, same bytes");

    final String title;

    Column(String title) {
      this.title = title;
    }
  }

  /**
   * One table row; {@code floor} is the time each cell is reported as a multiple of, or 0 for none.
   */
  private record Row(String label, Map<Column, Double> millis, double floor, String notes) {}

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

    if (sections.contains(Section.FORWARD)) {
      penaltyCase("64 x 1M float32 (256 MiB)", 64, 1 << 20, false, "64 vars");
      penaltyCase("2000 x 1k float32 (7.8 MiB)", 2000, 1 << 10, false, "2000 vars");
      penaltyCase("16 x 4M bfloat16 (128 MiB)", 16, 4 << 20, true, null);
    }
    if (sections.contains(Section.BUILD)) {
      buildCase(10_000);
    }
    TrainingSteps training = new TrainingSteps(warmup, reps);
    if (sections.contains(Section.TRAINING)) {
      training.penaltyOnly(out);
      training.mlp(out);
    }

    if (!rows.isEmpty()) {
      printTable();
    }
    if (sections.contains(Section.TRAINING)) {
      training.print(out);
    }
    if (sections.contains(Section.EMBEDDING)) {
      out.printf("load average before the embedding section: %s%n", loadAverage());
      new EmbeddingSteps(warmup, reps).run(out);
    }
    out.printf("load average after: %s%n", loadAverage());
    out.flush();
    return 0;
  }

  // ---------------------------------------------------------------- cases

  private void penaltyCase(String label, int count, int size, boolean bf16, String firstRunLabel) {
    out.printf("running %s ...%n", label);
    try (Graph graph = new Graph();
        Session session = new Session(graph)) {
      Ops tf = Ops.create(graph);
      Ops init = tf.withInitScope();
      List<Operand<? extends TNumber>> variables = new ArrayList<>();
      for (int i = 0; i < count; i++) {
        Operand<TFloat32> values =
            init.random.randomUniform(init.constant(new long[] {size}), TFloat32.class);
        variables.add(
            bf16 ? tf.variable(init.dtypes.cast(values, TBfloat16.class)) : tf.variable(values));
      }
      // The read floor's own variable: the case's bytes in one contiguous buffer of its dtype.
      Operand<TFloat32> flatValues =
          init.random.randomUniform(
              init.constant(new long[] {(long) count * size}), TFloat32.class);
      Operand<? extends TNumber> contiguous =
          bf16
              ? tf.variable(init.dtypes.cast(flatValues, TBfloat16.class))
              : tf.variable(flatValues);
      Map<Column, Operand<?>> fetches = new EnumMap<>(Column.class);
      for (Column column : Column.values()) {
        fetches.put(
            column,
            column == Column.READ_FLOOR
                ? readFloor(tf, contiguous)
                : penalty(tf, column, variables));
      }
      session.initialize();
      Timed timed = time(session, fetches);
      double ours = timed.median.get(Column.OURS_XLA);
      double readFloor = timed.median.get(Column.READ_FLOOR);
      String notes =
          String.format(
              Locale.ROOT,
              "ours÷read floor %.2f; ours÷executor floor %.2f; framework÷ours %.2f;"
                  + " no-XLA÷XLA %.2f",
              ours / readFloor,
              ours / timed.median.get(Column.FLOOR),
              timed.median.get(Column.FRAMEWORK) / ours,
              timed.median.get(Column.OURS_PLAIN) / ours);
      rows.add(new Row(label, timed.median, readFloor, notes));
      if (firstRunLabel != null) {
        rows.add(new Row("first run, " + firstRunLabel + " (compile incl.)", timed.first, 0, ""));
      }
      out.printf("  values: %s%n", timed.values);
    }
  }

  /** Time to build the penalty ops over {@code count} variables of 32x32 floats. */
  private void buildCase(int count) {
    out.printf("running graph build, %d vars ...%n", count);
    Map<Column, Double> millis = new EnumMap<>(Column.class);
    for (Column column : Column.values()) {
      if (column == Column.FLOOR || column == Column.READ_FLOOR) {
        continue; // floors for running, not for building
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
    rows.add(new Row("graph build, " + count + " vars 32x32", millis, 0, "ops construction only"));
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
      case READ_FLOOR:
        throw new IllegalArgumentException(
            "column must be a penalty or the executor floor, but was READ_FLOOR: the read floor"
                + " reads one contiguous variable (readFloor)");
      default:
        throw new AssertionError(column);
    }
  }

  /**
   * TensorFlow's read floor over {@code contiguous}: its {@code Sum} in its own dtype (Eigen, every
   * core), widened to float32 afterwards only to report the value.
   */
  static Operand<TFloat32> readFloor(Ops tf, Operand<? extends TNumber> contiguous) {
    return toFloat(tf, tf.sum(tf.identity(contiguous), tf.constant(0)));
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
    try (Graph graph = new Graph();
        Session session = new Session(graph)) {
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

  private void printTable() {
    StringBuilder table = new StringBuilder();
    table.append(
        String.format(
            Locale.ROOT,
            "%nmedian ms (%d runs); (N×) = multiple of the read floor: TensorFlow's Sum over"
                + " one contiguous variable of the case's bytes and dtype, timed in the same"
                + " rounds%n%n",
            reps));
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
        if (ms == null) {
          table.append(" – |");
        } else if (row.floor > 0) {
          table.append(String.format(Locale.ROOT, " %.2f (%.2f×) |", ms, ms / row.floor));
        } else {
          table.append(String.format(Locale.ROOT, " %.2f |", ms));
        }
      }
      table.append(' ').append(row.notes).append(" |\n");
    }
    out.print(table);
  }
}
