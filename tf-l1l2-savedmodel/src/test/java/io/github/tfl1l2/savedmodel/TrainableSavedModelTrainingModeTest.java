package io.github.tfl1l2.savedmodel;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.tfl1l2.L1L2;
import io.github.tfl1l2.savedmodel.TrainableSavedModel.Mode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.Random;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.tensorflow.GraphOperation;
import org.tensorflow.Operand;
import org.tensorflow.Result;
import org.tensorflow.SavedModelBundle;
import org.tensorflow.framework.optimizers.GradientDescent;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.ndarray.buffer.DataBuffers;
import org.tensorflow.op.Op;
import org.tensorflow.op.Ops;
import org.tensorflow.proto.MetaGraphDef;
import org.tensorflow.proto.SavedModel;
import org.tensorflow.proto.SavedObjectGraphOuterClass.SavedConcreteFunction;
import org.tensorflow.proto.SavedObjectGraphOuterClass.SavedObject;
import org.tensorflow.proto.SavedObjectGraphOuterClass.SavedObjectGraph;
import org.tensorflow.proto.Struct.StructuredValue;
import org.tensorflow.proto.TensorShapeProto;
import org.tensorflow.proto.TrackableObjectGraphOuterClass.TrackableObjectGraph.TrackableObject.ObjectReference;
import org.tensorflow.types.TFloat32;

/**
 * {@link TrainableSavedModel.Mode#TRAINING} and {@link TrainableSavedModel#modelLosses()} on real
 * Keras SavedModels: Dropout and BatchNormalization behave as in Keras's {@code training=True}, the
 * moving statistics move by the layer's momentum, and the model's own losses equal its declared
 * penalties recomputed here in double precision.
 */
class TrainableSavedModelTrainingModeTest {
  /** Keras 2.12: Dense(2) → BatchNormalization → Dropout(0.5) → Dense(1, sigmoid); 30 inputs. */
  private static final String MLP = "mlp_bn_dropout";

  private static final String MLP_INPUT = "input_2";
  private static final String MLP_OUTPUT = "dense_3";
  private static final String MOVING_MEAN = "batch_normalization_1/moving_mean";
  private static final String MOVING_VARIANCE = "batch_normalization_1/moving_variance";
  private static final int BATCH = 32;
  private static final int FEATURES = 30;

  @TempDir Path temp;

  private static TFloat32 batch(long seed) {
    Random random = new Random(seed);
    float[] values = new float[BATCH * FEATURES];
    for (int i = 0; i < values.length; i++) {
      values[i] = (float) random.nextGaussian();
    }
    return TFloat32.tensorOf(Shape.of(BATCH, FEATURES), DataBuffers.of(values, true, false));
  }

  private static double[] run(TrainableSavedModel model, TFloat32 x, Operand<?> fetch) {
    try (Result result =
        model.session().runner().feed(model.input(MLP_INPUT), x).fetch(fetch).run()) {
      return TestModels.values(result.get(0));
    }
  }

  @Test
  void twoTrainingRunsOnOneBatchDrawDifferentDropoutMasks() {
    Path dir = TestModels.external(MLP);
    try (TFloat32 x = batch(1);
        TrainableSavedModel model =
            TrainableSavedModel.open(dir, "serving_default", Mode.TRAINING)) {
      Operand<TFloat32> y = model.output(MLP_OUTPUT, TFloat32.class);
      assertFalse(Arrays.equals(run(model, x, y), run(model, x, y)));
    }
  }

  @Test
  void twoInferenceRunsOnOneBatchAreEqual() {
    Path dir = TestModels.external(MLP);
    try (TFloat32 x = batch(1);
        TrainableSavedModel model = TrainableSavedModel.open(dir, "serving_default")) {
      Operand<TFloat32> y = model.output(MLP_OUTPUT, TFloat32.class);
      assertArrayEquals(run(model, x, y), run(model, x, y));
    }
  }

