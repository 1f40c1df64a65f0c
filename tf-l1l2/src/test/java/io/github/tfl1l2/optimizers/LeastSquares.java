package io.github.tfl1l2.optimizers;

import java.util.Random;

/**
 * A small least-squares problem {@code f(w) = (1/n)·|y − X·w|²} in double precision, seeded, with
 * its gradient; {@code References.elasticNet} solves it with the penalty.
 */
final class LeastSquares {
  final double[][] x;
  final double[] y;
  final int n;
  final int p;

  private LeastSquares(double[][] x, double[] y) {
    this.x = x;
    this.y = y;
    this.n = x.length;
    this.p = x[0].length;
  }

  /** Gaussian features correlated along their index, and a sparse true weight vector plus noise. */
  static LeastSquares random(long seed, int n, int p) {
    Random random = new Random(seed);
    double[][] x = new double[n][p];
    double[] y = new double[n];
    double[] truth = new double[p];
    for (int j = 0; j < p; j += 3) {
      truth[j] = (j % 2 == 0 ? 1.5 : -1.0) * (1.0 + 0.2 * j);
    }
    for (int i = 0; i < n; i++) {
      double previous = 0.0;
      for (int j = 0; j < p; j++) {
        previous = 0.4 * previous + random.nextGaussian();
        x[i][j] =
            (float) previous; // float32-exact, so TensorFlow and the reference solve one problem
        y[i] += truth[j] * x[i][j];
      }
      y[i] = (float) (y[i] + 0.5 * random.nextGaussian());
    }
    return new LeastSquares(x, y);
  }

  /** {@code ∇f(w) = (2/n)·Xᵀ(X·w − y)}. */
  double[] gradient(double[] w) {
    double[] residual = new double[n];
    for (int i = 0; i < n; i++) {
      double prediction = 0.0;
      for (int j = 0; j < p; j++) {
        prediction += x[i][j] * w[j];
      }
      residual[i] = prediction - y[i];
    }
    double[] gradient = new double[p];
    for (int j = 0; j < p; j++) {
      for (int i = 0; i < n; i++) {
        gradient[j] += 2.0 * x[i][j] * residual[i] / n;
      }
    }
    return gradient;
  }

  /**
   * An upper bound on the Lipschitz constant of {@code ∇f}, the largest eigenvalue of {@code
   * (2/n)·XᵀX}, by Gershgorin's theorem (the largest absolute row sum).
   */
  double lipschitzBound() {
    double bound = 0.0;
    for (int j = 0; j < p; j++) {
      double row = 0.0;
      for (int k = 0; k < p; k++) {
        double entry = 0.0;
        for (int i = 0; i < n; i++) {
          entry += x[i][j] * x[i][k];
        }
        row += Math.abs(2.0 * entry / n);
      }
      bound = Math.max(bound, row);
    }
    return bound;
  }

  /** The smallest l1 at which every weight of the lasso is zero: {@code max_j |∂f/∂w_j (0)|}. */
  double l1Max() {
    double max = 0.0;
    for (double g : gradient(new double[p])) {
      max = Math.max(max, Math.abs(g));
    }
    return max;
  }

  /** X as float32 rows, for a TensorFlow constant. */
  float[][] xFloats() {
    float[][] result = new float[n][p];
    for (int i = 0; i < n; i++) {
      for (int j = 0; j < p; j++) {
        result[i][j] = (float) x[i][j];
      }
    }
    return result;
  }

  /** y as a float32 column. */
  float[][] yColumn() {
    float[][] result = new float[n][1];
    for (int i = 0; i < n; i++) {
      result[i][0] = (float) y[i];
    }
    return result;
  }
}
