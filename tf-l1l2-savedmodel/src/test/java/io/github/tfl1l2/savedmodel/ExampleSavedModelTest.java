package io.github.tfl1l2.savedmodel;

import static io.github.tfl1l2.savedmodel.TestModels.EXAMPLE;
import static io.github.tfl1l2.savedmodel.TestModels.assertClose;
import static io.github.tfl1l2.testing.References.l1Sum;
import static io.github.tfl1l2.testing.References.l2Sum;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.tensorflow.Result;
import org.tensorflow.SavedModelBundle;
import org.tensorflow.ndarray.StdArrays;
import org.tensorflow.types.TFloat32;

/**
 * The example in {@code savedmodels/mlp-4-8-3}, read with plain TF-Java: its documented regularizer
 * is l1=0.001, l2=0.01, weight=1 over the variables whose name contains "kernel".
 */
class ExampleSavedModelTest {
  private static final double L1 = 0.001;
  private static final double L2 = 0.01;
  private static final List<String> KERNELS = List.of("dense/kernel", "dense_1/kernel");

  private static SavedModelBundle bundle;
  private static Map<String, Object> outputs;

  @BeforeAll
  static void load() {
    bundle = SavedModelBundle.load(EXAMPLE.toString(), "serve");
    outputs = TestModels.callRegularization(bundle);
  }

  @AfterAll
  static void close() {
    bundle.close();
  }

  private static double[] variable(String name) {
    return TestModels.values(bundle.session(), name);
  }

  @Test
  void isSmallerThanTwoMebibytes() throws IOException {
    try (Stream<Path> files = Files.walk(EXAMPLE)) {
      long bytes = files.filter(Files::isRegularFile).mapToLong(p -> p.toFile().length()).sum();
      assertTrue(bytes < 2 * 1024 * 1024, bytes + " bytes");
    }
  }

  @Test
  void hasItsServingAndRegularizationSignatures() {
    assertEquals(
        List.of("regularization", "serving_default"),
        bundle.metaGraphDef().getSignatureDefMap().keySet().stream().sorted().toList());
  }

  @Test
  void regularizesTheKernelsInOrder() {
    assertEquals(KERNELS, outputs.get("variable_names"));
  }

  @Test
  void coefficientsOutputRecordsTheConfiguration() {
    assertArrayEquals(new double[] {L1, L2, 1.0}, (double[]) outputs.get("coefficients"), 0.0);
    assertEquals(
        "tfl1l2/l1=0.001,l2=0.01,weight=1.0,on=kernel",
        bundle.metaGraphDef().getSignatureDefOrThrow("regularization").getMethodName());
  }

  @Test
  void l1SumIsTheSumOfAbsoluteKernelValues() {
    double expected = KERNELS.stream().mapToDouble(k -> l1Sum(variable(k))).sum();
    assertClose(expected, ((double[]) outputs.get("l1_sum"))[0], "l1_sum");
  }

  @Test
  void l2SumIsTheSumOfSquaredKernelValues() {
    double expected = KERNELS.stream().mapToDouble(k -> l2Sum(variable(k))).sum();
    assertClose(expected, ((double[]) outputs.get("l2_sum"))[0], "l2_sum");
  }

  @Test
  void perVariableHoldsEachKernelsPenalty() {
    double[] perVariable = (double[]) outputs.get("per_variable");
    assertEquals(KERNELS.size(), perVariable.length);
    for (int i = 0; i < KERNELS.size(); i++) {
      double[] w = variable(KERNELS.get(i));
      assertClose(L1 * l1Sum(w) + L2 * l2Sum(w), perVariable[i], KERNELS.get(i));
    }
  }

  @Test
  void penaltyIsTheWeightedSumOverTheKernels() {
    double expected =
        KERNELS.stream().mapToDouble(k -> L1 * l1Sum(variable(k)) + L2 * l2Sum(variable(k))).sum();
    assertClose(expected, ((double[]) outputs.get("penalty"))[0], "penalty");
  }

  @Test
  void servingSignatureComputesTheTwoLayerPerceptron() {
    float[][] x = {{1f, -2f, 0.5f, 3f}, {0f, 0f, 0f, 0f}};
    double[] k1 = variable("dense/kernel");
    double[] b1 = variable("dense/bias");
    double[] k2 = variable("dense_1/kernel");
    double[] b2 = variable("dense_1/bias");
    double[] expected = new double[x.length * 3];
    for (int row = 0; row < x.length; row++) {
      double[] hidden = new double[8];
      for (int j = 0; j < 8; j++) {
        double sum = b1[j];
        for (int i = 0; i < 4; i++) {
          sum += x[row][i] * k1[i * 8 + j];
        }
        hidden[j] = Math.max(0.0, sum);
      }
      for (int j = 0; j < 3; j++) {
        double sum = b2[j];
        for (int i = 0; i < 8; i++) {
          sum += hidden[i] * k2[i * 3 + j];
        }
        expected[row * 3 + j] = sum;
      }
    }
    try (TFloat32 input = TFloat32.tensorOf(StdArrays.ndCopyOf(x));
        Result result = bundle.function("serving_default").call(Map.of("x", input))) {
      assertArrayEquals(expected, TestModels.values(result.get("logits").orElseThrow()), 1e-5);
    }
  }
}