  @Test
  void oneMinimizeStepMovesTheMovingStatisticsOnceByTheLayersMomentum() throws IOException {
    Path dir = TestModels.external(MLP);
    double momentum = batchNormalizationMomentum(dir);
    try (TFloat32 x = batch(2);
        TrainableSavedModel model =
            TrainableSavedModel.open(dir, "serving_default", Mode.TRAINING)) {
      Ops tf = Ops.create(model.graph());
      Operand<TFloat32> y = model.output(MLP_OUTPUT, TFloat32.class);
      Operand<TFloat32> loss = tf.math.mean(tf.math.square(y), tf.constant(new int[] {0, 1}));
      L1L2 reg = L1L2.builder().l2(1e-4).on("kernel").build();
      Op step =
          reg.minimize(new GradientDescent(model.graph(), 0.1f), loss, model.trainableVariables());
      // The layer's input: the training call's Dense output, fetched in the step's own run.
      String layerInput = trainingOp(model, "dense_2/StatefulPartitionedCall/Relu");
      double[] mean = TestModels.values(model.session(), MOVING_MEAN + "/Read/ReadVariableOp");
      double[] variance =
          TestModels.values(model.session(), MOVING_VARIANCE + "/Read/ReadVariableOp");
      double[] h;
      try (Result result =
          model
              .session()
              .runner()
              .feed(model.input(MLP_INPUT), x)
              .addTarget(step)
              .fetch(layerInput)
              .run()) {
        h = TestModels.values(result.get(0));
      }
      double[] meanAfter = TestModels.values(model.session(), MOVING_MEAN + "/Read/ReadVariableOp");
      double[] varianceAfter =
          TestModels.values(model.session(), MOVING_VARIANCE + "/Read/ReadVariableOp");
      int units = mean.length;
      assertEquals(BATCH * units, h.length);
      for (int j = 0; j < units; j++) {
        double batchMean = 0.0;
        for (int i = 0; i < BATCH; i++) {
          batchMean += h[i * units + j];
        }
        batchMean /= BATCH;
        double batchVariance = 0.0; // Keras's unfused moments: the biased variance
        for (int i = 0; i < BATCH; i++) {
          batchVariance += (h[i * units + j] - batchMean) * (h[i * units + j] - batchMean);
        }
        batchVariance /= BATCH;
        double expectedMean = momentum * mean[j] + (1 - momentum) * batchMean;
        double expectedVariance = momentum * variance[j] + (1 - momentum) * batchVariance;
        assertEquals(
            expectedMean, meanAfter[j], 1e-6 * Math.max(1, Math.abs(expectedMean)), "mean " + j);
        assertEquals(
            expectedVariance,
            varianceAfter[j],
            1e-6 * Math.max(1, Math.abs(expectedVariance)),
            "variance " + j);
      }
    }
  }

  @Test
  void aModelWithoutDropoutOrBatchNormalizationComputesTheSameInBothModes() {
    // Keras 2.10: Normalization (adapted mean and variance, saved as captured constants) → Dense
    // ×3.
    Path dir = TestModels.external("normalization_dnn");
    Random random = new Random(5);
    float[] values = new float[BATCH * 8];
    for (int i = 0; i < values.length; i++) {
      values[i] = 10 * random.nextFloat();
    }
    double[][] outputs = new double[2][];
    for (Mode mode : Mode.values()) {
      try (TFloat32 x = TFloat32.tensorOf(Shape.of(BATCH, 8), DataBuffers.of(values, true, false));
          TrainableSavedModel model = TrainableSavedModel.open(dir, "serving_default", mode);
          Result result =
              model
                  .session()
                  .runner()
                  .feed(model.input("normalization_input"), x)
                  .fetch(model.output("dense_7", TFloat32.class))
                  .run()) {
        outputs[mode.ordinal()] = TestModels.values(result.get(0));
      }
    }
    assertEquals(BATCH, outputs[0].length);
    for (int i = 0; i < BATCH; i++) {
      assertEquals(outputs[0][i], outputs[1][i], 1e-5 * Math.max(1, Math.abs(outputs[0][i])));
    }
  }

  @Test
  void exportAfterTrainingWritesTheTrainedWeightsAndMovingStatistics() {
    Path dir = TestModels.external(MLP);
    Path out = temp.resolve("trained");
    List<String> names = List.of(MOVING_MEAN, MOVING_VARIANCE, "dense_2/kernel", "dense_3/kernel");
    List<byte[]> trained = new ArrayList<>();
    List<byte[]> loaded = new ArrayList<>();
    try (TFloat32 x = batch(3);
        TrainableSavedModel model =
            TrainableSavedModel.open(dir, "serving_default", Mode.TRAINING)) {
      for (String name : names) {
        loaded.add(TestModels.bytes(model.session(), name + "/Read/ReadVariableOp"));
      }
      Ops tf = Ops.create(model.graph());
      Operand<TFloat32> y = model.output(MLP_OUTPUT, TFloat32.class);
      Operand<TFloat32> loss = tf.math.mean(tf.math.square(y), tf.constant(new int[] {0, 1}));
      Op step =
          L1L2.builder()
              .l2(1e-4)
              .on("kernel")
              .build()
              .minimize(new GradientDescent(model.graph(), 0.1f), loss, model.trainableVariables());
      for (int i = 0; i < 3; i++) {
        model.session().runner().feed(model.input(MLP_INPUT), x).addTarget(step).run().close();
      }
      for (String name : names) {
        trained.add(TestModels.bytes(model.session(), name + "/Read/ReadVariableOp"));
      }
      model.exportTo(out);
    }
    try (SavedModelBundle reloaded = SavedModelBundle.load(out.toString(), "serve")) {
      for (int i = 0; i < names.size(); i++) {
        assertFalse(Arrays.equals(loaded.get(i), trained.get(i)), names.get(i) + " was trained");
        assertArrayEquals(
            trained.get(i),
            TestModels.bytes(reloaded.session(), names.get(i) + "/Read/ReadVariableOp"),
            names.get(i));
      }
    }
  }

