package io.github.tfl1l2.savedmodel;

import static io.github.tfl1l2.savedmodel.TestModels.assertClose;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.tfl1l2.L1L2;
import io.github.tfl1l2.testing.References;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.tensorflow.Graph;
import org.tensorflow.Operand;
import org.tensorflow.Result;
import org.tensorflow.SavedModelBundle;
import org.tensorflow.Session;
import org.tensorflow.Tensor;
import org.tensorflow.exceptions.TensorFlowException;
import org.tensorflow.framework.optimizers.GradientDescent;
import org.tensorflow.ndarray.NdArrays;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.ndarray.buffer.DataBuffers;
import org.tensorflow.op.Op;
import org.tensorflow.op.Ops;
import org.tensorflow.op.train.Restore;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.family.TType;

/**
 * Keras 3 SavedModels: the {@code model.export()} archive {@code keras3_export_multihead_mlp} (each
 * weight tracked twice in the object graph) and {@link Keras3SavedModelFixture}, laid out as {@code
 * tf.saved_model.save} lays out a Keras 3 model (the C++ loader's restore op leaves the handles the
 * serving functions read uninitialized). Expected values are recomputed here in double precision
 * from the variables' values.
 */
class Keras3SavedModelTest {
  /** The handles the serving functions read for the 14 trainable weights. */
  private static final List<String> TRAINABLE =
      List.of(
          "batch_normalization/beta_1",
          "batch_normalization/gamma_1",
          "batch_normalization_1/beta_1",
          "batch_normalization_1/gamma_1",
          "classification_head/bias_1",
          "classification_head/kernel_1",
          "dense/bias_1",
          "dense/kernel_1",
          "dense_1/bias_1",
          "dense_1/kernel_1",
          "dense_2/bias_1",
          "dense_2/kernel_1",
          "regression_head/bias_1",
          "regression_head/kernel_1");

  private static final int FEATURES = 57;
  private static final int BATCH = 8;
  private static final double L1 = 0.001;
  private static final double L2 = 0.01;

  @TempDir Path temp;

  private static TFloat32 features() {
    SplittableRandom random = new SplittableRandom(7);
    float[] values = new float[BATCH * FEATURES];
    for (int i = 0; i < values.length; i++) {
      values[i] = (float) random.nextGaussian();
    }
    return TFloat32.tensorOf(Shape.of(BATCH, FEATURES), DataBuffers.of(values, true, false));
  }

  /** The value of a resource variable of a loaded graph, read by an op added here. */
  private static double[] read(Graph graph, Session session, String name) {
    Ops tf = Ops.create(graph);
    Operand<TFloat32> value =
        tf.readVariableOp(graph.operationOrThrow(name).output(0), TFloat32.class);
    try (Result result = session.runner().fetch(value).run()) {
      return TestModels.values(result.get(0));
    }
  }

  /**
   * Both outputs of {@code serving_default} of a bundle loaded by TensorFlow's C++ loader alone.
   */
  private static Map<String, double[]> serve(SavedModelBundle bundle) {
    Map<String, double[]> outputs = new TreeMap<>();
    try (TFloat32 x = features();
        Result result = bundle.function("serving_default").call(Map.of("features", x))) {
      for (Map.Entry<String, Tensor> entry : result) {
        outputs.put(entry.getKey(), TestModels.values(entry.getValue()));
      }
    }
    return outputs;
  }

  /** Both outputs of the inlined {@code serving_default} of {@code model}. */
  private static Map<String, double[]> serve(TrainableSavedModel model) {
    Map<String, double[]> outputs = new TreeMap<>();
    try (TFloat32 x = features();
        Result result =
            model
                .session()
                .runner()
                .feed(model.input("features"), x)
                .fetch(model.output("output_0", TFloat32.class))
                .fetch(model.output("output_1", TFloat32.class))
                .run()) {
      outputs.put("output_0", TestModels.values(result.get(0)));
      outputs.put("output_1", TestModels.values(result.get(1)));
    }
    return outputs;
  }

  private static void assertSameOutputs(
      Map<String, double[]> expected, Map<String, double[]> actual, String what) {
    assertEquals(expected.keySet(), actual.keySet(), what);
    for (String key : expected.keySet()) {
      assertArrayEquals(expected.get(key), actual.get(key), 1e-5, what + ": " + key);
    }
  }

  /** L1 · Σ|w| + L2 · Σw² over {@link #TRAINABLE}, in double, from {@code session}'s values. */
  private static double penalty(Graph graph, Session session) {
    double l1 = 0;
    double l2 = 0;
    for (String name : TRAINABLE) {
      double[] w = read(graph, session, name);
      l1 += References.l1Sum(w);
      l2 += References.l2Sum(w);
    }
    return L1 * l1 + L2 * l2;
  }

  private static L1L2 config() {
    return L1L2.builder().l1(L1).l2(L2).build();
  }

