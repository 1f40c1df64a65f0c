package io.github.tfl1l2.demo;

import java.util.Arrays;
import java.util.Random;

/**
 * A synthetic linear regression problem whose answer is sparse: {@code y = X·w* + b* + noise} where
 * only a few entries of {@code w*} are non-zero.
 *
 * <p>Features follow an AR(1) process along the feature index ({@code corr(x_i, x_j) = ρ^|i-j|}),
 * so every true feature has correlated neighbours that carry part of its signal: the case where an
 * unpenalized fit spreads weight over the neighbours and L1 has to pick the right one. With fewer
 * training rows than features the unpenalized problem has no unique solution.
 *
 * <p>Generation uses {@link java.util.Random}, whose algorithm is fixed by its specification, so a
 * seed gives the same problem on every JVM.
 *
 * @param trainFeatures training rows, {@code trainRows × features}
 * @param trainTargets training targets
 * @param testFeatures held-out rows, same distribution
 * @param testTargets held-out targets
 * @param trueWeights {@code w*}
 * @param trueBias {@code b*}
 * @param noiseStdDev the standard deviation of the Gaussian noise on every target
 */
record SparseRegressionProblem(
    double[][] trainFeatures,
    double[] trainTargets,
    double[][] testFeatures,
    double[] testTargets,
    double[] trueWeights,
    double trueBias,
    double noiseStdDev) {

  /** The shape and difficulty of a generated problem. */
  record Shape(
      int features,
      int informative,
      int trainRows,
      int testRows,
      double correlation,
      double noiseStdDev) {

    /** 200 features, 10 informative, 150 training rows (fewer than features), ρ = 0.6, σ = 1. */
    static final Shape DEFAULT = new Shape(200, 10, 150, 500, 0.6, 1.0);
  }

  /** Generates the problem of the given shape for {@code seed}. */
  static SparseRegressionProblem generate(Shape shape, long seed) {
    Random random = new Random(seed);
    double[] trueWeights = new double[shape.features()];
    for (int index : chooseDistinct(random, shape.features(), shape.informative())) {
      // Magnitudes in [0.5, 2): large enough to stand out of the noise, varied enough to make
      // some features easier to find than others.
      double magnitude = 0.5 + 1.5 * random.nextDouble();
      trueWeights[index] = random.nextBoolean() ? magnitude : -magnitude;
    }
    double trueBias = 1.0;
    double[][] trainFeatures = correlatedRows(random, shape.trainRows(), shape);
    double[][] testFeatures = correlatedRows(random, shape.testRows(), shape);
    double[] trainTargets = targets(random, trainFeatures, trueWeights, trueBias, shape);
    double[] testTargets = targets(random, testFeatures, trueWeights, trueBias, shape);
    return new SparseRegressionProblem(
        trainFeatures,
        trainTargets,
        testFeatures,
        testTargets,
        trueWeights,
        trueBias,
        shape.noiseStdDev());
  }

  /** The number of features (columns). */
  int features() {
    return trueWeights.length;
  }

  /** Whether feature {@code index} truly matters ({@code w*[index] != 0}). */
  boolean isInformative(int index) {
    return trueWeights[index] != 0.0;
  }

  /** The number of informative features. */
  int informativeCount() {
    return (int) Arrays.stream(trueWeights).filter(w -> w != 0.0).count();
  }

  private static int[] chooseDistinct(Random random, int range, int count) {
    if (count > range) {
      throw new IllegalArgumentException(
          "informative features (" + count + ") must not exceed features (" + range + ")");
    }
    int[] all = new int[range];
    for (int i = 0; i < range; i++) {
      all[i] = i;
    }
    // Partial Fisher–Yates shuffle: the first `count` entries become a uniform random subset.
    for (int i = 0; i < count; i++) {
      int j = i + random.nextInt(range - i);
      int swap = all[i];
      all[i] = all[j];
      all[j] = swap;
    }
    int[] chosen = Arrays.copyOf(all, count);
    Arrays.sort(chosen);
    return chosen;
  }

  private static double[][] correlatedRows(Random random, int rows, Shape shape) {
    double rho = shape.correlation();
    double innovation = Math.sqrt(1.0 - rho * rho);
    double[][] x = new double[rows][shape.features()];
    for (double[] row : x) {
      // AR(1): each feature is ρ times its left neighbour plus fresh noise, unit variance.
      row[0] = random.nextGaussian();
      for (int j = 1; j < row.length; j++) {
        row[j] = rho * row[j - 1] + innovation * random.nextGaussian();
      }
    }
    return x;
  }

  private static double[] targets(
      Random random, double[][] x, double[] weights, double bias, Shape shape) {
    double[] y = new double[x.length];
    for (int i = 0; i < x.length; i++) {
      y[i] = LinearAlgebra.dot(x[i], weights) + bias + shape.noiseStdDev() * random.nextGaussian();
    }
    return y;
  }
}
