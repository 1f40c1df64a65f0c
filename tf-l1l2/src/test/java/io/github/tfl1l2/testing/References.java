package io.github.tfl1l2.testing;

import java.util.Arrays;

/**
 * The one double-precision reference that the tests of every module check the library against: the
 * L1 and L2 sums, the soft threshold, and an elastic-net solver. It shares no code with the library
 * or with TensorFlow, so agreeing with it shows the library computed the right thing.
 *
 * <p>Published with the core module's test-jar ({@code tf-l1l2:tests}); the other modules depend on
 * it in test scope.
 */
public final class References {
  private References() {}

  /** {@code Σ|w|} over all the arrays, each element widened to double before it is added. */
  public static double l1Sum(float[]... weights) {
    double sum = 0;
    for (float[] w : weights) {
      for (float v : w) {
        sum += Math.abs((double) v);
      }
    }
    return sum;
  }

  /** {@code Σw²} over all the arrays, each element widened to double before it is squared. */
  public static double l2Sum(float[]... weights) {
    double sum = 0;
    for (float[] w : weights) {
      for (float v : w) {
        sum += (double) v * (double) v;
      }
    }
    return sum;
  }

  /** {@code Σ|w|} over all the arrays. */
  public static double l1Sum(double[]... weights) {
    double sum = 0;
    for (double[] w : weights) {
      for (double v : w) {
        sum += Math.abs(v);
      }
    }
    return sum;
  }

  /** {@code Σw²} over all the arrays. */
  public static double l2Sum(double[]... weights) {
    double sum = 0;
    for (double[] w : weights) {
      for (double v : w) {
        sum += v * v;
      }
    }
    return sum;
  }

  /** {@code weight·(l1·Σ|w| + l2·Σw²)} over all the arrays. */
  public static double penalty(double l1, double l2, double weight, float[]... weights) {
    return weight * (l1 * l1Sum(weights) + l2 * l2Sum(weights));
  }

  /** {@code |actual − expected| / |expected|}, or {@code |actual|} when {@code expected} is 0. */
  public static double relativeError(double actual, double expected) {
    return expected == 0 ? Math.abs(actual) : Math.abs(actual - expected) / Math.abs(expected);
  }

  /**
   * The soft threshold {@code S(x, t) = sign(x)·max(|x| − t, 0)}: the proximal operator of {@code
   * t·|x|}. Exactly 0 (signed as {@code x}) wherever {@code |x| ≤ t}.
   */
  public static double softThreshold(double x, double threshold) {
    return Math.signum(x) * Math.max(Math.abs(x) - threshold, 0.0);
  }

  /**
   * One proximal step on {@code weight·(l1·|w| + l2·w²)} after the gradient step {@code v}: the
   * exact minimizer of {@code (u − v)²/(2α) + α-scaled penalty}, {@code S(v, α·l1)/(1 + 2·α·l2)}.
   */
  public static double proximalStep(double v, double alpha, double l1, double l2) {
    return softThreshold(v, alpha * l1) / (1.0 + 2.0 * alpha * l2);
  }

  /**
   * The gradient of {@code l1·|w| + l2·w²} at {@code w}, with {@code sign(0) = 0}: {@code
   * l1·sign(w) + 2·l2·w}.
   */
  public static double penaltyGradient(double w, double l1, double l2) {
    return l1 * Math.signum(w) + 2.0 * l2 * w;
  }

  /** The minimizer of the elastic net: the weights and the intercept (0 when not fitted). */
  public record ElasticNetFit(double[] weights, double intercept) {
    public ElasticNetFit {
      weights = weights.clone();
    }

    @Override
    public double[] weights() {
      return weights.clone();
    }

    /** The weights with the intercept appended as the last element. */
    public double[] weightsThenIntercept() {
      double[] result = Arrays.copyOf(weights, weights.length + 1);
      result[weights.length] = intercept;
      return result;
    }
  }

  /**
   * The minimizer of {@code (1/n)·|y − X·w − b|² + l1·Σ|w| + l2·Σw²} (with {@code b = 0} unless
   * {@code fitIntercept}), by cyclic coordinate descent with exact soft-thresholding: the standard
   * lasso / elastic-net algorithm. In coordinate {@code j}, with {@code r} the residual without
   * {@code w_j}'s share, the objective is {@code a_j·w_j² − 2·ρ_j·w_j + l1·|w_j| + l2·w_j²} plus a
   * constant, where {@code a_j = Σx_ij²/n} and {@code ρ_j = Σx_ij·r_i/n}; its subgradient vanishes
   * at {@code w_j = S(ρ_j, l1/2) / (a_j + l2)}. The intercept, unpenalized, is the mean residual.
   *
   * @throws IllegalStateException when a sweep still moves a weight by more than {@code 1e-13}
   *     (relative to the largest weight, at least 1) after a million sweeps: a reference that has
   *     not converged must not pass for one
   */
  public static ElasticNetFit elasticNet(
      double[][] x, double[] y, double l1, double l2, boolean fitIntercept) {
    int n = x.length;
    int p = x[0].length;
    double[] w = new double[p];
    double b = 0.0;
    double[] residual = y.clone(); // y − X·w − b
    double[] a = new double[p];
    for (int j = 0; j < p; j++) {
      for (double[] row : x) {
        a[j] += row[j] * row[j] / n;
      }
    }
    for (int sweep = 0; sweep < 1_000_000; sweep++) {
      double largestChange = 0.0;
      if (fitIntercept) {
        double meanResidual = 0.0;
        for (double r : residual) {
          meanResidual += r / n;
        }
        b += meanResidual;
        for (int i = 0; i < n; i++) {
          residual[i] -= meanResidual;
        }
        largestChange = Math.abs(meanResidual);
      }
      for (int j = 0; j < p; j++) {
        double rho = 0.0;
        for (int i = 0; i < n; i++) {
          rho += x[i][j] * (residual[i] + x[i][j] * w[j]) / n;
        }
        double updated = softThreshold(rho, l1 / 2.0) / (a[j] + l2);
        double change = updated - w[j];
        if (change != 0.0) {
          for (int i = 0; i < n; i++) {
            residual[i] -= x[i][j] * change;
          }
          w[j] = updated;
          largestChange = Math.max(largestChange, Math.abs(change));
        }
      }
      double scale = Math.max(1.0, Math.max(Math.abs(b), maxAbs(w)));
      if (largestChange <= 1e-13 * scale) {
        return new ElasticNetFit(w, b);
      }
    }
    throw new IllegalStateException(
        "elastic-net coordinate descent did not converge in 1 000 000 sweeps (l1="
            + l1
            + ", l2="
            + l2
            + ", n="
            + n
            + ", p="
            + p
            + ")");
  }

  private static double maxAbs(double[] values) {
    double max = 0.0;
    for (double v : values) {
      max = Math.max(max, Math.abs(v));
    }
    return max;
  }
}