  @Test
  void modelLossesOfTheMurmurCnnAreItsDenseKernelsL2() {
    assertModelLossesAreDenseKernelL2(TestModels.external("cnn_l2_murmur"));
  }

  @Test
  void modelLossesOfTheMnistCnnAreItsDenseKernelsL2() {
    assertModelLossesAreDenseKernelL2(KerasCnn.directory());
  }

  private static void assertModelLossesAreDenseKernelL2(Path dir) {
    for (Mode mode : Mode.values()) {
      try (TrainableSavedModel model = TrainableSavedModel.open(dir, "serving_default", mode)) {
        double sum = 0.0;
        for (double w : TestModels.values(model.session(), "dense/kernel/Read/ReadVariableOp")) {
          sum += w * w;
        }
        try (Result result = model.session().runner().fetch(model.modelLosses()).run()) {
          assertEquals(0, result.get(0).shape().numDimensions());
          TestModels.assertClose(0.01 * sum, TestModels.values(result.get(0))[0], mode + " " + dir);
        }
      }
    }
  }

  @Test
  void modelLossesOfAModelDeclaringNoRegularizerAreZero() {
    try (TrainableSavedModel model = TrainableSavedModel.open(TestModels.external(MLP));
        Result result = model.session().runner().fetch(model.modelLosses()).run()) {
      assertEquals(0.0, TestModels.values(result.get(0))[0]);
    }
  }

  @Test
  void aKeras3ExportIsRefusedForTraining() {
    Path dir = TestModels.external("keras3_export_multihead_mlp");
    SavedModelException e =
        assertThrows(
            SavedModelException.class,
            () -> TrainableSavedModel.open(dir, "serving_default", Mode.TRAINING));
    assertOneLine(e, "has no training-mode call", "training=True", "__call__");
  }

  @Test
  void aPlainTfModuleIsRefusedForTraining() {
    Path dir = TestModels.external("tfmodule_train_infer");
    SavedModelException e =
        assertThrows(
            SavedModelException.class, () -> TrainableSavedModel.open(dir, "infer", Mode.TRAINING));
    assertOneLine(e, "has no training-mode call", "training=True");
  }

  @Test
  void aTf1ModelIsRefusedForTraining() {
    Path dir = TestModels.external("tf1_half_plus_two");
    SavedModelException e =
        assertThrows(
            SavedModelException.class,
            () -> TrainableSavedModel.open(dir, "serving_default", Mode.TRAINING));
    assertOneLine(e, "has no training-mode call", "no object graph");
  }

  @Test
  void aTrainingCallWhoseInputsDoNotMatchTheSignatureIsRefusedNamingBoth() throws IOException {
    Path copy = copyOf(TestModels.external(MLP));
    editObjectGraph(
        copy,
        objects -> {
          // Every trace of the root's __call__ now takes 31 features; the signature takes 30.
          SavedObjectGraph.Builder edited = objects.toBuilder();
          for (String name :
              child(objects, objects.getNodes(0), "__call__")
                  .getFunction()
                  .getConcreteFunctionsList()) {
            SavedConcreteFunction function = objects.getConcreteFunctionsMap().get(name);
            edited.putConcreteFunctions(
                name,
                function.toBuilder()
                    .setCanonicalizedInputSignature(
                        widen(function.getCanonicalizedInputSignature()))
                    .build());
          }
          return edited.build();
        });
    SavedModelException e =
        assertThrows(
            SavedModelException.class,
            () -> TrainableSavedModel.open(copy, "serving_default", Mode.TRAINING));
    assertOneLine(
        e, "input_2: DT_FLOAT[-1, 30]", "DT_FLOAT[-1, 31]", "no training-mode call takes");
  }

