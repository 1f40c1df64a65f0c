package io.github.tfl1l2.savedmodel;

import static io.github.tfl1l2.savedmodel.TestModels.assertClose;
import static io.github.tfl1l2.testing.References.l1Sum;
import static io.github.tfl1l2.testing.References.l2Sum;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.tfl1l2.L1L2;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.tensorflow.Graph;
import org.tensorflow.Operand;
import org.tensorflow.Result;
import org.tensorflow.SavedModelBundle;
import org.tensorflow.Session;
import org.tensorflow.Signature;
import org.tensorflow.Tensor;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.ndarray.StdArrays;
import org.tensorflow.op.Ops;
import org.tensorflow.op.core.Placeholder;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TFloat64;

class RegularizedSavedModelTest {
  @TempDir Path temp;

  /** A graph with three float32 variables and one float64 variable of known random values. */
  private static final class Fixture implements AutoCloseable {
    final Graph graph = new Graph();
    final Session session = new Session(graph);
    final Ops tf = Ops.create(graph);
    final Map<String, Operand<?>> variables = new LinkedHashMap<>();
    final Map<String, double[]> values = new LinkedHashMap<>();
    final Placeholder<TFloat32> x =
        tf.withName("x").placeholder(TFloat32.class, Placeholder.shape(Shape.of(-1, 3)));
    final Operand<TFloat32> y;

    Fixture() {
      Random random = new Random(7);
      float[][] kernel = new float[3][2];
      for (float[] row : kernel) {
        for (int j = 0; j < row.length; j++) {
          row[j] = (float) random.nextGaussian();
        }
      }
      Operand<TFloat32> k =
          add(
              "layer/kernel",
              tf.withName("kernel")
                  .variable(tf.withInitScope().constant(StdArrays.ndCopyOf(kernel))),
              flatten(kernel));
      add(
          "layer/bias",
          tf.withName("bias").variable(tf.withInitScope().constant(new float[] {0.5f, -0.25f})),
          new double[] {0.5, -0.25});
      add(
          "head/kernel",
          tf.withName("head_kernel").variable(tf.withInitScope().constant(new float[] {-3f, 4f})),
          new double[] {-3, 4});
      add(
          "scale",
          tf.withName("scale")
              .variable(tf.withInitScope().constant(new double[] {1.5, -2.0, 0.125})),
          new double[] {1.5, -2, 0.125});
      y = tf.withName("y").linalg.matMul(x, k);
    }

    private <T extends org.tensorflow.types.family.TType> Operand<T> add(
        String name, Operand<T> variable, double[] value) {
      variables.put(name, variable);
      values.put(name, value);
      return variable;
    }

    Signature serving() {
      return Signature.builder().key(Signature.DEFAULT_KEY).input("x", x).output("y", y).build();
    }

    @Override
    public void close() {
      session.close();
      graph.close();
    }
  }

  private static double[] flatten(float[][] matrix) {
    double[] flat = new double[matrix.length * matrix[0].length];
    for (int i = 0; i < matrix.length; i++) {
      for (int j = 0; j < matrix[i].length; j++) {
        flat[i * matrix[i].length + j] = matrix[i][j];
      }
    }
    return flat;
  }

  @Test
  void reloadedOutputsEqualTheInGraphValuesBeforeExport() throws Exception {
    Path dir = temp.resolve("model");
    Map<String, double[]> before = new LinkedHashMap<>();
    try (Fixture f = new Fixture()) {
      Signature sig =
          RegularizedSavedModel.exporter(f.session, L1L2.of(0.01, 0.1))
              .variables(f.variables)
              .signature(f.serving())
              .exportTo(dir);
      for (String output : List.of("penalty", "l1_sum", "l2_sum", "per_variable", "coefficients")) {
        before.put(output, TestModels.values(f.session, sig.getOutputs().get(output).name));
      }
    }
    try (SavedModelBundle bundle = SavedModelBundle.load(dir.toString(), "serve")) {
      Map<String, Object> after = TestModels.callRegularization(bundle);
      for (Map.Entry<String, double[]> output : before.entrySet()) {
        assertArrayEquals(
            output.getValue(), (double[]) after.get(output.getKey()), 0.0, output.getKey());
      }
    }
  }

  @Test
  void outputsMatchSumsRecomputedFromTheVariablesInDoublePrecision() throws Exception {
    Path dir = temp.resolve("model");
    double l1 = 0.01;
    double l2 = 0.1;
    double weight = 0.5;
    Map<String, double[]> values;
    try (Fixture f = new Fixture()) {
      values = f.values;
      RegularizedSavedModel.exporter(f.session, L1L2.builder().l1(l1).l2(l2).weight(weight).build())
          .variables(f.variables)
          .exportTo(dir);
    }
    try (SavedModelBundle bundle = SavedModelBundle.load(dir.toString(), "serve")) {
      Map<String, Object> out = TestModels.callRegularization(bundle);
      double l1Sum = 0;
      double l2Sum = 0;
      double[] perVariable = (double[]) out.get("per_variable");
      int i = 0;
      for (double[] value : values.values()) {
        assertClose(
            weight * (l1 * l1Sum(value) + l2 * l2Sum(value)), perVariable[i++], "per_variable");
        l1Sum += l1Sum(value);
        l2Sum += l2Sum(value);
      }
      assertEquals(values.size(), perVariable.length);
      assertClose(l1Sum, ((double[]) out.get("l1_sum"))[0], "l1_sum");
      assertClose(l2Sum, ((double[]) out.get("l2_sum"))[0], "l2_sum");
      assertClose(
          weight * (l1 * l1Sum + l2 * l2Sum), ((double[]) out.get("penalty"))[0], "penalty");
      assertArrayEquals(new double[] {l1, l2, weight}, (double[]) out.get("coefficients"), 0.0);
      assertEquals(List.copyOf(values.keySet()), out.get("variable_names"));
    }
  }

