package io.github.tfl1l2.demo;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import org.junit.jupiter.api.Test;

/** The generated problem has the shape and statistics the demo announces. */
class SparseRegressionProblemTest {
  private final SparseRegressionProblem problem =
      SparseRegressionProblem.generate(SparseRegressionProblem.Shape.DEFAULT, 42);

  @Test
  void twoHundredFeaturesOfWhichTenMatter() {
    assertEquals(200, problem.features());
    assertEquals(10, Arrays.stream(problem.trueWeights()).filter(w -> w != 0.0).count());
    for (double w : problem.trueWeights()) {
      assertTrue(w == 0.0 || (Math.abs(w) >= 0.5 && Math.abs(w) < 2.0), "weight " + w);
    }
  }

  @Test
  void fewerTrainingRowsThanFeaturesAndASeparateTestSet() {
    assertEquals(150, problem.trainFeatures().length);
    assertEquals(150, problem.trainTargets().length);
    assertEquals(500, problem.testFeatures().length);
    assertEquals(500, problem.testTargets().length);
    assertTrue(problem.trainFeatures().length < problem.features());
  }

  @Test
  void neighbouringFeaturesAreCorrelatedAsAnnounced() {
    double[][] x = problem.testFeatures();
    double sum = 0.0;
    int pairs = 0;
    for (int j = 0; j + 1 < problem.features(); j++) {
      sum += correlation(x, j, j + 1);
      pairs++;
    }
    assertEquals(0.6, sum / pairs, 0.03, "mean lag-1 correlation");
    double far = 0.0;
    for (int j = 0; j + 10 < problem.features(); j++) {
      far += correlation(x, j, j + 10);
    }
    assertEquals(0.0, far / (problem.features() - 10), 0.03, "0.6^10 is about 0.006");
  }

  @Test
  void targetsAreTheTrueModelPlusUnitNoise() {
    double[][] x = problem.testFeatures();
    double sumSquares = 0.0;
    for (int i = 0; i < x.length; i++) {
      double residual = problem.testTargets()[i] - problem.trueBias();
      for (int j = 0; j < problem.features(); j++) {
        residual -= x[i][j] * problem.trueWeights()[j];
      }
      sumSquares += residual * residual;
    }
    assertEquals(1.0, sumSquares / x.length, 0.15, "noise variance");
  }

  @Test
  void theSeedAloneDecidesTheProblem() {
    SparseRegressionProblem same =
        SparseRegressionProblem.generate(SparseRegressionProblem.Shape.DEFAULT, 42);
    SparseRegressionProblem other =
        SparseRegressionProblem.generate(SparseRegressionProblem.Shape.DEFAULT, 43);
    assertArrayEquals(problem.trueWeights(), same.trueWeights());
    assertArrayEquals(problem.trainFeatures()[7], same.trainFeatures()[7]);
    assertArrayEquals(problem.testTargets(), same.testTargets());
    assertFalse(Arrays.equals(problem.trueWeights(), other.trueWeights()));
  }

  private static double correlation(double[][] x, int a, int b) {
    int n = x.length;
    double meanA = 0.0;
    double meanB = 0.0;
    for (double[] row : x) {
      meanA += row[a] / n;
      meanB += row[b] / n;
    }
    double cov = 0.0;
    double varA = 0.0;
    double varB = 0.0;
    for (double[] row : x) {
      cov += (row[a] - meanA) * (row[b] - meanB);
      varA += (row[a] - meanA) * (row[a] - meanA);
      varB += (row[b] - meanB) * (row[b] - meanB);
    }
    return cov / Math.sqrt(varA * varB);
  }
}
