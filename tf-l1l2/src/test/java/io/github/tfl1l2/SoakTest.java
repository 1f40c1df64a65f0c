package io.github.tfl1l2;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.tfl1l2.testing.References;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.tensorflow.Graph;
import org.tensorflow.Operand;
import org.tensorflow.Result;
import org.tensorflow.Session;
import org.tensorflow.op.Ops;
import org.tensorflow.types.TFloat32;

/**
 * Soak: a million penalty evaluations in one session, and a hundred thousand graphs built with a
 * penalty and closed, with resident memory sampled along the way. Run with {@code mvn -B test
 * -Dgroups=soak -DexcludedGroups= -Dtest=SoakTest}.
 */
@Tag("soak")
class SoakTest {
  private static final double L1 = 0.01;
  private static final double L2 = 0.1;

  /** Growth allowed after warm-up: 32 MiB over a million runs is under 34 bytes per run. */
  private static final long EVALUATION_GROWTH_LIMIT = 32 * Memory.MIB;

  /** Growth allowed over 100 000 graphs: 64 MiB is under 700 bytes per graph. */
  private static final long BUILD_GROWTH_LIMIT = 64 * Memory.MIB;

  /** RSS, native estimate (RSS minus committed heap) and committed heap, after a GC. */
  private static long[] sample() {
    long nativeBytes = Memory.nativeBytes();
    return new long[] {Memory.rssBytes(), nativeBytes, Memory.heapCommittedBytes()};
  }

  private static String describe(long[] sample) {
    return String.format(
        "RSS %s (native %s, heap %s)",
        Memory.mib(sample[0]), Memory.mib(sample[1]), Memory.mib(sample[2]));
  }

  @Test
  void oneMillionEvaluationsInOneSessionKeepResidentMemoryFlat() {
    float[][] weights = new float[4][];
    for (int i = 0; i < weights.length; i++) {
      weights[i] = Fixtures.randomWeights(i, 1000, 0.5);
    }
    double expected = References.penalty(L1, L2, 1.0, weights);
    try (Graph g = new Graph()) {
      Ops tf = Ops.create(g);
      List<Operand<?>> parameters = new ArrayList<>();
      for (float[] w : weights) {
        parameters.add(tf.variable(tf.withInitScope().constant(w)));
      }
      Operand<TFloat32> penalty = L1L2.of(L1, L2).penalty(tf, parameters); // XLA on: default
      try (Session s = new Session(g)) {
        Session.Runner runner = s.runner().fetch(penalty);
        for (int i = 0; i < 10_000; i++) { // warm-up: compile, thread pools, allocator pools
          runner.run().close();
        }
        long[] start = sample();
        long t0 = System.nanoTime();
        List<String> samples = new ArrayList<>();
        double worst = 0;
        for (int i = 1; i <= 1_000_000; i++) {
          try (Result r = runner.run()) {
            if (i % 100_000 == 0) {
              worst =
                  Math.max(worst, References.relativeError(Fixtures.scalar(r.get(0)), expected));
              samples.add(Memory.mib(sample()[1]));
            }
          }
        }
        double seconds = (System.nanoTime() - t0) / 1e9;
        long[] end = sample();
        Memory.figure(
            "1M evaluations: %.0f s (%.1f us/run); after 10k warm-up runs %s; end %s;"
                + " native growth %s; native every 100k: %s; worst relative error %.2e",
            seconds,
            seconds * 1e6 / 1_000_000,
            describe(start),
            describe(end),
            Memory.mib(end[1] - start[1]),
            samples,
            worst);
        assertTrue(worst <= 1e-6, "relative error " + worst);
        assertTrue(
            end[1] - start[1] <= EVALUATION_GROWTH_LIMIT,
            "native memory grew by " + Memory.mib(end[1] - start[1]) + ": " + samples);
      }
    }
  }

  @Test
  void oneHundredThousandGraphBuildsAndClosesDoNotLeak() {
    float[] a = Fixtures.randomWeights(1, 64, 1.0);
    float[] b = Fixtures.randomWeights(2, 32, 1.0);
    double expected = References.penalty(L1, L2, 1.0, a, b);
    L1L2 reg = L1L2.of(L1, L2);
    List<String> samples = new ArrayList<>();
    List<Long> natives = new ArrayList<>();
    double worst = 0;
    long[] start = null;
    long t0 = 0;
    for (int i = -1_000; i <= 100_000; i++) { // the first 1000 warm up
      if (i == 0) {
        start = sample();
        t0 = System.nanoTime();
      }
      try (Graph g = new Graph()) {
        Ops tf = Ops.create(g);
        Operand<TFloat32> wa = tf.variable(tf.withInitScope().constant(a));
        Operand<TFloat32> wb = tf.constant(b);
        Operand<TFloat32> penalty = reg.penalty(tf, List.of(wa, tf.identity(wb)));
        if (i > 0 && i % 10_000 == 0) {
          try (Session s = new Session(g)) {
            worst =
                Math.max(
                    worst, References.relativeError(Fixtures.fetchScalar(s, penalty), expected));
          }
          long nativeNow = sample()[1];
          natives.add(nativeNow);
          samples.add(Memory.mib(nativeNow));
        }
      }
    }
    double seconds = (System.nanoTime() - t0) / 1e9;
    long[] end = sample();
    natives.add(end[1]);
    // The allocator's footprint swings by ~130 MiB between samples (XLA compiles each new graph's
    // cluster, and freed arenas are reused unevenly), so one sample says little. A leak raises
    // the floor: every late sample. So the growth is judged on the lowest of the last three.
    long floor =
        Math.min(
            natives.get(natives.size() - 1),
            Math.min(natives.get(natives.size() - 2), natives.get(natives.size() - 3)));
    Memory.figure(
        "100k graph builds+closes: %.0f s (%.2f ms/graph); after 1k warm-up %s; end %s;"
            + " growth of the late floor %s; native every 10k: %s; worst relative error %.2e",
        seconds,
        seconds * 1e3 / 100_000,
        describe(start),
        describe(end),
        Memory.mib(floor - start[1]),
        samples,
        worst);
    assertTrue(worst <= 1e-6, "relative error " + worst);
    assertTrue(
        floor - start[1] <= BUILD_GROWTH_LIMIT,
        "native memory floor grew by " + Memory.mib(floor - start[1]) + ": " + samples);
  }
}
