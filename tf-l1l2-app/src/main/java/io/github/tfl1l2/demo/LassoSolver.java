package io.github.tfl1l2.demo;

import io.github.tfl1l2.L1L2;
import io.github.tfl1l2.optimizers.ProximalGradientDescent;
import java.util.List;
import org.tensorflow.Graph;
import org.tensorflow.Operand;
import org.tensorflow.Result;
import org.tensorflow.Session;
import org.tensorflow.ndarray.buffer.DataBuffers;
import org.tensorflow.op.Op;
import org.tensorflow.op.Ops;
import org.tensorflow.op.core.Constant;
import org.tensorflow.op.core.Variable;
import org.tensorflow.types.TFloat64;

/**
 * Solves the lasso {@code min_w (1/n)·|y − X·w|² + l1·Σ|w|} (no intercept) with TF-Java's {@link
 * ProximalGradientDescent}: for each {@code l1} a graph holds {@code X}, {@code y} and the weights
 * (starting at a given point) in float64, and the step is run until the weights stop moving.
 *
 * <p>Float64, not float32: near the end of the diabetes path the Gram matrix has condition number ≈
 * 470, so a float32 gradient (targets up to ≈ 200, rounded to ≈ 1e-5) would leave the fixed point ≈
 * 1e-4 away from the optimum; in float64 it is ≈ 1e-12 away.
 *
 * <p>One {@code Session.run} applies {@value #STEPS_PER_RUN} steps: the graph chains that many
 * {@code minimize} ops, each reading the weights after the previous one. On a 442 × 10 problem a
 * step's kernels take microseconds and a {@code Session.run} far more; measured in one JVM on the
 * loaded 2-core machine, one step per run cost 85–140 µs a step, five per run about 50 µs, and
 * twenty per run about 1 s of graph building per solve, more than it saved.
 */
final class LassoSolver {
  /** Proximal steps chained into one {@code Session.run}. */
  static final int STEPS_PER_RUN = 5;

  /** Steps between two convergence checks. */
  static final int CHECK_EVERY = 200;

  /** Converged when no weight moved more than this over {@link #CHECK_EVERY} steps. */
  static final double TOLERANCE = 1e-10;

  /** A solve that has not converged after this many steps fails. */
  static final int MAX_STEPS = 2_000_000;

  private final double[][] x;
  private final double[][] yColumn;
  private final float learningRate;

  /** A solver for {@code (x, y)}; the step size is {@code 1/L}, L = 2·λ_max(XᵀX/n). */
  LassoSolver(double[][] x, double[] y) {
    this.x = x;
    this.yColumn = new double[y.length][];
    for (int i = 0; i < y.length; i++) {
      yColumn[i] = new double[] {y[i]};
    }
    this.learningRate = (float) (1.0 / (2.0 * LinearAlgebra.largestGramEigenvalue(x)));
  }

  /** The step size every solve uses. */
  float learningRate() {
    return learningRate;
  }

  /**
   * Runs {@link ProximalGradientDescent} on the lasso with coefficient {@code l1} from {@code
   * initial} until no weight moves more than {@value #TOLERANCE} over {@value #CHECK_EVERY} steps.
   *
   * @throws IllegalStateException if that takes more than {@value #MAX_STEPS} steps
   */
  Solution solve(double l1, double[] initial) {
    int features = initial.length;
    L1L2 regularizer = L1L2.builder().l1(l1).xla(false).build();
    try (Graph graph = new Graph()) {
      Ops tf = Ops.create(graph);
      double[][] start = new double[features][];
      for (int j = 0; j < features; j++) {
        start[j] = new double[] {initial[j]};
      }
      Variable<TFloat64> weights =
          tf.withName("weights").variable(tf.withInitScope().constant(start));
      Constant<TFloat64> features64 = tf.constant(x);
      Constant<TFloat64> targets = tf.constant(yColumn);
      Op step = null;
      for (int k = 0; k < STEPS_PER_RUN; k++) {
        // Each step reads the weights only after the previous step has written them.
        Operand<TFloat64> read =
            (step == null ? tf : tf.withControlDependencies(List.of(step))).identity(weights);
        Operand<TFloat64> residual = tf.math.sub(targets, tf.linalg.matMul(features64, read));
        Operand<TFloat64> dataLoss =
            tf.math.mean(tf.math.square(residual), tf.constant(new int[] {0, 1}));
        step = new ProximalGradientDescent(graph, learningRate, regularizer).minimize(dataLoss);
      }
      try (Session session = new Session(graph)) {
        double[] current = initial.clone();
        for (int taken = CHECK_EVERY; taken <= MAX_STEPS; taken += CHECK_EVERY) {
          for (int i = 0; i < CHECK_EVERY / STEPS_PER_RUN; i++) {
            // Nothing fetched: the steps only update the weights.
            session.runner().addTarget(step).run().close();
          }
          double[] next = read(session, weights, features);
          double change = 0.0;
          for (int j = 0; j < features; j++) {
            change = Math.max(change, Math.abs(next[j] - current[j]));
          }
          current = next;
          if (change <= TOLERANCE) {
            return new Solution(l1, current, taken);
          }
        }
      }
    }
    throw new IllegalStateException(
        "the lasso at l1 = " + l1 + " did not converge in " + MAX_STEPS + " steps");
  }

  private static double[] read(Session session, Variable<TFloat64> weights, int features) {
    try (Result result = session.runner().fetch(weights).run()) {
      double[] values = new double[features];
      ((TFloat64) result.get(0)).copyTo(DataBuffers.of(values, false, false));
      return values;
    }
  }

  /**
   * The weights at one {@code l1}.
   *
   * @param l1 the coefficient
   * @param weights the converged weights, exact zeros included
   * @param steps proximal steps taken from the start
   */
  record Solution(double l1, double[] weights, int steps) {
    /** Σ|w|, the x axis of the paper's figure. */
    double l1Norm() {
      double sum = 0.0;
      for (double w : weights) {
        sum += Math.abs(w);
      }
      return sum;
    }

    /** Whether weight {@code j} is not exactly zero. */
    boolean active(int j) {
      return weights[j] != 0.0;
    }
  }
}
