package io.github.tfl1l2.savedmodel;

import io.github.tfl1l2.L1L2;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.tensorflow.Operand;
import org.tensorflow.SavedModelBundle;
import org.tensorflow.Session;
import org.tensorflow.framework.optimizers.Adam;
import org.tensorflow.op.Op;
import org.tensorflow.op.Ops;
import org.tensorflow.types.TFloat32;

/**
 * The recurrent targets, measured in one process with the runs alternating: on {@code
 * lstm_sentiment} (batch 32, 100 timesteps), the inlined forward against TensorFlow's own call of
 * {@code serving_default} (target ≤ 1.3×), {@code TrainableSavedModel.open} against {@code
 * SavedModelBundle.load} (≤ 3×) and one Adam step of {@code reg.minimize} against the inlined
 * forward (≤ 3×); and two stacked LSTMs over 1000 timesteps (its open time, graph size and step
 * time; target: open under 30 s, training within a 4 GiB heap). Prints Markdown lines with the load
 * average and writes them to {@code target/recurrent-bench.md} and {@code
 * target/recurrent-1000-bench.md}. Run it with {@code mvn -B -q test -pl tf-l1l2-savedmodel -am
 * -Dtest=TrainableSavedModelRecurrentBenchmarkTest -Dgroups=soak -DexcludedGroups=
 * -DargLine=-Xmx4g} (the 1000-timestep case takes about 15 minutes on 2 cores, most of it
 * Grappler's first optimization of the step).
 */
@Tag("soak")
class TrainableSavedModelRecurrentBenchmarkTest {
  private static final int BATCH = 32;
  private static final int ROUNDS = 3;
  private static final int RUNS = 30;

  @TempDir Path temp;

  private final List<String> lines = new ArrayList<>();

  private void print(String format, Object... args) {
    String line = String.format(Locale.ROOT, format, args);
    System.out.println(line);
    lines.add(line);
  }

  private static String loadAverage() {
    try {
      String[] fields = Files.readString(Path.of("/proc/loadavg")).trim().split("\\s+");
      return fields[0] + " " + fields[1] + " " + fields[2];
    } catch (IOException e) {
      return "n/a";
    }
  }

  private static double median(long[] values) {
    long[] sorted = values.clone();
    Arrays.sort(sorted);
    return sorted[sorted.length / 2] / 1e6;
  }

  @Test
  void lstmSentimentTargets() throws IOException {
    Path dir = LstmSentiment.directory();
    print("| lstm_sentiment, batch %d | load average %s |", BATCH, loadAverage());
    openAgainstLoad(dir);
    forwardAndStep(dir);
    write("recurrent-bench.md");
  }

  @Test
  void twoStackedLstmsOverAThousandTimesteps() throws IOException {
    LstmSentiment.directory(); // skips the test without ../shared
    thousandSteps();
    write("recurrent-1000-bench.md");
  }

  private void write(String file) throws IOException {
    Files.createDirectories(Path.of("tf-l1l2-savedmodel", "target"));
    Files.writeString(
        Path.of("tf-l1l2-savedmodel", "target", file),
        String.join(System.lineSeparator(), lines) + System.lineSeparator());
  }

  private void openAgainstLoad(Path dir) {
    // Inlining 100 body copies runs Java code that the JIT compiles over the first few opens
    // (measured: 1.7 s, 1.3 s, 1.1 s, 0.8 s, then 0.6 s), hence four warm-up rounds.
    int runs = 7;
    long[] load = new long[runs];
    long[] open = new long[runs];
    for (int i = -4; i < runs; i++) {
      long start = System.nanoTime();
      SavedModelBundle.load(dir.toString(), "serve").close();
      long loaded = System.nanoTime() - start;
      start = System.nanoTime();
      TrainableSavedModel.open(dir).close();
      long opened = System.nanoTime() - start;
      if (i >= 0) {
        load[i] = loaded;
        open[i] = opened;
      }
    }
    print(
        "| open vs load, median of %d | load %.0f ms | open %.0f ms | **%.2f×** | load average %s |",
        runs, median(load), median(open), median(open) / median(load), loadAverage());
  }

