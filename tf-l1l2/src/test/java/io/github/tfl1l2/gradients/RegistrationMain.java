package io.github.tfl1l2.gradients;

import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.tensorflow.Graph;
import org.tensorflow.Operand;
import org.tensorflow.Output;
import org.tensorflow.Result;
import org.tensorflow.Session;
import org.tensorflow.TensorFlow;
import org.tensorflow.op.Ops;
import org.tensorflow.types.TFloat64;

/**
 * Run in a fresh JVM by {@link MissingGradientsTest}: the application registers its own {@code
 * Cumprod} gradient (7 per entry), then eight threads call {@link MissingGradients#register()} at
 * once; prints what each step gave.
 */
public final class RegistrationMain {
  private RegistrationMain() {}

  /**
   * Runs the scenario.
   *
   * @param args ignored
   * @throws Exception if a step fails
   */
  public static void main(String[] args) throws Exception {
    boolean mine =
        TensorFlow.registerCustomGradient(
            "Cumprod",
            (tf, op, upstream) ->
                List.<Operand<?>>of(
                    tf.math.mul(
                        tf.onesLike(GradientOps.<TFloat64>typed(op.input(0))), tf.constant(7.0)),
                    tf.zerosLike(GradientOps.typed(op.input(1)))));
    System.out.println("application registered Cumprod: " + mine);

    int threads = 8;
    CountDownLatch start = new CountDownLatch(1);
    ExecutorService pool = Executors.newFixedThreadPool(threads);
    List<Future<Set<String>>> results = new java.util.ArrayList<>();
    for (int i = 0; i < threads; i++) {
      results.add(
          pool.submit(
              () -> {
                start.await();
                return MissingGradients.register();
              }));
    }
    start.countDown();
    Set<Set<String>> distinct =
        java.util.Collections.newSetFromMap(new java.util.IdentityHashMap<>());
    for (Future<Set<String>> result : results) {
      distinct.add(result.get());
    }
    pool.shutdown();
    System.out.println("distinct sets: " + distinct.size());
    System.out.println("provided: " + List.copyOf(distinct.iterator().next()));

    try (Graph g = new Graph();
        Session s = new Session(g)) {
      Ops tf = Ops.create(g);
      Operand<TFloat64> x = tf.constant(new double[] {1, 2, 3});
      Operand<TFloat64> y = tf.constant(new double[] {2, 4});
      Operand<TFloat64> cumprod = tf.math.cumprod(x, tf.constant(0));
      Operand<TFloat64> xlogy = tf.math.xlogy(tf.constant(new double[] {1, 3}), y);
      Output<?>[] gx =
          g.addGradients(
              tf.sum(cumprod, tf.constant(0)).asOutput(), new Output<?>[] {x.asOutput()});
      Output<?>[] gy =
          g.addGradients(tf.sum(xlogy, tf.constant(0)).asOutput(), new Output<?>[] {y.asOutput()});
      try (Result r = s.runner().fetch(gx[0]).fetch(gy[0]).run()) {
        System.out.println(
            "Cumprod gradient: " + Arrays.toString(GradientChecker.doubles((TFloat64) r.get(0))));
        System.out.println(
            "Xlogy gradient: " + Arrays.toString(GradientChecker.doubles((TFloat64) r.get(1))));
      }
    }

    // TF-Java 1.1.0 has room for ten gradient callbacks per process. The application's Cumprod
    // gradient took one and this library's eleven op types share one: eight more still work.
    String[] more = {"Erfc", "Xlog1py", "Xdivy", "Digamma", "Round", "Ceil", "Igamma", "Betainc"};
    for (int i = 0; i < more.length; i++) {
      double value = i + 1;
      TensorFlow.registerCustomGradient(
          more[i],
          (tf, op, upstream) -> {
            List<Operand<?>> gradients = new java.util.ArrayList<>();
            for (int j = 0; j < op.numInputs(); j++) {
              gradients.add(
                  tf.math.mul(
                      tf.onesLike(GradientOps.<TFloat64>typed(op.input(j))), tf.constant(value)));
            }
            return gradients;
          });
    }
    try (Graph g = new Graph();
        Session s = new Session(g)) {
      Ops tf = Ops.create(g);
      Operand<TFloat64> x = tf.constant(new double[] {0.5, 2.5});
      // Betainc(a, b, x), the eighth: its callback is the tenth of the process.
      Operand<TFloat64> betainc =
          tf.math.betainc(
              tf.constant(new double[] {1, 1}),
              tf.constant(new double[] {2, 2}),
              tf.math.div(x, tf.constant(4.0)));
      Output<?>[] gx =
          g.addGradients(
              tf.sum(betainc, tf.constant(0)).asOutput(), new Output<?>[] {x.asOutput()});
      Operand<TFloat64> ceil = tf.math.ceil(x);
      Output<?>[] gc =
          g.addGradients(tf.sum(ceil, tf.constant(0)).asOutput(), new Output<?>[] {x.asOutput()});
      try (Result r = s.runner().fetch(gx[0]).fetch(gc[0]).run()) {
        System.out.println(
            "application gradients 8 and 6: "
                + Arrays.toString(GradientChecker.doubles((TFloat64) r.get(0)))
                + " "
                + Arrays.toString(GradientChecker.doubles((TFloat64) r.get(1))));
      }
    }
  }
}
