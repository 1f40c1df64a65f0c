package io.github.tfl1l2.bench;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Times several runs side by side: each round runs every one once, in turn, so that the load of the
 * machine at any moment weighs on all of them alike; the result is each run's median.
 */
final class RoundRobin {
  private RoundRobin() {}

  /**
   * Runs each of {@code runs} {@code warmup + 1} times untimed, then {@code reps} timed rounds.
   *
   * @param <K> how the runs are named
   * @param runs the runs, in the order each round runs them
   * @param warmup untimed rounds beyond the first (which builds and compiles)
   * @param reps timed rounds
   * @return each run's median in milliseconds, in the order of {@code runs}
   */
  static <K> Map<K, Double> medians(Map<K, Runnable> runs, int warmup, int reps) {
    for (int w = 0; w < warmup + 1; w++) {
      runs.values().forEach(Runnable::run);
    }
    List<K> keys = new ArrayList<>(runs.keySet());
    double[][] samples = new double[keys.size()][reps];
    for (int r = 0; r < reps; r++) {
      for (int k = 0; k < keys.size(); k++) {
        long start = System.nanoTime();
        runs.get(keys.get(k)).run();
        samples[k][r] = (System.nanoTime() - start) / 1e6;
      }
    }
    Map<K, Double> medians = new LinkedHashMap<>();
    for (int k = 0; k < keys.size(); k++) {
      medians.put(keys.get(k), BenchCommand.median(samples[k]));
    }
    return medians;
  }
}
