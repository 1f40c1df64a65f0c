package io.github.tfl1l2.demo;

import io.github.tfl1l2.L1L2;
import java.nio.file.Path;

/**
 * Everything a demo run depends on.
 *
 * @param l1 the L1 coefficient of the "L1 only" and "L1+L2" settings
 * @param l2 the L2 coefficient of the "L2 only" and "L1+L2" settings
 * @param steps training steps per trained model
 * @param seed the seed of the synthetic problem
 * @param pathPoints how many L1 coefficients the regularization path sweeps
 * @param outputDirectory where the charts go
 * @param exportDirectory where the L1+L2 SavedModel goes
 */
record DemoSettings(
    double l1,
    double l2,
    int steps,
    long seed,
    int pathPoints,
    Path outputDirectory,
    Path exportDirectory) {

  /** The default L1 coefficient: near the test-error optimum of the default problem. */
  static final double DEFAULT_L1 = 0.2;

  /** The default L2 coefficient: near the test-error optimum of ridge on the default problem. */
  static final double DEFAULT_L2 = 0.05;

  /** The default seed. */
  static final long DEFAULT_SEED = 42;

  /** Steps per model in a full run. */
  static final int FULL_STEPS = 5000;

  /** Steps per model in a quick run. */
  static final int QUICK_STEPS = 3000;

  /** Path points in a full run. */
  static final int FULL_PATH_POINTS = 14;

  /** The fewest training steps per model. */
  static final int MIN_STEPS = 1;

  /** Path points in a quick run. */
  static final int QUICK_PATH_POINTS = 6;

  DemoSettings {
    try {
      L1L2.of(l1, l2);
    } catch (IllegalArgumentException e) {
      // L1L2 names the coefficient first (l1, l2): the options bear the same names.
      throw new IllegalArgumentException("--" + e.getMessage(), e);
    }
    if (steps < MIN_STEPS) {
      throw new IllegalArgumentException(
          "--steps must be at least " + MIN_STEPS + ", but was " + steps);
    }
    if (pathPoints < 2) {
      throw new IllegalArgumentException("pathPoints must be at least 2, but was " + pathPoints);
    }
  }
}
