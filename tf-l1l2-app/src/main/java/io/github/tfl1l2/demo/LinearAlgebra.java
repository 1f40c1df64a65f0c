package io.github.tfl1l2.demo;

import java.util.Arrays;

/** The few double-precision vector operations the demo computes outside TensorFlow. */
final class LinearAlgebra {
  private LinearAlgebra() {}

  /** Σ a[i]·b[i]. */
  static double dot(double[] a, double[] b) {
    double sum = 0.0;
    for (int i = 0; i < a.length; i++) {
      sum += a[i] * b[i];
    }
    return sum;
  }

  /** The mean squared error of the linear model {@code x·weights + bias} on {@code (x, y)}. */
  static double meanSquaredError(double[][] x, double[] y, double[] weights, double bias) {
    double sum = 0.0;
    for (int i = 0; i < x.length; i++) {
      double residual = dot(x[i], weights) + bias - y[i];
      sum += residual * residual;
    }
    return sum / x.length;
  }

  /**
   * The largest eigenvalue of {@code AᵀA / n} where {@code A = [X 1]} is {@code X} with a column of
   * ones appended (the bias), computed by power iteration from a fixed start, so it is
   * deterministic. The Hessian of the mean squared error of {@code X·w + b} is twice this matrix,
   * so its largest eigenvalue fixes the largest stable gradient-descent step.
   */
  static double largestGramEigenvalueWithBias(double[][] x) {
    return largestGramEigenvalue(x, true);
  }

  /** The largest eigenvalue of {@code XᵀX / n}, as {@link #largestGramEigenvalueWithBias}. */
  static double largestGramEigenvalue(double[][] x) {
    return largestGramEigenvalue(x, false);
  }

  private static double largestGramEigenvalue(double[][] x, boolean withBias) {
    int n = x.length;
    int features = x[0].length;
    int p = features + (withBias ? 1 : 0);
    double[] v = new double[p];
    Arrays.fill(v, 1.0 / Math.sqrt(p));
    double eigenvalue = 0.0;
    for (int iteration = 0; iteration < 1000; iteration++) {
      double[] next = new double[p];
      for (double[] row : x) {
        double projection = withBias ? v[p - 1] : 0.0;
        for (int j = 0; j < features; j++) {
          projection += row[j] * v[j];
        }
        for (int j = 0; j < features; j++) {
          next[j] += row[j] * projection / n;
        }
        if (withBias) {
          next[p - 1] += projection / n;
        }
      }
      double norm = Math.sqrt(dot(next, next));
      for (int j = 0; j < p; j++) {
        v[j] = next[j] / norm;
      }
      if (Math.abs(norm - eigenvalue) <= 1e-12 * norm) {
        return norm;
      }
      eigenvalue = norm;
    }
    return eigenvalue;
  }

  /**
   * The least-squares weights without intercept, {@code argmin |y − X·w|²}: the normal equations
   * {@code XᵀX·w = Xᵀy} solved by Gaussian elimination with partial pivoting.
   *
   * @throws IllegalArgumentException if {@code XᵀX} is singular
   */
  static double[] leastSquares(double[][] x, double[] y) {
    int p = x[0].length;
    double[][] a = new double[p][p + 1];
    for (int i = 0; i < x.length; i++) {
      for (int j = 0; j < p; j++) {
        for (int k = 0; k < p; k++) {
          a[j][k] += x[i][j] * x[i][k];
        }
        a[j][p] += x[i][j] * y[i];
      }
    }
    for (int column = 0; column < p; column++) {
      int pivot = column;
      for (int row = column + 1; row < p; row++) {
        if (Math.abs(a[row][column]) > Math.abs(a[pivot][column])) {
          pivot = row;
        }
      }
      if (a[pivot][column] == 0.0) {
        throw new IllegalArgumentException("the features are linearly dependent");
      }
      double[] swap = a[pivot];
      a[pivot] = a[column];
      a[column] = swap;
      for (int row = column + 1; row < p; row++) {
        double factor = a[row][column] / a[column][column];
        for (int k = column; k <= p; k++) {
          a[row][k] -= factor * a[column][k];
        }
      }
    }
    double[] w = new double[p];
    for (int row = p - 1; row >= 0; row--) {
      double sum = a[row][p];
      for (int k = row + 1; k < p; k++) {
        sum -= a[row][k] * w[k];
      }
      w[row] = sum / a[row][row];
    }
    return w;
  }

  /**
   * The smallest L1 coefficient at which every weight of {@code mean((X·w + b − y)²) + l1·Σ|w|} is
   * zero at the optimum: {@code max_j |(2/n)·Σ_i x_ij·(y_i − ȳ)|}, the largest data gradient at
   * {@code w = 0, b = ȳ}. Above it the L1 subgradient cancels every pull.
   */
  static double smallestAllZeroL1(double[][] x, double[] y) {
    int n = x.length;
    double mean = Arrays.stream(y).sum() / n;
    double largest = 0.0;
    for (int j = 0; j < x[0].length; j++) {
      double gradient = 0.0;
      for (int i = 0; i < n; i++) {
        gradient += x[i][j] * (y[i] - mean);
      }
      largest = Math.max(largest, Math.abs(2.0 * gradient / n));
    }
    return largest;
  }
}
