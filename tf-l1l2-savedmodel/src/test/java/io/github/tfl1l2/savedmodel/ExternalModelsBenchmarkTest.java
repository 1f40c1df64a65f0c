package io.github.tfl1l2.savedmodel;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Locale;
import java.util.Map;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.tensorflow.Result;
import org.tensorflow.SavedModelBundle;
import org.tensorflow.Session;
import org.tensorflow.Tensor;
import org.tensorflow.proto.SignatureDef;
import org.tensorflow.types.TFloat32;

/**
 * The real-model targets, measured side by side in one process on every model of {@code
 * ../shared/savedmodels-external}: {@code TrainableSavedModel.open} against {@code
 * SavedModelBundle.load} (alternating, medians; target at most 3×), and the inlined forward against
 * TensorFlow's own call of the same signature in the same session, batch 32, alternating (target at
 * most 1.3×). Prints one Markdown row per model with the load average, and writes them to {@code
 * target/external-models-bench.md}. Run it with {@code mvn -B -q test -pl tf-l1l2-savedmodel -am
 * -Dtest=ExternalModelsBenchmarkTest -Dgroups=soak -DexcludedGroups=}.
 */
@Tag("soak")
class ExternalModelsBenchmarkTest {
  private static final int OPENS = 7;
  private static final int FORWARDS = 60;

  @Test
  void openAndForwardAgainstTensorFlowsOwn() throws IOException {
    StringBuilder table = new StringBuilder();
    table.append(
        "| model / output | load ms | open ms | open × | own call ms | inlined ms | forward × |"
            + " load average |\n|---|---:|---:|---:|---:|---:|---:|---|\n");
    for (ExternalModelsTest.Case c :
        ExternalModelsTest.models().filter(c -> !c.output().equals("output_1")).toList()) {
      Path dir = TestModels.external(c.name());
      String loadBefore = loadAverage();
      long[] load = new long[OPENS];
      long[] open = new long[OPENS];
      for (int i = -2; i < OPENS; i++) {
        long start = System.nanoTime();
        SavedModelBundle bundle = SavedModelBundle.load(dir.toString(), "serve");
        long loaded = System.nanoTime() - start;
        bundle.close();
        start = System.nanoTime();
        TrainableSavedModel model = TrainableSavedModel.open(dir, c.signature());
        long opened = System.nanoTime() - start;
        model.close();
        if (i >= 0) {
          load[i] = loaded;
          open[i] = opened;
        }
      }
      ExternalModelsTest.Case batch32 =
          new ExternalModelsTest.Case(
              c.name(), c.signature(), c.output(), batch32(c.unknownDims()), c.scale());
      long[] own = new long[FORWARDS];
      long[] inlined = new long[FORWARDS];
      try (TrainableSavedModel model = TrainableSavedModel.open(dir, c.signature())) {
        SignatureDef signature;
        try (SavedModelBundle bundle = SavedModelBundle.load(dir.toString(), "serve")) {
          signature = bundle.metaGraphDef().getSignatureDefOrThrow(c.signature());
        }
        Map<String, Tensor> feeds = ExternalModelsTest.feeds(signature, batch32, 3);
        String served = signature.getOutputsOrThrow(c.output()).getName();
        var output = model.output(c.output(), TFloat32.class);
        for (int i = -5; i < FORWARDS; i++) {
          long a = time(model, feeds, r -> r.fetch(served));
          long b = time(model, feeds, r -> r.fetch(output));
          if (i >= 0) {
            own[i] = a;
            inlined[i] = b;
          }
        }
        feeds.values().forEach(Tensor::close);
      }
      double loadMs = median(load) / 1e6;
      double openMs = median(open) / 1e6;
      double ownMs = median(own) / 1e6;
      double inlinedMs = median(inlined) / 1e6;
      table.append(
          String.format(
              Locale.ROOT,
              "| %s | %.1f | %.1f | %.2f | %.3f | %.3f | %.2f | %s → %s |%n",
              c,
              loadMs,
              openMs,
              openMs / loadMs,
              ownMs,
              inlinedMs,
              inlinedMs / ownMs,
              loadBefore,
              loadAverage()));
    }
    System.out.print(table);
    Files.createDirectories(Path.of("tf-l1l2-savedmodel", "target"));
    Files.writeString(
        Path.of("tf-l1l2-savedmodel", "target", "external-models-bench.md"), table.toString());
  }

  /** The first unknown dimension (the batch) set to 32, the others kept. */
  private static long[] batch32(long[] unknownDims) {
    long[] dims = unknownDims.clone();
    dims[0] = 32;
    return dims;
  }

  private static long time(
      TrainableSavedModel model,
      Map<String, Tensor> feeds,
      java.util.function.UnaryOperator<Session.Runner> fetch) {
    Session.Runner runner = model.session().runner();
    feeds.forEach((key, tensor) -> runner.feed(model.input(key), tensor));
    long start = System.nanoTime();
    Result result = fetch.apply(runner).run();
    long elapsed = System.nanoTime() - start;
    result.close();
    return elapsed;
  }

  private static double median(long[] values) {
    long[] sorted = values.clone();
    Arrays.sort(sorted);
    return sorted[sorted.length / 2];
  }

  private static String loadAverage() throws IOException {
    return Files.readString(Path.of("/proc/loadavg")).split(" ")[0];
  }
}
