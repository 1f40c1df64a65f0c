package io.github.tfl1l2.demo;

/**
 * An independent solver for the demo's objective, {@code mean((X·w + b − y)²) + l1·Σ|w| +
 * l2·Σw²}: cyclic coordinate descent in double precision with exact soft-thresholding, the
 * standard lasso / elastic-net algorithm. It shares no code with the TensorFlow training, so
 * agreeing with it shows that the trained weights, zeros included, are the optimum's.
 */
final class LassoReference {
  private LassoReference() {}

  /** The optimal weights, with the optimal bias appended as the last element. */
  static double[] solve(double[][] x, double[] y, double l1, double l2) {
    int n = x.length;
    int p = x[0].length;
    double[] w = new double[p];
    double b = 0.0;
    double[] residual = y.clone();
    double[] curvature = new double[p];
    for (int j = 0; j < p; j++) {
      double squares = 0.0;
      for (double[] row : x) {
        squares += row[j] * row[j];
      }
      curvature[j] = 2.0 * squares / n;
    }
    for (int sweep = 0; sweep < 100_000; sweep++) {
      double largestChange = 0.0;
      double meanResidual = 0.0;
      for (double r : residual) {
        meanResidual += r / n;
      }
      b += meanResidual;
      for (int i = 0; i < n; i++) {
        residual[i] -= meanResidual;
      }
      for (int j = 0; j < p; j++) {
        double correlation = 0.0;
        for (int i = 0; i < n; i++) {
          correlation += x[i][j] * residual[i];
        }
        double rho = 2.0 * correlation / n + curvature[j] * w[j];
        double updated =
            Math.signum(rho) * Math.max(Math.abs(rho) - l1, 0.0) / (curvature[j] + 2.0 * l2);
        double change = updated - w[j];
        if (change != 0.0) {
          for (int i = 0; i < n; i++) {
            residual[i] -= x[i][j] * change;
          }
          w[j] = updated;
          largestChange = Math.max(largestChange, Math.abs(change));
        }
      }
      if (largestChange < 1e-12) {
        break;
      }
    }
    double[] result = java.util.Arrays.copyOf(w, p + 1);
    result[p] = b;
    return result;
  }
}
