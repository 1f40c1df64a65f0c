package io.github.tfl1l2;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.tfl1l2.testing.References;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.tensorflow.Graph;
import org.tensorflow.Operand;
import org.tensorflow.Result;
import org.tensorflow.Session;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.op.Ops;
import org.tensorflow.op.core.Placeholder;
import org.tensorflow.types.TFloat32;

/** One {@link L1L2} and one session shared by eight threads. */
class ConcurrencyTest {
  private static final int THREADS = 8;
  private static final double L1 = 0.01;
  private static final double L2 = 0.5;

  /** Runs {@code task(i)} on {@code THREADS} threads released together; rethrows any failure. */
  static <T> List<T> onEightThreads(IndexedTask<T> task) throws Exception {
    ExecutorService pool = Executors.newFixedThreadPool(THREADS);
    CyclicBarrier start = new CyclicBarrier(THREADS);
    try {
      List<Future<T>> futures = new ArrayList<>();
      for (int i = 0; i < THREADS; i++) {
        int index = i;
        Callable<T> call =
            () -> {
              start.await();
              return task.run(index);
            };
        futures.add(pool.submit(call));
      }
      List<T> results = new ArrayList<>();
      for (Future<T> f : futures) {
        results.add(f.get(5, TimeUnit.MINUTES));
      }
      return results;
    } finally {
      pool.shutdownNow();
    }
  }

  /** A task for thread {@code index}. */
  interface IndexedTask<T> {
    T run(int index) throws Exception;
  }

  static float[] weightsOf(int thread) {
    return Fixtures.randomWeights(100 + thread, 1000 + 517 * thread, 1.0 + thread);
  }

  @ParameterizedTest(name = "xla={0}")
  @ValueSource(booleans = {false, true})
  void oneInstanceBuildsCorrectPenaltiesInEightGraphsAtOnce(boolean xla) throws Exception {
    L1L2 shared = L1L2.builder().l1(L1).l2(L2).xla(xla).build();
    for (int round = 0; round < 5; round++) {
      List<String> failures = new ArrayList<>();
      List<String> results =
          onEightThreads(
              i -> {
                float[] a = weightsOf(i);
                float[] b = weightsOf(i + THREADS);
                try (Graph g = new Graph()) {
                  Ops tf = Ops.create(g);
                  Operand<TFloat32> wa = tf.variable(tf.withInitScope().constant(a));
                  Operand<TFloat32> wb = tf.variable(tf.withInitScope().constant(b));
                  Operand<TFloat32> penalty = shared.penalty(tf, List.of(wa, tf.identity(wb)));
                  try (Session s = new Session(g)) {
                    double actual = Fixtures.fetchScalar(s, penalty);
                    double expected = References.penalty(L1, L2, 1.0, a, b);
                    double error = References.relativeError(actual, expected);
                    return error <= 1e-6 ? null : "thread " + i + ": " + actual + " vs " + expected;
                  }
                }
              });
      results.stream().filter(r -> r != null).forEach(failures::add);
      assertTrue(failures.isEmpty(), "round " + round + ": " + failures);
    }
  }

  @ParameterizedTest(name = "xla={0}")
  @ValueSource(booleans = {false, true})
  void oneSessionRunsThePenaltyFromEightThreadsAtOnce(boolean xla) throws Exception {
    float[] a = weightsOf(0);
    float[] b = weightsOf(1);
    double expected = References.penalty(L1, L2, 1.0, a, b);
    try (Graph g = new Graph()) {
      Ops tf = Ops.create(g);
      Operand<TFloat32> penalty =
          L1L2.builder()
              .l1(L1)
              .l2(L2)
              .xla(xla)
              .build()
              .penalty(
                  tf,
                  List.of(
                      tf.variable(tf.withInitScope().constant(a)),
                      tf.variable(tf.withInitScope().constant(b))));
      try (Session s = new Session(g)) {
        Fixtures.fetchScalar(s, penalty); // initializes the variables once
        List<Double> worst =
            onEightThreads(
                i -> {
                  double max = 0;
                  for (int run = 0; run < 200; run++) {
                    max =
                        Math.max(
                            max,
                            References.relativeError(Fixtures.fetchScalar(s, penalty), expected));
                  }
                  return max;
                });
        assertTrue(worst.stream().allMatch(e -> e <= 1e-6), "relative errors " + worst);
      }
    }
  }

  @ParameterizedTest(name = "xla={0}")
  @ValueSource(booleans = {false, true})
  void concurrentRunsWithTheirOwnFedWeightsGetTheirOwnPenalty(boolean xla) throws Exception {
    try (Graph g = new Graph()) {
      Ops tf = Ops.create(g);
      Placeholder<TFloat32> w =
          tf.placeholder(TFloat32.class, Placeholder.shape(Shape.of(Shape.UNKNOWN_SIZE)));
      Operand<TFloat32> penalty =
          L1L2.builder().l1(L1).l2(L2).xla(xla).build().penalty(tf, List.of(w));
      try (Session s = new Session(g)) {
        List<String> failures =
            onEightThreads(
                i -> {
                  float[] mine = weightsOf(i);
                  double expected = References.penalty(L1, L2, 1.0, mine);
                  for (int run = 0; run < 100; run++) {
                    try (TFloat32 fed = Fixtures.tensor(mine, mine.length);
                        Result r = s.runner().feed(w, fed).fetch(penalty).run()) {
                      double actual = Fixtures.scalar(r.get(0));
                      if (References.relativeError(actual, expected) > 1e-6) {
                        return "thread " + i + " run " + run + ": " + actual + " vs " + expected;
                      }
                    }
                  }
                  return null;
                });
        assertTrue(failures.stream().allMatch(f -> f == null), failures.toString());
      }
    }
  }
}
