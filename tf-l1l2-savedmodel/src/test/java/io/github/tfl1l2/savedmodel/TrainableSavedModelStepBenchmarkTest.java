package io.github.tfl1l2.savedmodel;

import io.github.tfl1l2.L1L2;
import io.github.tfl1l2.optimizers.ProximalGradientDescent;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.function.Function;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.tensorflow.GraphOperation;
import org.tensorflow.Operand;
import org.tensorflow.Output;
import org.tensorflow.Session;
import org.tensorflow.framework.optimizers.Adam;
import org.tensorflow.framework.optimizers.GradientDescent;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.op.Op;
import org.tensorflow.op.Ops;
import org.tensorflow.op.core.Placeholder;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TInt32;

/**
 * The target "the Keras CNN, batch 16: one training step costs at most 1.3× a forward-and-backward
 * pass through the same inlined graph", measured in one process. Each variant is built in a model
 * of its own (so that no step's ops join another's run), the variants run round-robin, and medians
 * are compared. The forward-and-backward pass fetches the loss and the 16 gradients, the work every
 * step does before its updates. (A {@code NoOp} with control inputs from them is no baseline:
 * Grappler drops those control inputs, and such a run executes 26 nodes where fetching one gradient
 * executes 122.) Prints a Markdown table with the load average and writes it to {@code
 * target/trainable-step-bench.md}. Run it with {@code mvn -B -q test -pl tf-l1l2-savedmodel -am
 * -Dtest=TrainableSavedModelStepBenchmarkTest -Dgroups=soak -DexcludedGroups=}.
 */
@Tag("soak")
class TrainableSavedModelStepBenchmarkTest {
  private static final int BATCH = 16;
  private static final int WARMUP = 10;
  private static final int RUNS = Integer.getInteger("trainableStepBench.runs", 101);
  private static final float LEARNING_RATE = 1e-3f;
  private static final L1L2 REG = L1L2.builder().l1(1e-4).l2(1e-4).on("kernel").build();

  /** One variant: its own model, loss and the op one run targets. */
  private static final class Variant implements AutoCloseable {
    final String name;
    final TrainableSavedModel model = TrainableSavedModel.open(KerasCnn.directory());
    final Ops tf = Ops.create(model.graph());
    final Placeholder<TInt32> labels = tf.placeholder(TInt32.class);
    final Operand<TFloat32> loss;

    /** What a run targets (null for none) and fetches. */
    final Op target;

    final List<Operand<?>> fetches = new ArrayList<>();
    final long[] nanos = new long[RUNS];

    Variant(String name, Function<Variant, Op> build) {
      this.name = name;
      Operand<TFloat32> onehot =
          tf.oneHot(labels, tf.constant(KerasCnn.CLASSES), tf.constant(1f), tf.constant(0f));
      loss =
          tf.math.mean(
              tf.math.squaredDifference(model.output(KerasCnn.OUTPUT, TFloat32.class), onehot),
              tf.constant(new int[] {0, 1}));
      try {
        target = build.apply(this);
        // Adam's slots; the session of a loaded model does not run new init ops by itself.
        model.session().initialize();
      } catch (RuntimeException e) {
        model.close();
        throw e;
      }
    }

