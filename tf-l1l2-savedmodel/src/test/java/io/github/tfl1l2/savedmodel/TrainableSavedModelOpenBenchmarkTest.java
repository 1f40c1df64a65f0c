package io.github.tfl1l2.savedmodel;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Locale;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.tensorflow.SavedModelBundle;

/**
 * The target "opening and inlining the Keras CNN takes at most 2× {@code SavedModelBundle.load} of
 * it", measured in one process: the two alternate, each run closes what it opened, medians are
 * compared. Prints a Markdown line with the load average and writes it to {@code
 * target/trainable-open-bench.md}. Run it with {@code mvn -B -q test -pl tf-l1l2-savedmodel -am
 * -Dtest=TrainableSavedModelOpenBenchmarkTest -Dgroups=soak -DexcludedGroups=}.
 */
@Tag("soak")
class TrainableSavedModelOpenBenchmarkTest {
  private static final int WARMUP = 3;
  private static final int RUNS = 15;

  @Test
  void openingAndInliningAgainstSavedModelBundleLoad() throws IOException {
    Path dir = KerasCnn.directory();
    String loadBefore = loadAverage();
    long[] load = new long[RUNS];
    long[] open = new long[RUNS];
    for (int i = -WARMUP; i < RUNS; i++) {
      long start = System.nanoTime();
      SavedModelBundle bundle = SavedModelBundle.load(dir.toString(), "serve");
      long loaded = System.nanoTime() - start;
      bundle.close();
      start = System.nanoTime();
      TrainableSavedModel model = TrainableSavedModel.open(dir);
      long opened = System.nanoTime() - start;
      model.close();
      if (i >= 0) {
        load[i] = loaded;
        open[i] = opened;
      }
    }
    double loadMs = median(load) / 1e6;
    double openMs = median(open) / 1e6;
    String line =
        String.format(
            Locale.ROOT,
            "| Keras CNN, median of %d | SavedModelBundle.load %.1f ms | TrainableSavedModel.open"
                + " %.1f ms | ratio %.2f | load average before %s, after %s |%n",
            RUNS,
            loadMs,
            openMs,
            openMs / loadMs,
            loadBefore,
            loadAverage());
    System.out.print(line);
    Files.createDirectories(Path.of("tf-l1l2-savedmodel", "target"));
    Files.writeString(Path.of("tf-l1l2-savedmodel", "target", "trainable-open-bench.md"), line);
  }

  private static double median(long[] values) {
    long[] sorted = values.clone();
    Arrays.sort(sorted);
    return sorted[sorted.length / 2];
  }

  private static String loadAverage() throws IOException {
    String[] fields = Files.readString(Path.of("/proc/loadavg")).split(" ");
    return fields[0] + " " + fields[1] + " " + fields[2];
  }
}