  private void forwardAndStep(Path dir) {
    float[] ids = LstmSentiment.ids(BATCH, LstmSentiment.TIMESTEPS, 5);
    try (TrainableSavedModel model = TrainableSavedModel.open(dir);
        TFloat32 x = LstmSentiment.tensor(ids, LstmSentiment.TIMESTEPS)) {
      Ops tf = Ops.create(model.graph());
      Operand<TFloat32> output = model.output(LstmSentiment.OUTPUT, TFloat32.class);
      Operand<TFloat32> loss =
          tf.math.mean(
              tf.math.square(tf.math.sub(output, tf.constant(0.5f))),
              tf.constant(new int[] {0, 1}));
      L1L2 reg = L1L2.builder().l2(1e-4).on("kernel").build();
      Op step = reg.minimize(new Adam(model.graph(), 1e-4f), loss, model.trainableVariables());
      model.session().initialize();
      Session session = model.session();
      for (int round = 0; round < ROUNDS; round++) {
        long[] inlined = new long[RUNS];
        long[] served = new long[RUNS];
        long[] steps = new long[RUNS];
        for (int i = -3; i < RUNS; i++) {
          long start = System.nanoTime();
          session.runner().feed(model.input(LstmSentiment.INPUT), x).fetch(output).run().close();
          long a = System.nanoTime() - start;
          start = System.nanoTime();
          session
              .runner()
              .feed(LstmSentiment.SERVED_INPUT, x)
              .fetch(LstmSentiment.SERVED_OUTPUT)
              .run()
              .close();
          long b = System.nanoTime() - start;
          start = System.nanoTime();
          session.runner().feed(model.input(LstmSentiment.INPUT), x).addTarget(step).run().close();
          long c = System.nanoTime() - start;
          if (i >= 0) {
            inlined[i] = a;
            served[i] = b;
            steps[i] = c;
          }
        }
        print(
            "| round %d, medians of %d | serving_default %.2f ms | inlined forward %.2f ms |"
                + " **%.2f×** | Adam step %.2f ms | **%.2f× forward** | load average %s |",
            round,
            RUNS,
            median(served),
            median(inlined),
            median(inlined) / median(served),
            median(steps),
            median(steps) / median(inlined),
            loadAverage());
      }
    }
  }

  private void thousandSteps() {
    int timesteps = 1000;
    int batch = 8;
    Path dir =
        LstmSentiment.editedCopy(temp.resolve("stacked"), m -> LstmSentiment.stacked(m, timesteps));
    Runtime runtime = Runtime.getRuntime();
    long start = System.nanoTime();
    try (TrainableSavedModel model = TrainableSavedModel.open(dir)) {
      double openS = (System.nanoTime() - start) / 1e9;
      int forwardOps = model.graph().toGraphDef().getNodeCount();
      Ops tf = Ops.create(model.graph());
      Operand<TFloat32> output = model.output(LstmSentiment.OUTPUT, TFloat32.class);
      Operand<TFloat32> loss =
          tf.math.mean(
              tf.math.square(tf.math.sub(output, tf.constant(0.5f))),
              tf.constant(new int[] {0, 1}));
      start = System.nanoTime();
      L1L2 reg = L1L2.builder().l2(1e-4).on("kernel").build();
      Op step = reg.minimize(new Adam(model.graph(), 1e-4f), loss, model.trainableVariables());
      model.session().initialize();
      double buildS = (System.nanoTime() - start) / 1e9;
      int allOps = model.graph().toGraphDef().getNodeCount();
      float[] ids = LstmSentiment.ids(batch, timesteps, 9);
      try (TFloat32 x = LstmSentiment.tensor(ids, timesteps)) {
        long[] forward = new long[5];
        long[] steps = new long[5];
        double firstStepS = 0;
        for (int i = -1; i < 5; i++) {
          long t = System.nanoTime();
          model
              .session()
              .runner()
              .feed(model.input(LstmSentiment.INPUT), x)
              .fetch(output)
              .run()
              .close();
          long a = System.nanoTime() - t;
          t = System.nanoTime();
          model
              .session()
              .runner()
              .feed(model.input(LstmSentiment.INPUT), x)
              .addTarget(step)
              .run()
              .close();
          long b = System.nanoTime() - t;
          if (i < 0) {
            firstStepS = b / 1e9;
          } else {
            forward[i] = a;
            steps[i] = b;
          }
        }
        System.gc();
        print(
            "| 2 stacked LSTMs × %d timesteps, batch %d | open %.1f s | %d ops after open |"
                + " Adam step built in %.1f s, %d ops | first step %.1f s | forward %.0f ms |"
                + " step %.0f ms (%.2f× forward) | heap max %d MiB, used after %d MiB |"
                + " load average %s |",
            timesteps,
            batch,
            openS,
            forwardOps,
            buildS,
            allOps,
            firstStepS,
            median(forward),
            median(steps),
            median(steps) / median(forward),
            runtime.maxMemory() >> 20,
            (runtime.totalMemory() - runtime.freeMemory()) >> 20,
            loadAverage());
      }
    }
  }
}