  /** A checkpoint value by key, read with RestoreV2 as Python's loader reads it. */
  private static double[] checkpointValue(Path model, String key) {
    try (Graph graph = new Graph();
        Session session = new Session(graph)) {
      Ops tf = Ops.create(graph);
      Restore restore =
          tf.train.restore(
              tf.constant(model.resolve("variables/variables").toString()),
              tf.constant(NdArrays.vectorOfObjects(key)),
              tf.constant(NdArrays.vectorOfObjects("")),
              List.<Class<? extends TType>>of(TFloat32.class));
      try (Result result = session.runner().fetch(restore.tensors().get(0)).run()) {
        return TestModels.values(result.get(0));
      }
    }
  }

  /**
   * Five gradient-descent steps with the penalty, through {@link L1L2#minimize}, on a loss of both
   * heads: the classification head's squared distance to 1, and the regression head's squares
   * scaled down by 1e-9 (its outputs are in the thousands); returns the outputs after them.
   */
  private static Map<String, double[]> fineTune(TrainableSavedModel model) {
    Ops tf = Ops.create(model.graph());
    Operand<TFloat32> loss =
        tf.math.add(
            tf.reduceSum(
                tf.math.square(
                    tf.math.sub(model.output("output_1", TFloat32.class), tf.constant(1f))),
                tf.constant(new int[] {0, 1})),
            tf.math.mul(
                tf.constant(1e-9f),
                tf.reduceSum(
                    tf.math.square(model.output("output_0", TFloat32.class)),
                    tf.constant(new int[] {0, 1}))));
    Op step =
        config()
            .minimize(new GradientDescent(model.graph(), 0.01f), loss, model.trainableVariables());
    try (TFloat32 x = features()) {
      for (int i = 0; i < 5; i++) {
        model.session().runner().feed(model.input("features"), x).addTarget(step).run();
      }
    }
    return serve(model);
  }

  @Test
  void exportArchiveSelectsEachTrainableWeightOnce() {
    Path model = TestModels.external(Keras3SavedModelFixture.SOURCE);
    try (LoadedSavedModel loaded = LoadedSavedModel.open(model)) {
      List<String> names =
          loaded.select(config(), false).stream().map(ModelVariable::name).sorted().toList();
      assertEquals(TRAINABLE, names);
      // The duplicate handles that nothing reads hold no value and are never selected.
      assertTrue(
          loaded.select(config(), true).stream().noneMatch(v -> v.name().equals("dense/kernel")));
    }
  }

  @Test
  void exportArchiveRegularizesWithAPenaltyEqualToADoubleRecomputation() {
    Path model = TestModels.external(Keras3SavedModelFixture.SOURCE);
    Path out = temp.resolve("regularized");
    try (LoadedSavedModel loaded = LoadedSavedModel.open(model)) {
      loaded.exportRegularized(config(), loaded.select(config(), false), out);
    }
    try (SavedModelBundle bundle = SavedModelBundle.load(out.toString(), "serve")) {
      double expected = penalty(bundle.graph(), bundle.session());
      double[] penalty = (double[]) TestModels.callRegularization(bundle).get("penalty");
      assertClose(expected, penalty[0], "penalty of the regularization signature");
    }
  }

  @Test
  void exportArchiveTrainableVariablesListEachWeightOnce() {
    Path model = TestModels.external(Keras3SavedModelFixture.SOURCE);
    try (TrainableSavedModel trainable = TrainableSavedModel.open(model)) {
      List<String> names =
          trainable.trainableVariables().stream().map(h -> h.op().name()).sorted().toList();
      assertEquals(TRAINABLE, names);
      assertEquals(names.size(), new TreeSet<>(names).size());
    }
  }

  @Test
  void exportArchiveFineTunedServesTheTrainedOutputInBothLoaders() {
    Path model = TestModels.external(Keras3SavedModelFixture.SOURCE);
    fineTuneExportAndReload(model, "variables/0/.ATTRIBUTES/VARIABLE_VALUE");
  }

  @Test
  void savedLayoutFixtureLeavesTheServingHandlesUninitializedForTheCppLoader() throws Exception {
    Path fixture = Keras3SavedModelFixture.create(temp.resolve("keras3-saved"));
    try (SavedModelBundle bundle = SavedModelBundle.load(fixture.toString(), "serve")) {
      TensorFlowException failure = assertThrows(TensorFlowException.class, () -> serve(bundle));
      assertTrue(
          failure.getMessage().contains("dense") || failure.getMessage().contains("uninitialized"),
          failure.getMessage());
    }
  }

