package io.github.tfl1l2.savedmodel;

import io.github.tfl1l2.L1L2;
import io.github.tfl1l2.savedmodel.TrainableSavedModel.Mode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.tensorflow.Operand;
import org.tensorflow.framework.optimizers.GradientDescent;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.ndarray.buffer.DataBuffers;
import org.tensorflow.op.Op;
import org.tensorflow.op.Ops;
import org.tensorflow.types.TFloat32;

/**
 * The target "a {@code TRAINING} step on {@code mlp_bn_dropout} and on {@code keras-mnist-cnn},
 * batch 32, takes at most 1.3× the {@code INFERENCE} step on the same model", measured in one
 * process. Each step is {@code reg.minimize} with GradientDescent on the mean squared output (plus
 * the model's own losses), built in a model of its own; the two modes of one model run alternately
 * and their medians are compared. Prints a Markdown table with the load average. Run it with {@code
 * mvn -B -q test -pl tf-l1l2-savedmodel -am -Dtest=TrainableSavedModelTrainingModeBenchmarkTest
 * -Dgroups=soak -DexcludedGroups=}.
 */
@Tag("soak")
class TrainableSavedModelTrainingModeBenchmarkTest {
  private static final int BATCH = 32;
  private static final int WARMUP = 20;
  private static final int RUNS = Integer.getInteger("trainingModeBench.runs", 201);
  private static final L1L2 REG = L1L2.builder().l2(1e-4).on("kernel").build();

  /** One model opened in one mode, with its step. */
  private static final class Step implements AutoCloseable {
    final TrainableSavedModel model;
    final String input;
    final Op step;
    final long[] nanos = new long[RUNS];

    Step(Path dir, Mode mode, String input, String output) {
      model = TrainableSavedModel.open(dir, "serving_default", mode);
      this.input = input;
      Ops tf = Ops.create(model.graph());
      Operand<TFloat32> y = model.output(output, TFloat32.class);
      Operand<TFloat32> loss =
          tf.math.add(
              tf.math.mean(tf.math.square(y), tf.constant(new int[] {0, 1})), model.modelLosses());
      step =
          REG.minimize(new GradientDescent(model.graph(), 1e-3f), loss, model.trainableVariables());
    }

    void run(TFloat32 x, int i) {
      long start = System.nanoTime();
      model.session().runner().feed(model.input(input), x).addTarget(step).run().close();
      if (i >= 0) {
        nanos[i] = System.nanoTime() - start;
      }
    }

    double medianMs() {
      long[] sorted = nanos.clone();
      Arrays.sort(sorted);
      return sorted[sorted.length / 2] / 1e6;
    }

    @Override
    public void close() {
      model.close();
    }
  }

  @Test
  void trainingStepAgainstInferenceStep() throws IOException {
    String before = loadAverage();
    List<String> rows = new ArrayList<>();
    rows.add(
        measure(
            "mlp_bn_dropout",
            TestModels.external("mlp_bn_dropout"),
            "input_2",
            "dense_3",
            Shape.of(BATCH, 30)));
    rows.add(
        measure(
            "keras-mnist-cnn",
            KerasCnn.directory(),
            KerasCnn.INPUT,
            KerasCnn.OUTPUT,
            Shape.of(BATCH, 28, 28, 1)));
    StringBuilder table = new StringBuilder();
    table.append(
        String.format(
            Locale.ROOT,
            "batch %d, medians of %d alternating runs; load average before %s, after %s%n%n"
                + "| model | INFERENCE step | TRAINING step | × INFERENCE |%n|---|---:|---:|---:|%n",
            BATCH,
            RUNS,
            before,
            loadAverage()));
    rows.forEach(table::append);
    System.out.print(table);
  }

  private static String measure(String name, Path dir, String input, String output, Shape shape) {
    Random random = new Random(7);
    float[] values = new float[(int) shape.size()];
    for (int i = 0; i < values.length; i++) {
      values[i] = random.nextFloat();
    }
    try (TFloat32 x = TFloat32.tensorOf(shape, DataBuffers.of(values, true, false));
        Step inference = new Step(dir, Mode.INFERENCE, input, output);
        Step training = new Step(dir, Mode.TRAINING, input, output)) {
      for (int i = 0; i < WARMUP; i++) {
        inference.run(x, -1);
        training.run(x, -1);
      }
      for (int i = 0; i < RUNS; i++) {
        // Alternate which goes first, so that neither always runs on a warmer cache.
        if (i % 2 == 0) {
          inference.run(x, i);
          training.run(x, i);
        } else {
          training.run(x, i);
          inference.run(x, i);
        }
      }
      return String.format(
          Locale.ROOT,
          "| %s | %.3f ms | %.3f ms | %.2f× |%n",
          name,
          inference.medianMs(),
          training.medianMs(),
          training.medianMs() / inference.medianMs());
    }
  }

  private static String loadAverage() throws IOException {
    String[] fields = Files.readString(Path.of("/proc/loadavg")).split(" ");
    return fields[0] + " " + fields[1] + " " + fields[2];
  }
}