    long run(TFloat32 images, TInt32 classes) {
      long start = System.nanoTime();
      Session.Runner runner =
          model.session().runner().feed(model.input(KerasCnn.INPUT), images).feed(labels, classes);
      if (target != null) {
        runner.addTarget(target);
      }
      fetches.forEach(runner::fetch);
      runner.run().close();
      return System.nanoTime() - start;
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

  /** The loss and every trainable variable's gradient. */
  private static List<Operand<?>> forwardAndBackward(Variant v) {
    List<Operand<?>> handles = v.model.trainableVariables();
    Output<?>[] gradients =
        v.model
            .graph()
            .addGradients(
                v.loss.asOutput(),
                handles.stream().map(Operand::asOutput).toArray(Output<?>[]::new));
    List<Operand<?>> computed = new ArrayList<>();
    computed.add(v.loss);
    computed.addAll(List.of(gradients));
    return computed;
  }

  @Test
  void oneTrainingStepAgainstAForwardAndBackwardPass() throws IOException {
    Map<String, Function<Variant, Op>> builds = new LinkedHashMap<>();
    builds.put(
        "forward + backward (loss and 16 gradients fetched)",
        v -> {
          v.fetches.addAll(forwardAndBackward(v));
          return null;
        });
    builds.put(
        "forward + backward (one scalar fetched: the loss plus each gradient's sum)",
        v -> {
          Operand<TFloat32> total = v.loss;
          for (Operand<?> gradient : forwardAndBackward(v).subList(1, 17)) {
            Operand<TFloat32> g = gradient.asOutput().expect(TFloat32.class);
            total =
                v.tf.math.add(
                    total,
                    v.tf.reduceSum(
                        g, v.tf.range(v.tf.constant(0), v.tf.rank(g), v.tf.constant(1))));
          }
          v.fetches.add(total);
          return null;
        });
    builds.put(
        "forward (loss fetched)",
        v -> {
          v.fetches.add(v.loss);
          return null;
        });
    builds.put(
        "GradientDescent, no penalty",
        v ->
            L1L2.builder()
                .on("kernel")
                .build()
                .minimize(
                    new GradientDescent(v.model.graph(), LEARNING_RATE),
                    v.loss,
                    v.model.trainableVariables()));
    builds.put(
        "`reg.minimize`, GradientDescent",
        v ->
            REG.minimize(
                new GradientDescent(v.model.graph(), LEARNING_RATE),
                v.loss,
                v.model.trainableVariables()));
    builds.put(
        "`reg.minimize`, GradientDescent, `xla(false)`",
        v ->
            REG.toBuilder()
                .xla(false)
                .build()
                .minimize(
                    new GradientDescent(v.model.graph(), LEARNING_RATE),
                    v.loss,
                    v.model.trainableVariables()));
    builds.put(
        "`reg.minimize`, Adam",
        v ->
            REG.minimize(
                new Adam(v.model.graph(), LEARNING_RATE), v.loss, v.model.trainableVariables()));
    builds.put(
        "`ProximalGradientDescent`",
        v ->
            new ProximalGradientDescent(v.model.graph(), LEARNING_RATE, REG)
                .minimize(v.loss, v.model.trainableVariables()));

    String loadBefore = loadAverage();
    List<Variant> variants = new ArrayList<>();
    float[] pixels = KerasCnn.images(BATCH, 11);
    int[] y = new int[BATCH];
    Random random = new Random(12);
    for (int i = 0; i < BATCH; i++) {
      y[i] = random.nextInt(KerasCnn.CLASSES);
    }
    StringBuilder table = new StringBuilder();
    try (TFloat32 images = KerasCnn.tensor(pixels);
        TInt32 classes = TInt32.vectorOf(y)) {
      for (Map.Entry<String, Function<Variant, Op>> build : builds.entrySet()) {
        variants.add(new Variant(build.getKey(), build.getValue()));
      }
      for (int i = -WARMUP; i < RUNS; i++) {
        for (Variant v : variants) {
          long nanos = v.run(images, classes);
          if (i >= 0) {
            v.nanos[i] = nanos;
          }
        }
      }
      double base = variants.get(0).medianMs();
      table.append(
          String.format(
              Locale.ROOT,
              "Keras CNN, batch %d, medians of %d round-robin runs; load average before %s, after"
                  + " %s%n%n| run | median | × forward + backward |%n|---|---:|---:|%n",
              BATCH,
              RUNS,
              loadBefore,
              loadAverage()));
      for (Variant v : variants) {
        table.append(
            String.format(
                Locale.ROOT,
                "| %s | %.2f ms | %.2f× |%n",
                v.name,
                v.medianMs(),
                v.medianMs() / base));
      }
      table.append("\nTrainable variables (elements):");
      for (Operand<?> handle : variants.get(0).model.trainableVariables()) {
        Shape shape = ((GraphOperation) handle.op()).attributes().getAttrShape("shape");
        table.append(' ').append(handle.op().name()).append(" (").append(shape.size()).append(')');
      }
      table.append('\n');
    } finally {
      variants.forEach(Variant::close);
    }
    System.out.print(table);
    Files.createDirectories(Path.of("tf-l1l2-savedmodel", "target"));
    Files.writeString(
        Path.of("tf-l1l2-savedmodel", "target", "trainable-step-bench.md"), table.toString());
  }

  private static String loadAverage() throws IOException {
    String[] fields = Files.readString(Path.of("/proc/loadavg")).split(" ");
    return fields[0] + " " + fields[1] + " " + fields[2];
  }
}