  @Test
  void savedLayoutOpensRestoredByTheObjectGraphAndServesTheOriginalOutput() throws Exception {
    Path source = TestModels.external(Keras3SavedModelFixture.SOURCE);
    Path fixture = Keras3SavedModelFixture.create(temp.resolve("keras3-saved"));
    Map<String, double[]> original;
    try (SavedModelBundle bundle = SavedModelBundle.load(source.toString(), "serve")) {
      original = serve(bundle);
    }
    try (LoadedSavedModel loaded = LoadedSavedModel.open(fixture)) {
      assertSameOutputs(original, serve(loaded.bundle()), "serving_default after open");
      assertEquals(
          TRAINABLE,
          loaded.select(config(), false).stream().map(ModelVariable::name).sorted().toList());
    }
    try (TrainableSavedModel trainable = TrainableSavedModel.open(fixture)) {
      assertSameOutputs(original, serve(trainable), "inlined serving_default");
    }
  }

  @Test
  void savedLayoutFineTunedServesTheTrainedOutputInBothLoaders() throws Exception {
    Path fixture = Keras3SavedModelFixture.create(temp.resolve("keras3-saved"));
    fineTuneExportAndReload(fixture, "optimizer/_trainable_variables/0/.ATTRIBUTES/VARIABLE_VALUE");
  }

  /** The fixture with the checkpoint's object graph giving dense/kernel's node 8 {@code key}. */
  private Path fixtureWithFirstKernelKey(String key) throws Exception {
    return Keras3SavedModelFixture.create(
        temp.resolve("broken"),
        graph -> {
          var builder = graph.toBuilder();
          var attribute = builder.getNodesBuilder(8).getAttributesBuilder(0);
          assertEquals(
              "optimizer/_trainable_variables/0/.ATTRIBUTES/VARIABLE_VALUE",
              attribute.getCheckpointKey());
          attribute.setCheckpointKey(key);
          return builder.build();
        });
  }

  @Test
  void savedLayoutWhoseObjectGraphNamesAMissingKeyIsRefusedNamingTheVariable() throws Exception {
    Path fixture = fixtureWithFirstKernelKey("optimizer/_trainable_variables/0/.ATTRIBUTES/GONE");
    SavedModelException failure =
        assertThrows(SavedModelException.class, () -> LoadedSavedModel.open(fixture));
    assertTrue(
        failure
            .getMessage()
            .startsWith(fixture + ": variable dense/kernel_1 (object-graph node 8) is left"),
        failure.getMessage());
    assertTrue(failure.getMessage().contains("GONE"), failure.getMessage());
    assertFalse(failure.getMessage().contains("\n"), failure.getMessage());
  }

  @Test
  void savedLayoutWhoseObjectGraphNamesAValueOfAnotherShapeIsRefusedNamingTheVariable()
      throws Exception {
    // dense/bias's key: a [128] value for the [57, 128] kernel.
    Path fixture =
        fixtureWithFirstKernelKey("optimizer/_trainable_variables/1/.ATTRIBUTES/VARIABLE_VALUE");
    SavedModelException failure =
        assertThrows(SavedModelException.class, () -> TrainableSavedModel.open(fixture));
    assertTrue(
        failure
            .getMessage()
            .startsWith(fixture + ": variable dense/kernel_1 (object-graph node 8)"),
        failure.getMessage());
    assertTrue(
        failure.getMessage().contains("Incompatible shapes")
            || failure.getMessage().contains("shape"),
        failure.getMessage());
  }

  private void fineTuneExportAndReload(Path model, String firstKernelKey) {
    Path out = temp.resolve("tuned");
    Map<String, double[]> before;
    Map<String, double[]> trained;
    double[] trainedKernel;
    try (TrainableSavedModel trainable = TrainableSavedModel.open(model)) {
      before = serve(trainable);
      trained = fineTune(trainable);
      trainedKernel = read(trainable.graph(), trainable.session(), "dense/kernel_1");
      PenaltyReport report = trainable.exportTo(out, config());
      assertClose(
          penalty(trainable.graph(), trainable.session()), report.penalty(), "reported penalty");
    }
    assertFalse(
        java.util.Arrays.equals(before.get("output_1"), trained.get("output_1")),
        "the steps changed the output");
    try (SavedModelBundle bundle = SavedModelBundle.load(out.toString(), "serve")) {
      assertSameOutputs(trained, serve(bundle), "SavedModelBundle.load of the export");
      assertClose(
          penalty(bundle.graph(), bundle.session()),
          ((double[]) TestModels.callRegularization(bundle).get("penalty"))[0],
          "regularization signature of the export");
      assertArrayEquals(trainedKernel, read(bundle.graph(), bundle.session(), "dense/kernel_1"));
    }
    // What Python's loader restores for the first kernel: the object graph's key.
    assertArrayEquals(trainedKernel, checkpointValue(out, firstKernelKey));
    try (TrainableSavedModel reopened = TrainableSavedModel.open(out)) {
      assertSameOutputs(trained, serve(reopened), "TrainableSavedModel.open of the export");
    }
  }
}