  @Test
  void outputsHaveTheDocumentedTypesAndShapes() throws Exception {
    Path dir = temp.resolve("model");
    try (Fixture f = new Fixture()) {
      RegularizedSavedModel.exporter(f.session, L1L2.of(0.0, 0.01))
          .variables(f.variables)
          .exportTo(dir);
    }
    try (SavedModelBundle bundle = SavedModelBundle.load(dir.toString(), "serve");
        Result result = bundle.function("regularization").call(Map.of())) {
      for (String scalar : List.of("penalty", "l1_sum", "l2_sum")) {
        Tensor t = result.get(scalar).orElseThrow();
        assertTrue(t instanceof TFloat32, scalar + " is float32");
        assertEquals(Shape.scalar(), t.shape(), scalar + " is a scalar");
      }
      Tensor perVariable = result.get("per_variable").orElseThrow();
      assertTrue(perVariable instanceof TFloat32);
      assertEquals(Shape.of(4), perVariable.shape());
      assertTrue(result.get("coefficients").orElseThrow() instanceof TFloat64);
      assertTrue(bundle.function("regularization").signature().inputNames().isEmpty());
    }
  }

  @Test
  void methodNameDocumentsTheCoefficientsAndSelection() throws Exception {
    Path dir = temp.resolve("model");
    try (Fixture f = new Fixture()) {
      RegularizedSavedModel.exporter(
              f.session, L1L2.builder().l1(1e-4).l2(0.001).on("kernel").build())
          .variables(f.variables)
          .exportTo(dir);
    }
    try (SavedModelBundle bundle = SavedModelBundle.load(dir.toString(), "serve")) {
      assertEquals(
          "tfl1l2/l1=1.0E-4,l2=0.001,weight=1.0,on=kernel",
          bundle.metaGraphDef().getSignatureDefOrThrow("regularization").getMethodName());
    }
  }

  @Test
  void onSelectsTheVariablesWhoseNamesMatch() throws Exception {
    Path dir = temp.resolve("model");
    Map<String, double[]> values;
    try (Fixture f = new Fixture()) {
      values = f.values;
      RegularizedSavedModel.exporter(f.session, L1L2.builder().l2(1.0).on("kernel$").build())
          .variables(f.variables)
          .exportTo(dir);
    }
    try (SavedModelBundle bundle = SavedModelBundle.load(dir.toString(), "serve")) {
      Map<String, Object> out = TestModels.callRegularization(bundle);
      assertEquals(List.of("layer/kernel", "head/kernel"), out.get("variable_names"));
      assertClose(
          l2Sum(values.get("layer/kernel")) + l2Sum(values.get("head/kernel")),
          ((double[]) out.get("penalty"))[0],
          "penalty over the kernels only");
    }
  }

  @Test
  void theModelsOwnSignatureStillComputesTheSameResult() throws Exception {
    Path dir = temp.resolve("model");
    float[][] input = {{1f, 2f, 3f}, {-1f, 0.5f, 0f}};
    double[] expected;
    try (Fixture f = new Fixture();
        TFloat32 x = TFloat32.tensorOf(StdArrays.ndCopyOf(input));
        Result r = f.session.runner().feed(f.x, x).fetch(f.y).run()) {
      expected = TestModels.values(r.get(0));
      RegularizedSavedModel.exporter(f.session, L1L2.of(0.0, 0.01))
          .variables(f.variables)
          .signature(f.serving())
          .exportTo(dir);
    }
    try (SavedModelBundle bundle = SavedModelBundle.load(dir.toString(), "serve");
        TFloat32 x = TFloat32.tensorOf(StdArrays.ndCopyOf(input));
        Result r = bundle.function(Signature.DEFAULT_KEY).call(Map.of("x", x))) {
      assertArrayEquals(expected, TestModels.values(r.get("y").orElseThrow()), 0.0);
    }
  }

  @Test
  void anExistingDirectoryIsRefusedAndLeftAsItWas() throws Exception {
    Path dir = Files.createDirectory(temp.resolve("model"));
    Files.writeString(dir.resolve("keep.txt"), "mine");
    try (Fixture f = new Fixture()) {
      SavedModelException e =
          assertThrows(
              SavedModelException.class,
              () ->
                  RegularizedSavedModel.exporter(f.session, L1L2.of(0, 0.01))
                      .variables(f.variables)
                      .exportTo(dir));
      assertTrue(e.getMessage().contains("already exists"), e.getMessage());
    }
    assertEquals(List.of("keep.txt"), TestModels.listing(dir));
    assertEquals(List.of("model"), TestModels.listing(temp));
  }

  @Test
  void aSelectionWithoutVariablesIsRefusedAndNothingIsWritten() {
    try (Fixture f = new Fixture()) {
      IllegalArgumentException e =
          assertThrows(
              IllegalArgumentException.class,
              () ->
                  RegularizedSavedModel.exporter(
                          f.session, L1L2.builder().l2(1).on("nothing").build())
                      .variables(f.variables)
                      .exportTo(temp.resolve("model")));
      assertTrue(e.getMessage().contains("on=\"nothing\" matches none"), e.getMessage());
    }
    assertFalse(Files.exists(temp.resolve("model")));
  }

  @Test
  void theRegularizationKeyIsReservedForTheAddedSignature() {
    try (Fixture f = new Fixture()) {
      Signature clash = Signature.builder().key("regularization").output("y", f.y).build();
      assertThrows(
          IllegalArgumentException.class,
          () -> RegularizedSavedModel.exporter(f.session, L1L2.of(0, 1)).signature(clash));
    }
  }
}
