package io.github.tfl1l2;

/** Double-precision reference sums, computed in the test independently of the library. */
final class Reference {
  private Reference() {}

  static double l1Sum(float[]... weights) {
    double sum = 0;
    for (float[] w : weights) {
      for (float v : w) {
        sum += Math.abs((double) v);
      }
    }
    return sum;
  }

  static double l2Sum(float[]... weights) {
    double sum = 0;
    for (float[] w : weights) {
      for (float v : w) {
        sum += (double) v * (double) v;
      }
    }
    return sum;
  }

  static double penalty(double l1, double l2, double weight, float[]... weights) {
    return weight * (l1 * l1Sum(weights) + l2 * l2Sum(weights));
  }

  static double relativeError(double actual, double expected) {
    return expected == 0 ? Math.abs(actual) : Math.abs(actual - expected) / Math.abs(expected);
  }
}