  @Test
  void aWriteOfAnotherVariableIsRefusedNamingIt() throws IOException {
    Path copy = copyOf(TestModels.external(MLP));
    editObjectGraph(
        copy,
        objects -> {
          // The layer no longer names its moving mean: its update is a write of another variable.
          SavedObjectGraph.Builder edited = objects.toBuilder();
          for (int id = 0; id < objects.getNodesCount(); id++) {
            SavedObject node = objects.getNodes(id);
            SavedObject.Builder builder = node.toBuilder().clearChildren();
            for (ObjectReference child : node.getChildrenList()) {
              builder.addChildren(
                  child.getLocalName().equals("moving_mean")
                      ? child.toBuilder().setLocalName("statistic").build()
                      : child);
            }
            edited.setNodes(id, builder.build());
          }
          return edited.build();
        });
    SavedModelException e =
        assertThrows(
            SavedModelException.class,
            () -> TrainableSavedModel.open(copy, "serving_default", Mode.TRAINING));
    assertOneLine(e, "AssignSubVariableOp", "writes variable " + MOVING_MEAN, "AssignMovingAvg");
  }

  private static void assertOneLine(Exception e, String... fragments) {
    assertFalse(e.getMessage().contains("\n"), e.getMessage());
    for (String fragment : fragments) {
      assertTrue(e.getMessage().contains(fragment), e.getMessage() + " should say " + fragment);
    }
  }

  /** The name of the one op of the training call whose name ends with {@code suffix}. */
  private static String trainingOp(TrainableSavedModel model, String suffix) {
    String found = null;
    for (Iterator<GraphOperation> it = model.graph().operations(); it.hasNext(); ) {
      GraphOperation op = it.next();
      if (op.name().contains("/training/") && op.name().endsWith(suffix)) {
        assertEquals(null, found, "one op ending with " + suffix);
        found = op.name();
      }
    }
    assertNotNull(found, "an op ending with " + suffix);
    return found;
  }

  /** The {@code momentum} of the model's BatchNormalization, read from its keras_metadata.pb. */
  private static double batchNormalizationMomentum(Path dir) throws IOException {
    String metadata =
        new String(
            Files.readAllBytes(dir.resolve("keras_metadata.pb")), StandardCharsets.ISO_8859_1);
    int layer = metadata.indexOf("\"class_name\": \"BatchNormalization\"");
    assertTrue(layer >= 0, "a BatchNormalization layer in keras_metadata.pb");
    Matcher m = Pattern.compile("\"momentum\": ([0-9.eE-]+)").matcher(metadata);
    assertTrue(m.find(layer), "its momentum");
    return Double.parseDouble(m.group(1));
  }

  private static SavedObject child(SavedObjectGraph objects, SavedObject node, String name) {
    for (ObjectReference child : node.getChildrenList()) {
      if (child.getLocalName().equals(name)) {
        return objects.getNodes(child.getNodeId());
      }
    }
    throw new AssertionError("no child " + name);
  }

  /** {@code signature} with every dimension of 30 made 31. */
  private static StructuredValue widen(StructuredValue signature) {
    StructuredValue.Builder builder = signature.toBuilder();
    if (signature.hasTensorSpecValue()) {
      TensorShapeProto.Builder shape = signature.getTensorSpecValue().getShape().toBuilder();
      for (int i = 0; i < shape.getDimCount(); i++) {
        if (shape.getDim(i).getSize() == 30) {
          shape.setDim(i, shape.getDim(i).toBuilder().setSize(31));
        }
      }
      builder.setTensorSpecValue(signature.getTensorSpecValue().toBuilder().setShape(shape));
    } else if (signature.hasTupleValue()) {
      var tuple = signature.getTupleValue().toBuilder();
      for (int i = 0; i < tuple.getValuesCount(); i++) {
        tuple.setValues(i, widen(tuple.getValues(i)));
      }
      builder.setTupleValue(tuple);
    }
    return builder.build();
  }

  private interface ObjectGraphEdit {
    SavedObjectGraph apply(SavedObjectGraph objects);
  }

  private static void editObjectGraph(Path dir, ObjectGraphEdit edit) throws IOException {
    Path pb = dir.resolve("saved_model.pb");
    SavedModel original = SavedModel.parseFrom(Files.readAllBytes(pb));
    MetaGraphDef metaGraph = original.getMetaGraphs(0);
    MetaGraphDef edited =
        metaGraph.toBuilder().setObjectGraphDef(edit.apply(metaGraph.getObjectGraphDef())).build();
    Files.write(pb, original.toBuilder().setMetaGraphs(0, edited).build().toByteArray());
  }

  private Path copyOf(Path source) throws IOException {
    Path target = temp.resolve("copy");
    try (Stream<Path> paths = Files.walk(source)) {
      for (Path path : paths.toList()) {
        Path to = target.resolve(source.relativize(path).toString());
        if (Files.isDirectory(path)) {
          Files.createDirectories(to);
        } else {
          Files.copy(path, to);
        }
      }
    }
    return target;
  }
}
