package io.github.tfl1l2.demo;

import java.util.ArrayList;
import java.util.List;

/**
 * A staircase of gradient-descent learning rates: a list of phases, each a rate and a number of
 * steps.
 *
 * <p>Why decay at all: the gradient of {@code l1·|w|} is {@code ±l1} however small {@code w} is,
 * so a weight whose optimum is zero never lands on it under plain gradient descent; it jumps
 * across zero by up to {@code rate·(l1 + |data gradient|)} every step. Lowering the rate shrinks
 * that band in proportion, so with the last rate at a thousandth of the first the band is far
 * below the demo's 1e-3 "non-zero" threshold, and the weights that remain above it are the ones
 * the L1 optimum keeps. Steps of √10 rather than 10 matter: a weight heading for zero moves by
 * {@code rate·(l1 − |data gradient|)} per step, so a sudden tenfold drop strands weights that
 * were still on their way; measured against an exact coordinate-descent solution of the same
 * loss, this staircase left no weight on the wrong side of the threshold at 3000 steps, where
 * four tenfold stairs left up to four.
 *
 * @param phases the phases in order
 */
record LearningRateSchedule(List<Phase> phases) {

  /** The fraction of all steps each phase gets, and the rate factor relative to the first. */
  private static final double[] STEP_SHARES = {0.4, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1};

  private static final double[] RATE_FACTORS = {
    1.0, Math.pow(10, -0.5), 0.1, Math.pow(10, -1.5), 0.01, Math.pow(10, -2.5), 0.001
  };

  /** The fewest steps that give every phase at least one step. */
  static final int MIN_STEPS = 10;

  /** One constant-rate stretch of training. */
  record Phase(float rate, int steps) {}

  LearningRateSchedule {
    phases = List.copyOf(phases);
  }

  /**
   * The demo's schedule for a mean-squared-error loss whose Hessian has largest eigenvalue {@code
   * curvature}: it starts at {@code 1 / curvature}, the largest step that is guaranteed to
   * decrease a quadratic (stability ends at twice that), keeps it for 40 % of the steps, then
   * divides it by √10 after every further 10 %, ending at a thousandth of the start.
   *
   * @param curvature the largest eigenvalue of the data loss's Hessian, {@code > 0}
   * @param totalSteps all steps, at least {@link #MIN_STEPS}
   */
  static LearningRateSchedule decaying(double curvature, int totalSteps) {
    if (!(curvature > 0.0) || Double.isInfinite(curvature)) {
      throw new IllegalArgumentException("curvature must be finite and > 0, but was " + curvature);
    }
    if (totalSteps < MIN_STEPS) {
      throw new IllegalArgumentException(
          "totalSteps must be >= " + MIN_STEPS + ", but was " + totalSteps);
    }
    List<Phase> phases = new ArrayList<>();
    int assigned = 0;
    for (int i = 0; i < STEP_SHARES.length; i++) {
      int steps =
          i == STEP_SHARES.length - 1
              ? totalSteps - assigned
              : Math.max(1, (int) Math.round(totalSteps * STEP_SHARES[i]));
      assigned += steps;
      phases.add(new Phase((float) (RATE_FACTORS[i] / curvature), steps));
    }
    return new LearningRateSchedule(phases);
  }

  /** The rates of the phases in order. */
  float[] rates() {
    float[] rates = new float[phases.size()];
    for (int i = 0; i < rates.length; i++) {
      rates[i] = phases.get(i).rate();
    }
    return rates;
  }

  /** All steps of all phases. */
  int totalSteps() {
    return phases.stream().mapToInt(Phase::steps).sum();
  }
}
