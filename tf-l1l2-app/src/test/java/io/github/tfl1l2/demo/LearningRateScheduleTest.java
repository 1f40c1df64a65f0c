package io.github.tfl1l2.demo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** The learning-rate staircase: starts at 1/curvature, ends a thousand times lower. */
class LearningRateScheduleTest {

  @Test
  void startsAtTheInverseCurvatureAndEndsAThousandTimesLower() {
    LearningRateSchedule schedule = LearningRateSchedule.decaying(8.0, 5000);
    float[] rates = schedule.rates();
    assertEquals(0.125f, rates[0]);
    assertEquals(0.000125f, rates[rates.length - 1], 1e-9);
    for (int i = 1; i < rates.length; i++) {
      assertTrue(rates[i] < rates[i - 1], "rates decrease");
    }
  }

  @Test
  void theStepsAddUpToTheTotalAndEveryPhaseGetsSome() {
    for (int total : new int[] {LearningRateSchedule.MIN_STEPS, 11, 999, 5000}) {
      LearningRateSchedule schedule = LearningRateSchedule.decaying(1.0, total);
      assertEquals(total, schedule.totalSteps());
      schedule.phases().forEach(phase -> assertTrue(phase.steps() >= 1, total + ": " + phase));
    }
  }

  @Test
  void rejectsTooFewStepsAndMeaninglessCurvature() {
    assertThrows(IllegalArgumentException.class,
        () -> LearningRateSchedule.decaying(1.0, LearningRateSchedule.MIN_STEPS - 1));
    assertThrows(IllegalArgumentException.class, () -> LearningRateSchedule.decaying(0.0, 100));
    assertThrows(IllegalArgumentException.class,
        () -> LearningRateSchedule.decaying(Double.NaN, 100));
  }

  @Test
  void theCurvatureBoundIsTheLargestEigenvalueOfTheGramMatrixWithBias() {
    // A = [X 1] = [[1, 0, 1], [0, 2, 1]], n = 2. AᵀA shares its non-zero eigenvalues with
    // AAᵀ = [[2, 1], [1, 5]], whose roots are (7 ± √13) / 2; divided by n the largest is
    // (7 + √13) / 4 ≈ 2.6514.
    double[][] x = {{1.0, 0.0}, {0.0, 2.0}};
    assertEquals((7.0 + Math.sqrt(13.0)) / 4.0,
        LinearAlgebra.largestGramEigenvalueWithBias(x), 1e-9);
  }
}
