package io.github.tfl1l2.cluster;

import io.github.tfl1l2.cluster.ClusterModel.Step;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.tensorflow.Session;

/**
 * The table of docs/cluster.md, measured in one run: a penalty evaluation and a GradientDescent
 * step on {@link ClusterModel} (4 MiB float32 on ps task 0, 4 MiB float64 on ps task 1) on a
 * loopback cluster against the same graph in this process, runs interleaved, with the bytes that
 * crossed tasks: the cross-task {@code _Send} nodes of the traced run's partition graphs, sized by
 * their tensors' shapes in its step stats. Prints a Markdown table and writes it to {@code
 * target/cluster-bench.md}. Run it with {@code mvn -B -pl tf-l1l2-app -am test
 * -Dtest=ClusterBenchmarkTest -Dgroups=soak -DexcludedGroups=
 * -Dsurefire.failIfNoSpecifiedTests=false}.
 */
@Tag("soak")
@Timeout(value = 600, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class ClusterBenchmarkTest {
  private static final int WARMUP = 3;
  private static final int RUNS = 21;

  @Test
  void penaltyAndTrainingStepOnTheLoopbackClusterAgainstOneProcess() throws Exception {
    String loadBefore = loadAverage();
    StringBuilder table = new StringBuilder();
    table
        .append("| run (median of ")
        .append(RUNS)
        .append(
            ") | loopback cluster, 2 ps + 1 worker | "
                + "one process | ratio | bytes that crossed tasks (cross-task sends) |\n");
    table.append("| --- | --- | --- | --- | --- |\n");
    try (LocalCluster cluster = LocalCluster.start(2, 1)) {
      for (Step kind : Step.values()) {
        try (ClusterModel remote = ClusterModel.onCluster(kind);
            ClusterModel local = ClusterModel.inOneProcess(kind);
            Session clusterSession =
                ClusterSession.open(remote.graph, cluster.target("worker", 0));
            Session localSession = new Session(local.graph)) {
          clusterSession.initialize();
          localSession.initialize();
          if (kind == Step.GRADIENT_DESCENT) {
            CrossTaskTraffic traffic =
                CrossTaskTraffic.trace(() -> clusterSession.runner().fetch(remote.penalty));
            row(
                table,
                "penalty evaluation",
                interleaved(
                    s -> remote.penalty(s), clusterSession, s -> local.penalty(s), localSession),
                traffic);
          }
          CrossTaskTraffic traffic =
              CrossTaskTraffic.trace(() -> clusterSession.runner().addTarget(remote.train));
          row(
              table,
              switch (kind) {
                case GRADIENT_DESCENT -> "GradientDescent step (`addTo`)";
                case L1L2_MINIMIZE -> "GradientDescent step (`reg.minimize`)";
                case PROXIMAL -> "ProximalGradientDescent step";
              },
              interleaved(
                  s -> remote.steps(s, 1), clusterSession, s -> local.steps(s, 1), localSession),
              traffic);
        }
      }
    }
    table.append(
        "\nWeights: 4 MiB float32 on /job:ps/task:0, 4 MiB float64 on /job:ps/task:1. "
            + "Load average before: "
            + loadBefore
            + "; after: "
            + loadAverage()
            + ".\n");
    System.out.println(table);
    Files.createDirectories(Path.of("tf-l1l2-app/target"));
    Files.writeString(Path.of("tf-l1l2-app/target/cluster-bench.md"), table);
  }

  /** Medians in ms of {@code RUNS} runs of each, alternating, after warm-up: {cluster, local}. */
  private static double[] interleaved(
      Consumer<Session> onCluster, Session cluster, Consumer<Session> inProcess, Session local) {
    for (int i = 0; i < WARMUP; i++) {
      onCluster.accept(cluster);
      inProcess.accept(local);
    }
    double[] a = new double[RUNS];
    double[] b = new double[RUNS];
    for (int i = 0; i < RUNS; i++) {
      a[i] = time(onCluster, cluster);
      b[i] = time(inProcess, local);
    }
    return new double[] {median(a), median(b)};
  }

  private static double time(Consumer<Session> run, Session session) {
    long start = System.nanoTime();
    run.accept(session);
    return (System.nanoTime() - start) / 1e6;
  }

  private static double median(double[] values) {
    double[] sorted = values.clone();
    Arrays.sort(sorted);
    return sorted[sorted.length / 2];
  }

  private static void row(StringBuilder table, String name, double[] ms, CrossTaskTraffic traffic) {
    table.append(
        String.format(
            Locale.ROOT,
            "| %s | %.1f ms | %.1f ms | %.2fx | %s (%d) |%n",
            name,
            ms[0],
            ms[1],
            ms[0] / ms[1],
            bytes(traffic.sentBytes()),
            traffic.sent().size()));
  }

  private static String bytes(long bytes) {
    return bytes < 0
        ? "unknown"
        : bytes < 1024
            ? bytes + " B"
            : String.format(Locale.ROOT, "%.2f MiB", bytes / (1024.0 * 1024.0));
  }

  private static String loadAverage() {
    try {
      String[] fields = Files.readString(Path.of("/proc/loadavg")).split(" ");
      return fields[0] + " " + fields[1] + " " + fields[2];
    } catch (IOException e) {
      return "unknown";
    }
  }
}
